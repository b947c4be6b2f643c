/* test_coalesce.c - store/coalesce.c: a batch applied in one transaction, where a later set of a key
 * makes its earlier mutations moot, leaves the mirror exactly as the same mutations applied one
 * transaction each (every record's kind, value, flags, expiry and liveness; the pools' marks), with
 * no superseded seq entry left; and the moot mutations cost no number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_crc.h"
#include "mcm_expiry.h"
#include "unit.h"

#define T0 1800000000LL
#define US(s) ((uint64_t)(s) * 1000000u)
#define NKEYS 5

static const char *keys[NKEYS] = {"k0", "k1", "k2", "k3", "k4"};
static struct mcm_pool pools[2];

static int setup(void **state)
{
	unit_pool(&pools[0], "127.0.0.1:11211");
	unit_pool(&pools[1], "127.0.0.1:11212");
	return unit_two_setup(state);
}

/* A random mutation at time at; text keeps its value's bytes. */
static struct mcm_mutation random_mut(unsigned *seed, int64_t at, char *text)
{
	static const enum mcm_op ops[] = {MCM_OP_PUT,    MCM_OP_PUT,   MCM_OP_PUT,     MCM_OP_PUT,  MCM_OP_APPEND,
					  MCM_OP_PREPEND, MCM_OP_DELTA, MCM_OP_TOUCH,   MCM_OP_DELETE, MCM_OP_DROP,
					  MCM_OP_NONE,    MCM_OP_FLUSH, MCM_OP_ENCRYPTED};
	enum mcm_op o = ops[rand_r(seed) % (sizeof ops / sizeof ops[0])];
	const struct mcm_pool *p = &pools[rand_r(seed) % 2];
	struct mcm_mutation m;

	if (o == MCM_OP_ENCRYPTED && rand_r(seed) % 8 != 0)
		o = MCM_OP_PUT; /* (rarely: it marks its pool for good) */
	m = unit_mut(o, p, keys[rand_r(seed) % NKEYS]);
	m.wtime_us = US(T0 + at);
	switch (o) {
	case MCM_OP_PUT:
		snprintf(text, 32, rand_r(seed) % 2 ? "%u" : "v%u", rand_r(seed) % 1000);
		m.value = text;
		m.value_len = strlen(text);
		m.flags = rand_r(seed) % 3;
		m.exptime = rand_r(seed) % 3 ? 0 : T0 + at + 1 + rand_r(seed) % 20;
		break;
	case MCM_OP_APPEND:
	case MCM_OP_PREPEND:
		m.value = "+x";
		m.value_len = 2;
		break;
	case MCM_OP_DELTA:
		m.incr = 1;
		m.delta = 1;
		m.result = rand_r(seed) % 1000; /* (right or not: a wrong result drops the key) */
		break;
	case MCM_OP_TOUCH:
		m.exptime = T0 + at + 1 + rand_r(seed) % 20;
		break;
	case MCM_OP_FLUSH:
		m.key = NULL;
		m.key_len = 0;
		m.exptime = 0;
		break;
	default:
		break;
	}
	return m;
}

