/* replay_client.c - test helper for `mcmirror replay`/`verify`: write a known data set, check it back.
 *
 * usage:
 *   replay_client fill DIR CONFIG N PREFIX   write items 0..N-1 into mirror DIR through the store
 *                                            API, in the pool that CONFIG describes (its servers,
 *                                            distribution, hashes, namespace) - no server involved
 *   replay_client set CONFIG N PREFIX        write them with libmemcached (run it under the shim)
 *   replay_client del CONFIG PREFIX I...     delete items I... with libmemcached (a key the server
 *                                            does not hold is fine: the replay may not have sent it yet)
 *   replay_client check CONFIG N PREFIX [I...]
 *                                            read items 0..N-1 with a libmemcached client built
 *                                            from CONFIG; items I... must be absent, the others
 *                                            present with exact value bytes and flags. Prints
 *                                            "hits H misses M wrong W absent_ok A"; exit 0 when
 *                                            everything is as it should be, 1 otherwise.
 *   replay_client special DIR SERVERS        write the odd records (see write_special)
 * CONFIG is a libmemcached configuration string ("--SERVER=127.0.0.1:11211 ...").
 * Item i: key PREFIX + "%06u"; every 5th is written with the group key "g<i % 17>"
 * (the *_by_key calls); value value_of(i) (every 7th holds NUL, CR, LF, 0xff);
 * flags i * 2654435761; no expiry, except every 10th: 1000 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmemcached/memcached.h>

#include "mcm_pool.h"
#include "mcm_store.h"

#define VALUE_MAX 400

static size_t value_of(unsigned i, char *buf)
{
	size_t len = 20 + i % 300;

	for (size_t j = 0; j < len; j++)
		buf[j] = (char)('A' + (i * 7 + j) % 26);
	if (i % 7 == 0) {
		buf[0] = '\0';
		buf[1] = '\r';
		buf[2] = '\n';
		buf[len - 1] = (char)0xff;
	}
	return len;
}

static uint32_t flags_of(unsigned i)
{
	return (uint32_t)(i * 2654435761u);
}

static int64_t ttl_of(unsigned i)
{
	return i % 10 == 0 ? 1000 : 0;
}

/* The group key of item i, or NULL when it is written with the plain calls. */
static const char *group_of(unsigned i, char *buf, size_t size)
{
	if (i % 5 != 0)
		return NULL;
	snprintf(buf, size, "g%u", i % 17);
	return buf;
}

static memcached_st *client(const char *config)
{
	memcached_st *mc = memcached(config, strlen(config));

	if (!mc)
		fprintf(stderr, "replay_client: bad configuration '%s'\n", config);
	return mc;
}

static int fill(const char *dir, const char *config, unsigned n, const char *prefix)
{
	memcached_st *mc = client(config);
	memcached_return_t mrc;
	struct mcm_store *st;
	struct mcm_pool pool;
	const char *ns;
	char key[300], group[32], value[VALUE_MAX];
	size_t ns_len;
	int rc;

	if (!mc || mcm_pool_describe(mc, &pool) != 0)
		return 1;
	ns = memcached_callback_get(mc, MEMCACHED_CALLBACK_NAMESPACE, &mrc);
	ns_len = ns ? strlen(ns) : 0;
	if ((rc = mcm_store_open(&st, dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0)) != 0) {
		fprintf(stderr, "replay_client: cannot open '%s': %s\n", dir, mcm_strerror(rc));
		return 1;
	}
	for (unsigned i = 0; i < n && rc == 0; i++) {
		struct mcm_mutation m = {.op = MCM_OP_PUT, .pool = &pool};

		m.key_len = (size_t)snprintf(key, sizeof key, "%s%s%06u", ns ? ns : "", prefix, i);
		m.key = key;
		m.ns_len = (uint16_t)ns_len;
		if ((m.group = group_of(i, group, sizeof group))) {
			m.group_mode = MCM_GROUP_EXPLICIT;
			m.group_len = strlen(group);
		}
		m.value = value;
		m.value_len = value_of(i, value);
		m.flags = flags_of(i);
		m.exptime = ttl_of(i) ? (int64_t)time(NULL) + ttl_of(i) : 0;
		rc = mcm_store_apply(st, &m, 1);
	}
	mcm_store_close(st);
	memcached_free(mc);
	if (rc != 0)
		fprintf(stderr, "replay_client: write failed: %s\n", mcm_strerror(rc));
	return rc != 0;
}

static int set(const char *config, unsigned n, const char *prefix)
{
	memcached_st *mc = client(config);
	char key[300], group[32], value[VALUE_MAX];
	int failed = 0;

	if (!mc)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		size_t klen = (size_t)snprintf(key, sizeof key, "%s%06u", prefix, i), vlen = value_of(i, value);
		const char *g = group_of(i, group, sizeof group);
		memcached_return_t rc;

		if (g)
			rc = memcached_set_by_key(mc, g, strlen(g), key, klen, value, vlen, (time_t)ttl_of(i), flags_of(i));
		else
			rc = memcached_set(mc, key, klen, value, vlen, (time_t)ttl_of(i), flags_of(i));
		if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND && failed++ < 5)
			fprintf(stderr, "replay_client: set '%s': %s\n", key, memcached_strerror(mc, rc));
	}
	memcached_free(mc);
	return failed != 0;
}

