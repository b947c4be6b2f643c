/* test_pool.c - pool identity (store/pool.c): the canonical server list of a
 * memcached_st and its FNV-1a 64 id. Handles are built but never connected. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_pool.h"
#include "unit.h"

/* FNV-1a 64 written out from its definition, checked against the published
 * vectors below, as an oracle independent of pool.c. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void test_fnv_vectors(void **state)
{
	(void)state;
	assert_true(mcm_pool_id_of("", 0) == 0xcbf29ce484222325ULL);
	assert_true(mcm_pool_id_of("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(mcm_pool_id_of("foobar", 6) == 0x85944171f73967e8ULL);
	assert_true(fnv1a("") == 0xcbf29ce484222325ULL);
	assert_true(fnv1a("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(fnv1a("foobar") == 0x85944171f73967e8ULL);
	/* the length counts, not a terminating NUL */
	assert_true(mcm_pool_id_of("ab", 1) == 0xaf63dc4c8601ec8cULL);
}

/* A handle with the given "host:port" (or /socket) entries, in order. */
static memcached_st *handle(const char *const *servers, size_t n)
{
	memcached_st *mc = memcached_create(NULL);

	assert_non_null(mc);
	for (size_t i = 0; i < n; i++) {
		char host[256];
		const char *colon = strrchr(servers[i], ':');

		if (servers[i][0] == '/') {
			assert_int_equal(memcached_server_add_unix_socket(mc, servers[i]), MEMCACHED_SUCCESS);
			continue;
		}
		assert_non_null(colon);
		memcpy(host, servers[i], (size_t)(colon - servers[i]));
		host[colon - servers[i]] = '\0';
		assert_int_equal(memcached_server_add(mc, host, (in_port_t)atoi(colon + 1)), MEMCACHED_SUCCESS);
	}
	return mc;
}

static void describe(const char *const *servers, size_t n, struct mcm_pool *p)
{
	memcached_st *mc = handle(servers, n);

	assert_int_equal(mcm_pool_describe(mc, p), 0);
	memcached_free(mc);
}

static void test_canonical_list(void **state)
{
	static const char *const two[] = {"127.0.0.1:11211", "127.0.0.1:11212"};
	struct mcm_pool p;

	(void)state;
	memset(&p, 0x55, sizeof p);
	describe(two, 2, &p);
	assert_string_equal(p.servers, "127.0.0.1:11211,127.0.0.1:11212");
	assert_true(p.id == fnv1a("127.0.0.1:11211,127.0.0.1:11212"));
	assert_int_equal(p.created_us, 0);
	assert_int_equal(p.flush_seq, 0);
	assert_int_equal(p.flush_time, 0);
	assert_int_equal(p.encrypted, 0);
	/* defaults of a fresh handle */
	assert_int_equal(p.distribution, MEMCACHED_DISTRIBUTION_MODULA);
	assert_int_equal(p.key_hash, MEMCACHED_HASH_DEFAULT);
	assert_int_equal(p.hash_with_namespace, 0);
}

static void test_same_list_same_id(void **state)
{
	static const char *const a[] = {"10.0.0.1:11211", "10.0.0.2:11211"};
	static const char *const rev[] = {"10.0.0.2:11211", "10.0.0.1:11211"};
	static const char *const port[] = {"10.0.0.1:11211", "10.0.0.2:11212"};
	struct mcm_pool p1, p2, p3, p4;

	(void)state;
	describe(a, 2, &p1);
	describe(a, 2, &p2);
	describe(rev, 2, &p3);
	describe(port, 2, &p4);
	assert_true(p1.id == p2.id);
	assert_string_equal(p3.servers, "10.0.0.2:11211,10.0.0.1:11211");
	assert_true(p1.id != p3.id); /* order matters: it decides where keys go */
	assert_string_equal(p4.servers, "10.0.0.1:11211,10.0.0.2:11212");
	assert_true(p1.id != p4.id);
}

static void test_names_not_resolved(void **state)
{
	static const char *const name[] = {"localhost:11211"};
	static const char *const addr[] = {"127.0.0.1:11211"};
	struct mcm_pool p1, p2;

	(void)state;
	describe(name, 1, &p1);
	describe(addr, 1, &p2);
	assert_string_equal(p1.servers, "localhost:11211");
	assert_string_equal(p2.servers, "127.0.0.1:11211");
	assert_true(p1.id != p2.id);
	assert_true(p1.id == fnv1a("localhost:11211"));
}

static void test_socket_and_ipv6(void **state)
{
	static const char *const mixed[] = {"/run/mc.sock", "::1:11213", "127.0.0.1:11211"};
	struct mcm_pool p;

	(void)state;
	describe(mixed, 3, &p);
	assert_string_equal(p.servers, "/run/mc.sock,[::1]:11213,127.0.0.1:11211");
	assert_true(p.id == fnv1a("/run/mc.sock,[::1]:11213,127.0.0.1:11211"));
}

