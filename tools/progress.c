/* progress.c - the redrawn progress line: records scanned / total, items/s, ETA. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mcmirror.h"
#include "progress.h"

#define REDRAW_EVERY 0.25 /* seconds */

void mcm_progress_init(struct mcm_progress *pg, int enabled, const char *cmd, const char *unit, uint64_t total)
{
	memset(pg, 0, sizeof *pg);
	pg->enabled = enabled;
	pg->cmd = cmd;
	pg->unit = unit;
	pg->total = total;
	pg->start = pg->last = mcm_cli_now();
}

static void format_eta(double secs, char *buf, size_t size)
{
	unsigned long s = secs < 0 ? 0 : (unsigned long)(secs + 0.5);

	if (s >= 3600)
		snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
}

void mcm_progress_update(struct mcm_progress *pg, uint64_t scanned, uint64_t done)
{
	double now, elapsed;
	char line[256], eta[32] = "?";
	int n;

	if (!pg->enabled)
		return;
	now = mcm_cli_now();
	if (now - pg->last < REDRAW_EVERY)
		return;
	pg->last = now;
	elapsed = now - pg->start;
	if (pg->total && scanned && scanned <= pg->total)
		format_eta(elapsed * (double)(pg->total - scanned) / (double)scanned, eta, sizeof eta);
	if (pg->total)
		n = snprintf(line, sizeof line, "\rmcmirror: %s: %llu/%llu records, %llu %s, %.0f %s/s, ETA %s \033[K",
			     pg->cmd, (unsigned long long)scanned, (unsigned long long)pg->total,
			     (unsigned long long)done, pg->unit, elapsed > 0 ? (double)done / elapsed : 0.0, pg->unit, eta);
	else
		n = snprintf(line, sizeof line, "\rmcmirror: %s: %llu records, %llu %s, %.0f %s/s \033[K", pg->cmd,
			     (unsigned long long)scanned, (unsigned long long)done, pg->unit,
			     elapsed > 0 ? (double)done / elapsed : 0.0, pg->unit);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	pg->drawn = 1;
}

void mcm_progress_clear(struct mcm_progress *pg)
{
	if (!pg->drawn)
		return;
	(void)!write(STDERR_FILENO, "\r\033[K", 4);
	pg->drawn = 0;
}
