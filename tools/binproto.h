/* binproto.h - memcached's binary protocol: the second wire format behind meta.h, for SASL servers.
 *
 * memcached takes SASL authentication (-S) only over its binary protocol,
 * and then speaks nothing else. A pipe whose proto is MCM_PIPE_BINARY gets
 * the requests meta.h queues encoded here, and its replies cut here and
 * handed to the caller as the meta replies they stand for, so the code
 * above (sender, verify, follow's sink) reads one format:
 *
 *   request (meta.h)       binary opcode          reply line given to the caller
 *   ms ... MS|ME [q]       SET|ADD (SETQ|ADDQ)    HD; NS (exists, not stored);
 *                                                  SERVER_ERROR object too large for cache, ...
 *   md [q]                 DELETE (DELETEQ)       HD; NF
 *   mg v ...               GET                    "VA <len> f<flags>" + the value; EN
 *   mn                     NOOP                   MN
 *   flush_all [when]       FLUSH                  OK
 *   stats [group]          STAT                   (consumed by the pipe: STAT lines)
 *   (authentication)       SASL_AUTH PLAIN        OK; CLIENT_ERROR authentication failure
 *
 * Differences a caller must know: a GET reply has no remaining TTL (the
 * binary protocol cannot say it: verify compares value and flags only) and
 * no key (the `k` flag is ignored); an error to a quiet write says which
 * write it was only by its order, as in the text protocol. Any command the
 * server refuses for lack of authentication reads "CLIENT_ERROR
 * unauthenticated", as the text protocol says it.
 *
 * Every length is bounded as in pipe.h: a reply body beyond the pipe's
 * item_max (plus key and extras) fails the pipe with EMSGSIZE before it is
 * read, a malformed header with EPROTO.
 */
#ifndef MCM_BINPROTO_H
#define MCM_BINPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "pipe.h"

/** The size of a binary request or reply header. */
#define MCM_BINPROTO_HEADER 24

/** Queue SET (or ADD with MCM_META_ADD; their quiet forms with MCM_META_QUIET) of key.
 * ttl as the meta protocol's T: seconds, or an absolute Unix time past 30
 * days; 0 = never expires. @return 0 or ENOMEM. */
int mcm_binproto_set(struct mcm_pipe *p, const char *key, size_t key_len, const char *value, size_t value_len,
		     uint32_t flags, int64_t ttl, unsigned how);

/** Queue DELETE (DELETEQ with MCM_META_QUIET). @return 0 or ENOMEM. */
int mcm_binproto_delete(struct mcm_pipe *p, const char *key, size_t key_len, unsigned how);

/** Queue GET. @return 0 or ENOMEM. */
int mcm_binproto_get(struct mcm_pipe *p, const char *key, size_t key_len);

/** Queue NOOP. @return 0 or ENOMEM. */
int mcm_binproto_noop(struct mcm_pipe *p);

/** Queue FLUSH (when > 0: at that absolute Unix time). @return 0 or ENOMEM. */
int mcm_binproto_flush(struct mcm_pipe *p, int64_t when);

/** Queue STAT (group NULL: the general stats) and count it in p->stats_pending. @return 0 or ENOMEM. */
int mcm_binproto_stats(struct mcm_pipe *p, const char *group);

/** Queue SASL_AUTH with mechanism PLAIN: "\0user\0password". @return 0 or ENOMEM. */
int mcm_binproto_sasl_plain(struct mcm_pipe *p, const char *user, size_t user_len, const char *password,
			    size_t password_len);

/** Cut the complete binary replies in p's input buffer: STAT answers go to
 * the pipe's stats handling, the others to fn as meta reply lines (above). */
void mcm_binproto_cut(struct mcm_pipe *p, mcm_pipe_reply_fn *fn, void *ctx);

#endif
