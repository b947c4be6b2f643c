/* tools_fill.c - fill a mirror with every kind of record `stats` and `dump` must handle (test fixture).
 *
 * usage: tools_fill DIR
 *   Writes, through mcm_store_apply, five pools:
 *     A  live values (one holding all 256 byte values, one empty), namespaced
 *        keys, explicit group keys (one empty), binary keys, deletes, drops,
 *        expired values, a delete of a key never written (no record)
 *     B  ketama/md5, hash_with_namespace; values then an immediate flush_all
 *        (flushed, one of them also expired: counted expired), then new values
 *        and a delete
 *     C  a unix socket pool with a delayed flush_all an hour ahead (still live)
 *     D  an encrypted pool (one key dropped by the encoding-key write)
 *     E  distribution and hash numbers libmemcached does not name
 *   and sets the shim counters recorded=7, failed=2. Prints what stats must
 *   count, one line per pool:
 *     expect POOLID live=N live_bytes=N deleted=N dropped=N expired=N flushed=N
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_counters.h"
#include "mcm_expiry.h"
#include "mcm_pool.h"
#include "mcm_store.h"

struct expect {
	uint64_t live, live_bytes, deleted, dropped, expired, flushed;
};

static struct mcm_store *st;
static int64_t now;

static void die(const char *what, int rc)
{
	fprintf(stderr, "tools_fill: %s: %s\n", what, mcm_strerror(rc));
	exit(1);
}

static void pool_init(struct mcm_pool *p, const char *servers, uint32_t dist, uint32_t key_hash, uint8_t hwn)
{
	memset(p, 0, sizeof *p);
	snprintf(p->servers, sizeof p->servers, "%s", servers);
	p->id = mcm_pool_id_of(p->servers, strlen(p->servers));
	p->distribution = dist;
	p->key_hash = key_hash;
	p->dist_hash = key_hash;
	p->hash_with_namespace = hwn;
}

static void apply(const struct mcm_mutation *m)
{
	int rc = mcm_store_apply(st, m, 1);

	if (rc != 0)
		die("apply", rc);
}

/* A write of key = value, with a namespace length and group key (NULL: none). */
static void put_full(const struct mcm_pool *p, const char *key, size_t key_len, uint16_t ns_len, const char *group,
		     const char *value, size_t value_len, int64_t exptime)
{
	struct mcm_mutation m;

	memset(&m, 0, sizeof m);
	m.op = MCM_OP_PUT;
	m.pool = p;
	m.key = key;
	m.key_len = key_len;
	m.ns_len = ns_len;
	if (group) {
		m.group_mode = MCM_GROUP_EXPLICIT;
		m.group = group;
		m.group_len = strlen(group);
	}
	m.value = value;
	m.value_len = value_len;
	m.flags = (uint32_t)(key_len * 977u);
	m.exptime = exptime;
	apply(&m);
}

static void put(const struct mcm_pool *p, const char *key, const char *value, int64_t exptime)
{
	put_full(p, key, strlen(key), 0, NULL, value, strlen(value), exptime);
}

static void op(const struct mcm_pool *p, enum mcm_op o, const char *key, int64_t exptime)
{
	struct mcm_mutation m;

	memset(&m, 0, sizeof m);
	m.op = o;
	m.pool = p;
	m.key = key;
	m.key_len = key ? strlen(key) : 0;
	m.exptime = exptime;
	apply(&m);
}

static void fill_a(const struct mcm_pool *a, struct expect *e)
{
	static const char binkey[] = "bin\x01\x7f\xff \\\n\r\x00z";
	char all[256], name[32];
	int i;

	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	put_full(a, "a:all-bytes", 11, 0, NULL, all, sizeof all, 0);
	put(a, "a:empty", "", 0);
	put(a, "a:ttl", "lives an hour", now + 3600);
	put_full(a, "app1:user", 9, 5, NULL, "ns value", 8, 0);
	put_full(a, "a:grouped", 9, 0, "grp\x01 x", "in a group", 10, 0);
	put_full(a, "a:empty-group", 13, 0, "", "empty group key", 15, 0);
	put_full(a, binkey, sizeof binkey - 1, 0, "\\", "binary key", 10, 0);
	e->live = 7;
	e->live_bytes = 256 + 0 + 13 + 8 + 10 + 15 + 10;
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "a:deleted-%d", i);
		put(a, name, "soon gone", 0);
		op(a, MCM_OP_DELETE, name, 0);
	}
	op(a, MCM_OP_DELETE, "a:never-written", 0);
	e->deleted = 3;
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof name, "a:dropped-%d", i);
		put(a, name, "uncertain", 0);
		op(a, MCM_OP_DROP, name, 0);
	}
	e->dropped = 2;
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "a:expired-%d", i);
		put(a, name, "was here", now - 100 - i);
	}
	put(a, "a:expired-at-once", "never lived", MCM_EXPIRED_AT_ONCE);
	e->expired = 4;
}

