/* dumpfmt.c - encode and decode the lines of a dump file (format: docs/FORMAT.md, API: dumpfmt.h). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dumpfmt.h"

static const char *const status_names[MCM_DUMP_NSTATUS] = {
	[MCM_DUMP_LIVE] = "live",
	[MCM_DUMP_EXPIRED] = "expired",
	[MCM_DUMP_FLUSHED] = "flushed",
	[MCM_DUMP_DELETED] = "deleted",
	[MCM_DUMP_DROPPED] = "dropped",
};

/* Indexed by memcached_server_distribution_t, as libmemcached 1.1 numbers them. */
static const char *const distribution_names[] = {
	"modula", "consistent", "consistent_ketama", "random",
	"consistent_ketama_spy", "consistent_weighted", "virtual_bucket",
};

/* Indexed by memcached_hash_t. */
static const char *const hash_names[] = {
	"default", "md5", "crc", "fnv1_64", "fnv1a_64", "fnv1_32",
	"fnv1a_32", "hsieh", "murmur", "jenkins", "murmur3", "custom",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char hexdigits[] = "0123456789abcdef";

enum mcm_dump_status mcm_dumpfmt_status(const struct mcm_item *item, const struct mcm_pool *p, int64_t now)
{
	if (item->kind == MCM_KIND_DELETED)
		return MCM_DUMP_DELETED;
	if (item->kind != MCM_KIND_VALUE)
		return MCM_DUMP_DROPPED;
	if (!mcm_item_is_live(item, NULL, now)) /* without a pool only the expiry counts */
		return MCM_DUMP_EXPIRED;
	if (!mcm_item_is_live(item, p, now))
		return MCM_DUMP_FLUSHED;
	return MCM_DUMP_LIVE;
}

const char *mcm_dumpfmt_status_name(enum mcm_dump_status s)
{
	return (unsigned)s < MCM_DUMP_NSTATUS ? status_names[s] : "?";
}

const char *mcm_dumpfmt_distribution_name(uint32_t d)
{
	return d < NELEM(distribution_names) ? distribution_names[d] : NULL;
}

const char *mcm_dumpfmt_hash_name(uint32_t h)
{
	return h < NELEM(hash_names) ? hash_names[h] : NULL;
}

static int plain_byte(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '\\';
}

size_t mcm_dumpfmt_escape(const char *src, size_t len, char *dst)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (plain_byte(c)) {
			dst[n++] = (char)c;
		} else {
			dst[n++] = '\\';
			dst[n++] = hexdigits[c >> 4];
			dst[n++] = hexdigits[c & 15];
		}
	}
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is not canonical */
}

long mcm_dumpfmt_unescape_more(struct mcm_dumpfmt_unescaper *u, const char *src, size_t len, char *dst)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		int d;

		if (u->state == 0) {
			if (plain_byte(c))
				dst[n++] = (char)c;
			else if (c == '\\')
				u->state = 1;
			else
				return -1;
			continue;
		}
		if ((d = hexval((char)c)) < 0)
			return -1;
		if (u->state == 1) {
			u->hi = d;
			u->state = 2;
			continue;
		}
		c = (unsigned char)(u->hi << 4 | d);
		if (plain_byte(c))
			return -1; /* must have been written as is */
		dst[n++] = (char)c;
		u->state = 0;
	}
	return (long)n;
}

int mcm_dumpfmt_unescape_end(const struct mcm_dumpfmt_unescaper *u)
{
	return u->state == 0 ? 0 : -1;
}

int mcm_dumpfmt_unescape(const char *src, size_t len, char *dst, size_t *out_len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		int hi, lo;

		if (plain_byte(c)) {
			dst[n++] = (char)c;
			continue;
		}
		if (c != '\\' || len - i < 3 || (hi = hexval(src[i + 1])) < 0 || (lo = hexval(src[i + 2])) < 0)
			return -1;
		c = (unsigned char)(hi << 4 | lo);
		if (plain_byte(c))
			return -1; /* must have been written as is */
		dst[n++] = (char)c;
		i += 2;
	}
	*out_len = n;
	return 0;
}

size_t mcm_dumpfmt_record_max(const struct mcm_item *item)
{
	/* status, pool, four numbers of up to 20 digits, ns_len, markers, spaces */
	return 160 + MCM_DUMP_ESCAPED_MAX(item->group_len + item->key_len + item->value_len);
}

