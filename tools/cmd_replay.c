/* cmd_replay.c - `mcmirror replay`: write the mirror's live items back into memcached, pipelined.
 *
 * One walk over the mirror in write order (oldest first). Each live item of
 * the chosen pool becomes a quiet meta set, `ms <key> <len> T<ttl> F<flags>
 * ME|MS q`, queued on the connection of the server the application's client
 * would pick. Quiet mode makes the server answer only what did not succeed:
 * NS (add mode: the key was already there) or an error line. Every MARK_EVERY
 * items an `mn` goes out; its MN answer confirms every item before it, so
 * the counts stay exact even when a server dies mid-way. Memory is the
 * per-server buffers, whatever the mirror's size.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dumpfmt.h"
#include "mcm_drain.h"
#include "mcm_expiry.h"
#include "mcm_store.h"
#include "json.h"
#include "mcmirror.h"
#include "pipe.h"
#include "progress.h"
#include "target.h"

#define CMD "replay"
#define SEND_AT (128u << 10)    /* try to send once a server has this much queued */
#define HIGH_WATER (1u << 20)   /* stop reading the mirror while a server has this much unsent */
#define MARK_EVERY 8192         /* items between two `mn` marks */
#define MARKS 256               /* marks in flight per server */
#define ERRORS_SHOWN 10         /* server error lines printed without -v */

struct replay_opts {
	struct mcm_target_opts t; /* servers, pool, only-server, prefix, timeout */
	int set_mode;           /* --mode set */
	long long rate;         /* items/s, 0 = unlimited */
	int dry_run;
};

/* One server's counts (its pipe's user pointer). */
struct server {
	uint64_t sent;          /* items queued */
	uint64_t since_mark;
	uint64_t marks[MARKS];  /* items queued before each unanswered mn (a ring) */
	unsigned mark_head, mark_count;
	uint64_t present, errors; /* NS and error replies */
	uint64_t confirmed;     /* items before the last MN received */
	uint64_t confirmed_present, confirmed_errors; /* present and errors when it came */
};

