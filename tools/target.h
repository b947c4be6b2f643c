/* target.h - the servers `replay` and `verify` talk to, and which of them holds each key.
 *
 * A target is a memcached_st built from --servers (a host:port list or a
 * libmemcached configuration string) that is never used to talk to a server:
 * it only answers "which server would the application's client pick for
 * this item" through libmemcached's own hashing (memcached_generate_hash),
 * so placement cannot drift from the library's. It also matches --servers
 * to a pool of the mirror and connects one mcm_pipe per server, with TLS
 * and credentials when the options asked for them (protect.h).
 */
#ifndef MCM_TARGET_H
#define MCM_TARGET_H

#include <libmemcached/memcached.h>
#include <stddef.h>
#include <stdint.h>

#include "mcm_store.h"
#include "pipe.h"
#include "protect.h"

struct mcm_target {
	memcached_st *mc;
	struct mcm_pool described; /**< canonical list and id of --servers (mcm_pool_describe) */
	int from_config;           /**< --servers was a configuration string */
	int hash_with_ns;          /**< hash namespace + key (the pool's or the configuration's setting) */
	uint32_t count;            /**< number of servers */
	const struct mcm_pipe_guard *guard; /**< TLS and credentials of its connections (NULL: none); the
					      * caller sets it (struct mcm_target_opts.guard) */
	char scratch[MCM_KEY_MAX + MCM_NAMESPACE_MAX + 2]; /**< namespace + hash key */
};

/** Build a target from a server list or configuration string.
 * @param[out] t the target
 * @param[in] servers "host:port[,host:port...]" (a '/' entry is a unix
 *            socket), or a string starting with "--" for memcached()
 * @param[out] why a reason on failure (for a usage error)
 * @return 0, or -1 with why set. */
/** Options every command that talks to memcached shares (replay, verify, import). */
struct mcm_target_opts {
	const char *servers;  /**< --servers (required) */
	const char *only;     /**< --only-server */
	const char *prefix;   /**< --prefix: only wire keys starting with it */
	size_t prefix_len;
	int timeout_ms;       /**< --timeout, default 5 s */
	int have_pool;        /**< --pool was given */
	mcm_pool_id pool;
	struct mcm_protect_opts protect; /**< --tls*, --auth-file */
	const struct mcm_pipe_guard *guard; /**< what they loaded (mcm_target_opts_check), or NULL */
};

/* Their getopt letters: s servers, p pool, o only-server, P prefix, t timeout;
 * and the long-only MCM_PROTECT_LONG_OPTIONS (protect.h). */

/** Defaults of the common options. */
void mcm_target_opts_init(struct mcm_target_opts *o);

/** Handle option c (as getopt_long returned it, argument arg) if it is a common one.
 * @return 0 handled, 1 not a common option, or MCM_EXIT_USAGE after a message. */
int mcm_target_option(const char *cmd, int c, const char *arg, struct mcm_target_opts *o);

/** After getopt: no stray argument left, --servers given; then load what
 * --tls* and --auth-file name into o->guard (mcm_protect_load).
 * @return 0, or MCM_EXIT_USAGE / MCM_EXIT_FAIL after a message. */
int mcm_target_opts_check(const char *cmd, int argc, char **argv, struct mcm_target_opts *o);

/** Does the wire key start with the --prefix (always, without one)? */
int mcm_target_wants(const struct mcm_target_opts *o, const char *key, size_t key_len);

int mcm_target_open(struct mcm_target *t, const char *servers, char *why, size_t why_size);

void mcm_target_close(struct mcm_target *t);

/** mcm_target_pick_pool: the mirror holds no pool at all. */
#define MCM_TARGET_NO_POOL (-1)

/** Pick the mirrored pool to work on, in this order: the --pool id when
 * want is non-NULL; the only pool of the mirror; the pool whose server list
 * is the target's. On failure prints an error naming the pools to stderr.
 * @return 0 with *out set, MCM_TARGET_NO_POOL, or an MCM_EXIT_* code
 *         (MCM_EXIT_USAGE when --pool is needed to choose). */
int mcm_target_pick_pool(const struct mcm_target *t, struct mcm_store *st, const char *cmd,
			 const mcm_pool_id *want, struct mcm_pool *out);

/** The same choice among pools read elsewhere (an external store's, source.h), named where in messages
 * ("the mirror" for mcm_target_pick_pool). */
int mcm_target_pick_pool_in(const struct mcm_target *t, const struct mcm_pool *pools, size_t n, const char *where,
			    const char *cmd, const mcm_pool_id *want, struct mcm_pool *out);

/** Place keys as the pool's application did (and warn when its client
 * authenticated with SASL and t has no credentials): for a plain server list, the
 * pool's recorded distribution and hashes; a configuration string keeps its
 * own (a warning names any difference). Either way the namespace takes part
 * in the hash when the pool (or configuration) says so. */
void mcm_target_adopt(struct mcm_target *t, const struct mcm_pool *pool, const char *cmd);

/** The index of the server holding item (0 .. count - 1). */
uint32_t mcm_target_server_of(struct mcm_target *t, const struct mcm_item *item);

/** Write server idx's name as --servers would spell it ("host:port",
 * "[v6]:port" or a socket path) into buf. */
void mcm_target_server_name(const struct mcm_target *t, uint32_t idx, char *buf, size_t size);

/** The index of the server named name ("host:port" or a socket path), or -1. */
int mcm_target_find_server(const struct mcm_target *t, const char *name);

/** Connect a pipe to server idx, guarded by t->guard (TLS, credentials: they
 * are done when it returns). @return 0, or an errno value with p->why set. */
int mcm_target_connect(const struct mcm_target *t, uint32_t idx, struct mcm_pipe *p, int timeout_ms);

/** Connect pipes[i] to server i for every server of t, or only to server
 * only when it is >= 0 (the others keep fd -1), and queue `stats settings`
 * on each (meta.h: the pipe then bounds values by the server's
 * item_size_max). A failure is reported under cmd. @return 0 or -1. */
int mcm_target_connect_all(const struct mcm_target *t, struct mcm_pipe *pipes, int only, int timeout_ms,
			   const char *cmd);

/** mcm_pipe_pump over pipes[0..n), a failed poll reported under cmd.
 * @return 0, or -1 when poll failed or a connected pipe broke. */
int mcm_target_pump(const char *cmd, struct mcm_pipe *pipes, size_t n, int wait_ms, int stall_ms,
		    mcm_pipe_reply_fn *fn, void *ctx);

#endif
