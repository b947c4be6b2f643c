/* test_iter.c - the store's iterators over more records than one read batch
 * (the iterator renews its read txn every 4096 records): key order, seq
 * order, from_seq, and rewrites from the same thread between calls; an
 * upgrade of the mirror's format under a walk stops it at the next renewal;
 * a damaged bundle holding a number below the bundles before it neither
 * sends a walk back (it would read the same stretch at every renewal) nor
 * keeps the sweep from passing it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcm_seqidx.h"
#include "store_internal.h"
#include "unit.h"

#define N 15000     /* > 3 batches of 4096 */
#define STRIDE 7919 /* prime, coprime to N: write order differs from key order */
#define BATCH 4096  /* the store's ITER_BATCH */
#define WRITE_BATCH 1000

static struct mcm_pool pool_a, pool_b;

static void key_of(unsigned i, char *buf)
{
	snprintf(buf, 16, "k%05u", i);
}

static void value_of(unsigned i, unsigned gen, char *buf)
{
	snprintf(buf, 32, "v%u.%u", i, gen);
}

/* The key index written with sequence number s (1-based). */
static unsigned index_at(uint64_t s)
{
	return (unsigned)(((s - 1) * STRIDE) % N);
}

/* Write key index_at(s) for s = 1..N in pool A, then 10 keys in pool B. */
static int setup(void **state)
{
	static char keys[WRITE_BATCH][16], values[WRITE_BATCH][32];
	struct mcm_mutation m[WRITE_BATCH];
	struct unit_env *e;

	unit_pool(&pool_a, "127.0.0.1:11211");
	unit_pool(&pool_b, "127.0.0.1:11212");
	unit_env_setup(state);
	e = *state;
	for (uint64_t s = 1; s <= N;) {
		size_t n = 0;

		for (; n < WRITE_BATCH && s <= N; n++, s++) {
			key_of(index_at(s), keys[n]);
			value_of(index_at(s), 0, values[n]);
			m[n] = unit_mut(MCM_OP_PUT, &pool_a, keys[n]);
			m[n].value = values[n];
			m[n].value_len = strlen(values[n]);
		}
		assert_int_equal(mcm_store_apply(e->st, m, n), 0);
	}
	for (unsigned i = 0; i < 10; i++) {
		key_of(i, keys[i]);
		m[i] = unit_mut(MCM_OP_PUT, &pool_b, keys[i]);
		m[i].value = "b";
		m[i].value_len = 1;
	}
	assert_int_equal(mcm_store_apply(e->st, m, 10), 0);
	/* a deadlock fails the test instead of hanging it */
	alarm(60);
	return 0;
}

static int teardown(void **state)
{
	alarm(0);
	return unit_env_teardown(state);
}

static void test_key_order(void **state)
{
	struct unit_env *e = *state;
	const struct mcm_pool *first = pool_a.id < pool_b.id ? &pool_a : &pool_b;
	size_t in_a = 0, in_b = 0, count = 0;
	mcm_pool_id last_pool = 0;
	struct mcm_iter *it;
	struct mcm_item item;
	char key[16], value[32];
	int rc;

	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_KEY, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		/* pools in id order (big-endian keys sort numerically), keys in byte order */
		if (count == 0)
			assert_true(item.pool == first->id);
		assert_true(item.pool >= last_pool);
		last_pool = item.pool;
		if (item.pool == pool_a.id) {
			key_of((unsigned)in_a, key);
			value_of((unsigned)in_a, 0, value);
			assert_int_equal(item.key_len, 6);
			assert_memory_equal(item.key, key, 6);
			assert_int_equal(item.value_len, strlen(value));
			assert_memory_equal(item.value, value, item.value_len);
			in_a++;
		} else {
			assert_true(item.pool == pool_b.id);
			key_of((unsigned)in_b, key);
			assert_memory_equal(item.key, key, 6);
			assert_int_equal(item.seq, N + 1 + in_b);
			in_b++;
		}
		count++;
	}
	assert_int_equal(rc, MCM_END);
	assert_int_equal(mcm_iter_next(it, &item), MCM_END); /* stays at the end */
	mcm_iter_close(it);
	assert_int_equal(in_a, N);
	assert_int_equal(in_b, 10);
}

static void test_seq_order(void **state)
{
	struct unit_env *e = *state;
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t s = 0;
	char key[16];
	int rc;

	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		s++;
		assert_int_equal(item.seq, s);
		if (s <= N) {
			key_of(index_at(s), key);
			assert_true(item.pool == pool_a.id);
			assert_memory_equal(item.key, key, 6);
		} else {
			assert_true(item.pool == pool_b.id);
		}
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	assert_int_equal(s, N + 10);
}

