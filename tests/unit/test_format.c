/* test_format.c - the mirror's format as the store lives it: version 1 and 2
 * mirrors read as they are and upgraded by a writer, a flipped bit in data.mdb found and named
 * by every reader without stopping it, writes over a damaged record, stale
 * entries of the seq index, damaged pool records, and the followers database. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mcm_record.h"
#include "mcm_seqidx.h"
#include "unit.h"

static struct mcm_pool pool_a;

static void put(struct mcm_store *st, const char *key, const char *value)
{
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, &pool_a, key);

	m.value = value;
	m.value_len = strlen(value);
	unit_apply(st, &m);
}

/* Walk the store in order; count good records and damaged ones (naming the
 * damaged key in *bad_key). Returns the number of good records. */
static int walk(struct mcm_store *st, enum mcm_order order, int *damaged, char *bad_key, uint64_t *bad_seq)
{
	struct mcm_iter *it;
	struct mcm_item item;
	int rc, good = 0;

	*damaged = 0;
	assert_int_equal(mcm_iter_open(st, order, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED) {
		if (rc == 0) {
			good++;
			continue;
		}
		(*damaged)++;
		memcpy(bad_key, item.key, item.key_len);
		bad_key[item.key_len] = '\0';
		*bad_seq = item.seq;
		assert_true(item.pool == pool_a.id);
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	return good;
}

/* A flipped bit in a value inside data.mdb: every walk names the record
 * (pool, key, seq) as damaged, goes on, and never hands its bytes out; a
 * lookup refuses it too. (Before format 2 nothing noticed and the corrupted
 * bytes were replayed.) */
static void test_bit_rot_found(void **state)
{
	struct unit_env *e = *state;
	char bad[512];
	uint64_t bad_seq = 0;
	int damaged;
	struct mcm_item item;

	put(e->st, "k1", "first-value-aaaaaaaaaaaaaaaa");
	put(e->st, "k2", "UNIQUE-VALUE-FOR-BIT-ROT-1234");
	put(e->st, "k3", "third-value-cccccccccccccccc");
	mcm_store_close(e->st);
	unit_flip_in_file(e->dir, "UNIQUE-VALUE-FOR-BIT-ROT-1234");
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(walk(e->st, MCM_ORDER_KEY, &damaged, bad, &bad_seq), 2);
	assert_int_equal(damaged, 1);
	assert_string_equal(bad, "k2");
	assert_int_equal(bad_seq, 2);
	assert_int_equal(walk(e->st, MCM_ORDER_SEQ, &damaged, bad, &bad_seq), 2);
	assert_int_equal(damaged, 1);
	assert_string_equal(bad, "k2");
	assert_int_equal(unit_get(e->st, &pool_a, "k2", &item), MCM_EDAMAGED);
	assert_int_equal(unit_get(e->st, &pool_a, "k1", &item), 0);
}

/* Writes meet a damaged record: a set replaces it, an append or incr cannot
 * extend it and drop the key, a delete makes it a tombstone. */
static void test_write_over_damage(void **state)
{
	struct unit_env *e = *state;
	struct mcm_mutation m;
	struct mcm_item item;
	char bad[512];
	uint64_t bad_seq;
	int damaged;

	put(e->st, "set", "AAAA-DAMAGED-SET-AAAA");
	put(e->st, "app", "BBBB-DAMAGED-APP-BBBB");
	put(e->st, "del", "CCCC-DAMAGED-DEL-CCCC");
	mcm_store_close(e->st);
	unit_flip_in_file(e->dir, "AAAA-DAMAGED-SET-AAAA");
	unit_flip_in_file(e->dir, "BBBB-DAMAGED-APP-BBBB");
	unit_flip_in_file(e->dir, "CCCC-DAMAGED-DEL-CCCC");
	assert_int_equal(mcm_store_open(&e->st, e->dir, 0, 0), 0);
	put(e->st, "set", "fresh");
	m = unit_mut(MCM_OP_APPEND, &pool_a, "app");
	m.value = "x";
	m.value_len = 1;
	unit_apply(e->st, &m);
	m = unit_mut(MCM_OP_DELETE, &pool_a, "del");
	unit_apply(e->st, &m);
	assert_int_equal(unit_get(e->st, &pool_a, "set", &item), 0);
	assert_int_equal(item.value_len, 5);
	assert_int_equal(unit_get(e->st, &pool_a, "app", &item), 0);
	assert_int_equal(item.kind, MCM_KIND_DROPPED);
	assert_int_equal(unit_get(e->st, &pool_a, "del", &item), 0);
	assert_int_equal(item.kind, MCM_KIND_DELETED);
	/* nothing damaged is left, and each record is indexed once (the
	 * damaged records' own seq entries are stale: the walk skips them) */
	assert_int_equal(walk(e->st, MCM_ORDER_KEY, &damaged, bad, &bad_seq), 3);
	assert_int_equal(damaged, 0);
	assert_int_equal(walk(e->st, MCM_ORDER_SEQ, &damaged, bad, &bad_seq), 3);
	assert_int_equal(damaged, 0);
}

/* Records a walk in key order returns (none damaged). */
static uint64_t walk_all(struct mcm_store *st)
{
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t n = 0;
	int rc;

	assert_int_equal(mcm_iter_open(st, MCM_ORDER_KEY, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0)
		n++;
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	return n;
}

/* Raw access to one named database of the mirror in dir. */
static void raw_put(const char *dir, const char *db, const void *k, size_t klen, const void *v, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A seq entry whose record is gone, or that names a key whose record carries
 * another number, is stale: a walk in seq order skips it (before format 2 it
 * made the whole mirror unreadable). */
static void test_stale_seq_entries(void **state)
{
	struct unit_env *e = *state;
	unsigned char sk[8], ik[MCM_ITEM_KEY_MAX];
	size_t iklen;
	char bad[512];
	uint64_t bad_seq;
	int damaged;

	struct mcm_item like = {.kind = MCM_KIND_VALUE};
	unsigned char ev[MCM_SEQ_VALUE_MAX];

	put(e->st, "a", "1");
	put(e->st, "b", "2");
	mcm_store_close(e->st);
	iklen = mcm_item_key(pool_a.id, "gone", 4, ik);
	mcm_put_be64(sk, 1000);
	raw_put(e->dir, "seq", sk, 8, ev, mcm_seq_entry_encode(&like, ik, iklen, ev));
	iklen = mcm_item_key(pool_a.id, "a", 1, ik);
	mcm_put_be64(sk, 1001); /* "a" carries number 1 */
	raw_put(e->dir, "seq", sk, 8, ev, mcm_seq_entry_encode(&like, ik, iklen, ev));
	mcm_put_be64(sk, 1002); /* not an entry at all */
	raw_put(e->dir, "seq", sk, 8, "x", 1);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(walk(e->st, MCM_ORDER_SEQ, &damaged, bad, &bad_seq), 2);
	assert_int_equal(damaged, 0);
}

/* A damaged pool record is left out of mcm_store_pools (and counted); the
 * next write to the pool rebuilds it, flushed: what the pool held before
 * cannot be vouched for (its flush markers were in the damaged record). */
static void test_damaged_pool(void **state)
{
	struct unit_env *e = *state;
	struct mcm_pool *pools, p;
	struct mcm_store_info info;
	struct mcm_item item;
	size_t n;

	put(e->st, "old", "1");
	mcm_store_close(e->st);
	unit_flip_in_file(e->dir, "127.0.0.1:11211");
	assert_int_equal(mcm_store_open(&e->st, e->dir, 0, 0), 0);
	assert_int_equal(mcm_store_pools(e->st, &pools, &n), 0);
	assert_int_equal(n, 0);
	free(pools);
	assert_int_equal(mcm_store_info(e->st, &info), 0);
	assert_int_equal(info.damaged_pools, 1);
	assert_int_equal(mcm_store_pool(e->st, pool_a.id, &p), MCM_EDAMAGED);
	put(e->st, "new", "2");
	assert_int_equal(mcm_store_pool(e->st, pool_a.id, &p), 0);
	assert_int_equal(unit_get(e->st, &pool_a, "old", &item), 0);
	assert_false(mcm_item_is_live(&item, &p, time(NULL)));
	assert_int_equal(unit_get(e->st, &pool_a, "new", &item), 0);
	assert_true(mcm_item_is_live(&item, &p, time(NULL)));
}

/* Little-endian helpers for writing version 1 records by hand. */
static void le(unsigned char *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

/* A version 1 mirror, as the first release wrote it: meta/format 1, four
 * databases, records without CRC. */
static void make_v1(const char *dir)
{
	unsigned char pool[48 + 15], item[40 + 5], ik[MCM_ITEM_KEY_MAX], sk[8], pk[8];
	uint32_t one = 1;
	uint64_t last = 1, created = 1;
	size_t iklen = mcm_item_key(pool_a.id, "v1key", 5, ik);

	assert_int_equal(mkdir(dir, 0700), 0);
	memset(pool, 0, sizeof pool);
	pool[0] = 1;
	le(pool + 40, 15, 4);
	memcpy(pool + 48, "127.0.0.1:11211", 15);
	memset(item, 0, sizeof item);
	item[0] = 1;
	item[1] = MCM_KIND_VALUE;
	le(item + 4, 7, 4);     /* flags */
	le(item + 16, 123, 8);  /* wtime_us */
	le(item + 24, 1, 8);    /* seq */
	le(item + 36, 5, 4);    /* value_len */
	memcpy(item + 40, "hello", 5);
	mcm_put_be64(pk, pool_a.id);
	mcm_put_be64(sk, 1);
	raw_put(dir, "meta", "format", 6, &one, 4);
	raw_put(dir, "meta", "created", 7, &created, 8);
	raw_put(dir, "meta", "last_seq", 8, &last, 8);
	raw_put(dir, "pools", pk, 8, pool, sizeof pool);
	raw_put(dir, "items", ik, iklen, item, sizeof item);
	raw_put(dir, "seq", sk, 8, ik, iklen);
}

/* Read the raw "items" record of key: its version byte. */
static unsigned raw_version(const char *dir, const char *key)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	unsigned char ik[MCM_ITEM_KEY_MAX];
	MDB_val k = {mcm_item_key(pool_a.id, key, strlen(key), ik), ik}, v;
	unsigned version;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "items", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	version = mcm_item_version(v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return version;
}

/* Version 1 mirrors are read as they are; the first writable open rewrites
 * their records with their CRC and their seq entries in the version 2 layout
 * (which format 3 reads as bundles of one), in its own transaction. */
static void test_version1_mirror(void **state)
{
	char dir[PATH_MAX];
	struct mcm_store *st;
	struct mcm_store_info info;
	struct mcm_item item;
	struct mcm_pool p;
	struct mcm_iter *it;
	int n = 0;

	snprintf(dir, sizeof dir, "%s/v1", (const char *)*state);
	make_v1(dir);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(mcm_store_info(st, &info), 0);
	assert_int_equal(info.format_version, 1);
	assert_int_equal(unit_get(st, &pool_a, "v1key", &item), 0);
	assert_int_equal(item.flags, 7);
	assert_memory_equal(item.value, "hello", 5);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &p), 0);
	assert_string_equal(p.servers, "127.0.0.1:11211");
	mcm_store_close(st);

	assert_int_equal(raw_version(dir, "v1key"), 1);
	assert_int_equal(mcm_store_open(&st, dir, 0, 0), 0);
	assert_int_equal(mcm_store_info(st, &info), 0);
	assert_int_equal(info.format_version, MCM_FORMAT_VERSION);
	assert_int_equal(raw_version(dir, "v1key"), MCM_RECORD_VERSION);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &p), 0);
	assert_string_equal(p.servers, "127.0.0.1:11211");
	put(st, "v2key", "world");
	assert_int_equal(mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it), 0);
	while (mcm_iter_next(it, &item) == 0)
		n++;
	mcm_iter_close(it);
	assert_int_equal(n, 2);
	assert_int_equal(unit_get(st, &pool_a, "v2key", &item), 0);
	assert_int_equal(item.seq, 2);
	mcm_store_close(st);
}

