/* test_stream_resume.c - a follower that saved its position and opens the stream again must still be
 * given a flush recorded after it, even when the flush covers exactly the saved position (a flush marks
 * the largest number in use; no number of its own). */
#include <string.h>

#include "mcm_stream.h"
#include "unit.h"

static struct mcm_pool pool;

static void put(struct mcm_store *st, const char *key, const char *value)
{
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, &pool, key);

	m.value = value;
	m.value_len = strlen(value);
	unit_apply(st, &m);
}

static void flush(struct mcm_store *st)
{
	struct mcm_mutation m = unit_mut(MCM_OP_FLUSH, &pool, NULL);

	m.key = m.group = m.value = "";
	unit_apply(st, &m);
}

/* Every change until the end: how many FLUSHes and SETs. */
static void drain(struct mcm_stream *s, int *flushes, int *sets)
{
	struct mcm_change c;

	*flushes = *sets = 0;
	while (mcm_stream_next(s, &c) == 0) {
		*flushes += c.kind == MCM_CHANGE_FLUSH;
		*sets += c.kind == MCM_CHANGE_SET;
	}
}

/* The copy applied "a" (position 1) and stopped; then the pool was flushed: reopened at 1, the stream
 * gives the flush (the copy still holds "a"). */
static void test_flush_at_saved_position(void **state)
{
	struct unit_env *e = *state;
	struct mcm_stream *s;
	uint64_t saved;
	int flushes, sets;

	unit_pool(&pool, "127.0.0.1:11211");
	put(e->st, "a", "1");
	assert_int_equal(mcm_stream_open(e->st, pool.id, 0, 0, 0, &s), 0);
	drain(s, &flushes, &sets);
	assert_int_equal(sets, 1);
	saved = mcm_stream_position(s);
	mcm_stream_close(s);
	flush(e->st);
	assert_int_equal(mcm_stream_open(e->st, pool.id, saved, 0, 0, &s), 0);
	drain(s, &flushes, &sets);
	assert_int_equal(flushes, 1);
	/* a copy that saved the position after that flush is not flushed again once newer writes passed it */
	put(e->st, "b", "2");
	drain(s, &flushes, &sets);
	saved = mcm_stream_position(s);
	mcm_stream_close(s);
	assert_int_equal(mcm_stream_open(e->st, pool.id, saved, 0, 0, &s), 0);
	drain(s, &flushes, &sets);
	assert_int_equal(flushes, 0);
	assert_int_equal(sets, 0);
	mcm_stream_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flush_at_saved_position, unit_env_setup, unit_env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
