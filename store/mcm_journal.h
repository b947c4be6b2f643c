/* mcm_journal.h - the write journal: a crash-surviving ring shared by every process writing a mirror.
 *
 * The file "journal" beside the LMDB files is mapped MAP_SHARED by every
 * process running the shim. Application threads append small records to it
 * (a few hundred nanoseconds, no system call); one drainer at a time
 * (mcm_drain.h) reads them in order and applies them to LMDB in batches.
 * A record appended by a process that is then killed is still in the file
 * (the page cache keeps a MAP_SHARED page), so the next drainer, or the
 * mcmirror tool, applies it: an append is as safe against application and
 * memcached crashes as an LMDB commit with MDB_NOSYNC.
 *
 * Positions are byte offsets that only grow; the ring index is pos % size.
 * Appends are serialised by a lock word in the header (a futex holding the
 * owner's thread id): a compare-and-swap to take it, a swap to release it, a
 * system call only when another writer waits. A writer that finds the owner
 * gone (killed inside an append) takes the lock over; that leaves nothing
 * half-visible, because the tail moves last.
 *
 * Power loss and OS crashes (docs/DURABILITY.md). Room in the ring is reused
 * only behind the "reclaim" position, which the drainer moves once LMDB holds
 * those records on disk; mcm_journal_sync() makes records durable in the file
 * itself (MCMIRROR_SYNC=always). The first open after the machine restarted
 * (the boot id in the header differs) repairs the journal before anyone uses
 * it: the mutexes are reset (their owners are gone, but the words on disk may
 * say "locked"), and the records are kept from reclaim up to the first one
 * whose CRC does not match (torn, or never written): a prefix, so that no
 * outcome is kept without its intent.
 */
#ifndef MCM_JOURNAL_H
#define MCM_JOURNAL_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/** Default size of the ring (MCMIRROR_JOURNAL_SIZE overrides it at creation). */
#define MCM_JOURNAL_DEFAULT_SIZE ((size_t)64 << 20)

/** Record types. */
enum mcm_jtype {
	MCM_J_PAD = 1,     /**< filler up to the end of the ring */
	MCM_J_POOL = 2,    /**< a pool record (mcm_pool_encode) */
	MCM_J_INTENT = 3,  /**< a write to (pool, key) is about to be sent */
	MCM_J_OUTCOME = 4, /**< what that write did (an encoded mutation) */
	MCM_J_WRITE = 5    /**< a write's intent and the outcome it has if the call does as asked
			        (an encoded mutation): see mcm_journal_resolve */
};

/** The header every record starts with (24 bytes). */
struct mcm_jrec {
	uint32_t len;  /**< whole record, header included, a multiple of 16 */
	uint16_t type; /**< enum mcm_jtype */
	uint16_t reserved; /**< padding bytes at the end (0-15) */
	uint64_t id;   /**< intent id: producer pid << 32 | per-process counter */
	uint32_t crc;  /**< CRC-32C of the instance, the 16 bytes above, the payload and the
			    record's position: a torn record, or one left from an earlier lap
			    or an earlier instance, does not match */
	uint32_t spare; /**< MCM_J_WRITE: its state (mcm_journal_resolve), outside the CRC; else 0 */
};

/** The journal file's first page, in native byte order (JOURNAL_HEADER
 * bytes; the ring follows). Positions are written under the mutex (tail) or by
 * one drainer (head, reclaim) and read with atomics. */
struct mcm_jheader {
	uint64_t magic;         /**< MCM_JOURNAL_MAGIC */
	uint64_t size;          /**< bytes of ring */
	uint64_t instance;      /**< random id of this journal; changed by a recovery */
	uint64_t tail;          /**< end of the last complete record */
	uint64_t head;          /**< everything before was applied to LMDB */
	uint64_t reclaim;       /**< everything before is in LMDB on disk: its room may be reused */
	uint64_t synced;        /**< everything before is in this file on disk (mcm_journal_sync;
				     recovery does not trust it: it scans the records) */
	uint64_t lost;          /**< records that found the ring full */
	uint64_t prev_instance; /**< the instance before the last recovery (0: none) */
	uint64_t recovered_at;  /**< the end of the records recovery kept */
	uint32_t wake_seq;      /**< futex word the drainer sleeps on: bumped to wake it */
	uint32_t synced_seq;    /**< futex word: bumped when synced moves */
	uint32_t drainer_sleeping;
	int32_t writing;        /**< MCMIRROR_SYNC=always writers between intent and outcome */
	char boot_id[40];       /**< /proc/sys/kernel/random/boot_id of the last open */
	uint64_t append_lock;   /**< appends: 0 free, else the owner: its thread id | MCM_JLOCK_WAITERS
				     in the low 32 bits (the futex word, little-endian host), the inode
				     of its pid namespace in the high 32 */
	pthread_mutex_t sync_lock; /**< held by the producer running a group sync */
	uint32_t applied_seq;   /**< futex word: bumped each time the drainer moves the head */
	int32_t waiters;        /**< readers waiting on applied_seq (mcm_journal_wait_applied) */
	uint32_t features;      /**< MCM_JFEAT_* (0 in a journal made before they existed) */
};