static void test_followers(void **state)
{
	struct unit_env *e = *state;
	struct mcm_follower f, g, *list;
	struct mcm_mutation m;
	struct mcm_item item;
	size_t n;

	/* without followers, a delete of a key the mirror never held writes nothing */
	m = unit_mut(MCM_OP_DELETE, &pool_a, "unknown1");
	unit_apply(e->st, &m);
	assert_int_equal(unit_get(e->st, &pool_a, "unknown1", &item), MCM_ENOTFOUND);

	memset(&f, 0, sizeof f);
	strcpy(f.name, "standby-1");
	strcpy(f.target, "127.0.0.1:11311");
	f.position = 42;
	f.resyncs = 3;
	f.flush_time = 1800000000;
	assert_int_equal(mcm_follower_put(e->st, &f), 0);
	assert_int_equal(mcm_follower_get(e->st, "standby-1", &g), 0);
	assert_int_equal(g.position, 42);
	assert_int_equal(g.resyncs, 3);
	assert_int_equal(g.flush_time, 1800000000);
	assert_string_equal(g.target, "127.0.0.1:11311");
	assert_int_equal(mcm_follower_get(e->st, "other", &g), MCM_ENOTFOUND);
	strcpy(f.name, "bad name");
	assert_int_equal(mcm_follower_put(e->st, &f), EINVAL);
	strcpy(f.name, "pg@db1");
	assert_int_equal(mcm_follower_put(e->st, &f), 0);
	assert_int_equal(mcm_follower_list(e->st, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "pg@db1");
	assert_string_equal(list[1].name, "standby-1");
	free(list);

	/* with followers, it does: a follower may hold an older value of it */
	m = unit_mut(MCM_OP_DELETE, &pool_a, "unknown2");
	unit_apply(e->st, &m);
	assert_int_equal(unit_get(e->st, &pool_a, "unknown2", &item), 0);
	assert_int_equal(item.kind, MCM_KIND_DELETED);
	m = unit_mut(MCM_OP_DROP, &pool_a, "unknown3");
	unit_apply(e->st, &m);
	assert_int_equal(unit_get(e->st, &pool_a, "unknown3", &item), 0);
	assert_int_equal(item.kind, MCM_KIND_DROPPED);

	assert_int_equal(mcm_follower_delete(e->st, "pg@db1"), 0);
	assert_int_equal(mcm_follower_delete(e->st, "pg@db1"), MCM_ENOTFOUND);
	assert_int_equal(mcm_follower_list(e->st, &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);
}

/* Each mirror has its own origin id, kept across opens. */
static void test_origin(void **state)
{
	char dir[PATH_MAX], a[33], b[33], c[33];
	struct mcm_store *st;

	snprintf(dir, sizeof dir, "%s/m1", (const char *)*state);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_CREATE, 0), 0);
	assert_int_equal(mcm_store_origin(st, a), 0);
	mcm_store_close(st);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(mcm_store_origin(st, b), 0);
	mcm_store_close(st);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 32);
	snprintf(dir, sizeof dir, "%s/m2", (const char *)*state);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_CREATE, 0), 0);
	assert_int_equal(mcm_store_origin(st, c), 0);
	mcm_store_close(st);
	assert_string_not_equal(a, c);
}

