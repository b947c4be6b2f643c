/* tls.c - TLS sessions over the tool's non-blocking sockets (OpenSSL): context, handshake, read, write. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mcmirror.h"
#include "tls.h"

#define READ_BUFFER (64u << 10) /* OpenSSL's read-ahead buffer: fewer reads for a pipelined stream */
#define SETTLE_MS 250           /* TLS 1.3: how long to wait for the server's word on the client certificate */

struct mcm_tls {
	SSL_CTX *ctx;
	int insecure;
};

/* --- a socket BIO that sends with MSG_NOSIGNAL ---------------------------
 * OpenSSL's own socket BIO writes with write(): a server that closed the
 * connection would raise SIGPIPE. */

static BIO_METHOD *bio_method;

static int bio_write(BIO *b, const char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = recv(fd, buf, (size_t)len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO *socket_bio(int fd)
{
	BIO *b;

	if (!bio_method) {
		BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mcmirror socket");

		if (!m || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
		    !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
			BIO_meth_free(m);
			return NULL;
		}
		bio_method = m;
	}
	if ((b = BIO_new(bio_method)))
		BIO_set_data(b, (void *)(intptr_t)fd);
	return b;
}

/* --- messages -------------------------------------------------------------- */

/* OpenSSL's reason for the oldest queued error (or fallback), and a hint for the usual causes. */
static void describe(char *out, size_t size, const char *fallback)
{
	static const struct {
		const char *reason, *hint;
	} hints[] = {
		{"wrong version number", "is TLS enabled on the server: memcached -Z?"},
		{"packet length too long", "is TLS enabled on the server: memcached -Z?"},
		{"record layer failure", "is TLS enabled on the server: memcached -Z?"},
		{"certificate required", "the server wants a client certificate: --tls-cert and --tls-key"},
		{"handshake failure", "does the server want a client certificate? --tls-cert and --tls-key"},
		{"unknown ca", "the server does not trust the client certificate"},
		{"bad certificate", "the server does not trust the client certificate"},
		{"certificate unknown", "the server does not trust the client certificate"},
	};
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char buf[160];

	if (e && !reason) {
		ERR_error_string_n(e, buf, sizeof buf);
		reason = buf;
	}
	if (!reason)
		reason = fallback;
	snprintf(out, size, "%s", reason);
	for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
		if (strstr(reason, hints[i].reason)) {
			snprintf(out, size, "%s (%s)", reason, hints[i].hint);
			break;
		}
	}
	ERR_clear_error();
}

/* --- the context ----------------------------------------------------------- */

static int readable(const char *what, const char *file, char *why, size_t why_size)
{
	if (access(file, R_OK) == 0)
		return 0;
	snprintf(why, why_size, "cannot read the %s '%s': %s", what, file, strerror(errno));
	return -1;
}

static int load_files(SSL_CTX *ctx, const struct mcm_tls_opts *o, char *why, size_t why_size)
{
	char reason[200];
	const char *key = o->key ? o->key : o->cert;

	if (o->ca && !o->insecure) {
		if (readable("CA file", o->ca, why, why_size) != 0)
			return -1;
		if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
			describe(reason, sizeof reason, "not a PEM file");
			snprintf(why, why_size, "cannot load the CA file '%s': %s", o->ca, reason);
			return -1;
		}
	} else if (!o->insecure && SSL_CTX_set_default_verify_paths(ctx) != 1) {
		describe(reason, sizeof reason, "unknown error");
		snprintf(why, why_size, "cannot load the system's CAs: %s", reason);
		return -1;
	}
	if (!o->cert)
		return 0;
	if (readable("client certificate", o->cert, why, why_size) != 0 || readable("client key", key, why, why_size) != 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
		describe(reason, sizeof reason, "not a PEM certificate");
		snprintf(why, why_size, "cannot load the client certificate '%s': %s", o->cert, reason);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		describe(reason, sizeof reason, "not the certificate's key");
		snprintf(why, why_size, "cannot use the client key '%s': %s", key, reason);
		return -1;
	}
	return 0;
}

