/* mcm_store.h - the mirror store: one LMDB environment holding what memcached holds.
 *
 * This module owns the on-disk record format (docs/FORMAT.md). The preloaded
 * shim writes through mcm_store_apply(); the mcmirror tool reads through the
 * iterators. Nothing else in the project touches LMDB directly.
 *
 * Layout of the environment (a directory, MCMIRROR_PATH):
 *   data.mdb, lock.mdb  LMDB's own files (mode 0600, directory 0700)
 *   counters            the shim's shared counters (mcm_counters.h)
 * Named databases inside it:
 *   "meta"   format version and creation time
 *   "pools"  pool id (8 bytes, big-endian) -> pool record
 *   "items"  pool id (8 bytes BE) + wire key -> item record
 *   "seq"    sequence number (8 bytes BE) -> pool id (8 bytes BE) + wire key
 *   "followers"  follower name -> its confirmed position (mcm_follower)
 *
 * Every change to "items" takes the next sequence number, so "seq" lists
 * every current record once, oldest write first. An item's previous entry is
 * removed in bulk at the end of the transaction, or later by the sweep: a
 * reader skips an entry whose record is gone or carries another number.
 *
 * Thread safety: a struct mcm_store may be shared by the threads of one
 * process. It must not be used in a child after fork(): open a new one.
 */
#ifndef MCM_STORE_H
#define MCM_STORE_H

#include <stddef.h>
#include <stdint.h>

/** The mirror's format version written by this build (docs/FORMAT.md §1.9):
 * 3 packs the seq index's entries in bundles; 4 (the same layout) has its
 * journal's writers append one record a write (MCM_J_WRITE), which a drainer
 * of format 3 would skip. Versions 1 to 3 are read too; the first writable
 * open upgrades them. */
#define MCM_FORMAT_VERSION 4
/** The layout version of item and pool records (their first byte): 2 since
 * format 2 (version 1 records are read too). */
#define MCM_RECORD_VERSION 2
/** Where the mirror lives when MCMIRROR_PATH is not set. */
#define MCM_DEFAULT_PATH "/var/lib/mcmirror"
/** Longest wire key (namespace + key) memcached accepts. */
#define MCM_KEY_MAX 250
/** Longest namespace libmemcached accepts (MEMCACHED_MAX_NAMESPACE - 1). */
#define MCM_NAMESPACE_MAX 127
/** Longest canonical server list kept for a pool. */
#define MCM_SERVERS_MAX 2048

/** @defgroup errors Return codes
 * Functions return 0 on success, a positive errno value, an LMDB code
 * (negative, see lmdb.h), or one of these. mcm_strerror() names them all.
 * @{ */
#define MCM_END      (-40001) /**< iterator exhausted */
#define MCM_EFORMAT  (-40002) /**< a record or the environment has an unknown format */
#define MCM_ENOTFOUND (-40003) /**< no such item or pool */
#define MCM_ETRUNCATED (-40004) /**< data.mdb is shorter than its own header says: damaged or cut short */
#define MCM_EDAMAGED (-40005) /**< a record's checksum does not match or a field is out of range: skipped */
#define MCM_EINVALID (-40006) /**< a mutation the store must not apply (mcm_mutation_valid) */
#define MCM_EEMPTY   (-40007) /**< data.mdb exists but is empty (a read-only open cannot make it a mirror) */
/** @} */

/** A pool is a list of servers; its id is a hash of the canonical list. */
typedef uint64_t mcm_pool_id;

/** What an item record says about its key. */
enum mcm_kind {
	MCM_KIND_VALUE = 1,   /**< the server holds this value */
	MCM_KIND_DELETED = 2, /**< the application deleted the key (or the server said it is absent) */
	MCM_KIND_DROPPED = 3  /**< the outcome of a write was unknown: the mirror no longer vouches for the key */
};

/** How the application's client picked the server for a key. */
enum mcm_group {
	MCM_GROUP_KEY = 0,     /**< hashed the key without its namespace (plain calls) */
	MCM_GROUP_EXPLICIT = 1 /**< hashed an explicit group key (the *_by_key calls; may be empty) */
};

/** One mirrored key. For records read from the store, the pointers point into
 * LMDB's map and stay valid until the next call on the same iterator or txn. */
