/* pipe.h - pipelined connections to memcached servers speaking the meta protocol.
 *
 * A pipe is one non-blocking socket (TCP or unix) with an output buffer the
 * caller fills with requests and an input buffer cut into replies. One call,
 * mcm_pipe_pump(), waits on every pipe at once and writes while it reads, so
 * a server whose reply buffer fills up can never deadlock the sender. Pipes
 * never raise SIGPIPE (they send with MSG_NOSIGNAL).
 *
 * A pipe that fails keeps its first error in err (and a reason in why); it
 * is then left alone by mcm_pipe_pump().
 *
 * Every length a server sends is bounded: a reply line by MCM_PIPE_LINE_MAX,
 * a value block by the pipe's item_max (memcached's largest possible item,
 * 1 GiB, until the server's own item_size_max is known from `stats
 * settings`), and the input buffer grows with the bytes that actually
 * arrived, never with what a reply announces. The answers to `stats`
 * requests (meta.h) are consumed here, line by line, and never reach the
 * reply callback.
 *
 * A pipe can be guarded (struct mcm_pipe_guard): TLS on a TCP connection
 * (tls.h; memcached never speaks it on a unix socket, which stays plain),
 * and credentials presented before anything else (auth.h): memcached's
 * text-protocol token (-Y), or SASL PLAIN, which puts the pipe in the binary
 * protocol (binproto.h) for its whole life. Both happen in
 * mcm_pipe_connect_guarded, which returns only once the server accepted
 * them; a TLS connection without credentials also waits for the server's
 * first answer there, so a refused client certificate fails the connect
 * too. Over TLS the last request queued always leaves in a TLS record of
 * its own (mcm_pipe_commit marks where it starts; a request is queued by
 * one commit): memcached up to 1.6.38 stops reading a TLS connection whose
 * decrypted bytes it left unread after a value when no new record comes
 * (fixed in 1.6.39, "tls: fix potential hang when pipelining sets"), and a
 * small last record that follows a request boundary always gets it read to
 * the end. Socket I/O happens only in connect and in the pump's send_some and
 * receive_some (plain or TLS); mcm_pipe_send_now and mcm_pipe_read_raw do
 * the same for a caller that reads a raw stream (import's metadump).
 *
 * A server that requires authentication and did not get it says so in the
 * text protocol with "CLIENT_ERROR unauthenticated": the pipe then fails
 * with EACCES ("server requires authentication: give --auth-file"), and a
 * server that closes the connection before answering anything is said to
 * (perhaps) want authentication or TLS.
 */
#ifndef MCM_PIPE_H
#define MCM_PIPE_H

#include <stddef.h>
#include <sys/types.h>

/** One reply: a line without its "\r\n"; for "VA <size> ..." also its data block. */
struct mcm_reply {
	const char *line;
	size_t len;
	const char *data; /**< VA only: the value bytes (without "\r\n"), else NULL */
	size_t data_len;
};

struct mcm_pipe;
struct mcm_tls;  /* tls.h */
struct mcm_auth; /* auth.h */

/** The wire format of a pipe. */
#define MCM_PIPE_TEXT 0   /**< memcached's text and meta protocol */
#define MCM_PIPE_BINARY 1 /**< its binary protocol (SASL servers): binproto.h */

/** How a pipe's connection is protected (a NULL member: not at all). */
struct mcm_pipe_guard {
	struct mcm_tls *tls;         /**< TLS on TCP connections (tls.h), or NULL */
	const struct mcm_auth *auth; /**< credentials to present (auth.h), or NULL */
};

/** Called for each complete reply, in the order the server sent them. */
typedef void mcm_pipe_reply_fn(struct mcm_pipe *p, const struct mcm_reply *r, void *ctx);

/** Called for each "STAT <name> <value>" line of a `stats` answer. */
typedef void mcm_pipe_stat_fn(struct mcm_pipe *p, const char *name, size_t name_len, const char *value,
			      size_t value_len);