static void test_servers_parse(void **state)
{
	memcached_server_st *list = memcached_servers_parse("localhost:11211, 127.0.0.1:11212,[::1]:11213");
	memcached_st *mc = memcached_create(NULL);
	struct mcm_pool p;

	(void)state;
	assert_non_null(list);
	assert_int_equal(memcached_server_push(mc, list), MEMCACHED_SUCCESS);
	memcached_server_list_free(list);
	assert_int_equal(mcm_pool_describe(mc, &p), 0);
	assert_string_equal(p.servers, "localhost:11211,127.0.0.1:11212,[::1]:11213");
	memcached_free(mc);

	/* a configuration string gives the same list and id as server_add */
	{
		static const char conf[] = "--SERVER=localhost:11211 --SERVER=127.0.0.1:11212";
		static const char *const two[] = {"localhost:11211", "127.0.0.1:11212"};
		struct mcm_pool q;

		mc = memcached(conf, sizeof conf - 1);
		assert_non_null(mc);
		assert_int_equal(mcm_pool_describe(mc, &q), 0);
		memcached_free(mc);
		assert_string_equal(q.servers, "localhost:11211,127.0.0.1:11212");
		describe(two, 2, &p);
		assert_true(q.id == p.id);
	}
	/* "[::1]" parsed and "::1" added are the same server */
	{
		static const char *const v6[] = {"::1:11213"};
		struct mcm_pool q;

		list = memcached_servers_parse("[::1]:11213");
		mc = memcached_create(NULL);
		assert_int_equal(memcached_server_push(mc, list), MEMCACHED_SUCCESS);
		memcached_server_list_free(list);
		assert_int_equal(mcm_pool_describe(mc, &q), 0);
		memcached_free(mc);
		describe(v6, 1, &p);
		assert_string_equal(q.servers, "[::1]:11213");
		assert_true(q.id == p.id);
	}
}

static void test_behaviours(void **state)
{
	static const char *const two[] = {"127.0.0.1:11211", "127.0.0.1:11212"};
	memcached_st *mc = handle(two, 2);
	struct mcm_pool plain, p;

	(void)state;
	assert_int_equal(mcm_pool_describe(mc, &plain), 0);
	assert_int_equal(memcached_behavior_set_distribution(mc, MEMCACHED_DISTRIBUTION_CONSISTENT),
			 MEMCACHED_SUCCESS);
	assert_int_equal(memcached_behavior_set_key_hash(mc, MEMCACHED_HASH_FNV1A_64), MEMCACHED_SUCCESS);
	assert_int_equal(memcached_behavior_set_distribution_hash(mc, MEMCACHED_HASH_MURMUR), MEMCACHED_SUCCESS);
	assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY, 1), MEMCACHED_SUCCESS);
	assert_int_equal(mcm_pool_describe(mc, &p), 0);
	assert_int_equal(p.distribution, MEMCACHED_DISTRIBUTION_CONSISTENT);
	assert_int_equal(p.key_hash, MEMCACHED_HASH_FNV1A_64);
	assert_int_equal(p.dist_hash, MEMCACHED_HASH_MURMUR);
	assert_int_equal(p.hash_with_namespace, 1);
	/* behaviours are recorded, but the identity is the list alone */
	assert_true(p.id == plain.id);

	assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA, 1), MEMCACHED_SUCCESS);
	assert_int_equal(mcm_pool_describe(mc, &p), 0);
	assert_int_equal(p.distribution, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
	memcached_free(mc);
}

static void test_empty_and_too_long(void **state)
{
	memcached_st *mc = memcached_create(NULL);
	struct mcm_pool p;
	char host[200];

	(void)state;
	assert_int_equal(mcm_pool_describe(mc, &p), ENOENT);
	assert_string_equal(p.servers, "");
	/* 12 servers of ~206 bytes each do not fit MCM_SERVERS_MAX (2048) */
	memset(host, 'h', sizeof host - 1);
	host[sizeof host - 1] = '\0';
	for (int i = 0; i < 12; i++)
		assert_int_equal(memcached_server_add(mc, host, (in_port_t)(11211 + i)), MEMCACHED_SUCCESS);
	assert_int_equal(mcm_pool_describe(mc, &p), ENAMETOOLONG);
	memcached_free(mc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv_vectors),
		cmocka_unit_test(test_canonical_list),
		cmocka_unit_test(test_same_list_same_id),
		cmocka_unit_test(test_names_not_resolved),
		cmocka_unit_test(test_socket_and_ipv6),
		cmocka_unit_test(test_servers_parse),
		cmocka_unit_test(test_behaviours),
		cmocka_unit_test(test_empty_and_too_long),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
