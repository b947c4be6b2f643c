/* test_reindex.c - store/reindex.c: with MCM_STORE_BULKSEQ superseded seq entries stay until the
 * index is rebuilt in bulk. The mirror reads the same as one that removes them one by one: the
 * same records under the same numbers, in the same order by number; the index stays bounded;
 * right after a rebuild it holds exactly one entry per record. A damaged record whose number is out
 * of range or another's gets no entry, the good one keeps its number; a record that checks out with
 * such a number stops the rebuild (nothing guessed: the stale entries are removed once, then one by
 * one), and so does a mirror too large to rebuild, after one last rebuild. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "unit.h"

#define NKEYS 300
#define SLACK 4096 /* store/reindex.c REINDEX_SLACK */
#define RATIO 2    /* store/store_internal.h MCM_REINDEX_RATIO */

static char keys[NKEYS][16];
static struct mcm_pool pool;

/* a: a mirror opened as the drainer opens it (MCM_STORE_BULKSEQ); b: removes entries one by one. */
static int setup(void **state)
{
	struct unit_two *t;

	unit_pool(&pool, "127.0.0.1:11211");
	for (int k = 0; k < NKEYS; k++)
		snprintf(keys[k], sizeof keys[k], "k%05d", k * 7919 % 100000);
	unit_two_setup(state);
	t = *state;
	mcm_store_close(t->a->st);
	assert_int_equal(mcm_store_open(&t->a->st, t->a->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC | MCM_STORE_BULKSEQ, 0),
			 0);
	return 0;
}

/* A random batch of n writes (mostly sets; deletes, appends, drops; a flush now and then). */
static void batch(unsigned *seed, struct mcm_mutation *m, char (*text)[16], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned r = (unsigned)rand_r(seed) % 100;
		enum mcm_op op = r < 75 ? MCM_OP_PUT : r < 85 ? MCM_OP_DELETE : r < 93 ? MCM_OP_APPEND : MCM_OP_DROP;

		if (rand_r(seed) % 2000 == 0)
			op = MCM_OP_FLUSH;
		m[i] = unit_mut(op, &pool, keys[(size_t)rand_r(seed) % NKEYS]);
		if (op == MCM_OP_FLUSH) {
			m[i].key = NULL;
			m[i].key_len = 0;
		}
		snprintf(text[i], sizeof text[i], "v%u", (unsigned)rand_r(seed) % 100000);
		m[i].value = op == MCM_OP_APPEND ? "+" : text[i];
		m[i].value_len = strlen(m[i].value);
	}
}

/* The two mirrors hold the same records under the same numbers, and walk in the same order. */
static void same(struct mcm_store *a, struct mcm_store *b)
{
	struct mcm_iter *ia, *ib;
	struct mcm_item x, y;
	int ra, rb;
	size_t n = 0;

	assert_int_equal(mcm_iter_open(a, MCM_ORDER_SEQ, 0, &ia), 0);
	assert_int_equal(mcm_iter_open(b, MCM_ORDER_SEQ, 0, &ib), 0);
	for (;;) {
		ra = mcm_iter_next(ia, &x);
		rb = mcm_iter_next(ib, &y);
		assert_int_equal(ra, rb);
		if (ra != 0)
			break;
		n++;
		assert_int_equal(x.seq, y.seq);
		assert_int_equal(x.kind, y.kind);
		assert_int_equal(x.key_len, y.key_len);
		assert_memory_equal(x.key, y.key, x.key_len);
		assert_int_equal(x.value_len, y.value_len);
		assert_memory_equal(x.value, y.value, x.value_len);
	}
	assert_int_equal(ra, MCM_END);
	mcm_iter_close(ia);
	mcm_iter_close(ib);
}

/* 120 random batches over 300 keys: after each, the same records in the same order as the
 * mirror that removes superseded entries one by one; the index never holds more than three
 * times the records and the slack; it was rebuilt several times, and right after a rebuild it held
 * one entry per record. */
