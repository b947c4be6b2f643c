/* cli.c - helpers every mcmirror command shares: messages, signals, opening the mirror, stdout, TTY checks. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "dumpfmt.h"
#include "json.h"
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

static char first_error[1024]; /* the first error message (the cause, usually), for a JSON summary */

static void vmessage(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "mcmirror: %s%s%s", cmd ? cmd : "", cmd ? ": " : "", kind);
	int start;

	if (n < 0 || (size_t)n >= sizeof buf)
		n = 0;
	start = n;
	vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	if (!*kind && !first_error[0]) {
		size_t len = strnlen(buf + start, sizeof first_error - 1);

		memcpy(first_error, buf + start, len);
		first_error[len] = '\0';
	}
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

/* Why the journal could not be applied, as the operator should read it. */
static void warn_catch_up(const char *cmd, const char *path, int rc)
{
	if (rc == ETIMEDOUT)
		mcm_cli_warn(cmd, "the drainer of '%s' did not catch up within 5 s: the newest writes may be missing", path);
	else if (rc == MCM_EFORMAT)
		mcm_cli_warn(cmd, "'%s/journal' is not a journal this version reads (damaged, or of another layout): "
			     "the writes still in it are not seen", path);
	else if (rc == EIO || rc == ENOSPC || rc == MDB_MAP_FULL)
		mcm_cli_warn(cmd, "cannot apply the journal of '%s' to its data.mdb: %s: the newest writes may be missing",
			     path, mcm_strerror(mcm_cli_write_error(path, rc)));
	else
		mcm_cli_warn(cmd, "cannot apply the journal '%s/journal': %s: the newest writes may be missing", path,
			     mcm_strerror(rc));
}

/* Name the file an EACCES of mcm_store_open is about. */
static void report_open_error(const char *cmd, const char *path, int rc)
{
	char file[PATH_MAX + 16];

	if (rc == ENOENT) {
		mcm_cli_error(cmd, "cannot open mirror '%s': no mirror there (nothing recorded yet, or set --mirror / "
			      "MCMIRROR_PATH)", path);
		return;
	}
	if (rc == EACCES || rc == EPERM) {
		snprintf(file, sizeof file, "%s/data.mdb", path);
		if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0)
			snprintf(file, sizeof file, "%s", path);
		mcm_cli_error(cmd, "cannot open mirror '%s': '%s': %s (run mcmirror as the mirror's owner, or as root)",
			      path, file, strerror(rc));
		return;
	}
	mcm_cli_error(cmd, "cannot open mirror '%s': %s", path, mcm_strerror(rc));
}

/* --pool given as a prefix: resolved against the mirror's pools once it is open. */
static struct {
	uint64_t *id;     /* where the command keeps the id */
	char text[17];    /* the hex digits given, lower case */
} pool_prefix;

/* The pool whose id (as printed) starts with the digits given: exactly one
 * is taken, several are a usage error that lists them, none leaves the id
 * as the digits read as a number (the command says there is no such pool). */
int mcm_cli_resolve_pool(struct mcm_store *st, const char *cmd)
{
	struct mcm_pool *pools;
	size_t n, found = 0, at = 0;
	char id[17];
	int rc;

	if (!pool_prefix.id)
		return 0;
	if ((rc = mcm_store_pools(st, &pools, &n)) != 0)
		return 0; /* the command reports an unreadable mirror itself */
	for (size_t i = 0; i < n; i++) {
		mcm_dumpfmt_pool_id(pools[i].id, id);
		if (strncmp(id, pool_prefix.text, strlen(pool_prefix.text)) == 0) {
			found++;
			at = i;
		}
	}
	if (found == 1)
		*pool_prefix.id = pools[at].id;
	if (found > 1) {
		mcm_cli_error(cmd, "pool id '%s' is ambiguous: it starts %zu pools' ids:", pool_prefix.text, found);
		for (size_t i = 0; i < n; i++) {
			mcm_dumpfmt_pool_id(pools[i].id, id);
			if (strncmp(id, pool_prefix.text, strlen(pool_prefix.text)) == 0)
				mcm_cli_error(cmd, "  pool %s: servers '%s'", id, pools[i].servers);
		}
		fprintf(stderr, "try 'mcmirror %s --help' for more information\n", cmd);
	}
	free(pools);
	pool_prefix.id = NULL;
	return found > 1 ? -1 : 0;
}

struct mcm_store *mcm_cli_open_mirror(const struct mcm_global *g, const char *cmd)
{
	const char *path = mcm_cli_mirror_path(g);
	struct mcm_cli_ids ids;
	struct mcm_store *st;
	const char *why;
	int rc;

