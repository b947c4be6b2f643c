/* fuzz_pipe.c - libFuzzer target: cutting a memcached server's bytes into meta-protocol replies
 * (tools/pipe.c, mcm_pipe_pump), as replay, verify and import receive them.
 *
 * Input: one byte C, then the server's bytes. They are written into the other end of a
 * socketpair C bytes at a time (the rest at once after MAX_CUTS writes, or from the start when C
 * is 0), with a pump after each write, so that lines and value blocks arrive cut anywhere; then
 * the server end is closed.
 *
 * Invariants beyond "no crash":
 *  - replies are split exactly: each reply handed to the callback is the next bytes the server
 *    sent, in order, none skipped or invented: its line is everything up to the first "\r\n",
 *    and only a "VA <size>" line carries a value, of exactly the bytes that follow the line,
 *    followed by "\r\n";
 *  - nothing complete is held back: once the server has closed the connection, what is left
 *    after the last reply is not a whole reply (unless the pipe failed before, on a protocol
 *    error);
 *  - bounded memory: the pipe's input buffer never grows past twice the largest reply the meta
 *    protocol allows (a 1 GiB value, memcached's -I maximum, and its line), whatever size a
 *    "VA" line claims.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "pipe.h"

#define VALUE_MAX ((size_t)1 << 30)                  /* memcached -I: 1 GiB at most */
#define MEM_BOUND (2 * (VALUE_MAX + 8192 + 65536)) /* a value, its line, a read */
#define STALL_MS (3600 * 1000)                     /* never: time plays no part here */
#define MAX_CUTS 32

struct ctx {
	const char *stream; /* what the server sent */
	size_t sent;        /* bytes of it written so far */
	size_t consumed;    /* bytes the replies delivered so far cover */
	size_t replies;
};

/* "VA <digits>": the size, or -1 when line is not one (or the number is absurd). */
static long long va_size(const char *line, size_t len)
{
	long long v = 0;
	size_t i = 3;

	if (len < 4 || memcmp(line, "VA ", 3) != 0)
		return -1;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (v > (1LL << 50))
			return -1;
		v = v * 10 + (line[i] - '0');
	}
	return i == 3 ? -1 : v;
}

static void on_reply(struct mcm_pipe *p, const struct mcm_reply *r, void *arg)
{
	struct ctx *c = arg;
	const char *at = c->stream + c->consumed, *crlf;
	size_t left = c->sent - c->consumed;

	(void)p;
	c->replies++;
	FUZZ_CHECK(r->len + 2 <= left, "reply %zu is longer than what the server sent", c->replies);
	crlf = memmem(at, left, "\r\n", 2);
	FUZZ_CHECK(crlf && (size_t)(crlf - at) == r->len && memcmp(r->line, at, r->len) == 0,
		   "reply %zu is not the next line the server sent", c->replies);
	c->consumed += r->len + 2;
	if (!r->data) {
		FUZZ_CHECK(r->data_len == 0, "a data length without data");
		FUZZ_CHECK(va_size(r->line, r->len) < 0, "reply %zu: a VA line delivered without its value", c->replies);
		return;
	}
	FUZZ_CHECK(va_size(r->line, r->len) == (long long)r->data_len, "reply %zu: a value of %zu bytes for '%.*s'",
		   c->replies, r->data_len, (int)(r->len > 40 ? 40 : r->len), r->line);
	left = c->sent - c->consumed;
	FUZZ_CHECK(r->data_len + 2 <= left && memcmp(r->data, c->stream + c->consumed, r->data_len) == 0,
		   "reply %zu: the value is not the bytes after its line", c->replies);
	FUZZ_CHECK(memcmp(c->stream + c->consumed + r->data_len, "\r\n", 2) == 0,
		   "reply %zu: a value block not followed by \\r\\n was accepted", c->replies);
	c->consumed += r->data_len + 2;
}

/* Is there a whole reply in s[0..len)? */
static int whole_reply(const char *s, size_t len)
{
	const char *crlf = memmem(s, len, "\r\n", 2);
	long long size;

	if (!crlf)
		return 0;
	size = va_size(s, (size_t)(crlf - s));
	return size < 0 || ((size_t)size <= VALUE_MAX && (size_t)(crlf - s) + 2 + (size_t)size + 2 <= len);
}

static void pump(struct mcm_pipe *p, struct ctx *c)
{
	int rc = mcm_pipe_pump(p, 1, 0, STALL_MS, on_reply, c);

	FUZZ_CHECK(rc == 0, "mcm_pipe_pump: %s", strerror(rc));
	FUZZ_CHECK(p->in_cap <= MEM_BOUND, "the input buffer grew to %zu bytes", p->in_cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcm_pipe p;
	struct ctx c = {0};
	size_t chunk;
	int sv[2];

	if (size < 1)
		return 0;
	chunk = data[0] ? data[0] : size;
	c.stream = (const char *)data + 1;
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s",
		   strerror(errno));
	memset(&p, 0, sizeof p);
	p.fd = sv[0];
	strcpy(p.name, "fuzz");
	p.expect = 1; /* waiting for replies */
	for (int cuts = 0; c.sent < size - 1 && !p.err; cuts++) {
		size_t n = size - 1 - c.sent < chunk || cuts >= MAX_CUTS ? size - 1 - c.sent : chunk;
		ssize_t w = write(sv[1], c.stream + c.sent, n);

		FUZZ_CHECK(w > 0 || errno == EAGAIN, "write: %s", strerror(errno));
		if (w > 0)
			c.sent += (size_t)w;
		pump(&p, &c);
	}
	close(sv[1]);
	for (int i = 0; i < 4 && !p.err; i++)
		pump(&p, &c);
	FUZZ_CHECK(p.err, "the pipe did not notice the server closed the connection");
	if (p.err == ECONNRESET)
		FUZZ_CHECK(!whole_reply(c.stream + c.consumed, c.sent - c.consumed),
			   "a whole reply was left in the buffer when the server closed the connection");
	mcm_pipe_close(&p);
	return 0;
}
