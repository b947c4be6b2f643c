/* stats.h - what `mcmirror stats` gathers, shared by its text (cmd_stats.c) and its JSON and
 * Prometheus forms (stats_export.c). Internal to the tool. */
#ifndef MCM_STATS_H
#define MCM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "dumpfmt.h"
#include "mcm_counters.h"
#include "mcm_store.h"
#include "mcmirror.h"

/** The version of the JSON document `stats --json` writes (docs/mcmirror.1, JSON OUTPUT). */
#define MCM_STATS_JSON_VERSION 1

/** memcached's default hashpower (-o hashpower) and the largest it accepts. */
#define MCM_HASHPOWER_DEFAULT 16
#define MCM_HASHPOWER_MAX 32

struct follower_stats;

/** What one pool's records add up to. */
struct pool_stats {
	struct mcm_pool pool;
	int known;                         /**< a pool record exists */
	uint64_t count[MCM_DUMP_NSTATUS];  /**< records by status */
	uint64_t live_bytes;
	uint64_t oldest_us, newest_us;     /**< live writes; 0 = none */
	uint32_t servers;                  /**< servers in the pool's list (0: unknown) */
	uint64_t items_per_server;         /**< live items / servers, rounded up */
	unsigned hashpower;                /**< memcached -o hashpower=N that holds items_per_server */
};

/** Everything stats reports. */
struct stats {
	const char *path;
	int64_t now;                       /**< Unix seconds when the scan began */
	struct mcm_store_info info;
	const char *unlocked;              /**< read without the lock table: why (NULL: with it) */
	int counters_state;                /**< 0 read, ENOENT none yet, else an error (counters are 0) */
	uint64_t counters[MCM_CTR_COUNT];
	int journal_state;                 /**< 0 read, ENOENT none, else an error */
	uint64_t journal_size, journal_used, journal_unapplied, journal_lost;
	struct pool_stats *pools;          /**< the pools reported */
	size_t npools;
	size_t all_pools;                  /**< pool records in the mirror */
	uint64_t total[MCM_DUMP_NSTATUS], total_bytes;
	struct follower_stats *followers;  /**< `mcmirror follow` followers of the mirror */
	size_t nfollowers;
	uint64_t purge_horizon;            /**< mcm_store_purge_horizon */
	uint64_t damaged;                  /**< damaged records skipped by the scan */
};

/** A follower, and how far behind it is. */
struct follower_stats {
	struct mcm_follower f;
	uint64_t changes_behind;           /**< sequence numbers handed out after its position */
	double seconds_behind;             /**< age of the oldest change it has not applied (0: none) */
	int must_resync;                   /**< its position is below the purge horizon */
};

/** The smallest hashpower N >= 16 (memcached's default) whose table holds
 * items without growing: memcached grows it when items > 1.5 x 2^N. */
unsigned mcm_stats_hashpower(uint64_t items);

/** stats --json: one JSON object, one line. */
void mcm_stats_json(const struct stats *s, FILE *out);

/** stats --prometheus: the text exposition format (node_exporter's textfile collector). */
void mcm_stats_prometheus(const struct stats *s, FILE *out);

#endif