/** features: every drainer of this journal's mirror reads MCM_J_WRITE records
 * (set by one that opened the mirror at format 4 or later: an older one
 * refuses such a mirror; writers use MCM_J_WRITE only once it is set). */
#define MCM_JFEAT_WRITE 1u

#define MCM_JLOCK_WAITERS 0x80000000u /**< append_lock: someone sleeps on the word */

/** "MCMJRNL3". (MCMJRNL2 had a robust pthread mutex for appends where
 * append_lock is: a journal of that layout is replaced once fully applied.) */
#define MCM_JOURNAL_MAGIC 0x334c4e524a4d434dULL

struct mcm_journal;

/** Open dir/journal, creating it (size bytes of ring, 0 = default) when create is set.
 * @return 0, an errno value, or MCM_EFORMAT for a file that is not a journal. */
int mcm_journal_open(struct mcm_journal **out, const char *dir, size_t size, int create);

/** Unmap. Not after fork(): a child keeps its parent's mapping (it is shared anyway). */
void mcm_journal_close(struct mcm_journal *j);

/** Append one record made of the iovecs. Waits at most wait_ms for room
 * when the ring is full.
 * @param[out] end the position just past the record (for mcm_journal_sync)
 * @return 0, ENOSPC (full; the record was not written) or EMSGSIZE (larger than a quarter of the ring). */
int mcm_journal_append(struct mcm_journal *j, enum mcm_jtype type, uint64_t id, const struct iovec *iov,
		       int iovcnt, unsigned wait_ms, uint64_t *end);

/** Where a MCM_J_WRITE record went: what mcm_journal_resolve needs. */
struct mcm_jticket {
	uint64_t pos; /**< the record's position */
	uint32_t crc; /**< its CRC: a record written later at that place has another */
};

/** Append a MCM_J_WRITE record (as mcm_journal_append) and fill *t. */
int mcm_journal_append_write(struct mcm_journal *j, uint64_t id, const struct iovec *iov, int iovcnt,
			     unsigned wait_ms, struct mcm_jticket *t);

/** One record a write. A MCM_J_WRITE record is appended before the call
 * (pending): it opens the write, as an intent does, and holds the outcome
 * the call has if the server does as asked. After the call, the writer
 * resolves it here, at no other cost than a compare-and-swap of its spare
 * word (with its CRC, in the same 8 bytes): "done as recorded, and the
 * journal's tail was here when the call returned". The drainer then takes it
 * for an intent open from its position to that tail, and its outcome.
 * A drainer that reaches a record still pending takes it over instead
 * (mcm_journal_settle): it is an intent from then on, and its writer, whose
 * resolution then fails, appends an MCM_J_OUTCOME with its id, as does a
 * writer whose call did something else.
 * @return 0, or EALREADY: taken over (or the place reused since: the CRC
 * differs), or E2BIG: more than 1 MiB appended during the call. */
int mcm_journal_resolve(struct mcm_journal *j, const struct mcm_jticket *t);

/** The drainer, at the MCM_J_WRITE record r read at pos: 1 when it was
 * resolved (*close: the tail when its call returned; records from pos to
 * there were appended while the call was in flight), 0 when it is an intent
 * (taken over now, if it was still pending). */
int mcm_journal_settle(struct mcm_journal *j, const struct mcm_jrec *r, uint64_t pos, uint64_t *close);

/** features (MCM_JFEAT_*): set (by a drainer), and read (by writers). */
void mcm_journal_add_features(struct mcm_journal *j, uint32_t features);
uint32_t mcm_journal_features(const struct mcm_journal *j);

/** Map, writable, this process's pages of the ring from the tail to ahead
 * bytes past it (MADV_POPULATE_WRITE; nothing on a kernel without it), so
 * that appends do not take a page fault each time they reach a page this
 * process has not written since the kernel wrote it back. The drainer calls it
 * between batches; only one thread of a process may. */
void mcm_journal_prefault(struct mcm_journal *j, size_t ahead);

