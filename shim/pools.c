/* pools.c - the pool a client handle writes to: described once per thread, checked cheaply on each call.
 *
 * mcm_pool_describe() builds the canonical server list of a memcached_st and
 * hashes it (about 550 instructions for one server). A thread's calls mostly
 * go through the same few handles, so each thread keeps the descriptions of
 * the last CACHE_WAYS handles it used, with what they were built from: the
 * server count, each server's instance pointer, name, port and type, the
 * four behaviours a pool record holds, and whether it authenticates with
 * SASL (sasl.c). A call compares these with the handle's (exported getters
 * for the servers, the structure itself for the behaviours where layout.c
 * allows it; no string is built) and rebuilds the description when anything
 * differs. The address alone proves nothing: PHP
 * frees a handle and creates the next one at the same address, with servers
 * that may be others.
 *
 * The state is per thread (no lock); it is allocated at the thread's first
 * call and freed when the thread exits. Only the outermost hooked call of a
 * thread uses it (mirror.c's depth), so a pointer it returns stays valid for
 * the whole call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_pool.h"
#include "shim.h"

#define CACHE_WAYS 4      /* handles remembered per thread */
#define CACHE_SERVERS 8   /* a handle with more servers is described on every call */
#define CACHE_NAMES 1024  /* bytes of server names kept per handle (more: described every call) */

struct entry {
	const memcached_st *mc;  /* NULL: free, or a description not to be reused */
	uint32_t count;
	const memcached_instance_st *in[CACHE_SERVERS];
	const char *type[CACHE_SERVERS]; /* memcached_server_type's constant strings */
	in_port_t port[CACHE_SERVERS];
	uint16_t name_at[CACHE_SERVERS];
	uint16_t name_len[CACHE_SERVERS]; /* with its NUL */
	char names[CACHE_NAMES];         /* the names, each ending with its NUL */
	struct mcm_hashes hashes;        /* the hash functions the description was built with */
	struct mcm_pool pool;
};

struct mcm_tls {
	struct entry e[CACHE_WAYS + 1]; /* the last one: a description that cannot be cached */
	unsigned next;
	char wire[MCM_NAMESPACE_MAX + MCM_KEY_MAX];
};

static __thread struct mcm_tls *tls __attribute__((tls_model("initial-exec")));
static pthread_key_t key;
static int key_ok;

static void free_tls(void *p)
{
	free(p);
}

__attribute__((constructor)) static void mcm_pools_init(void)
{
	key_ok = pthread_key_create(&key, free_tls) == 0;
}

/* Is e still the description of mc's servers? */
static int still(const struct entry *e, memcached_st *mc)
{
	if (e->mc != mc || mcm_layout_server_count(mc) != e->count)
		return 0;
	for (uint32_t i = 0; i < e->count; i++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(mc, i);
		const char *name;

		/* (the name is an array of MEMCACHED_NI_MAXHOST bytes in the instance: comparing
		 * as many bytes as the kept name and its NUL stays inside it) */
		if (in != e->in[i] || memcached_server_type(in) != e->type[i] ||
		    memcached_server_port(in) != e->port[i] || !(name = memcached_server_name(in)) ||
		    memcmp(name, e->names + e->name_at[i], e->name_len[i]) != 0)
			return 0;
	}
	return mcm_layout_same_behaviours(mc, &e->pool, &e->hashes) && mcm_sasl_of(mc) == e->pool.sasl;
}

/* Keep in e what its description of mc was built from; 0 when it does not fit. */
static int remember(struct entry *e, memcached_st *mc)
{
	size_t used = 0;

	e->count = memcached_server_count(mc);
	if (e->count > CACHE_SERVERS)
		return 0;
	for (uint32_t i = 0; i < e->count; i++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(mc, i);
		const char *name = in ? memcached_server_name(in) : NULL;
		size_t len = name ? strlen(name) + 1 : 0;

		if (!name || len > CACHE_NAMES - used)
			return 0;
		e->in[i] = in;
		e->type[i] = memcached_server_type(in);
		e->port[i] = memcached_server_port(in);
		e->name_at[i] = (uint16_t)used;
		e->name_len[i] = (uint16_t)len;
		memcpy(e->names + used, name, len);
		used += len;
	}
	mcm_layout_hashes(mc, &e->hashes);
	e->mc = mc;
	return 1;
}

static struct mcm_tls *get_tls(void)
{
	if (!tls && (tls = calloc(1, sizeof *tls)) && key_ok)
		pthread_setspecific(key, tls);
	return tls;
}

int mcm_pools_describe(memcached_st *mc, const struct mcm_pool **pool, char **wire)
{
	struct mcm_tls *t = get_tls();
	struct entry *e = NULL;
	int rc;

	if (!t)
		return ENOMEM;
	*wire = t->wire;
	for (unsigned i = 0; i < CACHE_WAYS; i++)
		if (t->e[i].mc == mc) {
			if (still(&t->e[i], mc)) {
				*pool = &t->e[i].pool;
				return 0;
			}
			e = &t->e[i]; /* changed since: described again in its place */
			break;
		}
	if (!e) {
		e = &t->e[t->next];
		t->next = (t->next + 1) % CACHE_WAYS;
	}
	e->mc = NULL;
	mcm_layout_check(mc); /* (a description is built: worth the getters' calls) */
	if ((rc = mcm_pool_describe(mc, &e->pool)) != 0)
		return rc;
	e->pool.sasl = (uint8_t)mcm_sasl_of(mc); /* replay will need credentials (pool record byte 3) */
	if (!remember(e, mc)) {
		t->e[CACHE_WAYS] = *e; /* described, but not kept for the next call */
		t->e[CACHE_WAYS].mc = NULL;
		e = &t->e[CACHE_WAYS];
	}
	*pool = &e->pool;
	return 0;
}