/* Both stores hold the same thing for every key of every pool, as of time at. */
static void assert_same(struct mcm_store *a, struct mcm_store *b, int64_t at)
{
	struct mcm_store_info ia, ib;
	uint64_t sa[2 * NKEYS], sb[2 * NKEYS]; /* each record's number in a and in b, 0: none */

	for (int p = 0; p < 2; p++) {
		struct mcm_pool pa, pb;

		assert_int_equal(mcm_store_pool(a, pools[p].id, &pa), mcm_store_pool(b, pools[p].id, &pb));
		for (int k = 0; k < NKEYS; k++) {
			struct mcm_item x, y;
			char *xv;
			int rx = unit_get(a, &pools[p], keys[k], &x), ry;

			sa[p * NKEYS + k] = sb[p * NKEYS + k] = 0;
			if (rx != 0) {
				assert_int_equal(unit_get(b, &pools[p], keys[k], &y), rx);
				continue;
			}
			sa[p * NKEYS + k] = x.seq;
			xv = malloc(x.value_len + 1); /* (the next get replaces the first one's copy) */
			memcpy(xv, x.value, x.value_len);
			ry = unit_get(b, &pools[p], keys[k], &y);
			assert_int_equal(ry, 0);
			sb[p * NKEYS + k] = y.seq;
			assert_int_equal(x.kind, y.kind);
			assert_int_equal(x.value_len, y.value_len);
			assert_memory_equal(xv, y.value, x.value_len);
			assert_int_equal(x.flags, y.flags);
			assert_int_equal(x.exptime, y.exptime);
			assert_int_equal(x.wtime_us, y.wtime_us);
			assert_int_equal(mcm_item_is_live(&x, &pa, T0 + at), mcm_item_is_live(&y, &pb, T0 + at));
			free(xv);
		}
		if (mcm_store_pool(a, pools[p].id, &pa) == 0) {
			assert_int_equal(pa.encrypted, pb.encrypted);
			assert_int_equal(pa.flush_time, pb.flush_time);
		}
	}
	assert_int_equal(mcm_store_info(a, &ia), 0);
	assert_int_equal(mcm_store_info(b, &ib), 0);
	assert_int_equal(ia.entries, ib.entries);
	assert_int_equal(ia.seq_entries, ia.entries); /* no superseded entry left behind */
	assert_int_equal(ib.seq_entries, ib.entries);
	/* numbers follow the order of the writes, however the batch was applied
	 * (order.c applies a batch in key order) */
	for (int i = 0; i < 2 * NKEYS; i++)
		for (int j = 0; j < 2 * NKEYS; j++)
			if (sa[i] && sa[j])
				assert_int_equal(sa[i] < sa[j], sb[i] < sb[j]);
}

