/* cli.c - helpers every mcmirror command shares: messages, signals, the mirror, TTY checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dumpfmt.h"
#include "mcm_counters.h"
#include "mcm_drain.h"
#include "mcm_store.h"
#include "mcmirror.h"

volatile sig_atomic_t mcm_cli_interrupted;

static void on_signal(int sig)
{
	mcm_cli_interrupted = sig;
}

void mcm_cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

static void vmessage(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "mcmirror: %s%s%s", cmd ? cmd : "", cmd ? ": " : "", kind);

	if (n < 0 || (size_t)n >= sizeof buf)
		n = 0;
	vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	fflush(stdout);
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}

void mcm_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(cmd, "", fmt, ap);
	va_end(ap);
}

void mcm_cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(cmd, "warning: ", fmt, ap);
	va_end(ap);
}

int mcm_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(cmd, "", fmt, ap);
	va_end(ap);
	fprintf(stderr, "try 'mcmirror %s%s--help' for more information\n", cmd ? cmd : "", cmd ? " " : "");
	return MCM_EXIT_USAGE;
}

const char *mcm_cli_mirror_path(const struct mcm_global *g)
{
	return g->mirror ? g->mirror : mcm_store_default_path();
}

struct mcm_store *mcm_cli_open_mirror(const struct mcm_global *g, const char *cmd)
{
	const char *path = mcm_cli_mirror_path(g);
	struct mcm_store *st;
	int rc = mcm_drain_catch_up(path, 5000); /* writes still in the journal first */

	if (rc == ETIMEDOUT)
		mcm_cli_warn(cmd, "the drainer of '%s' did not catch up within 5 s: the newest writes may be missing", path);
	else if (rc != 0 && rc != ENOENT)
		mcm_cli_warn(cmd, "cannot apply the journal of '%s': %s: the newest writes may be missing", path,
			     mcm_strerror(rc));
	rc = mcm_store_open(&st, path, MCM_STORE_RDONLY, 0);

	if (rc == 0)
		return st;
	if (rc == ENOENT)
		mcm_cli_error(cmd, "cannot open mirror '%s': no mirror there (nothing recorded yet, or set --mirror / MCMIRROR_PATH)", path);
	else
		mcm_cli_error(cmd, "cannot open mirror '%s': %s", path, mcm_strerror(rc));
	return NULL;
}

int mcm_cli_progress_enabled(const struct mcm_global *g)
{
	const char *force = getenv("MCMIRROR_FORCE_TTY");

	if (g->quiet)
		return 0;
	return (force && *force && strcmp(force, "0") != 0) || isatty(STDERR_FILENO);
}

double mcm_cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long long mcm_cli_parse_count(const char *s)
{
	char *end;
	long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	return v;
}

void mcm_cli_warn_incomplete(const struct mcm_global *g, const char *cmd)
{
	struct mcm_counters *c;
	uint64_t lost;

	if (mcm_counters_open(&c, mcm_cli_mirror_path(g), 0) != 0)
		return;
	lost = mcm_counters_get(c, MCM_CTR_LOST_DROPS);
	mcm_counters_close(c);
	if (lost)
		mcm_cli_warn(cmd, "%llu writes could not be mirrored (the journal was full): the mirror forgot "
			     "everything written before them ('mcmirror stats': counters.lost_drops, flushed items)",
			     (unsigned long long)lost);
}

int mcm_cli_parse_pool(const char *cmd, const char *arg, mcm_pool_id *id)
{
	if (mcm_dumpfmt_parse_pool_id(arg, id) != 0)
		return mcm_cli_usage_error(cmd, "bad pool id '%s': want up to 16 hex digits", arg);
	return 0;
}
