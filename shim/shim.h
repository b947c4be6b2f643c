/* shim.h - what the parts of libmcmirror.so share (internal; nothing here is exported).
 *
 *   hooks_storage.c, hooks_other.c  the exported libmemcached names: call the real
 *                                   function, then hand the outcome to mirror.c
 *   mirror.c    decides what the call did on the server
 *   pools.c     the pool of a client handle, described once per thread
 *   sasl.c      notes the handles that authenticate with SASL (for their pool records)
 *   writer.c    appends intents and outcomes to the journal; runs the drainer thread
 *   step.c      server connections whose replies are out of step with their requests
 *   textproto.c what the text protocol's server makes of a call's key and value bytes
 *   dlopen.c    lets libraries loaded with RTLD_DEEPBIND (PHP) see the hooks
 *   config.c    MCMIRROR_* environment variables
 *   log.c       rate-limited messages to stderr or MCMIRROR_LOG_FILE
 */
#ifndef MCM_SHIM_H
#define MCM_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <libmemcached/memcached.h>

#include "mcm_journal.h"
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
	size_t max_bytes;     /**< MCMIRROR_MAX_BYTES: cap on the mirror's records (0 = none) */
	unsigned tombstone_ttl; /**< MCMIRROR_TOMBSTONE_TTL, seconds (default MCM_TOMBSTONE_TTL_DEFAULT) */
	unsigned drain_step;  /**< MCMIRROR_TEST_DRAIN_STEP: records per drain transaction, for
				   benchmarks (0: the drainer's own cap) */
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
	MCM_CAUSE_STEP,
	MCM_CAUSE_LAYOUT,
	MCM_CAUSE_REINDEX,
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

/** One intercepted call: its arguments, the client's modes, and its result.
 * Small, so that the hooks' zero initialisation costs little: the pool and
 * the wire key live in the thread's state (pools.c). */
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
	uint8_t step;           /**< enum mcm_step of the call's connection, before the call */
	uint8_t text;           /**< enum mcm_text: what the text protocol's server makes of it */
	uint16_t tok_off, tok_len; /**< MCM_TEXT_CALL_SPLIT: the first word of the wire key, the key
				        the server acts on (tok_len 0: none) */
	uint64_t intent2;       /**< the journal intent of that word's key */
	/* where the write goes, worked out before the call (mirror.c) */
	uint64_t intent;        /**< journal intent id */
	uint8_t one;            /**< recorded as one journal record (mcm_writer_write): resolved after */
	uint8_t expect;         /**< then: the enum mcm_op it holds */
	uint64_t now_us;        /**< then: the clock before the call (the write's time) */
	struct mcm_jticket ticket; /**< then: where the record is */
	const struct mcm_pool *pool; /**< the thread's description of mc's pool (pools.c) */
	uint16_t ns_len;
	size_t wire_len;
	char *wire;             /**< namespace + key, in the thread's buffer (pools.c) */
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

/* ---- layout.c ---- */

/** The hash functions of a handle's hashkit, as its pool description was built with. */
struct mcm_hashes {
	hashkit_hash_fn base, dist;
};

/** 1 when the shim reads the client's modes from its memcached_st (the
 * libmemcached in the process is the version of the shim's headers, and no
 * check has found a difference), 0 when it uses the getters. */
int mcm_layout_direct(void);

/** Is runtime (memcached_lib_version()) the version of the shim's headers? */
int mcm_layout_same_version(const char *runtime);

/** Set c's binary, noreply, buffered, udp and encrypted from mc. */
void mcm_layout_modes(memcached_st *mc, struct mcm_call *c);

/** The same through libmemcached's getters only (what the structure is checked against). */
void mcm_layout_modes_by_getters(memcached_st *mc, struct mcm_call *c);

/** Does mc still have the behaviours of pool description p, built when its
 * hash functions were h (the distribution, the key and distribution hashes,
 * whether the namespace is hashed)? */
int mcm_layout_same_behaviours(memcached_st *mc, const struct mcm_pool *p, const struct mcm_hashes *h);

/** mc's namespace (memcached_callback_get(MEMCACHED_CALLBACK_NAMESPACE)), NULL when none. */
const char *mcm_layout_namespace(memcached_st *mc);

/** memcached_server_count(mc). */
uint32_t mcm_layout_server_count(const memcached_st *mc);

/** The hash functions of mc, for mcm_layout_same_behaviours. */
void mcm_layout_hashes(const memcached_st *mc, struct mcm_hashes *h);

/** Compare what mc's structure says with its getters; on a difference stop
 * reading structures for good (logged once). Called when a pool is described.
 * @return 0, or -1 when it found a difference. */