static void test_from_seq(void **state)
{
	struct unit_env *e = *state;
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t s = 10001;
	char key[16];
	int rc;

	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, 10001, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		assert_int_equal(item.seq, s);
		if (s <= N) {
			key_of(index_at(s), key);
			assert_memory_equal(item.key, key, 6);
		}
		s++;
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	assert_int_equal(s, N + 11);

	/* 0 and 1 both start at the first record */
	for (uint64_t from = 0; from <= 1; from++) {
		assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, from, &it), 0);
		assert_int_equal(mcm_iter_next(it, &item), 0);
		assert_int_equal(item.seq, 1);
		mcm_iter_close(it);
	}
	/* past the last: nothing */
	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, N + 11, &it), 0);
	assert_int_equal(mcm_iter_next(it, &item), MCM_END);
	mcm_iter_close(it);
}

/* Rewrite the keys written with seqs [from, from + n) to generation 1. */
static void rewrite(struct mcm_store *st, uint64_t from, unsigned n)
{
	char keys[128][16], values[128][32];
	struct mcm_mutation m[128];

	assert_true(n <= 128);
	for (unsigned i = 0; i < n; i++) {
		key_of(index_at(from + i), keys[i]);
		value_of(index_at(from + i), 1, values[i]);
		m[i] = unit_mut(MCM_OP_PUT, &pool_a, keys[i]);
		m[i].value = values[i];
		m[i].value_len = strlen(values[i]);
	}
	assert_int_equal(mcm_store_apply(st, m, n), 0);
}

/* Records rewritten from the same thread while a seq walk runs. The walk
 * reads records 1..4096 from the snapshot taken at open, then renews. So:
 *  - keys at seqs 5000..5099 (beyond the first snapshot's batch), rewritten
 *    while the walk is at record 100, are seen exactly once, with the new value;
 *  - keys at seqs 200..209 (inside the current batch) are seen at their old
 *    place with the old value (the snapshot) and again at their new place;
 *  - keys at seqs 1..10 (already read) are seen again at their new place.
 * In every case the last sighting of a key carries its newest value. */
static void test_rewrite_during_walk(void **state)
{
	struct unit_env *e = *state;
	static unsigned seen[N], gen_last[N];
	struct mcm_iter *it;
	struct mcm_item item;
	size_t count = 0;
	uint64_t last_seq = 0;
	int rc;

	memset(seen, 0, sizeof seen);
	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		unsigned idx, gen;
		char value[32];

		count++;
		assert_true(item.seq > last_seq); /* strictly increasing */
		last_seq = item.seq;
		if (item.pool == pool_a.id) {
			char key[8];

			memcpy(key, item.key, 6);
			key[6] = '\0';
			idx = (unsigned)atoi(key + 1);
			assert_true(idx < N);
			gen = item.value_len > 0 && memchr(item.value, '.', item.value_len) ?
				      (unsigned)(((const char *)memchr(item.value, '.', item.value_len))[1] - '0') :
				      99;
			value_of(idx, gen, value);
			assert_int_equal(item.value_len, strlen(value));
			assert_memory_equal(item.value, value, item.value_len);
			seen[idx]++;
			gen_last[idx] = gen;
		}
		if (count == 100) {
			rewrite(e->st, 5000, 100);
			rewrite(e->st, 200, 10);
			rewrite(e->st, 1, 10);
		}
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	/* 15000 + 10 (pool B) + 10 (200..209 twice) + 10 (1..10 twice) */
	assert_int_equal(count, N + 10 + 20);
	for (uint64_t s = 1; s <= N; s++) {
		unsigned idx = index_at(s);
		int rewritten = (s >= 5000 && s < 5100) || (s >= 200 && s < 210) || s <= 10;
		unsigned expect_seen = (s >= 5000 && s < 5100) ? 1 : rewritten ? 2 : 1;

		assert_int_equal(seen[idx], expect_seen);
		assert_int_equal(gen_last[idx], rewritten ? 1 : 0);
	}
}

/* The same thread writes between every pair of iterator calls, across
 * batch renewals: no deadlock, and the walk terminates. */
static void test_write_each_step(void **state)
{
	struct unit_env *e = *state;
	struct mcm_iter *it;
	struct mcm_item item;
	size_t count = 0;
	int rc;

	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_KEY, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		struct mcm_mutation m = unit_mut(MCM_OP_PUT, &pool_b, "writer");

		m.value = "w";
		m.value_len = 1;
		assert_int_equal(mcm_store_apply(e->st, &m, 1), 0);
		count++;
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	/* "writer" is new in pool B: seen at most once, depending on the snapshot */
	assert_true(count == N + 10 || count == N + 11);
}

