/* bound_tool.c - the bounded-mirror tests' view of a mirror through the store API.
 *
 * usage: bound_tool bytes DIR          "RECORD_BYTES FILE_BYTES ENTRIES SEQ_ENTRIES" (meta "bytes", data.mdb)
 *        bound_tool sweep DIR          the sweep's counters: "cycles stale expired tombstones flushed evicted bytes"
 *        bound_tool live DIR           "LIVE_ITEMS LIVE_BYTES": live records and their bytes (key + record)
 *        bound_tool check DIR MAIN STATEDIR NPROCS [capped]
 *            applies what the journal still holds (as the mcmirror tool does before it reads: the
 *            writers' exit waits only 200 ms for a drainer, and on a loaded machine the journal
 *            may still hold a second of their writes), then checks
 *            the user keys of bound_churn's state files against the mirror and the server MAIN:
 *            a live key holds its exact value on the server and in the mirror, a deleted one
 *            is absent from both. With "capped", a live key may be missing from the mirror (evicted),
 *            but only if it was written before every key kept (0.5 s of slack for the order of
 *            processes); prints "live L deleted D evicted E".
 *        bound_tool count DIR          opens the mirror read-only (no journal catch-up): "ENTRIES"
 *        bound_tool hold DIR           opens it read-only, prints "ready", and waits to be killed
 *        bound_tool fill DIR SERVERS N TTL   N sets of 100 bytes through the store API, key:<i>
 *        bound_tool expire DIR         sweeps with the drainer's policy until a pass is complete
 *        bound_tool follower DIR NAME POS    registers follower NAME at position POS
 *        bound_tool behind DIR NAME    exit 0 and "behind H P" when the purge horizon H is above
 *                                      NAME's position P (it must resynchronise), else exit 1 "ok H P"
 * Exit 0 when the check holds, 1 with a message when not, 2 on usage errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

#include "mcm_drain.h"
#include "mcm_pool.h"
#include "mcm_record.h"
#include "mcm_store.h"

#define SLACK_US 500000u

static struct mcm_store *open_or_die(const char *dir, unsigned flags)
{
	struct mcm_store *st;
	int rc = mcm_store_open(&st, dir, flags, 0);

	if (rc != 0) {
		fprintf(stderr, "bound_tool: cannot open '%s': %s\n", dir, mcm_strerror(rc));
		exit(1);
	}
	return st;
}

static int cmd_bytes(const char *dir)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_RDONLY);
	struct mcm_sweep_counts c;
	struct mcm_store_info info;
	char path[4096];
	struct stat sb;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (mcm_store_sweep_counts(st, &c) != 0 || mcm_store_info(st, &info) != 0 || stat(path, &sb) != 0)
		return 1;
	printf("%llu %llu %llu %llu %llu\n", (unsigned long long)c.bytes, (unsigned long long)sb.st_size,
	       (unsigned long long)info.entries, (unsigned long long)info.seq_entries,
	       (unsigned long long)info.last_seq);
	mcm_store_close(st);
	return 0;
}

static int cmd_sweep(const char *dir)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_RDONLY);
	struct mcm_sweep_counts c;

	if (mcm_store_sweep_counts(st, &c) != 0)
		return 1;
	printf("%llu %llu %llu %llu %llu %llu %llu\n", (unsigned long long)c.cycles, (unsigned long long)c.stale,
	       (unsigned long long)c.expired, (unsigned long long)c.tombstones, (unsigned long long)c.flushed,
	       (unsigned long long)c.evicted, (unsigned long long)c.bytes);
	mcm_store_close(st);
	return 0;
}

/* The pool record of item (NULL when unknown). */
static const struct mcm_pool *pool_of(const struct mcm_pool *pools, size_t n, mcm_pool_id id)
{
	for (size_t i = 0; i < n; i++)
		if (pools[i].id == id)
			return &pools[i];
	return NULL;
}

static int cmd_live(const char *dir)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_RDONLY);
	struct mcm_pool *pools = NULL;
	struct mcm_iter *it;
	struct mcm_item item;
	size_t npools = 0;
	unsigned long long live = 0, bytes = 0;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (mcm_store_pools(st, &pools, &npools) != 0 || mcm_iter_open(st, MCM_ORDER_KEY, 0, &it) != 0)
		return 1;
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		if (!mcm_item_is_live(&item, pool_of(pools, npools, item.pool), now))
			continue;
		live++;
		bytes += 8 + item.key_len + mcm_item_size(&item);
	}
	mcm_iter_close(it);
	free(pools);
	mcm_store_close(st);
	if (rc != MCM_END) {
		fprintf(stderr, "bound_tool: reading '%s': %s\n", dir, mcm_strerror(rc));
		return 1;
	}
	printf("%llu %llu\n", live, bytes);
	return 0;
}