int mcm_layout_check(memcached_st *mc);

/* ---- pools.c ---- */

/** The pool mc writes to, as of now, and this thread's buffer for a wire key
 * (MCM_NAMESPACE_MAX + MCM_KEY_MAX bytes). A thread keeps the descriptions of
 * the last few handles it used and checks them against the handle on each
 * call (server count, instances, names, ports, types, the pool's behaviours).
 * Both pointers stay valid until the thread's next call of this function.
 * @return 0, ENOMEM, or mcm_pool_describe's ENOENT / ENAMETOOLONG. */
int mcm_pools_describe(memcached_st *mc, const struct mcm_pool **pool, char **wire);

/* ---- classify.c ---- */

/** What the call c did on the server, as the mutation m (op and its fields;
 * the key and pool are the caller's); 0 when the mirror stays as it is. */
int mcm_classify(const struct mcm_call *c, struct mcm_mutation *m, int64_t now);

/** Before the call: is its outcome known in advance, if the server does as
 * asked, but for its time? A set, add, replace, cas, append, prepend, touch
 * or delete on a reliable connection (a set or a delete on another), in
 * step, nothing odd in its key. */
int mcm_classify_expectable(const struct mcm_call *c);

/** The mutation of such a call if the server does as asked (m zeroed before). */
void mcm_classify_expected(const struct mcm_call *c, struct mcm_mutation *m, int64_t now);

/** Is c's return code the server's answer to it (not NOREPLY, not UDP, not
 * binary with BUFFER_REQUESTS)? */
static inline int mcm_reliable(const struct mcm_call *c)
{
	return !c->noreply && !c->udp && !(c->binary && c->buffered);
}

/** Return codes that mean "sent" and "stored/deleted/queued". */
static inline int mcm_succeeded(memcached_return_t rc)
{
	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED || rc == MEMCACHED_DELETED ||
	       rc == MEMCACHED_BUFFERED;
}

/** For a call mcm_classify_expectable accepted: did it do as asked (then
 * its mutation is mcm_classify_expected's, but for its time: mcm_classify
 * says so too)? */
static inline int mcm_classify_as_asked(const struct mcm_call *c)
{
	return !(c->text | c->step) && mcm_succeeded(c->rc);
}

/** An error libmemcached returns before sending anything: the server is unchanged. */
static inline int mcm_not_sent(memcached_return_t rc)
{
	return rc == MEMCACHED_INVALID_ARGUMENTS || rc == MEMCACHED_BAD_KEY_PROVIDED ||
	       rc == MEMCACHED_NOT_SUPPORTED || rc == MEMCACHED_NO_SERVERS;
}

/** set, add, replace, append, prepend, cas. */
static inline int mcm_is_storage(enum mcm_call_op op)
{
	return op <= MCM_CALL_CAS;
}

/* ---- textproto.c ---- */

/** mcm_text_key: bits saying what memcached's text protocol makes of a wire key. */
#define MCM_TEXT_TOO_LONG 1u /**< over 250 bytes: the command is refused */
#define MCM_TEXT_SPLIT 2u    /**< holds a space, a newline or a NUL: the server reads other words */
#define MCM_TEXT_NEWLINE 4u  /**< holds a newline: the line ends inside it; the rest are commands */

/** The exact answer of mcm_text_key, once a byte below 0x21 was seen. */
unsigned mcm_text_key_slow(const char *wire, size_t len);

/** What the text protocol does with the wire key (namespace + key) of len bytes:
 * 0 (it carries it) or MCM_TEXT_* bits. Cheap: eight bytes at a time look for a
 * byte below 0x21, rare in keys (exact: a borrow only follows such a byte). */
static inline unsigned mcm_text_key(const char *wire, size_t len)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t w, low = 0;

	if (len >= 8) {
		for (size_t i = 0; i + 8 <= len; i += 8) {
			memcpy(&w, wire + i, 8);
			low |= (w - ones * 0x21) & ~w & highs;
		}
		memcpy(&w, wire + len - 8, 8); /* the tail, overlapping */
		low |= (w - ones * 0x21) & ~w & highs;
	} else {
		for (size_t i = 0; i < len; i++)
			low |= (unsigned char)wire[i] < 0x21;
	}
	if (low)
		return mcm_text_key_slow(wire, len);
	return len > 250 ? MCM_TEXT_TOO_LONG : 0;
}

/** The first word the server's tokenizer reads from a split wire key (leading
 * spaces skipped, up to a space or a NUL): its length, and its offset in *off. */
