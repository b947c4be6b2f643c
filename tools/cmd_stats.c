/* cmd_stats.c - `mcmirror stats`: what the mirror holds, as "name: value" lines, JSON or Prometheus metrics. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcm_journal.h"
#include "stats.h"

#define CMD "stats"

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_PROMETHEUS };

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] stats [--pool ID] [--capacity]\n"
		"                                      [--json | --prometheus | --format FMT]\n"
		"\n"
		"Print what the mirror holds: the environment, the shim's counters, the\n"
		"journal and, per pool of servers, how many records are live, deleted,\n"
		"dropped, expired or flushed, and the memcached hash table size that holds\n"
		"the live items. Read-only; safe while applications keep writing.\n"
		"\n"
		"options:\n"
		"  -p, --pool ID      only this pool (its id as printed, or a unique prefix)\n"
		"      --capacity     also ask each pool's servers for their memory (stats,\n"
		"                     limit_maxbytes) and warn when the pool's live data is\n"
		"                     more than they can keep (cap it: MCMIRROR_MAX_BYTES)\n"
		"      --json         one JSON document (schema: man mcmirror, JSON OUTPUT)\n"
		"      --prometheus   Prometheus metrics in the text exposition format, for\n"
		"                     node_exporter's textfile collector\n"
		"      --format FMT   text (default), json or prometheus\n"
		"  -h, --help         this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"text output: one 'name: value' line each, in this order (blank lines between\n"
		"groups); times are ISO 8601 UTC, sizes are bytes, pool ids 16 lower-case hex:\n"
		"  mirror.path, mirror.format_version, mirror.created, mirror.map_size,\n"
		"  mirror.used_bytes, mirror.entries (records of every kind),\n"
		"  mirror.index_entries (of the index by change number: one per record, and those\n"
		"    superseded that the drainer's next rebuild of it removes), mirror.last_seq,\n"
		"  mirror.pools, mirror.lock_table (yes, or no and why)\n"
		"  mirror.record_bytes (keys and values of every record: what MCMIRROR_MAX_BYTES\n"
		"    caps), mirror.file_bytes (data.mdb), mirror.purge_horizon (followers below\n"
		"    it resynchronise; 0: none), sweep.cycles, sweep.stale, sweep.expired,\n"
		"    sweep.tombstones, sweep.flushed, sweep.evicted (what the drainer's sweep\n"
		"    removed, by reason)\n"
		"  counters.<name> for each shim counter (recorded, dropped_uncertain, failed,\n"
		"    skipped_encrypted, passed_through, map_grown, lost_drops, out_of_step); 0\n"
		"    when no process has written yet\n"
		"  journal.size_bytes, journal.used_bytes (not yet reusable),\n"
		"    journal.unapplied_bytes (not yet in LMDB), journal.lost_records; 0 when\n"
		"    the mirror has no journal (a snapshot)\n"
		"  pool.<ID>.servers, .server_count, .distribution, .key_hash, .dist_hash\n"
		"    (libmemcached names), .hash_with_namespace (yes/no), .created,\n"
		"    .live_items, .live_value_bytes   records memcached still holds\n"
		"    .deleted                         keys the application deleted\n"
		"    .dropped                         keys whose last write had an uncertain outcome\n"
		"    .expired                         values whose expiry time has passed\n"
		"    .flushed                         values a flush_all removed (and not expired)\n"
		"    .oldest_live_write, .newest_live_write   (or 'none')\n"
		"    .flush_seq (records up to this sequence number were flushed, or 'none'),\n"
		"    .flush_time (a delayed flush_all takes effect then, or 'none'),\n"
		"    .encrypted (no, or yes: the pool's values are not mirrored),\n"
		"    .sasl (no, or yes: its clients authenticate, so replay needs credentials),\n"
		"    .items_per_server (live items / servers, rounded up),\n"
		"    .hashpower (start memcached with -o hashpower=N: the smallest N >= 16\n"
		"      with items_per_server <= 1.5 x 2^N, so its hash table never grows\n"
		"      while a replay fills it)\n"
		"    .servers_limit_bytes, .over_capacity (yes/no): with --capacity\n"
		"  follower.<NAME>.target, .position, .changes_behind (sequence numbers handed\n"
		"    out after its position), .seconds_behind (age of the oldest change it has\n"
		"    not applied), .registered, .last_contact, .last_applied, .resyncs,\n"
		"    .errors, .must_resync (behind the purge horizon): one group per follower\n"
		"    (mcmirror follow)\n"
		"  total.live_items, total.live_value_bytes, total.deleted, total.dropped,\n"
		"    total.expired, total.flushed over the pools printed\n"
		"\n"
		"exit status: 0 success, 1 failure (no mirror, unreadable; with --capacity, a\n"
		"pool's servers that do not answer: the rest is printed), 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

unsigned mcm_stats_hashpower(uint64_t items)
{
	unsigned n = MCM_HASHPOWER_DEFAULT;

	/* memcached (assoc.c) expands once hash_items > (2^hashpower * 3) / 2 */
	while (n < MCM_HASHPOWER_MAX && items > ((uint64_t)1 << n) * 3 / 2)
		n++;
	return n;
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