static void test_mutation_valid(void **state)
{
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, &pool_a, "k");
	char longkey[400];

	(void)state;
	assert_true(mcm_mutation_valid(&m));
	m.op = (enum mcm_op)200;
	assert_false(mcm_mutation_valid(&m));
	m.op = MCM_OP_PUT;
	m.ns_len = 2;
	assert_false(mcm_mutation_valid(&m));
	m.ns_len = 0;
	m.group_mode = 2;
	assert_false(mcm_mutation_valid(&m));
	m.group_mode = MCM_GROUP_KEY;
	m.group = "g";
	m.group_len = 1;
	assert_false(mcm_mutation_valid(&m));
	m.group_mode = MCM_GROUP_EXPLICIT;
	assert_true(mcm_mutation_valid(&m));
	memset(longkey, 'k', sizeof longkey);
	m.key = longkey;
	m.key_len = 378;
	assert_false(mcm_mutation_valid(&m));
	m.key_len = 377;
	assert_true(mcm_mutation_valid(&m));
	m = unit_mut(MCM_OP_RESTORE, &pool_a, "k");
	m.kind = 0;
	assert_false(mcm_mutation_valid(&m));
	m.kind = MCM_KIND_DELETED;
	assert_true(mcm_mutation_valid(&m));
	m.value = "v";
	m.value_len = 1;
	assert_false(mcm_mutation_valid(&m));
	m = unit_mut(MCM_OP_FLUSH, &pool_a, NULL);
	assert_true(mcm_mutation_valid(&m));
	m.exptime = -1;
	assert_false(mcm_mutation_valid(&m));
}

