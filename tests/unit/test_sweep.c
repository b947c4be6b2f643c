/* test_sweep.c - the sweep (store/sweep.c): what it removes, what it keeps for
 * followers, the purge horizon, the byte cap, its budget and its accounting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_record.h"
#include "unit.h"

static struct mcm_pool pool_a;
static int64_t now;

static struct mcm_sweep_policy policy(uint64_t max_bytes)
{
	struct mcm_sweep_policy p = {.enabled = 1,
				     .max_bytes = max_bytes,
				     .tombstone_ttl_s = 3600,
				     .tombstone_min_s = MCM_SWEEP_MIN_AGE};
	return p;
}

/* A write of op on key at `ago` seconds before now, value value, absolute expiry exptime. */
static void write_at(struct mcm_store *st, enum mcm_op op, const char *key, const char *value, int64_t exptime,
		     int64_t ago)
{
	struct mcm_mutation m = unit_mut(op, &pool_a, key);

	m.value = value;
	m.value_len = value ? strlen(value) : 0;
	m.exptime = exptime;
	m.wtime_us = (uint64_t)(now - ago) * 1000000u;
	unit_apply(st, &m);
}

static int present(struct mcm_store *st, const char *key)
{
	struct mcm_item item;

	return unit_get(st, &pool_a, key, &item) == 0;
}

/* Every record indexed once, nothing else indexed; returns the records' bytes. */
static uint64_t check_index(struct mcm_store *st)
{
	struct mcm_iter *it;
	struct mcm_item item;
	struct mcm_store_info info;
	uint64_t by_key = 0, by_seq = 0, bytes = 0;
	int rc;

	assert_int_equal(mcm_iter_open(st, MCM_ORDER_KEY, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		by_key++;
		bytes += 8 + item.key_len + mcm_item_size(&item);
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	assert_int_equal(mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0)
		by_seq++;
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	assert_int_equal(by_key, by_seq);
	assert_int_equal(mcm_store_info(st, &info), 0);
	assert_int_equal(info.entries, by_key);
	assert_int_equal(info.seq_entries, by_seq);
	return bytes;
}

static void test_removes_expired_and_old_tombstones(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy p = policy(0);
	struct mcm_sweep_counts c;

	write_at(e->st, MCM_OP_PUT, "live", "1", 0, 10);
	write_at(e->st, MCM_OP_PUT, "later", "1", now + 3600, 10);
	write_at(e->st, MCM_OP_PUT, "expired", "1", now - 5, 10);
	write_at(e->st, MCM_OP_PUT, "old-del", "1", 0, 1000);
	write_at(e->st, MCM_OP_DELETE, "old-del", NULL, 0, 900);   /* a tombstone 900 s old */
	write_at(e->st, MCM_OP_PUT, "new-del", "1", 0, 20);
	write_at(e->st, MCM_OP_DELETE, "new-del", NULL, 0, 10);    /* 10 s old: kept (min age) */
	mcm_store_set_sweep(e->st, &p);
	assert_int_equal(mcm_store_sweep(e->st, 100), 0);
	assert_true(present(e->st, "live"));
	assert_true(present(e->st, "later"));
	assert_false(present(e->st, "expired"));
	assert_false(present(e->st, "old-del"));
	assert_true(present(e->st, "new-del"));
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.expired, 1);
	assert_int_equal(c.tombstones, 1);
	assert_int_equal(c.bytes, check_index(e->st));
}

/* A follower that has not passed a tombstone keeps it, up to the TTL; then it
 * goes and the purge horizon says the follower may have missed it. */
static void test_followers_hold_tombstones(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy p = policy(0);
	struct mcm_follower f;
	struct mcm_item item;
	uint64_t horizon, del_seq;

	memset(&f, 0, sizeof f);
	strcpy(f.name, "standby");
	assert_int_equal(mcm_follower_put(e->st, &f), 0); /* position 0: has passed nothing */
	write_at(e->st, MCM_OP_PUT, "a", "1", 0, 5000);
	write_at(e->st, MCM_OP_DELETE, "a", NULL, 0, 1000); /* older than the minimum age, within the TTL */
	write_at(e->st, MCM_OP_PUT, "b", "1", 0, 9000);
	write_at(e->st, MCM_OP_DELETE, "b", NULL, 0, 7200); /* older than the TTL (3600 s) */
	write_at(e->st, MCM_OP_PUT, "x", "1", now - 100, 200); /* expired 100 s ago */
	assert_int_equal(unit_get(e->st, &pool_a, "b", &item), 0);
	del_seq = item.seq;
	mcm_store_set_sweep(e->st, &p);
	assert_int_equal(mcm_store_sweep(e->st, 100), 0);
	assert_true(present(e->st, "a"));
	assert_false(present(e->st, "b"));
	assert_true(present(e->st, "x")); /* the follower must still see it expire: delete it there */
	assert_int_equal(mcm_store_purge_horizon(e->st, &horizon), 0);
	assert_int_equal(horizon, del_seq);
	/* once the follower has passed everything, they go */
	f.position = 1000;
	assert_int_equal(mcm_follower_put(e->st, &f), 0);
	assert_int_equal(mcm_store_sweep(e->st, 100), 0);
	assert_false(present(e->st, "a"));
	assert_false(present(e->st, "x"));
	assert_int_equal(mcm_store_purge_horizon(e->st, &horizon), 0);
	assert_int_equal(horizon, del_seq); /* nothing a follower needed was removed */
	check_index(e->st);
}

/* Records a flush killed are released at once (a follower forwards the flush). */
static void test_releases_flushed(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy p = policy(0);
	struct mcm_sweep_counts c;
	struct mcm_mutation m = unit_mut(MCM_OP_FLUSH, &pool_a, NULL);
	struct mcm_follower f;
	char key[16];

	memset(&f, 0, sizeof f);
	strcpy(f.name, "standby");
	assert_int_equal(mcm_follower_put(e->st, &f), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof key, "k%d", i);
		write_at(e->st, MCM_OP_PUT, key, "value", 0, 10);
	}
	m.key = m.group = m.value = "";
	unit_apply(e->st, &m);
	write_at(e->st, MCM_OP_PUT, "after", "1", 0, 1);
	mcm_store_set_sweep(e->st, &p);
	assert_int_equal(mcm_store_sweep(e->st, 1000), 0);
	assert_false(present(e->st, "k0"));
	assert_false(present(e->st, "k49"));
	assert_true(present(e->st, "after"));
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.flushed, 50);
	assert_int_equal(c.bytes, check_index(e->st));
}