size_t mcm_dumpfmt_record_encode(const struct mcm_item *item, enum mcm_dump_status status, char *buf)
{
	int n = sprintf(buf, "%s %016" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu32 " %" PRId64 " %u ",
			mcm_dumpfmt_status_name(status), item->pool, item->seq, item->wtime_us, item->flags,
			item->exptime, (unsigned)item->ns_len);
	size_t len = (size_t)n;

	if (item->group_mode == MCM_GROUP_EXPLICIT) {
		buf[len++] = '+';
		len += mcm_dumpfmt_escape(item->group, item->group_len, buf + len);
	} else {
		buf[len++] = '-';
	}
	buf[len++] = ' ';
	len += mcm_dumpfmt_escape(item->key, item->key_len, buf + len);
	buf[len++] = ' ';
	len += mcm_dumpfmt_escape(item->value, item->value_len, buf + len);
	buf[len++] = '\n';
	return len;
}

/* A cursor over the space-separated fields of one line. */
struct fields {
	const char *p, *end;
};

/* The next field up to a space (which must follow), or the rest of the line. */
static int next_field(struct fields *f, int last, const char **tok, size_t *len)
{
	const char *sp;

	*tok = f->p;
	if (last) {
		*len = (size_t)(f->end - f->p);
		f->p = f->end;
		return 0;
	}
	if (!(sp = memchr(f->p, ' ', (size_t)(f->end - f->p))))
		return -1;
	*len = (size_t)(sp - f->p);
	f->p = sp + 1;
	return 0;
}

/* Canonical unsigned decimal: digits, no leading zero, no overflow past max. */
static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* Canonical signed decimal ("-0" is not). */
static int parse_i64(const char *s, size_t len, int64_t *v)
{
	uint64_t m;

	if (len > 0 && s[0] == '-') {
		if (parse_u64(s + 1, len - 1, (uint64_t)INT64_MAX + 1, &m) != 0 || m == 0)
			return -1;
		*v = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
		return 0;
	}
	if (parse_u64(s, len, INT64_MAX, &m) != 0)
		return -1;
	*v = (int64_t)m;
	return 0;
}

/* Exactly 16 lower-case hex digits. */
static int parse_id16(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;

	if (len != 16)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		int d = hexval(s[i]);
		if (d < 0)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return 0;
}

static int parse_status(const char *s, size_t len, enum mcm_dump_status *st)
{
	for (int i = 0; i < MCM_DUMP_NSTATUS; i++) {
		if (strlen(status_names[i]) == len && memcmp(s, status_names[i], len) == 0) {
			*st = (enum mcm_dump_status)i;
			return 0;
		}
	}
	return -1;
}

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return MCM_EFORMAT;
}

/* The GROUP field: "-" for the key's own hash, "+" and the escaped group key. */
static int decode_group(const char *tok, size_t len, struct mcm_item *item, char *scratch, size_t *used)
{
	if (len == 1 && tok[0] == '-') {
		item->group_mode = MCM_GROUP_KEY;
		item->group = "";
		item->group_len = 0;
		return 0;
	}
	if (len == 0 || tok[0] != '+')
		return -1;
	item->group_mode = MCM_GROUP_EXPLICIT;
	item->group = scratch + *used;
	if (mcm_dumpfmt_unescape(tok + 1, len - 1, scratch + *used, &item->group_len) != 0 ||
	    item->group_len > UINT16_MAX)
		return -1;
	*used += item->group_len;
	return 0;
}

/* The numeric fields POOL SEQ WTIME_US FLAGS EXPTIME NS_LEN. */
static int decode_numbers(struct fields *f, struct mcm_item *item, const char **why)
{
	const char *t;
	size_t n;
	uint64_t v;

	if (next_field(f, 0, &t, &n) != 0 || parse_id16(t, n, &item->pool) != 0)
		return fail(why, "bad pool id");
	if (next_field(f, 0, &t, &n) != 0 || parse_u64(t, n, INT64_MAX, &item->seq) != 0)
		return fail(why, "bad sequence number (want 0 to 9223372036854775807)");
	if (next_field(f, 0, &t, &n) != 0 ||
	    parse_u64(t, n, (uint64_t)MCM_DUMP_TIME_MAX * 1000000u + 999999u, &item->wtime_us) != 0)
		return fail(why, "bad write time (want microseconds up to the year 9999)");
	if (next_field(f, 0, &t, &n) != 0 || parse_u64(t, n, UINT32_MAX, &v) != 0)
		return fail(why, "bad flags");
	item->flags = (uint32_t)v;
	if (next_field(f, 0, &t, &n) != 0 || parse_i64(t, n, &item->exptime) != 0 || item->exptime < 0 ||
	    item->exptime > MCM_DUMP_TIME_MAX)
		return fail(why, "bad expiry time (want 0, or Unix seconds up to the year 9999)");
	if (next_field(f, 0, &t, &n) != 0 || parse_u64(t, n, UINT16_MAX, &v) != 0)
		return fail(why, "bad namespace length");
	item->ns_len = (uint16_t)v;
	return 0;
}

