/* cmd_load.c - `mcmirror load`: read a dump back into a mirror, checked before the mirror is touched.
 *
 * The dump is first loaded whole into a new environment beside the mirror
 * (DIR.load.<pid>), every record exactly as written (sequence numbers, pool
 * records and flush markers included), and its trailer's count and CRC-32
 * are checked. Only then is the mirror changed:
 *   - no mirror at DIR (no directory, or no data.mdb in it): the new
 *     environment's data.mdb is renamed into place, so a dump of the result
 *     gives back the same record lines;
 *   - a mirror at DIR: merged by write time through MCM_OP_RESTORE, in
 *     batches; for each key the record with the later wtime_us stays (a tie
 *     keeps the mirror's), tombstones included. Merged records take new
 *     sequence numbers in DIR's own order.
 * A refused file (damaged, truncated, unknown) leaves DIR untouched.
 *
 * The file is read in blocks, never a whole line at once: a record's fields
 * before its value are bounded (MCM_DUMP_HEAD_MAX), its value is unescaped
 * as it streams in, up to --max-value bytes. Memory follows the largest
 * value, not the length of a line.
 * Run as root into a mirror another user owns, every file put into DIR is
 * that user's (the staging directory is given to them, the merge runs as them).
 * A DIR.load.<pid> left by a load that was killed is removed by the next one.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mcm_crc.h"
#include "dumpfmt.h"
#include "fsutil.h"
#include "json.h"
#include "mcm_drain.h"
#include "mcm_record.h"
#include "mcm_store.h"
#include "load.h"
#include "mcmirror.h"

#define ARENA_SIZE ((size_t)8 << 20) /* bytes of keys and values per batch, at most */
#define ARENA_START ((size_t)64 << 10) /* the arena's first size */
#define READ_BUF ((size_t)256 << 10)  /* read-ahead */
#define HEADER_LINE_MAX ((size_t)64 << 10) /* header, pool and trailer lines */
#define VALUE_MAX_DEFAULT ((uint64_t)1 << 30) /* memcached's largest item (-I 1024m) */

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] load FILE | - [--max-value BYTES]\n"
		"\n"
		"Read a dump written by 'mcmirror dump' (FILE, or '-' for stdin) into the\n"
		"mirror. The whole file is first loaded into a new environment beside the\n"
		"mirror (DIR.load.<pid>) and checked: header, every line, record order, the\n"
		"trailer's record count and CRC-32. A damaged or truncated file is refused\n"
		"with its line number and the mirror is not touched. Then:\n"
		"  - no mirror at DIR yet: the loaded records become the mirror, exactly as\n"
		"    dumped (sequence numbers, pools and flush markers included);\n"
		"  - a mirror at DIR: merged by write time, key by key: the record written\n"
		"    last (wtime_us) stays, deletions included; a tie keeps the mirror's.\n"
		"    Merged records take new sequence numbers. Applications may keep\n"
		"    writing meanwhile. A value the dump lists as flushed merges as a\n"
		"    deletion at its write time.\n"
		"\n"
		"The file is read as a stream: memory follows the largest value, however\n"
		"long a line is. Run as root into a mirror another user owns, the files\n"
		"put into it are that user's. A DIR.load.<pid> that a killed load left is\n"
		"removed (and named) by the next load.\n"
		"\n"
		"options:\n"
		"  -M, --max-value BYTES  refuse a value longer than BYTES (a number, or with\n"
		"                         K, M or G) (default: 1G, the largest item memcached\n"
		"                         can hold)\n"
		"  -h, --help             this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"SIGINT or SIGTERM while reading: nothing is changed. During a merge: the\n"
		"merge stops between two batches and says how far it got; loading the same\n"
		"file again completes it (a merge applied twice changes nothing).\n"
		"With --json, a JSON summary line on stdout.\n"
		"exit status: 0 loaded, 1 refused or failed (nothing changed unless the\n"
		"message says so), 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