	if (mcm_cli_become_owner(cmd, path, &ids) != 0)
		return NULL;
	rc = mcm_drain_catch_up(path, 5000); /* writes still in the journal first */
	if (rc != 0 && rc != ENOENT)
		warn_catch_up(cmd, path, rc);
	rc = mcm_store_open(&st, path, MCM_STORE_RDONLY, 0);
	mcm_cli_ids_free(&ids);
	if (rc != 0) {
		report_open_error(cmd, path, rc);
		return NULL;
	}
	if ((why = mcm_store_unlocked(st)) && strncmp(why, "in use", 6) == 0)
		mcm_cli_warn(cmd, "reading '%s' without LMDB's lock table (%s): a write meanwhile may make what is read "
			     "inconsistent; read a snapshot instead", path, why);
	else if (why && g->verbose)
		mcm_cli_error(cmd, "reading '%s' without LMDB's lock table: %s", path, why);
	if (mcm_cli_resolve_pool(st, cmd) != 0) {
		mcm_store_close(st);
		exit(MCM_EXIT_USAGE);
	}
	return st;
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

#define SHOWN_MAX 240 /* bytes of the original one quoted text holds at most */

const char *mcm_cli_shown(const void *s, size_t len, size_t max)
{
	static __thread char ring[4][3 * SHOWN_MAX + 4];
	static __thread unsigned next;
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = s;
	char *out = ring[next++ % 4], *o = out;

	if (max > SHOWN_MAX)
		max = SHOWN_MAX;
	for (size_t i = 0; i < len && i < max; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\') {
			*o++ = (char)b[i];
		} else {
			*o++ = '\\';
			*o++ = hex[b[i] >> 4];
			*o++ = hex[b[i] & 15];
		}
	}
	if (len > max) {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = '\0';
	return out;
}

size_t mcm_cli_arena_next(size_t cap, size_t need, size_t max)
{
	size_t want = cap < max / 2 ? cap * 2 : max;

	if (want < need)
		want = need;
	return want > cap ? want : cap;
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
	size_t len = strlen(arg);

	if (mcm_dumpfmt_parse_pool_id(arg, id) != 0)
		return mcm_cli_usage_error(cmd, "bad pool id '%s': want up to 16 hex digits", arg);
	pool_prefix.id = NULL;
	if (len < 16) { /* a prefix of the id as printed, as git takes a commit's */
		for (size_t i = 0; i <= len; i++)
			pool_prefix.text[i] = (char)(arg[i] >= 'A' && arg[i] <= 'F' ? arg[i] - 'A' + 'a' : arg[i]);
		pool_prefix.id = id;
	}
	return 0;
}

int mcm_cli_check_stdout(const char *cmd)
{
	int err = 0;

	if (fflush(stdout) != 0)
		err = errno ? errno : EIO;
	else if (ferror(stdout))
		err = EIO;
	if (!err)
		return 0;
	if (err != EPIPE) /* a reader that stopped reading (| head) knows */
		mcm_cli_error(cmd, "cannot write to stdout: %s", strerror(err));
	clearerr(stdout);
	return MCM_EXIT_FAIL;
}

int mcm_cli_write_error(const char *dir, int rc)
{
	struct statvfs vfs;

	/* a short write on a full filesystem reaches LMDB as EIO */
	if ((rc == EIO || rc == MDB_MAP_FULL) && statvfs(dir, &vfs) == 0 &&
	    (uint64_t)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize < ((uint64_t)1 << 20))
		return ENOSPC;
	return rc;
}

static uint64_t damaged;

void mcm_cli_damaged(const char *cmd, const struct mcm_item *item)
{
	if (damaged++ >= 20)
		return;
	mcm_cli_error(cmd, "pool %016" PRIx64 ", seq %" PRIu64 ", key '%s': damaged record skipped (its checksum "
		      "or a field is wrong; see docs/RUNBOOK.md section 4)", item->pool, item->seq,
		      mcm_cli_shown(item->key, item->key_len, 64));
	if (damaged == 20)
		mcm_cli_error(cmd, "more damaged records are only counted");
}

uint64_t mcm_cli_damaged_count(void)
{
	return damaged;
}

void mcm_cli_summary_begin(struct mcm_json *j, const char *cmd, int status)
{
	if (status == MCM_EXIT_OK && damaged) {
		status = MCM_EXIT_FAIL;
		if (!first_error[0])
			snprintf(first_error, sizeof first_error, "%" PRIu64 " damaged records skipped", damaged);
	}
	mcm_json_begin(j, stdout);
	mcm_json_str(j, "command", cmd);
	mcm_json_u64(j, "version", MCM_SUMMARY_JSON_VERSION);
	mcm_json_bool(j, "ok", status == MCM_EXIT_OK);
	mcm_json_u64(j, "exit", (uint64_t)status);
	mcm_json_str(j, "error", status == MCM_EXIT_OK || !first_error[0] ? NULL : first_error);
	mcm_json_bool(j, "interrupted", mcm_cli_interrupted != 0);
}
