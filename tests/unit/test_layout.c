/* test_layout.c - shim/layout.c: the modes and behaviours it reads from a memcached_st agree with
 * libmemcached's getters for every setting, and a cached description notices each change. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "mcm_pool.h"
#include "shim.h"

static const char *logged; /* the last message of mcm_log_once (layout.c's only other dependency) */

void mcm_log_once(enum mcm_cause cause, const char *fmt, ...)
{
	(void)cause;
	logged = fmt;
}

static void assert_modes_agree(memcached_st *mc)
{
	struct mcm_call a = {0}, b = {0};

	mcm_layout_modes(mc, &a);
	mcm_layout_modes_by_getters(mc, &b);
	assert_int_equal(a.binary, b.binary);
	assert_int_equal(a.noreply, b.noreply);
	assert_int_equal(a.buffered, b.buffered);
	assert_int_equal(a.udp, b.udp);
	assert_int_equal(a.encrypted, b.encrypted);
	assert_int_equal(mcm_layout_check(mc), 0);
}

/* This build runs with the libmemcached of its headers: the structure is read. */
static void test_direct_here(void **state)
{
	(void)state;
	assert_true(mcm_layout_same_version(memcached_lib_version()));
	assert_true(mcm_layout_direct());
	assert_false(mcm_layout_same_version("1.0.18"));
	assert_false(mcm_layout_same_version("1.1.40"));
	assert_false(mcm_layout_same_version(NULL));
}

/* Every combination of the four modes, each set and cleared through memcached_behavior_set. */
static void test_modes_every_combination(void **state)
{
	static const memcached_behavior_t modes[] = {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, MEMCACHED_BEHAVIOR_NOREPLY,
						     MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, MEMCACHED_BEHAVIOR_USE_UDP};
	memcached_st *mc = memcached_create(NULL);

	(void)state;
	assert_non_null(mc);
	for (unsigned bits = 0; bits < 16; bits++) {
		struct mcm_call c = {0};

		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_USE_UDP, 0);
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 0);
		for (unsigned i = 0; i < 4; i++)
			if (modes[i] != MEMCACHED_BEHAVIOR_USE_UDP) /* (UDP refuses binary; set it last) */
				memcached_behavior_set(mc, modes[i], (bits >> i) & 1);
		if (bits & 8)
			memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_USE_UDP, 1);
		assert_modes_agree(mc);
		mcm_layout_modes(mc, &c);
		/* the structure follows the settings (UDP turns buffering and replies off) */
		assert_int_equal(c.buffered, (bits & 8) ? 0 : (bits >> 2) & 1);
		assert_int_equal(c.noreply, (bits & 8) ? 1 : (bits >> 1) & 1);
		assert_int_equal(c.udp, (bits >> 3) & 1);
		assert_int_equal(c.binary, bits & 1);
	}
	assert_int_equal(memcached_set_encoding_key(mc, "sixteen byte key", 16), MEMCACHED_SUCCESS);
	assert_modes_agree(mc);
	memcached_free(mc);
	assert_null(logged);
}

/* A description built now is still good until a behaviour it holds changes; each change is seen. */
static void test_behaviours_changes_seen(void **state)
{
	memcached_st *mc = memcached_create(NULL);
	struct mcm_pool p;
	struct mcm_hashes h;

	(void)state;
	assert_int_equal(memcached_server_add(mc, "127.0.0.1", 11211), MEMCACHED_SUCCESS);
#define DESCRIBE()                                                   \
	do {                                                         \
		assert_int_equal(mcm_pool_describe(mc, &p), 0);      \
		mcm_layout_hashes(mc, &h);                           \
		assert_true(mcm_layout_same_behaviours(mc, &p, &h)); \
		assert_int_equal(mcm_layout_check(mc), 0);           \
	} while (0)
	DESCRIBE();
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT);
	assert_false(mcm_layout_same_behaviours(mc, &p, &h));
	DESCRIBE();
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_HASH, MEMCACHED_HASH_MD5);
	assert_false(mcm_layout_same_behaviours(mc, &p, &h));
	DESCRIBE();
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_HASH, MEMCACHED_HASH_CRC);
	assert_false(mcm_layout_same_behaviours(mc, &p, &h));
	DESCRIBE();
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY, 1);
	assert_false(mcm_layout_same_behaviours(mc, &p, &h));
	DESCRIBE();
	/* the same settings again: nothing to rebuild */
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_HASH, MEMCACHED_HASH_MD5);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY, 1);
	assert_true(mcm_layout_same_behaviours(mc, &p, &h));
	/* and what the getters say of the description agrees with the structure */
	assert_int_equal(p.key_hash, (uint32_t)memcached_behavior_get_key_hash(mc));
	assert_int_equal(p.dist_hash, (uint32_t)memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_KETAMA_HASH));
#undef DESCRIBE
	memcached_free(mc);
	assert_null(logged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_here),
		cmocka_unit_test(test_modes_every_combination),
		cmocka_unit_test(test_behaviours_changes_seen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
