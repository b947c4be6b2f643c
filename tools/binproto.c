/* binproto.c - encode the tool's requests in memcached's binary protocol, and read its replies as meta lines. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "binproto.h"
#include "meta.h"

/* Opcodes (memcached's protocol_binary.h). */
enum {
	OP_GET = 0x00,
	OP_SET = 0x01,
	OP_ADD = 0x02,
	OP_DELETE = 0x04,
	OP_FLUSH = 0x08,
	OP_NOOP = 0x0a,
	OP_STAT = 0x10,
	OP_SETQ = 0x11,
	OP_ADDQ = 0x12,
	OP_DELETEQ = 0x14,
	OP_SASL_AUTH = 0x21,
};

/* Reply statuses. */
enum {
	ST_OK = 0x00,
	ST_ENOENT = 0x01,
	ST_EEXISTS = 0x02,
	ST_E2BIG = 0x03,
	ST_EINVAL = 0x04,
	ST_NOT_STORED = 0x05,
	ST_AUTH_ERROR = 0x20,
	ST_AUTH_CONTINUE = 0x21,
	ST_UNKNOWN_COMMAND = 0x81,
	ST_ENOMEM = 0x82,
};

#define REQUEST 0x80
#define RESPONSE 0x81
#define EXTRAS_MAX 255

static void put16(unsigned char *w, size_t v)
{
	w[0] = (unsigned char)(v >> 8);
	w[1] = (unsigned char)v;
}