/** The largest item memcached can be configured to hold (its -I upper limit):
 * the bound of a value block until the server said its own. */
#define MCM_PIPE_ITEM_MAX ((size_t)1 << 30)

/** The smallest item_size_max memcached accepts (-I lower limit). */
#define MCM_PIPE_ITEM_MIN ((size_t)1 << 10)

/** The longest reply line accepted: longer is a protocol error. */
#define MCM_PIPE_LINE_MAX 8192

struct mcm_pipe {
	int fd;             /**< -1 when closed */
	char name[300];     /**< "host:port" or a socket path, for messages */
	char *out;          /**< bytes queued: out[out_off .. out_len) are unsent */
	size_t out_off, out_len, out_cap;
	char *in;           /**< bytes received: in[in_off .. in_len) are unparsed */
	size_t in_off, in_len, in_cap;
	unsigned long expect; /**< replies the caller still waits for (the caller keeps it) */
	double last_io;     /**< mcm_cli_now() of the last byte moved, or of the connection */
	int err;            /**< first error: an errno value, 0 = healthy */
	char why[256];      /**< what went wrong, e.g. "connection closed by the server" */
	size_t item_max;    /**< the largest value block accepted in a reply */
	unsigned stats_pending; /**< `stats` requests not answered to the end yet */
	mcm_pipe_stat_fn *on_stat; /**< gets their STAT lines; NULL: only item_size_max is used */
	void *user;         /**< the caller's */
	void *tls;          /**< the TLS session (tls.h), or NULL: plain */
	unsigned char proto; /**< MCM_PIPE_TEXT (0) or MCM_PIPE_BINARY */
	unsigned char heard; /**< the server sent something */
	unsigned char tls_wants_write; /**< a TLS read waits for the socket to take bytes */
	size_t last_req;    /**< where in out[] the last request queued begins (TLS sends it as its own record) */
};

/** Connect to a server, waiting at most timeout_ms.
 * @param[out] p the pipe (zeroed and filled)
 * @param[in] host a host name or address, or a unix socket path when is_socket
 * @param[in] port TCP port (ignored for sockets)
 * @param[in] name the server's name for messages (copied)
 * @return 0, or an errno value (ECONNREFUSED, ETIMEDOUT, ENOENT...); on
 *         failure p->why says what failed ("Connection refused", "cannot
 *         resolve: ...") and p needs no mcm_pipe_close(). */
int mcm_pipe_connect(struct mcm_pipe *p, const char *host, unsigned port, int is_socket, const char *name,
		     int timeout_ms);

/** mcm_pipe_connect, then TLS (on TCP only) and the credentials of g (NULL: neither).
 * @return 0; or an errno value with p->why set and p closed: besides
 *         mcm_pipe_connect's, EACCES (a certificate refused, "certificate
 *         verify failed for 'db1:11211': self-signed certificate", or the
 *         credentials refused, "authentication failed: ..."), EPROTO (a TLS
 *         failure, an unexpected answer), ECONNRESET (closed on the way),
 *         ETIMEDOUT (no answer within timeout_ms). */
int mcm_pipe_connect_guarded(struct mcm_pipe *p, const char *host, unsigned port, int is_socket, const char *name,
			     int timeout_ms, const struct mcm_pipe_guard *g);

/** Close the socket and free the buffers. */
void mcm_pipe_close(struct mcm_pipe *p);

/** Room for n more output bytes at the end of the queue.
 * @return where to write them (then call mcm_pipe_commit), or NULL when out
 *         of memory (p->err is then ENOMEM). */
char *mcm_pipe_space(struct mcm_pipe *p, size_t n);

/** Queue the n bytes written at mcm_pipe_space(): one request (or several whole ones). */
void mcm_pipe_commit(struct mcm_pipe *p, size_t n);

/** Queue n bytes: one request (or several whole ones). @return 0 or ENOMEM. */
int mcm_pipe_put(struct mcm_pipe *p, const void *buf, size_t n);

