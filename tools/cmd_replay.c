/* cmd_replay.c - `mcmirror replay`: write the mirror's live items back into memcached, pipelined.
 *
 * One walk over the mirror in write order (oldest first). Each live item of
 * the chosen pool goes to the server the application's client would pick,
 * through the sender (sender.h): a quiet meta set, `ms <key> <len> T<ttl>
 * F<flags> ME|MS q`, on one of that server's connections (always the same
 * one for a key), confirmed in batches by `mn`, so the counts stay exact even
 * when a server dies mid-way. A server that is lost receives nothing more;
 * the walk goes on for the others and counts what it could not send. After
 * the walk, settle() deletes again what the application removed meanwhile,
 * and the servers' evictions are compared with those before. Memory is the
 * connections' buffers, whatever the mirror's size.
 *
 * With --from URL the records come from an external store (source.h) that
 * `follow --to` fed, a pool's live rows oldest write first, instead of the
 * mirror; everything else is the same, but nothing is deleted again
 * afterwards (there is no mirror to learn the application's deletions from).
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
#include "meta.h"
#include "pipe.h"
#include "prefetch.h"
#include "progress.h"
#include "sender.h"
#include "source.h"
#include "target.h"

#define CMD "replay"
#define ERRORS_SHOWN 10         /* server error lines printed without -v */

struct replay_opts {
	struct mcm_target_opts t; /* servers, pool, only-server, prefix, timeout */
	int set_mode;           /* --mode set */
	long long rate;         /* items/s, 0 = unlimited */
	int dry_run;
	unsigned connections;   /* per server; 0 = automatic (sender.h) */
	const char *from;       /* --from URL: an external store instead of the mirror */
};

