/* progress.h - a one-line progress display on stderr for long commands.
 *
 * Drawn only when enabled (mcm_cli_progress_enabled), redrawn in place with
 * '\r' at most a few times per second, and erased before the summary line so
 * the terminal is left with the summary alone.
 */
#ifndef MCM_PROGRESS_H
#define MCM_PROGRESS_H

#include <stdint.h>

struct mcm_progress {
	int enabled;
	const char *cmd;     /**< "replay", "verify" */
	const char *unit;    /**< what items/s counts, e.g. "items" */
	uint64_t total;      /**< records to scan (0: unknown, no ETA) */
	double start;        /**< mcm_cli_now() at init */
	double last;         /**< time of the last redraw */
	int drawn;           /**< a line is on the screen */
};

/** Start the clock. total: records the walk will read (an upper bound is fine). */
void mcm_progress_init(struct mcm_progress *pg, int enabled, const char *cmd, const char *unit, uint64_t total);

/** Redraw when due: scanned records of total, done items, their rate, ETA.
 * Cheap when not due; call it every few thousand records. */
void mcm_progress_update(struct mcm_progress *pg, uint64_t scanned, uint64_t done);

/** Erase the line (before a summary or an error message). */
void mcm_progress_clear(struct mcm_progress *pg);

#endif
