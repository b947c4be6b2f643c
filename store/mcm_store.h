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
 *
 * Every change to "items" takes the next sequence number, and the item's
 * previous entry in "seq" is removed, so "seq" lists every current record
 * once, oldest write first.
 *
 * Thread safety: a struct mcm_store may be shared by the threads of one
 * process. It must not be used in a child after fork(): open a new one.
 */
#ifndef MCM_STORE_H
#define MCM_STORE_H

#include <stddef.h>
#include <stdint.h>

/** The record format version written by this build. */
#define MCM_FORMAT_VERSION 1
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
#define MCM_EEMPTY   (-40005) /**< data.mdb exists but is empty (a read-only open cannot make it a mirror) */
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

struct mcm_store;

/** Open flags. */
#define MCM_STORE_RDONLY 0x1 /**< read-only (tools that only read) */
#define MCM_STORE_CREATE 0x2 /**< create the directory (0700) if missing */
#define MCM_STORE_NOSYNC 0x4 /**< commits are not fsync'd (see docs/DURABILITY.md) */
#define MCM_STORE_NOMETASYNC 0x8 /**< a commit fsyncs its data; its meta page reaches the disk with
				      the next commit or sync (LMDB's MDB_NOMETASYNC: a power loss
				      may undo the last commit, never damages the file) */

/** The MCM_STORE_* flags st was opened with. */
unsigned mcm_store_flags(const struct mcm_store *st);

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

/** Apply n mutations in one write transaction. Grows the map and retries
 * when LMDB reports it full, so the caller never sees MDB_MAP_FULL unless the
 * disk itself is full.
 * @return 0 or an error; on error nothing was applied. */
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

/** Read every pool record. *pools is malloc'd; free() it.
 * @return 0 or an error. */
int mcm_store_pools(struct mcm_store *st, struct mcm_pool **pools, size_t *n);

/** Read one pool record. @return 0, MCM_ENOTFOUND or an error. */
int mcm_store_pool(struct mcm_store *st, mcm_pool_id id, struct mcm_pool *pool);

/** Environment facts for `mcmirror stats`. */
struct mcm_store_info {
	uint32_t format_version;
	uint64_t created_us;
	uint64_t last_seq;       /**< highest sequence number in use */
	size_t map_size;         /**< current map size in bytes */
	size_t used_bytes;       /**< pages in use * page size */
	uint64_t entries;        /**< item records of every kind */
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

/** Next item. @return 0, MCM_END or an error. The item stays valid until the
 * next call on the iterator, or until a write through the same store grows
 * the map (the pointers then refer to the old mapping). A record rewritten
 * during a walk in seq order may be seen twice, old then new. */
int mcm_iter_next(struct mcm_iter *it, struct mcm_item *item);

void mcm_iter_close(struct mcm_iter *it);

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
