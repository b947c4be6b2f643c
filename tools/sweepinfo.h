/* sweepinfo.h - what `mcmirror stats` shows of the bounded mirror: the sweep's counters, the
 * records' bytes, the file, the purge horizon, and whether a pool holds more than its servers can.
 *
 * The drainer's sweep (store/sweep.c) keeps its counters in the mirror (meta "sweep") and the
 * records' bytes (meta "bytes", what MCMIRROR_MAX_BYTES caps). These functions read them and print
 * them in the three forms of `mcmirror stats` (text "name: value" lines, JSON members, Prometheus
 * exposition); the names are listed in docs/RUNBOOK.md ("Sizing the mirror").
 */
#ifndef MCM_SWEEPINFO_H
#define MCM_SWEEPINFO_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "mcm_store.h"

/** The bounded mirror's figures. */
struct mcm_sweepinfo {
	struct mcm_sweep_counts counts; /**< cumulative removals, and the records' bytes now */
	uint64_t file_bytes;            /**< data.mdb's size (LMDB's file: pages in use and free ones) */
	uint64_t purge_horizon;         /**< followers below it must resynchronise (0: nothing purged) */
};

/** Read the figures of the mirror st, whose directory is dir.
 * @return 0, or an error of the store (mcm_strerror), or an errno value from stat(2). */
int mcm_sweepinfo_read(struct mcm_store *st, const char *dir, struct mcm_sweepinfo *si);

/** Print "name: value" lines (mirror.record_bytes, mirror.file_bytes, mirror.purge_horizon,
 * sweep.cycles, sweep.stale, sweep.expired, sweep.tombstones, sweep.flushed, sweep.evicted). */
void mcm_sweepinfo_print_text(FILE *out, const struct mcm_sweepinfo *si);

/** Add the member "bounded": {record_bytes, file_bytes, purge_horizon, sweep: {cycles, stale,
 * expired, tombstones, flushed, evicted}} to the JSON object open in j. */
void mcm_sweepinfo_json(struct mcm_json *j, const struct mcm_sweepinfo *si);

/** Print the Prometheus text exposition (HELP and TYPE lines included):
 * mcmirror_record_bytes, mcmirror_file_bytes, mcmirror_purge_horizon (gauges),
 * mcmirror_sweep_cycles_total, mcmirror_sweep_removed_total{reason=...} (counters). */
void mcm_sweepinfo_print_prometheus(FILE *out, const struct mcm_sweepinfo *si);

/** Ask every server of servers ("host:port,host:port") for its limit_maxbytes (`stats`),
 * and add them up: the most the pool can hold.
 * @param[out] limit the sum
 * @param[out] err a reason on failure (a server that does not answer)
 * @return 0, or -1 with err set. */
int mcm_sweepinfo_server_limit(const char *servers, uint64_t *limit, char *err, size_t errlen);

/** Does a pool whose live records take live_bytes (keys and values) hold more than servers
 * with limit bytes of memory in all can keep? memcached stores each item with a header of about
 * 50 bytes more, so this errs towards silence. @return 1 or 0 (0 when limit is 0: unknown). */
int mcm_sweepinfo_over_capacity(uint64_t live_bytes, uint64_t live_items, uint64_t limit);

#endif
