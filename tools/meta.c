/* meta.c - encode the tool's requests to memcached (meta protocol and `stats`) into a pipe's queue. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "meta.h"

/* Longest request line: command, key token, size, T, F, flags. */
#define LINE_ROOM (MCM_PIPE_KEY_MAX + 96)

/* Write v in decimal at w, two digits at a time. @return the end. */
static char *put_u64(char *w, uint64_t v)
{
	static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				       "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				       "8081828384858687888990919293949596979899";
	char tmp[24], *t = tmp + sizeof tmp;
	size_t n;

	while (v >= 100) {
		t -= 2;
		memcpy(t, pairs + (v % 100) * 2, 2);
		v /= 100;
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, pairs + v * 2, 2);
	} else {
		*--t = (char)('0' + v);
	}
	n = (size_t)(tmp + sizeof tmp - t);
	memcpy(w, t, n);
	return w + n;
}

static char *put_str(char *w, const char *s, size_t len)
{
	memcpy(w, s, len);
	return w + len;
}

/* " [b] [q] [k]\r\n" */
static char *put_tail(char *w, int b64, unsigned how)
{
	if (b64)
		w = put_str(w, " b", 2);
	if (how & MCM_META_QUIET)
		w = put_str(w, " q", 2);
	if (how & MCM_META_KEY)
		w = put_str(w, " k", 2);
	return put_str(w, "\r\n", 2);
}

int mcm_meta_set(struct mcm_pipe *p, const char *key, size_t key_len, int b64, const char *value, size_t value_len,
		 uint32_t flags, int64_t ttl, unsigned how)
{
	char *start = mcm_pipe_space(p, LINE_ROOM + value_len + 2), *w = start;

	if (!w)
		return ENOMEM;
	w = put_str(w, "ms ", 3);
	w = mcm_pipe_put_key(w, key, key_len, b64);
	*w++ = ' ';
	w = put_u64(w, value_len);
	if (ttl > 0) {
		w = put_str(w, " T", 2);
		w = put_u64(w, (uint64_t)ttl);
	}
	if (flags) {
		w = put_str(w, " F", 2);
		w = put_u64(w, flags);
	}
	w = put_str(w, how & MCM_META_ADD ? " ME" : " MS", 3);
	w = put_tail(w, b64, how);
	w = put_str(w, value, value_len);
	w = put_str(w, "\r\n", 2);
	mcm_pipe_commit(p, (size_t)(w - start));
	return 0;
}

int mcm_meta_delete(struct mcm_pipe *p, const char *key, size_t key_len, int b64, unsigned how)
{
	char *start = mcm_pipe_space(p, LINE_ROOM), *w = start;

	if (!w)
		return ENOMEM;
	w = put_str(w, "md ", 3);
	w = mcm_pipe_put_key(w, key, key_len, b64);
	w = put_tail(w, b64, how & ~MCM_META_ADD);
	mcm_pipe_commit(p, (size_t)(w - start));
	return 0;
}

int mcm_meta_get(struct mcm_pipe *p, const char *key, size_t key_len, int b64, const char *flags)
{
	size_t flen = strlen(flags);
	char *start = mcm_pipe_space(p, LINE_ROOM + flen), *w = start;

	if (!w)
		return ENOMEM;
	w = put_str(w, "mg ", 3);
	w = mcm_pipe_put_key(w, key, key_len, b64);
	if (b64)
		w = put_str(w, " b", 2);
	*w++ = ' ';
	w = put_str(w, flags, flen);
	w = put_str(w, "\r\n", 2);
	mcm_pipe_commit(p, (size_t)(w - start));
	return 0;
}

int mcm_meta_noop(struct mcm_pipe *p)
{
	return mcm_pipe_put(p, "mn\r\n", 4);
}

int mcm_meta_stats(struct mcm_pipe *p, const char *group)
{
	char line[64];
	size_t len = group ? (size_t)snprintf(line, sizeof line, "stats %.40s\r\n", group) : 7;

	if (mcm_pipe_put(p, group ? line : "stats\r\n", len) != 0)
		return ENOMEM;
	p->stats_pending++;
	return 0;
}

int mcm_meta_flush(struct mcm_pipe *p, int64_t when)
{
	char line[48];
	size_t len = when > 0 ? (size_t)snprintf(line, sizeof line, "flush_all %lld\r\n", (long long)when)
			      : (size_t)snprintf(line, sizeof line, "flush_all\r\n");

	return mcm_pipe_put(p, line, len) == 0 ? 0 : ENOMEM;
}
