/* sender.c - send a stream of writes over several key-affine connections per server, count every outcome. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcmirror.h"
#include "meta.h"
#include "sender.h"

#define SEND_AT (128u << 10)  /* try to send once a connection has this much queued */
#define HIGH_WATER (1u << 20) /* wait while a connection has this much unsent */
#define MARK_EVERY 8192       /* writes between two `mn` on a connection */
#define MARK_AGE 0.1          /* seconds: a slower connection gets one this often (--rate, a slow server) */
#define MARKS 256             /* marks in flight per connection */
#define AUTO_WAIT_MS 500      /* auto: how long the first write waits for the server's stats */

struct server {
	struct mcm_pipe *pipes;           /* its connections (per slots) */
	unsigned count;                   /* of them in use (connected) */
	struct mcm_server_stats stats[2]; /* before, after */
	int phase;                        /* which of them incoming STAT lines fill */
};

/* One connection's counts (its pipe's user pointer). */
struct conn {
	struct server *srv;
	uint64_t sent, bytes, since_mark;
	double mark_time;         /* mcm_cli_now() of its last mn */
	size_t send_at;           /* try to send once this much is unsent (SEND_AT past the last try) */
	uint64_t marks[MARKS];   /* writes queued before each unanswered mn (a ring) */
	unsigned mark_head, mark_count;
	uint64_t marks_sent, marks_answered;
	uint64_t present, errors; /* NS and error answers to writes */
	uint64_t confirmed;       /* writes before the last MN received */
	uint64_t confirmed_present, confirmed_errors; /* present and errors when it came */
	uint64_t undo_from;       /* 0, or the number of marks after which answers are to deletes */
	uint64_t deletes, delete_errors;
};

struct mcm_sender {
	struct mcm_sender_opts o;
	const struct mcm_target *t;
	mcm_sender_event_fn *fn;
	void *ctx;
	unsigned per;             /* connection slots per server: o.connections, or the auto maximum */
	size_t npipes;            /* t->count * per */
	struct mcm_pipe *pipes;   /* server i's connections: pipes[i * per ..], servers[i].count of them in use */
	struct conn *conns;
	struct server *servers;
};

/* The connection of a key: a hash unrelated to the pool's placement (eight
 * bytes at a time, then a 64-bit finalizer), so one server's keys still
 * spread evenly over its connections. */
