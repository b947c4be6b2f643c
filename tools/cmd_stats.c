/* cmd_stats.c - `mcmirror stats`: what the mirror holds, one "name: value" per line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dumpfmt.h"
#include "mcm_counters.h"
#include "mcm_store.h"
#include "mcmirror.h"

#define CMD "stats"

/* What one pool's records add up to. */
struct pool_stats {
	struct mcm_pool pool;
	int known;                         /* a pool record exists */
	uint64_t count[MCM_DUMP_NSTATUS];  /* records by status */
	uint64_t live_bytes;
	uint64_t oldest_us, newest_us;     /* live writes; 0 = none */
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] stats [--pool ID]\n"
		"\n"
		"Print what the mirror holds: the environment, the shim's counters and,\n"
		"per pool of servers, how many records are live, deleted, dropped, expired\n"
		"or flushed. Read-only; safe while applications keep writing.\n"
		"\n"
		"options:\n"
		"  -p, --pool ID  only this pool (its id as printed: up to 16 hex digits)\n"
		"  -h, --help     this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"output: one 'name: value' line each, in this order (blank lines between groups);\n"
		"times are ISO 8601 UTC, sizes are bytes, pool ids 16 lower-case hex digits:\n"
		"  mirror.path, mirror.format_version, mirror.created, mirror.map_size,\n"
		"  mirror.used_bytes, mirror.entries (records of every kind), mirror.last_seq,\n"
		"  mirror.pools\n"
		"  counters.<name> for each shim counter (recorded, dropped_uncertain, failed,\n"
		"    skipped_encrypted, passed_through, map_grown, lost_drops, out_of_step), or a\n"
		"    line 'counters: none (no process has written yet)'\n"
		"  pool.<ID>.servers, .distribution, .key_hash, .dist_hash (libmemcached names),\n"
		"    .hash_with_namespace (yes/no), .created,\n"
		"    .live_items, .live_value_bytes   records memcached still holds\n"
		"    .deleted                         keys the application deleted\n"
		"    .dropped                         keys whose last write had an uncertain outcome\n"
		"    .expired                         values whose expiry time has passed\n"
		"    .flushed                         values a flush_all removed (and not expired)\n"
		"    .oldest_live_write, .newest_live_write   (or 'none')\n"
		"    .flush_seq (records up to this sequence number were flushed, or 'none'),\n"
		"    .flush_time (a delayed flush_all takes effect then, or 'none'),\n"
		"    .encrypted (no, or yes: the pool's values are not mirrored)\n"
		"  total.live_items, total.live_value_bytes, total.deleted, total.dropped,\n"
		"    total.expired, total.flushed over the pools printed\n"
		"\n"
		"exit status: 0 success, 1 failure (no mirror, unreadable), 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

static void print_time_us(const char *name, uint64_t us)
{
	char buf[32];

	if (us == 0) {
		printf("%s: none\n", name);
		return;
	}
	mcm_dumpfmt_time((int64_t)(us / 1000000u), buf);
	printf("%s: %s\n", name, buf);
}

static int print_environment(struct mcm_store *st, const char *path, size_t npools)
{
	struct mcm_store_info info;
	int rc = mcm_store_info(st, &info);

	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", path, mcm_strerror(rc));
		return -1;
	}
	printf("mirror.path: %s\n", path);
	printf("mirror.format_version: %" PRIu32 "\n", info.format_version);
	print_time_us("mirror.created", info.created_us);
	printf("mirror.map_size: %zu\n", info.map_size);
	printf("mirror.used_bytes: %zu\n", info.used_bytes);
	printf("mirror.entries: %" PRIu64 "\n", info.entries);
	printf("mirror.last_seq: %" PRIu64 "\n", info.last_seq);
	printf("mirror.pools: %zu\n", npools);
	return 0;
}

static void print_counters(const char *path)
{
	struct mcm_counters *c;
	int rc = mcm_counters_open(&c, path, 0);

	printf("\n");
	if (rc == ENOENT) {
		printf("counters: none (no process has written yet)\n");
		return;
	}
	if (rc != 0) {
		printf("counters: unreadable (%s)\n", mcm_strerror(rc));
		mcm_cli_warn(CMD, "cannot read the counters in '%s': %s", path, mcm_strerror(rc));
		return;
	}
	for (int i = 0; i < MCM_CTR_COUNT; i++)
		printf("counters.%s: %" PRIu64 "\n", mcm_counter_names[i],
		       mcm_counters_get(c, (enum mcm_counter)i));
	mcm_counters_close(c);
}

/* The stats slot of pool id, appended (as a pool without a record) when new. */
static struct pool_stats *slot_of(struct pool_stats **arr, size_t *n, mcm_pool_id id)
{
	struct pool_stats *p;

