/* mcm_drain.h - apply the write journal to the store, in order, one drainer at a time.
 *
 * The journal holds, for each intercepted write, an INTENT appended before the
 * call reached the server and an OUTCOME appended after it returned; or one
 * WRITE record that stands for both (mcm_journal_resolve): the intent at its
 * position, the outcome where the journal's tail was when the call returned.
 * Read in journal order they tell which writes to a key overlapped in time:
 * the server may have applied overlapping writes in either order, so such a
 * key is dropped instead of guessed. An intent whose writer died before its
 * outcome (killed while its call was in flight) drops its key too.
 *
 * The journal position applied so far, and the intents still open, are
 * written to the store in the same transaction as the mutations, so a
 * drainer that dies is replaced without applying anything twice.
 * Only the holder of the drain lock (dir/drain.lock, flock) may drain.
 */
#ifndef MCM_DRAIN_H
#define MCM_DRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "mcm_journal.h"
#include "mcm_store.h"

/** Take the drain lock of the mirror in dir.
 * @param[in] wait block until it is free (else fail with EWOULDBLOCK)
 * @param[out] fd the lock; close it to release
 * @return 0 or an errno value. */
int mcm_drain_lock(const char *dir, int wait, int *fd);

/** The two steps of mcm_drain_lock, for a caller that must know the
 * descriptor before it waits (the shim, across fork()): open dir/drain.lock,
 * then take it. @return 0 or an errno value (the descriptor stays open). */
int mcm_drain_lock_open(const char *dir, int *fd);
int mcm_drain_lock_take(int fd, int wait);

struct mcm_drain;

/** Start draining j into st from the position saved in st. */
int mcm_drain_open(struct mcm_drain **out, struct mcm_store *st, struct mcm_journal *j);
void mcm_drain_close(struct mcm_drain *d);

/** Apply up to max records in one transaction.
 * @param[out] consumed journal records consumed (0 when caught up); a
 * MCM_J_WRITE record counts as two, the intent and the outcome it stands
 * for: the size of a batch and the sweep's budget (one entry a record,
 * shim/writer.c) stay what they are for the same writes
 * @return 0 or an error (nothing of this step was applied then). */
int mcm_drain_step(struct mcm_drain *d, size_t max, size_t *consumed);

/** Position applied so far. */
uint64_t mcm_drain_position(const struct mcm_drain *d);

/** Damaged stretches of the journal this drainer skipped (a record whose CRC
 * did not match: something wrote into the shared map). What they held is
 * lost, so the mirror forgets every pool once it reaches the end (as for
 * writes lost to a full journal). */
uint64_t mcm_drain_damaged(const struct mcm_drain *d);

/** Records this drainer found whole (their CRC matched) but invalid: an
 * unknown operation, a field out of range, a pool record that does not
 * decode. Each is skipped and counted, and the key it names is dropped (the
 * whole pool is forgotten when not even the key can be named). */
uint64_t mcm_drain_invalid(const struct mcm_drain *d);

/** Have report(rc) called when a bulk rebuild of the store's seq index fails
 * (mcm_store_tidy; rc its error), which turns them off: superseded entries
 * are then removed one by one, the writes go on. It is called inside
 * mcm_drain_step, before the step's writes are published: a process that
 * waits at exit for its writes to be applied (shim/writer.c) does not exit
 * before the report is made. */
void mcm_drain_on_tidy_error(struct mcm_drain *d, void (*report)(int rc));

/** The store was just synced (mcm_store_sync): everything applied is on disk,
 * so the journal may reuse its room. (Commits to a store opened without
 * MCM_STORE_NOSYNC free the room by themselves: at once when fully synced, one
 * commit later with MCM_STORE_NOMETASYNC.) */
void mcm_drain_synced(struct mcm_drain *d);

/** Resolve open intents whose writer is gone (dead process) or that have been
 * open longer than max_age_s: their keys are dropped. Call when caught up. */
int mcm_drain_reap(struct mcm_drain *d, unsigned max_age_s);