struct replay {
	const struct mcm_global *g;
	const struct replay_opts *o;
	struct mcm_target t;
	struct mcm_pool pool;
	struct mcm_sender *snd;  /* NULL in a dry run */
	const struct mcm_source_ops *src_ops; /* --from */
	struct mcm_source *src;
	uint64_t *planned;       /* per server: items queued (or, in a dry run, that would be) */
	unsigned char *stopped;  /* per server: it was lost, nothing more goes to it */
	int halted;              /* an interruption: nothing more goes anywhere */
	int only;                /* server index, or -1 */
	uint64_t scanned, expired, unsendable, queued;
	uint64_t unsent;         /* live items the walk reached after their server stopped (or a halt) */
	uint64_t undone;         /* keys deleted again by settle() */
	uint64_t expected;       /* about how many items one server gets */
	uint64_t errors_shown;
	double start;
	struct mcm_progress pg;
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] [-q | -v] replay --servers SERVERS [options]\n"
		"       mcmirror [-q | -v] replay --from URL --servers SERVERS [options]\n"
		"\n"
		"Write the mirror's live items into memcached after a restart: every key\n"
		"with its value bytes, flags and remaining time to live, on the server the\n"
		"application's libmemcached client picks for it, oldest write first.\n"
		"Pipelined meta-protocol writes over several connections per server (a key\n"
		"always takes the same one, so its last write lands last). Records that\n"
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
		"  -c, --connections N|auto connections per server, 1 to %d; auto: 1 when the\n"
		"                           server's hash table already fits its items, else %d\n"
		"                           (default: auto)\n"
		"  -P, --prefix P           only keys (namespace included) starting with P\n"
		"  -n, --dry-run            read the mirror and count what would be sent to\n"
		"                           each server; connect to nothing\n"
		"  -t, --timeout SECS       give up on a server that accepts or answers\n"
		"                           nothing for SECS seconds (default: 5)\n"
		"  -f, --from URL           read an external store that 'mcmirror follow --to'\n"
		"                           fed (postgresql://..., mysql://..., mariadb://...;\n"
		"                           docs/SQL.md) instead of the mirror: each key's\n"
		"                           newest write of any host. Keys the application\n"
		"                           deletes during the replay are not deleted again\n"
		"                           afterwards (no mirror tells them)\n"
		MCM_PROTECT_HELP
		"  -h, --help               this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"On a terminal a progress line is drawn on stderr. At the end (and when\n"
		"interrupted) a summary goes to stderr:\n"
		"  mcmirror: replay: replayed N, already present A, skipped expired E, failed F\n"
		"  in S s (R items/s)[; not sent U]\n"
		"'already present': add mode found the key on the server (it was kept).\n"
		"'failed': the server refused the item, the key cannot be sent over the text\n"
		"protocol (longer than 250 bytes, or 187 when not text-safe and so sent in\n"
		"base64), or it was in flight on a connection that broke.\n"
		"'not sent': live items of servers that were lost (or of every server after\n"
		"an interruption) that were never sent; each live item is counted once.\n"
		"The servers' 'stats' are read before and after: a server that evicted\n"
		"items meanwhile is too small for the data, and a warning names it.\n"
		"-v adds the pool and servers used; -vv one line per key already present.\n"
		"\n"
		"exit status: 0 every item was written or legitimately skipped (already\n"
		"present, expired); 1 any failure, an unreachable or failing server, a\n"
		"server that evicted items during the replay, or an interruption (SIGINT,\n"
		"SIGTERM); 2 usage error\n",
		MCM_SENDER_CONNECTIONS_MAX, MCM_SENDER_AUTO_MAX, mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

static int parse_option(int c, struct replay_opts *o)
{
	long long n;
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
	case 'c':
		if (strcmp(optarg, "auto") == 0) {
			o->connections = 0;
			return 0;
		}
		if ((n = mcm_cli_parse_count(optarg)) < 1 || n > MCM_SENDER_CONNECTIONS_MAX)
			return mcm_cli_usage_error(CMD, "bad connection count '%s': want 1 to %d, or auto", optarg,
						   MCM_SENDER_CONNECTIONS_MAX);
		o->connections = (unsigned)n;
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
		{"connections", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
		{"from", required_argument, NULL, 'f'},
		MCM_PROTECT_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(o, 0, sizeof *o);
	mcm_target_opts_init(&o->t);
	while ((c = getopt_long(argc, argv, "s:p:o:M:r:P:nt:c:hf:", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, g);
			return -1;
		}
		if (c == 'f') {
			o->from = optarg;
			continue;
		}
		if ((rc = parse_option(c, o)) != 0)
			return rc;
	}
	return mcm_target_opts_check(CMD, argc, argv, &o->t);
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
	mcm_cli_error(CMD, "already present: '%s'%s", mcm_cli_shown(k, len, 240),
		      memmem(rep->line, rep->len, " b", 2) ? " (base64)" : "");
}

/* The sender's report of an answer: print what deserves it. */
static void on_event(void *ctx, const struct mcm_pipe *p, enum mcm_sender_event ev, const struct mcm_reply *rep)
{
	struct replay *r = ctx;

	if (ev == MCM_SENDER_PRESENT) {
		if (r->g->verbose >= 2)
			print_key_reply(rep);
		return;
	}
	if (r->errors_shown++ < ERRORS_SHOWN || r->g->verbose) {
		mcm_progress_clear(&r->pg);
		mcm_cli_error(CMD, "'%s' refused %s: %s", p->name, ev == MCM_SENDER_REFUSED ? "an item" : "a delete",
			      mcm_cli_shown(rep->line, rep->len, 200));
	}
}

/* Wait while the walk is ahead of --rate. @return 0, or -1 on an interruption or a failed poll. */
static int keep_rate(struct replay *r)
{
	for (;;) {
		double ahead = r->start + (double)r->queued / (double)r->o->rate - mcm_cli_now();

		if (ahead <= 0)
			return 0;
		if (mcm_cli_interrupted || mcm_sender_pump(r->snd, ahead > 0.1 ? 100 : (int)(ahead * 1000) + 1) != 0)
			return -1;
	}
}

/* Hand one live item to its server. A server that is lost stops receiving. */
static void send_item(struct replay *r, const struct mcm_item *item, int64_t ttl, uint32_t idx)
{
	int b64;

	if (mcm_pipe_key_size(item->key, item->key_len, &b64) == 0) {
		char esc[MCM_DUMP_ESCAPED_MAX(MCM_KEY_MAX + MCM_NAMESPACE_MAX) + 1];
		esc[mcm_dumpfmt_escape(item->key, item->key_len, esc)] = '\0';
		mcm_progress_clear(&r->pg);
		mcm_cli_error(CMD, "cannot send key '%s' (%zu bytes): too long for the text protocol", esc,
			      item->key_len);
		r->unsendable++;
		return;
	}
	if (r->o->rate && !r->o->dry_run && keep_rate(r) != 0) {
		r->halted = 1;
		r->unsent++;
		return;
	}
	if (!r->o->dry_run && mcm_sender_set(r->snd, idx, item, ttl, b64) != 0) {
		r->stopped[idx] = 1; /* its connection broke: nothing more goes to this server */
		r->unsent++;
		return;
	}
	r->planned[idx]++;
	r->queued++;
}

/* Look at one record of the walk: send it, or count it as not sent. */
static void consider(struct replay *r, const struct mcm_item *item)
{
	int64_t now, ttl;
	uint32_t idx;

	if (item->pool != r->pool.id)
		return;
	if (!mcm_target_wants(&r->o->t, item->key, item->key_len))
		return;
	now = (int64_t)time(NULL);
	switch (mcm_dumpfmt_status(item, &r->pool, now)) {
	case MCM_DUMP_LIVE:
		break;
	case MCM_DUMP_EXPIRED:
		r->expired++;
		return;
	default:
		return;
	}
	idx = mcm_target_server_of(&r->t, item);
	if (r->only >= 0 && idx != (uint32_t)r->only)
		return;
	if ((ttl = mcm_expiry_ttl(item->exptime, now)) < 0) {
		r->expired++;
		return;
	}
	if (r->halted || r->stopped[idx])
		r->unsent++;
	else
		send_item(r, item, ttl, idx);
}

/* Read the mirror in write order and queue every live item; after a halt,
 * only count what is left. @return 0 or an error. */
static int walk(struct replay *r, struct mcm_store *st)
{
	struct mcm_iter *it;
	struct mcm_item item;
	int rc = mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it);

	while (rc == 0 && ((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED)) {
		if (rc == MCM_EDAMAGED) { /* never sent */
			if (item.pool == r->pool.id)
				mcm_cli_damaged(CMD, &item);
			rc = 0;
			continue;
		}
		if (mcm_cli_interrupted)
			r->halted = 1;
		if ((++r->scanned & 4095) == 0)
			mcm_progress_update(&r->pg, r->scanned, r->queued);
		consider(r, &item);
	}
	mcm_iter_close(it);
	return rc == MCM_END ? 0 : rc;
}

/* --from: the pool's live rows, oldest write first. @return 0, or -1 after a message. */
static int walk_source(struct replay *r)
{
	struct mcm_item item;
	char why[1024];
	int rc;

	if (r->src_ops->scan(r->src, r->pool.id, MCM_SOURCE_LIVE, why, sizeof why) != 0) {
		mcm_cli_error(CMD, "%s", why);
		return -1;
	}
	while ((rc = r->src_ops->next(r->src, &item, NULL, why, sizeof why)) == 0) {
		if (mcm_cli_interrupted)
			r->halted = 1;
		if ((++r->scanned & 4095) == 0)
			mcm_progress_update(&r->pg, r->scanned, r->queued);
		consider(r, &item);
	}
	if (rc == MCM_END)
		return 0;
	mcm_progress_clear(&r->pg);
	mcm_cli_error(CMD, "%s", why);
	return -1;
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
	while (((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED) && !mcm_cli_interrupted) {
		uint32_t idx;
		int b64;

		if (rc == MCM_EDAMAGED) /* (the walk named it) */
			continue;
		if (item.pool != r->pool.id || !undo_needed(&item, start_seq, flushed) ||
		    !mcm_target_wants(&r->o->t, item.key, item.key_len))
			continue;
		idx = mcm_target_server_of(&r->t, &item);
		if ((r->only >= 0 && idx != (uint32_t)r->only) || mcm_pipe_key_size(item.key, item.key_len, &b64) == 0)
			continue;
		if (mcm_sender_delete(r->snd, idx, &item, b64) == 0)
			r->undone++;
	}
	mcm_iter_close(it);
	if (r->undone && !r->g->quiet)
		mcm_cli_error(CMD, "deleted %" PRIu64 " keys again that the application removed while the replay ran",
			      r->undone);
	return rc == MCM_END ? 0 : rc;
}

/* Report the servers that were lost. @return their number. */
static int report_broken(struct replay *r)
{
	int broken = 0;

	for (uint32_t i = 0; i < r->t.count; i++) {
		struct mcm_sender_counts c;
		const char *why;
		char name[300];

		if (!mcm_sender_lost(r->snd, i, &why))
			continue;
		broken++;
		mcm_sender_counts(r->snd, i, &c);
		mcm_target_server_name(&r->t, i, name, sizeof name);
		mcm_cli_error(CMD, "lost '%s': %s after %" PRIu64 " items were confirmed; %" PRIu64
			      " items sent to it are unconfirmed (counted as failed)", name, why, c.confirmed,
			      c.unconfirmed);
	}
	return broken;
}

/* Compare each server's evictions before and after: a server that evicted
 * items while the replay wrote is too small for the data. @return how many did. */
static int check_evictions(struct replay *r)
{
	int evicting = 0;

	mcm_sender_ask_stats(r->snd);
	for (uint32_t i = 0; i < r->t.count; i++) {
		struct mcm_server_stats before, after;
		struct mcm_sender_counts c;
		size_t item_max;
		char name[300];

		if (r->only >= 0 && i != (uint32_t)r->only)
			continue;
		mcm_sender_stats(r->snd, i, 0, &before, &item_max);
		mcm_sender_stats(r->snd, i, 1, &after, &item_max);
		mcm_target_server_name(&r->t, i, name, sizeof name);
		if (!before.known || !after.known) {
			if (r->g->verbose)
				mcm_cli_warn(CMD, "'%s' did not answer 'stats': its evictions were not checked", name);
			continue;
		}
		if (after.evictions <= before.evictions)
			continue;
		evicting++;
		mcm_sender_counts(r->snd, i, &c);
		mcm_cli_warn(CMD, "'%s' evicted %" PRIu64 " items during the replay: it is too small for the data"
			     " (memory limit %" PRIu64 " MB, %" PRIu64 " MB of values sent to it); items the replay"
			     " wrote may be gone: give memcached more memory (-m)", name,
			     after.evictions - before.evictions, after.limit_maxbytes >> 20, c.bytes >> 20);
	}
	return evicting;
}

/* The summary line. @return the number of failed items. */
static uint64_t summary(struct replay *r, int quiet)
{
	uint64_t replayed = 0, present = 0, failed = r->unsendable, sent = 0;
	double secs = mcm_cli_now() - r->start;
	char unsent[48] = "";

	for (uint32_t i = 0; r->snd && i < r->t.count; i++) {
		struct mcm_sender_counts c;

		mcm_sender_counts(r->snd, i, &c);
		present += c.present;
		replayed += c.stored;
		failed += c.refused + c.unconfirmed;
		sent += c.sent;
	}
	if (quiet && failed == 0 && r->unsent == 0)
		return 0;
	if (r->unsent)
		snprintf(unsent, sizeof unsent, "; not sent %" PRIu64, r->unsent);
	mcm_cli_error(CMD, "replayed %" PRIu64 ", already present %" PRIu64 ", skipped expired %" PRIu64
		      ", failed %" PRIu64 " in %.2f s (%.0f items/s)%s",
		      replayed, present, r->expired, failed, secs, secs > 0 ? (double)sent / secs : 0.0, unsent);
	return failed;
}

static int dry_summary(struct replay *r)
{
	char name[300];

	for (uint32_t i = 0; i < r->t.count; i++) {
		if (r->only >= 0 && i != (uint32_t)r->only)
			continue;
		mcm_target_server_name(&r->t, i, name, sizeof name);
		mcm_cli_error(CMD, "dry run: would send %" PRIu64 " items to '%s'", r->planned[i], name);
	}
	mcm_cli_error(CMD, "dry run: would replay %" PRIu64 ", skipped expired %" PRIu64 ", cannot send %" PRIu64
		      " (%" PRIu64 " records read)", r->queued, r->expired, r->unsendable, r->scanned);
	return r->unsendable || mcm_cli_interrupted ? MCM_EXIT_FAIL : MCM_EXIT_OK;
}

static int outcome(struct replay *r, int walk_rc, int evicting)
{
	int broken = report_broken(r);
	uint64_t failed;

	mcm_progress_clear(&r->pg);
	if (walk_rc != 0 && !r->src) /* (the source's error was said) */
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", mcm_cli_mirror_path(r->g), mcm_strerror(walk_rc));
	if (mcm_cli_interrupted)
		mcm_cli_error(CMD, "interrupted by signal %d: the replay is incomplete", (int)mcm_cli_interrupted);
	failed = summary(r, r->g->quiet && !broken && !walk_rc && !mcm_cli_interrupted);
	return failed || broken || walk_rc || evicting || r->unsent || mcm_cli_interrupted ? MCM_EXIT_FAIL
											     : MCM_EXIT_OK;
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

/* -v: each server's connections, and why when they were chosen automatically. */
static void describe_connections(struct replay *r)
{
	struct mcm_server_stats before;
	size_t item_max;
	char name[300];

	for (uint32_t i = 0; r->g->verbose && i < r->t.count; i++) {
		unsigned n;

		if (r->only >= 0 && i != (uint32_t)r->only)
			continue;
		mcm_target_server_name(&r->t, i, name, sizeof name);
		mcm_sender_stats(r->snd, i, 0, &before, &item_max);
		n = mcm_sender_connections(r->snd, i);
		if (r->o->connections || !before.known)
			mcm_cli_error(CMD, "'%s': %u connection%s%s", name, n, n == 1 ? "" : "s",
				      r->o->connections ? "" : " (auto: its stats did not come in time)");
		else
			mcm_cli_error(CMD, "'%s': %u connection%s (auto: its hash table has 2^%" PRIu64 " buckets,"
				      " it holds %" PRIu64 " items, about %" PRIu64 " to come)", name, n, n == 1 ? "" : "s",
				      before.hash_power_level, before.curr_items, r->expected);
	}
}

/* The pool to replay, from the mirror or (--from) the store. @return 0, MCM_TARGET_NO_POOL or an exit code. */
static int pick_pool(struct replay *r, struct mcm_store *st)
{
	const mcm_pool_id *want = r->o->t.have_pool ? &r->o->t.pool : NULL;

	if (!r->src)
		return mcm_target_pick_pool(&r->t, st, CMD, want, &r->pool);
	return mcm_source_pick_pool(CMD, r->src_ops, r->src, &r->t, want, &r->pool);
}

/* Choose the pool and server, connect. @return 0 or an exit code. */
static int prepare(struct replay *r, struct mcm_store *st)
{
	int rc = pick_pool(r, st);

	if (rc == MCM_TARGET_NO_POOL) {
		if (r->src)
			mcm_cli_warn(CMD, "%s holds no pool: nothing was shipped into it, nothing to replay",
				     r->src_ops->describe(r->src));
		else
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
	r->planned = calloc(r->t.count, sizeof *r->planned);
	r->stopped = calloc(r->t.count, sizeof *r->stopped);
	if (!r->planned || !r->stopped) {
		mcm_cli_error(CMD, "out of memory");
		return MCM_EXIT_FAIL;
	}
	if (!r->o->dry_run) {
		uint64_t expected = r->expected;
		struct mcm_sender_opts so = {
			.cmd = CMD,
			.connections = r->o->connections,
			.expected_items = expected,
			.timeout_ms = r->o->t.timeout_ms,
			.only = r->only,
			.how = (r->o->set_mode ? 0 : MCM_META_ADD) | (r->g->verbose >= 2 ? MCM_META_KEY : 0),
		};

		if (mcm_sender_open(&r->snd, &r->t, &so, on_event, r) != 0)
			return MCM_EXIT_FAIL;
		describe_connections(r);
	}
	return 0;
}

/* --from: the same, from an external store. */
static int replay_source(struct replay *r)
{
	uint64_t rows = r->src_ops->rows(r->src);
	int rc;

	r->expected = (rows + r->t.count - 1) / r->t.count;
	if ((rc = prepare(r, NULL)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_progress_init(&r->pg, mcm_cli_progress_enabled(r->g), CMD, "items", rows);
	r->start = mcm_cli_now();
	rc = walk_source(r);
	mcm_progress_clear(&r->pg);
	if (r->o->dry_run)
		return rc ? outcome(r, rc, 0) : dry_summary(r);
	mcm_sender_finish(r->snd);
	return outcome(r, rc, mcm_cli_interrupted ? 0 : check_evictions(r));
}

static int replay(struct replay *r, struct mcm_store *st)
{
	struct mcm_prefetch pf;
	struct mcm_store_info info;
	int rc;

	if (!st)
		return replay_source(r);
	if (mcm_store_info(st, &info) != 0) {
		info.entries = 0;
		info.last_seq = 0;
	}
	r->expected = (info.entries + r->t.count - 1) / r->t.count; /* about one server's share (records of every kind) */
	if ((rc = prepare(r, st)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_progress_init(&r->pg, mcm_cli_progress_enabled(r->g), CMD, "items", info.entries);
	r->start = mcm_cli_now();
	mcm_prefetch_start(&pf, mcm_cli_mirror_path(r->g)); /* a cold mirror read in order, not page by page */
	rc = walk(r, st);
	mcm_prefetch_stop(&pf);
	if (r->o->dry_run) {
		mcm_progress_clear(&r->pg);
		return rc ? outcome(r, rc, 0) : dry_summary(r);
	}
	if (rc == 0 && !mcm_cli_interrupted) {
		mcm_progress_clear(&r->pg);
		rc = settle(r, st, info.last_seq);
	}
	mcm_sender_finish(r->snd);
	return outcome(r, rc, mcm_cli_interrupted ? 0 : check_evictions(r));
}

/* --json: the summary as one JSON line on stdout (docs/mcmirror.1, JSON OUTPUT);
 * the same counts as summary(). */
static void json_summary(const struct replay *r, int rc)
{
	uint64_t replayed = 0, present = 0, failed = r->unsendable;
	struct mcm_json j;

	for (uint32_t i = 0; r->snd && i < r->t.count; i++) {
		struct mcm_sender_counts c;

		mcm_sender_counts(r->snd, i, &c);
		present += c.present;
		replayed += c.stored;
		failed += c.refused + c.unconfirmed;
	}
	mcm_cli_summary_begin(&j, CMD, rc);
	mcm_json_str(&j, "servers", r->t.described.servers);
	if (r->src)
		mcm_json_str(&j, "from", r->src_ops->describe(r->src));
	mcm_json_bool(&j, "dry_run", r->o->dry_run);
	mcm_json_u64(&j, "replayed", r->o->dry_run ? 0 : replayed);
	mcm_json_u64(&j, "already_present", present);
	mcm_json_u64(&j, "skipped_expired", r->expired);
	mcm_json_u64(&j, "failed", failed);
	mcm_json_u64(&j, "not_sent", r->unsent);
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
	r.t.guard = o.t.guard;
	mcm_cli_signals();
	st = NULL;
	if (o.from && (rc = mcm_source_connect(CMD, o.from, o.t.timeout_ms, &r.src_ops, &r.src)) != 0) {
		if (g->json)
			json_summary(&r, rc);
		mcm_target_close(&r.t);
		return rc;
	}
	if (!o.from && !(st = mcm_cli_open_mirror(g, CMD))) {
		if (g->json)
			json_summary(&r, MCM_EXIT_FAIL);
		mcm_target_close(&r.t);
		return MCM_EXIT_FAIL;
	}
	if (!o.from)
		mcm_cli_warn_incomplete(g, CMD);
	rc = replay(&r, st);
	if (g->json)
		json_summary(&r, rc);
	mcm_sender_close(r.snd);
	free(r.planned);
	free(r.stopped);
	if (r.src)
		r.src_ops->close(r.src);
	mcm_store_close(st);
	mcm_target_close(&r.t);
	return rc;
}

const struct mcm_cmd mcm_cmd_replay = {"replay", run, "write the mirror back into memcached (pipelined)"};