/* STATUS .. KEY from f; key_last: KEY ends the text (no space after it). */
static int decode_head(struct fields *f, int key_last, struct mcm_item *item, enum mcm_dump_status *status,
		       char *scratch, size_t *used, const char **why)
{
	const char *t;
	size_t n;
	int rc;

	memset(item, 0, sizeof *item);
	if (next_field(f, 0, &t, &n) != 0 || parse_status(t, n, status) != 0)
		return fail(why, "unknown record status");
	item->kind = *status == MCM_DUMP_DELETED   ? MCM_KIND_DELETED
		     : *status == MCM_DUMP_DROPPED ? MCM_KIND_DROPPED
						   : MCM_KIND_VALUE;
	if ((rc = decode_numbers(f, item, why)) != 0)
		return rc;
	if (next_field(f, 0, &t, &n) != 0 || decode_group(t, n, item, scratch, used) != 0)
		return fail(why, "bad group key");
	item->key = scratch + *used;
	if (next_field(f, key_last, &t, &n) != 0 || mcm_dumpfmt_unescape(t, n, scratch + *used, &item->key_len) != 0)
		return fail(why, "bad key");
	if (item->key_len == 0 || item->key_len > MCM_KEY_MAX + MCM_NAMESPACE_MAX)
		return fail(why, "key empty or too long");
	if (item->ns_len > item->key_len)
		return fail(why, "namespace longer than the key");
	*used += item->key_len;
	item->value = "";
	return 0;
}

int mcm_dumpfmt_record_decode_head(const char *head, size_t len, struct mcm_item *item,
				   enum mcm_dump_status *status, char *scratch, const char **why)
{
	struct fields f = {head, head + len};
	size_t used = 0;

	return decode_head(&f, 1, item, status, scratch, &used, why);
}

int mcm_dumpfmt_record_decode(const char *line, size_t len, struct mcm_item *item,
			      enum mcm_dump_status *status, char *scratch, const char **why)
{
	struct fields f = {line, line + len};
	const char *t;
	size_t n, used = 0;
	int rc;

	if (len > 0 && line[len - 1] == '\n')
		f.end--;
	if ((rc = decode_head(&f, 0, item, status, scratch, &used, why)) != 0)
		return rc;
	item->value = scratch + used;
	next_field(&f, 1, &t, &n);
	if (mcm_dumpfmt_unescape(t, n, scratch + used, &item->value_len) != 0)
		return fail(why, "bad value (or a stray space)");
	if (item->value_len > UINT32_MAX)
		return fail(why, "value too long");
	return 0;
}

/* "name" from the table, else the decimal number. */
static int put_named(char *buf, const char *field, const char *name, uint32_t v)
{
	return name ? sprintf(buf, " %s=%s", field, name) : sprintf(buf, " %s=%" PRIu32, field, v);
}

size_t mcm_dumpfmt_pool_encode(const struct mcm_pool *p, char *buf)
{
	size_t len = (size_t)sprintf(buf, "pool=%016" PRIx64 " servers=", p->id);

	len += mcm_dumpfmt_escape(p->servers, strnlen(p->servers, MCM_SERVERS_MAX - 1), buf + len);
	len += (size_t)put_named(buf + len, "distribution", mcm_dumpfmt_distribution_name(p->distribution),
				 p->distribution);
	len += (size_t)put_named(buf + len, "key_hash", mcm_dumpfmt_hash_name(p->key_hash), p->key_hash);
	len += (size_t)put_named(buf + len, "dist_hash", mcm_dumpfmt_hash_name(p->dist_hash), p->dist_hash);
	len += (size_t)sprintf(buf + len,
			       " hash_with_namespace=%u created_us=%" PRIu64 " flush_seq=%" PRIu64
			       " flush_time=%" PRId64 " encrypted=%u\n",
			       (unsigned)p->hash_with_namespace, p->created_us, p->flush_seq, p->flush_time,
			       (unsigned)p->encrypted);
	return len;
}

/* The next field, which must be "name=..."; its value in *val. */
static int named_field(struct fields *f, int last, const char *name, const char **val, size_t *len)
{
	size_t nl = strlen(name);
	const char *t;
	size_t n;

	if (next_field(f, last, &t, &n) != 0 || n <= nl || memcmp(t, name, nl) != 0 || t[nl] != '=')
		return -1;
	*val = t + nl + 1;
	*len = n - nl - 1;
	return 0;
}