struct mcm_item {
	mcm_pool_id pool;
	uint8_t kind;        /**< enum mcm_kind */
	uint8_t group_mode;  /**< enum mcm_group */
	uint16_t ns_len;     /**< leading bytes of key that are the namespace */
	uint32_t flags;      /**< memcached client flags */
	int64_t exptime;     /**< absolute expiry, Unix seconds; 0 = never (mcm_expiry.h) */
	uint64_t wtime_us;   /**< wall-clock time of the write, microseconds since the epoch */
	uint64_t seq;        /**< change sequence number (assigned by the store) */
	const char *key;     /**< wire key: namespace + key, as the server stores it */
	size_t key_len;
	const char *group;   /**< group key, when group_mode is MCM_GROUP_EXPLICIT */
	size_t group_len;
	const char *value;
	size_t value_len;
};

/** A pool record. */
struct mcm_pool {
	mcm_pool_id id;
	uint64_t created_us;     /**< first write seen */
	uint64_t flush_seq;      /**< items with seq <= flush_seq were flushed; 0 = none */
	int64_t flush_time;      /**< delayed flush: items written at or before this second
	                              are gone once the clock reaches it; 0 = none */
	uint32_t distribution;   /**< memcached_server_distribution_t as last seen */
	uint32_t key_hash;       /**< memcached_hash_t of the key hash */
	uint32_t dist_hash;      /**< memcached_hash_t of the distribution hash */
	uint8_t hash_with_namespace; /**< MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY */
	uint8_t encrypted;       /**< a write with an encoding key was seen: not mirrored */
	uint8_t sasl;            /**< the client authenticated with SASL (memcached_set_sasl_auth_data):
				      restoring needs credentials */
	char servers[MCM_SERVERS_MAX]; /**< canonical list, e.g. "127.0.0.1:11211,/run/mc.sock" */
};

/** What a write did on the server, as the shim determined it. */
enum mcm_op {
	MCM_OP_NONE = 0, /**< nothing changed on the server (journal outcomes only) */
	MCM_OP_PUT = 1, /**< the server now holds value, flags, exptime */
	MCM_OP_APPEND,  /**< the server appended value: extend the mirrored value, or drop */
	MCM_OP_PREPEND, /**< the same, prepended */
	MCM_OP_DELTA,   /**< incr/decr: the server now holds the number `result` */
	MCM_OP_TOUCH,   /**< the server set a new expiry */
	MCM_OP_DELETE,  /**< the key is absent on the server */
	MCM_OP_DROP,    /**< unknown outcome: forget the key */
	MCM_OP_FLUSH,   /**< flush_all on every server of the pool (delay in exptime) */
	MCM_OP_ENCRYPTED, /**< the pool uses an encoding key: mark it, drop the key */
	MCM_OP_RESTORE,  /**< `mcmirror load` and `import`: write the record exactly as given
	                      (kind, flags, exptime, wtime_us, ns_len, group, value, and seq when
	                      non-zero), unless the mirror's record for the key was written at or
	                      after wtime_us (last writer wins; a tie keeps the mirror's) */
	MCM_OP_RESTORE_POOL /**< `mcmirror load`: when the mirror has no record of m->pool, write it
	                         exactly as given (created_us and flush markers included); when it
	                         has one, only take over a later delayed flush (flush_time) and the
	                         encrypted mark. Numbers handed out afterwards exceed its flush_seq. */,
	MCM_OP_FORGET_ALL /**< writes were lost (the journal was full): every pool is marked flushed
	                       as of now, so that nothing written before is replayed (no pool or key) */
};

/** One change to apply. The pool descriptor's id must be set; the rest of it
 * is stored when the pool is first seen (and the behaviours refreshed). */