static void put32(unsigned char *w, uint64_t v)
{
	w[0] = (unsigned char)(v >> 24);
	w[1] = (unsigned char)(v >> 16);
	w[2] = (unsigned char)(v >> 8);
	w[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *r)
{
	return (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
}

/* Queue one request: header, extras, key, value. @return 0 or ENOMEM. */
static int request(struct mcm_pipe *p, int opcode, const void *extras, size_t extlen, const char *key, size_t key_len,
		   const char *value, size_t value_len)
{
	size_t body = extlen + key_len + value_len;
	unsigned char *w = (unsigned char *)mcm_pipe_space(p, MCM_BINPROTO_HEADER + body);

	if (!w)
		return ENOMEM;
	memset(w, 0, MCM_BINPROTO_HEADER);
	w[0] = REQUEST;
	w[1] = (unsigned char)opcode;
	put16(w + 2, key_len);
	w[4] = (unsigned char)extlen;
	put32(w + 8, body);
	if (extlen)
		memcpy(w + MCM_BINPROTO_HEADER, extras, extlen);
	if (key_len)
		memcpy(w + MCM_BINPROTO_HEADER + extlen, key, key_len);
	if (value_len)
		memcpy(w + MCM_BINPROTO_HEADER + extlen + key_len, value, value_len);
	mcm_pipe_commit(p, MCM_BINPROTO_HEADER + body);
	return 0;
}

/* A meta-protocol T value (or flush time) as the binary protocol's 32-bit expiration. */
static uint32_t expiration(int64_t t)
{
	return t <= 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int mcm_binproto_set(struct mcm_pipe *p, const char *key, size_t key_len, const char *value, size_t value_len,
		     uint32_t flags, int64_t ttl, unsigned how)
{
	unsigned char extras[8];
	int op = how & MCM_META_ADD ? (how & MCM_META_QUIET ? OP_ADDQ : OP_ADD) : (how & MCM_META_QUIET ? OP_SETQ : OP_SET);

	put32(extras, flags);
	put32(extras + 4, expiration(ttl));
	return request(p, op, extras, sizeof extras, key, key_len, value, value_len);
}

int mcm_binproto_delete(struct mcm_pipe *p, const char *key, size_t key_len, unsigned how)
{
	return request(p, how & MCM_META_QUIET ? OP_DELETEQ : OP_DELETE, NULL, 0, key, key_len, NULL, 0);
}

int mcm_binproto_get(struct mcm_pipe *p, const char *key, size_t key_len)
{
	return request(p, OP_GET, NULL, 0, key, key_len, NULL, 0);
}

int mcm_binproto_noop(struct mcm_pipe *p)
{
	return request(p, OP_NOOP, NULL, 0, NULL, 0, NULL, 0);
}

int mcm_binproto_flush(struct mcm_pipe *p, int64_t when)
{
	unsigned char extras[4];

	put32(extras, expiration(when));
	return request(p, OP_FLUSH, extras, when > 0 ? sizeof extras : 0, NULL, 0, NULL, 0);
}

int mcm_binproto_stats(struct mcm_pipe *p, const char *group)
{
	size_t len = group ? strnlen(group, 40) : 0;

	if (request(p, OP_STAT, NULL, 0, group, len, NULL, 0) != 0)
		return ENOMEM;
	p->stats_pending++;
	return 0;
}

int mcm_binproto_sasl_plain(struct mcm_pipe *p, const char *user, size_t user_len, const char *password,
			    size_t password_len)
{
	char token[2 + 2 * 256];

	if (user_len > 256 || password_len > 256)
		return EINVAL;
	token[0] = '\0'; /* no authorization identity: the user's own */
	memcpy(token + 1, user, user_len);
	token[1 + user_len] = '\0';
	memcpy(token + 2 + user_len, password, password_len);
	if (request(p, OP_SASL_AUTH, NULL, 0, "PLAIN", 5, token, 2 + user_len + password_len) != 0) {
		explicit_bzero(token, sizeof token);
		return ENOMEM;
	}
	explicit_bzero(token, sizeof token);
	return 0;
}

/* --- replies --------------------------------------------------------------- */

struct reply {
	unsigned opcode, status, extlen;
	size_t keylen, bodylen;
	const unsigned char *extras;
	const char *key, *value;
	size_t value_len;
};

/* The meta line an error status stands for. */
static const char *error_line(const struct reply *r, char *buf, size_t size)
{
	switch (r->status) {
	case ST_ENOENT:
		return r->opcode == OP_DELETE || r->opcode == OP_DELETEQ ? "NF" : r->opcode == OP_GET ? "EN" : "NF";
	case ST_EEXISTS:
	case ST_NOT_STORED:
		return "NS";
	case ST_E2BIG:
		return "SERVER_ERROR object too large for cache";
	case ST_ENOMEM:
		return "SERVER_ERROR out of memory storing object";
	case ST_EINVAL:
		return "CLIENT_ERROR invalid arguments";
	case ST_AUTH_ERROR:
		return r->opcode == OP_SASL_AUTH ? "CLIENT_ERROR authentication failure" : "CLIENT_ERROR unauthenticated";
	case ST_AUTH_CONTINUE:
		return "CLIENT_ERROR authentication wants another step (not PLAIN?)";
	case ST_UNKNOWN_COMMAND:
		return "ERROR";
	default:
		snprintf(buf, size, "SERVER_ERROR binary status 0x%04x", r->status);
		return buf;
	}
}

/* The meta line for a successful reply (a GET's: "VA <len> f<flags>"). @return NULL for an unknown opcode. */
static const char *ok_line(const struct reply *r, char *buf, size_t size)
{
	switch (r->opcode) {
	case OP_GET:
		snprintf(buf, size, "VA %zu f%u", r->value_len, r->extlen >= 4 ? (unsigned)get32(r->extras) : 0u);
		return buf;
	case OP_SET:
	case OP_ADD:
	case OP_SETQ:
	case OP_ADDQ:
	case OP_DELETE:
	case OP_DELETEQ:
		return "HD";
	case OP_NOOP:
		return "MN";
	case OP_FLUSH:
	case OP_SASL_AUTH:
		return "OK";
	default:
		return NULL;
	}
}

/* Read a header at h (avail bytes of it and after). @return 0 with r set, 1 when the header is
 * incomplete, -1 after failing p. */
static int header(struct mcm_pipe *p, const unsigned char *h, size_t avail, struct reply *r)
{
	size_t limit = p->item_max ? p->item_max : MCM_PIPE_ITEM_MAX;
	char why[sizeof p->why];

	if (avail < MCM_BINPROTO_HEADER)
		return 1;
	if (h[0] != RESPONSE) {
		snprintf(why, sizeof why, "not a binary-protocol reply (first byte 0x%02x): not a memcached server?", h[0]);
		mcm_pipe_fail(p, EPROTO, why);
		return -1;
	}
	memset(r, 0, sizeof *r);
	r->opcode = h[1];
	r->keylen = (size_t)h[2] << 8 | h[3];
	r->extlen = h[4];
	r->status = (unsigned)h[6] << 8 | h[7];
	r->bodylen = get32(h + 8);
	if (r->keylen + r->extlen > r->bodylen) {
		snprintf(why, sizeof why, "bad binary reply: key and extras (%zu bytes) beyond its body (%zu)",
			 r->keylen + r->extlen, r->bodylen);
		mcm_pipe_fail(p, EPROTO, why);
		return -1;
	}
	r->value_len = r->bodylen - r->keylen - r->extlen;
	if (r->value_len > limit) {
		snprintf(why, sizeof why, "server sent an item of %zu bytes (limit %zu)", r->value_len, limit);
		mcm_pipe_fail(p, EMSGSIZE, why);
		return -1;
	}
	return 0;
}

/* One STAT reply: a "name value" pair, or the empty one that ends the answer. */
static void stat_reply(struct mcm_pipe *p, const struct reply *r)
{
	if (r->status != ST_OK || r->keylen == 0) {
		if (p->stats_pending)
			p->stats_pending--; /* the end, or a refusal: the answer is over */
		return;
	}
	mcm_pipe_stat(p, r->key, r->keylen, r->value, r->value_len);
}

void mcm_binproto_cut(struct mcm_pipe *p, mcm_pipe_reply_fn *fn, void *ctx)
{
	while (!p->err && p->in_off < p->in_len) {
		const unsigned char *h = (const unsigned char *)p->in + p->in_off;
		size_t avail = p->in_len - p->in_off;
		struct mcm_reply out = {0};
		struct reply r;
		char buf[64];
		const char *line;
		int rc = header(p, h, avail, &r);

		if (rc != 0)
			return;
		if (avail - MCM_BINPROTO_HEADER < r.bodylen)
			return; /* the rest comes: receive_some grows the buffer with it */
		r.extras = h + MCM_BINPROTO_HEADER;
		r.key = (const char *)r.extras + r.extlen;
		r.value = r.key + r.keylen;
		p->in_off += MCM_BINPROTO_HEADER + r.bodylen;
		if (r.opcode == OP_STAT) {
			stat_reply(p, &r);
			continue;
		}
		line = r.status == ST_OK ? ok_line(&r, buf, sizeof buf) : error_line(&r, buf, sizeof buf);
		if (!line) {
			snprintf(buf, sizeof buf, "unexpected binary reply (opcode 0x%02x)", r.opcode);
			mcm_pipe_fail(p, EPROTO, buf);
			return;
		}
		out.line = line;
		out.len = strlen(line);
		if (r.opcode == OP_GET && r.status == ST_OK) {
			out.data = r.value;
			out.data_len = r.value_len;
		}
		mcm_pipe_deliver(p, &out, fn, ctx);
	}
	if (p->in_off == p->in_len)
		p->in_off = p->in_len = 0;
}