/* A name from table, or the decimal number of an entry the table lacks. */
static int parse_named(const char *s, size_t len, const char *const *table, size_t count, uint32_t *v)
{
	uint64_t x;

	for (size_t i = 0; i < count; i++) {
		if (strlen(table[i]) == len && memcmp(s, table[i], len) == 0) {
			*v = (uint32_t)i;
			return 0;
		}
	}
	if (parse_u64(s, len, UINT32_MAX, &x) != 0 || x < count)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int decode_pool_routing(struct fields *f, struct mcm_pool *p, const char **why)
{
	const char *v;
	size_t n;

	if (named_field(f, 0, "distribution", &v, &n) != 0 ||
	    parse_named(v, n, distribution_names, NELEM(distribution_names), &p->distribution) != 0)
		return fail(why, "bad distribution");
	if (named_field(f, 0, "key_hash", &v, &n) != 0 ||
	    parse_named(v, n, hash_names, NELEM(hash_names), &p->key_hash) != 0)
		return fail(why, "bad key_hash");
	if (named_field(f, 0, "dist_hash", &v, &n) != 0 ||
	    parse_named(v, n, hash_names, NELEM(hash_names), &p->dist_hash) != 0)
		return fail(why, "bad dist_hash");
	return 0;
}

static int decode_pool_state(struct fields *f, struct mcm_pool *p, const char **why)
{
	const char *v;
	size_t n;
	uint64_t x;

	if (named_field(f, 0, "hash_with_namespace", &v, &n) != 0 || parse_u64(v, n, 1, &x) != 0)
		return fail(why, "bad hash_with_namespace (want 0 or 1)");
	p->hash_with_namespace = (uint8_t)x;
	if (named_field(f, 0, "created_us", &v, &n) != 0 ||
	    parse_u64(v, n, (uint64_t)MCM_DUMP_TIME_MAX * 1000000u + 999999u, &p->created_us) != 0)
		return fail(why, "bad created_us (want microseconds up to the year 9999)");
	if (named_field(f, 0, "flush_seq", &v, &n) != 0 || parse_u64(v, n, INT64_MAX, &p->flush_seq) != 0)
		return fail(why, "bad flush_seq (want 0 to 9223372036854775807)");
	if (named_field(f, 0, "flush_time", &v, &n) != 0 || parse_i64(v, n, &p->flush_time) != 0 ||
	    p->flush_time < 0 || p->flush_time > MCM_DUMP_TIME_MAX)
		return fail(why, "bad flush_time (want 0, or Unix seconds up to the year 9999)");
	if (named_field(f, 1, "encrypted", &v, &n) != 0 || parse_u64(v, n, 1, &x) != 0)
		return fail(why, "bad encrypted (want 0 or 1)");
	p->encrypted = (uint8_t)x;
	return 0;
}

int mcm_dumpfmt_pool_decode(const char *line, size_t len, struct mcm_pool *p, const char **why)
{
	struct fields f = {line, line + len};
	char servers[MCM_DUMP_ESCAPED_MAX(MCM_SERVERS_MAX)];
	const char *v;
	size_t n, slen;
	int rc;

	if (len > 0 && line[len - 1] == '\n')
		f.end--;
	memset(p, 0, sizeof *p);
	if (named_field(&f, 0, "pool", &v, &n) != 0 || parse_id16(v, n, &p->id) != 0)
		return fail(why, "bad pool id");
	/* "servers=" may be empty: named_field wants a value, so look by hand */
	if (f.end - f.p < 8 || memcmp(f.p, "servers=", 8) != 0)
		return fail(why, "bad servers");
	f.p += 8;
	if (next_field(&f, 0, &v, &n) != 0 || n > sizeof servers ||
	    mcm_dumpfmt_unescape(v, n, servers, &slen) != 0 || slen >= MCM_SERVERS_MAX ||
	    memchr(servers, '\0', slen))
		return fail(why, "bad servers");
	memcpy(p->servers, servers, slen);
	p->servers[slen] = '\0';
	if ((rc = decode_pool_routing(&f, p, why)) != 0 || (rc = decode_pool_state(&f, p, why)) != 0)
		return rc;
	return 0;
}

void mcm_dumpfmt_pool_id(mcm_pool_id id, char buf[17])
{
	snprintf(buf, 17, "%016" PRIx64, id);
}

int mcm_dumpfmt_parse_pool_id(const char *s, mcm_pool_id *id)
{
	uint64_t x = 0;
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > 16)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i];
		int d = hexval(c);
		if (d < 0)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	*id = x;
	return 0;
}

void mcm_dumpfmt_time(int64_t secs, char buf[32])
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "@%" PRId64, secs);
}