struct check {
	struct mcm_store *st;
	struct mcm_pool pool;
	memcached_st *mc;
	int capped;
	unsigned long live, deleted, evicted, bad;
	uint64_t newest_evicted, oldest_kept;
	char newest_evicted_key[64], oldest_kept_key[64];
};

static void bad(struct check *c, const char *key, const char *what)
{
	if (c->bad++ < 10)
		fprintf(stderr, "bound_tool: check: '%s': %s\n", key, what);
}

/* One line of a state file. */
static void check_line(struct check *c, const char *key, const char *state, uint64_t wtime, const char *value)
{
	int64_t now = (int64_t)time(NULL);
	struct mcm_item item;
	memcached_return_t rc;
	size_t len = 0;
	uint32_t flags;
	char *got = memcached_get(c->mc, key, strlen(key), &len, &flags, &rc);
	int in_mirror = mcm_store_get(c->st, c->pool.id, key, strlen(key), &item) == 0 &&
			mcm_item_is_live(&item, &c->pool, now);

	if (strcmp(state, "deleted") == 0) {
		c->deleted++;
		if (got)
			bad(c, key, "deleted, but the server holds it");
		if (in_mirror)
			bad(c, key, "deleted, but live in the mirror");
		free(got);
		return;
	}
	c->live++;
	if (!got || len != strlen(value) || memcmp(got, value, len) != 0)
		bad(c, key, "the server does not hold the value last written (evicted by memcached?)");
	free(got);
	if (!in_mirror) {
		if (!c->capped) {
			bad(c, key, "live on the server, missing from the mirror");
			return;
		}
		c->evicted++;
		if (wtime > c->newest_evicted) {
			c->newest_evicted = wtime;
			snprintf(c->newest_evicted_key, sizeof c->newest_evicted_key, "%s", key);
		}
		return;
	}
	if (item.value_len != strlen(value) || memcmp(item.value, value, item.value_len) != 0)
		bad(c, key, "the mirror holds another value");
	if (!c->oldest_kept || wtime < c->oldest_kept) {
		c->oldest_kept = wtime;
		snprintf(c->oldest_kept_key, sizeof c->oldest_kept_key, "%s", key);
	}
}

static int cmd_check(const char *dir, const char *servers, const char *statedir, int nprocs, int capped)
{
	struct check c = {.capped = capped};
	memcached_server_st *list;
	char path[4096], line[1024];
	int rc;

	if ((rc = mcm_drain_catch_up(dir, 5000)) != 0) {
		fprintf(stderr, "bound_tool: check: cannot apply the journal of '%s': %s\n", dir, mcm_strerror(rc));
		return 1;
	}
	list = memcached_servers_parse(servers);
	c.st = open_or_die(dir, MCM_STORE_RDONLY);
	snprintf(c.pool.servers, sizeof c.pool.servers, "%s", servers);
	c.pool.id = mcm_pool_id_of(servers, strlen(servers));
	if (mcm_store_pool(c.st, c.pool.id, &c.pool) != 0) {
		fprintf(stderr, "bound_tool: check: the mirror has no pool '%s'\n", servers);
		return 1;
	}
	c.mc = memcached_create(NULL);
	memcached_server_push(c.mc, list);
	memcached_server_list_free(list);
	for (int p = 0; p < nprocs; p++) {
		FILE *f;

		snprintf(path, sizeof path, "%s/state.%d", statedir, p);
		if (!(f = fopen(path, "r"))) {
			fprintf(stderr, "bound_tool: check: cannot read '%s': %s\n", path, strerror(errno));
			return 1;
		}
		while (fgets(line, sizeof line, f)) {
			char key[64], state[16], value[512];
			unsigned long long wtime;

			if (sscanf(line, "%63s %15s %llu %511s", key, state, &wtime, value) != 4) {
				fprintf(stderr, "bound_tool: check: bad line in '%s': %s", path, line);
				return 1;
			}
			check_line(&c, key, state, wtime, value);
		}
		fclose(f);
	}
	if (c.evicted && c.oldest_kept && c.newest_evicted > c.oldest_kept + SLACK_US) {
		fprintf(stderr, "bound_tool: check: '%s' was evicted though written %.3f s after '%s', which was kept\n",
			c.newest_evicted_key, (double)(c.newest_evicted - c.oldest_kept) / 1e6, c.oldest_kept_key);
		c.bad++;
	}
	memcached_free(c.mc);
	mcm_store_close(c.st);
	printf("live %lu deleted %lu evicted %lu", c.live, c.deleted, c.evicted);
	if (c.evicted && c.oldest_kept)
		printf(" newest_evicted-oldest_kept %.3f s", ((double)c.newest_evicted - (double)c.oldest_kept) / 1e6);
	printf("\n");
	return c.bad ? 1 : 0;
}