/** Has the process or thread id (of this pid namespace) exited? A zombie (killed,
 * not yet waited for) has, though kill(id, 0) still finds it. 0 for id <= 0, and when
 * it cannot tell. */
int mcm_journal_task_gone(pid_t id);

/** Bytes of ring. */
size_t mcm_journal_size(const struct mcm_journal *j);

/** Positions. */
uint64_t mcm_journal_tail(const struct mcm_journal *j);
uint64_t mcm_journal_head(const struct mcm_journal *j);
/** Journal instance id (random, set at creation): a drainer's saved position
 * belongs to one instance. */
uint64_t mcm_journal_instance(const struct mcm_journal *j);

/** Read the record at pos (PAD records are skipped). *rec points into the
 * map; payload and payload_len give the bytes after the header.
 * @param[in,out] pos position to read; advanced past the record
 * @return 0, MCM_END when pos reached the tail, MCM_EFORMAT for a damaged
 * record (its CRC does not match: something wrote into the map). */
int mcm_journal_read(struct mcm_journal *j, uint64_t *pos, const struct mcm_jrec **rec,
		     const unsigned char **payload, size_t *payload_len);

/** After mcm_journal_read found a damaged record at *pos: move *pos to the
 * next record that is whole and in place (or to the tail), and count what
 * was skipped as lost (mcm_journal_lost), so that the mirror forgets what it
 * can no longer vouch for. @return 0, or MCM_END when there is nothing to skip. */
int mcm_journal_skip_damaged(struct mcm_journal *j, uint64_t *pos);

/** The drainer applied everything before pos (readers waiting for the
 * drainer to catch up look at this). */
void mcm_journal_set_head(struct mcm_journal *j, uint64_t pos);

/** A number that changes each time the drainer has applied more (moved the head). */
uint32_t mcm_journal_applied(const struct mcm_journal *j);

/** For a reader of the mirror that wants newer changes as soon as they are in
 * LMDB (`mcmirror follow`): sleep until the drainer applies more than it had
 * when mcm_journal_applied() returned seen, at most timeout_ms. */
void mcm_journal_wait_applied(struct mcm_journal *j, uint32_t seen, unsigned timeout_ms);

/** End the drainer's nap or idle wait now (a process about to exit wants its
 * records applied). */
void mcm_journal_wake_drainer(struct mcm_journal *j);

/** LMDB holds everything before pos on disk: producers may reuse that room. */
void mcm_journal_set_reclaim(struct mcm_journal *j, uint64_t pos);
uint64_t mcm_journal_reclaim(const struct mcm_journal *j);

/** What the last recovery after a restart of the machine did: a drainer whose
 * saved position belongs to *prev_instance resumes at most at *recovered_at
 * (the records after that were lost with the page cache; new ones start
 * there).
 * @return 1 if the journal was ever recovered, else 0. */
int mcm_journal_recovery(const struct mcm_journal *j, uint64_t *prev_instance, uint64_t *recovered_at);

/** Drainer: sleep until timeout_ms passes. A timeout of 50 ms or less is a nap
 * (to batch what arrives meanwhile) that appends end only once the ring is half
 * full; a longer one is an idle wait that the next append ends (seen_tail: the
 * tail the drainer has seen; if it moved, an idle wait returns at once).
 * @return 1 when a nap was ended (or not begun) by a wake: the ring is half
 * full, or mcm_journal_wake_drainer() was called since the last wait; else 0. */
int mcm_journal_wait_records(struct mcm_journal *j, uint64_t seen_tail, unsigned timeout_ms);

/** Make every record before end durable in the journal file (msync), at most
 * timeout_ms. Group commit: one caller syncs everything appended so far while
 * the others wait for it, then the next waiter whose record is not covered
 * syncs again. @return 0, ETIMEDOUT or the errno of a failed msync. */
int mcm_journal_sync(struct mcm_journal *j, uint64_t end, unsigned timeout_ms);

/** A writer that will call mcm_journal_sync for its outcome starts (delta 1)
 * or has appended its outcome (-1): a syncer gives the others a moment to
 * append theirs, so that one sync serves them all. The drainer takes back
 * (-1) the intents of writers that died; the count never goes below 0. */
void mcm_journal_writing(struct mcm_journal *j, int delta);

/** Everything before this position is in the journal file on disk. */
uint64_t mcm_journal_synced(const struct mcm_journal *j);

/** Records that could not be appended (ring full) since the journal was
 * created. (The shim also counts them as lost_drops in the counters file,
 * which `mcmirror replay` warns about.) */
uint64_t mcm_journal_lost(const struct mcm_journal *j);

#endif
