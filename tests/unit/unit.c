/* unit.c - helpers shared by the cmocka unit tests (see unit.h). */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "mcm_pool.h"
#include "mcm_record.h"
#include "mcm_journal.h"
#include "unit.h"

void unit_tmpdir(char *buf)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, PATH_MAX, "%s/mcm-unit-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(buf));
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

void unit_rmtree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int unit_dir_setup(void **state)
{
	char *dir = malloc(PATH_MAX);

	assert_non_null(dir);
	unit_tmpdir(dir);
	*state = dir;
	return 0;
}

int unit_dir_teardown(void **state)
{
	unit_rmtree(*state);
	free(*state);
	return 0;
}

void unit_pool(struct mcm_pool *p, const char *servers)
{
	memset(p, 0, sizeof *p);
	snprintf(p->servers, sizeof p->servers, "%s", servers);
	p->id = mcm_pool_id_of(p->servers, strlen(p->servers));
}

struct mcm_mutation unit_mut(enum mcm_op op, const struct mcm_pool *p, const char *key)
{
	struct mcm_mutation m;

	memset(&m, 0, sizeof m);
	m.op = op;
	m.pool = p;
	m.key = key;
	m.key_len = key ? strlen(key) : 0;
	return m;
}

void unit_apply(struct mcm_store *st, const struct mcm_mutation *m)
{
	assert_int_equal(mcm_store_apply(st, m, 1), 0);
}

int unit_get(struct mcm_store *st, const struct mcm_pool *p, const char *key, struct mcm_item *item)
{
	return mcm_store_get(st, p->id, key, strlen(key), item);
}

int unit_env_setup(void **state)
{
	struct unit_env *e = calloc(1, sizeof *e);

	assert_non_null(e);
	unit_tmpdir(e->dir);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0), 0);
	*state = e;
	return 0;
}

int unit_env_teardown(void **state)
{
	struct unit_env *e = *state;

	mcm_store_close(e->st);
	unit_rmtree(e->dir);
	free(e);
	return 0;
}

int unit_two_setup(void **state)
{
	struct unit_two *t = calloc(1, sizeof *t);

	assert_non_null(t);
	unit_env_setup((void **)&t->a);
	unit_env_setup((void **)&t->b);
	*state = t;
	return 0;
}

int unit_two_teardown(void **state)
{
	struct unit_two *t = *state;

	unit_env_teardown((void **)&t->a);
	unit_env_teardown((void **)&t->b);
	free(t);
	return 0;
}

struct mcm_jheader *unit_jheader_map(const char *dir)
{
	char path[PATH_MAX + 16];
	void *h;
	int fd;

	snprintf(path, sizeof path, "%s/journal", dir);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(h != MAP_FAILED);
	return h;
}

void unit_jheader_unmap(struct mcm_jheader *h)
{
	munmap(h, 4096);
}

void unit_journal_tear(const char *dir, uint64_t pos)
{
	struct mcm_jheader *h = unit_jheader_map(dir);
	char path[PATH_MAX + 16];
	uint32_t crc;
	off_t at = 4096 + (off_t)(pos % h->size) + 16;
	int fd;

	unit_jheader_unmap(h);
	snprintf(path, sizeof path, "%s/journal", dir);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &crc, sizeof crc, at), sizeof crc);
	crc ^= 0x5a5a5a5a;
	assert_int_equal(pwrite(fd, &crc, sizeof crc, at), sizeof crc);
	close(fd);
}

void unit_renumber(const char *dir, const struct mcm_pool *p, const char *k, uint64_t seq, int valid)
{
	unsigned char kb[MCM_ITEM_KEY_MAX], rec[512];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = {mcm_item_key(p->id, k, strlen(k), kb), kb}, v;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "items", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &key, &v), 0);
	assert_true(v.mv_size <= sizeof rec);
	memcpy(rec, v.mv_data, v.mv_size);
	memcpy(rec + 24, &seq, 8); /* little-endian host (docs/FORMAT.md) */
	if (valid) {
		struct mcm_item it;
		unsigned char again[512];

		assert_int_equal(mcm_item_decode(kb, key.mv_size, v.mv_data, v.mv_size, &it), 0);
		it.seq = seq;
		assert_int_equal(mcm_item_size(&it), v.mv_size);
		mcm_item_encode(kb, key.mv_size, &it, again);
		memcpy(rec, again, v.mv_size);
	}
	v.mv_data = rec;
	assert_int_equal(mdb_put(txn, dbi, &key, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

void unit_flip_in_file(const char *dir, const char *needle)
{
	char path[PATH_MAX];
	struct stat sb;
	unsigned char *buf, *hit = NULL;
	int fd;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_non_null(buf = malloc((size_t)sb.st_size));
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, buf, (size_t)sb.st_size, 0), sb.st_size);
	/* every copy: LMDB's pages that were written over may still hold it */
	for (off_t i = 0; i + (off_t)strlen(needle) <= sb.st_size; i++)
		if (memcmp(buf + i, needle, strlen(needle)) == 0) {
			hit = buf + i;
			hit[1] ^= 0x04;
			assert_int_equal(pwrite(fd, hit + 1, 1, hit + 1 - buf), 1);
		}
	assert_non_null(hit);
	close(fd);
	free(buf);
}
