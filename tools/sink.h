/* sink.h - where `mcmirror follow` sends the change stream: one small interface, one file per backend.
 *
 * `follow` reads a pool's changes in order (store/mcm_stream.h) and hands
 * them to a sink in batches: change() queues, commit() makes the batch
 * applied and durable at the target and returns only then. The follower's
 * position is saved after a commit, so a crash of either side never loses a
 * change; a change given twice is harmless (the stream gives a key's current
 * state, and the last change of a key is its newest).
 *
 * Backends: sink_memcached.c (a standby pool: SERVERS as for replay),
 * sink_pg.c (postgresql://... URIs), sink_mysql.c (mysql:// and mariadb://).
 * A backend that keeps the position itself (a database, in the same
 * transaction as the rows) says so through position(); follow then trusts
 * the target's position over the mirror's copy of it.
 */
#ifndef MCM_SINK_H
#define MCM_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "mcm_store.h"
#include "mcm_stream.h"

/** What follow tells a sink when opening it. */
struct mcm_sink_opts {
	const char *cmd;            /**< for messages: "follow" */
	const char *origin;         /**< the mirror's origin id (mcm_store_origin), 32 hex digits */
	const char *follower;       /**< the follower's name (mcm_follower) */
	const struct mcm_pool *pool; /**< the mirrored pool being followed (placement, server list) */
	int timeout_ms;             /**< connect and stall timeout */
	int create;                 /**< --create: make the schema when absent */
	unsigned connections;       /**< memcached: connections per server */
	const void *tls;            /**< TLS and authentication settings (NULL: none) */
};

struct mcm_sink;

struct mcm_sink_ops {
	const char *name; /**< "memcached", "postgresql", "mariadb" */

	/** Is target one of this backend's (a URL scheme, or a server list)? */
	int (*claims)(const char *target);

	/** Connect. On failure return -1 with why set to a message that names the
	 * server and gives its own reason, never a password (e.g. "postgresql://db1/cache:
	 * FATAL: password authentication failed for user \"u\""). */
	int (*open)(struct mcm_sink **out, const char *target, const struct mcm_sink_opts *o, char *why,
		    size_t why_size);

	/** The position the target keeps for this origin and pool (*have 0 when it keeps none, or has none
	 * yet; an external store that has no row of this origin says *have 1 and position 0: it was never
	 * given anything and needs no emptying, so follow streams everything, tombstones included, instead
	 * of resynchronising). @return 0, or -1 with why set. */
	int (*position)(struct mcm_sink *s, uint64_t *position, int *have, char *why, size_t why_size);

	/** Queue one change. @return 0, or -1 with why set (the batch is then abandoned). */
	int (*change)(struct mcm_sink *s, const struct mcm_change *c, char *why, size_t why_size);

	/** Apply what was queued, and keep position with it when the backend keeps positions (in the same
	 * transaction); return when the target confirmed it. @return 0, or -1 with why set: nothing after
	 * the last successful commit may be taken as applied. */
	int (*commit)(struct mcm_sink *s, uint64_t position, char *why, size_t why_size);

	/** Did the target lose what it was given (a memcached that restarted empty, or was flushed)? follow
	 * asks once a second while caught up, and at each connection. @return 1 (follow then resynchronises
	 * it), 0, or -1 when the target cannot be reached now (follow reconnects). */
	int (*lost)(struct mcm_sink *s);

	/** A description of the target for stats and messages, without credentials. */
	const char *(*describe)(const struct mcm_sink *s);

	void (*close)(struct mcm_sink *s);
};

extern const struct mcm_sink_ops mcm_sink_memcached, mcm_sink_pg, mcm_sink_mysql;

/** The backend that claims target, or NULL. */
const struct mcm_sink_ops *mcm_sink_find(const char *target);

#endif
