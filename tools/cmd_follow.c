/* cmd_follow.c - `mcmirror follow`: stream a pool's changes to a standby (or an external store), resumable.
 *
 * The follower has a name; the mirror keeps its position (mcm_follower):
 * every change up to it was confirmed by the target. Each round reads the
 * pool's changes after the position (store/mcm_stream.h), hands them to the
 * sink in a batch, commits (the target confirms), then saves the position:
 * a follower killed at any moment resumes without losing or reordering
 * anything (a change sent twice is harmless: the last change of a key is
 * its newest). Caught up, it sleeps until the drainer applies more
 * (mcm_journal_wait_applied: no polling). A target that cannot be reached is
 * retried with a growing pause, said once per outage. A target that lost
 * what it was given (a standby memcached restarted or flushed), a follower
 * behind the purge horizon, or a new follower: the target is resynchronised
 * (emptied, then sent every live record, then the stream goes on).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_stream.h"
#include "mcmirror.h"
#include "protect.h"
#include "sender.h"
#include "sqlbatch.h"
#include "sink.h"
#include "target.h"

#define CMD "follow"
#define BATCH_DEFAULT 8192
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CHECK_EVERY_S 1 /* while caught up: is the target still whole? */
#define MCM_EXIT_WAIT (-3) /* (internal: not there yet, try again) */
#define SAVE_IDLE_S 10     /* while caught up, the last contact is saved this often */
#define LAG_BUCKETS 60000  /* lags counted by the millisecond, up to a minute (the last bucket: more) */

struct follow_opts {
	const char *target;     /* --servers or --to */
	const char *name;
	int have_pool;
	mcm_pool_id pool;
	int once, create;
	long batch;
	int timeout_ms;
	unsigned connections;
	struct mcm_protect_opts protect; /* --tls*, --auth-file */
	const struct mcm_pipe_guard *guard;
};

struct follow {
	const struct mcm_global *g;
	const struct follow_opts *o;
	const char *dir;
	struct mcm_store *st;
	struct mcm_journal *j;   /* to wait for the drainer (NULL: no journal, poll) */
	struct mcm_pool pool;
	struct mcm_follower f;
	char origin[33];
	const struct mcm_sink_ops *ops;
	struct mcm_sink *sink;
	struct mcm_stream *stream;
	uint64_t applied;        /* changes committed by this run */
	uint64_t resyncs;
	int outage;              /* the target is unreachable (said once) */
	double outage_since;
	char name[MCM_FOLLOWER_NAME_MAX + 1];
	uint64_t started_us;     /* lags are kept for changes written after this */
	uint64_t *batch_wtime;   /* the write times of this batch's changes (o->batch of them) */
	size_t nbatch_wtime;
	uint32_t lag_ms[LAG_BUCKETS]; /* from the application's write to the target's confirmation */
	uint64_t lag_samples, lag_max_us;
	int is_new;              /* no record of this follower yet: a resync */
	uint64_t saved_us;       /* when the record was last saved */
	uint64_t horizon_seen;   /* the purge horizon when the last resync began */
	char error[400];         /* the last error, for the summary */
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] [-q | -v] follow (--servers STANDBY | --to URL) [options]\n"
		"\n"
		"Stream the mirror's changes of one pool to a standby memcached pool (or an\n"
		"external store) and keep it up to date, until stopped: every change the\n"
		"application makes reaches the standby, in order, as pipelined meta commands\n"
		"(live value: set with its remaining TTL and flags; deleted, dropped or\n"
		"expired: delete; flush_all: the same flush). Its position is saved in the\n"
		"mirror under --name after the standby confirmed it: a follower killed at any\n"
		"moment resumes there. A standby that restarted empty or was flushed, a new\n"
		"follower, or one left behind the mirror's purge horizon is resynchronised\n"
		"(emptied, then sent every live record, then followed again). Run it as the\n"
		"mirror's owner (it writes its position there).\n"
		"\n"
		"STANDBY is a server list as for replay ('host:port[,host:port...]', a bare\n"
		"host is port 11211, [::1]:11211, an entry with a '/' is a unix socket) or a\n"
		"libmemcached configuration string; keys go where the standby's clients look\n"
		"(the pool's recorded distribution and hashes, any server count).\n"
		"\n"
		"options:\n"
		"  -s, --servers STANDBY    the standby memcached pool\n"
		"      --to URL             an external store instead (postgresql://..., mysql://...)\n"
		"  -n, --name NAME          the follower's name (default: from the target);\n"
		"                           [A-Za-z0-9._@-], 1-64 characters\n"
		"  -p, --pool ID            the mirrored pool to follow, as 'mcmirror stats' prints\n"
		"                           it (or a unique prefix); needed when the mirror holds\n"
		"                           several\n"
		"      --once               apply what is pending, then exit (0 when all of it\n"
		"                           was confirmed)\n"
		"  -b, --batch N            changes per confirmed batch (default: %d)\n"
		"  -c, --connections N      connections per standby server (default: 1)\n"
		"  -t, --timeout SECONDS    connect, and give up on a server that moves nothing\n"
		"                           for this long (default: 5)\n"
		"      --create             an external store: create the schema when absent\n"
		MCM_PROTECT_HELP
		"  -h, --help               this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"SIGTERM or SIGINT: the batch in flight is finished and its position saved,\n"
		"then exit 0. An unreachable target is retried (pauses from 0.1 to 5 s),\n"
		"said once per outage. `mcmirror stats` shows every follower: position,\n"
		"changes and seconds behind, last contact, resyncs, errors.\n"
		"\n"
		"exit status: 0 stopped by a signal or --once done, 1 failure (the mirror, or\n"
		"--once could not apply everything), 2 usage error\n",
		BATCH_DEFAULT, mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