static int del(const char *config, const char *prefix, int argc, char **argv)
{
	memcached_st *mc = client(config);
	char key[300], group[32];
	int failed = 0;

	if (!mc)
		return 1;
	for (int a = 0; a < argc; a++) {
		unsigned i = (unsigned)strtoul(argv[a], NULL, 10);
		size_t klen = (size_t)snprintf(key, sizeof key, "%s%06u", prefix, i);
		const char *g = group_of(i, group, sizeof group);
		memcached_return_t rc = g ? memcached_delete_by_key(mc, g, strlen(g), key, klen, 0)
					  : memcached_delete(mc, key, klen, 0);

		if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND && failed++ < 5)
			fprintf(stderr, "replay_client: delete '%s': %s\n", key, memcached_strerror(mc, rc));
	}
	memcached_free(mc);
	return failed != 0;
}

static int must_be_absent(unsigned i, int argc, char **argv)
{
	for (int a = 0; a < argc; a++)
		if ((unsigned)strtoul(argv[a], NULL, 10) == i)
			return 1;
	return 0;
}

static int check(const char *config, unsigned n, const char *prefix, int argc, char **argv)
{
	memcached_st *mc = client(config);
	unsigned long hits = 0, misses = 0, wrong = 0, absent_ok = 0;
	char key[300], group[32], want[VALUE_MAX];

	if (!mc)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		size_t klen = (size_t)snprintf(key, sizeof key, "%s%06u", prefix, i), wlen = value_of(i, want), len;
		const char *g = group_of(i, group, sizeof group);
		uint32_t flags;
		memcached_return_t rc;
		char *got = g ? memcached_get_by_key(mc, g, strlen(g), key, klen, &len, &flags, &rc)
			      : memcached_get(mc, key, klen, &len, &flags, &rc);
		int absent = must_be_absent(i, argc, argv);

		if (!got) {
			misses += !absent;
			absent_ok += absent;
			if (!absent && misses <= 3)
				fprintf(stderr, "replay_client: '%s' missing (%s)\n", key, memcached_strerror(mc, rc));
			continue;
		}
		if (absent || len != wlen || memcmp(got, want, len) != 0 || flags != flags_of(i)) {
			if (++wrong <= 3)
				fprintf(stderr, "replay_client: '%s' %s\n", key, absent ? "should be absent" : "differs");
		} else {
			hits++;
		}
		free(got);
	}
	memcached_free(mc);
	printf("hits %lu misses %lu wrong %lu absent_ok %lu\n", hits, misses, wrong, absent_ok);
	return misses || wrong;
}

/* Odd records in pool SERVERS (modula, one server):
 *   "bin\x01key\xff" (not text-safe: goes in base64) with all 256 byte values, flags 0xffffffff
 *   "ttl:100" with 100 s to live, flags 7
 *   "gone:1" written then deleted (a tombstone: never replayed)
 *   "big:1" a 200000-byte value */
static int special(const char *dir, const char *servers)
{
	static char big[200000];
	char bin[256];
	struct mcm_pool pool;
	struct mcm_store *st;
	int64_t now = (int64_t)time(NULL);
	int rc;

	memset(&pool, 0, sizeof pool);
	snprintf(pool.servers, sizeof pool.servers, "%s", servers);
	pool.id = mcm_pool_id_of(pool.servers, strlen(pool.servers));
	for (int i = 0; i < 256; i++)
		bin[i] = (char)i;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 23);
	struct mcm_mutation m[] = {
		{.op = MCM_OP_PUT, .pool = &pool, .key = "bin\001key\377", .key_len = 8, .value = bin,
		 .value_len = sizeof bin, .flags = 0xffffffffu},
		{.op = MCM_OP_PUT, .pool = &pool, .key = "ttl:100", .key_len = 7, .value = "hundred", .value_len = 7,
		 .flags = 7, .exptime = now + 100},
		{.op = MCM_OP_PUT, .pool = &pool, .key = "gone:1", .key_len = 6, .value = "x", .value_len = 1},
		{.op = MCM_OP_DELETE, .pool = &pool, .key = "gone:1", .key_len = 6},
		{.op = MCM_OP_PUT, .pool = &pool, .key = "big:1", .key_len = 5, .value = big, .value_len = sizeof big},
	};
	if ((rc = mcm_store_open(&st, dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0)) == 0) {
		rc = mcm_store_apply(st, m, sizeof m / sizeof m[0]);
		mcm_store_close(st);
	}
	if (rc != 0)
		fprintf(stderr, "replay_client: special: %s\n", mcm_strerror(rc));
	return rc != 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "fill") == 0 && argc == 6)
		return fill(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10), argv[5]);
	if (strcmp(cmd, "set") == 0 && argc == 5)
		return set(argv[2], (unsigned)strtoul(argv[3], NULL, 10), argv[4]);
	if (strcmp(cmd, "del") == 0 && argc >= 4)
		return del(argv[2], argv[3], argc - 4, argv + 4);
	if (strcmp(cmd, "check") == 0 && argc >= 5)
		return check(argv[2], (unsigned)strtoul(argv[3], NULL, 10), argv[4], argc - 5, argv + 5);
	if (strcmp(cmd, "special") == 0 && argc == 4)
		return special(argv[2], argv[3]);
	fprintf(stderr, "usage: replay_client fill DIR CONFIG N PREFIX | set CONFIG N PREFIX |"
			" del CONFIG PREFIX I... | check CONFIG N PREFIX [I...] | special DIR SERVERS\n");
	return 2;
}
