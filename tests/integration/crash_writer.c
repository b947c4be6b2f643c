/* crash_writer.c - the kill test's application: blocking sets and deletes as fast as it can.
 *
 * usage: crash_writer init STATE
 *        crash_writer run SERVERS STATE NKEYS
 * Uses libmemcached only (it runs under the shim). `run` resumes at the
 * operation after the last acknowledged one (crash_model.h) and loops until
 * it is killed; after each call returns it publishes the operation's index in
 * the MAP_SHARED state file. It exits 1 if a call fails.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmemcached/memcached.h>

#include "crash_model.h"

static memcached_st *connect_to(const char *servers)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	if (!mc || !list)
		return NULL;
	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	return mc;
}

/* Operation i; returns 0 when the server acknowledged it. */
static int do_op(memcached_st *mc, uint64_t i, uint64_t nkeys)
{
	char key[CRASH_KEY_MAX], value[CRASH_VALUE_MAX];
	size_t klen = crash_key(i, nkeys, key), vlen;
	memcached_return_t rc;

	if (crash_is_delete(i)) {
		rc = memcached_delete(mc, key, klen, 0);
		return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_DELETED || rc == MEMCACHED_NOTFOUND ? 0 : -1;
	}
	vlen = crash_value(i, value);
	rc = memcached_set(mc, key, klen, value, vlen, 0, crash_flags(i));
	if (rc != MEMCACHED_SUCCESS) {
		fprintf(stderr, "crash_writer: set '%s': %s\n", key, memcached_strerror(mc, rc));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct crash_state *s;
	memcached_st *mc;
	uint64_t nkeys, i;

	if (argc == 3 && strcmp(argv[1], "init") == 0)
		return crash_state_map(argv[2]) ? 0 : 1;
	if (argc != 5 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: crash_writer init STATE | run SERVERS STATE NKEYS\n");
		return 2;
	}
	nkeys = strtoull(argv[4], NULL, 10);
	if (!(s = crash_state_map(argv[3])) || !(mc = connect_to(argv[2])) || nkeys == 0) {
		fprintf(stderr, "crash_writer: cannot start\n");
		return 1;
	}
	for (i = (uint64_t)(s->acked + 1);; i++) {
		if (do_op(mc, i, nkeys) != 0)
			return 1;
		__atomic_store_n(&s->acked, (int64_t)i, __ATOMIC_RELEASE);
	}
}