int mcm_tls_create(struct mcm_tls **out, const struct mcm_tls_opts *o, char *why, size_t why_size)
{
	struct mcm_tls *t = calloc(1, sizeof *t);

	*out = NULL;
	if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method()))) {
		snprintf(why, why_size, "cannot create a TLS context: out of memory");
		free(t);
		return -1;
	}
	t->insecure = o->insecure;
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	/* out[] of a pipe grows and slides between two tries of one write */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF); /* a close without close_notify is a close */
	SSL_CTX_set_read_ahead(t->ctx, 1);
	SSL_CTX_set_default_read_buffer_len(t->ctx, READ_BUFFER);
	SSL_CTX_set_verify(t->ctx, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (load_files(t->ctx, o, why, why_size) != 0) {
		mcm_tls_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void mcm_tls_free(struct mcm_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* --- sessions -------------------------------------------------------------- */

/* The name the certificate must carry: an IP address, or a DNS name (also sent as SNI). */
static int expect_name(SSL *ssl, const char *host, int verify)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		return !verify || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return !verify || SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

/* Why the handshake failed. @return the errno value to report. */
static int handshake_failed(struct mcm_tls *t, SSL *ssl, int rc, const char *name, char *why, size_t why_size)
{
	int err = SSL_get_error(ssl, rc), sys = errno;
	long verify = SSL_get_verify_result(ssl);
	char reason[240];

	if (!t->insecure && verify != X509_V_OK) {
		ERR_clear_error();
		snprintf(why, why_size, "certificate verify failed for '%s': %s", name,
			 X509_verify_cert_error_string(verify));
		return EACCES;
	}
	if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
		ERR_clear_error();
		snprintf(why, why_size, "TLS handshake with '%s' failed: %s (is TLS enabled on the server: memcached -Z?)",
			 name, err == SSL_ERROR_SYSCALL && sys ? strerror(sys) : "the server closed the connection");
		return ECONNRESET;
	}
	describe(reason, sizeof reason, "unknown error");
	snprintf(why, why_size, "TLS handshake with '%s' failed: %s", name, reason);
	return EPROTO;
}

/* Wait for fd to be ready for what the handshake wants. @return 0, or ETIMEDOUT / an errno value. */
static int await(int fd, int want_write, double deadline)
{
	struct pollfd pfd = {.fd = fd, .events = want_write ? POLLOUT : POLLIN};

	for (;;) {
		int left = (int)((deadline - mcm_cli_now()) * 1000.0), n;

		if (left <= 0)
			return ETIMEDOUT;
		if ((n = poll(&pfd, 1, left)) > 0)
			return 0;
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
		if (mcm_cli_interrupted)
			return EINTR;
	}
}

/* TLS 1.3: the server checks the client's certificate after the client finished its handshake, and
 * answers with session tickets or a refusal. Read that answer (waiting at most SETTLE_MS for it: a
 * server that sends no ticket says nothing), so that a refusal fails the handshake and is not lost
 * to a reset once the first request is sent. @return 0, or EACCES with why set. */
static int settle(SSL *ssl, int fd, double deadline, char *why, size_t why_size)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	double left = deadline - mcm_cli_now();
	char c, reason[240];
	size_t got;
	int rc;

	if (SSL_version(ssl) != TLS1_3_VERSION || left <= 0)
		return 0;
	if (poll(&pfd, 1, left * 1000.0 < SETTLE_MS ? (int)(left * 1000.0) : SETTLE_MS) <= 0)
		return 0;
	ERR_clear_error();
	if ((rc = SSL_peek_ex(ssl, &c, 1, &got)) == 1)
		return 0; /* (data already: it stays for the first read) */
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_SSL:
		describe(reason, sizeof reason, "unknown error");
		snprintf(why, why_size, "TLS: %s", reason);
		return EACCES;
	default:
		ERR_clear_error();
		snprintf(why, why_size, "the server closed the connection after the TLS handshake (does it want a"
			 " client certificate it trusts? --tls-cert and --tls-key)");
		return EACCES;
	}
}

