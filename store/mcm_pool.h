/* mcm_pool.h - what identifies a pool of memcached servers.
 *
 * A pool is identified by its server list as configured (names and ports, in
 * order; unix sockets by path), not by the memcached_st address, which
 * applications reuse. Both the shim (which files writes under a pool) and
 * `mcmirror replay` (which matches --servers to a mirrored pool) use this.
 */
#ifndef MCM_POOL_H
#define MCM_POOL_H

#include <libmemcached/memcached.h>

#include "mcm_store.h"

/** Fill p (id, servers, distribution and hashes) from the client handle.
 * Reads only side-effect-free getters. flush and created fields are zeroed.
 * @return 0, or ENOENT when the handle has no servers, ENAMETOOLONG when the
 *         list does not fit MCM_SERVERS_MAX. */
int mcm_pool_describe(const memcached_st *mc, struct mcm_pool *p);

/** The id of a canonical server list (FNV-1a 64 of the bytes). */
mcm_pool_id mcm_pool_id_of(const char *servers, size_t len);

#endif
