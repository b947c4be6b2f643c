/* pipe.c - non-blocking pipelined connections to memcached: connect, queue, pump, cut replies. */
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

#include "mcmirror.h"
#include "pipe.h"

#define READ_CHUNK 65536
#define POLL_STACK 64

static void fail(struct mcm_pipe *p, int err, const char *why)
{
	if (p->err)
		return;
	p->err = err;
	snprintf(p->why, sizeof p->why, "%s", why ? why : strerror(err));
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
	if (reserve(&p->out, &p->out_off, &p->out_len, &p->out_cap, n) != 0) {
		fail(p, ENOMEM, "out of memory");
		return NULL;
	}
	return p->out + p->out_len;
}

void mcm_pipe_commit(struct mcm_pipe *p, size_t n)
{
	if (!mcm_pipe_busy(p))
		p->last_io = mcm_cli_now(); /* it was idle: the stall clock starts now */
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

static void send_some(struct mcm_pipe *p, double now)
{
	while (p->out_off < p->out_len) {
		ssize_t n = send(p->fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fail(p, errno, NULL);
			return;
		}
		p->out_off += (size_t)n;
		p->last_io = now;
	}
	p->out_off = p->out_len = 0;
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
		snprintf(why, sizeof why, "bad value size in the reply '%.*s'", (int)(len > 40 ? 40 : len), line);
		fail(p, EPROTO, why);
		return -1;
	}
	*size = v;
	return 0;
}

/* One line of a `stats` answer (p->stats_pending > 0): "STAT name value", or its end. */
static void stat_line(struct mcm_pipe *p, const char *line, size_t len)
{
	const char *name = line + 5, *sp, *value;
	size_t nlen, vlen;

	if (len < 5 || memcmp(line, "STAT ", 5) != 0) {
		p->stats_pending--; /* "END", or a one-line refusal ("ERROR"): the answer is over */
		return;
	}
	if (!(sp = memchr(name, ' ', len - 5)))
		return;
	nlen = (size_t)(sp - name);
	value = sp + 1;
	vlen = (size_t)(line + len - value);
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

/* Hand every complete reply in the input buffer to fn. */
static void cut_replies(struct mcm_pipe *p, mcm_pipe_reply_fn *fn, void *ctx)
{
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
			r.data = start + need;
			r.data_len = size;
			need += size + 2;
		}
		p->in_off += need;
		if (p->stats_pending && va != 0)
			stat_line(p, r.line, r.len);
		else
			fn(p, &r, ctx);
	}
	if (p->in_off == p->in_len)
		p->in_off = p->in_len = 0;
}

static void receive_some(struct mcm_pipe *p, double now, mcm_pipe_reply_fn *fn, void *ctx)
{
	for (;;) {
		ssize_t n;

		if (reserve(&p->in, &p->in_off, &p->in_len, &p->in_cap, READ_CHUNK) != 0) {
			fail(p, ENOMEM, "out of memory");
			return;
		}
		n = recv(p->fd, p->in + p->in_len, p->in_cap - p->in_len, 0);
		if (n == 0) {
			fail(p, ECONNRESET, "connection closed by the server");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fail(p, errno, NULL);
			return;
		}
		p->in_len += (size_t)n;
		p->last_io = now;
		cut_replies(p, fn, ctx);
		if (p->err || (size_t)n < READ_CHUNK)
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
		pfd[i].events = POLLIN | (mcm_pipe_unsent(&pipes[i]) ? POLLOUT : 0);
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
		if (!p->err && (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
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
