/* backup_check.c - test helper for `mcmirror snapshot`, `load` and `import`.
 *
 * usage:
 *   backup_check seq DIR            read the environment in DIR directly with LMDB (read-only),
 *                                   its "seq" bundles (and entries left from format 2) decoded as
 *                                   FORMAT.md 1.5 lays them out:
 *                                   every "items" record decodes, every one has exactly one "seq"
 *                                   entry numbered as its seq field, and every other entry of "seq"
 *                                   is stale (its record is gone or carries another number).
 *                                   Prints "items N seq M stale S"; exit 0 when consistent.
 *   backup_check clash DIR          give the second record of "items" the number of the first, behind
 *                                   the store's back (a damaged record: its CRC no longer matches).
 *   backup_check beyond DIR         give it 2^62, above any number handed out, and a CRC that matches.
 *   backup_check fill PORT N        write items 0..N-1 into memcached on 127.0.0.1:PORT with
 *                                   pipelined meta sets; prints the Unix time of the fill.
 *   backup_check server PORT N T    read items 0..N-1 back (pipelined mg) and compare value bytes,
 *                                   flags and remaining TTL (within 2 s of what a fill at time T
 *                                   left). Prints "hits H wrong W missing M"; exit 0 when all match.
 * Item i: key "imp:%06u", every 10th a binary key "bin\x01\xff:%06u" (sent in base64); a value of
 * 10 + i % 50 bytes derived from i (every 7th holds NUL, CR, LF); flags i * 2654435761; TTL 0 for
 * every 3rd item, else 1000 + i % 5000 seconds.
 */
#include <arpa/inet.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcm_record.h"
#include "mcm_store.h"

#define WINDOW 2000

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "backup_check: %s\n", what);
	exit(2);
}

/* --- seq: the index invariants of docs/FORMAT.md 1.5 ---------------------- */

/* An entry of the index, decoded here from the documented layout (not with store/seqidx.c). */
struct sentry {
	uint64_t seq;
	const unsigned char *ikey;
	size_t ikey_len;
	unsigned kind;
};

static uint64_t le64(const unsigned char *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* Every entry of every bundle, in order, checked against the bundle layout:
 * keys ascend, a bundle's numbers ascend above the previous key up to its
 * own. @return the count (*out malloc'd), or 0 with *bad counted. */
static size_t read_bundles(MDB_txn *txn, MDB_dbi seq, struct sentry **out, size_t *bad)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t n = 0, cap = 1024;
	uint64_t prev_key = 0;
	int op = MDB_FIRST;
	struct sentry *e = malloc(cap * sizeof *e);

	if (!e)
		die("out of memory");
	mdb_cursor_open(txn, seq, &c);
	for (; mdb_cursor_get(c, &k, &v, op) == 0; op = MDB_NEXT) {
		const unsigned char *b = v.mv_data;
		size_t off = 4, count;
		uint64_t key, last;

		if (k.mv_size == 8 && v.mv_size > 24 + 8 && b[1] == 0) { /* a format 2 entry: one under its number */
			if ((key = mcm_get_be64(k.mv_data)) <= prev_key)
				(*bad)++;
			if (n == cap && !(e = realloc(e, (cap *= 2) * sizeof *e)))
				die("out of memory");
			e[n].seq = prev_key = key;
			e[n].kind = b[0];
			e[n].ikey = b + 24;
			e[n++].ikey_len = v.mv_size - 24;
			continue;
		}
		if (k.mv_size != 8 || v.mv_size < 4 || b[0] != 1 || b[1] == 0 || b[1] > 64) {
			(*bad)++;
			continue;
		}
		key = mcm_get_be64(k.mv_data);
		last = prev_key;
		count = b[1];
		for (size_t i = 0; i < count; i++) {
			size_t len;

			if (v.mv_size - off < 10 || (len = (size_t)(b[off + 8] | b[off + 9] << 8)) > v.mv_size - off - 10 ||
			    len <= 24 + 8 || le64(b + off) <= last || le64(b + off) > key) {
				(*bad)++;
				break;
			}
			if (n == cap && !(e = realloc(e, (cap *= 2) * sizeof *e)))
				die("out of memory");
			e[n].seq = last = le64(b + off);
			e[n].kind = b[off + 10];
			e[n].ikey = b + off + 10 + 24;
			e[n++].ikey_len = len - 24;
			off += 10 + len;
		}
		if (off != v.mv_size)
			(*bad)++;
		prev_key = key;
	}
	mdb_cursor_close(c);
	*out = e;
	return n;
}

static const struct sentry *find_entry(const struct sentry *e, size_t n, uint64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e[mid].seq == seq)
			return &e[mid];
		if (e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int check_seq(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi items, seq;
	MDB_cursor *c;
	MDB_val k, v, ik;
	struct sentry *all;
	size_t n_items = 0, n_seq, n_stale = 0, bad = 0;

	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) || mdb_env_open(env, dir, MDB_RDONLY, 0600) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, "items", 0, &items) ||
	    mdb_dbi_open(txn, "seq", 0, &seq))
		die("cannot open the environment");
	n_seq = read_bundles(txn, seq, &all, &bad);
	mdb_cursor_open(txn, items, &c);
	while (mdb_cursor_get(c, &k, &v, n_items ? MDB_NEXT : MDB_FIRST) == 0) {
		struct mcm_item it;
		const struct sentry *e;

		n_items++;
		if (mcm_item_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &it) != 0) {
			bad++;
			continue;
		}
		if (!(e = find_entry(all, n_seq, it.seq)) || e->ikey_len != k.mv_size ||
		    memcmp(e->ikey, k.mv_data, k.mv_size) != 0 || e->kind != it.kind)
			bad++;
	}
	mdb_cursor_close(c);
	for (size_t i = 0; i < n_seq; i++) {
		struct mcm_item it;

		ik.mv_data = (void *)all[i].ikey;
		ik.mv_size = all[i].ikey_len;
		/* stale: its record is gone or carries another number (the drainer leaves them for a
		 * bulk rebuild, store/reindex.c) */
		if (mdb_get(txn, items, &ik, &v) != 0 ||
		    mcm_item_decode(ik.mv_data, ik.mv_size, v.mv_data, v.mv_size, &it) != 0 || it.seq != all[i].seq)
			n_stale++;
	}
	free(all);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	printf("items %zu seq %zu stale %zu\n", n_items, n_seq, n_stale);
	return n_items == n_seq - n_stale && bad == 0 ? 0 : 1;
}