/* Over the byte cap, the oldest records go first, down to 95 % of it. */
static void test_byte_cap_keeps_newest(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy p = policy(0);
	struct mcm_sweep_counts c;
	char key[16], value[200];
	uint64_t cap;

	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "key%04d", i);
		write_at(e->st, MCM_OP_PUT, key, value, 0, 100);
	}
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.bytes, check_index(e->st));
	cap = c.bytes / 2;
	p.max_bytes = cap;
	mcm_store_set_sweep(e->st, &p);
	for (int round = 0; round < 10; round++)
		assert_int_equal(mcm_store_sweep(e->st, 1000), 0);
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_true(c.bytes <= cap);
	assert_true(c.bytes >= cap / 20 * 18);
	assert_int_equal(c.bytes, check_index(e->st));
	assert_true(c.evicted >= 450 && c.evicted <= 560);
	assert_false(present(e->st, "key0000"));
	assert_true(present(e->st, "key0999"));
	/* oldest first: every key kept is newer than every key evicted */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "key%04d", i);
		assert_int_equal(present(e->st, key), i >= (int)c.evicted);
	}
}

/* The budget bounds one step; the position carries the walk over, and it wraps. */
static void test_budget_and_position(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy p = policy(0);
	struct mcm_sweep_counts c;
	char key[16];
	int gone = 0;

	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "k%03d", i);
		write_at(e->st, MCM_OP_PUT, key, "v", i % 2 ? now - 1 : 0, 10); /* odd ones expired */
	}
	mcm_store_set_sweep(e->st, &p);
	assert_int_equal(mcm_store_sweep(e->st, 10), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "k%03d", i);
		gone += !present(e->st, key);
	}
	assert_int_equal(gone, 5); /* ten visited: five expired among them */
	for (int i = 0; i < 10; i++)
		assert_int_equal(mcm_store_sweep(e->st, 10), 0);
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.expired, 50);
	assert_true(c.cycles >= 1);
	check_index(e->st);
}

