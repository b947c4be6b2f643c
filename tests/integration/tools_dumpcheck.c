/* tools_dumpcheck.c - read a dump back with dumpfmt's decoders and compare it with the mirror (test helper).
 *
 * usage: tools_dumpcheck selftest
 *          the encoders and decoders of tools/dumpfmt.c on their own: CRC-32
 *          check value, every byte through the escapes, records and pool lines
 *          with extreme fields round-tripped, damaged lines refused
 *        tools_dumpcheck check MIRROR FILE
 *          parse FILE: the header, every pool line against the mirror's pool
 *          record, every record line against the mirror's record for its key
 *          (every field, byte for byte; re-encoding gives the line back), key
 *          order, the trailer's count and CRC-32, and that the dump holds
 *          every record its scope asks for. Prints
 *            ok scope=S records=N live=N expired=N flushed=N deleted=N dropped=N
 *          or "FILE: line N: reason" and exits 1.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_crc.h"
#include "dumpfmt.h"
#include "mcm_store.h"

static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "selftest: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

/* ---- selftest ---- */

static void test_crc(void)
{
	const char *v = "123456789";

	check(mcm_crc32(0, v, 9) == 0xcbf43926u, "crc32 check value");
	check(mcm_crc32(mcm_crc32(0, v, 4), v + 4, 5) == 0xcbf43926u, "crc32 in two steps");
	check(mcm_crc32(0, "", 0) == 0, "crc32 of nothing");
}

static void test_escape(void)
{
	char all[256], esc[3 * 256], back[256];
	size_t n, m;
	static const char *const bad[] = {" ", "\\", "\\4", "\\4g", "\\41", "\\0A", "\x80", "a b", "\\5c\\", "\t"};

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	n = mcm_dumpfmt_escape(all, 256, esc);
	check(n == 93 + 3 * 163, "escaped length %zu", n);
	for (size_t i = 0; i < n; i++)
		check(esc[i] >= 0x21 && esc[i] <= 0x7e, "escaped byte %zu is 0x%02x", i, (unsigned char)esc[i]);
	check(mcm_dumpfmt_unescape(esc, n, back, &m) == 0 && m == 256 && memcmp(all, back, 256) == 0,
	      "all bytes round-trip");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check(mcm_dumpfmt_unescape(bad[i], strlen(bad[i]), back, &m) != 0, "unescape accepted '%s'", bad[i]);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int same_item(const struct mcm_item *a, const struct mcm_item *b)
{
	return a->pool == b->pool && a->kind == b->kind && a->group_mode == b->group_mode &&
	       a->ns_len == b->ns_len && a->flags == b->flags && a->exptime == b->exptime &&
	       a->wtime_us == b->wtime_us && a->seq == b->seq && a->key_len == b->key_len &&
	       memcmp(a->key, b->key, a->key_len) == 0 && a->group_len == b->group_len &&
	       memcmp(a->group, b->group, a->group_len) == 0 && a->value_len == b->value_len &&
	       memcmp(a->value, b->value, a->value_len) == 0;
}

/* Encode, decode, compare, re-encode. */
static void round_trip(const struct mcm_item *it, enum mcm_dump_status s, int n)
{
	size_t max = mcm_dumpfmt_record_max(it), len, len2;
	char *line = malloc(max), *line2 = malloc(max), *scratch = malloc(max);
	struct mcm_item back;
	enum mcm_dump_status s2;
	const char *why = "";

	len = mcm_dumpfmt_record_encode(it, s, line);
	check(len <= max && line[len - 1] == '\n' && !memchr(line, '\n', len - 1), "record %d: one line", n);
	check(mcm_dumpfmt_record_decode(line, len, &back, &s2, scratch, &why) == 0, "record %d: %s", n, why);
	check(s2 == s && same_item(it, &back), "record %d: fields differ after the round trip", n);
	len2 = mcm_dumpfmt_record_encode(&back, s2, line2);
	check(len2 == len && memcmp(line, line2, len) == 0, "record %d: re-encoding differs", n);
	free(line);
	free(line2);
	free(scratch);
}

static void random_bytes(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)rnd();
}

