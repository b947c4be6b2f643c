/* pipe.c - non-blocking pipelined connections to memcached: connect (TLS, credentials), queue, pump, cut replies. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth.h"
#include "binproto.h"
#include "mcmirror.h"
#include "meta.h"
#include "pipe.h"
#include "tls.h"

#define READ_MIN 32768 /* free bytes a read needs in the input buffer (64 KiB at first) */
#define POLL_STACK 64
#define UNAUTHENTICATED "CLIENT_ERROR unauthenticated"
#define NEEDS_AUTH "server requires authentication: give --auth-file"

void mcm_pipe_fail(struct mcm_pipe *p, int err, const char *why)
{
	if (p->err)
		return;
	p->err = err;
	snprintf(p->why, sizeof p->why, "%s", why ? why : strerror(err));
}

static void fail(struct mcm_pipe *p, int err, const char *why)
{
	mcm_pipe_fail(p, err, why);
}

/* Wait for a non-blocking connect to finish. @return 0 or an errno value. */
static int finish_connect(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	double deadline = mcm_cli_now() + timeout_ms / 1000.0;
	socklen_t len = sizeof(int);
	int err = 0, n;

	for (;;) {
		int left = (int)((deadline - mcm_cli_now()) * 1000.0);

		if (left < 0)
			return ETIMEDOUT;
		n = poll(&pfd, 1, left);
		if (n > 0)
			break;
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
		if (mcm_cli_interrupted)
			return EINTR;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return errno;
	return err;
}

/* Open a non-blocking socket and connect it to addr. @return the fd, or -errno. */
static int connect_addr(int family, const struct sockaddr *addr, socklen_t addrlen, int timeout_ms)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = 0, one = 1;

	if (fd < 0)
		return -errno;
	if (connect(fd, addr, addrlen) != 0)
		rc = errno == EINPROGRESS ? finish_connect(fd, timeout_ms) : errno;
	if (rc != 0) {
		close(fd);
		return -rc;
	}
	if (family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int connect_unix(struct mcm_pipe *p, const char *path, int timeout_ms)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fail(p, ENAMETOOLONG, "socket path too long");
		return ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	p->fd = connect_addr(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, timeout_ms);
	if (p->fd >= 0)
		return 0;
	fail(p, -p->fd, NULL);
	return p->err;
}

static int connect_tcp(struct mcm_pipe *p, const char *host, unsigned port, int timeout_ms)
{
	struct addrinfo hints, *res, *ai;
	char service[16], why[sizeof p->why];
	int rc, last = ECONNREFUSED;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof service, "%u", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(why, sizeof why, "cannot resolve the host: %s", gai_strerror(rc));
		fail(p, rc == EAI_SYSTEM ? errno : EHOSTUNREACH, why);
		return p->err;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		p->fd = connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		if (p->fd >= 0)
			break;
		last = -p->fd;
	}
	freeaddrinfo(res);
	if (p->fd >= 0)
		return 0;
	fail(p, last, NULL);
	return last;
}

int mcm_pipe_connect(struct mcm_pipe *p, const char *host, unsigned port, int is_socket, const char *name,
		     int timeout_ms)
{
	memset(p, 0, sizeof *p);
	p->fd = -1;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->item_max = MCM_PIPE_ITEM_MAX;
	if (is_socket ? connect_unix(p, host, timeout_ms) : connect_tcp(p, host, port, timeout_ms))
		return p->err;
	p->last_io = mcm_cli_now();
	return 0;
}

void mcm_pipe_close(struct mcm_pipe *p)
{
	mcm_tls_close(p->tls);
	p->tls = NULL;
	if (p->out)
		explicit_bzero(p->out, p->out_cap); /* it may have carried credentials */
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->out);
	free(p->in);
	p->out = p->in = NULL;
	p->out_off = p->out_len = p->out_cap = 0;
	p->in_off = p->in_len = p->in_cap = 0;
}

/* Make room for n more bytes after in[in_len] or out[out_len]. The buffer
 * doubles while that is small, then grows to what is needed (never to twice
 * a large value). */