/* LMDB may end data.mdb before its last page when that page is free (a page
 * allocated and freed in one transaction is never written). Such a file opens
 * and reads; cut one page more (a page in use) and it is refused instead of
 * faulting. Deletes of superseded seq entries in bulk made this common: the
 * crash tests met it within a few transactions. */
static void test_free_tail_pages(void **state)
{
	static char keys[500][16];
	static struct mcm_mutation m[1500];
	char dir[PATH_MAX], file[PATH_MAX + 16], val[100];
	struct mcm_store *st;
	struct mcm_store_info info;
	struct stat sb;
	int gap = 0;

	memset(val, 'v', sizeof val);
	for (int k = 0; k < 500; k++)
		snprintf(keys[k], sizeof keys[k], "crash:%d", k);
	snprintf(dir, sizeof dir, "%s/gap", (const char *)*state);
	snprintf(file, sizeof file, "%s/data.mdb", dir);
	/* the write pattern of the crash test's first transactions, until a batch
	 * leaves free pages at the end (glibc's rand: the same every run) */
	for (unsigned trial = 0; trial < 50 && !gap; trial++) {
		int ctr = 0;

		unit_rmtree(dir);
		assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0), 0);
		srand(trial);
		for (int b = 0; b < 12 && !gap; b++) {
			int nb = 1 + rand() % 1500;

			for (int i = 0; i < nb; i++, ctr++) {
				m[i] = unit_mut(ctr % 7 == 6 ? MCM_OP_DELETE : MCM_OP_PUT, &pool_a, keys[ctr % 500]);
				m[i].value = val;
				m[i].value_len = 20 + (size_t)(rand() % 80);
			}
			assert_int_equal(mcm_store_apply(st, m, (size_t)nb), 0);
			assert_int_equal(mcm_store_info(st, &info), 0);
			assert_int_equal(stat(file, &sb), 0);
			gap = (size_t)sb.st_size < info.used_bytes;
		}
		mcm_store_close(st);
	}
	assert_true(gap);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(walk_all(st), info.entries);
	mcm_store_close(st);
	assert_int_equal(mcm_store_open(&st, dir, 0, 0), 0);
	put(st, "after", "gap");
	mcm_store_close(st);
	/* one page less than the file has now: that page is in use */
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(truncate(file, sb.st_size - 4096), 0);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0), MCM_ETRUNCATED);
	assert_int_equal(truncate(file, 8192), 0);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0), MCM_ETRUNCATED);
}