static void test_records(void)
{
	char key[377], group[300], value[1000];
	struct mcm_item it;

	for (int n = 0; n < 2000; n++) {
		enum mcm_dump_status s = (enum mcm_dump_status)(rnd() % MCM_DUMP_NSTATUS);

		memset(&it, 0, sizeof it);
		it.pool = rnd();
		it.kind = s == MCM_DUMP_DELETED ? MCM_KIND_DELETED : s == MCM_DUMP_DROPPED ? MCM_KIND_DROPPED : MCM_KIND_VALUE;
		it.seq = n % 3 == 0 ? (uint64_t)INT64_MAX : (rnd() >> 1) >> (rnd() % 63);
		it.wtime_us = n == 3 ? (uint64_t)MCM_DUMP_TIME_MAX * 1000000u + 999999u
				     : rnd() % ((uint64_t)MCM_DUMP_TIME_MAX * 1000000u) >> (rnd() % 64);
		it.flags = n % 5 == 0 ? UINT32_MAX : (uint32_t)rnd();
		it.exptime = n == 1 ? 0 : n == 2 ? MCM_DUMP_TIME_MAX : n % 7 == 0 ? 1 : (int64_t)(rnd() >> 33);
		it.key_len = 1 + rnd() % sizeof key;
		random_bytes(key, it.key_len);
		it.key = key;
		it.ns_len = (uint16_t)(n % 4 == 0 ? it.key_len : rnd() % (it.key_len + 1));
		it.group_mode = (uint8_t)(rnd() % 2);
		it.group_len = it.group_mode == MCM_GROUP_EXPLICIT ? rnd() % sizeof group : 0;
		random_bytes(group, it.group_len);
		it.group = group;
		it.value_len = n % 6 == 0 ? 0 : rnd() % sizeof value;
		random_bytes(value, it.value_len);
		it.value = value;
		round_trip(&it, s, n);
	}
}

static void test_bad_records(void)
{
	static const char *const bad[] = {
		"", "\n", "live", "alive 0000000000000001 1 2 3 4 0 - k v",
		"live 000000000000001 1 2 3 4 0 - k v",      /* 15 hex digits */
		"live 000000000000000A 1 2 3 4 0 - k v",     /* upper case */
		"live 0000000000000001 01 2 3 4 0 - k v",    /* leading zero */
		"live 0000000000000001 1 2 4294967296 4 0 - k v",
		"live 0000000000000001 1 2 3 -0 0 - k v",
		"live 0000000000000001 1 2 3 4a 0 - k v",
		"live 0000000000000001 1 2 3 4 2 - k v",     /* namespace longer than the key */
		"live 0000000000000001 1 2 3 4 0 - k",       /* missing field */
		"live 0000000000000001 1 2 3 4 0 -  k v",    /* double space */
		"live 0000000000000001 1 2 3 4 0 x k v",     /* no group marker */
		"live 0000000000000001 1 2 3 4 0 -  v",      /* empty key */
		"live 0000000000000001 1 2 3 4 0 - k v w",   /* raw space in the value */
		"live 0000000000000001 1 2 3 4 0 - k v\r\n", /* CR */
		"live 0000000000000001 1 2 3 4 0 - k \\41",  /* needless escape */
		"live 0000000000000001 18446744073709551616 2 3 4 0 - k v",
		"live 0000000000000001 1 2 3 -9223372036854775809 0 - k v",
		/* out of range (issue 17): numbers the mirror never holds */
		"live 0000000000000001 9223372036854775808 2 3 4 0 - k v",  /* seq past INT64_MAX */
		"live 0000000000000001 18446744073709551615 2 3 4 0 - k v", /* seq UINT64_MAX */
		"live 0000000000000001 1 2 3 -1 0 - k v",                  /* negative expiry */
		"live 0000000000000001 1 2 3 -9223372036854775808 0 - k v",
		"live 0000000000000001 1 2 3 253402300800 0 - k v",        /* after the year 9999 */
		"live 0000000000000001 1 253402300800000000 3 4 0 - k v",  /* write time after 9999 */
	};
	char scratch[128];
	struct mcm_item it;
	enum mcm_dump_status s;
	const char *why;
	const char *good = "dropped 00000000000000ff 9223372036854775807 2 3 253402300799 1 +\\20 k\\5c \n";

	check(mcm_dumpfmt_record_decode(good, strlen(good), &it, &s, scratch, &why) == 0 && s == MCM_DUMP_DROPPED &&
		      it.kind == MCM_KIND_DROPPED && it.exptime == MCM_DUMP_TIME_MAX && it.seq == (uint64_t)INT64_MAX &&
		      it.group_len == 1 && it.group[0] == ' ' && it.key_len == 2 && it.value_len == 0,
	      "a good line with extremes");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check(mcm_dumpfmt_record_decode(bad[i], strlen(bad[i]), &it, &s, scratch, &why) != 0,
		      "record decode accepted '%s'", bad[i]);
}