/* --- clash: a damaged number ---------------------------------------------- */

/* Give the second record of "items" the first one's number, behind the
 * store's back; or (beyond) a number above any handed out, encoded again so
 * that the record checks out. */
static int clash(const char *dir, int beyond)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi items;
	MDB_cursor *c;
	MDB_val k, v;
	unsigned char rec[4096];
	uint64_t seq;

	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_open(env, dir, 0, 0600) ||
	    mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, "items", 0, &items) ||
	    mdb_cursor_open(txn, items, &c))
		die("cannot open the environment");
	if (mdb_cursor_get(c, &k, &v, MDB_FIRST) != 0 || v.mv_size < 32)
		die("no first record");
	memcpy(&seq, (const unsigned char *)v.mv_data + 24, 8);
	if (mdb_cursor_get(c, &k, &v, MDB_NEXT) != 0 || v.mv_size < 32 || v.mv_size > sizeof rec)
		die("no second record");
	memcpy(rec, v.mv_data, v.mv_size);
	memcpy(rec + 24, &seq, 8);
	if (beyond) {
		struct mcm_item it;

		if (mcm_item_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &it) != 0 ||
		    mcm_item_size(&it) != v.mv_size)
			die("the second record does not decode");
		it.seq = seq = (uint64_t)1 << 62;
		mcm_item_encode(k.mv_data, k.mv_size, &it, rec);
	}
	v.mv_data = rec;
	if (mdb_cursor_put(c, &k, &v, MDB_CURRENT) != 0 || mdb_txn_commit(txn) != 0)
		die("cannot write the record");
	mdb_env_close(env);
	printf("seq %llu\n", (unsigned long long)seq);
	return 0;
}

/* --- fill and server: the generated data set ---------------------------- */

static size_t key_of(unsigned i, char *buf)
{
	return (size_t)sprintf(buf, i % 10 == 0 ? "bin\001\377:%06u" : "imp:%06u", i);
}

static size_t value_of(unsigned i, char *buf)
{
	size_t len = 10 + i % 50;

	for (size_t j = 0; j < len; j++)
		buf[j] = (char)('A' + (i * 7 + j) % 26);
	if (i % 7 == 0)
		memcpy(buf, "\0\r\n", 3);
	return len;
}

static uint32_t flags_of(unsigned i)
{
	return (uint32_t)(i * 2654435761u);
}

static long ttl_of(unsigned i)
{
	return i % 3 == 0 ? 0 : 1000 + (long)(i % 5000);
}

/* The key's token: as is, or base64 (then *b64 = 1). */
static size_t token_of(const char *key, size_t len, char *out, int *b64)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)key;
	size_t n = 0;

	*b64 = 0;
	for (size_t i = 0; i < len; i++)
		*b64 |= s[i] <= 0x20 || s[i] >= 0x7f;
	if (!*b64) {
		memcpy(out, key, len);
		return len;
	}
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < len ? s[i + 2] : 0);
		out[n++] = abc[v >> 18 & 63];
		out[n++] = abc[v >> 12 & 63];
		out[n++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? abc[v & 63] : '=';
	}
	return n;
}

static int connect_port(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("cannot connect");
	return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n <= 0)
			die("write failed");
		buf += n;
		len -= (size_t)n;
	}
}

/* A reader of replies. */
static char in[1 << 20];
static size_t in_off, in_len;