#define V2_KEYS 300

/* Turn the closed mirror in dir into what format 2 wrote: every seq entry a
 * value of its own under its number, no meta "entries", meta/format 2. */
static void make_v2(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi seq, meta;
	MDB_cursor *cur;
	MDB_val k, v, mk = {7, (void *)"entries"};
	unsigned char *copy = malloc((size_t)V2_KEYS * 2 * (MCM_BUNDLE_ENTRY_HEADER + MCM_SEQ_VALUE_MAX));
	size_t used = 0, n = 0;
	uint32_t two = 2;

	assert_non_null(copy);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "seq", 0, &seq), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	assert_int_equal(mdb_cursor_open(txn, seq, &cur), 0);
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *b = v.mv_data;
		size_t off = MCM_BUNDLE_HEADER;

		assert_int_not_equal(mcm_seqidx_check(b, v.mv_size, mcm_get_be64(k.mv_data)), 0);
		for (unsigned i = 0; i < b[1]; i++) { /* (number, length, entry), kept aside */
			memcpy(copy + used, b + off, mcm_bundle_entry_size(b + off));
			used += mcm_bundle_entry_size(b + off);
			off += mcm_bundle_entry_size(b + off);
			n++;
		}
	}
	mdb_cursor_close(cur);
	assert_int_equal(mdb_drop(txn, seq, 0), 0);
	for (size_t off = 0; off < used; off += mcm_bundle_entry_size(copy + off)) {
		unsigned char kb[8];
		MDB_val ek = {8, kb}, ev = {mcm_bundle_get16(copy + off + 8), copy + off + MCM_BUNDLE_ENTRY_HEADER};

		mcm_put_be64(kb, mcm_get_le64(copy + off));
		assert_int_equal(mdb_put(txn, seq, &ek, &ev, MDB_APPEND), 0);
	}
	assert_int_equal(n, V2_KEYS + 1);
	assert_int_equal(mdb_del(txn, meta, &mk, NULL), 0);
	k.mv_size = 6;
	k.mv_data = "format";
	v.mv_size = 4;
	v.mv_data = &two;
	assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(copy);
}