static void test_pools(void)
{
	static const char *const bad[] = {
		"pool=0000000000000001 servers=a distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=0",             /* no encrypted */
		"pool=0000000000000001 servers=a key_hash=default distribution=modula dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=0 encrypted=0", /* order */
		"pool=0000000000000001 servers=a distribution=2 key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=0 encrypted=0", /* named number */
		"pool=0000000000000001 servers=a distribution=ketama key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=0 encrypted=0", /* unknown name */
		"pool=0000000000000001 servers=a\\00b distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=0 encrypted=0", /* NUL */
		/* out of range (issue 17: flush_time - 1 must never see INT64_MIN) */
		"pool=0000000000000001 servers=a distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=-9223372036854775808 encrypted=0",
		"pool=0000000000000001 servers=a distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=-1 encrypted=0",
		"pool=0000000000000001 servers=a distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=253402300800 encrypted=0",
		"pool=0000000000000001 servers=a distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=9223372036854775808 flush_time=0 encrypted=0",
		"pool=0000000000000001 servers=a distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=2 created_us=1 flush_seq=0 flush_time=0 encrypted=0",
		"pool=0000000000000001 servers=a distribution=modula key_hash=default dist_hash=md5 "
		"hash_with_namespace=0 created_us=1 flush_seq=0 flush_time=0 encrypted=2",
	};
	struct mcm_pool p, back;
	char line[MCM_DUMP_POOL_MAX], line2[MCM_DUMP_POOL_MAX];
	const char *why = "";
	size_t len;

	for (int n = 0; n < 200; n++) {
		memset(&p, 0, sizeof p);
		p.id = rnd();
		for (size_t i = 0, l = n == 0 ? 0 : rnd() % (MCM_SERVERS_MAX - 1); i < l; i++)
			p.servers[i] = (char)(1 + rnd() % 255);
		p.distribution = n % 3 == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 7);
		p.key_hash = n % 4 == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 12);
		p.dist_hash = (uint32_t)(rnd() % 14);
		p.hash_with_namespace = (uint8_t)(rnd() % 2);
		p.encrypted = (uint8_t)(rnd() % 2);
		p.created_us = rnd() % ((uint64_t)MCM_DUMP_TIME_MAX * 1000000u);
		p.flush_seq = (rnd() >> 1) >> (rnd() % 63);
		p.flush_time = n % 5 == 0 ? MCM_DUMP_TIME_MAX : (int64_t)(rnd() % (uint64_t)MCM_DUMP_TIME_MAX);
		len = mcm_dumpfmt_pool_encode(&p, line);
		check(len <= sizeof line, "pool line %d too long", n);
		check(mcm_dumpfmt_pool_decode(line, len, &back, &why) == 0, "pool %d: %s", n, why);
		check(memcmp(&p, &back, sizeof p) == 0, "pool %d differs after the round trip", n);
		check(mcm_dumpfmt_pool_encode(&back, line2) == len && memcmp(line, line2, len) == 0,
		      "pool %d: re-encoding differs", n);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check(mcm_dumpfmt_pool_decode(bad[i], strlen(bad[i]), &back, &why) != 0, "pool decode accepted bad %zu", i);
}

static int selftest(void)
{
	test_crc();
	test_escape();
	test_records();
	test_bad_records();
	test_pools();
	if (failures) {
		fprintf(stderr, "selftest: %d failures\n", failures);
		return 1;
	}
	printf("selftest ok\n");
	return 0;
}

/* ---- check ---- */

struct reader {
	const char *file;
	char *data;
	size_t size, pos;
	size_t lineno;
	struct mcm_store *st;
};

