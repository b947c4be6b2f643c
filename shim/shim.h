/* shim.h - what the parts of libmcmirror.so share (internal; nothing here is exported).
 *
 *   hooks_storage.c, hooks_other.c  the exported libmemcached names: call the real
 *                                   function, then hand the outcome to mirror.c
 *   mirror.c    decides what the call did on the server
 *   writer.c    appends intents and outcomes to the journal; runs the drainer thread
 *   dlopen.c    lets libraries loaded with RTLD_DEEPBIND (PHP) see the hooks
 *   config.c    MCMIRROR_* environment variables
 *   log.c       rate-limited messages to stderr or MCMIRROR_LOG_FILE
 */
#ifndef MCM_SHIM_H
#define MCM_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libmemcached/memcached.h>

#include "mcm_store.h"

/** Marks the few symbols the library exports (the hooked libmemcached names
 * and dlopen); everything else is hidden (exports.map enforces it too). */
#define MCM_API __attribute__((visibility("default")))

/* ---- config.c ---- */

/** MCMIRROR_SYNC values. */
enum mcm_sync { MCM_SYNC_NONE = 0, MCM_SYNC_EVERYSEC = 1, MCM_SYNC_ALWAYS = 2 };

/** The settings, copied at load time into memory the library owns (never a
 * pointer into the environment block, which process titles overwrite). */
struct mcm_config {
	int enabled;          /**< 0 when MCMIRROR_DISABLE, ONLY/SKIP_CMDS, the tool itself or a refused
				   MCMIRROR_PATH say so */
	int path_refused;     /**< MCMIRROR_PATH was too long to keep */
	char path[4096];      /**< MCMIRROR_PATH or the default */
	int log_level;        /**< MCMIRROR_LOG: 0 silent, 1 errors (default), 2 warnings, 3 debug */
	char log_file[4096];  /**< MCMIRROR_LOG_FILE, or "" for stderr */
	size_t mapsize;       /**< MCMIRROR_MAPSIZE, initial map size (0 = store default) */
	enum mcm_sync sync;   /**< MCMIRROR_SYNC */
	size_t journal_size;  /**< MCMIRROR_JOURNAL_SIZE, used when the journal is created */
};

/** The configuration, read from the environment once, by the library's
 * constructor (thread-safe, idempotent). */
const struct mcm_config *mcm_config_get(void);

/** The configuration as far as it has been read, without reading it: for
 * log.c, which config.c itself calls while reading (log fields come first). */
const struct mcm_config *mcm_config_peek(void);

/* ---- log.c ---- */

/** Causes that are logged once per process (the first occurrence only). */
enum mcm_cause {
	MCM_CAUSE_CONFIG = 0,
	MCM_CAUSE_OPEN,
	MCM_CAUSE_WRITE,
	MCM_CAUSE_POOL,
	MCM_CAUSE_ENCRYPTED,
	MCM_CAUSE_REAL,
	MCM_CAUSE_LOST_DROP,
	MCM_CAUSE_COUNT
};

/** Log at level (1 error, 2 warning, 3 debug) when MCMIRROR_LOG allows it.
 * One write(2), no allocation; at most a few hundred messages per process. */
void mcm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Log an error once per cause per process (again after fork). */
void mcm_log_once(enum mcm_cause cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Forget which causes were logged (in a child after fork). */
void mcm_log_reset(void);

/* ---- mirror.c ---- */

/** The writes the shim understands. */
enum mcm_call_op {
	MCM_CALL_SET, MCM_CALL_ADD, MCM_CALL_REPLACE, MCM_CALL_APPEND, MCM_CALL_PREPEND, MCM_CALL_CAS,
	MCM_CALL_DELETE, MCM_CALL_INCR, MCM_CALL_DECR, MCM_CALL_INCR_INIT, MCM_CALL_DECR_INIT,
	MCM_CALL_TOUCH, MCM_CALL_FLUSH
};

/** One intercepted call: its arguments, the client's modes, and its result. */
struct mcm_call {
	enum mcm_call_op op;
	memcached_st *mc;
	int by_key;             /**< a *_by_key form: group is the routing key */
	const char *group;
	size_t group_len;
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	time_t expiration;
	uint32_t flags;
	uint64_t cas;
	uint64_t offset;        /**< incr/decr */
	uint64_t initial;       /**< *_with_initial */
	uint64_t result;        /**< incr/decr: the value the call returned */
	memcached_return_t rc;
	/* the client's modes, read before the call */
	uint8_t binary, noreply, buffered, udp, encrypted;
	/* where the write goes, worked out before the call (mirror.c) */
	uint64_t intent;        /**< journal intent id */
	struct mcm_pool pool;
	uint16_t ns_len;
	size_t wire_len;
	char wire[MCM_NAMESPACE_MAX + MCM_KEY_MAX]; /**< namespace + key */
};

/** Start recording the call described by c (op, mc and the argument fields
 * set, the rest zero). Returns 0 when the call must simply pass through (the
 * shim is off, this is a nested call of an outer hook on this thread, or the
 * mirror is unusable); else reads the client's modes, notes the intent in the
 * journal and enters the per-thread depth. */
int mcm_mirror_begin(struct mcm_call *c);

/** Record the outcome of the call begun with mcm_mirror_begin, leave the
 * depth, and restore errno to what the real call left. */
void mcm_mirror_end(struct mcm_call *c);

/* ---- writer.c ---- */

/** Append the intent to write key (key_len 0: the whole pool, a flush) of
 * pool to the journal, before the call is sent.
 * @param[out] id the intent id for mcm_writer_outcome
 * @return 0, or -1 when the mirror is unusable (the call passes through). */
int mcm_writer_intent(const struct mcm_pool *pool, const char *key, size_t key_len, uint64_t *id);

/** Append what the call did (m->op MCM_OP_NONE: nothing) and, with
 * MCMIRROR_SYNC=always, wait until it is on disk. */
void mcm_writer_outcome(uint64_t id, const struct mcm_mutation *m);

/** The real libmemcached function name (cached in *slot); NULL if it cannot
 * be found (logged once). */
void *mcm_real(void **slot, const char *name);

#endif