/** Bytes queued and not yet sent. */
size_t mcm_pipe_unsent(const struct mcm_pipe *p);

/** Move bytes on every healthy pipe: wait up to wait_ms (0: do not wait)
 * for any of them to be writable (when it has unsent bytes) or readable,
 * write what the sockets take, read what they have and call fn for each
 * complete reply. A pipe with unsent bytes, expect > 0 or an unanswered
 * `stats` that moved nothing for stall_ms fails with ETIMEDOUT. A reply
 * that breaks the bounds fails the pipe with EMSGSIZE ("server sent an item
 * of N bytes (limit M)") or EPROTO ("reply line too long...", "bad value
 * size...").
 * @return 0, or an errno value when poll() itself failed (EINTR is 0). */
int mcm_pipe_pump(struct mcm_pipe *pipes, size_t n, int wait_ms, int stall_ms, mcm_pipe_reply_fn *fn, void *ctx);

/** Has p anything in flight: unsent bytes, awaited replies or stats? */
int mcm_pipe_busy(const struct mcm_pipe *p);

/** Send n bytes now, before anything queued, waiting up to timeout_ms for the
 * socket (a request that must go alone). @return 0, or an errno value with
 * p failed. */
int mcm_pipe_send_now(struct mcm_pipe *p, const void *buf, size_t n, int timeout_ms);

/** Read what arrived, as it is (decrypted), around the reply parser.
 * @return bytes read; 0 when the server closed the connection; -1 with errno
 *         EAGAIN (nothing now: wait for the fd, unless mcm_pipe_pending) or
 *         another errno value (p->why says what failed). */
ssize_t mcm_pipe_read_raw(struct mcm_pipe *p, void *buf, size_t n);

/** Does p hold received bytes a read returns without waiting for its fd (TLS buffers)? */
int mcm_pipe_pending(const struct mcm_pipe *p);

/* For the wire formats (binproto.c). */

/** Fail p with err and why (a first failure sticks). */
void mcm_pipe_fail(struct mcm_pipe *p, int err, const char *why);

/** One STAT line of a `stats` answer (item_size_max is taken, then p->on_stat). */
void mcm_pipe_stat(struct mcm_pipe *p, const char *name, size_t name_len, const char *value, size_t value_len);

/** Hand a reply to fn, unless it says the server wants authentication (p then fails). */
void mcm_pipe_deliver(struct mcm_pipe *p, const struct mcm_reply *r, mcm_pipe_reply_fn *fn, void *ctx);

/** The number after " <letter>" among a reply line's flags, e.g. 't' in "VA 3 f0 t-1":
 * decimal digits with an optional '-', nothing else up to the next space.
 * @return 0 with *out set, or -1 when the flag is absent, not such a number, or
 *         outside [min, max] (a server's bytes: nothing is assumed of them). */
int mcm_reply_flag(const struct mcm_reply *r, char letter, long long min, long long max, long long *out);

/** The bounds of the f and t flags of a memcached answer: client flags are 32 bits,
 * and a ttl is -1 (never expires) or the seconds left, at most 2^32 - 1. */
#define MCM_REPLY_FLAGS_MAX 4294967295LL
#define MCM_REPLY_TTL_MAX 4294967295LL

/** Longest key token memcached's meta commands accept (a base64 one too). */
#define MCM_PIPE_KEY_MAX 250

/** The size of key's token in a meta command. A key with any byte outside
 * 0x21..0x7e goes in base64 with the `b` flag (*b64 set).
 * @return the token's length, or 0 when the key cannot be sent (longer than
 *         250 bytes, or than 186 when it needs base64). */
size_t mcm_pipe_key_size(const char *key, size_t len, int *b64);

/** Write key's token (mcm_pipe_key_size bytes) at dst. @return its end. */
char *mcm_pipe_put_key(char *dst, const char *key, size_t len, int b64);

#endif
