/* test_restore.c - MCM_OP_RESTORE and MCM_OP_RESTORE_POOL (store/apply.c), the operations
 * `mcmirror load` and `import` write with: exact records, kept sequence numbers, last writer
 * wins by wtime_us (ties keep the mirror's record), pool records created exactly or merged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define US(s) ((uint64_t)(s) * 1000000u)
#define T0 1800000000LL

static struct mcm_pool pool_a;

static int setup(void **state)
{
	unit_pool(&pool_a, "127.0.0.1:11211");
	return unit_env_setup(state);
}

static struct mcm_store *store(void **state)
{
	return ((struct unit_env *)*state)->st;
}

static struct mcm_mutation restore(const struct mcm_pool *p, const char *key, uint8_t kind, const char *value,
				   uint64_t wtime_us, uint64_t seq)
{
	struct mcm_mutation m = unit_mut(MCM_OP_RESTORE, p, key);

	m.kind = kind;
	m.value = value;
	m.value_len = strlen(value);
	m.wtime_us = wtime_us;
	m.seq = seq;
	return m;
}

static uint64_t last_seq(struct mcm_store *st)
{
	struct mcm_store_info info;

	assert_int_equal(mcm_store_info(st, &info), 0);
	return info.last_seq;
}

/* Every field is written as given, the number is kept, and later numbers exceed it. */
static void test_exact(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation m = restore(&pool_a, "app:k", MCM_KIND_VALUE, "v\0x", US(T0) + 7, 500);
	struct mcm_mutation t = restore(&pool_a, "gone", MCM_KIND_DELETED, "", US(T0) + 9, 3);
	struct mcm_mutation put = unit_mut(MCM_OP_PUT, &pool_a, "new");
	struct mcm_item it;

	m.value_len = 3;
	m.flags = 0xdeadbeef;
	m.exptime = T0 + 60;
	m.ns_len = 4;
	m.group_mode = MCM_GROUP_EXPLICIT;
	m.group = "g";
	m.group_len = 1;
	unit_apply(st, &m);
	unit_apply(st, &t);
	assert_int_equal(unit_get(st, &pool_a, "app:k", &it), 0);
	assert_int_equal(it.kind, MCM_KIND_VALUE);
	assert_int_equal(it.flags, 0xdeadbeef);
	assert_int_equal(it.exptime, T0 + 60);
	assert_int_equal(it.wtime_us, US(T0) + 7);
	assert_int_equal(it.seq, 500);
	assert_int_equal(it.ns_len, 4);
	assert_int_equal(it.group_mode, MCM_GROUP_EXPLICIT);
	assert_int_equal(it.group_len, 1);
	assert_int_equal(it.value_len, 3);
	assert_memory_equal(it.value, "v\0x", 3);
	assert_int_equal(unit_get(st, &pool_a, "gone", &it), 0);
	assert_int_equal(it.kind, MCM_KIND_DELETED);
	assert_int_equal(it.seq, 3);
	assert_int_equal(last_seq(st), 500);
	unit_apply(st, &put);
	assert_int_equal(unit_get(st, &pool_a, "new", &it), 0);
	assert_int_equal(it.seq, 501);
}

/* A number another record holds is refused, and nothing of the batch is applied. */
static void test_seq_taken(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation a = restore(&pool_a, "a", MCM_KIND_VALUE, "1", US(T0), 10);
	struct mcm_mutation b[2] = {restore(&pool_a, "c", MCM_KIND_VALUE, "3", US(T0), 11),
				    restore(&pool_a, "b", MCM_KIND_VALUE, "2", US(T0), 10)};
	struct mcm_item it;

	unit_apply(st, &a);
	assert_int_equal(mcm_store_apply(st, b, 2), EEXIST);
	assert_int_equal(unit_get(st, &pool_a, "c", &it), MCM_ENOTFOUND);
	assert_int_equal(unit_get(st, &pool_a, "b", &it), MCM_ENOTFOUND);
	b[1].kind = 9;
	b[1].seq = 0;
	assert_int_equal(mcm_store_apply(st, &b[1], 1), MCM_EINVALID);
}

/* With seq 0: the newer write time wins, a tie keeps the mirror's record, a win takes a new number. */
static void test_last_writer_wins(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation put = unit_mut(MCM_OP_PUT, &pool_a, "k");
	struct mcm_mutation older = restore(&pool_a, "k", MCM_KIND_VALUE, "older", US(T0) - 1, 0);
	struct mcm_mutation tie = restore(&pool_a, "k", MCM_KIND_VALUE, "tie", US(T0), 0);
	struct mcm_mutation newer = restore(&pool_a, "k", MCM_KIND_DELETED, "", US(T0) + 1, 0);
	struct mcm_item it;
	uint64_t seq;

	put.value = "mirror";
	put.value_len = 6;
	put.wtime_us = US(T0);
	unit_apply(st, &put);
	assert_int_equal(unit_get(st, &pool_a, "k", &it), 0);
	seq = it.seq;
	unit_apply(st, &older);
	unit_apply(st, &tie);
	assert_int_equal(unit_get(st, &pool_a, "k", &it), 0);
	assert_int_equal(it.kind, MCM_KIND_VALUE);
	assert_memory_equal(it.value, "mirror", 6);
	assert_int_equal(it.seq, seq);
	unit_apply(st, &newer);
	assert_int_equal(unit_get(st, &pool_a, "k", &it), 0);
	assert_int_equal(it.kind, MCM_KIND_DELETED);
	assert_int_equal(it.wtime_us, US(T0) + 1);
	assert_true(it.seq > seq);
}

/* A new pool record is written exactly and numbers continue above its flush_seq; an existing one
 * keeps its own markers and takes over only a later delayed flush and the encrypted mark. */
static void test_pool(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_pool given = pool_a, got;
	struct mcm_mutation m = unit_mut(MCM_OP_RESTORE_POOL, &given, NULL);
	struct mcm_mutation put = unit_mut(MCM_OP_PUT, &pool_a, "after");
	struct mcm_item it;

	given.created_us = 1234;
	given.flush_seq = 700;
	given.flush_time = T0 - 5;
	given.distribution = 1;
	unit_apply(st, &m);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &got), 0);
	assert_int_equal(got.created_us, 1234);
	assert_int_equal(got.flush_seq, 700);
	assert_int_equal(got.flush_time, T0 - 5);
	assert_int_equal(got.distribution, 1);
	assert_string_equal(got.servers, pool_a.servers);
	assert_int_equal(last_seq(st), 700);
	put.value = "x";
	put.wtime_us = US(T0);
	put.value_len = 1;
	unit_apply(st, &put);
	assert_int_equal(unit_get(st, &pool_a, "after", &it), 0);
	assert_int_equal(it.seq, 701);
	assert_true(mcm_item_is_live(&it, &got, T0));

	given.created_us = 99;
	given.flush_seq = 5;
	given.flush_time = T0 + 100;
	given.encrypted = 1;
	unit_apply(st, &m);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &got), 0);
	assert_int_equal(got.created_us, 1234);
	assert_int_equal(got.flush_seq, 700);
	assert_int_equal(got.flush_time, T0 + 100);
	assert_int_equal(got.encrypted, 1);
	given.flush_time = T0;
	unit_apply(st, &m);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &got), 0);
	assert_int_equal(got.flush_time, T0 + 100);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, unit_env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_exact),
		T(test_seq_taken),
		T(test_last_writer_wins),
		T(test_pool),
	};
#undef T

	return cmocka_run_group_tests_name("restore", tests, NULL, NULL);
}