	for (size_t i = 0; i < *n; i++)
		if ((*arr)[i].pool.id == id)
			return &(*arr)[i];
	if (!(p = realloc(*arr, (*n + 1) * sizeof *p)))
		return NULL;
	*arr = p;
	p += (*n)++;
	memset(p, 0, sizeof *p);
	p->pool.id = id;
	return p;
}

static void count_item(struct pool_stats *ps, const struct mcm_item *item, int64_t now)
{
	enum mcm_dump_status s = mcm_dumpfmt_status(item, ps->known ? &ps->pool : NULL, now);

	ps->count[s]++;
	if (s != MCM_DUMP_LIVE)
		return;
	ps->live_bytes += item->value_len;
	if (ps->oldest_us == 0 || item->wtime_us < ps->oldest_us)
		ps->oldest_us = item->wtime_us;
	if (item->wtime_us > ps->newest_us)
		ps->newest_us = item->wtime_us;
}

/* One pass over every record in key order. only: the --pool filter (or NULL). */
static int scan(struct mcm_store *st, struct pool_stats **arr, size_t *n, const mcm_pool_id *only)
{
	int64_t now = (int64_t)time(NULL);
	struct mcm_iter *it;
	struct mcm_item item;
	struct pool_stats *ps = NULL;
	int rc = mcm_iter_open(st, MCM_ORDER_KEY, 0, &it);

	while (rc == 0 && (rc = mcm_iter_next(it, &item)) == 0) {
		if (mcm_cli_interrupted)
			break;
		if (only && item.pool != *only)
			continue;
		if ((!ps || ps->pool.id != item.pool) && !(ps = slot_of(arr, n, item.pool)))
			rc = ENOMEM;
		else
			count_item(ps, &item, now);
	}
	mcm_iter_close(it);
	if (mcm_cli_interrupted)
		return EINTR;
	return rc == MCM_END ? 0 : rc;
}

static void print_named(const char *id, const char *field, const char *name, uint32_t v)
{
	if (name)
		printf("pool.%s.%s: %s\n", id, field, name);
	else
		printf("pool.%s.%s: unknown (%" PRIu32 ")\n", id, field, v);
}

static void print_pool_config(const struct pool_stats *ps, const char *id)
{
	const struct mcm_pool *p = &ps->pool;
	char name[64];

	if (!ps->known) {
		printf("pool.%s.servers: unknown (records without a pool record)\n", id);
		return;
	}
	printf("pool.%s.servers: %s\n", id, p->servers);
	print_named(id, "distribution", mcm_dumpfmt_distribution_name(p->distribution), p->distribution);
	print_named(id, "key_hash", mcm_dumpfmt_hash_name(p->key_hash), p->key_hash);
	print_named(id, "dist_hash", mcm_dumpfmt_hash_name(p->dist_hash), p->dist_hash);
	printf("pool.%s.hash_with_namespace: %s\n", id, p->hash_with_namespace ? "yes" : "no");
	snprintf(name, sizeof name, "pool.%s.created", id);
	print_time_us(name, p->created_us);
}

static void print_pool_markers(const struct pool_stats *ps, const char *id)
{
	const struct mcm_pool *p = &ps->pool;
	char buf[32];

	if (p->flush_seq)
		printf("pool.%s.flush_seq: %" PRIu64 "\n", id, p->flush_seq);
	else
		printf("pool.%s.flush_seq: none\n", id);
	mcm_dumpfmt_time(p->flush_time, buf);
	printf("pool.%s.flush_time: %s\n", id, p->flush_time ? buf : "none");
	if (p->encrypted)
		printf("pool.%s.encrypted: yes (values are encrypted with memcached_set_encoding_key;"
		       " this pool is not mirrored)\n", id);
	else
		printf("pool.%s.encrypted: no\n", id);
}

static void print_pool(const struct pool_stats *ps)
{
	char id[17], name[64];

	mcm_dumpfmt_pool_id(ps->pool.id, id);
	printf("\n");
	print_pool_config(ps, id);
	printf("pool.%s.live_items: %" PRIu64 "\n", id, ps->count[MCM_DUMP_LIVE]);
	printf("pool.%s.live_value_bytes: %" PRIu64 "\n", id, ps->live_bytes);
	printf("pool.%s.deleted: %" PRIu64 "\n", id, ps->count[MCM_DUMP_DELETED]);
	printf("pool.%s.dropped: %" PRIu64 "\n", id, ps->count[MCM_DUMP_DROPPED]);
	printf("pool.%s.expired: %" PRIu64 "\n", id, ps->count[MCM_DUMP_EXPIRED]);
	printf("pool.%s.flushed: %" PRIu64 "\n", id, ps->count[MCM_DUMP_FLUSHED]);
	snprintf(name, sizeof name, "pool.%s.oldest_live_write", id);
	print_time_us(name, ps->oldest_us);
	snprintf(name, sizeof name, "pool.%s.newest_live_write", id);
	print_time_us(name, ps->newest_us);
	print_pool_markers(ps, id);
}

