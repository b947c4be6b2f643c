/* sqlbatch.h - what the SQL sinks and sources share: a batch of changes kept until commit, and the
 * schema every backend writes (docs/SQL.md).
 *
 * A sink (sink_pg.c, sink_mysql.c) queues the changes `follow` gives into a
 * batch and writes it in one database transaction at commit: the rows of
 * each stretch between two flushes deduplicated (a key's last change wins)
 * and sorted by key bytes (so that two hosts writing the same keys lock rows
 * in the same order), then the flush, and so on. Keeping the batch until
 * commit lets a transaction the database aborted (a deadlock between two
 * hosts, a serialization failure) be run again.
 *
 * Also here: the URL of a database as it may be shown (never a password),
 * and the text of a database's error as one line.
 */
#ifndef MCM_SQLBATCH_H
#define MCM_SQLBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mcm_stream.h"

/** The schema version this build writes and reads (row "schema_version" of mcmirror_meta). */
#define MCM_SQL_SCHEMA_VERSION 1

/** The state column of mcmirror_items. */
enum mcm_sql_state { MCM_SQL_LIVE = 1, MCM_SQL_DELETED = 2, MCM_SQL_DROPPED = 3 };

/** The state's name as stored ("live", "deleted", "dropped"). */
const char *mcm_sql_state_name(int state);

/** The state a name stands for, or 0. */
int mcm_sql_state_of(const char *name, size_t len);

/** One row to write: the newest change of a key in its stretch. Pointers
 * refer to the batch's own copies. */
struct mcm_sql_row {
	const char *key;
	size_t key_len;
	const char *grp; /**< NULL: placed by the key (MCM_GROUP_KEY) */
	size_t grp_len;
	const char *value; /**< NULL unless live */
	size_t value_len;
	uint16_t ns_len;
	uint8_t state;     /**< enum mcm_sql_state */
	uint32_t flags;
	int64_t exptime;
	uint64_t wtime_us;
	uint64_t seq;
};

/** What a stretch of the batch is. */
enum mcm_sql_op_kind {
	MCM_SQL_ROWS = 1,  /**< rows[first .. first + count) */
	MCM_SQL_FLUSH,     /**< the origin's pool was flushed: its rows count as deleted from here */
	MCM_SQL_FLUSH_AT   /**< the origin's pool has a delayed flush at flush_time */
};

struct mcm_sql_chunk;

struct mcm_sql_op {
	enum mcm_sql_op_kind kind;
	size_t first, count;
	int64_t flush_time;
};

struct mcm_sql_batch {
	struct mcm_sql_row *rows;
	size_t nrows, rows_cap;
	struct mcm_sql_op *ops;
	size_t nops, ops_cap;
	struct mcm_sql_chunk *chunks; /**< copies of keys, group keys and values (never moved) */
	size_t bytes;            /**< bytes of keys and values queued */
	uint64_t changes;        /**< changes queued (before deduplication) */
	uint64_t first_seq;      /**< seq of the first SET or DELETE queued (0: none) */
	int first_is_flush;      /**< the first change queued was a FLUSH (a resynchronisation starts so) */
	int64_t flush_time;      /**< the origin's delayed flush after the batch (-1: unchanged) */
	int sealed;
};

void mcm_sqlbatch_init(struct mcm_sql_batch *b);

/** Forget what was queued (memory is kept for the next batch). */
void mcm_sqlbatch_reset(struct mcm_sql_batch *b);

void mcm_sqlbatch_free(struct mcm_sql_batch *b);

/** Queue one change. A damaged record becomes a dropped row written at now_us
 * (its own write time cannot be trusted). @return 0 or ENOMEM. */
int mcm_sqlbatch_add(struct mcm_sql_batch *b, const struct mcm_change *c, uint64_t now_us);

/** Before writing: each stretch of rows sorted by key bytes, a key's last
 * change only. Idempotent. */
void mcm_sqlbatch_seal(struct mcm_sql_batch *b);

/** Bytes of keys and values a sink queues before it starts writing the batch (in its transaction,
 * left open until commit): follow's batches count changes, and values can be large. */
#define MCM_SQL_EARLY_BYTES ((size_t)16 << 20)

/** A sink's transaction while it is open. */
struct mcm_sql_txn {
	int open;
	int have;           /**< the store had this origin's position row when the transaction locked it */
	uint64_t db_pos;    /**< and its position */
	uint64_t changes;   /**< changes written in it so far */
	uint64_t repeats;   /**< of them, given at or below db_pos (not in a resynchronisation) */
	int64_t flush_time; /**< the origin's delayed flush to save (-1: unchanged) */
	unsigned stretches; /**< stretches of rows written so far */
};