/** Keys this drainer dropped since it was opened (overlapping writes, writers
 * gone mid-call): the shim adds them to its dropped_uncertain counter. */
uint64_t mcm_drain_dropped(const struct mcm_drain *d);

/** Open intents (for tests and stats). */
size_t mcm_drain_open_intents(const struct mcm_drain *d);

/** For the tools: apply whatever the journal of the mirror in dir still holds,
 * unless a live drainer is doing it (then wait up to timeout_ms for it to
 * catch up). Nothing to do when there is no journal.
 * @return 0, ETIMEDOUT, or an error. */
int mcm_drain_catch_up(const char *dir, unsigned timeout_ms);

/** For a reader that has the store open: if a live drainer exists, wait up
 * to timeout_ms until it has applied everything appended so far. Opens no
 * store (a process must not open an LMDB environment twice).
 * @return 0, ETIMEDOUT, or an error. */
int mcm_drain_wait_live(const char *dir, unsigned timeout_ms);

/** The drainer's pace (store/pace.c). Before each step the drainer asks
 * whether to apply now (MCM_PACE_STEP) or to nap MCM_PACE_NAP_MS first
 * (MCM_PACE_HOLD). A burst, MCM_PACE_BURST_BYTES or more of journal not
 * applied after MCM_PACE_QUIET_MS without a full step, is held for
 * MCM_PACE_BURST_MS at most, then applied step after step until a step is
 * not full (mcm_drain_paced). Nothing is held once the journal holds
 * 1 / MCM_PACE_BURST_SHARE of its ring unapplied, nor after a wake (a process
 * exiting, a tool waiting for the mirror, a ring half full:
 * mcm_journal_wait_records) until the drainer has caught up. The mirror's
 * lag grows by at most MCM_PACE_BURST_MS in a burst (docs/DURABILITY.md). */
#define MCM_PACE_BURST_BYTES (1u << 20)
#define MCM_PACE_BURST_MS 100
#define MCM_PACE_QUIET_MS 1000
#define MCM_PACE_BURST_SHARE 2
#define MCM_PACE_NAP_MS 50

enum {
	MCM_PACE_STEP = 0, /**< apply a step now */
	MCM_PACE_HOLD = 1, /**< let the burst pass: nap MCM_PACE_NAP_MS, then ask again */
};

struct mcm_drain_pace {
	int state;         /**< (store/pace.c) */
	int busy;          /**< a step was ever full */
	uint64_t since_ms; /**< when the burst held began */
	uint64_t busy_ms;  /**< when the last full step was applied */
};

/** Before a step. p starts zeroed.
 * @param woken  the last wait was ended by a wake (mcm_journal_wait_records)
 * @param now_ms a monotonic clock, in milliseconds
 * @param backlog journal bytes not applied yet; ring: the ring's size
 * @return MCM_PACE_STEP or MCM_PACE_HOLD. */
int mcm_drain_pace(struct mcm_drain_pace *p, int woken, uint64_t now_ms, uint64_t backlog, uint64_t ring);

/** After a step, at now_ms: full when it applied as many records as it could (more waits). */
void mcm_drain_paced(struct mcm_drain_pace *p, int full, uint64_t now_ms);

/* Encoding of journal payloads (host-local: native byte order). */

/** The fixed part of an OUTCOME payload; key, group key and value follow. */
struct mcm_joutcome {
	uint64_t pool;
	int64_t exptime;
	uint64_t wtime_us;
	uint64_t delta, result, initial;
	uint32_t flags;
	uint32_t value_len;
	uint16_t key_len, group_len, ns_len;
	uint8_t op, group_mode, incr, with_initial;
	uint8_t pad[6];
};

/** The fixed part of an INTENT payload; the key follows (none for a flush). */
struct mcm_jintent {
	uint64_t pool;
	uint64_t wtime_us;  /**< when the writer opened it; 0: when the drainer read it (the shim
			         leaves it 0: a clock read less per call, and an intent's age only
			         matters in seconds) */
	uint32_t key_len;
	uint32_t pad;
};

#endif