/* Every record by number, in order: their count. */
static size_t walk_by_number(struct mcm_store *st)
{
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t last = 0;
	size_t n = 0;
	int rc;

	assert_int_equal(mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		assert_true(item.seq > last);
		last = item.seq;
		n++;
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	return n;
}

/* A version 2 mirror (one seq entry a value) is read as it is; the first
 * writable open makes it version 3 without rewriting the index: every record
 * is still found by number, the count of entries is right, and writes go on
 * (new entries in bundles after the old ones, an old entry superseded). */
static void test_version2_mirror(void **state)
{
	char dir[PATH_MAX], key[32];
	struct mcm_store *st;
	struct mcm_store_info info;
	struct mcm_item item;

	snprintf(dir, sizeof dir, "%s/v2", (const char *)*state);
	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_CREATE, 0), 0);
	for (int i = 0; i < V2_KEYS; i++) {
		snprintf(key, sizeof key, "v2key%03d", i);
		put(st, key, "value");
	}
	put(st, "v2key007", "again"); /* (its first entry removed: the tools remove them one by one) */
	put(st, "v2last", "x");
	mcm_store_close(st);
	make_v2(dir);

	assert_int_equal(mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(mcm_store_info(st, &info), 0);
	assert_int_equal(info.format_version, 2);
	assert_int_equal(info.seq_entries, V2_KEYS + 1);
	assert_int_equal(walk_by_number(st), V2_KEYS + 1);
	mcm_store_close(st);

	assert_int_equal(mcm_store_open(&st, dir, 0, 0), 0);
	assert_int_equal(mcm_store_info(st, &info), 0);
	assert_int_equal(info.format_version, MCM_FORMAT_VERSION);
	assert_int_equal(info.seq_entries, V2_KEYS + 1);
	assert_int_equal(walk_by_number(st), V2_KEYS + 1);
	put(st, "v2key100", "newer");
	put(st, "v2new", "y");
	assert_int_equal(mcm_store_info(st, &info), 0);
	assert_int_equal(info.seq_entries, V2_KEYS + 2);
	assert_int_equal(walk_by_number(st), V2_KEYS + 2);
	assert_int_equal(unit_get(st, &pool_a, "v2key100", &item), 0);
	assert_memory_equal(item.value, "newer", 5);
	assert_int_equal(item.seq, info.last_seq - 1);
	mcm_store_close(st);
}

int main(void)
{
	unit_pool(&pool_a, "127.0.0.1:11211");
#define E(f) cmocka_unit_test_setup_teardown(f, unit_env_setup, unit_env_teardown)
#define D(f) cmocka_unit_test_setup_teardown(f, unit_dir_setup, unit_dir_teardown)
	const struct CMUnitTest tests[] = {
		E(test_bit_rot_found),
		E(test_write_over_damage),
		E(test_stale_seq_entries),
		E(test_damaged_pool),
		D(test_version1_mirror),
		D(test_version2_mirror),
		D(test_free_tail_pages),
		E(test_followers),
		D(test_origin),
		cmocka_unit_test(test_mutation_valid),
	};
#undef E
#undef D

	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