struct mcm_mutation {
	enum mcm_op op;
	const struct mcm_pool *pool;
	const char *key;      /**< wire key (namespace + key); unused for FLUSH */
	size_t key_len;
	uint16_t ns_len;
	uint8_t group_mode;
	const char *group;
	size_t group_len;
	const char *value;    /**< PUT, APPEND, PREPEND */
	size_t value_len;
	uint32_t flags;       /**< PUT */
	int64_t exptime;      /**< PUT, TOUCH, DELTA-created: absolute (mcm_expiry.h);
	                           FLUSH: absolute time of a delayed flush, 0 = now */
	uint64_t wtime_us;    /**< time of the write; 0 = now */
	/* MCM_OP_DELTA: incr/decr by `delta` returned `result`. A *_with_initial
	 * call sets `with_initial` and `initial`: a result equal to it is
	 * ambiguous (created, or incremented to it) and drops the key. */
	uint64_t delta;
	uint64_t result;
	uint64_t initial;
	uint8_t incr;         /**< 1 incr, 0 decr */
	uint8_t with_initial;
	/* MCM_OP_RESTORE: the record's kind (enum mcm_kind; DELETED and DROPPED
	 * records are written with their flags, exptime and value as given), and
	 * the sequence number to keep, or 0 for the next one. A kept number must
	 * not belong to another record (EEXIST); later numbers exceed it. */
	uint8_t kind;
	uint64_t seq;
};

/** MCM_OP_DELTA with `with_initial` set to this: the call's reply gave no number (an error,
 * NOREPLY): the server changed the item only if it held a number by memcached's rule, so a
 * mirrored value that is not one is kept, and the key is dropped otherwise. */
#define MCM_DELTA_UNKNOWN 2

struct mcm_store;

/** Open flags. */
#define MCM_STORE_RDONLY 0x1 /**< read-only (tools that only read) */
#define MCM_STORE_CREATE 0x2 /**< create the directory (0700) if missing */
#define MCM_STORE_NOSYNC 0x4 /**< commits are not fsync'd (see docs/DURABILITY.md) */
#define MCM_STORE_NOMETASYNC 0x8 /**< a commit fsyncs its data; its meta page reaches the disk with
				      the next commit or sync (LMDB's MDB_NOMETASYNC: a power loss
				      may undo the last commit, never damages the file) */
#define MCM_STORE_BULKSEQ 0x10 /**< (the drainer, except in always mode) a write leaves the seq
				    entry it supersedes in place; the index is rebuilt in bulk once
				    there are two a record (store/reindex.c, FORMAT.md §1.5) */

/** The MCM_STORE_* flags st was opened with. */
unsigned mcm_store_flags(const struct mcm_store *st);

/** The mirror's format version as this handle reads it (MCM_FORMAT_VERSION
 * once a writable open upgraded it). */
unsigned mcm_store_format(const struct mcm_store *st);

/** Open (and with MCM_STORE_CREATE, create) the environment in directory path.
 *
 * LMDB keeps its reader table in lock.mdb, a file it creates and maps; on a
 * full filesystem touching that map kills the process with SIGBUS. So the
 * open first checks there is room for a lock file that must be created (or
 * that LMDB never initialised), and returns ENOSPC instead.
 *
 * A read-only open (MCM_STORE_RDONLY) never creates or changes a file of a
 * mirror that nothing writes. It reads without the lock table (MDB_NOLOCK:
 * nothing is written into the directory) when
 *   - there is no lock.mdb and no journal: a snapshot or a copy, which no
 *     shim opens (a process that writes creates lock.mdb first);
 *   - lock.mdb cannot be written (a read-only filesystem or a file of
 *     another user), or cannot be allocated (full filesystem).
 * Without the lock table a writer does not know of the reader and may
 * reuse pages it reads, so results could be inconsistent if a process
 * writes the mirror meanwhile: mcm_store_unlocked() says why the table was
 * not used and whether a process held it at open time.
 *
 * @param[out] out the store
 * @param[in] path directory
 * @param[in] flags MCM_STORE_*
 * @param[in] mapsize initial map size in bytes, 0 for the default; the map
 *            grows by itself when full
 * @return 0, an errno value (ENOENT, EACCES, ENOTDIR, ENOSPC...),
 *         MCM_EFORMAT for an environment written by an unknown format
 *         version, MCM_EEMPTY (read-only, data.mdb has no byte),
 *         MCM_ETRUNCATED, or an LMDB code.
 */
int mcm_store_open(struct mcm_store **out, const char *path, unsigned flags, size_t mapsize);

/** NULL when st uses LMDB's lock table (every writable store does); else why
 * a read-only store reads without it, e.g. "no lock.mdb and no journal: a
 * snapshot or a copy that nothing writes"; when a process held the lock file
 * at open time, the text starts with "in use by process N": the caller should
 * warn then. */
