/* mcm_counters.h - the shim's counters, shared by every process writing a mirror.
 *
 * A small file "counters" beside the LMDB files, mapped MAP_SHARED; each
 * process adds to it with atomic operations. It survives the processes and
 * keeps counting when LMDB itself fails. `mcmirror stats` prints it.
 */
#ifndef MCM_COUNTERS_H
#define MCM_COUNTERS_H

#include <stdint.h>

enum mcm_counter {
	MCM_CTR_RECORDED = 0,   /**< writes mirrored */
	MCM_CTR_UNCERTAIN,      /**< keys dropped because the outcome was unknown */
	MCM_CTR_FAILED,         /**< writes that could not be mirrored (LMDB error, disk full) */
	MCM_CTR_ENCRYPTED,      /**< writes skipped: the pool uses an encoding key */
	MCM_CTR_SKIPPED,        /**< writes passed through while the shim was off */
	MCM_CTR_MAP_GROWN,      /**< times the map was grown */
	MCM_CTR_LOST_DROPS,     /**< a write failed and so did dropping its key: the mirror may be stale */
	MCM_CTR_OUT_OF_STEP,    /**< text-protocol connections found out of step (replies left over, or
				     commands a key or value injected): their writes are dropped (or the
				     pool forgotten) until libmemcached reconnects */
	MCM_CTR_COUNT
};

/** Names as printed by `mcmirror stats`, indexed by enum mcm_counter. */
extern const char *const mcm_counter_names[MCM_CTR_COUNT];

struct mcm_counters;

/** Map dir/counters, creating it (0600) when create is set.
 * @return 0 or an errno value. */
int mcm_counters_open(struct mcm_counters **out, const char *dir, int create);
void mcm_counters_close(struct mcm_counters *c);
/** Atomically add n. c may be NULL (then nothing happens). */
void mcm_counters_add(struct mcm_counters *c, enum mcm_counter which, uint64_t n);
uint64_t mcm_counters_get(const struct mcm_counters *c, enum mcm_counter which);

#endif