/* --- gathering ----------------------------------------------------------- */

static void read_counters(struct stats *s)
{
	struct mcm_counters *c;

	memset(s->counters, 0, sizeof s->counters);
	if ((s->counters_state = mcm_counters_open(&c, s->path, 0)) != 0) {
		if (s->counters_state != ENOENT)
			mcm_cli_warn(CMD, "cannot read the counters in '%s': %s (shown as 0)", s->path,
				     mcm_strerror(s->counters_state));
		return;
	}
	for (int i = 0; i < MCM_CTR_COUNT; i++)
		s->counters[i] = mcm_counters_get(c, (enum mcm_counter)i);
	mcm_counters_close(c);
}

/* The journal's header, read as a file (no map, no repair: stats writes nothing). */
static void read_journal(struct stats *s)
{
	char path[PATH_MAX + 16];
	struct mcm_jheader h;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/journal", s->path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		s->journal_state = errno;
	} else {
		n = pread(fd, &h, sizeof h, 0);
		s->journal_state = n == (ssize_t)sizeof h && h.magic == MCM_JOURNAL_MAGIC ? 0 : n < 0 ? errno : MCM_EFORMAT;
		close(fd);
	}
	if (s->journal_state == 0 && h.tail >= h.head && h.head >= h.reclaim && h.tail - h.reclaim <= h.size) {
		s->journal_size = h.size;
		s->journal_used = h.tail - h.reclaim;
		s->journal_unapplied = h.tail - h.head;
		s->journal_lost = h.lost;
	} else if (s->journal_state == 0) {
		s->journal_state = MCM_EFORMAT; /* positions caught moving, or damaged */
	}
	/* a journal of another layout was named when the mirror was opened (its writes could not be applied) */
	if (s->journal_state != 0 && s->journal_state != ENOENT && s->journal_state != MCM_EFORMAT)
		mcm_cli_warn(CMD, "cannot read the journal '%s': %s (shown as 0)", path, mcm_strerror(s->journal_state));
}

/* The stats slot of pool id, appended (as a pool without a record) when new. */
static struct pool_stats *slot_of(struct stats *s, mcm_pool_id id)
{
	struct pool_stats *p;

	for (size_t i = 0; i < s->npools; i++)
		if (s->pools[i].pool.id == id)
			return &s->pools[i];
	if (!(p = realloc(s->pools, (s->npools + 1) * sizeof *p)))
		return NULL;
	s->pools = p;
	p += s->npools++;
	memset(p, 0, sizeof *p);
	p->pool.id = id;
	return p;
}