static char *read_line(int fd, size_t *len)
{
	for (;;) {
		char *eol = memmem(in + in_off, in_len - in_off, "\r\n", 2);
		if (eol) {
			char *line = in + in_off;
			*len = (size_t)(eol - line);
			in_off += *len + 2;
			return line;
		}
		memmove(in, in + in_off, in_len - in_off);
		in_len -= in_off;
		in_off = 0;
		ssize_t n = read(fd, in + in_len, sizeof in - in_len);
		if (n <= 0)
			die("read failed");
		in_len += (size_t)n;
	}
}

static const char *read_bytes(int fd, size_t len)
{
	while (in_len - in_off < len + 2) {
		memmove(in, in + in_off, in_len - in_off);
		in_len -= in_off;
		in_off = 0;
		ssize_t n = read(fd, in + in_len, sizeof in - in_len);
		if (n <= 0)
			die("read failed");
		in_len += (size_t)n;
	}
	in_off += len + 2;
	return in + in_off - len - 2;
}

static int fill(int port, unsigned n)
{
	int fd = connect_port(port);
	static char out[1 << 16];
	char key[64], tok[128], val[64];
	size_t len, line;
	int b64;

	printf("%lld\n", (long long)time(NULL));
	for (unsigned i = 0; i < n; i++) {
		size_t kl = key_of(i, key), tl = token_of(key, kl, tok, &b64), vl = value_of(i, val);

		len = (size_t)sprintf(out, "ms %.*s %zu F%u T%ld%s q\r\n", (int)tl, tok, vl, flags_of(i), ttl_of(i),
				      b64 ? " b" : "");
		memcpy(out + len, val, vl);
		memcpy(out + len + vl, "\r\n", 2);
		send_all(fd, out, len + vl + 2);
	}
	send_all(fd, "mn\r\n", 4);
	const char *l = read_line(fd, &line);
	if (line != 2 || memcmp(l, "MN", 2) != 0) {
		fprintf(stderr, "backup_check: fill: %.*s\n", (int)line, l);
		return 1;
	}
	close(fd);
	return 0;
}

static int compare(unsigned i, const char *line, size_t len, int fd, long long t0, unsigned long *wrong)
{
	char val[64];
	size_t vl = value_of(i, val), dl;
	unsigned long long f = 0;
	long long t = -2, want = ttl_of(i) ? t0 + ttl_of(i) - (long long)time(NULL) : -1;
	const char *p;

	if (len == 2 && memcmp(line, "EN", 2) == 0)
		return 1;
	if (sscanf(line, "VA %zu", &dl) != 1)
		die("unexpected reply");
	if ((p = memmem(line, len, " f", 2)))
		f = strtoull(p + 2, NULL, 10);
	if ((p = memmem(line, len, " t", 2)))
		t = strtoll(p + 2, NULL, 10);
	p = read_bytes(fd, dl);
	if (dl != vl || memcmp(p, val, vl) != 0 || f != flags_of(i) || (want < 0 ? t != -1 : llabs(t - want) > 2)) {
		if ((*wrong)++ < 5)
			fprintf(stderr, "backup_check: item %u: value %s, flags %llu (want %u), ttl %lld (want %lld)\n", i,
				dl == vl && memcmp(p, val, vl) == 0 ? "ok" : "differs", f, flags_of(i), t, want);
	}
	return 0;
}

static int server(int port, unsigned n, long long t0)
{
	int fd = connect_port(port);
	char key[64], tok[128], out[256];
	unsigned long hits = 0, wrong = 0, missing = 0;
	unsigned sent = 0, got = 0;
	int b64;

	while (got < n) {
		while (sent < n && sent - got < WINDOW) {
			size_t kl = key_of(sent, key), tl = token_of(key, kl, tok, &b64);
			size_t len = (size_t)sprintf(out, "mg %.*s%s v f t\r\n", (int)tl, tok, b64 ? " b" : "");
			send_all(fd, out, len);
			sent++;
		}
		size_t len;
		const char *line = read_line(fd, &len);
		char copy[256];
		snprintf(copy, sizeof copy, "%.*s", (int)(len < 255 ? len : 255), line);
		if (compare(got, copy, strlen(copy), fd, t0, &wrong))
			missing++;
		else
			hits++;
		got++;
	}
	hits -= wrong;
	printf("hits %lu wrong %lu missing %lu\n", hits, wrong, missing);
	return wrong || missing ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "seq") == 0)
		return check_seq(argv[2]);
	if (argc == 3 && (strcmp(argv[1], "clash") == 0 || strcmp(argv[1], "beyond") == 0))
		return clash(argv[2], strcmp(argv[1], "beyond") == 0);
	if (argc == 4 && strcmp(argv[1], "fill") == 0)
		return fill(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 10));
	if (argc == 5 && strcmp(argv[1], "server") == 0)
		return server(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 10), strtoll(argv[4], NULL, 10));
	fprintf(stderr, "usage: backup_check seq DIR | clash DIR | beyond DIR | fill PORT N | server PORT N FILL_TIME\n");
	return 2;
}
