/* sweepinfo.c - the bounded mirror's figures in `mcmirror stats`, and its --capacity check (sweepinfo.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libmemcached/memcached.h>

#include "sweepinfo.h"

/* The bytes memcached needs per item beyond its key and value (the item header with CAS,
 * memcached 1.6 on 64-bit): the capacity check adds it to the mirror's figures. */
#define ITEM_OVERHEAD 48

int mcm_sweepinfo_read(struct mcm_store *st, const char *dir, struct mcm_sweepinfo *si)
{
	char path[4096];
	struct stat sb;
	int rc;

	memset(si, 0, sizeof *si);
	if ((rc = mcm_store_sweep_counts(st, &si->counts)) != 0 || (rc = mcm_store_purge_horizon(st, &si->purge_horizon)) != 0)
		return rc;
	if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
		return ENAMETOOLONG;
	if (stat(path, &sb) != 0)
		return errno;
	si->file_bytes = (uint64_t)sb.st_size;
	return 0;
}

void mcm_sweepinfo_print_text(FILE *out, const struct mcm_sweepinfo *si)
{
	const struct mcm_sweep_counts *c = &si->counts;

	fprintf(out,
		"mirror.record_bytes: %" PRIu64 "\n"
		"mirror.file_bytes: %" PRIu64 "\n"
		"mirror.purge_horizon: %" PRIu64 "\n"
		"sweep.cycles: %" PRIu64 "\n"
		"sweep.stale: %" PRIu64 "\n"
		"sweep.expired: %" PRIu64 "\n"
		"sweep.tombstones: %" PRIu64 "\n"
		"sweep.flushed: %" PRIu64 "\n"
		"sweep.evicted: %" PRIu64 "\n",
		c->bytes, si->file_bytes, si->purge_horizon, c->cycles, c->stale, c->expired, c->tombstones, c->flushed,
		c->evicted);
}

void mcm_sweepinfo_json(struct mcm_json *j, const struct mcm_sweepinfo *si)
{
	const struct mcm_sweep_counts *c = &si->counts;

	mcm_json_object(j, "bounded");
	mcm_json_u64(j, "record_bytes", c->bytes);
	mcm_json_u64(j, "file_bytes", si->file_bytes);
	mcm_json_u64(j, "purge_horizon", si->purge_horizon);
	mcm_json_object(j, "sweep");
	mcm_json_u64(j, "cycles", c->cycles);
	mcm_json_u64(j, "stale", c->stale);
	mcm_json_u64(j, "expired", c->expired);
	mcm_json_u64(j, "tombstones", c->tombstones);
	mcm_json_u64(j, "flushed", c->flushed);
	mcm_json_u64(j, "evicted", c->evicted);
	mcm_json_close_object(j);
	mcm_json_close_object(j);
}

void mcm_sweepinfo_print_prometheus(FILE *out, const struct mcm_sweepinfo *si)
{
	static const char *const reasons[] = {"stale", "expired", "tombstone", "flushed", "evicted"};
	const struct mcm_sweep_counts *c = &si->counts;
	const uint64_t removed[] = {c->stale, c->expired, c->tombstones, c->flushed, c->evicted};

	fprintf(out,
		"# HELP mcmirror_record_bytes Bytes of the mirror's records (keys and records, tombstones included): what MCMIRROR_MAX_BYTES caps.\n"
		"# TYPE mcmirror_record_bytes gauge\n"
		"mcmirror_record_bytes %" PRIu64 "\n"
		"# HELP mcmirror_file_bytes Size of data.mdb (pages in use and free ones; mcmirror compact gives the free ones back).\n"
		"# TYPE mcmirror_file_bytes gauge\n"
		"mcmirror_file_bytes %" PRIu64 "\n"
		"# HELP mcmirror_purge_horizon Sequence number below which a follower must resynchronise (0: none).\n"
		"# TYPE mcmirror_purge_horizon gauge\n"
		"mcmirror_purge_horizon %" PRIu64 "\n"
		"# HELP mcmirror_sweep_cycles_total Passes of the drainer's sweep over the whole mirror.\n"
		"# TYPE mcmirror_sweep_cycles_total counter\n"
		"mcmirror_sweep_cycles_total %" PRIu64 "\n"
		"# HELP mcmirror_sweep_removed_total Records (or stale index entries) the sweep removed, by reason.\n"
		"# TYPE mcmirror_sweep_removed_total counter\n",
		c->bytes, si->file_bytes, si->purge_horizon, c->cycles);
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		fprintf(out, "mcmirror_sweep_removed_total{reason=\"%s\"} %" PRIu64 "\n", reasons[i], removed[i]);
}

int mcm_sweepinfo_server_limit(const char *servers, uint64_t *limit, char *err, size_t errlen)
{
	memcached_server_st *list = memcached_servers_parse(servers);
	memcached_st *mc;
	memcached_stat_st *stats;
	memcached_return_t rc;
	uint32_t n;

	*limit = 0;
	if (!list || !(mc = memcached_create(NULL))) {
		snprintf(err, errlen, "cannot parse the server list '%s'", servers);
		memcached_server_list_free(list);
		return -1;
	}
	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 2000);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, 2000000);
	n = memcached_server_count(mc);
	stats = memcached_stat(mc, NULL, &rc);
	if (!stats || rc != MEMCACHED_SUCCESS) {
		snprintf(err, errlen, "'stats' of '%s': %s", servers, memcached_strerror(mc, rc));
		memcached_stat_free(mc, stats);
		memcached_free(mc);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		*limit += stats[i].limit_maxbytes;
	memcached_stat_free(mc, stats);
	memcached_free(mc);
	return 0;
}

int mcm_sweepinfo_over_capacity(uint64_t live_bytes, uint64_t live_items, uint64_t limit)
{
	return limit > 0 && live_bytes + ITEM_OVERHEAD * live_items > limit;
}
