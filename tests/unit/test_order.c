/* test_order.c - store/order.c: a batch applied in the order of its keys leaves the mirror as the
 * same mutations applied one transaction each, in the batch's order: the same records, and the
 * same records in the same order when walked by number (numbers follow the writes, not the keys);
 * nothing moves across a flush; a mutation that writes nothing leaves a gap, not a wrong number; a
 * damaged pool record rebuilt mid-run does not flush the run's own writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"

#define T0 1800000000LL
#define US(s) ((uint64_t)(s) * 1000000u)
#define NKEYS 600
#define MAXBATCH 3000

static char keys[NKEYS][24];
static struct mcm_pool pools[2];

static int setup(void **state)
{
	unit_pool(&pools[0], "127.0.0.1:11211");
	unit_pool(&pools[1], "127.0.0.1:11212");
	for (int k = 0; k < NKEYS; k++) /* keys of several shapes: shared prefixes, lengths, one odd one */
		snprintf(keys[k], sizeof keys[k], k % 3 == 0 ? "sess:%08x" : k % 3 == 1 ? "user:%d:cart" : "%d",
			 k == 7 ? 0xffffffffu : (unsigned)k * 2654435761u % 100000u);
	return unit_two_setup(state);
}

/* A random mutation at time at; text keeps its value's bytes. */
static struct mcm_mutation random_mut(unsigned *seed, int64_t at, char *text)
{
	static const enum mcm_op ops[] = {MCM_OP_PUT,    MCM_OP_PUT,    MCM_OP_PUT,   MCM_OP_PUT,  MCM_OP_PUT,
					  MCM_OP_APPEND, MCM_OP_DELETE, MCM_OP_TOUCH, MCM_OP_DROP, MCM_OP_DELTA};
	enum mcm_op o = ops[rand_r(seed) % (sizeof ops / sizeof ops[0])];
	struct mcm_mutation m;

	if (rand_r(seed) % 500 == 0)
		o = MCM_OP_FLUSH; /* a barrier, now and then */
	m = unit_mut(o, &pools[rand_r(seed) % 4 == 0], keys[rand_r(seed) % NKEYS]);
	m.wtime_us = US(T0 + at);
	switch (o) {
	case MCM_OP_PUT:
		snprintf(text, 24, rand_r(seed) % 2 ? "%u" : "v%u", rand_r(seed) % 1000);
		m.value = text;
		m.value_len = strlen(text);
		m.flags = rand_r(seed) % 3;
		break;
	case MCM_OP_APPEND:
		m.value = "+x";
		m.value_len = 2;
		break;
	case MCM_OP_DELTA:
		m.incr = 1;
		m.delta = 1;
		m.result = rand_r(seed) % 1000;
		break;
	case MCM_OP_TOUCH:
		m.exptime = T0 + at + 100000;
		break;
	case MCM_OP_FLUSH:
		m.key = NULL;
		m.key_len = 0;
		break;
	default:
		break;
	}
	return m;
}

/* One record as walked: enough to tell two apart. */
struct seen {
	uint64_t pool;
	char key[24];
	int kind;
	char value[64];
};

