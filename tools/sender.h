/* sender.h - a stream of writes to a pool's servers, several connections per server, key-affine.
 *
 * The sender connects several pipes (pipe.h) to every server it writes to
 * and sends each write of a key through the same one of them, chosen by a
 * hash of the wire key that is independent of the pool's own placement: the
 * writes of one key reach its server in the order they were given, so a
 * key's last write lands last, while the server's worker threads share the
 * load. Writes go as quiet meta commands (meta.h): the server answers only
 * what did not succeed (NS when add mode found the key, an error line when
 * it refused the item). Every MARK_EVERY writes, and at least every 0.1 s
 * while it writes, a connection also carries an `mn`; its MN confirms every
 * write before it, so the counts stay exact when a connection breaks
 * mid-way: a write is stored, present, refused or unconfirmed (in flight on
 * a broken connection), and nothing else.
 *
 * Memory is the connections' buffers (about 1 MB each at most), whatever the
 * length of the stream. Before the first write, the first connection of each
 * server asks `stats settings` (the item bound) and `stats`;
 * mcm_sender_ask_stats() asks `stats` again, so the caller can compare a
 * server's evictions before and after.
 *
 * The number of connections is fixed, or automatic: the first connection's
 * `stats` are awaited (at most 0.5 s); when the server's hash table already
 * has room for its items and the expected writes (memcached doubles the
 * table past 1.5 items per bucket), one connection, else
 * MCM_SENDER_AUTO_MAX. Measured on a 2-CPU machine (docs/PERFORMANCE.md):
 * while the table grows, several connections keep memcached's worker
 * threads busy; once it is sized, one connection is faster (they contend).
 *
 * Used by `mcmirror replay`; written for replication (`follow`) too: nothing
 * in it depends on where the stream comes from.
 */
#ifndef MCM_SENDER_H
#define MCM_SENDER_H

#include <stdint.h>

#include "mcm_store.h"
#include "pipe.h"
#include "target.h"

/** Most connections per server. */
#define MCM_SENDER_CONNECTIONS_MAX 64

/** Connections per server, automatic choice, when the server's hash table will grow. */
#define MCM_SENDER_AUTO_MAX 4

struct mcm_sender_opts {
	const char *cmd;      /**< the command, for messages ("replay") */
	unsigned connections; /**< per server, 1 .. MCM_SENDER_CONNECTIONS_MAX; 0: automatic (below) */
	uint64_t expected_items; /**< automatic: about how many writes a server will get */
	int timeout_ms;       /**< connect timeout; a connection with work that moves nothing this long fails */
	int only;             /**< connect only this server (index), or -1 for all */
	unsigned how;         /**< meta.h bits for the writes: MCM_META_ADD, MCM_META_KEY */
};

/** What a server answered to a write, for the caller's messages. */
enum mcm_sender_event {
	MCM_SENDER_PRESENT,     /**< add mode: the key is already there (kept) */
	MCM_SENDER_REFUSED,     /**< an error line for a write */
	MCM_SENDER_UNDO_REFUSED /**< an error line for a delete */
};

/** Called for every answer to a write or delete, in each connection's order. */
typedef void mcm_sender_event_fn(void *ctx, const struct mcm_pipe *p, enum mcm_sender_event ev,
				 const struct mcm_reply *r);

/** Counts of one server (all its connections). Every write is exactly one of
 * stored, present, refused, unconfirmed, or still in flight (before
 * mcm_sender_finish). */
struct mcm_sender_counts {
	uint64_t sent;         /**< writes queued */
	uint64_t bytes;        /**< their value bytes */
	uint64_t confirmed;    /**< writes answered up to a confirmation (MN) */
	uint64_t stored;       /**< confirmed, neither present nor refused */
	uint64_t present;      /**< answered NS (add mode found the key) */
	uint64_t refused;      /**< answered with an error line */
	uint64_t unconfirmed;  /**< no answer and no confirmation: in flight on a broken connection */
	uint64_t deletes;      /**< deletes queued */
	uint64_t delete_refused; /**< deletes answered with an error line */
};

/** What a server's `stats` said (known = 0 when it did not answer them). */
struct mcm_server_stats {
	int known;
	uint64_t evictions, limit_maxbytes, curr_items, bytes, hash_power_level, hash_is_expanding;
};

struct mcm_sender;

/** Connect to the servers of t.
 * @param[out] out the sender
 * @param[in] t the servers (kept: it must outlive the sender)
 * @param[in] o options (copied)
 * @param[in] fn called for each answer (may be NULL), with ctx
 * @return 0; -1 after printing "cannot connect to 'SERVER': WHY" under
 *         o->cmd, or "out of memory" (*out is then NULL). */
int mcm_sender_open(struct mcm_sender **out, const struct mcm_target *t, const struct mcm_sender_opts *o,
		    mcm_sender_event_fn *fn, void *ctx);

/** Queue a write of item (key, value, flags) with ttl seconds to live (0 =
 * never) to server idx, on the key's connection; move bytes when enough is
 * queued, and wait while that connection is far behind (an interruption,
 * mcm_cli_interrupted, ends the wait).
 * @param[in] b64 as mcm_pipe_key_size() said for the key (which must be sendable)
 * @return 0 (the write is counted from then on), or -1 when a connection
 *         of the server is broken: nothing was queued (a server with a
 *         broken connection takes no more writes at all). */
int mcm_sender_set(struct mcm_sender *s, uint32_t idx, const struct mcm_item *item, int64_t ttl, int b64);

/** Queue a delete of item's key on the connection its writes took.
 * @return 0, or -1 when that connection is broken or an interruption came
 *         while waiting: nothing was queued. */
int mcm_sender_delete(struct mcm_sender *s, uint32_t idx, const struct mcm_item *item, int b64);

/** Move bytes: wait up to wait_ms for any connection. A connection that
 * breaks is only marked (mcm_sender_lost).
 * @return 0, or -1 when poll itself failed (every connection is then failed). */
int mcm_sender_pump(struct mcm_sender *s, int wait_ms);

/** Confirm everything queued: an `mn` on every healthy connection, then
 * move bytes until each answered or broke (or an interruption). */
void mcm_sender_finish(struct mcm_sender *s);

/** Ask `stats` again on a healthy connection of each server and wait for the
 * answers (at most the timeout); mcm_sender_stats(.., 1, ..) then has them. */
void mcm_sender_ask_stats(struct mcm_sender *s);

/** The counts of server idx. */
void mcm_sender_counts(const struct mcm_sender *s, uint32_t idx, struct mcm_sender_counts *out);

/** Did a connection to server idx break? @return 1 with *why set (the first
 * broken connection's reason), else 0. */
int mcm_sender_lost(const struct mcm_sender *s, uint32_t idx, const char **why);

/** Server idx's `stats` before the first write (after = 0) or at
 * mcm_sender_ask_stats() (after = 1); item_max: its item_size_max (or the
 * bound used without it). */
void mcm_sender_stats(const struct mcm_sender *s, uint32_t idx, int after, struct mcm_server_stats *out,
		      size_t *item_max);

/** How many connections server idx has (fixed, or as chosen automatically). */
unsigned mcm_sender_connections(const struct mcm_sender *s, uint32_t idx);

/** Close every connection and free s (NULL is fine). */
void mcm_sender_close(struct mcm_sender *s);

#endif
