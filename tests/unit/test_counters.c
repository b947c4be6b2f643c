/* test_counters.c - the shared counters file (store/counters.c): created,
 * added to by two processes at once, read back; refusals. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcm_counters.h"
#include "unit.h"

#define ADDS 100000

static void test_create_add_get(void **state)
{
	struct mcm_counters *c, *r;
	char path[PATH_MAX + 16];
	struct stat sb;

	assert_int_equal(mcm_counters_open(&c, *state, 1), 0);
	for (int i = 0; i < MCM_CTR_COUNT; i++)
		assert_int_equal(mcm_counters_get(c, (enum mcm_counter)i), 0);
	mcm_counters_add(c, MCM_CTR_RECORDED, 5);
	mcm_counters_add(c, MCM_CTR_RECORDED, 2);
	mcm_counters_add(c, MCM_CTR_LOST_DROPS, 1);
	mcm_counters_add(c, MCM_CTR_COUNT, 9); /* out of range: ignored */
	assert_int_equal(mcm_counters_get(c, MCM_CTR_RECORDED), 7);
	assert_int_equal(mcm_counters_get(c, MCM_CTR_LOST_DROPS), 1);
	assert_int_equal(mcm_counters_get(c, MCM_CTR_FAILED), 0);
	assert_int_equal(mcm_counters_get(c, MCM_CTR_COUNT), 0);
	/* NULL: nothing happens */
	mcm_counters_add(NULL, MCM_CTR_RECORDED, 1);
	assert_int_equal(mcm_counters_get(NULL, MCM_CTR_RECORDED), 0);

	/* a reader (no create) sees the same numbers, live */
	assert_int_equal(mcm_counters_open(&r, *state, 0), 0);
	assert_int_equal(mcm_counters_get(r, MCM_CTR_RECORDED), 7);
	mcm_counters_add(c, MCM_CTR_RECORDED, 1);
	assert_int_equal(mcm_counters_get(r, MCM_CTR_RECORDED), 8);
	mcm_counters_close(r);
	mcm_counters_close(c);

	/* reopening with create keeps the counts */
	assert_int_equal(mcm_counters_open(&c, *state, 1), 0);
	assert_int_equal(mcm_counters_get(c, MCM_CTR_RECORDED), 8);
	mcm_counters_close(c);
	mcm_counters_close(NULL);

	snprintf(path, sizeof path, "%s/counters", (char *)*state);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mcm_counter_names[MCM_CTR_RECORDED], "recorded");
	assert_string_equal(mcm_counter_names[MCM_CTR_UNCERTAIN], "dropped_uncertain");
	assert_string_equal(mcm_counter_names[MCM_CTR_MAP_GROWN], "map_grown");
	for (int i = 0; i < MCM_CTR_COUNT; i++) {
		assert_non_null(mcm_counter_names[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(mcm_counter_names[i], mcm_counter_names[j]);
	}
}

/* Parent and child add at the same time, each through its own mapping. */
static void test_two_processes(void **state)
{
	struct mcm_counters *c;
	pid_t pid;
	int status;

	assert_int_equal(mcm_counters_open(&c, *state, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mcm_counters *mine;

		if (mcm_counters_open(&mine, *state, 1) != 0)
			_exit(1);
		for (int i = 0; i < ADDS; i++)
			mcm_counters_add(mine, MCM_CTR_RECORDED, 1);
		mcm_counters_add(mine, MCM_CTR_FAILED, 3);
		mcm_counters_close(mine);
		_exit(0);
	}
	for (int i = 0; i < ADDS; i++)
		mcm_counters_add(c, MCM_CTR_RECORDED, 1);
	mcm_counters_add(c, MCM_CTR_FAILED, 4);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(mcm_counters_get(c, MCM_CTR_RECORDED), 2 * ADDS);
	assert_int_equal(mcm_counters_get(c, MCM_CTR_FAILED), 7);
	assert_int_equal(mcm_counters_get(c, MCM_CTR_UNCERTAIN), 0);
	mcm_counters_close(c);
}

static void write_file(const char *dir, const char *content, size_t len)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof path, "%s/counters", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
}

static void test_refusals(void **state)
{
	struct mcm_counters *c = (struct mcm_counters *)&c;
	char garbage[256], path[PATH_MAX + 16];
	FILE *f;

	assert_int_equal(mcm_counters_open(&c, *state, 0), ENOENT);
	assert_null(c);
	assert_int_equal(mcm_counters_open(&c, "/nonexistent/dir", 1), ENOENT);

	/* a full-size file of something else */
	memset(garbage, 'x', sizeof garbage);
	write_file(*state, garbage, sizeof garbage);
	assert_int_equal(mcm_counters_open(&c, *state, 0), MCM_EFORMAT);
	assert_null(c);
	assert_int_equal(mcm_counters_open(&c, *state, 1), MCM_EFORMAT);
	/* ... left as it was */
	snprintf(path, sizeof path, "%s/counters", (char *)*state);
	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(fgetc(f), 'x');
	fclose(f);

	/* a short file */
	write_file(*state, "short", 5);
	assert_int_equal(mcm_counters_open(&c, *state, 0), MCM_EFORMAT);
	/* an empty file: for a reader not (yet) counters */
	write_file(*state, "", 0);
	assert_int_equal(mcm_counters_open(&c, *state, 0), MCM_EFORMAT);
	/* a writer makes it counters */
	assert_int_equal(mcm_counters_open(&c, *state, 1), 0);
	mcm_counters_close(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_dir_setup, unit_dir_teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_add_get),
		cmocka_unit_test(test_names),
		T(test_two_processes),
		T(test_refusals),
	};
#undef T

	return cmocka_run_group_tests_name("counters", tests, NULL, NULL);
}