static size_t conn_of(const struct mcm_sender *s, uint32_t idx, const char *key, size_t len)
{
	unsigned count = s->servers[idx].count;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, v;
	size_t i = 0;

	if (count == 1)
		return (size_t)idx * s->per;
	for (; i + 8 <= len; i += 8) {
		memcpy(&v, key + i, 8);
		h = (h ^ v) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (v = 0; i < len; i++)
		v = v << 8 | (unsigned char)key[i];
	h = (h ^ v) * 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	/* h * connections / 2^64: the high bits pick the connection, with no division */
	return (size_t)idx * s->per + (size_t)(((unsigned __int128)h * count) >> 64);
}

/* Queue an `mn`: its MN will confirm every write queued so far. @return 0, or -1 when the ring is full. */
static int put_mark(struct mcm_pipe *p)
{
	struct conn *c = p->user;

	if (c->mark_count == MARKS || mcm_meta_noop(p) != 0)
		return -1; /* enough marks in flight: the next one will do */
	c->marks[(c->mark_head + c->mark_count++) % MARKS] = c->sent;
	c->marks_sent++;
	c->since_mark = 0;
	c->mark_time = mcm_cli_now();
	p->expect++;
	return 0;
}

static void on_mark(struct mcm_pipe *p, struct conn *c, const char *cmd)
{
	if (c->mark_count == 0) {
		mcm_cli_warn(cmd, "'%s' answered MN to no mn: ignored", p->name);
		return;
	}
	c->confirmed = c->marks[c->mark_head];
	c->mark_head = (c->mark_head + 1) % MARKS;
	c->mark_count--;
	c->marks_answered++;
	c->confirmed_present = c->present;
	c->confirmed_errors = c->errors;
	p->expect--;
}

static void on_reply(struct mcm_pipe *p, const struct mcm_reply *r, void *ctx)
{
	struct mcm_sender *s = ctx;
	struct conn *c = p->user;
	enum mcm_sender_event ev;

	if (r->len == 2 && memcmp(r->line, "MN", 2) == 0) {
		on_mark(p, c, s->o.cmd);
		return;
	}
	if (r->len >= 2 && (memcmp(r->line, "HD", 2) == 0 || memcmp(r->line, "NF", 2) == 0))
		return; /* not sent in quiet mode; NF: a delete of a key already gone, as wanted */
	if (r->len >= 2 && memcmp(r->line, "NS", 2) == 0 && !r->data) {
		c->present++;
		ev = MCM_SENDER_PRESENT;
	} else if (c->undo_from && c->marks_answered >= c->undo_from) {
		c->delete_errors++;
		ev = MCM_SENDER_UNDO_REFUSED;
	} else {
		c->errors++;
		ev = MCM_SENDER_REFUSED;
	}
	if (s->fn)
		s->fn(s->ctx, p, ev, r);
}

/* A STAT line: the numbers the caller compares. */
static void on_stat(struct mcm_pipe *p, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct conn *c = p->user;
	struct mcm_server_stats *st = &c->srv->stats[c->srv->phase];
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
		{"evictions", offsetof(struct mcm_server_stats, evictions)},
		{"limit_maxbytes", offsetof(struct mcm_server_stats, limit_maxbytes)},
		{"curr_items", offsetof(struct mcm_server_stats, curr_items)},
		{"bytes", offsetof(struct mcm_server_stats, bytes)},
		{"hash_power_level", offsetof(struct mcm_server_stats, hash_power_level)},
		{"hash_is_expanding", offsetof(struct mcm_server_stats, hash_is_expanding)},
	};
	uint64_t v = 0;
	size_t i = 0;

	if (nlen == 13 && memcmp(name, "item_size_max", 13) == 0) /* the pipe took it: so do its siblings */
		for (unsigned k = 0; k < c->srv->count; k++)
			c->srv->pipes[k].item_max = p->item_max;
	for (; i < vlen && i < 20 && value[i] >= '0' && value[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(value[i] - '0');
	if (i == 0 || i != vlen)
		return;
	for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
		if (strlen(wanted[w].name) == nlen && memcmp(wanted[w].name, name, nlen) == 0) {
			memcpy((char *)st + wanted[w].off, &v, sizeof v);
			st->known |= strcmp(wanted[w].name, "evictions") == 0;
		}
	}
}

/* Connect slot k of server idx. @return 0, or -1 after a message. */
static int connect_one(struct mcm_sender *s, uint32_t idx, unsigned k)
{
	struct mcm_pipe *p = &s->pipes[(size_t)idx * s->per + k];
	struct conn *c = &s->conns[(size_t)idx * s->per + k];

	if (mcm_target_connect(s->t, idx, p, s->o.timeout_ms) != 0) {
		mcm_cli_error(s->o.cmd, "cannot connect to '%s': %s", p->name, p->why);
		return -1;
	}
	if (k > 0) /* the first one asked the server's item_size_max */
		p->item_max = s->pipes[(size_t)idx * s->per].item_max;
	p->user = c;
	p->on_stat = on_stat;
	c->srv = &s->servers[idx];
	c->send_at = SEND_AT;
	c->mark_time = mcm_cli_now();
	s->servers[idx].count = k + 1;
	return 0;
}

/* The first connection of server idx, and its questions: answered before
 * the first write, the item bound and the counts to compare at the end. */
static int open_server(struct mcm_sender *s, uint32_t idx)
{
	struct mcm_pipe *first = &s->pipes[(size_t)idx * s->per];

	s->servers[idx].pipes = first;
	if (connect_one(s, idx, 0) != 0)
		return -1;
	if (mcm_meta_stats(first, "settings") != 0 || mcm_meta_stats(first, NULL) != 0) {
		mcm_cli_error(s->o.cmd, "out of memory");
		return -1;
	}
	return 0;
}

/* Auto: wait (a little) for the first connections' `stats`. */
static void await_stats(struct mcm_sender *s)
{
	double deadline = mcm_cli_now() + (s->o.timeout_ms < AUTO_WAIT_MS ? s->o.timeout_ms : AUTO_WAIT_MS) / 1000.0;

	for (;;) {
		int waiting = 0;

		for (uint32_t i = 0; i < s->t->count; i++) {
			const struct mcm_pipe *p = s->servers[i].pipes;

			if (p && p->fd >= 0 && !p->err && p->stats_pending)
				waiting = 1;
		}
		if (!waiting || mcm_cli_interrupted || mcm_cli_now() >= deadline || mcm_sender_pump(s, 10) != 0)
			return;
	}
}

/* How many connections server idx gets: the fixed count, or, auto, one when
 * its hash table already holds what will be there after the replay (memcached
 * doubles it past 1.5 items per bucket, and while it grows several
 * connections keep its worker threads busy), else MCM_SENDER_AUTO_MAX. */
static unsigned connections_for(const struct mcm_sender *s, uint32_t idx)
{
	const struct mcm_server_stats *st = &s->servers[idx].stats[0];
	uint64_t expected;

	if (s->o.connections)
		return s->o.connections;
	if (!st->known || st->hash_power_level == 0 || st->hash_power_level > 40 || st->hash_is_expanding)
		return MCM_SENDER_AUTO_MAX;
	expected = st->curr_items + s->o.expected_items;
	return expected <= (((uint64_t)1 << st->hash_power_level) * 3) / 2 ? 1 : MCM_SENDER_AUTO_MAX;
}

int mcm_sender_open(struct mcm_sender **out, const struct mcm_target *t, const struct mcm_sender_opts *o,
		    mcm_sender_event_fn *fn, void *ctx)
{
	struct mcm_sender *s = calloc(1, sizeof *s);

	*out = NULL;
	if (s) {
		s->o = *o;
		s->t = t;
		s->fn = fn;
		s->ctx = ctx;
		s->per = o->connections ? o->connections : MCM_SENDER_AUTO_MAX;
		s->npipes = (size_t)t->count * s->per;
		s->pipes = calloc(s->npipes, sizeof *s->pipes);
		s->conns = calloc(s->npipes, sizeof *s->conns);
		s->servers = calloc(t->count, sizeof *s->servers);
	}
	if (!s || !s->pipes || !s->conns || !s->servers) {
		mcm_cli_error(o->cmd, "out of memory");
		mcm_sender_close(s);
		return -1;
	}
	for (size_t i = 0; i < s->npipes; i++)
		s->pipes[i].fd = -1;
	for (uint32_t i = 0; i < t->count; i++) {
		if ((o->only < 0 || i == (uint32_t)o->only) && open_server(s, i) != 0) {
			mcm_sender_close(s);
			return -1;
		}
	}
	if (!o->connections)
		await_stats(s);
	for (uint32_t i = 0; i < t->count; i++) {
		unsigned want;

		if (!s->servers[i].pipes)
			continue;
		want = connections_for(s, i);
		for (unsigned k = 1; k < want; k++) {
			if (connect_one(s, i, k) != 0) {
				mcm_sender_close(s);
				return -1;
			}
		}
	}
	*out = s;
	return 0;
}

/* Confirm what a connection wrote MARK_AGE ago or more, however few writes that was. */
static void mark_old(struct mcm_sender *s)
{
	double now = mcm_cli_now();

	for (size_t i = 0; i < s->npipes; i++) {
		struct mcm_pipe *p = &s->pipes[i];
		struct conn *c = p->user;

		if (p->fd >= 0 && !p->err && c->since_mark && now - c->mark_time >= MARK_AGE)
			put_mark(p);
	}
}

int mcm_sender_pump(struct mcm_sender *s, int wait_ms)
{
	int rc;

	mark_old(s);
	rc = mcm_pipe_pump(s->pipes, s->npipes, wait_ms, s->o.timeout_ms, on_reply, s);
	if (rc == 0)
		return 0;
	for (size_t i = 0; i < s->npipes; i++) { /* nothing can move any more */
		struct mcm_pipe *p = &s->pipes[i];

		if (p->fd >= 0 && !p->err) {
			p->err = rc;
			snprintf(p->why, sizeof p->why, "poll failed: %s", strerror(rc));
		}
	}
	return -1;
}

/* After queueing on p: try to send once SEND_AT more bytes are queued than
 * at the last try (not at every write while the server is behind: that was
 * a poll per write), and wait while p is far behind. */
static void flow(struct mcm_sender *s, struct mcm_pipe *p)
{
	struct conn *c = p->user;

	if (mcm_pipe_unsent(p) < c->send_at)
		return;
	if (mcm_sender_pump(s, 0) != 0)
		return;
	while (!p->err && mcm_pipe_unsent(p) >= HIGH_WATER && !mcm_cli_interrupted)
		if (mcm_sender_pump(s, 100) != 0)
			return;
	c->send_at = mcm_pipe_unsent(p) + SEND_AT;
}

/* Is a connection of server idx broken (or none connected)? */
static int server_down(const struct mcm_sender *s, uint32_t idx)
{
	const struct server *srv = &s->servers[idx];

	if (!srv->pipes)
		return 1;
	for (unsigned k = 0; k < srv->count; k++)
		if (srv->pipes[k].err)
			return 1;
	return 0;
}

int mcm_sender_set(struct mcm_sender *s, uint32_t idx, const struct mcm_item *item, int64_t ttl, int b64)
{
	struct mcm_pipe *p = &s->pipes[conn_of(s, idx, item->key, item->key_len)];
	struct conn *c = p->user;

	if (server_down(s, idx))
		return -1;
	/* out of memory fails p: the write then counts as in flight on a broken connection */
	mcm_meta_set(p, item->key, item->key_len, b64, item->value, item->value_len, item->flags, ttl,
		     s->o.how | MCM_META_QUIET);
	c->sent++;
	c->bytes += item->value_len;
	if (++c->since_mark >= MARK_EVERY)
		put_mark(p);
	flow(s, p);
	return 0;
}

int mcm_sender_delete(struct mcm_sender *s, uint32_t idx, const struct mcm_item *item, int b64)
{
	struct mcm_pipe *p = &s->pipes[conn_of(s, idx, item->key, item->key_len)];
	struct conn *c = p->user;

	if (p->fd < 0 || p->err)
		return -1;
	if (!c->undo_from) { /* answers after this mark's are to deletes */
		while (c->mark_count == MARKS && !p->err)
			if (mcm_cli_interrupted || mcm_sender_pump(s, 100) != 0)
				return -1;
		if (p->err || put_mark(p) != 0)
			return -1;
		c->undo_from = c->marks_sent;
	}
	if (mcm_meta_delete(p, item->key, item->key_len, b64, MCM_META_QUIET) != 0)
		return -1;
	c->deletes++;
	flow(s, p);
	return 0;
}

static int healthy(const struct mcm_pipe *p)
{
	return p->fd >= 0 && !p->err;
}

/* Move bytes until no healthy connection waits for anything (or an interruption). */
static void drain(struct mcm_sender *s)
{
	for (;;) {
		int waiting = 0;

		for (size_t i = 0; i < s->npipes; i++)
			if (healthy(&s->pipes[i]) && mcm_pipe_busy(&s->pipes[i]))
				waiting = 1;
		if (!waiting || mcm_pipe_pump(s->pipes, s->npipes, 100, s->o.timeout_ms, on_reply, s) != 0)
			return;
	}
}

void mcm_sender_finish(struct mcm_sender *s)
{
	for (size_t i = 0; i < s->npipes; i++)
		if (healthy(&s->pipes[i]))
			put_mark(&s->pipes[i]);
	drain(s);
}

void mcm_sender_ask_stats(struct mcm_sender *s)
{
	for (uint32_t i = 0; i < s->t->count; i++) {
		for (unsigned k = 0; k < s->per; k++) {
			struct mcm_pipe *p = &s->pipes[(size_t)i * s->per + k];

			if (healthy(p)) {
				s->servers[i].phase = 1;
				mcm_meta_stats(p, NULL);
				break;
			}
		}
	}
	drain(s);
}

/* a - b, or 0 (a server that answers more than it was asked cannot make a count wrap). */
static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void mcm_sender_counts(const struct mcm_sender *s, uint32_t idx, struct mcm_sender_counts *out)
{
	memset(out, 0, sizeof *out);
	for (unsigned k = 0; k < s->per; k++) {
		const struct conn *c = &s->conns[(size_t)idx * s->per + k];
		uint64_t answered = (c->present - c->confirmed_present) + (c->errors - c->confirmed_errors);

		out->sent += c->sent;
		out->bytes += c->bytes;
		out->confirmed += c->confirmed;
		out->stored += minus(c->confirmed, c->confirmed_present + c->confirmed_errors);
		out->present += c->present;
		out->refused += c->errors;
		out->unconfirmed += minus(c->sent - c->confirmed, answered);
		out->deletes += c->deletes;
		out->delete_refused += c->delete_errors;
	}
}

int mcm_sender_lost(const struct mcm_sender *s, uint32_t idx, const char **why)
{
	for (unsigned k = 0; k < s->per; k++) {
		const struct mcm_pipe *p = &s->pipes[(size_t)idx * s->per + k];

		if (p->fd >= 0 && p->err) {
			*why = p->why;
			return 1;
		}
	}
	return 0;
}

void mcm_sender_stats(const struct mcm_sender *s, uint32_t idx, int after, struct mcm_server_stats *out,
		      size_t *item_max)
{
	*out = s->servers[idx].stats[after != 0];
	*item_max = s->pipes[(size_t)idx * s->per].item_max;
}

unsigned mcm_sender_connections(const struct mcm_sender *s, uint32_t idx)
{
	return s->servers[idx].count;
}

void mcm_sender_close(struct mcm_sender *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->pipes && i < s->npipes; i++)
		mcm_pipe_close(&s->pipes[i]);
	free(s->pipes);
	free(s->conns);
	free(s->servers);
	free(s);
}
