/* layout.c - the client's modes read from its memcached_st, where the library's layout is known.
 *
 * Each hooked call needs the client's modes (binary, noreply, buffered, UDP,
 * encrypted), its namespace, its server count and, to trust its cached pool
 * description, the pool's behaviours (distribution, hash functions, namespace
 * in the hash). Through libmemcached's getters that is eleven calls of 20 to
 * 35 instructions. The
 * structures holding them, memcached_st and hashkit_st, are public: they are
 * in the headers the shim is built with, and applications that declare a
 * memcached_st on their stack depend on them. So when the libmemcached in
 * the process is the version of those headers, the shim reads the fields
 * (a few loads), and it checks them against the getters each time it
 * describes a pool (pools.c: a handle's first call, or any change of its
 * servers): on any difference it goes back to the getters for good and says
 * so once (cause "layout"). Another libmemcached version gets the getters
 * from the start.
 */
#include <string.h>

#include <libhashkit-1.0/hashkit.h>

#include "shim.h"

/* 1: read the structures; -1: use the getters; 0: not decided yet */
static int direct;

int mcm_layout_same_version(const char *runtime)
{
	return runtime && strcmp(runtime, LIBMEMCACHED_VERSION_STRING) == 0;
}

static __attribute__((noinline)) int decide(void)
{
	int d = mcm_layout_same_version(memcached_lib_version()) ? 1 : -1;

	__atomic_store_n(&direct, d, __ATOMIC_RELAXED);
	return d > 0;
}

static inline int use_direct(void)
{
	int d = __atomic_load_n(&direct, __ATOMIC_RELAXED);

	return __builtin_expect(d != 0, 1) ? d > 0 : decide();
}

int mcm_layout_direct(void)
{
	return use_direct();
}

void mcm_layout_modes_by_getters(memcached_st *mc, struct mcm_call *c)
{
	const hashkit_st *kit = memcached_get_hashkit(mc);

	c->binary = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL) != 0;
	c->noreply = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_NOREPLY) != 0;
	c->buffered = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS) != 0;
	c->udp = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_USE_UDP) != 0;
	c->encrypted = kit && kit->_key != NULL;
}

void mcm_layout_modes(memcached_st *mc, struct mcm_call *c)
{
	if (use_direct()) {
		c->binary = mc->flags.binary_protocol;
		c->noreply = !mc->flags.reply;
		c->buffered = mc->flags.buffer_requests;
		c->udp = mc->flags.use_udp;
		c->encrypted = mc->hashkit._key != NULL;
	} else {
		mcm_layout_modes_by_getters(mc, c);
	}
}

int mcm_layout_same_behaviours(memcached_st *mc, const struct mcm_pool *p, const struct mcm_hashes *h)
{
	if (use_direct())
		return (uint32_t)mc->distribution == p->distribution && mc->flags.hash_with_namespace == p->hash_with_namespace &&
		       mc->hashkit.base_hash.function == h->base && mc->hashkit.distribution_hash.function == h->dist;
	return (uint32_t)memcached_behavior_get_distribution(mc) == p->distribution &&
	       (uint32_t)memcached_behavior_get_key_hash(mc) == p->key_hash &&
	       (uint32_t)memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_KETAMA_HASH) == p->dist_hash &&
	       (memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY) != 0) == p->hash_with_namespace;
}

const char *mcm_layout_namespace(memcached_st *mc)
{
	memcached_return_t rc;

	if (use_direct() && mc->_namespace == NULL)
		return NULL; /* (the getter returns the string of that array, NULL without one) */
	return memcached_callback_get(mc, MEMCACHED_CALLBACK_NAMESPACE, &rc);
}

uint32_t mcm_layout_server_count(const memcached_st *mc)
{
	return use_direct() ? mc->number_of_hosts : memcached_server_count(mc);
}

void mcm_layout_hashes(const memcached_st *mc, struct mcm_hashes *h)
{
	h->base = mc->hashkit.base_hash.function;
	h->dist = mc->hashkit.distribution_hash.function;
}

int mcm_layout_check(memcached_st *mc)
{
	struct mcm_call byget = {0};
	memcached_return_t rc;

	if (!use_direct())
		return 0;
	mcm_layout_modes_by_getters(mc, &byget);
	if (memcached_get_hashkit(mc) == &mc->hashkit && memcached_server_count(mc) == mc->number_of_hosts &&
	    (memcached_callback_get(mc, MEMCACHED_CALLBACK_NAMESPACE, &rc) == NULL) == (mc->_namespace == NULL) &&
	    byget.binary == mc->flags.binary_protocol && byget.noreply == !mc->flags.reply &&
	    byget.buffered == mc->flags.buffer_requests && byget.udp == mc->flags.use_udp &&
	    byget.encrypted == (mc->hashkit._key != NULL) &&
	    memcached_behavior_get_distribution(mc) == mc->distribution &&
	    (memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY) != 0) == mc->flags.hash_with_namespace)
		return 0;
	__atomic_store_n(&direct, -1, __ATOMIC_RELAXED);
	mcm_log_once(MCM_CAUSE_LAYOUT, "libmemcached %s does not have the memcached_st of its headers: "
		     "reading the client's modes through its getters", memcached_lib_version());
	return -1;
}
