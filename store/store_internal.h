/* store_internal.h - what store.c and apply.c share; not part of the API. */
#ifndef MCM_STORE_INTERNAL_H
#define MCM_STORE_INTERNAL_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>

#include "mcm_seqidx.h"
#include "mcm_store.h"

/* Superseded "seq" entries a write transaction collects, to remove them in
 * one ordered pass at its end (entries deleted one by one in ascending order
 * made LMDB rebalance a page every few deletes). */
#define MCM_DEAD_MAX 16384

/* A superseded seq entry: its number, and the CRC-32C of the "items" key it
 * must name (checked before it is removed). */
struct mcm_dead {
	uint64_t seq;
	uint32_t key_crc;
};

/* A rank and what it ranks: order.c's mutations (the index in the batch),
 * reindex.c's records (the index in its list). */
struct mcm_rank {
	uint64_t rank;
	uint32_t index;
};

/** Sort the n ranks v by rank, stably (an LSD radix sort over the bits set in
 * differ: those in which the ranks differ), through tmp (n entries).
 * @return v or tmp: the one sorted (order.c). */
struct mcm_rank *mcm_rank_sort(struct mcm_rank *v, struct mcm_rank *tmp, size_t n, uint64_t differ);

struct mcm_pending;

struct mcm_store {
	MDB_env *env;
	MDB_dbi meta, pools, items, seq, followers;
	int have_followers_db;   /* (a version 1 mirror opened read-only has none) */
	unsigned format;         /* meta/format: 1 or MCM_FORMAT_VERSION */
	uint64_t damaged_pools;  /* pool records the last mcm_store_pools left out */
	unsigned flags;
	pthread_rwlock_t resize; /* held shared by transactions, exclusively to resize the map */
	unsigned long map_gen;   /* bumped by each resize: the map may have moved */
	struct mcm_pool txn_pool; /* during a write transaction: the pool record last read or written */
	int txn_pool_valid;
	MDB_cursor *items_cur;   /* on items, during a write transaction: a put after a get of the
				    same key then finds it on the cursor's page, without a second descent */
	MDB_cursor *seq_cur;     /* on seq, during a write transaction: appends at its last page */
	struct mcm_seqapp seq_app; /* during a write transaction: new entries, packed into bundles */
	int seq_app_on;          /* seq_app is in use (mcm_seqidx_put writes its bundle first) */
	int64_t seq_delta;       /* entries this transaction added to the index (or removed) */
	int cur_on_key;          /* items_cur stands on the record find_item found */
	size_t found_len;        /* that record's length */
	int txn_tombstones;      /* during a write transaction: followers exist, so a delete or drop of
				    a key the mirror does not hold still writes a tombstone */
	struct mcm_sweep_policy sweep;
	size_t sweep_budget;     /* entries the next write transaction sweeps */
	int64_t txn_bytes;       /* during a write transaction: bytes its records added (or removed) */
	struct mcm_dead *dead;   /* MCM_DEAD_MAX superseded seq entries of this transaction (and as
				    many again for sorting them) */
	size_t ndead;
	uint32_t *co_table;      /* coalesce.c's workspace: a table of co_cap slots, */
	unsigned char *co_moot;  /* and co_cap / 2 marks */
	size_t co_cap, co_mask;
	uint32_t *ord;           /* order.c's workspace for a batch of up to ord_cap: the order and
				    the numbers (2 * ord_cap), */
	struct mcm_rank *ord_rank; /* ranks (2 * ord_cap), */
	struct mcm_pending *ord_pending; /* the seq entries a run keeps aside (ord_cap), */
	unsigned char *arena;    /* and their bytes */
	size_t ord_cap, arena_len, arena_cap;
	int run_defer;           /* a run is being applied in key order (order.c): its seq entries */
	uint64_t run_first;      /* are kept aside; its numbers start at run_first, */
	size_t run_count;        /* and it has run_count of them */
	int reindex_due;         /* the last write transaction found the seq index due for a rebuild */
	int reindex_off;         /* why superseded entries are removed one by one despite
				    MCM_STORE_BULKSEQ (reindex.c): 0, E2BIG or the rebuild's error */
	uint64_t reindexes;      /* rebuilds of the seq index by this handle */
	char path[PATH_MAX];
	char unlocked[160];      /* read-only without the lock table: why (mcm_store_unlocked); "" otherwise */
};

/** Apply one mutation inside the write transaction txn. next_seq is the next
 * sequence number to hand out and is advanced for each record written.
 * @return 0 or an LMDB/errno code. */
int mcm_apply_one(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m,
		  uint64_t *next_seq);

/** Does op act on one key of a pool (PUT ... NONE, RESTORE), rather than on
 * pools (FLUSH, RESTORE_POOL, FORGET_ALL)? (apply.c) */
int mcm_op_on_key(enum mcm_op op);

/** Does m act on one key of a pool, with the pool and key to name it? (The
 * rest mcm_apply_one checks; a mutation it refuses fails the transaction.)
 * Batches are only reordered or coalesced around such mutations. (apply.c) */
