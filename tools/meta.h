/* meta.h - every request the tool sends to memcached, encoded in one place.
 *
 * Meta-protocol commands (memcached >= 1.6): ms (set/add), md (delete), mg
 * (get), mn (no-op, a sync point), and the text protocol's `stats`, queued on
 * a pipe (pipe.h). Keys go as tokens built by mcm_pipe_key_size() /
 * mcm_pipe_put_key(): as they are when text-safe, else in base64 with the `b`
 * flag. A binary-protocol encoding (for SASL servers) would be a second
 * implementation of this interface.
 */
#ifndef MCM_META_H
#define MCM_META_H

#include <stddef.h>
#include <stdint.h>

#include "pipe.h"

/* How a request is sent (bits). */
#define MCM_META_ADD 1u   /**< ms: store only if the key is absent (mode E); else set (mode S) */
#define MCM_META_QUIET 2u /**< q: the server answers only what did not succeed */
#define MCM_META_KEY 4u   /**< k: the reply carries the key (for messages) */

/** Queue `ms <key> <len> [T<ttl>] [F<flags>] M<E|S> [b] [q] [k]` and the value.
 * @param[in] b64 the key goes in base64 (as mcm_pipe_key_size said)
 * @param[in] ttl seconds to live, 0 = never expires
 * @param[in] how MCM_META_* bits
 * @return 0, or ENOMEM (p->err set). */
int mcm_meta_set(struct mcm_pipe *p, const char *key, size_t key_len, int b64, const char *value, size_t value_len,
		 uint32_t flags, int64_t ttl, unsigned how);

/** Queue `md <key> [b] [q]`. @return 0 or ENOMEM. */
int mcm_meta_delete(struct mcm_pipe *p, const char *key, size_t key_len, int b64, unsigned how);

/** Queue `mg <key> [b] <flags>`, flags e.g. "v f t" (a string of meta flags).
 * @return 0 or ENOMEM. */
int mcm_meta_get(struct mcm_pipe *p, const char *key, size_t key_len, int b64, const char *flags);

/** Queue `mn`: its answer MN follows the answers to everything queued before.
 * @return 0 or ENOMEM. */
int mcm_meta_noop(struct mcm_pipe *p);

/** Queue `flush_all` (when 0) or `flush_all <when>` (an absolute Unix time:
 * memcached takes any value past 30 days as one). Its answer is "OK".
 * @return 0 or ENOMEM. */
int mcm_meta_flush(struct mcm_pipe *p, int64_t when);

/** Queue `stats` (group NULL) or `stats <group>` ("settings"). The pipe
 * consumes the answer: its STAT lines go to p->on_stat, and `stats settings`
 * sets p->item_max from the server's item_size_max. A server that refuses
 * the command (one error line) just leaves item_max as it was.
 * @return 0 or ENOMEM. */
int mcm_meta_stats(struct mcm_pipe *p, const char *group);

#endif