static void test_same_as_one_by_one(void **state)
{
	static struct mcm_mutation m[400];
	static char text[400][16];
	struct unit_two *t = *state;
	struct mcm_store_info ia, ib;
	unsigned seed = 11;
	uint64_t rebuilt = 0, exact = 0;

	for (int round = 0; round < 120; round++) {
		size_t n = 1 + (size_t)rand_r(&seed) % 400;

		batch(&seed, m, text, n);
		assert_int_equal(mcm_store_apply(t->a->st, m, n), 0);
		assert_int_equal(mcm_store_tidy(t->a->st), 0);
		assert_int_equal(mcm_store_apply(t->b->st, m, n), 0);
		same(t->a->st, t->b->st);
		assert_int_equal(mcm_store_info(t->a->st, &ia), 0);
		assert_int_equal(mcm_store_info(t->b->st, &ib), 0);
		assert_int_equal(ia.reindex_off, 0);
		assert_int_equal(ia.entries, ib.entries);
		assert_int_equal(ib.seq_entries, ib.entries); /* b removes them one by one */
		assert_true(ia.seq_entries <= (RATIO + 1) * ia.entries + SLACK);
		if (ia.reindexes != rebuilt) {
			exact += ia.seq_entries == ia.entries;
			rebuilt = ia.reindexes;
		}
	}
	assert_true(rebuilt >= 3);
	assert_int_equal(exact, rebuilt);
}

/* Give key k's record number seq, behind the store's back: its CRC then no
 * longer matches, unless valid (then it is encoded again, checking out). */
static void renumber(struct unit_env *e, const char *k, uint64_t seq, int valid)
{
	mcm_store_close(e->st);
	unit_renumber(e->dir, &pool, k, seq, valid);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC | MCM_STORE_BULKSEQ, 0), 0);
}

/* Overwrite every key but the first two until the index is due for a rebuild. */
static void until_due(struct unit_env *e)
{
	static struct mcm_mutation m[NKEYS];
	struct mcm_store_info info;

	for (int round = 0; round < 100; round++) {
		for (int k = 2; k < NKEYS; k++) {
			m[k - 2] = unit_mut(MCM_OP_PUT, &pool, keys[k]);
			m[k - 2].value = "again";
			m[k - 2].value_len = 5;
		}
		assert_int_equal(mcm_store_apply(e->st, m, NKEYS - 2), 0);
		mcm_store_tidy(e->st);
		assert_int_equal(mcm_store_info(e->st, &info), 0);
		if (info.reindexes > 0 || info.reindex_off != 0)
			return;
	}
	fail_msg("never due");
}

/* After a damaged record got a number it cannot have: the rebuild goes
 * through, the damaged record gets no entry (walks by number skipped it
 * already), the good ones keep theirs. */
static void check_settled(struct unit_env *e)
{
	struct mcm_store_info info;
	struct mcm_item it;
	size_t n = 0;
	struct mcm_iter *iter;

	until_due(e);
	assert_int_equal(mcm_store_info(e->st, &info), 0);
	assert_int_equal(info.reindexes, 1);
	assert_int_equal(info.reindex_off, 0);
	assert_int_equal(info.seq_entries, info.entries - 1); /* all but the damaged one */
	assert_int_equal(unit_get(e->st, &pool, keys[0], &it), 0);
	assert_memory_equal(it.value, "first", 5);
	assert_int_equal(unit_get(e->st, &pool, keys[1], &it), MCM_EDAMAGED);
	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, 0, &iter), 0);
	while (mcm_iter_next(iter, &it) == 0)
		n++;
	mcm_iter_close(iter);
	assert_int_equal(n, NKEYS - 1);
}

static void put_first_two(struct unit_env *e)
{
	struct mcm_mutation m[NKEYS];

	for (int k = 0; k < NKEYS; k++) {
		m[k] = unit_mut(MCM_OP_PUT, &pool, keys[k]);
		m[k].value = k == 0 ? "first" : "other";
		m[k].value_len = 5;
	}
	assert_int_equal(mcm_store_apply(e->st, m, NKEYS), 0);
}