const char *mcm_store_unlocked(const struct mcm_store *st);

/** Close the store. Not after fork(): a child simply forgets its parent's store. */
void mcm_store_close(struct mcm_store *st);

/** Could m be applied? A known op; for ops on a key: a key of
 * 1..MCM_KEY_MAX + MCM_NAMESPACE_MAX bytes, ns_len <= key_len, a known group
 * mode (no group key in MCM_GROUP_KEY mode), a group key of at most 65535
 * bytes; RESTORE: a known kind and no value on a tombstone; FLUSH: a delay
 * >= 0. The drainer turns an invalid outcome into a drop of its key (or skips
 * it) instead of applying it. @return 1 or 0. */
int mcm_mutation_valid(const struct mcm_mutation *m);

/** Apply n mutations in one write transaction. Grows the map and retries
 * when LMDB reports it full, so the caller never sees MDB_MAP_FULL unless the
 * disk itself is full.
 * @return 0 or an error (MCM_EINVALID for a mutation that is not
 * mcm_mutation_valid); on error nothing was applied. */
int mcm_store_apply(struct mcm_store *st, const struct mcm_mutation *m, size_t n);

/** A value of the "meta" database, written in the same transaction as a batch. */
struct mcm_meta {
	const char *name;
	const void *data;
	size_t len;
};

/** mcm_store_apply, plus nmeta values of the "meta" database, atomically. */
int mcm_store_apply_meta(struct mcm_store *st, const struct mcm_mutation *m, size_t n, const struct mcm_meta *meta,
			 size_t nmeta);

/** Read a value of the "meta" database into buf (size bytes).
 * @param[out] len its full length (it was truncated if larger than size)
 * @return 0, MCM_ENOTFOUND or an error. */
int mcm_store_meta_get(struct mcm_store *st, const char *name, void *buf, size_t size, size_t *len);

/** Copy the environment into directory dir (which must exist and hold no
 * data.mdb) as it stands in one read transaction: a consistent point-in-time
 * copy, taken while other processes keep writing (mdb_env_copy2). Only the
 * LMDB data is copied (no journal, counters or lock file). The copy is not
 * fsync'd: the caller syncs dir/data.mdb.
 * @param[in] compact omit free pages and renumber them (MDB_CP_COMPACT)
 * @return 0, an errno value or an LMDB code. */
int mcm_store_copy(struct mcm_store *st, const char *dir, int compact);

/** Force the environment to disk (mdb_env_sync with force). */
int mcm_store_sync(struct mcm_store *st);

/** Look up one item (any kind) and its pool. The item's pointers refer to
 * copies owned by the store until the next call on st from this thread.
 * @return 0, MCM_ENOTFOUND or an error. */
int mcm_store_get(struct mcm_store *st, mcm_pool_id pool, const char *key, size_t key_len,
		  struct mcm_item *item);

/** This mirror's origin: 16 random bytes given at its first writable open,
 * as 32 lower-case hex digits (what an external store records as the
 * writer of a row). @return 0, MCM_ENOTFOUND (a mirror only ever opened
 * read-only) or an error. */
int mcm_store_origin(struct mcm_store *st, char hex[33]);

/** Read every pool record. *pools is malloc'd; free() it.
 * @return 0 or an error. */
int mcm_store_pools(struct mcm_store *st, struct mcm_pool **pools, size_t *n);

/** Read one pool record. @return 0, MCM_ENOTFOUND or an error. */
int mcm_store_pool(struct mcm_store *st, mcm_pool_id id, struct mcm_pool *pool);

/** Environment facts for `mcmirror stats`. */
struct mcm_store_info {
	uint32_t format_version;
	uint64_t created_us;
	uint64_t last_seq;       /**< highest sequence number handed out (numbers may go unused) */
	size_t map_size;         /**< current map size in bytes */
	size_t used_bytes;       /**< pages in use * page size */
	uint64_t entries;        /**< item records of every kind */
	uint64_t seq_entries;    /**< entries of the seq index (superseded ones included until removed) */
	uint64_t damaged_pools;  /**< pool records the last mcm_store_pools() left out as damaged */
	uint64_t reindexes;      /**< bulk rebuilds of the seq index by this handle (MCM_STORE_BULKSEQ) */
	int reindex_off;         /**< why this handle removes superseded entries one by one despite
				      MCM_STORE_BULKSEQ: 0, E2BIG (too many records), or the error
				      of its last rebuild (MCM_EDAMAGED: a record's number) */
};
int mcm_store_info(struct mcm_store *st, struct mcm_store_info *info);