static int reserve(char **buf, size_t *off, size_t *len, size_t *cap, size_t n)
{
	size_t want, newcap;
	char *b;

	if (*cap - *len >= n)
		return 0;
	if (*off > 0) { /* slide the live bytes to the front first */
		memmove(*buf, *buf + *off, *len - *off);
		*len -= *off;
		*off = 0;
		if (*cap - *len >= n)
			return 0;
	}
	want = *len + n;
	newcap = *cap ? *cap * 2 : 65536;
	if (newcap < want || newcap > ((size_t)16 << 20))
		newcap = want > *cap + *cap / 4 ? want : *cap + *cap / 4;
	if (!(b = realloc(*buf, newcap)))
		return ENOMEM;
	*buf = b;
	*cap = newcap;
	return 0;
}

char *mcm_pipe_space(struct mcm_pipe *p, size_t n)
{
	size_t off = p->out_off;

	if (reserve(&p->out, &p->out_off, &p->out_len, &p->out_cap, n) != 0) {
		fail(p, ENOMEM, "out of memory");
		return NULL;
	}
	if (p->out_off != off) /* the unsent bytes slid to the front */
		p->last_req = p->last_req >= off ? p->last_req - off : 0;
	return p->out + p->out_len;
}

void mcm_pipe_commit(struct mcm_pipe *p, size_t n)
{
	if (!mcm_pipe_busy(p))
		p->last_io = mcm_cli_now(); /* it was idle: the stall clock starts now */
	p->last_req = p->out_len;
	p->out_len += n;
}

int mcm_pipe_put(struct mcm_pipe *p, const void *buf, size_t n)
{
	char *dst = mcm_pipe_space(p, n);

	if (!dst)
		return ENOMEM;
	memcpy(dst, buf, n);
	mcm_pipe_commit(p, n);
	return 0;
}

size_t mcm_pipe_unsent(const struct mcm_pipe *p)
{
	return p->out_len - p->out_off;
}

static void closed(struct mcm_pipe *p);

/* A send or receive failed with err: a reset before any answer is the server refusing us. */
static void io_error(struct mcm_pipe *p, int err)
{
	if (!p->heard && (err == ECONNRESET || err == EPIPE))
		closed(p);
	else
		fail(p, err, NULL);
}

/* TLS: write what the session takes. @return as send(), errno EAGAIN when it waits for the socket. */
static ssize_t tls_send(struct mcm_pipe *p, const char *buf, size_t n)
{
	char why[sizeof p->why];
	int want;
	ssize_t w = mcm_tls_write(p->tls, buf, n, &want, why, sizeof why);

	if (w < 0 && want) {
		errno = EAGAIN;
	} else if (w < 0) {
		int e = errno;

		fail(p, e ? e : EPROTO, why);
		errno = EPROTO; /* (reported) */
	}
	return w;
}

/* TLS: the bytes before the last request, then that request in its own record (pipe.h). */
static size_t tls_end(const struct mcm_pipe *p)
{
	return p->last_req > p->out_off && p->last_req < p->out_len ? p->last_req : p->out_len;
}

static void send_some(struct mcm_pipe *p, double now)
{
	while (p->out_off < p->out_len) {
		ssize_t n = p->tls ? tls_send(p, p->out + p->out_off, tls_end(p) - p->out_off)
				   : send(p->fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				io_error(p, errno);
			return;
		}
		p->out_off += (size_t)n;
		p->last_io = now;
	}
	p->out_off = p->out_len = p->last_req = 0;
}

/* The bound of a value block: item_max, or memcached's ceiling when unset. */
static size_t item_limit(const struct mcm_pipe *p)
{
	return p->item_max ? p->item_max : MCM_PIPE_ITEM_MAX;
}

/* The size of a "VA <size> ..." reply's data block. @return 0 with *size set,
 * 1 when the line is no VA, -1 after failing p (a bad or too large size). */
static int value_size(struct mcm_pipe *p, const char *line, size_t len, size_t *size)
{
	size_t i = 3, v = 0, limit = item_limit(p);
	char why[sizeof p->why];

	if (len < 3 || memcmp(line, "VA ", 3) != 0)
		return 1;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++)
		if ((v = v * 10 + (size_t)(line[i] - '0')) > limit)
			break;
	if (i < len && line[i] >= '0' && line[i] <= '9') {
		size_t end = i;

		while (end < len && line[end] >= '0' && line[end] <= '9')
			end++;
		snprintf(why, sizeof why, "server sent an item of %.*s bytes (limit %zu)",
			 (int)(end - 3 > 40 ? 40 : end - 3), line + 3, limit);
		fail(p, EMSGSIZE, why);
		return -1;
	}
	if (i == 3 || (i < len && line[i] != ' ')) {
		snprintf(why, sizeof why, "bad value size in the reply '%s'", mcm_cli_shown(line, len, 40));
		fail(p, EPROTO, why);
		return -1;
	}
	*size = v;
	return 0;
}