/* "mcmirror: load: 'FILE': line N: reason". @return -1. */
static int refuse(struct load *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(struct load *ld, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (ld->show)
		fputc('\n', stderr);
	mcm_cli_error(CMD, "refusing '%s': line %" PRIu64 ": %s; mirror '%s' not changed", ld->r.name, ld->r.lineno,
		      why, ld->dir);
	return -1;
}

/* More input into the read-ahead buffer (called when it is used up).
 * @return 0, 1 at the end of the input, -1 after a message. */
static int fill(struct load *ld)
{
	struct reader *r = &ld->r;
	ssize_t n;

	r->off = r->avail = 0;
	if (r->eof)
		return 1;
	do
		n = read(r->fd, r->buf, READ_BUF);
	while (n < 0 && errno == EINTR && !mcm_cli_interrupted);
	if (n < 0 && errno == EINTR) {
		mcm_cli_error(CMD, "interrupted by signal %d: mirror '%s' not changed", (int)mcm_cli_interrupted, ld->dir);
		return -1;
	}
	if (n < 0) {
		mcm_cli_error(CMD, "cannot read '%s': %s", r->name, strerror(errno));
		return -1;
	}
	if (n == 0) {
		r->eof = 1;
		return 1;
	}
	r->avail = (size_t)n;
	r->bytes += (uint64_t)n;
	return 0;
}

/* Append n bytes to r->line, which may hold at most max. @return 0 or -1 after a message. */
static int line_append(struct load *ld, const char *p, size_t n, size_t max, int spaces)
{
	struct reader *r = &ld->r;

	if (r->len + n > max) {
		if (spaces)
			return refuse(ld, "the fields before the value are longer than %zu bytes: not a record line", max);
		return refuse(ld, "a line longer than %zu bytes: not a line of a dump", max);
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *l;

		while (cap < r->len + n)
			cap *= 2;
		if (!(l = realloc(r->line, cap)))
			return refuse(ld, "out of memory for a line of %zu bytes", r->len + n);
		r->line = l;
		r->cap = cap;
	}
	memcpy(r->line + r->len, p, n);
	r->len += n;
	return 0;
}

/* Read the next line into r->line, up to and including its '\n', or only up
 * to and including its spaces-th space (0: the whole line), at most max
 * bytes; *nl tells which ended it.
 * @return 0, 1 at the end of the input (no byte of a new line), -1 after a message. */
static int read_head(struct load *ld, size_t max, int spaces, int *nl)
{
	struct reader *r = &ld->r;
	int seen = 0, rc;

	r->len = 0;
	r->lineno++;
	for (;;) {
		const char *p;
		size_t n, i;

		if (r->off == r->avail) {
			if ((rc = fill(ld)) < 0)
				return -1;
			if (rc > 0 && r->len == 0)
				return 1;
			if (rc > 0)
				return refuse(ld, "the last line has no newline: the file is truncated");
		}
		p = r->buf + r->off;
		n = r->avail - r->off;
		for (i = 0; i < n; i++)
			if (p[i] == '\n' || (p[i] == ' ' && spaces && ++seen == spaces))
				break;
		if (i < n) {
			*nl = p[i] == '\n';
			r->off += i + 1;
			return line_append(ld, p, i + 1, max, spaces);
		}
		r->off += n;
		if (line_append(ld, p, n, max, spaces) != 0)
			return -1;
	}
}

/* Room for need bytes of value. @return 0 or -1 after a message. */
static int value_room(struct load *ld, size_t need)
{
	struct reader *r = &ld->r;
	size_t cap = r->value_cap ? r->value_cap : 4096;
	char *v;

	if (need <= r->value_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (!(v = realloc(r->value, cap)))
		return refuse(ld, "out of memory for a value of %zu bytes", need);
	r->value = v;
	r->value_cap = cap;
	return 0;
}

/* The rest of the line after its head: the escaped value, unescaped into
 * r->value as it streams in, and CRC'd. @return 0 or -1 after a message. */
static int read_value(struct load *ld)
{
	struct reader *r = &ld->r;
	struct mcm_dumpfmt_unescaper u = {0};
	int rc;

	r->value_len = 0;
	for (;;) {
		const char *p, *end;
		size_t n;
		long got;

		if (r->off == r->avail && (rc = fill(ld)) != 0)
			return rc < 0 ? -1 : refuse(ld, "the last line has no newline: the file is truncated");
		p = r->buf + r->off;
		end = memchr(p, '\n', r->avail - r->off);
		n = end ? (size_t)(end - p) : r->avail - r->off;
		if (value_room(ld, r->value_len + n + 1) != 0)
			return -1;
		r->crc = mcm_crc32(r->crc, p, n + (end ? 1 : 0));
		if ((got = mcm_dumpfmt_unescape_more(&u, p, n, r->value + r->value_len)) < 0)
			return refuse(ld, "bad record: bad value (or a stray space)");
		r->value_len += (size_t)got;
		r->off += n + (end ? 1 : 0);
		if (r->value_len > r->value_max)
			return refuse(ld, "a value longer than %" PRIu64 " bytes (the limit: --max-value, by default "
				      "1 GiB, the largest item memcached can hold): not loaded", r->value_max);
		if (end)
			return mcm_dumpfmt_unescape_end(&u) == 0 ? 0
								 : refuse(ld, "bad record: bad value (or a stray space)");
	}
}

/* A value that took more than an arena: give its memory back once written. */
static void value_shrink(struct load *ld)
{
	if (ld->r.value_cap > ARENA_SIZE) {
		free(ld->r.value);
		ld->r.value = NULL;
		ld->r.value_cap = 0;
	}
}

/* Read a line that must be "name=VALUE"; *value points after the '='. @return 0 or -1. */
static int header_line(struct load *ld, const char *name, const char **value, size_t *len)
{
	size_t nlen = strlen(name);
	int nl, rc = read_head(ld, HEADER_LINE_MAX, 0, &nl);

	if (rc > 0)
		return refuse(ld, "the file ends inside the header: truncated, or not a dump");
	if (rc < 0)
		return -1;
	ld->r.crc = mcm_crc32(ld->r.crc, ld->r.line, ld->r.len);
	if (ld->r.len < nlen + 2 || memcmp(ld->r.line, name, nlen) != 0 || ld->r.line[nlen] != '=')
		return refuse(ld, "expected the header line '%s=...'", name);
	*value = ld->r.line + nlen + 1;
	*len = ld->r.len - nlen - 2;
	return 0;
}

/* A canonical unsigned decimal. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int header_is(struct load *ld, const char *name, const char *want)
{
	const char *v = NULL;
	size_t len = 0;

	if (header_line(ld, name, &v, &len) != 0)
		return -1;
	if (len != strlen(want) || memcmp(v, want, len) != 0)
		return refuse(ld, "%s is '%s', this build reads '%s'", name, mcm_cli_shown(v, len, 40), want);
	return 0;
}

static int header_number(struct load *ld, const char *name, uint64_t *out)
{
	const char *v = NULL;
	size_t len = 0;

	if (header_line(ld, name, &v, &len) != 0)
		return -1;
	if (parse_u64(v, len, out) != 0 || *out > INT64_MAX)
		return refuse(ld, "bad %s: want a decimal number up to 9223372036854775807", name);
	return 0;
}

static int read_pools(struct load *ld, uint64_t n)
{
	const char *why;

	if (n > 1000000 || !(ld->pools = calloc(n ? n : 1, sizeof *ld->pools)))
		return refuse(ld, "cannot hold %" PRIu64 " pools", n);
	for (ld->npools = 0; ld->npools < n; ld->npools++) {
		struct mcm_pool *p = &ld->pools[ld->npools];
		int nl, rc = read_head(ld, HEADER_LINE_MAX, 0, &nl);

		if (rc != 0)
			return rc > 0 ? refuse(ld, "the file ends inside the header: truncated") : -1;
		ld->r.crc = mcm_crc32(ld->r.crc, ld->r.line, ld->r.len);
		if (mcm_dumpfmt_pool_decode(ld->r.line, ld->r.len, p, &why) != 0)
			return refuse(ld, "bad pool line: %s", why);
		if (ld->npools && p->id <= p[-1].id)
			return refuse(ld, "pool lines out of order or repeated");
	}
	return 0;
}

static int read_header(struct load *ld)
{
	const char *v = NULL;
	size_t len = 0;
	uint64_t n;

	if (header_is(ld, "format", MCM_DUMP_FORMAT) != 0 || header_is(ld, "version", "1") != 0 ||
	    header_number(ld, "record_format", &n) != 0 || header_line(ld, "created", &v, &len) != 0 ||
	    header_line(ld, "mirror", &v, &len) != 0 || header_number(ld, "last_seq", &ld->last_seq) != 0 ||
	    header_line(ld, "scope", &v, &len) != 0)
		return -1;
	if (!(len == 4 && memcmp(v, "live", 4) == 0) && !(len == 3 && memcmp(v, "all", 3) == 0))
		return refuse(ld, "bad scope: want 'live' or 'all'");
	if (header_number(ld, "pools", &n) != 0 || read_pools(ld, n) != 0)
		return -1;
	return header_is(ld, "HEADER", "END");
}

const struct mcm_pool *mcm_load_header_pool(const struct load *ld, mcm_pool_id id)
{
	size_t lo = 0, hi = ld->npools;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ld->pools[mid].id == id)
			return &ld->pools[mid];
		if (ld->pools[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Records come in key order: pool id, then key bytes (a prefix first). */
static int check_order(struct load *ld, const struct mcm_item *it)
{
	size_t common = it->key_len < ld->prev_len ? it->key_len : ld->prev_len;
	int cmp = ld->records ? memcmp(it->key, ld->prev_key, common) : 0;
	char *k;

	if (ld->records && it->pool == ld->prev_pool &&
	    (cmp < 0 || (cmp == 0 && it->key_len <= ld->prev_len)))
		return refuse(ld, "record out of key order or repeated");
	if (ld->records && it->pool < ld->prev_pool)
		return refuse(ld, "record out of pool order");
	if (!(k = realloc(ld->prev_key, it->key_len)))
		return refuse(ld, "out of memory");
	memcpy(k, it->key, it->key_len);
	ld->prev_key = k;
	ld->prev_len = it->key_len;
	ld->prev_pool = it->pool;
	return 0;
}

/* Is rc about one record (the line that holds it is named), or about where it is written? */
static int record_error(int rc)
{
	return rc == EEXIST || rc == EINVAL || rc == MCM_EFORMAT;
}

/* A write failed for a reason of the place written (a full disk...), not of a record. @return -1. */
static int write_failed(struct load *ld, const char *where, int rc)
{
	rc = mcm_cli_write_error(where, rc);
	if (ld->to != ld->st)
		mcm_cli_error(CMD, "cannot write mirror '%s': %s", where, mcm_strerror(rc));
	else
		mcm_cli_error(CMD, "cannot write '%s' (beside mirror '%s', which is not changed): %s", where, ld->dir,
			      mcm_strerror(rc));
	return -1;
}

/* Apply the batch. A failure of a record (not of the disk) names the first
 * record that fails on its own (a sequence number used twice is the likely one). */
int mcm_load_flush(struct load *ld)
{
	struct batch *b = &ld->b;
	int rc = b->n ? mcm_store_apply(ld->to, b->m, b->n) : 0;

	if (rc != 0 && ld->to != ld->st)
		return write_failed(ld, ld->dir, rc);
	if (rc != 0 && !record_error(rc))
		return write_failed(ld, ld->tmp, rc);
	if (rc != 0) {
		for (size_t i = 0; i < b->n; i++) {
			int one = mcm_store_apply(ld->st, &b->m[i], 1);

			if (one != 0 && !record_error(one))
				return write_failed(ld, ld->tmp, one);
			if (one != 0) {
				ld->r.lineno = b->line[i];
				return refuse(ld, "%s", one == EEXIST ? "a sequence number used by an earlier record"
							 : mcm_strerror(one));
			}
		}
		return write_failed(ld, ld->tmp, rc);
	}
	b->n = 0;
	b->used = 0;
	return 0;
}

/* Room for need bytes in the arena: flush first when full (the arena grows
 * then, mcm_cli_arena_next). */
static char *arena_take(struct load *ld, size_t need)
{
	struct batch *b = &ld->b;

	if (b->n == BATCH || b->used + need > b->cap) {
		size_t want = mcm_cli_arena_next(b->cap, need, ARENA_SIZE);

		if (mcm_load_flush(ld) != 0)
			return NULL;
		if (want > b->cap) { /* the batch is empty: nothing points into the arena */
			char *a = realloc(b->arena, want);
			if (!a) {
				refuse(ld, "out of memory for a record of %zu bytes", need);
				return NULL;
			}
			b->arena = a;
			b->cap = want;
		}
	}
	b->used += need;
	return b->arena + b->used - need;
}

/* Queue one record, exactly as given, for its transaction (seq 0: the next number). */
/* A record larger than the arena: alone in its transaction, written from
 * where it is (no copy: memory stays at one value). */
static int queue_large(struct load *ld, const struct mcm_item *it, const struct mcm_pool *p, uint64_t seq)
{
	struct mcm_mutation *m;

	if (mcm_load_flush(ld) != 0)
		return -1;
	m = &ld->b.m[0];
	ld->b.line[0] = ld->r.lineno;
	ld->b.n = 1;
	memset(m, 0, sizeof *m);
	m->op = MCM_OP_RESTORE;
	m->pool = p;
	m->kind = it->kind;
	m->seq = seq;
	m->key = it->key;
	m->key_len = it->key_len;
	m->group = it->group_len ? it->group : "";
	m->group_len = it->group_len;
	m->group_mode = it->group_mode;
	m->value = it->value;
	m->value_len = it->value_len;
	m->ns_len = it->ns_len;
	m->flags = it->flags;
	m->exptime = it->exptime;
	m->wtime_us = it->wtime_us;
	return mcm_load_flush(ld);
}

int mcm_load_queue(struct load *ld, const struct mcm_item *it, const struct mcm_pool *p, uint64_t seq)
{
	size_t need = it->key_len + it->group_len + it->value_len + 1;
	struct mcm_mutation *m;
	char *a;

	if (need > ARENA_SIZE)
		return queue_large(ld, it, p, seq);
	if (!(a = arena_take(ld, need)))
		return -1;

	m = &ld->b.m[ld->b.n];
	ld->b.line[ld->b.n++] = ld->r.lineno;
	memset(m, 0, sizeof *m);
	m->op = MCM_OP_RESTORE;
	m->pool = p;
	m->kind = it->kind;
	m->seq = seq;
	m->key = memcpy(a, it->key, it->key_len);
	m->key_len = it->key_len;
	m->group = a + it->key_len;
	if (it->group_len)
		memcpy(a + it->key_len, it->group, it->group_len);
	m->group_len = it->group_len;
	m->group_mode = it->group_mode;
	m->value = a + it->key_len + it->group_len;
	if (it->value_len)
		memcpy(a + it->key_len + it->group_len, it->value, it->value_len);
	m->value_len = it->value_len;
	m->ns_len = it->ns_len;
	m->flags = it->flags;
	m->exptime = it->exptime;
	m->wtime_us = it->wtime_us;
	return 0;
}

/* A record: its fields before the value are in r->line (a line that ended
 * there, nl, is no whole record); the value follows in the input. */
static int record_line(struct load *ld, int nl)
{
	const struct mcm_pool *p;
	enum mcm_dump_status status;
	struct mcm_item it;
	const char *why;
	int rc;

	if (ld->r.len > ld->scratch_size) {
		char *s = realloc(ld->scratch, ld->r.len);
		if (!s)
			return refuse(ld, "out of memory for a line of %zu bytes", ld->r.len);
		ld->scratch = s;
		ld->scratch_size = ld->r.len;
	}
	if (nl) { /* the decoder names what is wrong with it */
		rc = mcm_dumpfmt_record_decode(ld->r.line, ld->r.len, &it, &status, ld->scratch, &why);
		return refuse(ld, "bad record: %s", rc ? why : "no value field");
	}
	if (mcm_dumpfmt_record_decode_head(ld->r.line, ld->r.len - 1, &it, &status, ld->scratch, &why) != 0)
		return refuse(ld, "bad record: %s", why);
	if (it.seq == 0)
		return refuse(ld, "bad record: sequence number 0");
	if (!(p = mcm_load_header_pool(ld, it.pool)))
		return refuse(ld, "record of a pool missing from the header");
	if (check_order(ld, &it) != 0 || read_value(ld) != 0)
		return -1;
	it.value = ld->r.value;
	it.value_len = ld->r.value_len;
	if (it.kind != MCM_KIND_VALUE && (it.value_len || it.flags || it.exptime))
		return refuse(ld, "bad record: a %s record with a value, flags or expiry",
			      mcm_dumpfmt_status_name(status));
	if (it.seq > ld->last_seq)
		ld->last_seq = it.seq;
	ld->records++;
	rc = mcm_load_queue(ld, &it, p, it.seq);
	value_shrink(ld);
	return rc;
}

static int check_trailer(struct load *ld)
{
	char want[80];
	int n = snprintf(want, sizeof want, "DATA=END records=%" PRIu64 " crc32=%08" PRIx32 "\n", ld->records,
			 ld->r.crc);
	const char *line = ld->r.line, *c; /* (not NUL-terminated: ld->r.len bytes) */
	size_t len = ld->r.len, said;
	uint64_t count;

	if ((size_t)n == len && memcmp(want, line, len) == 0)
		return 0;
	c = len > 17 ? memmem(line + 17, len - 17, " crc32=", 7) : NULL;
	if (!c || memcmp(line, "DATA=END records=", 17) != 0 || parse_u64(line + 17, (size_t)(c - line - 17), &count) != 0)
		return refuse(ld, "bad trailer: want 'DATA=END records=N crc32=xxxxxxxx'");
	if (count != ld->records)
		return refuse(ld, "the trailer counts %" PRIu64 " records, the file holds %" PRIu64
			      ": records were lost or added", count, ld->records);
	said = (size_t)(line + len - (c + 7));
	return refuse(ld, "CRC-32 mismatch: the trailer says %.*s, the content gives %08" PRIx32 ": the file is damaged",
		      (int)(said > 8 ? 8 : said), c + 7, ld->r.crc);
}

static void draw(struct load *ld, int final)
{
	double now = mcm_cli_now();

	if (!ld->show || (!final && now - ld->last_draw < 0.25))
		return;
	ld->last_draw = now;
	if (ld->r.size)
		fprintf(stderr, "\rmcmirror: load: %" PRIu64 " records read, %.0f%% of '%s'%s", ld->records,
			100.0 * (double)ld->r.bytes / (double)ld->r.size, ld->r.name, final ? "\n" : "");
	else
		fprintf(stderr, "\rmcmirror: load: %" PRIu64 " records read%s", ld->records, final ? "\n" : "");
}

/* Records, then the trailer, then nothing. */
static int read_records(struct load *ld)
{
	int rc, nl;

	for (;;) {
		if (mcm_cli_interrupted) {
			mcm_cli_error(CMD, "interrupted by signal %d: mirror '%s' not changed", (int)mcm_cli_interrupted,
				      ld->dir);
			return -1;
		}
		/* a record's fields up to its value (9 spaces), or a whole shorter line: the trailer */
		if ((rc = read_head(ld, MCM_DUMP_HEAD_MAX, 9, &nl)) != 0)
			return rc > 0 ? refuse(ld, "the file ends without its trailer: truncated") : -1;
		if (nl && ld->r.len >= 9 && memcmp(ld->r.line, "DATA=END ", 9) == 0)
			break;
		ld->r.crc = mcm_crc32(ld->r.crc, ld->r.line, ld->r.len);
		if (record_line(ld, nl) != 0)
			return -1;
		if ((ld->records & 4095) == 0)
			draw(ld, 0);
	}
	if (check_trailer(ld) != 0)
		return -1;
	if ((rc = read_head(ld, HEADER_LINE_MAX, 0, &nl)) == 0)
		return refuse(ld, "data after the trailer");
	return rc < 0 ? -1 : mcm_load_flush(ld);
}

/* Keep the header's last_seq (raised to every number in use) as the mark. */
static int save_mark(struct load *ld)
{
	struct mcm_store_info info;
	struct mcm_meta meta = {"last_seq", &ld->last_seq, sizeof ld->last_seq};
	int rc = mcm_store_info(ld->st, &info);

	if (rc == 0 && info.last_seq > ld->last_seq)
		ld->last_seq = info.last_seq;
	if (rc == 0)
		rc = mcm_store_apply_meta(ld->st, NULL, 0, &meta, 1);
	if (rc == 0)
		rc = mcm_store_sync(ld->st);
	return rc ? write_failed(ld, ld->tmp, rc) : 0;
}

/* "<mirror's name>.load.": the head of a staging directory of this mirror. */
static size_t staging_head(const char *name, const void *ctx)
{
	const char *base = ctx;
	size_t len = strlen(base);

	return strncmp(name, base, len) == 0 && strncmp(name + len, ".load.", 6) == 0 ? len + 6 : 0;
}

/* Remove the staging directories loads that were killed left beside the mirror. */
static void reap_leftovers(struct load *ld)
{
	char *dir = mcm_fsutil_dirname(ld->dir);
	struct mcm_stale *list;
	size_t n;

	if (!dir)
		return;
	n = mcm_fsutil_reap(dir, staging_head, mcm_fsutil_basename(ld->dir), &list);
	for (size_t i = 0; i < n; i++) {
		if (list[i].alive)
			mcm_cli_warn(CMD, "'%s' belongs to another load into '%s', still running (process %ld)",
				     list[i].path, ld->dir, list[i].pid);
		else if (list[i].err)
			mcm_cli_warn(CMD, "cannot remove '%s', left by a load that was killed (process %ld): %s",
				     list[i].path, list[i].pid, strerror(list[i].err));
		else
			mcm_cli_warn(CMD, "removed '%s', left by a load that was killed (process %ld)", list[i].path,
				     list[i].pid);
	}
	mcm_fsutil_reap_free(list, n);
	free(dir);
}

/* Create DIR.load.<pid> (the mirror's owner's) and the environment in it, its map sized for the file. */
static int open_tmp(struct load *ld)
{
	size_t mapsize = ld->r.size > ((size_t)32 << 20) ? (size_t)ld->r.size * 2 : 0;
	int rc;

	reap_leftovers(ld);
	if (!(ld->tmp = mcm_fsutil_path("%s.load.%ld", ld->dir, (long)getpid())))
		return ENOMEM;
	if (mkdir(ld->tmp, 0700) != 0) {
		rc = errno;
		mcm_cli_error(CMD, "cannot create '%s': %s", ld->tmp, strerror(rc));
		free(ld->tmp);
		ld->tmp = NULL;
		return -1;
	}
	if ((rc = mcm_cli_give_to_owner(&ld->ids, ld->tmp)) != 0) {
		mcm_cli_error(CMD, "cannot give '%s' to the mirror's owner: %s", ld->tmp, strerror(rc));
		return -1;
	}
	/* written as this user (the owner may not reach the parent); data.mdb is given to the owner at install */
	if ((rc = mcm_store_open(&ld->st, ld->tmp, MCM_STORE_NOSYNC, mapsize)) != 0) {
		mcm_cli_error(CMD, "cannot create a mirror in '%s': %s", ld->tmp, mcm_strerror(rc));
		return -1;
	}
	ld->to = ld->st;
	return 0;
}

/* Load the pools first, then every record, then the mark. @return 0 or -1. */
static int load_tmp(struct load *ld)
{
	struct mcm_mutation m;
	int rc;

	if (read_header(ld) != 0 || open_tmp(ld) != 0)
		return -1;
	for (size_t i = 0; i < ld->npools; i++) {
		memset(&m, 0, sizeof m);
		m.op = MCM_OP_RESTORE_POOL;
		m.pool = &ld->pools[i];
		if (ld->pools[i].flush_seq > ld->last_seq)
			ld->last_seq = ld->pools[i].flush_seq;
		if ((rc = mcm_store_apply(ld->st, &m, 1)) != 0)
			return write_failed(ld, ld->tmp, rc);
	}
	if (!(ld->b.arena = malloc(ARENA_START)))
		return refuse(ld, "out of memory");
	ld->b.cap = ARENA_START;
	if (read_records(ld) != 0)
		return -1;
	draw(ld, 1);
	return save_mark(ld);
}

/* --- the command -------------------------------------------------------- */

static int open_input(struct load *ld, const char *file)
{
	struct stat sb;

	if (!(ld->r.buf = malloc(READ_BUF))) {
		mcm_cli_error(CMD, "out of memory");
		return -1;
	}
	if (strcmp(file, "-") == 0) {
		ld->r.fd = STDIN_FILENO;
		ld->r.name = "stdin";
	} else if ((ld->r.fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		mcm_cli_error(CMD, "cannot open '%s': %s", file, strerror(errno));
		return -1;
	} else {
		ld->r.name = file;
	}
	if (fstat(ld->r.fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		mcm_cli_error(CMD, "cannot read '%s': it is a directory", file);
		return -1;
	}
	if (fstat(ld->r.fd, &sb) == 0 && S_ISREG(sb.st_mode))
		ld->r.size = (uint64_t)sb.st_size;
	return 0;
}

static int load(struct load *ld)
{
	int rc;

	if (load_tmp(ld) != 0)
		return MCM_EXIT_FAIL;
	if (mcm_cli_interrupted) {
		mcm_cli_error(CMD, "interrupted by signal %d: mirror '%s' not changed", (int)mcm_cli_interrupted,
			      ld->dir);
		return MCM_EXIT_FAIL;
	}
	if ((rc = mcm_load_install(ld)) < 0)
		return MCM_EXIT_FAIL;
	if (rc == 0) {
		if (!ld->g->quiet)
			mcm_cli_error(CMD, "loaded %" PRIu64 " records in %zu pools from '%s' into new mirror '%s'",
				      ld->records, ld->npools, ld->r.name, ld->dir);
		return MCM_EXIT_OK;
	}
	ld->merged = 1;
	return mcm_load_merge(ld) == 0 ? MCM_EXIT_OK : MCM_EXIT_FAIL;
}

/* "1073741824", "512K", "64M", "1G". @return 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v == 0 || v > (UINT64_MAX >> shift) || (v << shift) > ((uint64_t)1 << 40))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_args(int argc, char **argv, const struct mcm_global *g, struct load *ld, const char **file)
{
	static const struct option opts[] = {
		{"max-value", required_argument, NULL, 'M'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;

	ld->r.value_max = VALUE_MAX_DEFAULT;
	while ((c = getopt_long(argc, argv, "M:h", opts, NULL)) != -1) {
		if (c == 'M' && parse_size(optarg, &ld->r.value_max) == 0)
			continue;
		if (c == 'M')
			return mcm_cli_usage_error(CMD, "bad --max-value '%s': want a number of bytes, with K, M or G",
						   optarg);
		usage(stdout, g);
		return -1;
	}
	if (optind >= argc)
		return mcm_cli_usage_error(CMD, "no dump file given (a file name, or '-' for stdin)");
	if (optind + 1 < argc)
		return mcm_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
	if (!*argv[optind])
		return mcm_cli_usage_error(CMD, "empty file name");
	*file = argv[optind];
	return 0;
}

static void cleanup(struct load *ld)
{
	int rc;

	if (ld->st)
		mcm_store_close(ld->st);
	if (ld->tmp && (rc = mcm_fsutil_remove_mirror(ld->tmp)) != 0)
		mcm_cli_warn(CMD, "cannot remove '%s': %s", ld->tmp, strerror(rc));
	if (ld->r.fd > STDIN_FILENO)
		close(ld->r.fd);
	mcm_cli_ids_free(&ld->ids);
	free(ld->tmp);
	free(ld->r.line);
	free(ld->r.buf);
	free(ld->r.value);
	free(ld->pools);
	free(ld->prev_key);
	free(ld->scratch);
	free(ld->b.arena);
}

static void summary(const struct load *ld, int rc)
{
	struct mcm_json j;

	mcm_cli_summary_begin(&j, CMD, rc);
	mcm_json_str(&j, "file", ld->r.name);
	mcm_json_str(&j, "mirror", ld->dir);
	mcm_json_str(&j, "into", rc != MCM_EXIT_OK && !ld->merged ? NULL : ld->merged ? "merge" : "new");
	mcm_json_u64(&j, "records", ld->records);
	mcm_json_u64(&j, "pools", ld->npools);
	mcm_json_u64(&j, "taken", ld->merged ? ld->taken : (rc == MCM_EXIT_OK ? ld->records : 0));
	mcm_json_u64(&j, "kept", ld->kept);
	mcm_json_u64(&j, "flushed_as_deleted", ld->tombstoned);
	mcm_json_double(&j, "seconds", mcm_cli_now() - ld->start, 3);
	mcm_json_finish(&j);
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	const char *file = NULL;
	struct load ld;
	int rc;

	memset(&ld, 0, sizeof ld);
	ld.r.fd = -1;
	if ((rc = parse_args(argc, argv, g, &ld, &file)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_cli_signals();
	ld.g = g;
	ld.start = mcm_cli_now();
	ld.dir = mcm_cli_mirror_path(g);
	ld.show = mcm_cli_progress_enabled(g);
	mcm_cli_mirror_owner(ld.dir, &ld.ids);
	if (open_input(&ld, file) != 0)
		rc = MCM_EXIT_FAIL;
	else
		rc = load(&ld);
	if (g->json)
		summary(&ld, rc);
	cleanup(&ld);
	return rc;
}

const struct mcm_cmd mcm_cmd_load = {"load", run, "read a dump back (a new mirror, or merged by write time)"};