struct replay {
	const struct mcm_global *g;
	const struct replay_opts *o;
	struct mcm_target t;
	struct mcm_pool pool;
	struct mcm_pipe *pipes;  /* t.count of them (only the --only-server one connected) */
	struct server *servers;
	int only;                /* server index, or -1 */
	uint64_t scanned, expired, unsendable, queued;
	uint64_t undone;         /* keys deleted again by settle() */
	uint64_t errors_shown;
	double start;
	struct mcm_progress pg;
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] [-q | -v] replay --servers SERVERS [options]\n"
		"\n"
		"Write the mirror's live items into memcached after a restart: every key\n"
		"with its value bytes, flags and remaining time to live, on the server the\n"
		"application's libmemcached client picks for it, oldest write first.\n"
		"Pipelined meta-protocol writes, one connection per server. Records that\n"
		"are deleted, dropped or flushed are not sent; expired ones are counted.\n"
		"The mirror is only read.\n"
		"\n"
		"SERVERS is a list 'host:port[,host:port...]' (a bare host is port 11211,\n"
		"IPv6 is [::1]:11211 or ::1, an entry with a '/' is a unix socket), placed\n"
		"with the pool's recorded distribution and hashes; or a\n"
		"libmemcached configuration string ('--SERVER=a:11211 --SERVER=b:11211\n"
		"--DISTRIBUTION=consistent'), whose own settings are used.\n"
		"\n"
		"options:\n"
		"  -s, --servers SERVERS    where to write (required)\n"
		"  -p, --pool ID            the mirrored pool to replay, as 'mcmirror stats'\n"
		"                           prints it (default: the only pool, else the pool\n"
		"                           whose server list is SERVERS)\n"
		"  -o, --only-server H:P    only the keys that belong on this server of SERVERS\n"
		"  -M, --mode add|set       add: never overwrite a key the application wrote\n"
		"                           since the restart; set: overwrite (default: add)\n"
		"  -r, --rate N             at most N items per second (default: no limit)\n"
		"  -P, --prefix P           only keys (namespace included) starting with P\n"
		"  -n, --dry-run            read the mirror and count what would be sent to\n"
		"                           each server; connect to nothing\n"
		"  -t, --timeout SECS       give up on a server that accepts or answers\n"
		"                           nothing for SECS seconds (default: 5)\n"
		"  -h, --help               this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"On a terminal a progress line is drawn on stderr. At the end (and when\n"
		"interrupted) a summary goes to stderr:\n"
		"  mcmirror: replay: replayed N, already present A, skipped expired E, failed F\n"
		"  in S s (R items/s)\n"
		"'already present': add mode found the key on the server (it was kept).\n"
		"'failed': the server refused the item, the key cannot be sent over the text\n"
		"protocol (longer than 250 bytes, or 187 when not text-safe and so sent in\n"
		"base64), or it was in flight on a connection that broke.\n"
		"-v adds the pool and servers used; -vv one line per key already present.\n"
		"\n"
		"exit status: 0 every item was written or legitimately skipped (already\n"
		"present, expired); 1 any failure, an unreachable or failing server, or an\n"
		"interruption (SIGINT, SIGTERM); 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

static int parse_option(int c, struct replay_opts *o)
{
	int rc;

	switch (c) {
	case 'M':
		if (strcmp(optarg, "add") != 0 && strcmp(optarg, "set") != 0)
			return mcm_cli_usage_error(CMD, "bad mode '%s': want 'add' or 'set'", optarg);
		o->set_mode = strcmp(optarg, "set") == 0;
		return 0;
	case 'r':
		if ((o->rate = mcm_cli_parse_count(optarg)) <= 0)
			return mcm_cli_usage_error(CMD, "bad rate '%s': want a positive number of items per second",
						   optarg);
		return 0;
	case 'n':
		o->dry_run = 1;
		return 0;
	default:
		rc = mcm_target_option(CMD, c, optarg, &o->t);
		return rc == 1 ? mcm_cli_usage_error(CMD, "unknown option") : rc;
	}
}

/* @return 0 to go on, -1 after --help, or MCM_EXIT_USAGE. */
static int parse_args(int argc, char **argv, const struct mcm_global *g, struct replay_opts *o)
{
	static const struct option opts[] = {
		{"servers", required_argument, NULL, 's'}, {"pool", required_argument, NULL, 'p'},
		{"only-server", required_argument, NULL, 'o'}, {"mode", required_argument, NULL, 'M'},
		{"rate", required_argument, NULL, 'r'},    {"prefix", required_argument, NULL, 'P'},
		{"dry-run", no_argument, NULL, 'n'},       {"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(o, 0, sizeof *o);
	mcm_target_opts_init(&o->t);
	while ((c = getopt_long(argc, argv, "s:p:o:M:r:P:nt:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, g);
			return -1;
		}
		if ((rc = parse_option(c, o)) != 0)
			return rc;
	}
	return mcm_target_opts_check(CMD, argc, argv, &o->t);
}

/* Write v in decimal at p. @return the end. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

/* Queue `ms <key> <len> [T<ttl>] [F<flags>] M<E|S> [b] q [k]` and the value on p. */
static int queue_item(struct replay *r, struct mcm_pipe *p, const struct mcm_item *item, int64_t ttl, int b64)
{
	char *start = mcm_pipe_space(p, 360 + item->value_len), *w = start;

	if (!w)
		return ENOMEM;
	w = put_str(w, "ms ", 3);
	w = mcm_pipe_put_key(w, item->key, item->key_len, b64);
	*w++ = ' ';
	w = put_u64(w, item->value_len);
	if (ttl > 0) {
		w = put_str(w, " T", 2);
		w = put_u64(w, (uint64_t)ttl);
	}
	if (item->flags) {
		w = put_str(w, " F", 2);
		w = put_u64(w, item->flags);
	}
	w = put_str(w, r->o->set_mode ? " MS" : " ME", 3);
	if (b64)
		w = put_str(w, " b", 2);
	w = put_str(w, r->g->verbose >= 2 ? " q k\r\n" : " q\r\n", r->g->verbose >= 2 ? 6 : 4);
	w = put_str(w, item->value, item->value_len);
	w = put_str(w, "\r\n", 2);
	mcm_pipe_commit(p, (size_t)(w - start));
	return 0;
}

/* Queue `md <key> [b] q` on p. */
static int queue_delete(struct mcm_pipe *p, const struct mcm_item *item, int b64)
{
	char *start = mcm_pipe_space(p, 360), *w = start;

	if (!w)
		return ENOMEM;
	w = put_str(w, "md ", 3);
	w = mcm_pipe_put_key(w, item->key, item->key_len, b64);
	if (b64)
		w = put_str(w, " b", 2);
	w = put_str(w, " q\r\n", 4);
	mcm_pipe_commit(p, (size_t)(w - start));
	return 0;
}

/* Queue an `mn`: its MN will confirm every item queued so far. */
static void put_mark(struct mcm_pipe *p)
{
	struct server *s = p->user;

	if (s->mark_count == MARKS || mcm_pipe_put(p, "mn\r\n", 4) != 0)
		return; /* enough marks in flight: the next one will do */
	s->marks[(s->mark_head + s->mark_count++) % MARKS] = s->sent;
	s->since_mark = 0;
	p->expect++;
}

static void on_mark(struct mcm_pipe *p, struct server *s)
{
	if (s->mark_count == 0) {
		mcm_cli_warn(CMD, "'%s' answered MN to no mn: ignored", p->name);
		return;
	}
	s->confirmed = s->marks[s->mark_head];
	s->mark_head = (s->mark_head + 1) % MARKS;
	s->mark_count--;
	s->confirmed_present = s->present;
	s->confirmed_errors = s->errors;
	p->expect--;
}

static void print_key_reply(const struct mcm_reply *rep)
{
	const char *k = memmem(rep->line, rep->len, " k", 2);
	size_t len;

	if (!k) {
		mcm_cli_error(CMD, "already present: (key not returned)");
		return;
	}
	k += 2;
	len = (size_t)(rep->line + rep->len - k);
	if (memchr(k, ' ', len))
		len = (size_t)((const char *)memchr(k, ' ', len) - k);
	mcm_cli_error(CMD, "already present: '%.*s'%s", (int)len, k,
		      memmem(rep->line, rep->len, " b", 2) ? " (base64)" : "");
}

static void on_reply(struct mcm_pipe *p, const struct mcm_reply *rep, void *ctx)
{
	struct replay *r = ctx;
	struct server *s = p->user;

	if (rep->len == 2 && memcmp(rep->line, "MN", 2) == 0) {
		on_mark(p, s);
		return;
	}
	if (rep->len >= 2 && memcmp(rep->line, "NS", 2) == 0) {
		s->present++;
		if (r->g->verbose >= 2)
			print_key_reply(rep);
		return;
	}
	if (rep->len >= 2 && memcmp(rep->line, "HD", 2) == 0)
		return; /* not sent in quiet mode; harmless */
	if (rep->len >= 2 && memcmp(rep->line, "NF", 2) == 0)
		return; /* settle()'s delete of a key already gone: what it wanted */
	s->errors++;
	if (r->errors_shown++ < ERRORS_SHOWN || r->g->verbose) {
		mcm_progress_clear(&r->pg);
		mcm_cli_error(CMD, "'%s' refused an item: %.*s", p->name, (int)(rep->len > 200 ? 200 : rep->len),
			      rep->line);
	}
}

static int pump(struct replay *r, int wait_ms)
{
	return mcm_target_pump(CMD, r->pipes, r->t.count, wait_ms, r->o->t.timeout_ms, on_reply, r);
}

/* Wait while the walk is ahead of --rate. @return 0, or -1 on a failure or interruption. */
static int keep_rate(struct replay *r)
{
	for (;;) {
		double ahead = r->start + (double)r->queued / (double)r->o->rate - mcm_cli_now();

		if (ahead <= 0)
			return 0;
		if (mcm_cli_interrupted || pump(r, ahead > 0.1 ? 100 : (int)(ahead * 1000) + 1) != 0)
			return -1;
	}
}

/* Hand one live item to its server. @return 0, or -1 to stop the walk. */
static int send_item(struct replay *r, const struct mcm_item *item, int64_t ttl, uint32_t idx)
{
	struct mcm_pipe *p = &r->pipes[idx];
	struct server *s = &r->servers[idx];
	int b64;

	if (mcm_pipe_key_size(item->key, item->key_len, &b64) == 0) {
		char esc[MCM_DUMP_ESCAPED_MAX(MCM_KEY_MAX + MCM_NAMESPACE_MAX) + 1];
		esc[mcm_dumpfmt_escape(item->key, item->key_len, esc)] = '\0';
		mcm_progress_clear(&r->pg);
		mcm_cli_error(CMD, "cannot send key '%s' (%zu bytes): too long for the text protocol", esc,
			      item->key_len);
		r->unsendable++;
		return 0;
	}
	s->sent++;
	r->queued++;
	if (r->o->dry_run)
		return 0;
	if (r->o->rate && keep_rate(r) != 0)
		return -1;
	if (queue_item(r, p, item, ttl, b64) != 0)
		return -1;
	if (++s->since_mark >= MARK_EVERY)
		put_mark(p);
	if (mcm_pipe_unsent(p) >= SEND_AT && pump(r, 0) != 0)
		return -1;
	while (mcm_pipe_unsent(p) >= HIGH_WATER)
		if (mcm_cli_interrupted || pump(r, 100) != 0)
			return -1;
	return 0;
}

/* Look at one record of the walk. @return 0, or -1 to stop. */
static int consider(struct replay *r, const struct mcm_item *item)
{
	int64_t now, ttl;
	uint32_t idx;

	if (item->pool != r->pool.id)
		return 0;
	if (!mcm_target_wants(&r->o->t, item->key, item->key_len))
		return 0;
	now = (int64_t)time(NULL);
	switch (mcm_dumpfmt_status(item, &r->pool, now)) {
	case MCM_DUMP_LIVE:
		break;
	case MCM_DUMP_EXPIRED:
		r->expired++;
		return 0;
	default:
		return 0;
	}
	idx = mcm_target_server_of(&r->t, item);
	if (r->only >= 0 && idx != (uint32_t)r->only)
		return 0;
	if ((ttl = mcm_expiry_ttl(item->exptime, now)) < 0) {
		r->expired++;
		return 0;
	}
	return send_item(r, item, ttl, idx);
}

/* Read the mirror in write order and queue every live item. @return 0 or an error. */
static int walk(struct replay *r, struct mcm_store *st)
{
	struct mcm_iter *it;
	struct mcm_item item;
	int rc = mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it);

	while (rc == 0 && (rc = mcm_iter_next(it, &item)) == 0) {
		if (mcm_cli_interrupted)
			break;
		if ((++r->scanned & 4095) == 0)
			mcm_progress_update(&r->pg, r->scanned, r->queued);
		if (consider(r, &item) != 0)
			break;
	}
	mcm_iter_close(it);
	return rc == MCM_END ? 0 : rc;
}

/* Should settle() delete this record's key? Keys the application deleted (or
 * whose writes became uncertain) after the walk began: the walk may have
 * written an older value back after the application's delete reached
 * memcached. After a flush of the pool during the walk, every key the walk
 * may have written from before the flush. */
static int undo_needed(const struct mcm_item *item, uint64_t start_seq, int flushed)
{
	if (item->seq > start_seq)
		return item->kind != MCM_KIND_VALUE;
	return flushed && item->kind == MCM_KIND_VALUE;
}

/* After the walk: wait for the application's drainer, then delete again what
 * the application removed while the replay ran. @return 0 or an error. */
static int settle(struct replay *r, struct mcm_store *st, uint64_t start_seq)
{
	const char *path = mcm_cli_mirror_path(r->g);
	struct mcm_pool now_pool;
	struct mcm_iter *it;
	struct mcm_item item;
	int flushed, rc = mcm_drain_wait_live(path, 5000);

	if (rc != 0)
		mcm_cli_warn(CMD, "cannot follow the application's latest writes to '%s': %s", path, mcm_strerror(rc));
	flushed = mcm_store_pool(st, r->pool.id, &now_pool) == 0 && now_pool.flush_seq > start_seq;
	if (flushed)
		mcm_cli_warn(CMD, "the application flushed the pool during the replay: deleting what was replayed");
	if ((rc = mcm_iter_open(st, MCM_ORDER_SEQ, flushed ? 0 : start_seq + 1, &it)) != 0)
		return rc;
	while ((rc = mcm_iter_next(it, &item)) == 0 && !mcm_cli_interrupted) {
		uint32_t idx;
		int b64;

		if (item.pool != r->pool.id || !undo_needed(&item, start_seq, flushed) ||
		    !mcm_target_wants(&r->o->t, item.key, item.key_len))
			continue;
		idx = mcm_target_server_of(&r->t, &item);
		if ((r->only >= 0 && idx != (uint32_t)r->only) || mcm_pipe_key_size(item.key, item.key_len, &b64) == 0 ||
		    r->pipes[idx].fd < 0 || r->pipes[idx].err)
			continue;
		if (queue_delete(&r->pipes[idx], &item, b64) != 0)
			break;
		r->undone++;
		if (mcm_pipe_unsent(&r->pipes[idx]) >= SEND_AT && pump(r, 0) != 0)
			break;
	}
	mcm_iter_close(it);
	if (r->undone && !r->g->quiet)
		mcm_cli_error(CMD, "deleted %" PRIu64 " keys again that the application removed while the replay ran",
			      r->undone);
	return rc == MCM_END ? 0 : rc;
}

/* Send the last marks and wait for every healthy server to answer them. */
static void finish(struct replay *r)
{
	int waiting = 1;

	for (uint32_t i = 0; i < r->t.count; i++)
		if (r->pipes[i].fd >= 0 && !r->pipes[i].err)
			put_mark(&r->pipes[i]);
	while (waiting) {
		waiting = 0;
		for (uint32_t i = 0; i < r->t.count; i++)
			if (r->pipes[i].fd >= 0 && !r->pipes[i].err && r->pipes[i].expect)
				waiting = 1;
		if (waiting && mcm_pipe_pump(r->pipes, r->t.count, 100, r->o->t.timeout_ms, on_reply, r) != 0)
			break;
		mcm_progress_update(&r->pg, r->scanned, r->queued);
	}
}

static int connect_all(struct replay *r)
{
	if (mcm_target_connect_all(&r->t, r->pipes, r->only, r->o->t.timeout_ms, CMD) != 0)
		return -1;
	for (uint32_t i = 0; i < r->t.count; i++)
		r->pipes[i].user = &r->servers[i];
	return 0;
}

/* Report broken connections; count what they left unconfirmed as failed. @return their number. */
static int report_broken(struct replay *r)
{
	int broken = 0;

	for (uint32_t i = 0; i < r->t.count; i++) {
		struct mcm_pipe *p = &r->pipes[i];
		struct server *s = &r->servers[i];

		if (!p->err || p->fd < 0)
			continue;
		broken++;
		mcm_cli_error(CMD, "lost '%s': %s after %" PRIu64 " items were confirmed; %" PRIu64
			      " items sent to it are unconfirmed (counted as failed)",
			      p->name, p->why, s->confirmed, s->sent - s->confirmed);
	}
	return broken;
}

/* The summary line. @return the number of failed items. */
static uint64_t summary(struct replay *r, int quiet)
{
	uint64_t replayed = 0, present = 0, failed = r->unsendable, sent = 0;
	double secs = mcm_cli_now() - r->start;

	for (uint32_t i = 0; i < r->t.count; i++) {
		const struct server *s = &r->servers[i];

		present += s->confirmed_present;
		replayed += s->confirmed - s->confirmed_present - s->confirmed_errors;
		failed += s->confirmed_errors + (s->sent - s->confirmed);
		sent += s->sent;
	}
	if (quiet && failed == 0)
		return 0;
	mcm_cli_error(CMD, "replayed %" PRIu64 ", already present %" PRIu64 ", skipped expired %" PRIu64
		      ", failed %" PRIu64 " in %.2f s (%.0f items/s)",
		      replayed, present, r->expired, failed, secs, secs > 0 ? (double)sent / secs : 0.0);
	return failed;
}

static int dry_summary(struct replay *r)
{
	char name[300];

	for (uint32_t i = 0; i < r->t.count; i++) {
		if (r->only >= 0 && i != (uint32_t)r->only)
			continue;
		mcm_target_server_name(&r->t, i, name, sizeof name);
		mcm_cli_error(CMD, "dry run: would send %" PRIu64 " items to '%s'", r->servers[i].sent, name);
	}
	mcm_cli_error(CMD, "dry run: would replay %" PRIu64 ", skipped expired %" PRIu64 ", cannot send %" PRIu64
		      " (%" PRIu64 " records read)", r->queued, r->expired, r->unsendable, r->scanned);
	return r->unsendable || mcm_cli_interrupted ? MCM_EXIT_FAIL : MCM_EXIT_OK;
}

static int outcome(struct replay *r, int walk_rc)
{
	int broken = report_broken(r);
	uint64_t failed;

	mcm_progress_clear(&r->pg);
	if (walk_rc != 0)
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", mcm_cli_mirror_path(r->g), mcm_strerror(walk_rc));
	if (mcm_cli_interrupted)
		mcm_cli_error(CMD, "interrupted by signal %d: the replay is incomplete", (int)mcm_cli_interrupted);
	failed = summary(r, r->g->quiet && !broken && !walk_rc && !mcm_cli_interrupted);
	return failed || broken || walk_rc || mcm_cli_interrupted ? MCM_EXIT_FAIL : MCM_EXIT_OK;
}

static void describe_plan(struct replay *r)
{
	char id[17];

	if (!r->t.from_config && r->t.described.id != r->pool.id) {
		size_t recorded = 1;
		for (const char *c = r->pool.servers; *c; c++)
			recorded += *c == ',';
		if (recorded != r->t.count)
			mcm_cli_warn(CMD, "the pool was recorded with %zu servers ('%s') and --servers names %u:"
				     " keys are placed for %u servers", recorded, r->pool.servers, r->t.count,
				     r->t.count);
	}
	if (r->pool.encrypted)
		mcm_cli_warn(CMD, "the pool's application used an encoding key: its values are not mirrored");
	if (!r->g->verbose)
		return;
	mcm_dumpfmt_pool_id(r->pool.id, id);
	mcm_cli_error(CMD, "pool %s (recorded servers '%s', distribution %s) into '%s', mode %s%s", id,
		      r->pool.servers, mcm_dumpfmt_distribution_name(r->pool.distribution) ?
		      mcm_dumpfmt_distribution_name(r->pool.distribution) : "?",
		      r->t.described.servers, r->o->set_mode ? "set" : "add", r->o->dry_run ? " (dry run)" : "");
}

/* Choose the pool and server, connect. @return 0 or an exit code. */
static int prepare(struct replay *r, struct mcm_store *st)
{
	int rc = mcm_target_pick_pool(&r->t, st, CMD, r->o->t.have_pool ? &r->o->t.pool : NULL, &r->pool);

	if (rc == MCM_TARGET_NO_POOL) {
		mcm_cli_warn(CMD, "mirror '%s' holds no pool: nothing was recorded, nothing to replay",
			     mcm_cli_mirror_path(r->g));
		return -1;
	}
	if (rc != 0)
		return rc;
	mcm_target_adopt(&r->t, &r->pool, CMD);
	r->only = -1;
	if (r->o->t.only && (r->only = mcm_target_find_server(&r->t, r->o->t.only)) < 0)
		return mcm_cli_usage_error(CMD, "--only-server '%s' is not one of the servers '%s'", r->o->t.only,
					   r->t.described.servers);
	describe_plan(r);
	r->pipes = calloc(r->t.count, sizeof *r->pipes);
	r->servers = calloc(r->t.count, sizeof *r->servers);
	if (!r->pipes || !r->servers) {
		mcm_cli_error(CMD, "out of memory");
		return MCM_EXIT_FAIL;
	}
	for (uint32_t i = 0; i < r->t.count; i++)
		r->pipes[i].fd = -1;
	if (!r->o->dry_run && connect_all(r) != 0)
		return MCM_EXIT_FAIL;
	return 0;
}

static int replay(struct replay *r, struct mcm_store *st)
{
	struct mcm_store_info info;
	int rc = prepare(r, st);

	if (rc != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	if (mcm_store_info(st, &info) != 0) {
		info.entries = 0;
		info.last_seq = 0;
	}
	mcm_progress_init(&r->pg, mcm_cli_progress_enabled(r->g), CMD, "items", info.entries);
	r->start = mcm_cli_now();
	rc = walk(r, st);
	if (r->o->dry_run) {
		mcm_progress_clear(&r->pg);
		return rc ? outcome(r, rc) : dry_summary(r);
	}
	if (rc == 0 && !mcm_cli_interrupted) {
		mcm_progress_clear(&r->pg);
		rc = settle(r, st, info.last_seq);
	}
	finish(r);
	return outcome(r, rc);
}

/* --json: the summary as one JSON line on stdout (docs/mcmirror.1, JSON OUTPUT). */
static void json_summary(const struct replay *r, int rc)
{
	uint64_t replayed = 0, present = 0, failed = r->unsendable;
	struct mcm_json j;

	for (uint32_t i = 0; r->servers && i < r->t.count; i++) {
		const struct server *s = &r->servers[i];

		present += s->confirmed_present;
		replayed += s->confirmed - s->confirmed_present - s->confirmed_errors;
		failed += s->confirmed_errors + (s->sent - s->confirmed);
	}
	mcm_cli_summary_begin(&j, CMD, rc);
	mcm_json_str(&j, "servers", r->t.described.servers);
	mcm_json_bool(&j, "dry_run", r->o->dry_run);
	mcm_json_u64(&j, "replayed", r->o->dry_run ? 0 : replayed);
	mcm_json_u64(&j, "already_present", present);
	mcm_json_u64(&j, "skipped_expired", r->expired);
	mcm_json_u64(&j, "failed", r->o->dry_run ? r->unsendable : failed);
	mcm_json_u64(&j, "records_read", r->scanned);
	mcm_json_double(&j, "seconds", r->start ? mcm_cli_now() - r->start : 0, 3);
	mcm_json_finish(&j);
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	struct replay_opts o;
	struct replay r;
	struct mcm_store *st;
	char why[600];
	int rc;

	if ((rc = parse_args(argc, argv, g, &o)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	memset(&r, 0, sizeof r);
	r.g = g;
	r.o = &o;
	if (mcm_target_open(&r.t, o.t.servers, why, sizeof why) != 0)
		return mcm_cli_usage_error(CMD, "%s", why);
	mcm_cli_signals();
	if (!(st = mcm_cli_open_mirror(g, CMD))) {
		if (g->json)
			json_summary(&r, MCM_EXIT_FAIL);
		mcm_target_close(&r.t);
		return MCM_EXIT_FAIL;
	}
	mcm_cli_warn_incomplete(g, CMD);
	rc = replay(&r, st);
	if (g->json)
		json_summary(&r, rc);
	for (uint32_t i = 0; r.pipes && i < r.t.count; i++)
		mcm_pipe_close(&r.pipes[i]);
	free(r.pipes);
	free(r.servers);
	mcm_store_close(st);
	mcm_target_close(&r.t);
	return rc;
}

const struct mcm_cmd mcm_cmd_replay = {"replay", run, "write the mirror back into memcached (pipelined)"};
