/* store_internal.h - what store.c and apply.c share; not part of the API. */
#ifndef MCM_STORE_INTERNAL_H
#define MCM_STORE_INTERNAL_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>

#include "mcm_store.h"

struct mcm_store {
	MDB_env *env;
	MDB_dbi meta, pools, items, seq;
	unsigned flags;
	pthread_rwlock_t resize; /* held shared by transactions, exclusively to resize the map */
	unsigned long map_gen;   /* bumped by each resize: the map may have moved */
	struct mcm_pool txn_pool; /* during a write transaction: the pool record last read or written */
	int txn_pool_valid;
	MDB_cursor *items_cur;   /* on items, during a write transaction: a put after a get of the
				    same key then finds it on the cursor's page, without a second descent */
	char path[PATH_MAX];
	char unlocked[160];      /* read-only without the lock table: why (mcm_store_unlocked); "" otherwise */
};

/** Apply one mutation inside the write transaction txn. next_seq is the next
 * sequence number to hand out and is advanced for each record written.
 * @return 0 or an LMDB/errno code. */
int mcm_apply_one(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m,
		  uint64_t *next_seq);


#endif