/* Every record of st in number order (n of them in *out, malloc'd). */
static size_t walk(struct mcm_store *st, struct seen **out)
{
	struct mcm_iter *it;
	struct mcm_item item;
	size_t n = 0, cap = 1024;
	struct seen *v = malloc(cap * sizeof *v);
	uint64_t last = 0;
	int rc;

	assert_non_null(v);
	assert_int_equal(mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		if (n == cap)
			assert_non_null(v = realloc(v, (cap *= 2) * sizeof *v));
		assert_true(item.seq > last);
		last = item.seq;
		memset(&v[n], 0, sizeof v[n]);
		v[n].pool = item.pool;
		assert_true(item.key_len < sizeof v[n].key && item.value_len < sizeof v[n].value);
		memcpy(v[n].key, item.key, item.key_len);
		v[n].kind = item.kind;
		memcpy(v[n].value, item.value, item.value_len);
		n++;
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	*out = v;
	return n;
}

/* Random batches of 16 to 3,000 mutations over 600 keys of two pools (most
 * of them on keys the batch does not repeat, some repeated, now and then a
 * flush): after each, the records walked by number are the same, in the
 * same order, as those of a mirror given the same mutations one by one. */
static void test_same_as_in_order(void **state)
{
	static struct mcm_mutation m[MAXBATCH];
	static char text[MAXBATCH][24];
	struct unit_two *t = *state;
	unsigned seed = 42;
	int64_t at = 0;

	for (int round = 0; round < 40; round++) {
		size_t n = 16 + (size_t)(rand_r(&seed) % (round % 4 == 3 ? MAXBATCH - 16 : 200));
		struct seen *va, *vb;
		size_t na, nb;
		struct mcm_store_info ia;

		for (size_t i = 0; i < n; i++)
			m[i] = random_mut(&seed, at++, text[i]);
		assert_int_equal(mcm_store_apply(t->a->st, m, n), 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(mcm_store_apply(t->b->st, &m[i], 1), 0);
		na = walk(t->a->st, &va);
		nb = walk(t->b->st, &vb);
		assert_int_equal(na, nb);
		for (size_t i = 0; i < na; i++) {
			assert_true(va[i].pool == vb[i].pool);
			assert_string_equal(va[i].key, vb[i].key);
			assert_int_equal(va[i].kind, vb[i].kind);
			assert_string_equal(va[i].value, vb[i].value);
		}
		free(va);
		free(vb);
		assert_int_equal(mcm_store_info(t->a->st, &ia), 0);
		assert_int_equal(ia.seq_entries, ia.entries); /* no superseded entry left behind */
	}
}

/* Distinct keys written in descending key order: applied ascending, numbered as written. */
static void test_numbers_follow_writes(void **state)
{
	struct unit_two *t = *state;
	struct mcm_mutation m[100];
	char k[100][16];
	struct mcm_store_info before;
	struct mcm_item it;

	assert_int_equal(mcm_store_info(t->a->st, &before), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(k[i], sizeof k[i], "key%03d", 99 - i);
		m[i] = unit_mut(MCM_OP_PUT, &pools[0], k[i]);
		m[i].value = k[i];
		m[i].value_len = strlen(k[i]);
	}
	assert_int_equal(mcm_store_apply(t->a->st, m, 100), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(unit_get(t->a->st, &pools[0], k[i], &it), 0);
		assert_int_equal(it.seq, before.last_seq + 1 + (uint64_t)i);
	}
}

/* A flush in a batch: what came before it is flushed, what came after it is
 * live, whatever the keys' order (nothing moves across a barrier). */
static void test_flush_barrier(void **state)
{
	struct unit_two *t = *state;
	struct mcm_mutation m[61];
	char k[61][16];
	struct mcm_pool pool;
	struct mcm_item it;

	for (int i = 0; i < 61; i++) {
		snprintf(k[i], sizeof k[i], "f%02d", (i * 37) % 61); /* keys before and after the flush interleave */
		m[i] = unit_mut(MCM_OP_PUT, &pools[0], k[i]);
		m[i].value = "v";
		m[i].value_len = 1;
		m[i].wtime_us = US(T0);
	}
	m[30] = unit_mut(MCM_OP_FLUSH, &pools[0], "x");
	m[30].key = NULL;
	m[30].key_len = 0;
	m[30].wtime_us = US(T0);
	assert_int_equal(mcm_store_apply(t->a->st, m, 61), 0);
	assert_int_equal(mcm_store_pool(t->a->st, pools[0].id, &pool), 0);
	for (int i = 0; i < 61; i++) {
		if (i == 30)
			continue;
		assert_int_equal(unit_get(t->a->st, &pools[0], k[i], &it), 0);
		assert_int_equal(mcm_item_is_live(&it, &pool, T0 + 1), i > 30);
	}
}

/* A delete of a key the mirror does not hold writes nothing: its number is
 * left unused, and the writes after it keep theirs. */
static void test_gap(void **state)
{
	struct unit_two *t = *state;
	struct mcm_mutation m[20];
	char k[20][16];
	struct mcm_store_info before, after;
	struct mcm_item it;

	assert_int_equal(mcm_store_info(t->a->st, &before), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(k[i], sizeof k[i], "g%02d", 19 - i);
		m[i] = unit_mut(i == 5 ? MCM_OP_DELETE : MCM_OP_PUT, &pools[0], k[i]);
		m[i].value = "v";
		m[i].value_len = 1;
	}
	assert_int_equal(mcm_store_apply(t->a->st, m, 20), 0);
	assert_int_equal(unit_get(t->a->st, &pools[0], k[5], &it), MCM_ENOTFOUND);
	for (int i = 0; i < 20; i++)
		if (i != 5) {
			assert_int_equal(unit_get(t->a->st, &pools[0], k[i], &it), 0);
			assert_int_equal(it.seq, before.last_seq + 1 + (uint64_t)i);
		}
	assert_int_equal(mcm_store_info(t->a->st, &after), 0);
	assert_int_equal(after.entries, before.entries + 19);
	assert_int_equal(after.seq_entries, after.entries);
}

/* A pool record found damaged is rebuilt, flushed as of the transaction's
 * run: the run's own writes to that pool stay live, though the write with
 * the highest number (the smallest key here) is applied first. */
static void test_damaged_pool(void **state)
{
	struct unit_two *t = *state;
	struct mcm_mutation m[40], old = unit_mut(MCM_OP_PUT, &pools[0], "old");
	char k[40][16];
	struct mcm_pool pool;
	struct mcm_item it;

	old.value = "1";
	old.value_len = 1;
	unit_apply(t->a->st, &old);
	mcm_store_close(t->a->st);
	unit_flip_in_file(t->a->dir, "127.0.0.1:11211");
	assert_int_equal(mcm_store_open(&t->a->st, t->a->dir, 0, 0), 0);
	assert_int_equal(mcm_store_pool(t->a->st, pools[0].id, &pool), MCM_EDAMAGED);
	for (int i = 0; i < 40; i++) {
		snprintf(k[i], sizeof k[i], "d%02d", 39 - i);
		m[i] = unit_mut(MCM_OP_PUT, &pools[0], k[i]);
		m[i].value = "v";
		m[i].value_len = 1;
	}
	assert_int_equal(mcm_store_apply(t->a->st, m, 40), 0);
	assert_int_equal(mcm_store_pool(t->a->st, pools[0].id, &pool), 0);
	assert_int_equal(unit_get(t->a->st, &pools[0], "old", &it), 0);
	assert_false(mcm_item_is_live(&it, &pool, time(NULL)));
	for (int i = 0; i < 40; i++) {
		assert_int_equal(unit_get(t->a->st, &pools[0], k[i], &it), 0);
		assert_true(mcm_item_is_live(&it, &pool, time(NULL)));
	}
}

/* Overwrites of keys far apart in a large mirror: their superseded entries
 * are rarely a few steps apart, so the removal gives up stepping and
 * searches (store.c, mcm_store_drop_dead); every one is still removed. */
static void test_sparse_overwrites(void **state)
{
	enum { KEYS = 20000, BATCH = 2000, OVER = 300 };
	static struct mcm_mutation m[BATCH];
	static char k[KEYS][16];
	struct unit_two *t = *state;
	struct mcm_store_info info;
	struct mcm_item it;
	unsigned seed = 7;

	for (int i = 0; i < KEYS; i++)
		snprintf(k[i], sizeof k[i], "s%05d", i);
	for (int b = 0; b < KEYS / BATCH; b++) {
		for (int i = 0; i < BATCH; i++) {
			m[i] = unit_mut(MCM_OP_PUT, &pools[0], k[b * BATCH + i]);
			m[i].value = "old";
			m[i].value_len = 3;
		}
		assert_int_equal(mcm_store_apply(t->a->st, m, BATCH), 0);
	}
	for (int i = 0; i < OVER; i++) {
		m[i] = unit_mut(MCM_OP_PUT, &pools[0], k[(size_t)rand_r(&seed) % KEYS]);
		m[i].value = "new";
		m[i].value_len = 3;
	}
	assert_int_equal(mcm_store_apply(t->a->st, m, OVER), 0);
	assert_int_equal(mcm_store_info(t->a->st, &info), 0);
	assert_int_equal(info.entries, KEYS);
	assert_int_equal(info.seq_entries, KEYS); /* no superseded entry left behind */
	for (int i = 0; i < OVER; i++) {
		assert_int_equal(unit_get(t->a->st, &pools[0], m[i].key, &it), 0);
		assert_memory_equal(it.value, "new", 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_as_in_order, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_numbers_follow_writes, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_flush_barrier, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_gap, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_pool, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_sparse_overwrites, setup, unit_two_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
