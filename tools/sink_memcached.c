/* sink_memcached.c - `mcmirror follow` into a standby memcached pool (the sink of sink.h).
 *
 * Changes go through a sender (sender.h): pipelined quiet meta commands over
 * key-affine connections per server, each key to the server the standby
 * pool's clients pick (the mirrored pool's distribution and hashes, as
 * replay places them). A commit asks every connection for an `mn` and
 * returns once each answered: everything before is applied. A control
 * connection per server carries what must be ordered against the whole
 * stream: `flush_all` (after every earlier write is confirmed), and a marker
 * key, mcmirror.follow.<name>, written at the first commit and once a second
 * after, and in the same send as every immediate flush (the flush removes
 * it: a follower killed right after a flush it was given still leaves its
 * marker, so the follower that resumes does not resynchronise a standby it
 * can bring up to date by sending the flush again; follow saves position 0
 * before a resynchronisation's own flush, so that one too is safe to mark).
 * A standby that lost its data (restarted empty, or flushed by someone) has
 * lost the marker too: lost() says so, and follow resynchronises it, even
 * when the follower itself was restarted in between.
 *
 * Never a value the mirror cannot vouch for: a value larger than the
 * server's item_size_max is deleted there instead of set; a write the server
 * refuses (it answers an error to a quiet set, which does not say which key)
 * fails the commit and makes lost() true: the standby is emptied and sent
 * again, and the refusal is reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_expiry.h"
#include "mcmirror.h"
#include "meta.h"
#include "pipe.h"
#include "sender.h"
#include "sink.h"
#include "target.h"

#define MARKER_PREFIX "mcmirror.follow."
#define MARK_EVERY_S 1.0

struct mcm_sink {
	char cmd[32];
	int timeout_ms;
	struct mcm_target t;
	int have_target;
	struct mcm_sender *snd;
	struct mcm_pipe *ctl;     /* one per server: flush_all and the marker */
	char marker[sizeof MARKER_PREFIX + MCM_FOLLOWER_NAME_MAX];
	size_t marker_len;
	uint64_t refused_seen;    /* refusals counted up to the last commit */
	char refusal[160];        /* the first refusal's answer */
	int must_resync;          /* a refusal: the standby may hold an older value somewhere */
	char reply[2][160];       /* the control connection's answers to the last ctl_wait (the first two) */
	unsigned replies;
	char desc[2100];
	uint64_t too_large, unsendable;
	double marked;            /* when the marker was last written (0: it must be, at the next commit) */
};

static int claims(const char *target)
{
	return strstr(target, "://") == NULL; /* a server list or a libmemcached configuration string */
}

static void on_event(void *ctx, const struct mcm_pipe *p, enum mcm_sender_event ev, const struct mcm_reply *r)
{
	struct mcm_sink *s = ctx;

	if (ev == MCM_SENDER_PRESENT)
		return; /* (set mode: never) */
	if (!s->refusal[0])
		snprintf(s->refusal, sizeof s->refusal, "'%.60s' answered '%s'", p->name, mcm_cli_shown(r->line, r->len, 90));
}

static void on_ctl_reply(struct mcm_pipe *p, const struct mcm_reply *r, void *ctx)
{
	struct mcm_sink *s = ctx;

	snprintf(s->reply[s->replies < 2 ? s->replies++ : 1], sizeof s->reply[0], "%s", mcm_cli_shown(r->line, r->len, 120));
	if (p->expect)
		p->expect--;
}

/* Queue on control connection idx what fill queues (expecting n answers), then
 * move bytes until they came. @return 0, or -1 with why set. */
static int ctl_wait(struct mcm_sink *s, uint32_t idx, unsigned n, char *why, size_t why_size)
{
	struct mcm_pipe *p = &s->ctl[idx];

	p->expect += n;
	s->replies = 0;
	while (!p->err && mcm_pipe_busy(p))
		if (mcm_pipe_pump(p, 1, 100, s->timeout_ms, on_ctl_reply, s) != 0)
			break;
	if (p->err || mcm_pipe_busy(p)) {
		snprintf(why, why_size, "'%s': %s", p->name, p->err ? p->why : "interrupted");
		return -1;
	}
	return 0;
}

static void sink_close(struct mcm_sink *s)
{
	if (!s)
		return;
	mcm_sender_close(s->snd);
	for (uint32_t i = 0; s->ctl && i < s->t.count; i++)
		mcm_pipe_close(&s->ctl[i]);
	free(s->ctl);
	if (s->have_target)
		mcm_target_close(&s->t);
	free(s);
}