static void bad(const struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void bad(const struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: line %zu: ", r->file, r->lineno);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* The next line including its '\n'. */
static const char *next_line(struct reader *r, size_t *len)
{
	const char *p = r->data + r->pos, *nl;

	r->lineno++;
	if (r->pos >= r->size)
		bad(r, "unexpected end of file");
	if (!(nl = memchr(p, '\n', r->size - r->pos)))
		bad(r, "last line has no newline (truncated?)");
	*len = (size_t)(nl - p) + 1;
	r->pos += *len;
	return p;
}

/* The next line must be "name=VALUE"; returns VALUE (copied, terminated). */
static char *header_value(struct reader *r, const char *name)
{
	size_t len, nl = strlen(name);
	const char *l = next_line(r, &len);
	static char buf[8192];

	if (len < nl + 2 || memcmp(l, name, nl) != 0 || l[nl] != '=' || len - nl - 1 > sizeof buf)
		bad(r, "expected '%s='", name);
	memcpy(buf, l + nl + 1, len - nl - 2);
	buf[len - nl - 2] = '\0';
	return buf;
}

static void read_file(struct reader *r)
{
	FILE *f = fopen(r->file, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		perror(r->file);
		exit(1);
	}
	r->size = (size_t)n;
	if (!(r->data = malloc(r->size + 1)) || fread(r->data, 1, r->size, f) != r->size) {
		perror(r->file);
		exit(1);
	}
	fclose(f);
}

static int same_pool(const struct mcm_pool *a, const struct mcm_pool *b)
{
	return a->id == b->id && a->created_us == b->created_us && a->flush_seq == b->flush_seq &&
	       a->flush_time == b->flush_time && a->distribution == b->distribution && a->key_hash == b->key_hash &&
	       a->dist_hash == b->dist_hash && a->hash_with_namespace == b->hash_with_namespace &&
	       a->encrypted == b->encrypted && strcmp(a->servers, b->servers) == 0;
}

/* Header lines; fills pools (the pool lines, each compared with the mirror). */
static int read_header(struct reader *r, struct mcm_pool **pools, size_t *npools)
{
	const char *rf;
	int all;

	if (strcmp(header_value(r, "format"), MCM_DUMP_FORMAT) != 0)
		bad(r, "not a dump");
	if (strcmp(header_value(r, "version"), "1") != 0)
		bad(r, "unknown version");
	rf = header_value(r, "record_format"); /* (a dump's lines do not depend on it) */
	if (strcmp(rf, "1") != 0 && strcmp(rf, "2") != 0 && strcmp(rf, "3") != 0 && strcmp(rf, "4") != 0)
		bad(r, "unknown record format");
	header_value(r, "created");
	header_value(r, "mirror");
	header_value(r, "last_seq");
	all = strcmp(header_value(r, "scope"), "all") == 0;
	*npools = strtoul(header_value(r, "pools"), NULL, 10);
	*pools = calloc(*npools + 1, sizeof **pools);
	for (size_t i = 0; i < *npools; i++) {
		struct mcm_pool stored;
		const char *why, *l;
		size_t len;

		l = next_line(r, &len);
		if (mcm_dumpfmt_pool_decode(l, len, &(*pools)[i], &why) != 0)
			bad(r, "pool line: %s", why);
		if (mcm_store_pool(r->st, (*pools)[i].id, &stored) != 0)
			bad(r, "pool not in the mirror");
		if (!same_pool(&stored, &(*pools)[i]))
			bad(r, "pool line differs from the mirror's pool record");
	}
	if (strcmp(header_value(r, "HEADER"), "END") != 0)
		bad(r, "expected HEADER=END");
	return all;
}

static const struct mcm_pool *find_pool(const struct mcm_pool *pools, size_t n, mcm_pool_id id)
{
	for (size_t i = 0; i < n; i++)
		if (pools[i].id == id)
			return &pools[i];
	return NULL;
}

/* Key order: pool id, then the key bytes (shorter first on a common prefix). */
static int key_cmp(const struct mcm_item *a, const char *prev_key, size_t prev_len, mcm_pool_id prev_pool)
{
	size_t n = a->key_len < prev_len ? a->key_len : prev_len;
	int c;

	if (a->pool != prev_pool)
		return a->pool < prev_pool ? -1 : 1;
	if ((c = memcmp(a->key, prev_key, n)) != 0)
		return c;
	return a->key_len < prev_len ? -1 : a->key_len > prev_len;
}

static void compare_stored(struct reader *r, const struct mcm_item *it, enum mcm_dump_status s,
			   const struct mcm_pool *p, int64_t now)
{
	struct mcm_item stored;

	if (mcm_store_get(r->st, it->pool, it->key, it->key_len, &stored) != 0)
		bad(r, "no such record in the mirror");
	if (!same_item(it, &stored))
		bad(r, "record differs from the mirror's");
	if (mcm_dumpfmt_status(&stored, p, now) != s)
		bad(r, "status '%s' is not what the mirror says", mcm_dumpfmt_status_name(s));
}

/* One record line: decoded, re-encoded, in order, equal to the mirror's record. */
static void check_record(struct reader *r, const char *l, size_t len, const struct mcm_pool *pools, size_t npools,
			 int64_t now, uint64_t *counts, char *prev, size_t *prev_len, mcm_pool_id *prev_pool)
{
	char *scratch = malloc(len), *again;
	struct mcm_item it;
	enum mcm_dump_status s;
	const struct mcm_pool *p;
	const char *why;

	if (mcm_dumpfmt_record_decode(l, len, &it, &s, scratch, &why) != 0)
		bad(r, "%s", why);
	again = malloc(mcm_dumpfmt_record_max(&it));
	if (mcm_dumpfmt_record_encode(&it, s, again) != len || memcmp(again, l, len) != 0)
		bad(r, "re-encoding the record gives other bytes");
	if (!(p = find_pool(pools, npools, it.pool)))
		bad(r, "record of a pool not in the header");
	if (*prev_len && key_cmp(&it, prev, *prev_len, *prev_pool) <= 0)
		bad(r, "records out of key order");
	compare_stored(r, &it, s, p, now);
	counts[s]++;
	memcpy(prev, it.key, it.key_len);
	*prev_len = it.key_len;
	*prev_pool = it.pool;
	free(again);
	free(scratch);
}

/* How many records of the header's pools the scope asks for. */
static uint64_t expected_records(struct reader *r, const struct mcm_pool *pools, size_t npools, int all, int64_t now)
{
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t n = 0;
	int rc = mcm_iter_open(r->st, MCM_ORDER_KEY, 0, &it);

	while (rc == 0 && (rc = mcm_iter_next(it, &item)) == 0) {
		const struct mcm_pool *p = find_pool(pools, npools, item.pool);

		if (p && (all || mcm_dumpfmt_status(&item, p, now) == MCM_DUMP_LIVE))
			n++;
	}
	mcm_iter_close(it);
	if (rc != MCM_END)
		bad(r, "cannot walk the mirror: %s", mcm_strerror(rc));
	return n;
}

static void check_trailer(struct reader *r, const char *l, size_t len, uint64_t records)
{
	char want[80];
	uint32_t crc = mcm_crc32(0, r->data, (size_t)(l - r->data));

	snprintf(want, sizeof want, "DATA=END records=%" PRIu64 " crc32=%08" PRIx32 "\n", records, crc);
	if (len != strlen(want) || memcmp(l, want, len) != 0)
		bad(r, "trailer is not '%.*s'", (int)strlen(want) - 1, want);
	if (r->pos != r->size)
		bad(r, "data after the trailer");
}

static int check_dump(const char *mirror, const char *file)
{
	struct reader r = {file, NULL, 0, 0, 0, NULL};
	uint64_t counts[MCM_DUMP_NSTATUS] = {0}, records = 0, want;
	int64_t now = (int64_t)time(NULL);
	char prev[MCM_KEY_MAX + MCM_NAMESPACE_MAX];
	size_t prev_len = 0, npools, len;
	mcm_pool_id prev_pool = 0;
	struct mcm_pool *pools;
	const char *l;
	int rc, all;

	if ((rc = mcm_store_open(&r.st, mirror, MCM_STORE_RDONLY, 0)) != 0) {
		fprintf(stderr, "%s: %s\n", mirror, mcm_strerror(rc));
		return 1;
	}
	read_file(&r);
	all = read_header(&r, &pools, &npools);
	while ((l = next_line(&r, &len)) && !(len > 9 && memcmp(l, "DATA=END ", 9) == 0)) {
		check_record(&r, l, len, pools, npools, now, counts, prev, &prev_len, &prev_pool);
		records++;
	}
	check_trailer(&r, l, len, records);
	if (!all && records != counts[MCM_DUMP_LIVE])
		bad(&r, "a live-only dump holds records that are not live");
	if ((want = expected_records(&r, pools, npools, all, now)) != records)
		bad(&r, "the dump holds %" PRIu64 " records, the mirror %" PRIu64, records, want);
	printf("ok scope=%s records=%" PRIu64, all ? "all" : "live", records);
	for (int s = 0; s < MCM_DUMP_NSTATUS; s++)
		printf(" %s=%" PRIu64, mcm_dumpfmt_status_name((enum mcm_dump_status)s), counts[s]);
	printf("\n");
	mcm_store_close(r.st);
	free(pools);
	free(r.data);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "selftest") == 0)
		return selftest();
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return check_dump(argv[2], argv[3]);
	fprintf(stderr, "usage: tools_dumpcheck selftest | check MIRROR FILE\n");
	return 2;
}