/* One line of a `stats` answer (p->stats_pending > 0): "STAT name value", or its end. */
static void stat_line(struct mcm_pipe *p, const char *line, size_t len)
{
	const char *name = line + 5, *sp;

	if (len < 5 || memcmp(line, "STAT ", 5) != 0) {
		p->stats_pending--; /* "END", or a one-line refusal ("ERROR"): the answer is over */
		return;
	}
	if (!(sp = memchr(name, ' ', len - 5)))
		return;
	mcm_pipe_stat(p, name, (size_t)(sp - name), sp + 1, (size_t)(line + len - (sp + 1)));
}

void mcm_pipe_stat(struct mcm_pipe *p, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (nlen == 13 && memcmp(name, "item_size_max", 13) == 0) {
		size_t v = 0, i = 0;

		for (; i < vlen && i < 12 && value[i] >= '0' && value[i] <= '9'; i++)
			v = v * 10 + (size_t)(value[i] - '0');
		if (i == vlen && v >= MCM_PIPE_ITEM_MIN && v <= MCM_PIPE_ITEM_MAX)
			p->item_max = v;
	}
	if (p->on_stat)
		p->on_stat(p, name, nlen, value, vlen);
}

static int unauthenticated(const char *line, size_t len)
{
	return len == sizeof UNAUTHENTICATED - 1 && memcmp(line, UNAUTHENTICATED, len) == 0;
}

void mcm_pipe_deliver(struct mcm_pipe *p, const struct mcm_reply *r, mcm_pipe_reply_fn *fn, void *ctx)
{
	if (unauthenticated(r->line, r->len))
		fail(p, EACCES, NEEDS_AUTH);
	else
		fn(p, r, ctx);
}

/* Hand every complete reply in the input buffer to fn. */
static void cut_replies(struct mcm_pipe *p, mcm_pipe_reply_fn *fn, void *ctx)
{
	if (p->proto == MCM_PIPE_BINARY) {
		mcm_binproto_cut(p, fn, ctx);
		return;
	}
	while (!p->err && p->in_off < p->in_len) {
		char *start = p->in + p->in_off, *eol;
		size_t avail = p->in_len - p->in_off, need, size;
		struct mcm_reply r = {0};
		int va;

		if (!(eol = memmem(start, avail < MCM_PIPE_LINE_MAX + 2 ? avail : MCM_PIPE_LINE_MAX + 2, "\r\n", 2))) {
			if (avail >= MCM_PIPE_LINE_MAX + 2)
				fail(p, EPROTO, "reply line too long: not a memcached server?");
			return;
		}
		r.line = start;
		r.len = (size_t)(eol - start);
		need = r.len + 2;
		if ((va = value_size(p, start, r.len, &size)) < 0)
			return;
		if (va == 0) {
			if (avail - need < size + 2)
				return; /* the rest comes: receive_some grows the buffer with it */
			if (memcmp(start + need + size, "\r\n", 2) != 0) {
				fail(p, EPROTO, "value block not followed by \\r\\n: not a memcached server?");
				return;
			}
			r.data = start + need;
			r.data_len = size;
			need += size + 2;
		}
		p->in_off += need;
		if (unauthenticated(r.line, r.len))
			fail(p, EACCES, NEEDS_AUTH); /* memcached -Y, to anything before the credentials */
		else if (p->stats_pending && va != 0)
			stat_line(p, r.line, r.len);
		else
			fn(p, &r, ctx);
	}
	if (p->in_off == p->in_len)
		p->in_off = p->in_len = 0;
}

/* Read into buf: plain or TLS. @return as recv(); errno EAGAIN when nothing is there now. */
static ssize_t transport_read(struct mcm_pipe *p, void *buf, size_t n)
{
	char why[sizeof p->why];
	ssize_t r;
	int want;

	if (!p->tls)
		return recv(p->fd, buf, n, 0);
	r = mcm_tls_read(p->tls, buf, n, &want, why, sizeof why);
	p->tls_wants_write = want == MCM_TLS_WANT_WRITE;
	if (r < 0 && want) {
		errno = EAGAIN;
	} else if (r < 0) {
		int e = errno;

		fail(p, e ? e : EPROTO, why);
		errno = EPROTO; /* (reported) */
	}
	return r;
}