/* Random batches of 1 to 40 mutations over five keys of two pools. */
static void test_same_as_one_by_one(void **state)
{
	struct unit_two *t = *state;
	unsigned seed = 20261205;
	int64_t at = 0;
	struct mcm_store_info ia, ib;

	for (int round = 0; round < 400; round++) {
		struct mcm_mutation m[40];
		char text[40][32];
		size_t n = 1 + (size_t)(rand_r(&seed) % 40);

		for (size_t i = 0; i < n; i++)
			m[i] = random_mut(&seed, at++, text[i]);
		assert_int_equal(mcm_store_apply(t->a->st, m, n), 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(mcm_store_apply(t->b->st, &m[i], 1), 0);
		assert_same(t->a->st, t->b->st, at);
	}
	assert_int_equal(mcm_store_info(t->a->st, &ia), 0);
	assert_int_equal(mcm_store_info(t->b->st, &ib), 0);
	assert_true(ia.last_seq < ib.last_seq); /* some were moot */
}

/* Two sets of a key in one batch: one record, under the later number; one entry in the index. */
static void test_set_twice(void **state)
{
	struct unit_two *t = *state;
	struct mcm_store *st = t->a->st;
	struct mcm_mutation m[3] = {unit_mut(MCM_OP_PUT, &pools[0], "twice"), unit_mut(MCM_OP_PUT, &pools[0], "other"),
				    unit_mut(MCM_OP_PUT, &pools[0], "twice")};
	struct mcm_store_info before, after;
	struct mcm_item it;

	m[0].value = "first";
	m[0].value_len = 5;
	m[1].value = "o";
	m[1].value_len = 1;
	m[2].value = "second";
	m[2].value_len = 6;
	assert_int_equal(mcm_store_info(st, &before), 0);
	assert_int_equal(mcm_store_apply(st, m, 3), 0);
	assert_int_equal(mcm_store_info(st, &after), 0);
	assert_int_equal(after.last_seq, before.last_seq + 2);
	assert_int_equal(after.entries, before.entries + 2);
	assert_int_equal(after.seq_entries, after.entries);
	assert_int_equal(unit_get(st, &pools[0], "twice", &it), 0);
	assert_int_equal(it.value_len, 6);
	assert_memory_equal(it.value, "second", 6);
	assert_int_equal(it.seq, after.last_seq);
}

/* A restore between two sets keeps the first one's effect on it (a barrier). */
static void test_restore_barrier(void **state)
{
	struct unit_two *t = *state;
	struct mcm_store *st = t->a->st;
	struct mcm_mutation m[3] = {unit_mut(MCM_OP_PUT, &pools[1], "r"), unit_mut(MCM_OP_RESTORE, &pools[1], "r"),
				    unit_mut(MCM_OP_PUT, &pools[1], "r")};
	struct mcm_item it;

	m[0].value = "a";
	m[0].value_len = 1;
	m[1].kind = MCM_KIND_VALUE;
	m[1].value = "b";
	m[1].value_len = 1;
	m[2].value = "c";
	m[2].value_len = 1;
	assert_int_equal(mcm_store_apply(st, m, 3), 0);
	assert_int_equal(unit_get(st, &pools[1], "r", &it), 0);
	assert_memory_equal(it.value, "c", 1);
}

/* An encrypted write made moot by a set still marks its pool encrypted (replay needs to know). */
static void test_encrypted_moot(void **state)
{
	struct unit_two *t = *state;
	struct mcm_store *st = t->a->st;
	struct mcm_pool p3, got;
	struct mcm_mutation m[2];

	unit_pool(&p3, "127.0.0.1:11213");
	m[0] = unit_mut(MCM_OP_ENCRYPTED, &p3, "e");
	m[1] = unit_mut(MCM_OP_PUT, &p3, "e");
	m[1].value = "plain";
	m[1].value_len = 5;
	assert_int_equal(mcm_store_apply(st, m, 2), 0);
	assert_int_equal(mcm_store_pool(st, p3.id, &got), 0);
	assert_int_equal(got.encrypted, 1);
}

/* Keys chosen to fall in one slot of the table (CRC-32C is not keyed: an application's keys can
 * be): the pass gives up and the batch is applied whole, right, and in bounded time. */
static void test_colliding_keys(void **state)
{
	struct unit_two *t = *state;
	struct mcm_store *st = t->a->st;
	enum { N = 40 };
	static char keys_c[N][16];
	struct mcm_mutation m[N + 1];
	struct mcm_store_info before, after;
	struct mcm_item it;
	uint32_t seed = (uint32_t)pools[0].id ^ (uint32_t)(pools[0].id >> 32), want = 0;
	size_t found = 0;

	/* a batch of N + 1 has a table of 128 slots: keys whose hash agrees in 7 bits */
	for (unsigned i = 0; found < N && i < 1000000; i++) {
		char k[16];
		int len = snprintf(k, sizeof k, "c%u", i);
		uint32_t h = mcm_crc32c(seed, k, (size_t)len) & 127;

		if (found == 0)
			want = h;
		if (h == want)
			memcpy(keys_c[found++], k, (size_t)len + 1);
	}
	assert_int_equal(found, N);
	for (size_t i = 0; i < N; i++) {
		m[i] = unit_mut(MCM_OP_PUT, &pools[0], keys_c[i]);
		m[i].value = "first";
		m[i].value_len = 5;
	}
	m[N] = unit_mut(MCM_OP_PUT, &pools[0], keys_c[0]);
	m[N].value = "again";
	m[N].value_len = 5;
	assert_int_equal(mcm_store_info(st, &before), 0);
	assert_int_equal(mcm_store_apply(st, m, N + 1), 0);
	assert_int_equal(mcm_store_info(st, &after), 0);
	assert_int_equal(after.last_seq, before.last_seq + N + 1); /* nothing made moot: given up */
	assert_int_equal(after.entries, before.entries + N);
	assert_int_equal(after.seq_entries, after.entries);
	assert_int_equal(unit_get(st, &pools[0], keys_c[0], &it), 0);
	assert_memory_equal(it.value, "again", 5);
	assert_int_equal(unit_get(st, &pools[0], keys_c[N - 1], &it), 0);
	assert_memory_equal(it.value, "first", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_as_one_by_one, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_set_twice, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_restore_barrier, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_moot, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_colliding_keys, setup, unit_two_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