/** Iteration order. */
enum mcm_order {
	MCM_ORDER_SEQ = 0, /**< oldest write first (replay, replication) */
	MCM_ORDER_KEY = 1  /**< by pool, then key bytes (dump) */
};

struct mcm_iter;

/** Iterate the items (every kind: filter with mcm_item_is_live()). The
 * iterator never holds a read transaction for more than a bounded batch of
 * records, so writers are not made to grow the file while a long walk runs;
 * records written during the walk may or may not be seen, and a record
 * rewritten during a walk in seq order is seen at its new position.
 * @param[in] from_seq with MCM_ORDER_SEQ, start at this sequence number */
int mcm_iter_open(struct mcm_store *st, enum mcm_order order, uint64_t from_seq, struct mcm_iter **it);

/** Next item. @return 0, MCM_END, MCM_EDAMAGED or an error. The item stays
 * valid until the next call on the iterator, or until a write through the
 * same store grows the map (the pointers then refer to the old mapping). A
 * record rewritten during a walk in seq order may be seen twice, old then new.
 * MCM_EDAMAGED: the next record failed its checksum or range checks; item
 * names it (pool, key, and its unverified seq) and nothing else of it may be
 * used; the walk goes on with the next call. Callers skip it, report it and
 * end with a failure status. */
int mcm_iter_next(struct mcm_iter *it, struct mcm_item *item);

void mcm_iter_close(struct mcm_iter *it);

/** Which read transaction (snapshot) the records last returned come from: a
 * number that changes when the iterator takes a new one. */
unsigned long mcm_iter_snapshot(const struct mcm_iter *it);

/** The pool record id as of the snapshot of the records last returned (what
 * a reader must judge them by, when it must not see a flush later than the
 * records it killed). @return 0, MCM_ENOTFOUND, MCM_EDAMAGED or an error. */
int mcm_iter_pool(struct mcm_iter *it, mcm_pool_id id, struct mcm_pool *pool);

/** @defgroup followers Followers: consumers of the change stream
 * A follower (`mcmirror follow`: a standby memcached, an external database)
 * registers under a name and saves the sequence number up to which its
 * target confirmed every change. The drainer's sweep keeps tombstones and
 * other removable records that some follower has not passed yet (for at most
 * MCMIRROR_TOMBSTONE_TTL); what it removes anyway raises the store's purge
 * horizon, and a follower whose position is below the horizon must
 * resynchronise (it may have missed a removal).
 * @{ */
#define MCM_FOLLOWER_NAME_MAX 64
struct mcm_follower {
	char name[MCM_FOLLOWER_NAME_MAX + 1]; /**< [A-Za-z0-9._@-], 1..64 bytes */
	uint64_t position;      /**< every change with seq <= position was applied by the target */
	uint64_t registered_us; /**< when it was first saved */
	uint64_t contact_us;    /**< last successful contact with its target */
	uint64_t applied_us;    /**< when position last moved */
	uint64_t resyncs;       /**< full resynchronisations done */
	uint64_t errors;        /**< errors met (target unreachable, refused) */
	int64_t flush_time;     /**< the last delayed flush it forwarded (per-mirror, 0 none) */
	char target[256];       /**< what it feeds, for stats ("127.0.0.1:11311", "postgresql://db1/cache") */
};

/** Is name a valid follower name? @return 1 or 0. */
int mcm_follower_name_ok(const char *name);

/** Save f (insert or replace by name) in one write transaction (synced unless
 * the store was opened with MCM_STORE_NOSYNC). @return 0, EINVAL for a bad
 * name, EROFS, or an LMDB error. */
int mcm_follower_put(struct mcm_store *st, const struct mcm_follower *f);

/** Read the follower name. @return 0, MCM_ENOTFOUND, MCM_EDAMAGED or an error. */
int mcm_follower_get(struct mcm_store *st, const char *name, struct mcm_follower *f);