static void count_item(struct pool_stats *ps, const struct mcm_item *item, int64_t now)
{
	enum mcm_dump_status st = mcm_dumpfmt_status(item, ps->known ? &ps->pool : NULL, now);

	ps->count[st]++;
	if (st != MCM_DUMP_LIVE)
		return;
	ps->live_bytes += item->value_len;
	if (ps->oldest_us == 0 || item->wtime_us < ps->oldest_us)
		ps->oldest_us = item->wtime_us;
	if (item->wtime_us > ps->newest_us)
		ps->newest_us = item->wtime_us;
}

/* One pass over every record in key order. only: the --pool filter (or NULL). */
static int scan(struct mcm_store *st, struct stats *s, const mcm_pool_id *only)
{
	struct mcm_iter *it;
	struct mcm_item item;
	struct pool_stats *ps = NULL;
	int rc = mcm_iter_open(st, MCM_ORDER_KEY, 0, &it);

	while (rc == 0 && ((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED)) {
		if (mcm_cli_interrupted)
			break;
		if (only && item.pool != *only) {
			rc = 0;
			continue;
		}
		if (rc == MCM_EDAMAGED) {
			mcm_cli_damaged(CMD, &item);
			s->damaged++;
			rc = 0;
			continue;
		}
		if ((!ps || ps->pool.id != item.pool) && !(ps = slot_of(s, item.pool)))
			rc = ENOMEM;
		else
			count_item(ps, &item, s->now);
	}
	mcm_iter_close(it);
	if (mcm_cli_interrupted)
		return EINTR;
	return rc == MCM_END ? 0 : rc;
}

/* Slots for the pool records (only the --pool one when given). */
static int load_pools(struct mcm_store *st, struct stats *s, const mcm_pool_id *only)
{
	struct mcm_pool *pools;
	int rc = mcm_store_pools(st, &pools, &s->all_pools);

	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read the pools of mirror '%s': %s", s->path, mcm_strerror(rc));
		return -1;
	}
	if (!(s->pools = calloc(s->all_pools ? s->all_pools : 1, sizeof *s->pools))) {
		free(pools);
		mcm_cli_error(CMD, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < s->all_pools; i++) {
		if (only && pools[i].id != *only)
			continue;
		s->pools[s->npools].pool = pools[i];
		s->pools[s->npools++].known = 1;
	}
	free(pools);
	return 0;
}

/* Servers of a canonical list ("a:1,b:2,/sock"). */
static uint32_t count_servers(const char *list)
{
	uint32_t n = *list ? 1 : 0;

	for (const char *p = list; *p; p++)
		n += *p == ',';
	return n;
}

/* Per pool: the servers, the items each holds, the hashpower; the totals. */
static void derive(struct stats *s)
{
	for (size_t i = 0; i < s->npools; i++) {
		struct pool_stats *ps = &s->pools[i];

		for (int k = 0; k < MCM_DUMP_NSTATUS; k++)
			s->total[k] += ps->count[k];
		s->total_bytes += ps->live_bytes;
		if (!ps->known || !(ps->servers = count_servers(ps->pool.servers)))
			continue;
		ps->items_per_server = (ps->count[MCM_DUMP_LIVE] + ps->servers - 1) / ps->servers;
		ps->hashpower = mcm_stats_hashpower(ps->items_per_server);
	}
}

/* The followers, and how far behind each is: the changes handed out after its
 * position, and the age of the oldest of them. */
static int read_followers(struct mcm_store *st, struct stats *s)
{
	struct mcm_follower *list;
	size_t n;
	int rc = mcm_follower_list(st, &list, &n);

	if (rc == 0)
		rc = mcm_store_purge_horizon(st, &s->purge_horizon);
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read the followers of mirror '%s': %s", s->path, mcm_strerror(rc));
		return -1;
	}
	if (n && !(s->followers = calloc(n, sizeof *s->followers))) {
		free(list);
		mcm_cli_error(CMD, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct follower_stats *fs = &s->followers[i];
		struct mcm_iter *it;
		struct mcm_item item;

		fs->f = list[i];
		fs->changes_behind = s->info.last_seq > fs->f.position ? s->info.last_seq - fs->f.position : 0;
		fs->must_resync = s->purge_horizon > fs->f.position;
		if (fs->changes_behind && mcm_iter_open(st, MCM_ORDER_SEQ, fs->f.position + 1, &it) == 0) {
			int got;

			while ((got = mcm_iter_next(it, &item)) == MCM_EDAMAGED)
				;
			if (got == 0)
				fs->seconds_behind = (double)s->now - (double)item.wtime_us / 1e6;
			if (fs->seconds_behind < 0)
				fs->seconds_behind = 0;
			mcm_iter_close(it);
		}
	}
	s->nfollowers = n;
	free(list);
	return 0;
}

static int gather(struct mcm_store *st, struct stats *s, const mcm_pool_id *only)
{
	int rc;

	s->now = (int64_t)time(NULL);
	s->unlocked = mcm_store_unlocked(st);
	if (load_pools(st, s, only) != 0)
		return -1;
	if (only && s->npools == 0) {
		char id[17];
		mcm_dumpfmt_pool_id(*only, id);
		mcm_cli_error(CMD, "no pool '%s' in mirror '%s'", id, s->path);
		return -1;
	}
	if ((rc = scan(st, s, only)) != 0 || (rc = mcm_store_info(st, &s->info)) != 0) {
		if (rc == EINTR)
			mcm_cli_error(CMD, "interrupted");
		else
			mcm_cli_error(CMD, "cannot read mirror '%s': %s", s->path, mcm_strerror(rc));
		return -1;
	}
	if ((rc = mcm_sweepinfo_read(st, s->path, &s->bounded)) != 0) {
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", s->path, mcm_strerror(rc));
		return -1;
	}
	read_counters(s);
	read_journal(s);
	derive(s);
	return read_followers(st, s);
}

/* stats --capacity: each known pool's servers' memory, and a warning for a pool whose live data
 * is more than they can keep. @return 0, or -1 when a pool's servers could not tell (named). */
static int check_capacity(struct stats *s)
{
	char err[512], id[17];
	int rc = 0;

	for (size_t i = 0; i < s->npools; i++) {
		struct pool_stats *ps = &s->pools[i];

		if (!ps->known)
			continue;
		mcm_dumpfmt_pool_id(ps->pool.id, id);
		if (mcm_sweepinfo_server_limit(ps->pool.servers, &ps->limit_bytes, err, sizeof err) != 0) {
			mcm_cli_error(CMD, "capacity of pool '%s': %s", id, err);
			ps->limit_state = -1;
			rc = -1;
			continue;
		}
		ps->limit_state = 1;
		ps->over_capacity = mcm_sweepinfo_over_capacity(ps->live_bytes, ps->count[MCM_DUMP_LIVE], ps->limit_bytes);
		if (ps->over_capacity)
			mcm_cli_warn(CMD,
				     "pool '%s' holds more than its servers can keep (%" PRIu64 " live items, %" PRIu64
				     " bytes of values; limit_maxbytes %" PRIu64 "): a replay makes them evict; cap the "
				     "mirror (MCMIRROR_MAX_BYTES) or give memcached more memory (-m)",
				     id, ps->count[MCM_DUMP_LIVE], ps->live_bytes, ps->limit_bytes);
	}
	return rc;
}

/* --- text ---------------------------------------------------------------- */

static void print_environment(const struct stats *s)
{
	printf("mirror.path: %s\n", s->path);
	printf("mirror.format_version: %" PRIu32 "\n", s->info.format_version);
	print_time_us("mirror.created", s->info.created_us);
	printf("mirror.map_size: %zu\n", s->info.map_size);
	printf("mirror.used_bytes: %zu\n", s->info.used_bytes);
	printf("mirror.entries: %" PRIu64 "\n", s->info.entries);
	printf("mirror.index_entries: %" PRIu64 "\n", s->info.seq_entries);
	printf("mirror.last_seq: %" PRIu64 "\n", s->info.last_seq);
	printf("mirror.pools: %zu\n", s->all_pools);
	printf("mirror.lock_table: %s%s%s\n", s->unlocked ? "no (" : "yes", s->unlocked ? s->unlocked : "",
	       s->unlocked ? ")" : "");
	printf("\n");
	for (int i = 0; i < MCM_CTR_COUNT; i++)
		printf("counters.%s: %" PRIu64 "\n", mcm_counter_names[i], s->counters[i]);
	printf("\njournal.size_bytes: %" PRIu64 "\n", s->journal_size);
	printf("journal.used_bytes: %" PRIu64 "\n", s->journal_used);
	printf("journal.unapplied_bytes: %" PRIu64 "\n", s->journal_unapplied);
	printf("journal.lost_records: %" PRIu64 "\n", s->journal_lost);
	printf("\n");
	mcm_sweepinfo_print_text(stdout, &s->bounded);
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
	printf("pool.%s.server_count: %" PRIu32 "\n", id, ps->servers);
	print_named(id, "distribution", mcm_dumpfmt_distribution_name(p->distribution), p->distribution);
	print_named(id, "key_hash", mcm_dumpfmt_hash_name(p->key_hash), p->key_hash);
	print_named(id, "dist_hash", mcm_dumpfmt_hash_name(p->dist_hash), p->dist_hash);
	printf("pool.%s.hash_with_namespace: %s\n", id, p->hash_with_namespace ? "yes" : "no");
	printf("pool.%s.sasl: %s\n", id, p->sasl ? "yes (its clients authenticate: replay needs credentials)" : "no");
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
	if (ps->servers) {
		printf("pool.%s.items_per_server: %" PRIu64 "\n", id, ps->items_per_server);
		printf("pool.%s.hashpower: %u\n", id, ps->hashpower);
	}
	if (ps->limit_state == 1) {
		printf("pool.%s.servers_limit_bytes: %" PRIu64 "\n", id, ps->limit_bytes);
		printf("pool.%s.over_capacity: %s\n", id, ps->over_capacity ? "yes" : "no");
	}
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

static void print_followers(const struct stats *s)
{
	char name[MCM_FOLLOWER_NAME_MAX + 64];

	for (size_t i = 0; i < s->nfollowers; i++) {
		const struct follower_stats *fs = &s->followers[i];
		const char *n = fs->f.name;

		printf("\nfollower.%s.target: %s\n", n, fs->f.target[0] ? fs->f.target : "none");
		printf("follower.%s.position: %" PRIu64 "\n", n, fs->f.position);
		printf("follower.%s.changes_behind: %" PRIu64 "\n", n, fs->changes_behind);
		printf("follower.%s.seconds_behind: %.1f\n", n, fs->seconds_behind);
		snprintf(name, sizeof name, "follower.%s.registered", n);
		print_time_us(name, fs->f.registered_us);
		snprintf(name, sizeof name, "follower.%s.last_contact", n);
		print_time_us(name, fs->f.contact_us);
		snprintf(name, sizeof name, "follower.%s.last_applied", n);
		print_time_us(name, fs->f.applied_us);
		printf("follower.%s.resyncs: %" PRIu64 "\n", n, fs->f.resyncs);
		printf("follower.%s.errors: %" PRIu64 "\n", n, fs->f.errors);
		printf("follower.%s.must_resync: %s\n", n, fs->must_resync ? "yes (behind the purge horizon)" : "no");
	}
}

static void print_text(const struct stats *s)
{
	print_environment(s);
	for (size_t i = 0; i < s->npools; i++)
		print_pool(&s->pools[i]);
	print_followers(s);
	printf("\ntotal.live_items: %" PRIu64 "\n", s->total[MCM_DUMP_LIVE]);
	printf("total.live_value_bytes: %" PRIu64 "\n", s->total_bytes);
	printf("total.deleted: %" PRIu64 "\n", s->total[MCM_DUMP_DELETED]);
	printf("total.dropped: %" PRIu64 "\n", s->total[MCM_DUMP_DROPPED]);
	printf("total.expired: %" PRIu64 "\n", s->total[MCM_DUMP_EXPIRED]);
	printf("total.flushed: %" PRIu64 "\n", s->total[MCM_DUMP_FLUSHED]);
}

/* --- the command --------------------------------------------------------- */

struct stats_opts {
	mcm_pool_id pool;
	int have_pool;
	int format_set;
	int capacity;
	enum format format;
};

static int set_format(struct stats_opts *o, enum format f)
{
	if (o->format_set && o->format != f)
		return mcm_cli_usage_error(CMD, "give one output format (--json, --prometheus or --format)");
	o->format = f;
	o->format_set = 1;
	return 0;
}

static int parse_format(struct stats_opts *o, const char *arg)
{
	if (strcmp(arg, "text") == 0)
		return set_format(o, FORMAT_TEXT);
	if (strcmp(arg, "json") == 0)
		return set_format(o, FORMAT_JSON);
	if (strcmp(arg, "prometheus") == 0)
		return set_format(o, FORMAT_PROMETHEUS);
	return mcm_cli_usage_error(CMD, "bad --format '%s': want text, json or prometheus", arg);
}

static int parse_args(int argc, char **argv, const struct mcm_global *g, struct stats_opts *o)
{
	static const struct option opts[] = {
		{"pool", required_argument, NULL, 'p'},      {"prometheus", no_argument, NULL, 'P'},
		{"format", required_argument, NULL, 'F'},    {"help", no_argument, NULL, 'h'},
		{"capacity", no_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (mcm_cli_parse_pool(CMD, optarg, &o->pool) != 0)
				return MCM_EXIT_USAGE;
			o->have_pool = 1;
			break;
		case 'P':
			if ((rc = set_format(o, FORMAT_PROMETHEUS)) != 0)
				return rc;
			break;
		case 'F':
			if ((rc = parse_format(o, optarg)) != 0)
				return rc;
			break;
		case 'C':
			o->capacity = 1;
			break;
		default: /* 'h' */
			usage(stdout, g);
			return -1;
		}
	}
	if (optind < argc)
		return mcm_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (g->json && (rc = set_format(o, FORMAT_JSON)) != 0)
		return rc;
	return 0;
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	struct stats_opts o = {0};
	struct stats s;
	struct mcm_store *st;
	int rc;

	if ((rc = parse_args(argc, argv, g, &o)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_cli_signals();
	memset(&s, 0, sizeof s);
	s.path = mcm_cli_mirror_path(g);
	if (!(st = mcm_cli_open_mirror(g, CMD)))
		return MCM_EXIT_FAIL;
	rc = gather(st, &s, o.have_pool ? &o.pool : NULL);
	if (rc == 0 && o.capacity && check_capacity(&s) != 0)
		rc = 1; /* printed all the same: the failure is named and the status says it */
	if (rc >= 0 && o.format == FORMAT_JSON)
		mcm_stats_json(&s, stdout);
	else if (rc >= 0 && o.format == FORMAT_PROMETHEUS)
		mcm_stats_prometheus(&s, stdout);
	else if (rc >= 0)
		print_text(&s);
	mcm_store_close(st);
	free(s.pools);
	free(s.followers);
	if (rc < 0)
		return MCM_EXIT_FAIL;
	if (mcm_cli_check_stdout(CMD) != MCM_EXIT_OK)
		return MCM_EXIT_FAIL;
	return rc == 0 ? MCM_EXIT_OK : MCM_EXIT_FAIL;
}

const struct mcm_cmd mcm_cmd_stats = {"stats", run, "what the mirror holds: counts per pool, counters, sizes"};