size_t mcm_text_first_token(const char *wire, size_t len, size_t *off);

/** Read as command lines (as the server reads a data block of a refused storage
 * command), can the value change an item or make the server wait for data?
 * 1 when none of its lines begins with such a command word. */
int mcm_text_value_inert(const char *value, size_t len);

/** How a call's key and value fare on the text protocol (mcm_call.text). */
enum mcm_text {
	MCM_TEXT_CALL_PLAIN = 0, /**< as the application meant it */
	MCM_TEXT_CALL_REFUSED,   /**< a storage command refused before its data block, which held no
				      command that writes: nothing changed, the connection is out of step */
	MCM_TEXT_CALL_SPLIT,     /**< a one-line command (delete, incr, decr, touch) whose key the server
				      split: it acted on the key's first word, perhaps */
	MCM_TEXT_CALL_INJECTED   /**< commands the application did not mean may have run (a split key
				      in a storage command, a newline in a key, a refused data block
				      holding commands that write) */
};

/* ---- step.c ---- */

/** How far a connection's replies are from its requests. */
enum mcm_step {
	MCM_STEP_IN = 0,      /**< each reply is the call's own */
	MCM_STEP_OUT = 1,     /**< replies belong to earlier requests: return codes mean nothing */
	MCM_STEP_INJECTED = 2 /**< also, commands the application did not send may still be running on
				   the server (one waiting for data takes the bytes of later requests) */
};

/** Connections noted out of step in this process (0: none, the common case). */
extern unsigned mcm_step_noted;

static inline int mcm_step_any(void)
{
	return __atomic_load_n(&mcm_step_noted, __ATOMIC_RELAXED) != 0;
}

/** The step of the connection a call with routing key (route, len) uses, before
 * the call (a noted connection whose socket libmemcached closed or replaced is
 * in step again, and forgotten). Call only from the thread using mc. */
int mcm_step_check(memcached_st *mc, const char *route, size_t len);

/** Note, after a call, that the connection it used is at level (enum mcm_step);
 * nothing when libmemcached has closed it already. Counted (out_of_step). */
void mcm_step_mark(memcached_st *mc, const char *route, size_t len, int level);

/** Forget what is noted about mc's connections (memcached_free). */
void mcm_step_forget(const memcached_st *mc);

/* ---- sasl.c ---- */

/** Does mc authenticate with SASL (the library holds SASL callbacks for it,
 * set by memcached_set_sasl_auth_data or _callbacks, or copied by a clone)?
 * Always 0, without asking, in a process that never set SASL data. */
int mcm_sasl_of(memcached_st *mc);

/* ---- writer.c ---- */

/** Append the intent to write key (key_len 0: the whole pool, a flush) of
 * pool to the journal, before the call is sent.
 * @param[out] id the intent id for mcm_writer_outcome
 * @return 0, or -1 when the mirror is unusable (the call passes through). */
int mcm_writer_intent(const struct mcm_pool *pool, const char *key, size_t key_len, uint64_t *id);

/** Append what the call did (m->op MCM_OP_NONE: nothing) and, with
 * MCMIRROR_SYNC=always, wait until it is on disk. */
void mcm_writer_outcome(uint64_t id, const struct mcm_mutation *m);

/** One record a write (mcm_journal_resolve), before the call: append m, the
 * mutation the call makes if the server does as asked (written to the journal
 * as the call's id *id: the outcome that may have to follow carries it).
 * Only while mcm_writer_one_record() says so.
 * @return 0 (*id, *t set), 1 when the write is to be recorded as an intent
 * and an outcome instead (a value too large for one record), or -1 when the
 * mirror is unusable (the call passes through). */
int mcm_writer_write(const struct mcm_mutation *m, uint64_t *id, struct mcm_jticket *t);

/** Are writes recorded as one record now (the journal is open, a drainer of
 * format 4 said it reads them, and MCMIRROR_SYNC is not always)? */
int mcm_writer_one_record(void);

/** After the call recorded by mcm_writer_write, which made the mutation
 * appended (of op op): resolve its record.
 * @return 0, or -1 when the record was taken over by the drainer meanwhile
 * (or the call took too long): the caller appends the outcome
 * (mcm_writer_outcome with the record's id). */
int mcm_writer_resolve(const struct mcm_jticket *t, enum mcm_op op);

/** Add one to a counter of the mirror (when it is open). */
void mcm_writer_count(int which);

/** The real libmemcached function name (cached in *slot); NULL if it cannot
 * be found (logged once). */
void *mcm_real(void **slot, const char *name);

#endif
