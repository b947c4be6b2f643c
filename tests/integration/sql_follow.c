/* sql_follow.c - test driver of the SQL sinks until `mcmirror follow` drives them: ship a mirror's
 * change stream into a database.
 *
 * usage: sql_follow MIRROR URL [--create] [--once] [--batch N] [--pool ID] [--retry] [--register]
 *   Opens the mirror, the sink that claims URL (sink.h), asks the sink for
 *   its position, streams the pool's changes after it (mcm_stream.h) and
 *   commits every N changes (default 5000) and whenever the stream is caught
 *   up. --once: exit 0 when caught up. Without --retry any error exits 1 with
 *   the sink's message; with --retry it reconnects with a backoff (a follower
 *   riding out a database restart). Prints "shipped N position P" at the end
 *   of --once. The follower is registered in the mirror (mcm_follower_put,
 *   name "sql"), so that the mirror keeps tombstones for it, and its
 *   position saved there after each commit. --register: only that (the
 *   mirror is created if missing), then exit: a test registers the follower
 *   before the application writes, as follow does before it ships.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_store.h"
#include "mcm_stream.h"
#include "mcmirror.h"
#include "sink.h"

/* The tool's message functions (cli.c), which the sinks use. */
static void message(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "mcmirror: %s: %s", cmd, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void mcm_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message(cmd, "", fmt, ap);
	va_end(ap);
}

void mcm_cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message(cmd, "warning: ", fmt, ap);
	va_end(ap);
}

static const struct mcm_sink_ops *find(const char *url)
{
#ifdef MCM_HAVE_PG
	if (mcm_sink_pg.claims(url))
		return &mcm_sink_pg;
#endif
#ifdef MCM_HAVE_MYSQL
	if (mcm_sink_mysql.claims(url))
		return &mcm_sink_mysql;
#endif
	return NULL;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

struct opts {
	const char *mirror, *url;
	int create, once, retry, have_pool, reg;
	unsigned long batch;
	mcm_pool_id pool;
};

/* Register the follower, or save its position. */
static void save_follower(struct mcm_store *st, const char *url, uint64_t position)
{
	struct mcm_follower f;
	uint64_t now = mcm_now_us();

	if (mcm_follower_get(st, "sql", &f) != 0) {
		memset(&f, 0, sizeof f);
		snprintf(f.name, sizeof f.name, "sql");
		f.registered_us = now;
	}
	f.position = position;
	f.contact_us = f.applied_us = now;
	snprintf(f.target, sizeof f.target, "%.200s", url);
	mcm_follower_put(st, &f);
}

/* One session: open the sink, stream from its position, until caught up (--once) or an error.
 * @return 0 done, -1 error (why set). */
static int session(const struct opts *o, const struct mcm_sink_ops *ops, struct mcm_store *st,
		   const struct mcm_pool *pool, const char *origin, uint64_t *shipped, char *why, size_t size)
{
	struct mcm_sink_opts so = {.cmd = "follow", .origin = origin, .pool = pool, .timeout_ms = 5000,
				   .create = o->create};
	struct mcm_sink *sink;
	struct mcm_stream *stream = NULL;
	struct mcm_change c;
	uint64_t pos;
	unsigned long pending = 0;
	int have, rc = -1;

	if (ops->open(&sink, o->url, &so, why, size) != 0)
		return -1;
	if (ops->position(sink, &pos, &have, why, size) != 0)
		goto out;
	if ((rc = mcm_stream_open(st, pool->id, have ? pos : 0, 0, 0, &stream)) != 0) {
		snprintf(why, size, "cannot stream: %s", mcm_strerror(rc));
		rc = -1;
		goto out;
	}
	rc = -1;
	for (;;) {
		int got = mcm_stream_next(stream, &c);

		if (got != 0 && got != MCM_END) {
			snprintf(why, size, "stream: %s", mcm_strerror(got));
			goto out;
		}
		if (got == 0) {
			if (ops->change(sink, &c, why, size) != 0)
				goto out;
			pending++;
			(*shipped)++;
		}
		if (pending && (got == MCM_END || pending >= o->batch)) {
			if (ops->commit(sink, mcm_stream_position(stream), why, size) != 0)
				goto out;
			save_follower(st, ops->describe(sink), mcm_stream_position(stream));
			pending = 0;
		}
		if (got == MCM_END) {
			if (o->once) {
				printf("shipped %" PRIu64 " position %" PRIu64 "\n", *shipped, mcm_stream_position(stream));
				rc = 0;
				goto out;
			}
			pause_ms(50);
		}
	}
out:
	mcm_stream_close(stream);
	ops->close(sink);
	return rc;
}

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch = 5000;
	if (argc < 3)
		return -1;
	o->mirror = argv[1];
	o->url = argv[2];
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--create") == 0)
			o->create = 1;
		else if (strcmp(argv[i], "--once") == 0)
			o->once = 1;
		else if (strcmp(argv[i], "--retry") == 0)
			o->retry = 1;
		else if (strcmp(argv[i], "--register") == 0)
			o->reg = 1;
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			o->batch = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
			o->pool = strtoull(argv[++i], NULL, 16);
			o->have_pool = 1;
		} else
			return -1;
	}
	return o->batch ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct mcm_sink_ops *ops;
	struct mcm_store *st;
	struct mcm_pool *pools = NULL;
	struct opts o;
	size_t npools;
	char origin[33], why[1024];
	uint64_t shipped = 0;
	long backoff = 100;
	int rc;

	if (parse(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: sql_follow MIRROR URL [--create] [--once] [--batch N] [--pool ID] [--retry]\n");
		return 2;
	}
	if (!(ops = find(o.url))) {
		mcm_cli_error("follow", "%s: no backend for this URL", o.url);
		return 1;
	}
	if (o.reg) {
		if ((rc = mcm_store_open(&st, o.mirror, MCM_STORE_CREATE, 0)) != 0) {
			mcm_cli_error("follow", "cannot open mirror '%s': %s", o.mirror, mcm_strerror(rc));
			return 1;
		}
		struct mcm_follower f;

		if (mcm_follower_get(st, "sql", &f) != 0)
			save_follower(st, "", 0);
		mcm_store_close(st);
		return 0;
	}
	for (int tries = 0;; tries++) { /* --retry: a mirror the shim is creating right now */
		if ((rc = mcm_store_open(&st, o.mirror, 0, 0)) != 0 ||
		    (rc = mcm_store_origin(st, origin)) != 0 || (rc = mcm_store_pools(st, &pools, &npools)) != 0) {
			mcm_cli_error("follow", "cannot open mirror '%s': %s", o.mirror, mcm_strerror(rc));
			return 1;
		}
		if (npools || !o.retry || tries == 100)
			break;
		free(pools);
		mcm_store_close(st);
		pause_ms(50);
	}
	size_t pick = 0;
	for (size_t i = 0; o.have_pool && i < npools; i++)
		if (pools[i].id == o.pool)
			pick = i;
	if (npools == 0 || (o.have_pool && pools[pick].id != o.pool) || (!o.have_pool && npools != 1)) {
		mcm_cli_error("follow", "mirror '%s' has %zu pools: name one with --pool", o.mirror, npools);
		return 1;
	}
	while ((rc = session(&o, ops, st, &pools[pick], origin, &shipped, why, sizeof why)) != 0) {
		mcm_cli_error("follow", "%s", why);
		if (!o.retry)
			break;
		pause_ms(backoff);
		backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
		o.create = 0;
	}
	free(pools);
	mcm_store_close(st);
	return rc == 0 ? 0 : 1;
}