int mcm_mutation_on_key(const struct mcm_mutation *m);

/** Mutations one batch may have for mcm_coalesce to look at (larger batches are applied whole). */
#define MCM_COALESCE_MAX 16384

/** Which of the n mutations m a later set of the same key in the same batch
 * makes moot (coalesce.c). @return n marks (1: moot), valid until the next
 * call, or NULL when none is (or the batch is not looked at). */
const unsigned char *mcm_coalesce(struct mcm_store *st, const struct mcm_mutation *m, size_t n);

/** Apply the n mutations m (moot: mcm_coalesce's marks, or NULL) inside txn,
 * in the order of their keys between barriers, numbered in the order of the
 * batch from *next_seq, which is advanced (order.c).
 * @return 0 or an LMDB/errno code. */
int mcm_apply_batch(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m, size_t n,
		    const unsigned char *moot, uint64_t *next_seq);

/** While a run is applied in key order (st->run_defer): room for the seq
 * entry (len bytes) of number seq, kept aside to be appended when the run
 * ends (order.c). @return the room, or NULL with errno ENOMEM, or EPROTO
 * for a number not given to the run. */
unsigned char *mcm_order_defer(struct mcm_store *st, uint64_t seq, size_t len);

/** Apply a mutation mcm_coalesce marked moot: what it does beyond its key
 * (the pool record; an encrypted pool's mark), no record, no number.
 * @return 0 or an LMDB/errno code. */
int mcm_apply_moot(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m, uint64_t *next_seq);

/** Adopt a map size another process set (grow 0), or double the map (grow 1,
 * after MDB_MAP_FULL). @return 0 or an LMDB code. */
int mcm_store_resize(struct mcm_store *st, int grow);

/** Begin a read transaction, adopting another process's map size. */
int mcm_store_begin_read(struct mcm_store *st, MDB_txn **txn);

/** data.mdb (file) ends before page last_pgno of transaction txnid: is every
 * page past its end on the freelist (read with pread, never mapped)?
 * @return 0, MCM_ETRUNCATED, or an errno value. */
int mcm_lmdb_check_length(const char *file, size_t psize, uint64_t last_pgno, uint64_t txnid);

/** Rewrite a version 1 mirror's seq entries, items and pools as version 2,
 * inside txn (upgrade.c). @return 0 or an LMDB code. */
int mcm_store_upgrade_v1(struct mcm_store *st, MDB_txn *txn);

/** Add the bytes this transaction's records added (st->txn_bytes) to meta
 * "bytes" (sweep.c). @return 0 or an LMDB code. */
int mcm_store_account(struct mcm_store *st, MDB_txn *txn);

/** Sweep up to budget seq entries inside the write transaction txn
 * (sweep.c). @return 0 or an LMDB code. */
int mcm_store_sweep_txn(struct mcm_store *st, MDB_txn *txn, size_t budget);

/** Are superseded seq entries left in place for a bulk rebuild (MCM_STORE_BULKSEQ,
 * not turned off)? (reindex.c) */
int mcm_store_bulk_seq(const struct mcm_store *st);

/** Superseded seq entries a bulk rebuild lets stand per record (and 4,096
 * more) before it rebuilds the index: it then holds at most MCM_REINDEX_RATIO
 * + 1 entries a record, plus 4,096. (reindex.c, sweep.c) */
#define MCM_REINDEX_RATIO 2

/** Inside txn, while superseded entries are left for a bulk rebuild
 * (mcm_store_bulk_seq): the records (items) and the seq index's entries;
 * both 0 otherwise. (reindex.c) @return 0 or an LMDB code. */
int mcm_store_index_load(struct mcm_store *st, MDB_txn *txn, uint64_t *records, uint64_t *entries);

/** Inside txn: is the seq index due for a rebuild (stale entries outnumber
 * the live ones by enough)? (reindex.c) @return 0 or an LMDB code. */
int mcm_store_reindex_due(struct mcm_store *st, MDB_txn *txn, int *due);

/** Rebuild the seq index inside txn from the records, whose numbers must all
 * be distinct and at most last (the highest handed out): one entry each,
 * stale ones gone, numbers unchanged (reindex.c).
 * @return 0, MCM_EDAMAGED (a number out of range or taken twice: txn must be
 * aborted), or an LMDB/errno code. */
int mcm_store_reindex(struct mcm_store *st, MDB_txn *txn, uint64_t last);

/** Remove every stale seq entry (its record gone, or its number not the
 * record's), one by one, walking the whole index inside txn: after a
 * rebuild was refused (reindex.c). @return 0 or an LMDB code. */
int mcm_store_drop_stale(struct mcm_store *st, MDB_txn *txn);

/** Remove the superseded seq entries collected in st->dead (ascending, one
 * cursor). @return 0 or an LMDB code. */
int mcm_store_drop_dead(struct mcm_store *st, MDB_txn *txn);


#endif
