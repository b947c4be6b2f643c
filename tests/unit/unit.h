/* unit.h - helpers shared by the cmocka unit tests: temp dirs, a test pool,
 * mutation builders. Each test binary links unit.c. */
#ifndef MCM_UNIT_H
#define MCM_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mcm_store.h"

/** Make a fresh directory under $TMPDIR (or /tmp) into buf (PATH_MAX bytes);
 * fails the test when it cannot. */
void unit_tmpdir(char *buf);

/** Remove dir and everything below it. */
void unit_rmtree(const char *dir);

/** cmocka fixture: *state is a fresh directory (a malloc'd path), removed
 * with everything in it by unit_dir_teardown. */
int unit_dir_setup(void **state);
int unit_dir_teardown(void **state);

/** Fill p as a pool of the canonical server list servers (id = FNV-1a of it). */
void unit_pool(struct mcm_pool *p, const char *servers);

/** A mutation of op on key (a C string) in pool p, the rest zero. */
struct mcm_mutation unit_mut(enum mcm_op op, const struct mcm_pool *p, const char *key);

/** Apply one mutation; fails the test unless the store returns 0. */
void unit_apply(struct mcm_store *st, const struct mcm_mutation *m);

/** mcm_store_get of a C-string key; returns its code. */
int unit_get(struct mcm_store *st, const struct mcm_pool *p, const char *key, struct mcm_item *item);

struct mcm_jheader;

/** Map the header of dir/journal, to play what a restart of the machine
 * leaves on disk; unit_jheader_unmap writes it back. */
struct mcm_jheader *unit_jheader_map(const char *dir);
void unit_jheader_unmap(struct mcm_jheader *h);

/** Damage the record at journal position pos (its CRC), as a power loss
 * leaves a record that never fully reached the disk. */
void unit_journal_tear(const char *dir, uint64_t pos);

/** Flip one bit of every occurrence of needle in dir/data.mdb (bit rot);
 * fails the test when needle is not there. */
void unit_flip_in_file(const char *dir, const char *needle);

/** Give key's record (pool p) in the closed store of dir the number seq,
 * behind the store's back: its CRC then no longer matches, unless valid
 * (then it is encoded again and checks out). */
void unit_renumber(const char *dir, const struct mcm_pool *p, const char *key, uint64_t seq, int valid);

/** Fixture for tests that need a store: *state becomes a struct unit_env. */
struct unit_env {
	char dir[4096];
	struct mcm_store *st;
};
int unit_env_setup(void **state);
int unit_env_teardown(void **state);

/** Fixture for differential tests: *state becomes a struct unit_two, two
 * stores (a is given batches, b the same mutations one transaction each). */
struct unit_two {
	struct unit_env *a, *b;
};
int unit_two_setup(void **state);
int unit_two_teardown(void **state);

#endif
