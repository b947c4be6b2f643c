/* source.h - where `replay --from`, `import --from` and `verify --from` read records from instead of
 * the mirror: one small interface, one file per backend.
 *
 * A source is an external store that `mcmirror follow --to URL` fed
 * (docs/SQL.md): several mirrors ("origins") ship into it, and for each
 * (pool, key) it keeps the newest write of any of them, deletions included.
 * Reading one pool gives its records oldest write first, as a walk of a
 * mirror in seq order would, so the rest of the tool treats them like the
 * mirror's: the backend does not show through.
 *
 * Backends: sink_pg.c (postgresql://...), sink_mysql.c (mysql://, mariadb://):
 * the file that writes a database also reads it.
 */
#ifndef MCM_SOURCE_H
#define MCM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "mcm_store.h"

struct mcm_source_opts {
	const char *cmd; /**< for messages: "replay", "import", "verify" */
	int timeout_ms;  /**< connect and stall timeout */
};

/** mcm_source_ops.scan: only rows whose state is live, and not killed by a delayed flush (expired ones
 * come too: the caller counts them). */
#define MCM_SOURCE_LIVE 0x1

/** mcm_source_ops.scan: any order will do (the database need not sort: verify). */
#define MCM_SOURCE_ANY_ORDER 0x2

struct mcm_source;

struct mcm_source_ops {
	const char *name; /**< "postgresql", "mariadb" */

	/** Is url one of this backend's (its scheme)? */
	int (*claims)(const char *url);

	/** Connect and check the schema (an unknown version is refused). On failure return -1 with why set
	 * to a message that names the server and gives its own reason, never a password. */
	int (*open)(struct mcm_source **out, const char *url, const struct mcm_source_opts *o, char *why,
		    size_t why_size);

	/** Every pool the store holds: id, server list, distribution and hashes as the last host shipping
	 * it recorded them (flush markers 0: each row is judged by its own origin's, see scan). *pools is
	 * malloc'd (free() it). @return 0, or -1 with why set. */
	int (*pools)(struct mcm_source *s, struct mcm_pool **pools, size_t *n, char *why, size_t why_size);

	/** About how many rows the store holds, all pools (an estimate the database keeps; 0 unknown). */
	uint64_t (*rows)(struct mcm_source *s);

	/** Start reading pool's records, oldest write first (by write time, then origin; unless
	 * MCM_SOURCE_ANY_ORDER). A live row that
	 * a delayed flush of its origin has killed by now comes as MCM_KIND_DELETED. @return 0 or -1. */
	int (*scan)(struct mcm_source *s, mcm_pool_id pool, unsigned flags, char *why, size_t why_size);

	/** The next record of the scan (pointers valid until the next call; item->seq is the sequence
	 * number in its origin's mirror, origin its 32 hex digits). @return 0, MCM_END, or -1 with why
	 * set (the scan is over). */
	int (*next)(struct mcm_source *s, struct mcm_item *item, const char **origin, char *why, size_t why_size);

	/** The URL without credentials, for messages. */
	const char *(*describe)(const struct mcm_source *s);

	void (*close)(struct mcm_source *s);
};

extern const struct mcm_source_ops mcm_source_pg, mcm_source_mysql;

/** The backend that claims url, or NULL. */
const struct mcm_source_ops *mcm_source_find(const char *url);

/** Why no backend claims url: "not a URL mcmirror reads (postgresql://..., mysql://..., mariadb://...)",
 * or that this mcmirror was built without the backend its scheme names. */
const char *mcm_source_unknown(const char *url);

/** A command's --from URL: the backend that reads it, connected. On failure a message goes to stderr
 * under cmd (the URL shown without its password). @return 0; MCM_EXIT_USAGE when no backend reads url,
 * MCM_EXIT_FAIL when it cannot connect (*src NULL). */
int mcm_source_connect(const char *cmd, const char *url, int timeout_ms, const struct mcm_source_ops **ops,
		       struct mcm_source **src);

struct mcm_target;

/** Choose the pool among the source's as mcm_target_pick_pool does among a mirror's (--pool ID, the
 * only one, or the one whose server list is the target's). @return 0 with *out set, MCM_TARGET_NO_POOL,
 * or an MCM_EXIT_* code after a message. */
int mcm_source_pick_pool(const char *cmd, const struct mcm_source_ops *ops, struct mcm_source *src,
			 const struct mcm_target *t, const mcm_pool_id *want, struct mcm_pool *out);

/** `import --from URL` (import_from.c): the store's pools (or the one *want names) into the mirror of g.
 * @return an MCM_EXIT_* code, after messages under cmd. */
struct mcm_global;
int mcm_import_from(const struct mcm_global *g, const char *cmd, const char *url, const mcm_pool_id *want,
		    int timeout_ms);

#endif