/* The server closed the connection. */
static void closed(struct mcm_pipe *p)
{
	if (p->heard)
		fail(p, ECONNRESET, "connection closed by the server");
	else /* memcached -S closes on a text request, a TLS server on a plain one */
		fail(p, ECONNRESET, "connection closed by the server before any answer (does it require SASL"
		     " authentication (--auth-file) or TLS (--tls)?)");
}

/* The first bytes of a plain connection: a TLS record (an alert) means a TLS server. */
static int speaks_tls(struct mcm_pipe *p)
{
	if (p->tls || p->heard || p->in_len - p->in_off < 2)
		return 0;
	if ((p->in[p->in_off] != 0x15 && p->in[p->in_off] != 0x16) || p->in[p->in_off + 1] != 0x03)
		return 0;
	fail(p, EPROTO, "the server speaks TLS: give --tls");
	return 1;
}

static void receive_some(struct mcm_pipe *p, double now, mcm_pipe_reply_fn *fn, void *ctx)
{
	for (;;) {
		size_t room;
		ssize_t n;

		if (reserve(&p->in, &p->in_off, &p->in_len, &p->in_cap, READ_MIN) != 0) {
			fail(p, ENOMEM, "out of memory");
			return;
		}
		room = p->in_cap - p->in_len;
		n = transport_read(p, p->in + p->in_len, room);
		if (n == 0) {
			closed(p);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				io_error(p, errno);
			return;
		}
		p->in_len += (size_t)n;
		p->last_io = now;
		if (speaks_tls(p))
			return;
		p->heard = 1;
		cut_replies(p, fn, ctx);
		/* a read that did not fill the room emptied the socket; TLS reads a record at a time:
		 * on until it waits */
		if (p->err || (!p->tls && (size_t)n < room))
			return;
	}
}

static void check_stall(struct mcm_pipe *p, double now, int stall_ms)
{
	char why[sizeof p->why];

	if (p->err || !mcm_pipe_busy(p))
		return;
	if ((now - p->last_io) * 1000.0 < stall_ms)
		return;
	snprintf(why, sizeof why, "no progress for %.0f s (--timeout)", stall_ms / 1000.0);
	fail(p, ETIMEDOUT, why);
}

int mcm_pipe_pump(struct mcm_pipe *pipes, size_t n, int wait_ms, int stall_ms, mcm_pipe_reply_fn *fn, void *ctx)
{
	struct pollfd stack[POLL_STACK], *pfd = n <= POLL_STACK ? stack : calloc(n, sizeof *pfd);
	double now;
	int rc = 0;

	if (!pfd)
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = pipes[i].err ? -1 : pipes[i].fd;
		pfd[i].events = POLLIN | (mcm_pipe_unsent(&pipes[i]) || pipes[i].tls_wants_write ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
	if (poll(pfd, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
		rc = errno;
	now = mcm_cli_now();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct mcm_pipe *p = &pipes[i];

		if (pfd[i].fd < 0)
			continue;
		if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))
			send_some(p, now);
		if (!p->err && ((pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ||
				(p->tls_wants_write && (pfd[i].revents & POLLOUT))))
			receive_some(p, now, fn, ctx);
		check_stall(p, now, stall_ms);
	}
	if (pfd != stack)
		free(pfd);
	return rc;
}

int mcm_pipe_busy(const struct mcm_pipe *p)
{
	return mcm_pipe_unsent(p) > 0 || p->expect > 0 || p->stats_pending > 0;
}

/* Are all bytes of key in 0x21..0x7e? Eight at a time: a byte below 0x21 or
 * above 0x7e sets its high bit in one of the two tests (exact for "any"). */
static int text_safe(const char *key, size_t len)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, key + i, 8);
		if (((v - ones * 0x21) & ~v & highs) || (((v + ones * (127 - 0x7e)) | v) & highs))
			return 0;
	}
	for (; i < len; i++)
		if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
			return 0;
	return 1;
}

size_t mcm_pipe_key_size(const char *key, size_t len, int *b64)
{
	size_t size;

	*b64 = !text_safe(key, len);
	size = *b64 ? (len + 2) / 3 * 4 : len;
	return len == 0 || size > MCM_PIPE_KEY_MAX ? 0 : size;
}