static void print_totals(const struct pool_stats *arr, size_t n)
{
	uint64_t count[MCM_DUMP_NSTATUS] = {0}, bytes = 0;

	for (size_t i = 0; i < n; i++) {
		for (int s = 0; s < MCM_DUMP_NSTATUS; s++)
			count[s] += arr[i].count[s];
		bytes += arr[i].live_bytes;
	}
	printf("\ntotal.live_items: %" PRIu64 "\n", count[MCM_DUMP_LIVE]);
	printf("total.live_value_bytes: %" PRIu64 "\n", bytes);
	printf("total.deleted: %" PRIu64 "\n", count[MCM_DUMP_DELETED]);
	printf("total.dropped: %" PRIu64 "\n", count[MCM_DUMP_DROPPED]);
	printf("total.expired: %" PRIu64 "\n", count[MCM_DUMP_EXPIRED]);
	printf("total.flushed: %" PRIu64 "\n", count[MCM_DUMP_FLUSHED]);
}

/* Slots for the pool records (only the --pool one when given). */
static int load_pools(struct mcm_store *st, const char *path, const mcm_pool_id *only,
		      struct pool_stats **arr, size_t *n, size_t *total)
{
	struct mcm_pool *pools;
	int rc = mcm_store_pools(st, &pools, total);

	*arr = NULL;
	*n = 0;
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read the pools of mirror '%s': %s", path, mcm_strerror(rc));
		return -1;
	}
	if (!(*arr = calloc(*total ? *total : 1, sizeof **arr))) {
		free(pools);
		mcm_cli_error(CMD, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < *total; i++) {
		if (only && pools[i].id != *only)
			continue;
		(*arr)[*n].pool = pools[i];
		(*arr)[(*n)++].known = 1;
	}
	free(pools);
	return 0;
}

static int parse_args(int argc, char **argv, const struct mcm_global *g, mcm_pool_id *pool, int *have_pool)
{
	static const struct option opts[] = {
		{"pool", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (mcm_cli_parse_pool(CMD, optarg, pool) != 0)
				return MCM_EXIT_USAGE;
			*have_pool = 1;
			break;
		case 'h':
			usage(stdout, g);
			return -1;
		default:
			return mcm_cli_usage_error(CMD, "unknown option");
		}
	}
	if (optind < argc)
		return mcm_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	return 0;
}

static int report(struct mcm_store *st, const char *path, const mcm_pool_id *only)
{
	struct pool_stats *arr;
	size_t n, total;
	int rc;

	if (load_pools(st, path, only, &arr, &n, &total) != 0)
		return MCM_EXIT_FAIL;
	if (only && n == 0) {
		char id[17];
		mcm_dumpfmt_pool_id(*only, id);
		mcm_cli_error(CMD, "no pool '%s' in mirror '%s'", id, path);
		free(arr);
		return MCM_EXIT_FAIL;
	}
	if ((rc = scan(st, &arr, &n, only)) != 0) {
		if (rc == EINTR)
			mcm_cli_error(CMD, "interrupted");
		else
			mcm_cli_error(CMD, "cannot read mirror '%s': %s", path, mcm_strerror(rc));
		free(arr);
		return MCM_EXIT_FAIL;
	}
	if (print_environment(st, path, total) == 0) {
		print_counters(path);
		for (size_t i = 0; i < n; i++)
			print_pool(&arr[i]);
		print_totals(arr, n);
		rc = 0;
	} else {
		rc = -1;
	}
	free(arr);
	return rc == 0 ? MCM_EXIT_OK : MCM_EXIT_FAIL;
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	const char *path = mcm_cli_mirror_path(g);
	struct mcm_store *st;
	mcm_pool_id pool = 0;
	int have_pool = 0, rc;

	if ((rc = parse_args(argc, argv, g, &pool, &have_pool)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_cli_signals();
	if (!(st = mcm_cli_open_mirror(g, CMD)))
		return MCM_EXIT_FAIL;
	rc = report(st, path, have_pool ? &pool : NULL);
	mcm_store_close(st);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		mcm_cli_error(CMD, "cannot write to stdout: %s", strerror(errno));
		return MCM_EXIT_FAIL;
	}
	return rc;
}

const struct mcm_cmd mcm_cmd_stats = {"stats", run, "what the mirror holds: counts per pool, counters, sizes"};