/** Every follower (a malloc'd array: free() it). @return 0 or an error. */
int mcm_follower_list(struct mcm_store *st, struct mcm_follower **list, size_t *n);

/** Forget the follower name. @return 0, MCM_ENOTFOUND or an error. */
int mcm_follower_delete(struct mcm_store *st, const char *name);

/** The purge horizon: a follower whose position is below it may have missed
 * the removal of a record, and must resynchronise (0: nothing removed). */
int mcm_store_purge_horizon(struct mcm_store *st, uint64_t *horizon);
/** @} */

/** Do what the last write transaction left for after its commit: with
 * MCM_STORE_BULKSEQ, rebuild the seq index when due (store/reindex.c), in a
 * transaction of its own. The drainer calls it after each batch's commit,
 * before it publishes the batch's writes (a process that exits waits for
 * that; no writer waits for commits in the modes that set the flag). A
 * rebuild that fails leaves the index as it was (readers skip stale entries)
 * and the handle removes superseded entries one by one from then on
 * (mcm_store_info's reindex_off); when a record that checks out has a number
 * no record can have, the stale entries are removed once too.
 * @return 0, or the error that turned the rebuilds off. */
int mcm_store_tidy(struct mcm_store *st);

/** @defgroup sweep The sweep: a mirror that stays bounded (store/sweep.c)
 * What memcached no longer holds and no follower needs is removed from the
 * front of the seq index onwards, a bounded number of entries per write
 * transaction: stale entries, records a flush killed, expired values and
 * tombstones (see mcm_sweep_policy), and with a byte cap the oldest records.
 * @{ */
#define MCM_TOMBSTONE_TTL_DEFAULT 86400 /**< MCMIRROR_TOMBSTONE_TTL: a day */
#define MCM_SWEEP_MIN_AGE 300           /**< a tombstone is kept at least this long (s) */

struct mcm_sweep_policy {
	int enabled;
	uint64_t max_bytes;       /**< MCMIRROR_MAX_BYTES: cap on the records' bytes (keys and records,
				       tombstones included); 0 = none */
	uint32_t tombstone_ttl_s; /**< the longest an expired value or a tombstone is kept for a
				       follower that has not passed it */
	uint32_t tombstone_min_s; /**< the shortest a tombstone is kept (replay's settle pass, merges) */
};

/** Cumulative counts of the sweep (meta "sweep"), and the records' bytes. */
struct mcm_sweep_counts {
	uint64_t cycles;     /**< passes over the whole index completed */
	uint64_t stale;      /**< stale seq entries removed */
	uint64_t expired;    /**< expired values removed */
	uint64_t tombstones; /**< tombstones (deleted, dropped) removed */
	uint64_t flushed;    /**< records a flush killed, removed */
	uint64_t evicted;    /**< records removed by the byte cap */
	uint64_t bytes;      /**< the records' bytes now (keys and records) */
};

/** Sweep with policy p in the write transactions of st from now on (a copy is kept).
 * With a byte cap, every write transaction that leaves the records over it
 * evicts the oldest down to 95 % of it (at most 65,536 a transaction), with
 * or without a budget: the cap holds at every commit. */
void mcm_store_set_sweep(struct mcm_store *st, const struct mcm_sweep_policy *p);

/** The next write transaction through st also sweeps up to budget seq entries. */
void mcm_store_sweep_next(struct mcm_store *st, size_t budget);

/** Sweep up to budget entries in a transaction of its own (the drainer, idle).
 * @return 0 or an error. */
int mcm_store_sweep(struct mcm_store *st, size_t budget);

/** The sweep's counts. @return 0 or an error. */
int mcm_store_sweep_counts(struct mcm_store *st, struct mcm_sweep_counts *c);
/** @} */

/** Does the server still hold this item at time now (Unix seconds)? False for
 * deleted and dropped records, expired ones, and ones flushed in pool p (p
 * may be NULL when the pool record is unknown). */
int mcm_item_is_live(const struct mcm_item *item, const struct mcm_pool *p, int64_t now);

/** Text for any code returned by this module. */
const char *mcm_strerror(int rc);

/** Wall-clock time in microseconds since the epoch. */
uint64_t mcm_now_us(void);

/** The mirror directory to use: MCMIRROR_PATH, else MCM_DEFAULT_PATH. */
const char *mcm_store_default_path(void);

#endif