static char *put_base64(char *p, const unsigned char *s, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*p++ = abc[v >> 18];
		*p++ = abc[v >> 12 & 63];
		*p++ = abc[v >> 6 & 63];
		*p++ = abc[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0);
		*p++ = abc[v >> 18];
		*p++ = abc[v >> 12 & 63];
		*p++ = i + 1 < len ? abc[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	return p;
}

char *mcm_pipe_put_key(char *dst, const char *key, size_t len, int b64)
{
	if (b64)
		return put_base64(dst, (const unsigned char *)key, len);
	memcpy(dst, key, len);
	return dst + len;
}

/* --- guarded connections: TLS, credentials, the first answer ---------------- */

/* What a conversation at connect heard. */
struct talk {
	unsigned replies;
	char first[120]; /* the first reply line */
};

static void on_talk(struct mcm_pipe *p, const struct mcm_reply *r, void *ctx)
{
	struct talk *t = ctx;

	if (t->replies++ == 0)
		snprintf(t->first, sizeof t->first, "%s", mcm_cli_shown(r->line, r->len, 100));
	if (p->expect)
		p->expect--;
}

/* Move bytes on p alone until nothing is in flight. @return p->err. */
static int converse(struct mcm_pipe *p, int timeout_ms, struct talk *t)
{
	while (!p->err && mcm_pipe_busy(p)) {
		int rc;

		if (mcm_cli_interrupted) {
			fail(p, EINTR, "interrupted");
			break;
		}
		if ((rc = mcm_pipe_pump(p, 1, 100, timeout_ms, on_talk, t)) != 0)
			fail(p, rc, NULL);
	}
	return p->err;
}

/* A TLS connection without credentials: `stats settings` and two `mn` (24
 * bytes: a binary-only server reads that much, then closes on it), answered
 * before the connect returns, so that a server refusing the client's
 * certificate (TLS 1.3 says so after the handshake) or wanting credentials
 * fails the connect itself. */
static int probe(struct mcm_pipe *p, int timeout_ms)
{
	struct talk t = {0};

	if (mcm_meta_stats(p, "settings") != 0 || mcm_pipe_put(p, "mn\r\nmn\r\n", 8) != 0)
		return p->err;
	p->expect = 2;
	if (converse(p, timeout_ms, &t) == 0 && strcmp(t.first, "MN") != 0) {
		char why[sizeof p->why];

		snprintf(why, sizeof why, "unexpected answer '%s' to 'mn': not a memcached server?", t.first);
		fail(p, EPROTO, why);
	}
	return p->err;
}

/* Say what went wrong with the credentials (the server answered t->first, or nothing). */
static void auth_failed(struct mcm_pipe *p, const struct mcm_auth *a, const struct talk *t, int timeout_ms)
{
	int plain = a->mech == MCM_AUTH_PLAIN;
	char why[sizeof p->why];

	if (p->err == ETIMEDOUT)
		snprintf(why, sizeof why, "no answer to the %s authentication within %.0f s (%s)", plain ? "SASL" : "text-protocol",
			 timeout_ms / 1000.0, plain ? "a server started with -Y wants 'mechanism authfile'"
						    : "is it started with -Y? With -S: 'mechanism plain'");
	else if (p->err == ECONNRESET && !t->replies)
		snprintf(why, sizeof why, "the server closed the connection at the %s authentication (%s)",
			 plain ? "SASL" : "text-protocol", plain ? "is it started with -S? With -Y: 'mechanism authfile'"
								 : "a server started with -S wants 'mechanism plain'");
	else if (p->err)
		return; /* the pipe's own reason (TLS, I/O) says it */
	else if (strcmp(t->first, "CLIENT_ERROR authentication failure") == 0)
		snprintf(why, sizeof why, "authentication failed: the server refused the user and password of '%.150s'",
			 a->path);
	else if (plain && strcmp(t->first, "ERROR") == 0)
		snprintf(why, sizeof why, "the server does not offer SASL authentication (is it started with -S? With -Y:"
			 " 'mechanism authfile')");
	else
		snprintf(why, sizeof why, "unexpected answer '%.60s' to the %s authentication (%s)", t->first,
			 plain ? "SASL" : "text-protocol", plain ? "is the server started with -S?"
								 : "is the server started with -Y? With -S: 'mechanism plain'");
	p->err = 0;
	fail(p, EACCES, why);
}

/* Present the credentials, and wait for the server to accept them. @return 0 or p->err. */
static int authenticate(struct mcm_pipe *p, const struct mcm_auth *a, int timeout_ms)
{
	struct talk t = {0};
	char head[64];
	int rc;

	if (a->mech == MCM_AUTH_PLAIN) {
		p->proto = MCM_PIPE_BINARY;
		rc = mcm_binproto_sasl_plain(p, a->user, a->user_len, a->password, a->password_len);
	} else {
		/* memcached -Y reads only the length; flags and ttl that are no numbers make any other
		 * server refuse the line instead of storing the credentials as an item */
		int n = snprintf(head, sizeof head, "set mcmirror.auth x x %zu\r\n", a->user_len + 1 + a->password_len);
		char *w = mcm_pipe_space(p, (size_t)n + a->user_len + 1 + a->password_len + 2), *at = w;

		rc = w ? 0 : ENOMEM;
		if (w) { /* one request, one commit */
			memcpy(at, head, (size_t)n);
			memcpy(at += n, a->user, a->user_len);
			*(at += a->user_len) = ' ';
			memcpy(at += 1, a->password, a->password_len);
			memcpy(at += a->password_len, "\r\n", 2);
			mcm_pipe_commit(p, (size_t)(at + 2 - w));
		}
	}
	if (rc != 0) {
		fail(p, ENOMEM, "out of memory");
		return p->err;
	}
	p->expect = 1;
	converse(p, timeout_ms, &t);
	if (p->out)
		explicit_bzero(p->out, p->out_cap); /* sent: no copy of the password stays here */
	if (!p->err && strcmp(t.first, a->mech == MCM_AUTH_PLAIN ? "OK" : "STORED") == 0)
		return 0;
	auth_failed(p, a, &t, timeout_ms);
	return p->err;
}

int mcm_pipe_connect_guarded(struct mcm_pipe *p, const char *host, unsigned port, int is_socket, const char *name,
			     int timeout_ms, const struct mcm_pipe_guard *g)
{
	char why[sizeof p->why];
	int rc;

	if ((rc = mcm_pipe_connect(p, host, port, is_socket, name, timeout_ms)) != 0 || !g)
		return rc;
	if (g->tls && !is_socket && (rc = mcm_tls_handshake(g->tls, p->fd, host, name, timeout_ms, &p->tls, why,
							    sizeof why)) != 0)
		fail(p, rc, why);
	else if (g->auth)
		authenticate(p, g->auth, timeout_ms);
	else if (p->tls)
		probe(p, timeout_ms);
	if (!p->err) {
		p->expect = 0;
		p->heard = 0;
		return 0;
	}
	rc = p->err;
	mcm_pipe_close(p); /* keeps err and why */
	return rc;
}

int mcm_pipe_send_now(struct mcm_pipe *p, const void *buf, size_t n, int timeout_ms)
{
	size_t off = 0;
	double last = mcm_cli_now();

	while (!p->err && off < n) {
		ssize_t w = p->tls ? tls_send(p, (const char *)buf + off, n - off)
				   : send(p->fd, (const char *)buf + off, n - off, MSG_NOSIGNAL);
		struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};

		if (w > 0) {
			off += (size_t)w;
			last = mcm_cli_now();
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			fail(p, errno, NULL);
			break;
		}
		if ((mcm_cli_now() - last) * 1000.0 >= timeout_ms) {
			fail(p, ETIMEDOUT, "the server takes nothing (--timeout)");
			break;
		}
		poll(&pfd, 1, 100);
	}
	return p->err;
}

ssize_t mcm_pipe_read_raw(struct mcm_pipe *p, void *buf, size_t n)
{
	ssize_t r;

	do
		r = transport_read(p, buf, n);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		closed(p);
	else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		fail(p, errno, NULL);
	if (r > 0)
		p->heard = 1;
	return r;
}

int mcm_pipe_pending(const struct mcm_pipe *p)
{
	return mcm_tls_pending(p->tls);
}

int mcm_reply_flag(const struct mcm_reply *r, char letter, long long min, long long max, long long *out)
{
	for (size_t i = 0; i + 2 < r->len; i++) {
		char buf[24], *end;
		size_t n = 0, j;

		if (r->line[i] != ' ' || r->line[i + 1] != letter)
			continue;
		for (j = i + 2; j < r->len && r->line[j] != ' ' && n < sizeof buf - 1; j++)
			buf[n++] = r->line[j];
		if (n == 0 || (j < r->len && r->line[j] != ' ') || !(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
			return -1; /* empty, or longer than any number in range */
		buf[n] = '\0';
		errno = 0;
		*out = strtoll(buf, &end, 10);
		return *end == '\0' && errno == 0 && *out >= min && *out <= max ? 0 : -1;
	}
	return -1;
}