/* A damaged record claims the number of a good one: the good one keeps it. */
static void test_number_taken_twice(void **state)
{
	struct unit_two *t = *state;
	struct mcm_item it;

	put_first_two(t->a);
	assert_int_equal(unit_get(t->a->st, &pool, keys[0], &it), 0);
	renumber(t->a, keys[1], it.seq, 0);
	check_settled(t->a);
}

/* A damaged record has a number above any handed out. */
static void test_number_out_of_range(void **state)
{
	struct unit_two *t = *state;
	struct mcm_store_info info;

	put_first_two(t->a);
	assert_int_equal(mcm_store_info(t->a->st, &info), 0);
	renumber(t->a, keys[1], info.last_seq + 1000000, 0);
	check_settled(t->a);
}

/* A record that checks out with a number above any handed out: nothing is
 * guessed. The rebuild is refused, the index keeps every record's entry, its
 * stale entries are removed once, and from then on one by one. */
static void test_refused(void **state)
{
	struct unit_two *t = *state;
	struct mcm_store_info info;
	struct mcm_item it;

	put_first_two(t->a);
	assert_int_equal(mcm_store_info(t->a->st, &info), 0);
	renumber(t->a, keys[1], info.last_seq + 1000000, 1);
	assert_int_equal(unit_get(t->a->st, &pool, keys[1], &it), 0); /* it checks out */
	until_due(t->a);
	assert_int_equal(mcm_store_info(t->a->st, &info), 0);
	assert_int_equal(info.reindexes, 0);
	assert_int_equal(info.reindex_off, MCM_EDAMAGED);
	/* the stale entries are gone; keys[1]'s entry (under its old number) is stale now too */
	assert_int_equal(info.seq_entries, info.entries - 1);
	assert_int_equal(unit_get(t->a->st, &pool, keys[0], &it), 0);
	assert_memory_equal(it.value, "first", 5);
	until_due(t->a); /* returns at once: turned off */
	assert_int_equal(mcm_store_info(t->a->st, &info), 0);
	assert_int_equal(info.seq_entries, info.entries - 1); /* superseded ones removed one by one */
}

/* A mirror of more than 2^16 records (store/reindex.c REINDEX_MAX) is rebuilt once more, then
 * its superseded entries are removed one by one. */
static void test_large_mirror(void **state)
{
	enum { MAX = 1 << 16, BATCH = 8192 };
	static struct mcm_mutation m[BATCH];
	static char k[BATCH][16];
	struct unit_two *t = *state;
	struct mcm_store_info info;
	size_t done = 0;

	while (done < MAX + 1) {
		size_t n = MAX + 1 - done < BATCH ? MAX + 1 - done : BATCH;

		for (size_t i = 0; i < n; i++) {
			snprintf(k[i], sizeof k[i], "L%07zu", done + i);
			m[i] = unit_mut(MCM_OP_PUT, &pool, k[i]);
			m[i].value = "1";
			m[i].value_len = 1;
		}
		assert_int_equal(mcm_store_apply(t->a->st, m, n), 0);
		assert_int_equal(mcm_store_tidy(t->a->st), 0);
		done += n;
	}
	assert_int_equal(mcm_store_info(t->a->st, &info), 0);
	assert_int_equal(info.reindexes, 0);
	assert_int_equal(info.reindex_off, 0);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < 100; i++) { /* keys 0, 7, 14...: superseded */
			snprintf(k[i], sizeof k[i], "L%07zu", i * 7 + (size_t)round);
			m[i] = unit_mut(MCM_OP_PUT, &pool, k[i]);
			m[i].value = "2";
			m[i].value_len = 1;
		}
		assert_int_equal(mcm_store_apply(t->a->st, m, 100), 0);
		assert_int_equal(mcm_store_tidy(t->a->st), 0);
		assert_int_equal(mcm_store_info(t->a->st, &info), 0);
		assert_int_equal(info.reindexes, 1); /* the last one, after the first round */
		assert_int_equal(info.reindex_off, E2BIG);
		assert_int_equal(info.entries, MAX + 1);
		assert_int_equal(info.seq_entries, MAX + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_as_one_by_one, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_number_taken_twice, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_number_out_of_range, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, unit_two_teardown),
		cmocka_unit_test_setup_teardown(test_large_mirror, setup, unit_two_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