/* meta/format changed under a walk (another process's writable open upgraded
 * the mirror): the walk stops with MCM_EFORMAT when it renews its snapshot,
 * rather than read the new layout as the old one (format 2 had one seq entry
 * a value); formats 3 and 4 have the same layout, and the walk goes on. */
static void test_format_changed(void **state)
{
	struct unit_env *e = *state;
	uint32_t other;
	MDB_val k = {6, (void *)"format"}, v = {4, &other};
	struct mcm_iter *it;
	struct mcm_item item;
	MDB_txn *txn;
	size_t count = 0, all;
	int rc;

	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_KEY, 0, &it), 0);
	for (all = 0; mcm_iter_next(it, &item) == 0; all++)
		;
	mcm_iter_close(it);
	assert_true(all > BATCH);
	for (int order = 0; order < 4; order++) {
		int same_layout = order >= 2;

		assert_int_equal(mcm_iter_open(e->st, order % 2 ? MCM_ORDER_SEQ : MCM_ORDER_KEY, 0, &it), 0);
		assert_int_equal(mcm_iter_next(it, &item), 0);
		other = same_layout ? 3 : 2;
		assert_int_equal(mdb_txn_begin(e->st->env, NULL, 0, &txn), 0);
		assert_int_equal(mdb_put(txn, e->st->meta, &k, &v, 0), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
		for (count = 1; (rc = mcm_iter_next(it, &item)) == 0; count++)
			;
		assert_int_equal(rc, same_layout ? MCM_END : MCM_EFORMAT);
		assert_int_equal(count, same_layout ? all : BATCH);
		mcm_iter_close(it);
		/* back as it was */
		other = e->st->format;
		assert_int_equal(mdb_txn_begin(e->st->env, NULL, 0, &txn), 0);
		assert_int_equal(mdb_put(txn, e->st->meta, &k, &v, 0), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
	}
}

/* Give the first entry of a bundle in the middle of the index the number 1
 * (the bundle still checks out: its numbers ascend, none above its key). */
static uint64_t damage_bundle(struct mcm_store *st)
{
	uint64_t first;
	unsigned char kb[8], buf[MCM_BUNDLE_BYTES];
	MDB_val k = {8, kb}, v;
	MDB_cursor *cur;
	MDB_txn *txn;

	assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, st->seq, &cur), 0);
	mcm_put_be64(kb, N / 2);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), 0);
	assert_true(v.mv_size <= sizeof buf && v.mv_size > MCM_BUNDLE_HEADER + 8 && ((unsigned char *)v.mv_data)[1] > 1);
	memcpy(buf, v.mv_data, v.mv_size);
	first = mcm_get_le64(buf + MCM_BUNDLE_HEADER);
	memset(buf + MCM_BUNDLE_HEADER, 0, 8);
	buf[MCM_BUNDLE_HEADER] = 1;
	assert_int_not_equal(mcm_seqidx_check(buf, v.mv_size, mcm_get_be64(k.mv_data)), 0);
	v.mv_data = buf;
	assert_int_equal(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
	mdb_cursor_close(cur);
	assert_int_equal(mdb_txn_commit(txn), 0);
	return first;
}

static void test_damaged_order(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy policy = {.enabled = 1, .tombstone_ttl_s = 86400, .tombstone_min_s = 300};
	struct mcm_sweep_counts c;
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t last = 0;
	size_t count = 0;
	int rc;

	uint64_t first = damage_bundle(e->st), from = first - (BATCH - 1);

	/* a walk that meets it as the last entry before a renewal (numbers 1..N+10, all there) */
	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, from, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0 && count <= N + 10) {
		assert_true(item.seq > last); /* nothing read twice */
		last = item.seq;
		count++;
	}
	assert_int_equal(rc, MCM_END);
	assert_int_equal(count, N + 10 - (from - 1) - 1); /* the damaged entry's record: stale by its number */
	mcm_iter_close(it);
	/* a sweep step that ends on it goes on from where it was, not from it: the
	 * next step, with room for what is left after it, ends the pass (its copy
	 * says "live": it is left for a rebuild) */
	mcm_store_set_sweep(e->st, &policy);
	assert_int_equal(mcm_store_sweep(e->st, (size_t)(from - 1)), 0); /* 1 .. from - 1 */
	assert_int_equal(mcm_store_sweep(e->st, BATCH), 0);                /* from .. the damaged entry */
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.cycles, 0);
	assert_int_equal(mcm_store_sweep(e->st, (size_t)(N + 10 - first + 5)), 0);
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.cycles, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_key_order),
		T(test_seq_order),
		T(test_from_seq),
		T(test_rewrite_during_walk),
		T(test_write_each_step),
		T(test_format_changed),
		T(test_damaged_order),
	};
#undef T

	return cmocka_run_group_tests_name("iter", tests, NULL, NULL);
}