/** Account for the batch about to be written in t (sealed first). */
void mcm_sqlbatch_account(struct mcm_sql_batch *b, struct mcm_sql_txn *t);

/** What a sink last knew of its position in the store: read by position(), or committed. */
struct mcm_sql_pos {
	int known; /**< position() was called or a batch committed since the sink was opened */
	int have;  /**< the store had a position row */
	uint64_t pos;
};

/** In the commit's transaction, with the position row locked (have, pos as read): is it what the sink
 * knew? A follower killed in the middle of a commit can have its transaction finished by the server
 * after a new session read the position, and two followers of one mirror and pool may run at once:
 * their batches must not be applied on top of each other. @return 0, or -1 with why set (the caller
 * rolls back; follow reads the position again and streams from there). */
int mcm_sql_pos_check(struct mcm_sql_pos *k, int have, uint64_t pos, const char *desc, char *why, size_t size);

/** What both SQL sinks do with `follow`'s changes and commits, given their backend's steps: queue a
 * change (a batch past MCM_SQL_EARLY_BYTES is written at once, in the transaction its commit ends);
 * commit: write what is queued and the position in one transaction, run again (up to
 * MCM_SQL_RETRIES times, with a growing pause) when the database aborted it for a deadlock or a
 * serialization race; after any failure roll back, and forget the known position when the
 * connection was lost (a COMMIT lost on its way back may have committed). */
struct mcm_sql_steps {
	int (*connect)(void *sink, char *why, size_t size);  /**< connected (again if need be), or -1 */
	int (*begin)(void *sink, char *why, size_t size);    /**< open the transaction (txn->open = 1) */
	int (*write_queued)(void *sink, char *why, size_t size);
	int (*finish)(void *sink, uint64_t position, char *why, size_t size); /**< position, COMMIT, txn closed */
	void (*rollback)(void *sink);                        /**< ROLLBACK on a live connection */
	int (*connected)(const void *sink);                  /**< is the connection still there? */
	int (*retryable)(const void *sink);                  /**< did the last failure ask for a retry? */
};

/** The state of a sink the steps share with the driver. */
struct mcm_sql_sinkstate {
	struct mcm_sql_batch *batch;
	struct mcm_sql_txn *txn;
	struct mcm_sql_pos *known;
	const char *desc; /**< the database as shown in messages */
};

#define MCM_SQL_RETRIES 5

/** Queue c (sink_ops.change). @return 0, or -1 with why set (the batch and any open transaction
 * given up). */
int mcm_sqlsink_change(const struct mcm_sql_steps *st, void *sink, const struct mcm_sql_sinkstate *ss,
		       const struct mcm_change *c, char *why, size_t size);

/** Commit the batch with position (sink_ops.commit). @return 0, or -1 with why set. */
int mcm_sqlsink_commit(const struct mcm_sql_steps *st, void *sink, const struct mcm_sql_sinkstate *ss,
		       uint64_t position, char *why, size_t size);

/** Give up the batch and any open transaction. */
void mcm_sqlsink_abandon(const struct mcm_sql_steps *st, void *sink, const struct mcm_sql_sinkstate *ss);

/** url as it may be shown: the password of the user part and any
 * password=... parameter removed ("postgresql://u:pw@db1/cache" ->
 * "postgresql://u@db1/cache"). Always NUL-terminated, cut to size. */
void mcm_sql_redact(const char *url, char *out, size_t size);

/** Remove from msg (in place) what url would give away: the URL itself becomes its redacted form,
 * and its password (of the user part or a password=... parameter, raw or percent-decoded) "***".
 * @param[in] size msg's buffer size */
void mcm_sql_scrub(char *msg, size_t size, const char *url);

/** A database's message as one line: a line break between two sentences (the next line starts with an
 * upper-case letter, or this one ends with punctuation) becomes "; ", other runs of white space one
 * space; trailing ones go. In place. */
void mcm_sql_oneline(char *msg);

/** Set why to "<desc>: <fmt...>" (one line, cut to size). */
void mcm_sql_why(char *why, size_t size, const char *desc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** Say once, on stderr, how far this host's clock is from the database's
 * when it matters for newest-write-wins (|skew| >= 100 ms; -v: always), and
 * the spread between the hosts that ship into it (from their recorded skews).
 * @param[in] others skews recorded by the other origins (µs), n of them */
void mcm_sql_report_skew(const char *cmd, const char *desc, int64_t skew_us, const int64_t *others, size_t n);

/** This host's name for the positions table (gethostname, "?" if none). */
const char *mcm_sql_hostname(void);

#endif
