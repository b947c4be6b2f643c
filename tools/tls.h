/* tls.h - TLS for the tool's connections to memcached (OpenSSL): one context, one session per pipe.
 *
 * A context holds what every connection shares: the CAs trusted (--tls-ca,
 * else the system's), the client certificate and key when the server asks
 * for one (--tls-cert, --tls-key), and whether the server is verified at all
 * (--tls-insecure turns that off). A session runs on a connected
 * non-blocking socket: mcm_tls_handshake() finishes the handshake before it
 * returns, checking the server's certificate against the CAs and against
 * the name the server was given by: a DNS name is sent as SNI and must
 * match the certificate's DNS names, an IP address must be one of its IP
 * addresses; over TLS 1.3 it also reads the server's word on the client
 * certificate (session tickets, or a refusal), which comes after the
 * client's part of the handshake. Afterwards mcm_tls_read() and mcm_tls_write() move bytes
 * without blocking, like recv and send (they never raise SIGPIPE: the
 * session writes with MSG_NOSIGNAL).
 *
 * memcached never speaks TLS on a unix socket (its -Z applies to TCP
 * listeners only), so the caller connects unix sockets without it.
 */
#ifndef MCM_TLS_H
#define MCM_TLS_H

#include <stddef.h>
#include <sys/types.h>

/** What the context is built from (the strings are only read by mcm_tls_create). */
struct mcm_tls_opts {
	const char *ca;   /**< PEM file of the CAs to trust, or NULL for the system's */
	const char *cert; /**< PEM client certificate (chain), or NULL */
	const char *key;  /**< PEM private key of cert, or NULL: in cert's file */
	int insecure;     /**< do not verify the server at all */
};

struct mcm_tls;

/** A session's wish after a read or write that could not proceed. */
#define MCM_TLS_WANT_READ 1
#define MCM_TLS_WANT_WRITE 2

/** Build the shared context.
 * @param[out] out the context
 * @param[in] o the files and the verification setting
 * @param[out] why on failure, what failed with the file's name, e.g.
 *             "cannot load the CA file '/x/ca.pem': no certificate or crl found"
 * @return 0, or -1 with why set. */
int mcm_tls_create(struct mcm_tls **out, const struct mcm_tls_opts *o, char *why, size_t why_size);

/** Free the context (NULL is fine); sessions must be closed first. */
void mcm_tls_free(struct mcm_tls *t);

/** Start TLS on the connected non-blocking socket fd and finish the handshake.
 * @param[in] host the server's host name or address as given (for SNI and the check)
 * @param[in] name the server's name for messages ("db1:11211")
 * @param[in] timeout_ms how long the handshake may take
 * @param[out] session the session (owns nothing of fd: close fd after mcm_tls_close)
 * @param[out] why on failure, e.g. "certificate verify failed for 'db1:11211':
 *             self-signed certificate", "TLS handshake with 'db1:11211' failed:
 *             wrong version number (is TLS enabled on the server: memcached -Z?)"
 * @return 0; EACCES (the certificate was refused), ETIMEDOUT, ECONNRESET
 *         (closed during the handshake), EPROTO (any other TLS failure) or
 *         ENOMEM, with why set. */
int mcm_tls_handshake(struct mcm_tls *t, int fd, const char *host, const char *name, int timeout_ms,
		      void **session, char *why, size_t why_size);

/** Read up to n decrypted bytes.
 * @return bytes read (> 0); 0 when the server closed the connection; -1 with
 *         *want set (MCM_TLS_WANT_READ/WRITE: try again when the socket is
 *         ready), or with *want 0 after a failure described in why. */
ssize_t mcm_tls_read(void *session, void *buf, size_t n, int *want, char *why, size_t why_size);

/** Write up to n bytes (a record or more; the rest later: the buffer may move between calls).
 * @return bytes taken (> 0), or -1 as for mcm_tls_read. */
ssize_t mcm_tls_write(void *session, const void *buf, size_t n, int *want, char *why, size_t why_size);

/** Has the session decrypted bytes that a read would return without the socket? */
int mcm_tls_pending(void *session);

/** Say goodbye (close_notify, without waiting) and free the session (NULL is fine). */
void mcm_tls_close(void *session);

#endif
