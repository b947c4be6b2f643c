/* test_open.c - mcm_store_open: what it refuses (not a directory, missing,
 * empty, a foreign LMDB environment, another format version) and the modes
 * of what it creates. */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static void sub(char *buf, const char *dir, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", dir, name);
}

static void test_not_a_directory(void **state)
{
	struct mcm_store *st = (struct mcm_store *)&st;
	char path[PATH_MAX];
	FILE *f;

	sub(path, *state, "file");
	assert_non_null(f = fopen(path, "w"));
	fputs("not a mirror\n", f);
	fclose(f);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_CREATE, 0), ENOTDIR);
	assert_null(st);
	assert_int_equal(mcm_store_open(&st, path, 0, 0), ENOTDIR);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY, 0), ENOTDIR);
}

static void test_missing(void **state)
{
	struct mcm_store *st = (struct mcm_store *)&st;
	char path[PATH_MAX];
	struct stat sb;

	sub(path, *state, "missing");
	assert_int_equal(mcm_store_open(&st, path, 0, 0), ENOENT);
	assert_null(st);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY, 0), ENOENT);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY | MCM_STORE_CREATE, 0), ENOENT);
	assert_int_equal(stat(path, &sb), -1); /* none of these created it */
	/* CREATE makes one level only */
	sub(path, *state, "a/b");
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_CREATE, 0), ENOENT);
}

static void test_rdonly_empty_dir(void **state)
{
	struct mcm_store *st = (struct mcm_store *)&st;

	assert_int_not_equal(mcm_store_open(&st, *state, MCM_STORE_RDONLY, 0), 0);
	assert_null(st);
}

static void test_modes(void **state)
{
	struct mcm_store *st, *ro;
	char path[PATH_MAX], file[PATH_MAX + 16];
	struct stat sb;
	mode_t old = umask(0);
	struct mcm_pool p;
	struct mcm_mutation m;
	struct mcm_item it;

	sub(path, *state, "mirror");
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_CREATE, 0), 0);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(file, sizeof file, "%s/data.mdb", path);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(file, sizeof file, "%s/lock.mdb", path);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* written, then opened read-only (open twice in one process is not
	 * allowed by LMDB: close first) */
	unit_pool(&p, "127.0.0.1:11211");
	m = unit_mut(MCM_OP_PUT, &p, "k");
	m.value = "v";
	m.value_len = 1;
	unit_apply(st, &m);
	mcm_store_close(st);
	assert_int_equal(mcm_store_open(&ro, path, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(unit_get(ro, &p, "k", &it), 0);
	assert_memory_equal(it.value, "v", 1);
	assert_int_equal(mcm_store_apply(ro, &m, 1), EROFS);
	mcm_store_close(ro);
	/* and opened again for writing without CREATE */
	assert_int_equal(mcm_store_open(&st, path, 0, 0), 0);
	mcm_store_close(st);
}

/* A plain LMDB environment, with one key in its main database when data. */
static void plain_env(const char *path, int data)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {3, (void *)"app"}, v = {5, (void *)"value"};

	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	if (data)
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Entries in the main database of a plain environment (named databases count). */
static size_t main_entries(const char *path)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat ms;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_stat(txn, dbi, &ms), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return ms.ms_entries;
}

static void test_foreign_env(void **state)
{
	struct mcm_store *st = (struct mcm_store *)&st;
	char path[PATH_MAX];

	sub(path, *state, "foreign");
	plain_env(path, 1);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY, 0), MCM_EFORMAT);
	assert_null(st);
	/* someone else's data: not turned into a mirror either */
	assert_int_equal(mcm_store_open(&st, path, 0, 0), MCM_EFORMAT);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_CREATE, 0), MCM_EFORMAT);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY, 0), MCM_EFORMAT);
	assert_int_equal(main_entries(path), 1); /* nothing added beside the app's key */

	/* an empty environment: not a mirror to read */
	sub(path, *state, "empty");
	plain_env(path, 0);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY, 0), MCM_EFORMAT);
}

/* A mirror whose "format" says a version this build does not know. */
static void test_other_version(void **state)
{
	struct mcm_store *st;
	char path[PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	uint32_t next = MCM_FORMAT_VERSION + 1;
	MDB_val k = {6, (void *)"format"}, v = {4, &next};

	sub(path, *state, "vnext");
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_CREATE, 0), 0);
	mcm_store_close(st);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(mcm_store_open(&st, path, 0, 0), MCM_EFORMAT);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY, 0), MCM_EFORMAT);
}

/* A data file cut short: refused with MCM_ETRUNCATED, not a SIGBUS from
 * reading mapped pages past the end of the file. */
static void test_truncated(void **state)
{
	struct mcm_store *st;
	char path[PATH_MAX], file[PATH_MAX + 16], key[32];
	struct mcm_pool p;
	struct mcm_mutation m;
	struct stat sb;

	sub(path, *state, "mirror");
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0), 0);
	unit_pool(&p, "127.0.0.1:11211");
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		m = unit_mut(MCM_OP_PUT, &p, key);
		m.value = "a value of some length";
		m.value_len = 22;
		unit_apply(st, &m);
	}
	mcm_store_close(st);
	snprintf(file, sizeof file, "%s/data.mdb", path);
	assert_int_equal(stat(file, &sb), 0);
	assert_true(sb.st_size > 3 * 4096);
	assert_int_equal(truncate(file, 3 * 4096), 0);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_RDONLY, 0), MCM_ETRUNCATED);
	assert_int_equal(mcm_store_open(&st, path, MCM_STORE_CREATE, 0), MCM_ETRUNCATED);
	assert_non_null(strstr(mcm_strerror(MCM_ETRUNCATED), "truncated"));
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_not_equal(mcm_strerror(MCM_EFORMAT), mcm_strerror(MCM_END));
	assert_string_not_equal(mcm_strerror(MCM_ENOTFOUND), mcm_strerror(MCM_END));
	assert_non_null(strstr(mcm_strerror(ENOTDIR), "directory"));
	assert_non_null(mcm_strerror(MDB_MAP_FULL));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_dir_setup, unit_dir_teardown)
	const struct CMUnitTest tests[] = {
		T(test_not_a_directory),
		T(test_missing),
		T(test_rdonly_empty_dir),
		T(test_modes),
		T(test_foreign_env),
		T(test_other_version),
		T(test_truncated),
		cmocka_unit_test(test_strerror),
	};
#undef T

	return cmocka_run_group_tests_name("open", tests, NULL, NULL);
}