int mcm_tls_handshake(struct mcm_tls *t, int fd, const char *host, const char *name, int timeout_ms,
		      void **session, char *why, size_t why_size)
{
	double deadline = mcm_cli_now() + timeout_ms / 1000.0;
	SSL *ssl = SSL_new(t->ctx);
	BIO *bio = ssl ? socket_bio(fd) : NULL;
	int rc;

	*session = NULL;
	if (!ssl || !bio || expect_name(ssl, host, !t->insecure) != 0) {
		snprintf(why, why_size, "cannot start TLS with '%s': out of memory", name);
		BIO_free(bio);
		SSL_free(ssl);
		ERR_clear_error();
		return ENOMEM;
	}
	SSL_set_bio(ssl, bio, bio);
	SSL_set_connect_state(ssl);
	ERR_clear_error();
	while ((rc = SSL_do_handshake(ssl)) != 1) {
		int err = SSL_get_error(ssl, rc), wait;

		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			int code = handshake_failed(t, ssl, rc, name, why, why_size);

			SSL_free(ssl);
			return code;
		}
		if ((wait = await(fd, err == SSL_ERROR_WANT_WRITE, deadline)) != 0) {
			if (wait == ETIMEDOUT)
				snprintf(why, why_size, "TLS handshake with '%s': no answer within %.0f s (is TLS enabled"
					 " on the server: memcached -Z?)", name, timeout_ms / 1000.0);
			else
				snprintf(why, why_size, "TLS handshake with '%s': %s", name, strerror(wait));
			SSL_free(ssl);
			return wait;
		}
	}
	if ((rc = settle(ssl, fd, deadline, why, why_size)) != 0) {
		SSL_free(ssl);
		return rc;
	}
	*session = ssl;
	return 0;
}

/* After a read or write that returned rc <= 0. @return 0 (the server closed) or -1. */
static ssize_t io_failed(SSL *ssl, int rc, int *want, char *why, size_t why_size)
{
	int err = SSL_get_error(ssl, rc), sys = errno;
	char reason[240];

	*want = 0;
	switch (err) {
	case SSL_ERROR_WANT_READ:
		*want = MCM_TLS_WANT_READ;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = MCM_TLS_WANT_WRITE;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (sys == 0)
				return 0;
			snprintf(why, why_size, "%s", strerror(sys));
			errno = sys;
			return -1;
		}
		/* fall through */
	default:
		describe(reason, sizeof reason, "unknown error");
		snprintf(why, why_size, "TLS: %s", reason);
		errno = EPROTO;
		return -1;
	}
}

ssize_t mcm_tls_read(void *session, void *buf, size_t n, int *want, char *why, size_t why_size)
{
	size_t got = 0;
	int rc;

	ERR_clear_error();
	if ((rc = SSL_read_ex(session, buf, n, &got)) == 1) {
		*want = 0;
		return (ssize_t)got;
	}
	return io_failed(session, rc, want, why, why_size);
}

ssize_t mcm_tls_write(void *session, const void *buf, size_t n, int *want, char *why, size_t why_size)
{
	size_t put = 0;
	int rc;

	ERR_clear_error();
	if ((rc = SSL_write_ex(session, buf, n, &put)) == 1) {
		*want = 0;
		return (ssize_t)put;
	}
	if (io_failed(session, rc, want, why, why_size) == 0) { /* closed while we write */
		snprintf(why, why_size, "connection closed by the server");
		errno = ECONNRESET;
	}
	return -1;
}

int mcm_tls_pending(void *session)
{
	return session && SSL_has_pending(session);
}

void mcm_tls_close(void *session)
{
	if (!session)
		return;
	SSL_shutdown(session); /* one close_notify, not waiting for the server's */
	SSL_free(session);
	ERR_clear_error();
}
