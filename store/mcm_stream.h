/* mcm_stream.h - the change stream: what a follower must do to a copy of one pool, in order.
 *
 * A follower (a standby memcached, an external database) applied every
 * change of a pool up to a position (a sequence number; mcm_follower). The
 * stream continues from there, walking the seq index oldest first, and
 * turns each record into what the copy must do with that key:
 *   MCM_CHANGE_SET     the record is live: hold this value, flags, expiry;
 *   MCM_CHANGE_DELETE  anything else (deleted, dropped, expired, killed by a
 *                      delayed flush, or damaged): the copy must not keep a
 *                      value the mirror cannot vouch for;
 *   MCM_CHANGE_FLUSH   the pool was flushed (flush_all) when its sequence
 *                      numbers reached seq: everything before is gone; given
 *                      before the first change after it (records the flush
 *                      killed are not given: the flush removes them);
 *   MCM_CHANGE_FLUSH_AT a delayed flush at the absolute time flush_time.
 * A record rewritten during the walk comes again at its new number, so the
 * last change given for a key is its newest. A position is safe to save once
 * the copy has applied every change up to it.
 *
 * Resynchronising (a new copy, one that came back empty, or one below the
 * store's purge horizon): open with MCM_STREAM_RESYNC. The stream first gives
 * a FLUSH (empty the copy), then the pool's delayed flush when one is set (the
 * copy's own went with the emptying: memcached's flush_all cancels a pending
 * one), then every live record (the rest is skipped up to the newest number at
 * the time of opening), then goes on as usual.
 */
#ifndef MCM_STREAM_H
#define MCM_STREAM_H

#include <stdint.h>

#include "mcm_store.h"

enum mcm_change_kind { MCM_CHANGE_SET = 1, MCM_CHANGE_DELETE, MCM_CHANGE_FLUSH, MCM_CHANGE_FLUSH_AT };

struct mcm_change {
	enum mcm_change_kind kind;
	uint64_t seq;        /**< the position once this change is applied */
	struct mcm_item item; /**< SET and DELETE: the record (key, namespace, group key; SET: the value, flags,
				   expiry), valid until the next call */
	int64_t flush_time;  /**< FLUSH_AT: when */
	int damaged;         /**< DELETE: the record failed its checks (it is named, never sent) */
};

struct mcm_stream;

#define MCM_STREAM_RESYNC 0x1 /**< start over: FLUSH, the pool's delayed flush, then the live records */

/** Open the stream of pool's changes after position from.
 * @param[in] flush_time the last delayed flush the copy was given (0: none; not used with MCM_STREAM_RESYNC)
 * @return 0, ENOMEM or an error of the store. */
int mcm_stream_open(struct mcm_store *st, mcm_pool_id pool, uint64_t from, int64_t flush_time, unsigned flags,
		    struct mcm_stream **out);

/** The next change. @return 0, MCM_END (caught up: call again later for
 * newer changes), or an error. */
int mcm_stream_next(struct mcm_stream *s, struct mcm_change *c);

/** The position: every change up to it was given (or needed none). Safe to
 * save once the copy has applied every change given so far. */
uint64_t mcm_stream_position(const struct mcm_stream *s);

/** The last delayed flush given (to save with the position). */
int64_t mcm_stream_flush_time(const struct mcm_stream *s);

/** Records the stream skipped because they failed their checks (each was
 * given as a DELETE). */
uint64_t mcm_stream_damaged(const struct mcm_stream *s);

void mcm_stream_close(struct mcm_stream *s);

#endif