/* A follower name from the target: its characters that names allow. */
static void default_name(const char *target, char *name)
{
	size_t n = 0;

	for (const char *c = target; *c && n < MCM_FOLLOWER_NAME_MAX; c++) {
		char ch = *c;
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
			 ch == '_' || ch == '@' || ch == '-';

		if (ok)
			name[n++] = ch;
		else if (n > 0 && name[n - 1] != '-')
			name[n++] = '-';
	}
	while (n > 0 && name[n - 1] == '-')
		n--;
	if (n == 0)
		n = (size_t)snprintf(name, MCM_FOLLOWER_NAME_MAX + 1, "standby");
	name[n] = '\0';
}

static int parse_args(int argc, char **argv, const struct mcm_global *g, struct follow_opts *o)
{
	static const struct option opts[] = {
		{"servers", required_argument, NULL, 's'}, {"to", required_argument, NULL, 'T'},
		{"name", required_argument, NULL, 'n'},    {"pool", required_argument, NULL, 'p'},
		{"once", no_argument, NULL, 'O'},          {"batch", required_argument, NULL, 'b'},
		{"connections", required_argument, NULL, 'c'}, {"timeout", required_argument, NULL, 't'},
		{"create", no_argument, NULL, 'C'},        {"help", no_argument, NULL, 'h'},
		MCM_PROTECT_LONG_OPTIONS,                  {NULL, 0, NULL, 0},
	};
	int c;
	long long v;

	memset(o, 0, sizeof *o);
	o->batch = BATCH_DEFAULT;
	o->timeout_ms = 5000;
	o->connections = 1;
	while ((c = getopt_long(argc, argv, "+s:n:p:b:c:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'T':
			if (o->target)
				return mcm_cli_usage_error(CMD, "give one target: --servers or --to, once");
			o->target = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'p':
			if (mcm_cli_parse_pool(CMD, optarg, &o->pool) != 0)
				return MCM_EXIT_USAGE;
			o->have_pool = 1;
			break;
		case 'O':
			o->once = 1;
			break;
		case 'C':
			o->create = 1;
			break;
		case 'b':
			if ((v = mcm_cli_parse_count(optarg)) < 1 || v > 1000000)
				return mcm_cli_usage_error(CMD, "bad --batch '%s': want 1 to 1000000", optarg);
			o->batch = (long)v;
			break;
		case 'c':
			if ((v = mcm_cli_parse_count(optarg)) < 1 || v > MCM_SENDER_CONNECTIONS_MAX)
				return mcm_cli_usage_error(CMD, "bad --connections '%s': want 1 to %d", optarg,
							   MCM_SENDER_CONNECTIONS_MAX);
			o->connections = (unsigned)v;
			break;
		case 't':
			if ((v = mcm_cli_parse_count(optarg)) < 1 || v > 3600)
				return mcm_cli_usage_error(CMD, "bad --timeout '%s': want 1 to 3600 seconds", optarg);
			o->timeout_ms = (int)v * 1000;
			break;
		case 'h':
			usage(stdout, g);
			return mcm_cli_check_stdout(CMD) ? MCM_EXIT_FAIL : -1;
		default:
			if (mcm_protect_option(c, optarg, &o->protect) != 0)
				return MCM_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return mcm_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (!o->target)
		return mcm_cli_usage_error(CMD, "--servers STANDBY or --to URL is required");
	if (o->name && !mcm_follower_name_ok(o->name))
		return mcm_cli_usage_error(CMD, "bad --name '%s': want 1-64 of A-Z a-z 0-9 . _ @ -", o->name);
	return mcm_protect_load(CMD, &o->protect, &o->guard);
}

static void pause_ms(int ms);
static void fail(struct follow *fo, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct follow *fo, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fo->error, sizeof fo->error, fmt, ap);
	va_end(ap);
	mcm_cli_error(CMD, "%s", fo->error);
}

/* Save the follower (its position and counts) in the mirror. */
static int save(struct follow *fo)
{
	int rc = mcm_follower_put(fo->st, &fo->f);

	fo->saved_us = mcm_now_us();
	if (rc != 0)
		fail(fo, "cannot save the position of '%s' in mirror '%s': %s", fo->f.name, fo->dir, mcm_strerror(rc));
	return rc;
}

/* The pool to follow: --pool, or the only one. @return an MCM_EXIT_* code,
 * or MCM_EXIT_WAIT when the mirror holds no pool yet (said when say is set). */
static int pick_pool(struct follow *fo, int say)
{
	struct mcm_pool *pools;
	size_t n;
	int rc;

	if ((rc = mcm_cli_resolve_pool(fo->st, CMD)) != 0)
		return rc;
	if ((rc = mcm_store_pools(fo->st, &pools, &n)) != 0) {
		fail(fo, "cannot read mirror '%s': %s", fo->dir, mcm_strerror(rc));
		return MCM_EXIT_FAIL;
	}
	rc = MCM_EXIT_OK;
	if (fo->o->have_pool) {
		size_t i = 0;

		while (i < n && pools[i].id != fo->o->pool)
			i++;
		if (i == n) {
			fail(fo, "mirror '%s' holds no pool %016" PRIx64, fo->dir, fo->o->pool);
			rc = MCM_EXIT_FAIL;
		} else {
			fo->pool = pools[i];
		}
	} else if (n == 1) {
		fo->pool = pools[0];
	} else if (n == 0) {
		/* nothing written yet: the pool is not known, so nothing can be placed */
		if (fo->o->once)
			fail(fo, "mirror '%s' holds no pool yet: nothing to follow", fo->dir);
		else if (say)
			mcm_cli_error(CMD, "mirror '%s' holds no pool yet: waiting for the application's first write", fo->dir);
		rc = MCM_EXIT_WAIT;
	} else {
		mcm_cli_error(CMD, "mirror '%s' holds %zu pools: choose one with --pool:", fo->dir, n);
		for (size_t i = 0; i < n; i++)
			mcm_cli_error(CMD, "  %016" PRIx64 "  %s", pools[i].id, pools[i].servers);
		rc = MCM_EXIT_USAGE;
	}
	free(pools);
	return rc;
}

/* Connect the sink, or return -1 after saying so (once per outage). */
static int connect_sink(struct follow *fo)
{
	struct mcm_sink_opts so = {.cmd = CMD, .origin = fo->origin, .follower = fo->f.name, .pool = &fo->pool,
				   .timeout_ms = fo->o->timeout_ms, .create = fo->o->create,
				   .connections = fo->o->connections, .tls = fo->o->guard};
	char why[600];

	if (fo->ops->open(&fo->sink, fo->o->target, &so, why, sizeof why) == 0) {
		if (fo->outage)
			mcm_cli_error(CMD, "'%s' is back after %.1f s", fo->ops->describe(fo->sink),
				      mcm_cli_now() - fo->outage_since);
		fo->outage = 0;
		snprintf(fo->f.target, sizeof fo->f.target, "%s", fo->ops->describe(fo->sink));
		return 0;
	}
	fo->sink = NULL;
	fo->f.errors++;
	if (!fo->outage) {
		fail(fo, "%s%s", why, fo->o->once ? "" : "; retrying");
		fo->outage = 1;
		fo->outage_since = mcm_cli_now();
	}
	return -1;
}

/* Why the target must be resynchronised now ("" if it need not), or NULL
 * when it cannot be reached. */
static const char *resync_reason(struct follow *fo)
{
	uint64_t horizon = 0;
	int lost;

	if (fo->is_new)
		return "a new follower";
	if (mcm_store_purge_horizon(fo->st, &horizon) == 0 && horizon > fo->f.position && horizon > fo->horizon_seen)
		return "it fell behind what the mirror keeps for followers (MCMIRROR_TOMBSTONE_TTL)";
	if ((lost = fo->ops->lost(fo->sink)) < 0) {
		fail(fo, "'%s' cannot be reached%s", fo->ops->describe(fo->sink), fo->o->once ? "" : "; retrying");
		fo->f.errors++;
		return NULL;
	}
	return lost ? "the target lost what it was given (restarted or flushed)" : "";
}

/* Open the stream after the saved (or the target's own) position; a
 * resynchronisation when reason is not "". @return 0, -1 (target error)
 * or -2 (mirror error). */
static int open_stream(struct follow *fo, const char *reason)
{
	int rc;

	mcm_stream_close(fo->stream);
	fo->stream = NULL;
	if (*reason) {
		if (!fo->g->quiet)
			mcm_cli_error(CMD, "resynchronising '%s': %s", fo->ops->describe(fo->sink), reason);
		fo->f.resyncs++;
		fo->resyncs++;
		fo->is_new = 0;
		mcm_store_purge_horizon(fo->st, &fo->horizon_seen); /* what is gone now is in the resync */
		/* Saved before the resync's flush reaches the target: a follower killed during the resync
		 * resumes from 0 (every key's state, into a copy that may hold a part of them), never from
		 * the old position into an emptied copy (the sink may mark the copy right after a flush). */
		fo->f.position = 0;
		fo->f.flush_time = 0;
		if (save(fo) != 0)
			return -2;
	}
	rc = mcm_stream_open(fo->st, fo->pool.id, fo->f.position, fo->f.flush_time, *reason ? MCM_STREAM_RESYNC : 0,
			     &fo->stream);
	if (rc != 0) {
		fail(fo, "cannot read mirror '%s': %s", fo->dir, mcm_strerror(rc));
		return -2;
	}
	return 0;
}

/* A new connection: the target's own position, if it keeps one, then the stream. */
static int start(struct follow *fo)
{
	uint64_t pos;
	int have = 0;
	char why[600];
	const char *reason;

	if (fo->ops->position(fo->sink, &pos, &have, why, sizeof why) != 0) {
		fail(fo, "%s", why);
		return -1;
	}
	if (have) { /* a target that keeps its position itself is right about it */
		fo->f.position = pos;
		fo->is_new = 0;
	}
	if (!(reason = resync_reason(fo)))
		return -1;
	return open_stream(fo, reason);
}

/* One batch: up to o->batch changes, committed and saved. @return 1 when the
 * stream is caught up, 0 when more is waiting, -1 on a target error
 * (reconnect), -2 on a mirror error (give up). */
static int one_batch(struct follow *fo)
{
	struct mcm_change c;
	char why[600];
	long n = 0;
	int rc = 0;

	fo->nbatch_wtime = 0;
	while (n < fo->o->batch && !mcm_cli_interrupted && (rc = mcm_stream_next(fo->stream, &c)) == 0) {
		if (fo->ops->change(fo->sink, &c, why, sizeof why) != 0) {
			fail(fo, "%s", why);
			fo->f.errors++;
			return -1;
		}
		if ((c.kind == MCM_CHANGE_SET || c.kind == MCM_CHANGE_DELETE) && c.item.wtime_us >= fo->started_us &&
		    fo->batch_wtime)
			fo->batch_wtime[fo->nbatch_wtime++] = c.item.wtime_us;
		if (c.damaged)
			mcm_cli_warn(CMD, "pool %016" PRIx64 ", seq %" PRIu64 ", key '%s': a damaged record: deleted on "
				     "the target, never sent", c.item.pool, c.seq, mcm_cli_shown(c.item.key, c.item.key_len, 240));
		n++;
	}
	if (rc != 0 && rc != MCM_END) {
		fail(fo, "cannot read mirror '%s': %s", fo->dir, mcm_strerror(rc));
		return -2;
	}
	if (n > 0 || mcm_stream_position(fo->stream) != fo->f.position) {
		uint64_t now = mcm_now_us();

		if (fo->ops->commit(fo->sink, mcm_stream_position(fo->stream), why, sizeof why) != 0) {
			fail(fo, "%s", why);
			fo->f.errors++;
			return -1;
		}
		for (size_t i = 0; i < fo->nbatch_wtime; i++) { /* confirmed now: how long since the application wrote */
			uint64_t lag = now > fo->batch_wtime[i] ? now - fo->batch_wtime[i] : 0;

			fo->lag_ms[lag / 1000 < LAG_BUCKETS ? lag / 1000 : LAG_BUCKETS - 1]++;
			fo->lag_samples++;
			fo->lag_max_us = lag > fo->lag_max_us ? lag : fo->lag_max_us;
		}
		fo->applied += (uint64_t)n;
		fo->f.position = mcm_stream_position(fo->stream);
		fo->f.flush_time = mcm_stream_flush_time(fo->stream);
		fo->f.contact_us = fo->f.applied_us = now;
		if (save(fo) != 0)
			return -2;
	}
	return rc == MCM_END;
}

/* Caught up: sleep until the drainer applies more (at most a second). */
static void wait_for_changes(struct follow *fo, uint32_t seen)
{
	struct timespec ts = {0, 100 * 1000000L};

	if (fo->j)
		mcm_journal_wait_applied(fo->j, seen, 1000);
	else
		nanosleep(&ts, NULL);
}

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Follow until stopped (or, --once, until caught up). */
static int follow_loop(struct follow *fo)
{
	int backoff = BACKOFF_MIN_MS;
	double checked = 0;

	while (!mcm_cli_interrupted) {
		uint32_t seen;
		int rc;

		if (!fo->sink) {
			if (connect_sink(fo) != 0) {
				if (fo->o->once)
					return MCM_EXIT_FAIL;
				pause_ms(backoff);
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			if ((rc = start(fo)) == -2)
				return MCM_EXIT_FAIL;
			if (rc != 0)
				goto reconnect;
			checked = mcm_cli_now();
		}
		seen = fo->j ? mcm_journal_applied(fo->j) : 0;
		if ((rc = one_batch(fo)) == -2)
			return MCM_EXIT_FAIL;
		if (rc < 0)
			goto reconnect;
		backoff = BACKOFF_MIN_MS;
		if (rc == 0)
			continue; /* more is waiting */
		if (fo->o->once)
			return MCM_EXIT_OK;
		if (mcm_cli_now() - checked >= CHECK_EVERY_S) { /* caught up: is the target still whole? */
			const char *reason = resync_reason(fo);

			checked = mcm_cli_now();
			if (!reason)
				goto reconnect;
			fo->f.contact_us = mcm_now_us();
			if (fo->f.contact_us - fo->saved_us >= SAVE_IDLE_S * 1000000ull && save(fo) != 0)
				return MCM_EXIT_FAIL; /* (stats shows the last contact) */
			if (*reason) {
				if (open_stream(fo, reason) == -2)
					return MCM_EXIT_FAIL;
				continue;
			}
		}
		wait_for_changes(fo, seen);
		continue;
reconnect:
		fo->ops->close(fo->sink);
		fo->sink = NULL;
		mcm_stream_close(fo->stream);
		fo->stream = NULL;
		if (save(fo) != 0) /* (the error count) */
			return MCM_EXIT_FAIL;
		if (fo->o->once)
			return MCM_EXIT_FAIL;
		fo->outage = 1;
		fo->outage_since = mcm_cli_now();
		pause_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return MCM_EXIT_OK;
}

/* The lag below which a share q of the samples fell, in milliseconds (the upper edge of its bucket). */
static double lag_quantile(const struct follow *fo, double q)
{
	uint64_t want = (uint64_t)(q * (double)fo->lag_samples + 0.999999), seen = 0;

	for (size_t i = 0; i < LAG_BUCKETS; i++)
		if ((seen += fo->lag_ms[i]) >= want && want)
			return (double)(i + 1);
	return 0;
}

static void json_summary(const struct follow *fo, int rc)
{
	struct mcm_json j;

	mcm_cli_summary_begin(&j, CMD, rc);
	mcm_json_str(&j, "name", fo->f.name);
	mcm_json_str(&j, "target", fo->f.target);
	mcm_json_u64(&j, "applied", fo->applied);
	mcm_json_u64(&j, "position", fo->f.position);
	mcm_json_u64(&j, "resyncs", fo->resyncs);
	mcm_json_u64(&j, "errors", fo->f.errors);
	mcm_json_u64(&j, "lag_samples", fo->lag_samples);
	mcm_json_double(&j, "lag_p50_ms", lag_quantile(fo, 0.5), 0);
	mcm_json_double(&j, "lag_p99_ms", lag_quantile(fo, 0.99), 0);
	mcm_json_double(&j, "lag_max_ms", (double)fo->lag_max_us / 1000, 1);
	mcm_json_finish(&j);
}

/* The mirror, open for writing (the follower's position lives there).
 * @return MCM_EXIT_OK, MCM_EXIT_FAIL, or MCM_EXIT_WAIT: it does not exist
 * yet (said when say is set). */
static int open_mirror(struct follow *fo, int say)
{
	struct mcm_cli_ids ids;
	int rc;

	if (mcm_cli_become_owner(CMD, fo->dir, &ids) != 0)
		return MCM_EXIT_FAIL;
	rc = mcm_drain_catch_up(fo->dir, 5000); /* writes still in the journal first */
	/* its commits are not fsync'd: a position lost to a power cut makes the
	 * follower send again what its target already holds (the current values,
	 * harmless), and the drainer's next sync takes them to disk anyway */
	if (rc == 0 || rc == ENOENT)
		rc = mcm_store_open(&fo->st, fo->dir, MCM_STORE_NOSYNC, 0);
	mcm_cli_ids_free(&ids);
	if (rc == ENOENT && !fo->o->once) {
		if (say)
			mcm_cli_error(CMD, "no mirror at '%s' yet: waiting for the application's first write", fo->dir);
		return MCM_EXIT_WAIT;
	}
	if (rc != 0) {
		fail(fo, "cannot open mirror '%s': %s", fo->dir, mcm_strerror(rc));
		return MCM_EXIT_FAIL;
	}
	if (mcm_journal_open(&fo->j, fo->dir, 0, 0) != 0)
		fo->j = NULL; /* no journal (yet): poll */
	if ((rc = mcm_store_origin(fo->st, fo->origin)) != 0) {
		fail(fo, "cannot read mirror '%s': %s", fo->dir, mcm_strerror(rc));
		return MCM_EXIT_FAIL;
	}
	return MCM_EXIT_OK;
}

/* The mirror and its pool. Without --once, a mirror that does not exist yet,
 * or holds no pool yet (the application has not written), is waited for:
 * follow may start before the application does. */
static int wait_for_mirror(struct follow *fo)
{
	int said = 0, rc;

	for (;;) {
		rc = open_mirror(fo, !fo->o->once && !said);
		if (rc == MCM_EXIT_OK) {
			rc = pick_pool(fo, !fo->o->once && !said);
			if (rc != MCM_EXIT_OK) {
				mcm_journal_close(fo->j);
				fo->j = NULL;
				mcm_store_close(fo->st);
				fo->st = NULL;
			}
		}
		if (rc != MCM_EXIT_WAIT)
			return rc;
		if (fo->o->once)
			return MCM_EXIT_FAIL;
		said = 1;
		if (mcm_cli_interrupted)
			return MCM_EXIT_OK;
		pause_ms(1000);
	}
}

/* The follower's record, or a new one. */
static int load_follower(struct follow *fo)
{
	int rc = mcm_follower_get(fo->st, fo->name, &fo->f);

	if (rc == MCM_ENOTFOUND || rc == MCM_EDAMAGED) {
		if (rc == MCM_EDAMAGED)
			mcm_cli_warn(CMD, "the record of follower '%s' is damaged: starting it over", fo->name);
		memset(&fo->f, 0, sizeof fo->f);
		snprintf(fo->f.name, sizeof fo->f.name, "%s", fo->name);
		fo->f.registered_us = mcm_now_us();
		fo->is_new = 1;
		return save(fo) == 0 ? MCM_EXIT_OK : MCM_EXIT_FAIL; /* registered: the sweep keeps what it needs */
	}
	if (rc != 0) {
		fail(fo, "cannot read follower '%s' of mirror '%s': %s", fo->name, fo->dir, mcm_strerror(rc));
		return MCM_EXIT_FAIL;
	}
	return MCM_EXIT_OK;
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	static struct follow fo; /* (its lag histogram: 240 kB) */
	struct follow_opts o;
	char shown[1024];
	int rc;

	if ((rc = parse_args(argc, argv, g, &o)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	memset(&fo, 0, sizeof fo);
	fo.g = g;
	fo.o = &o;
	fo.started_us = mcm_now_us();
	fo.batch_wtime = malloc((size_t)o.batch * sizeof *fo.batch_wtime); /* (without it: no lag figures) */
	fo.dir = mcm_cli_mirror_path(g);
	mcm_sql_redact(o.target, shown, sizeof shown); /* (never a password in a message or a name) */
	if (!(fo.ops = mcm_sink_find(o.target)))
		return mcm_cli_usage_error(CMD, "'%s': not a target this build knows (a server list, or a URL of "
					   "postgresql:// or mysql://)", shown);
	if (o.name)
		snprintf(fo.name, sizeof fo.name, "%s", o.name);
	else
		default_name(shown, fo.name);
	mcm_cli_signals();
	if ((rc = wait_for_mirror(&fo)) == MCM_EXIT_OK && (rc = load_follower(&fo)) == MCM_EXIT_OK)
		rc = follow_loop(&fo);
	if (fo.sink)
		fo.ops->close(fo.sink);
	mcm_stream_close(fo.stream);
	if (g->json)
		json_summary(&fo, rc);
	if (!g->quiet && rc == MCM_EXIT_OK)
		mcm_cli_error(CMD, "'%s': %" PRIu64 " changes applied, position %" PRIu64 "%s", fo.f.target, fo.applied,
			      fo.f.position, mcm_cli_interrupted ? " (stopped by a signal)" : "");
	if (g->verbose && fo.lag_samples)
		mcm_cli_error(CMD, "from the application's write to the target's confirmation, %" PRIu64 " changes: p50 "
			      "%.0f ms, p99 %.0f ms, max %.1f ms", fo.lag_samples, lag_quantile(&fo, 0.5),
			      lag_quantile(&fo, 0.99), (double)fo.lag_max_us / 1000);
	free(fo.batch_wtime);
	mcm_journal_close(fo.j);
	mcm_store_close(fo.st);
	return rc;
}

const struct mcm_cmd mcm_cmd_follow = {"follow", run, "stream the mirror's changes to a standby, resumable"};