static int cmd_count(const char *dir)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_RDONLY);
	struct mcm_store_info info;

	if (mcm_store_info(st, &info) != 0)
		return 1;
	printf("%llu\n", (unsigned long long)info.entries);
	mcm_store_close(st);
	return 0;
}

static int cmd_hold(const char *dir)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_RDONLY);
	struct mcm_store_info info;

	if (mcm_store_info(st, &info) != 0) /* a read transaction: a reader slot */
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_fill(const char *dir, const char *servers, long n, long ttl)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC);
	struct mcm_mutation m[1000];
	struct mcm_pool pool;
	char keys[1000][32], value[100];

	memset(&pool, 0, sizeof pool);
	snprintf(pool.servers, sizeof pool.servers, "%s", servers);
	pool.id = mcm_pool_id_of(servers, strlen(servers));
	memset(value, 'v', sizeof value);
	for (long i = 0; i < n;) {
		size_t b = 0;

		for (; b < 1000 && i < n; b++, i++) {
			memset(&m[b], 0, sizeof m[b]);
			m[b].op = MCM_OP_PUT;
			m[b].pool = &pool;
			m[b].key = keys[b];
			m[b].key_len = (size_t)snprintf(keys[b], sizeof keys[b], "key:%08ld", i);
			m[b].value = value;
			m[b].value_len = sizeof value;
			m[b].exptime = ttl ? (int64_t)time(NULL) + ttl : 0;
		}
		if (mcm_store_apply(st, m, b) != 0)
			return 1;
	}
	mcm_store_close(st);
	return 0;
}

static int cmd_expire(const char *dir)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_NOSYNC);
	struct mcm_sweep_policy p = {.enabled = 1, .tombstone_ttl_s = MCM_TOMBSTONE_TTL_DEFAULT,
				     .tombstone_min_s = MCM_SWEEP_MIN_AGE};
	struct mcm_sweep_counts c;
	uint64_t start;

	mcm_store_set_sweep(st, &p);
	if (mcm_store_sweep_counts(st, &c) != 0)
		return 1;
	start = c.cycles;
	do {
		if (mcm_store_sweep(st, 65536) != 0 || mcm_store_sweep_counts(st, &c) != 0)
			return 1;
	} while (c.cycles < start + 2);
	mcm_store_close(st);
	return 0;
}

static int cmd_follower(const char *dir, const char *name, unsigned long long pos)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC);
	struct mcm_follower f;

	memset(&f, 0, sizeof f);
	snprintf(f.name, sizeof f.name, "%s", name);
	f.position = pos;
	f.registered_us = mcm_now_us();
	if (mcm_follower_put(st, &f) != 0)
		return 1;
	mcm_store_close(st);
	return 0;
}

static int cmd_behind(const char *dir, const char *name)
{
	struct mcm_store *st = open_or_die(dir, MCM_STORE_RDONLY);
	struct mcm_follower f;
	uint64_t h;

	if (mcm_follower_get(st, name, &f) != 0 || mcm_store_purge_horizon(st, &h) != 0) {
		fprintf(stderr, "bound_tool: no follower '%s'\n", name);
		return 2;
	}
	mcm_store_close(st);
	printf("%s %llu %llu\n", h > f.position ? "behind" : "ok", (unsigned long long)h,
	       (unsigned long long)f.position);
	return h > f.position ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : "";

	if (strcmp(cmd, "bytes") == 0)
		return cmd_bytes(argv[2]);
	if (strcmp(cmd, "sweep") == 0)
		return cmd_sweep(argv[2]);
	if (strcmp(cmd, "live") == 0)
		return cmd_live(argv[2]);
	if (strcmp(cmd, "check") == 0 && argc >= 6)
		return cmd_check(argv[2], argv[3], argv[4], atoi(argv[5]), argc > 6 && strcmp(argv[6], "capped") == 0);
	if (strcmp(cmd, "count") == 0)
		return cmd_count(argv[2]);
	if (strcmp(cmd, "hold") == 0)
		return cmd_hold(argv[2]);
	if (strcmp(cmd, "fill") == 0 && argc == 6)
		return cmd_fill(argv[2], argv[3], atol(argv[4]), atol(argv[5]));
	if (strcmp(cmd, "expire") == 0)
		return cmd_expire(argv[2]);
	if (strcmp(cmd, "follower") == 0 && argc == 5)
		return cmd_follower(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if (strcmp(cmd, "behind") == 0 && argc == 4)
		return cmd_behind(argv[2], argv[3]);
	fprintf(stderr, "usage: bound_tool bytes|sweep|live|count|hold|expire DIR | check DIR MAIN STATEDIR NPROCS [capped]"
			" | fill DIR SERVERS N TTL | follower DIR NAME POS | behind DIR NAME\n");
	return 2;
}