static int sink_open(struct mcm_sink **out, const char *target, const struct mcm_sink_opts *o, char *why,
		     size_t why_size)
{
	struct mcm_sink *s = calloc(1, sizeof *s);
	struct mcm_sender_opts so = {.cmd = o->cmd, .connections = o->connections, .timeout_ms = o->timeout_ms,
				     .only = -1, .how = 0};

	*out = NULL;
	if (!s) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	snprintf(s->cmd, sizeof s->cmd, "%s", o->cmd);
	s->timeout_ms = o->timeout_ms;
	s->marker_len = (size_t)snprintf(s->marker, sizeof s->marker, MARKER_PREFIX "%s", o->follower);
	if (mcm_target_open(&s->t, target, why, why_size) != 0) {
		free(s);
		return -1;
	}
	s->have_target = 1;
	s->t.guard = o->tls; /* TLS and credentials (protect.h), or NULL */
	mcm_target_adopt(&s->t, o->pool, o->cmd);
	snprintf(s->desc, sizeof s->desc, "%s", s->t.described.servers);
	if (!(s->ctl = calloc(s->t.count, sizeof *s->ctl))) {
		snprintf(why, why_size, "out of memory");
		sink_close(s);
		return -1;
	}
	for (uint32_t i = 0; i < s->t.count; i++)
		s->ctl[i].fd = -1;
	for (uint32_t i = 0; i < s->t.count; i++) {
		if (mcm_target_connect(&s->t, i, &s->ctl[i], o->timeout_ms) != 0) {
			snprintf(why, why_size, "cannot connect to '%s': %s", s->ctl[i].name, s->ctl[i].why);
			s->ctl[i].fd = -1;
			sink_close(s);
			return -1;
		}
		if (mcm_meta_stats(&s->ctl[i], "settings") != 0 || ctl_wait(s, i, 0, why, why_size) != 0) {
			sink_close(s);
			return -1;
		}
	}
	if (mcm_sender_open(&s->snd, &s->t, &so, on_event, s) != 0) {
		snprintf(why, why_size, "cannot connect to '%s'", s->t.described.servers);
		sink_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* Is any of the sender's connections to the standby broken? */
static int broken(struct mcm_sink *s, char *why, size_t why_size)
{
	for (uint32_t i = 0; i < s->t.count; i++) {
		const char *reason;

		if (mcm_sender_lost(s->snd, i, &reason)) {
			char name[300];

			mcm_target_server_name(&s->t, i, name, sizeof name);
			snprintf(why, why_size, "'%s': %s", name, reason);
			return 1;
		}
	}
	return 0;
}

/* Every write so far confirmed, none refused. @return 0, or -1 with why set. */
static int confirm(struct mcm_sink *s, char *why, size_t why_size)
{
	uint64_t refused = 0, unconfirmed = 0;

	mcm_sender_finish(s->snd);
	if (broken(s, why, why_size))
		return -1;
	for (uint32_t i = 0; i < s->t.count; i++) {
		struct mcm_sender_counts c;

		mcm_sender_counts(s->snd, i, &c);
		refused += c.refused + c.delete_refused;
		unconfirmed += c.unconfirmed + (c.sent - c.confirmed);
	}
	if (mcm_cli_interrupted && unconfirmed) {
		snprintf(why, why_size, "interrupted before the standby confirmed %llu writes", (unsigned long long)unconfirmed);
		return -1;
	}
	if (refused != s->refused_seen) {
		s->refused_seen = refused;
		s->must_resync = 1;
		snprintf(why, why_size, "the standby refused a write (%s): it will be emptied and sent again",
			 s->refusal[0] ? s->refusal : "no answer kept");
		s->refusal[0] = '\0';
		return -1;
	}
	return 0;
}

/* Queue the marker on control connection idx, its value the position (for people reading it). */
static int queue_marker(struct mcm_sink *s, uint32_t idx, uint64_t position)
{
	char value[24];
	int len = snprintf(value, sizeof value, "%llu", (unsigned long long)position);

	s->marked = mcm_cli_now();
	return mcm_meta_set(&s->ctl[idx], s->marker, s->marker_len, 0, value, (size_t)len, 0, 0, 0);
}

/* Is the answer to the nth command of the last ctl_wait on idx the one expected? @return 0, or -1 with why set. */
static int answered(struct mcm_sink *s, uint32_t idx, unsigned nth, const char *want, const char *what, char *why,
		    size_t why_size)
{
	if (strcmp(s->reply[nth], want) == 0)
		return 0;
	snprintf(why, why_size, "'%s' answered '%s' to %s", s->ctl[idx].name, s->reply[nth], what);
	return -1;
}

/* flush_all (at when, 0: now) on every server, once every write before it is confirmed; an immediate
 * one with the marker in the same send (position: the flush's). */
static int flush_all(struct mcm_sink *s, int64_t when, uint64_t position, char *why, size_t why_size)
{
	if (confirm(s, why, why_size) != 0)
		return -1;
	for (uint32_t i = 0; i < s->t.count; i++) {
		unsigned n = when ? 1 : 2;

		if (mcm_meta_flush(&s->ctl[i], when) != 0 || (n == 2 && queue_marker(s, i, position) != 0) ||
		    ctl_wait(s, i, n, why, why_size) != 0)
			return -1;
		if (answered(s, i, 0, "OK", "flush_all", why, why_size) != 0 ||
		    (n == 2 && answered(s, i, 1, "HD", "the follower's marker", why, why_size) != 0))
			return -1;
	}
	return 0;
}

static int change(struct mcm_sink *s, const struct mcm_change *c, char *why, size_t why_size)
{
	int64_t now = (int64_t)(mcm_now_us() / 1000000u), ttl;
	uint32_t idx;
	int b64;

	if (c->kind == MCM_CHANGE_FLUSH)
		return flush_all(s, 0, c->seq, why, why_size);
	if (c->kind == MCM_CHANGE_FLUSH_AT) /* (the marker goes at that time, with everything written before it: */
		return flush_all(s, c->flush_time, c->seq, why, why_size); /* lost() then resends what came after) */
	if (mcm_pipe_key_size(c->item.key, c->item.key_len, &b64) == 0) {
		s->unsendable++; /* no meta command can name it: the standby never had it from us either */
		return 0;
	}
	idx = mcm_target_server_of(&s->t, &c->item);
	ttl = c->kind == MCM_CHANGE_SET ? mcm_expiry_ttl(c->item.exptime, now) : -1;
	if (ttl >= 0 && c->item.value_len + 1024 > s->ctl[idx].item_max && s->ctl[idx].item_max) {
		s->too_large++; /* the server cannot hold it: it must not keep an older value either */
		ttl = -1;
	}
	if (ttl >= 0 ? mcm_sender_set(s->snd, idx, &c->item, ttl, b64) : mcm_sender_delete(s->snd, idx, &c->item, b64)) {
		if (!broken(s, why, why_size))
			snprintf(why, why_size, "cannot queue a write to the standby");
		return -1;
	}
	return 0;
}

static int commit(struct mcm_sink *s, uint64_t position, char *why, size_t why_size)
{
	if (confirm(s, why, why_size) != 0)
		return -1;
	/* the marker: this standby has what the follower gave it (gone if it restarts or is flushed).
	 * Written at the first commit after connecting, with each immediate flush, and once a second:
	 * lost() looks for it at each connection and once a second, and a restart breaks the
	 * connections anyway. */
	if (s->marked && mcm_cli_now() - s->marked < MARK_EVERY_S)
		return 0;
	for (uint32_t i = 0; i < s->t.count; i++)
		if (queue_marker(s, i, position) != 0 || ctl_wait(s, i, 1, why, why_size) != 0 ||
		    answered(s, i, 0, "HD", "the follower's marker", why, why_size) != 0)
			return -1;
	return 0;
}

static int lost(struct mcm_sink *s)
{
	char why[200];

	if (s->must_resync) {
		s->must_resync = 0;
		return 1;
	}
	for (uint32_t i = 0; i < s->t.count; i++) {
		if (mcm_meta_get(&s->ctl[i], s->marker, s->marker_len, 0, "v") != 0 || ctl_wait(s, i, 1, why, sizeof why) != 0)
			return -1; /* unreachable: follow reconnects */
		if (strncmp(s->reply[0], "EN", 2) == 0)
			return 1;
	}
	return 0;
}

static int position(struct mcm_sink *s, uint64_t *pos, int *have, char *why, size_t why_size)
{
	(void)s;
	(void)why;
	(void)why_size;
	*pos = 0;
	*have = 0; /* the mirror keeps the position; the marker says whether the standby still has it */
	return 0;
}

static const char *describe(const struct mcm_sink *s)
{
	return s->desc;
}

const struct mcm_sink_ops mcm_sink_memcached = {
	.name = "memcached",
	.claims = claims,
	.open = sink_open,
	.position = position,
	.change = change,
	.commit = commit,
	.lost = lost,
	.describe = describe,
	.close = sink_close,
};