/* The drainer's way: each write transaction sweeps the budget it was given. */
static void test_sweep_with_writes(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy p = policy(0);
	struct mcm_sweep_counts c;
	char key[16];

	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof key, "old%d", i);
		write_at(e->st, MCM_OP_PUT, key, "v", now - 1, 10);
	}
	mcm_store_set_sweep(e->st, &p);
	mcm_store_sweep_next(e->st, 64);
	write_at(e->st, MCM_OP_PUT, "new", "v", 0, 0);
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.expired, 20);
	/* the budget is used once: the next transaction sweeps nothing */
	write_at(e->st, MCM_OP_PUT, "gone-soon", "v", now - 1, 0);
	write_at(e->st, MCM_OP_PUT, "new2", "v", 0, 0);
	assert_true(present(e->st, "gone-soon"));
	assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
	assert_int_equal(c.bytes, check_index(e->st)); /* writes without a sweep keep the count too */
}

/* The cap holds at every commit of a write transaction, whatever budget the
 * drainer gave it: a batch after an idle step (budget 0) or larger than the
 * step before (a small budget) still leaves the records at or under the cap. */
static void test_cap_holds_at_every_commit(void **state)
{
	struct unit_env *e = *state;
	struct mcm_sweep_policy p = policy(4000);
	struct mcm_sweep_counts c;
	struct mcm_mutation m[40];
	char keys[40][16], value[100];

	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	mcm_store_set_sweep(e->st, &p);
	for (int i = 0; i < 200; i++) { /* one write a transaction, no budget given */
		snprintf(keys[0], sizeof keys[0], "one%03d", i);
		write_at(e->st, MCM_OP_PUT, keys[0], value, 0, 0);
		assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
		assert_true(c.bytes <= p.max_bytes);
	}
	for (int round = 0; round < 10; round++) { /* batches of 40 after a budget of 1 */
		for (int i = 0; i < 40; i++) {
			snprintf(keys[i], sizeof keys[i], "b%d-%02d", round, i);
			m[i] = unit_mut(MCM_OP_PUT, &pool_a, keys[i]);
			m[i].value = value;
			m[i].value_len = strlen(value);
			m[i].wtime_us = (uint64_t)now * 1000000u;
		}
		mcm_store_sweep_next(e->st, 1);
		assert_int_equal(mcm_store_apply(e->st, m, 40), 0);
		assert_int_equal(mcm_store_sweep_counts(e->st, &c), 0);
		assert_true(c.bytes <= p.max_bytes);
		assert_int_equal(c.bytes, check_index(e->st));
	}
	assert_true(present(e->st, "b9-39"));
	assert_false(present(e->st, "one000"));
}

int main(void)
{
	now = (int64_t)time(NULL);
	unit_pool(&pool_a, "127.0.0.1:11211");
#define E(f) cmocka_unit_test_setup_teardown(f, unit_env_setup, unit_env_teardown)
	const struct CMUnitTest tests[] = {
		E(test_removes_expired_and_old_tombstones),
		E(test_followers_hold_tombstones),
		E(test_releases_flushed),
		E(test_byte_cap_keeps_newest),
		E(test_budget_and_position),
		E(test_sweep_with_writes),
		E(test_cap_holds_at_every_commit),
	};
#undef E

	return cmocka_run_group_tests_name("sweep", tests, NULL, NULL);
}