static void fill_b(const struct mcm_pool *b, struct expect *e)
{
	char name[32];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "b:before-flush-%d", i);
		put(b, name, "flushed away", 0);
	}
	put(b, "b:expired-and-flushed", "x", now - 50);
	op(b, MCM_OP_FLUSH, NULL, 0);
	e->flushed = 4;
	e->expired = 1;
	put(b, "b:after-1", "v1", 0);
	put(b, "b:after-2", "v22", 0);
	put(b, "b:before-flush-0", "rewritten", 0); /* written again after the flush: live */
	put(b, "b:gone", "x", 0);
	op(b, MCM_OP_DELETE, "b:gone", 0);
	e->flushed = 3;
	e->live = 3;
	e->live_bytes = 2 + 3 + 9;
	e->deleted = 1;
}

static void fill_rest(const struct mcm_pool *c, const struct mcm_pool *d, const struct mcm_pool *p_e,
		      struct expect *ec, struct expect *ed, struct expect *ee)
{
	put(c, "c:one", "1", 0);
	put(c, "c:two", "22", 0);
	op(c, MCM_OP_FLUSH, NULL, now + 3600);
	ec->live = 2;
	ec->live_bytes = 3;
	put(d, "d:secret", "plain before the key was set", 0);
	op(d, MCM_OP_ENCRYPTED, "d:secret", 0);
	ed->dropped = 1;
	put(p_e, "e:odd", "odd pool", 0);
	ee->live = 1;
	ee->live_bytes = 8;
}

static void print_expect(const struct mcm_pool *p, const struct expect *e)
{
	printf("expect %016" PRIx64 " live=%" PRIu64 " live_bytes=%" PRIu64 " deleted=%" PRIu64 " dropped=%" PRIu64
	       " expired=%" PRIu64 " flushed=%" PRIu64 "\n",
	       p->id, e->live, e->live_bytes, e->deleted, e->dropped, e->expired, e->flushed);
}

static void set_counters(const char *dir)
{
	struct mcm_counters *c;
	int rc = mcm_counters_open(&c, dir, 1);

	if (rc != 0)
		die("counters", rc);
	mcm_counters_add(c, MCM_CTR_RECORDED, 7);
	mcm_counters_add(c, MCM_CTR_FAILED, 2);
	mcm_counters_close(c);
}

int main(int argc, char **argv)
{
	struct mcm_pool a, b, c, d, e;
	struct expect ea = {0}, eb = {0}, ec = {0}, ed = {0}, ee = {0};
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: tools_fill DIR\n");
		return 2;
	}
	now = (int64_t)time(NULL);
	if ((rc = mcm_store_open(&st, argv[1], MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0)) != 0)
		die(argv[1], rc);
	pool_init(&a, "127.0.0.1:11211", MEMCACHED_DISTRIBUTION_MODULA, MEMCACHED_HASH_DEFAULT, 0);
	pool_init(&b, "127.0.0.1:11212,127.0.0.1:11213", MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA,
		  MEMCACHED_HASH_MD5, 1);
	pool_init(&c, "/run/mc.sock", MEMCACHED_DISTRIBUTION_CONSISTENT, MEMCACHED_HASH_FNV1A_64, 0);
	pool_init(&d, "127.0.0.1:11214", MEMCACHED_DISTRIBUTION_MODULA, MEMCACHED_HASH_DEFAULT, 0);
	pool_init(&e, "127.0.0.1:11215", 99, 42, 0);
	fill_a(&a, &ea);
	fill_b(&b, &eb);
	fill_rest(&c, &d, &e, &ec, &ed, &ee);
	if ((rc = mcm_store_sync(st)) != 0)
		die("sync", rc);
	mcm_store_close(st);
	set_counters(argv[1]);
	print_expect(&a, &ea);
	print_expect(&b, &eb);
	print_expect(&c, &ec);
	print_expect(&d, &ed);
	print_expect(&e, &ee);
	return 0;
}
