/* test_growth.c - the map grows by itself: a tiny initial map written with
 * megabytes, growth while an iterator is open, and two processes (parent
 * and forked child, each with its own store) writing the same mirror. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define TINY_MAP (64 * 1024)
#define VALUE_SIZE 1000

static struct mcm_pool pool_a;

/* Value of record i with prefix c: VALUE_SIZE bytes derived from both. */
static void value_of(char c, unsigned i, char *buf)
{
	for (size_t j = 0; j < VALUE_SIZE; j++)
		buf[j] = (char)(c + (i * 31 + j) % 64);
}

/* Write keys "<c>%05u" for i in [from, to), batch records per transaction.
 * @return 0 or the first store error (no cmocka: also runs in a child). */
static int write_range(struct mcm_store *st, char c, unsigned from, unsigned to, unsigned batch)
{
	static __thread char keys[100][16], values[100][VALUE_SIZE];
	struct mcm_mutation m[100];
	int rc;

	for (unsigned i = from; i < to;) {
		size_t n = 0;

		for (; n < batch && i < to; n++, i++) {
			snprintf(keys[n], sizeof keys[n], "%c%05u", c, i);
			value_of(c, i, values[n]);
			m[n] = unit_mut(MCM_OP_PUT, &pool_a, keys[n]);
			m[n].value = values[n];
			m[n].value_len = VALUE_SIZE;
		}
		if ((rc = mcm_store_apply(st, m, n)) != 0)
			return rc;
	}
	return 0;
}

static void check_range(struct mcm_store *st, char c, unsigned from, unsigned to)
{
	char key[16], value[VALUE_SIZE];
	struct mcm_item it;

	for (unsigned i = from; i < to; i++) {
		snprintf(key, sizeof key, "%c%05u", c, i);
		value_of(c, i, value);
		assert_int_equal(unit_get(st, &pool_a, key, &it), 0);
		assert_int_equal(it.value_len, VALUE_SIZE);
		assert_memory_equal(it.value, value, VALUE_SIZE);
	}
}

static int setup(void **state)
{
	struct unit_env *e = calloc(1, sizeof *e);

	assert_non_null(e);
	unit_pool(&pool_a, "127.0.0.1:11211");
	unit_tmpdir(e->dir);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, TINY_MAP), 0);
	*state = e;
	return 0;
}

static void test_many_small_batches(void **state)
{
	struct unit_env *e = *state;
	struct mcm_store_info info;

	assert_int_equal(mcm_store_info(e->st, &info), 0);
	assert_int_equal(info.map_size, TINY_MAP);
	assert_int_equal(write_range(e->st, 'a', 0, 5000, 50), 0);
	assert_int_equal(mcm_store_info(e->st, &info), 0);
	assert_true(info.map_size >= 5000u * VALUE_SIZE);
	assert_true(info.used_bytes >= 5000u * VALUE_SIZE);
	assert_true(info.used_bytes <= info.map_size);
	assert_int_equal(info.entries, 5000);
	assert_int_equal(info.last_seq, 5000);
	check_range(e->st, 'a', 0, 5000);
}

/* One transaction larger than the map several times over. */
static void test_one_big_batch(void **state)
{
	struct unit_env *e = *state;
	struct mcm_store_info info;

	assert_int_equal(write_range(e->st, 'b', 0, 100, 100), 0);
	assert_int_equal(write_range(e->st, 'c', 0, 3000, 100), 0);
	assert_int_equal(mcm_store_info(e->st, &info), 0);
	assert_true(info.map_size >= 3100u * VALUE_SIZE);
	check_range(e->st, 'b', 0, 100);
	check_range(e->st, 'c', 0, 3000);

	/* the grown map is kept by the next open */
	mcm_store_close(e->st);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_RDONLY, TINY_MAP), 0);
	check_range(e->st, 'c', 0, 3000);
}

/* The map grows (and may move) while an iterator from the same thread is
 * between calls: the walk goes on and sees every record. */
static void test_grow_under_iterator(void **state)
{
	struct unit_env *e = *state;
	struct mcm_iter *it;
	struct mcm_item item;
	char key[16], value[VALUE_SIZE];
	unsigned count = 0;
	int rc;

	assert_int_equal(write_range(e->st, 'a', 0, 40, 40), 0);
	assert_int_equal(mcm_iter_open(e->st, MCM_ORDER_SEQ, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		if (count < 40) {
			snprintf(key, sizeof key, "a%05u", count);
			value_of('a', count, value);
		} else {
			snprintf(key, sizeof key, "z%05u", count - 40);
			value_of('z', count - 40, value);
		}
		assert_int_equal(item.key_len, 6);
		assert_memory_equal(item.key, key, 6);
		assert_int_equal(item.value_len, VALUE_SIZE);
		assert_memory_equal(item.value, value, VALUE_SIZE);
		/* after this write, item may point into the old map: not used again */
		if (count == 1)
			assert_int_equal(write_range(e->st, 'z', 0, 4000, 100), 0);
		count++;
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	/* the 4000 new ones come after the renewal that follows the first batch;
	 * with fewer than 4096 records read by then they may be seen or not */
	assert_true(count == 40 || count == 4040);
}

/* A child with its own store and the parent write at the same time. */
static void test_fork_writers(void **state)
{
	struct unit_env *e = *state;
	struct mcm_store_info info;
	pid_t pid;
	int status;

	assert_int_equal(write_range(e->st, 'p', 0, 10, 10), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mcm_store *child;
		int rc = mcm_store_open(&child, e->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, TINY_MAP);

		if (rc == 0)
			rc = write_range(child, 'c', 0, 3000, 20);
		if (rc != 0)
			fprintf(stderr, "child: %s\n", mcm_strerror(rc));
		mcm_store_close(child);
		_exit(rc == 0 ? 0 : 1);
	}
	assert_int_equal(write_range(e->st, 'p', 10, 3000, 20), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	check_range(e->st, 'p', 0, 3000);
	check_range(e->st, 'c', 0, 3000);
	assert_int_equal(mcm_store_info(e->st, &info), 0);
	assert_int_equal(info.entries, 6000);
	assert_int_equal(info.last_seq, 6000);
	assert_true(info.map_size >= 6000u * VALUE_SIZE);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, unit_env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_many_small_batches),
		T(test_one_big_batch),
		T(test_grow_under_iterator),
		T(test_fork_writers),
	};
#undef T

	return cmocka_run_group_tests_name("growth", tests, NULL, NULL);
}
