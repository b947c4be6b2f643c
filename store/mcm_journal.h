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
 * Appends are serialised by a process-shared robust mutex (a process killed
 * inside an append leaves nothing half-visible: the tail moves last).
 */
#ifndef MCM_JOURNAL_H
#define MCM_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/** Default size of the ring (MCMIRROR_JOURNAL_SIZE overrides it at creation). */
#define MCM_JOURNAL_DEFAULT_SIZE ((size_t)64 << 20)

/** Record types. */
enum mcm_jtype {
	MCM_J_PAD = 1,     /**< filler up to the end of the ring */
	MCM_J_POOL = 2,    /**< a pool record (mcm_pool_encode) */
	MCM_J_INTENT = 3,  /**< a write to (pool, key) is about to be sent */
	MCM_J_OUTCOME = 4  /**< what that write did (an encoded mutation) */
};

/** The header every record starts with (16 bytes). */
struct mcm_jrec {
	uint32_t len;  /**< whole record, header included, a multiple of 16 */
	uint16_t type; /**< enum mcm_jtype */
	uint16_t reserved;
	uint64_t id;   /**< intent id: producer pid << 32 | per-process counter */
};

struct mcm_journal;

/** Open dir/journal, creating it (size bytes of ring, 0 = default) when create is set.
 * @return 0, an errno value, or MCM_EFORMAT for a file that is not a journal. */
int mcm_journal_open(struct mcm_journal **out, const char *dir, size_t size, int create);

/** Unmap. Not after fork(): a child keeps its parent's mapping (it is shared anyway). */
void mcm_journal_close(struct mcm_journal *j);

/** Append one record made of the iovecs. Waits at most wait_ms for room
 * when the ring is full.
 * @param[out] end the position just past the record (for mcm_journal_wait_durable)
 * @return 0, ENOSPC (full; the record was not written) or EMSGSIZE (larger than a quarter of the ring). */
int mcm_journal_append(struct mcm_journal *j, enum mcm_jtype type, uint64_t id, const struct iovec *iov,
		       int iovcnt, unsigned wait_ms, uint64_t *end);

/** Positions. */
uint64_t mcm_journal_tail(const struct mcm_journal *j);
uint64_t mcm_journal_head(const struct mcm_journal *j);
/** Journal instance id (random, set at creation): a drainer's saved position
 * belongs to one instance. */
uint64_t mcm_journal_instance(const struct mcm_journal *j);

/** Read the record at pos (PAD records are skipped). *rec points into the
 * map; payload and payload_len give the bytes after the header.
 * @param[in,out] pos position to read; advanced past the record
 * @return 0, MCM_END when pos reached the tail, MCM_EFORMAT for a damaged record. */
int mcm_journal_read(struct mcm_journal *j, uint64_t *pos, const struct mcm_jrec **rec,
		     const unsigned char **payload, size_t *payload_len);

/** The drainer consumed everything before pos: producers may reuse that room. */
void mcm_journal_set_head(struct mcm_journal *j, uint64_t pos);

/** Drainer: sleep until records are appended or timeout_ms passes. A timeout
 * of 2 ms or less is a nap that appends do not interrupt (they make no system
 * call for it); a longer one is an idle wait that the next append ends. */
void mcm_journal_wait_records(struct mcm_journal *j, uint64_t seen_tail, unsigned timeout_ms);

/** Drainer: everything before pos is durable; wake producers waiting for it. */
void mcm_journal_set_durable(struct mcm_journal *j, uint64_t pos);

/** Drainer: the highest position some producer waits to see durable. */
uint64_t mcm_journal_durable_wanted(const struct mcm_journal *j);

/** Producer (MCMIRROR_SYNC=always): wait until the record ending at end is
 * durable, at most timeout_ms. @return 0 or ETIMEDOUT. */
int mcm_journal_wait_durable(struct mcm_journal *j, uint64_t end, unsigned timeout_ms);

/** Records that could not be appended (ring full) since the journal was
 * created. (The shim also counts them as lost_drops in the counters file,
 * which `mcmirror replay` warns about.) */
uint64_t mcm_journal_lost(const struct mcm_journal *j);

#endif
