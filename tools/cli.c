/* cli.c - helpers every mcmirror command shares: messages, options, signals, the mirror, TTY checks. */
#define MCM_CLI_OWN_GETOPT
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <lmdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "dumpfmt.h"
#include "fsutil.h"
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
static int resolve_pool(struct mcm_store *st, const char *cmd)
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
	if (resolve_pool(st, cmd) != 0) {
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

/* --- global options wherever they appear --------------------------------- */

static struct mcm_global *bound;

void mcm_cli_bind_global(struct mcm_global *g)
{
	bound = g;
}

#define GLOBAL_VAL 0x4d430000 /* getopt values of the global long options: GLOBAL_VAL + index */

static const struct {
	const char *name;
	int has_arg;
	char letter; /* 0: long only */
} globals[] = {
	{"mirror", required_argument, 'm'},
	{"quiet", no_argument, 'q'},
	{"verbose", no_argument, 'v'},
	{"json", no_argument, 0},
};
#define NGLOBALS (sizeof globals / sizeof globals[0])

static void apply_global(size_t i, const char *arg)
{
	if (!bound)
		return;
	switch (globals[i].letter ? globals[i].letter : 'j') {
	case 'm':
		bound->mirror = arg;
		break;
	case 'q':
		bound->quiet = 1;
		break;
	case 'v':
		bound->verbose++;
		break;
	default:
		bound->json = 1;
		break;
	}
}

/* The command's options, then each global one it does not define itself. */
static struct {
	const struct option *built_for;
	struct option longs[64];
	char shorts[128];
	size_t ncmd;      /* the command's long options */
	char own[NGLOBALS]; /* letters of global options taken over, 0 where the command has its own */
} merged;

static void merge_options(const char *shortopts, const struct option *longopts)
{
	size_t n = 0, len;
	int plus = shortopts[0] == '+';

	memset(&merged, 0, sizeof merged);
	merged.built_for = longopts;
	while (longopts && longopts[n].name && n < 64 - NGLOBALS - 1) {
		merged.longs[n] = longopts[n];
		n++;
	}
	merged.ncmd = n;
	for (size_t i = 0; i < NGLOBALS; i++) {
		int taken = 0;

		for (size_t k = 0; k < merged.ncmd; k++)
			taken |= strcmp(merged.longs[k].name, globals[i].name) == 0;
		if (!taken)
			merged.longs[n++] = (struct option){globals[i].name, globals[i].has_arg, NULL, GLOBAL_VAL + (int)i};
	}
	/* a leading ':' (after '+') makes getopt tell a missing argument (':') from an unknown option ('?') */
	snprintf(merged.shorts, sizeof merged.shorts, "%s:%s", plus ? "+" : "", shortopts + plus);
	len = strlen(merged.shorts);
	for (size_t i = 0; i < NGLOBALS; i++) {
		if (!globals[i].letter || strchr(shortopts, globals[i].letter) || len + 3 >= sizeof merged.shorts)
			continue;
		merged.own[i] = globals[i].letter;
		merged.shorts[len++] = globals[i].letter;
		if (globals[i].has_arg == required_argument)
			merged.shorts[len++] = ':';
	}
	merged.shorts[len] = '\0';
}

/* The long options a token "--name[=...]" may mean. */
static size_t long_matches(const char *token, const struct option **first)
{
	const char *name = token + 2;
	size_t len = strcspn(name, "="), n = 0;

	*first = NULL;
	for (const struct option *o = merged.longs; o->name; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (strlen(o->name) == len) { /* exact */
			*first = o;
			return 1;
		}
		if (!n++)
			*first = o;
	}
	return n;
}

/* One error line for what getopt refused, the hint, and exit 2. */
static void option_error(const char *cmd, int c, char *const argv[])
{
	const char *token = optind > 0 ? argv[optind - 1] : "";
	const struct option *o;
	int is_long = token && strncmp(token, "--", 2) == 0;

	if (is_long && c == ':') {
		mcm_cli_usage_error(cmd, "option '%.*s' needs a value", (int)strcspn(token, "="), token);
	} else if (c == ':') {
		mcm_cli_usage_error(cmd, "option '-%c' needs a value", optopt);
	} else if (is_long) {
		size_t n = long_matches(token, &o);

		if (n > 1)
			mcm_cli_usage_error(cmd, "option '%.*s' is ambiguous: it starts %zu options (--%s, ...)",
					    (int)strcspn(token, "="), token, n, o->name);
		else if (n == 1 && strchr(token, '=') && o->has_arg == no_argument)
			mcm_cli_usage_error(cmd, "option '--%s' takes no value", o->name);
		else
			mcm_cli_usage_error(cmd, "unknown option '%.*s'", (int)strcspn(token, "="), token);
	} else {
		mcm_cli_usage_error(cmd, "unknown option '-%c'", optopt);
	}
	fflush(stdout);
	exit(MCM_EXIT_USAGE);
}

int mcm_cli_getopt_long(int argc, char *const argv[], const char *shortopts, const struct option *longopts,
			int *longind)
{
	const char *cmd = argc > 0 ? argv[0] : NULL;
	int c, idx;

	if (merged.built_for != longopts || !merged.shorts[0])
		merge_options(shortopts, longopts);
	opterr = 0;
	for (;;) {
		idx = -1;
		c = getopt_long(argc, argv, merged.shorts, merged.longs, &idx);
		if (c >= GLOBAL_VAL && c < GLOBAL_VAL + (int)NGLOBALS) {
			apply_global((size_t)(c - GLOBAL_VAL), optarg);
			continue;
		}
		if (c > 0 && c < 256 && c != ':' && c != '?') {
			size_t i;

			for (i = 0; i < NGLOBALS && merged.own[i] != c; i++)
				;
			if (i < NGLOBALS) {
				apply_global(i, optarg);
				continue;
			}
		}
		if (c == '?' || c == ':')
			option_error(cmd, c, argv);
		if (longind && idx >= 0 && (size_t)idx < merged.ncmd)
			*longind = idx;
		return c;
	}
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

/* --- acting as the mirror's owner ---------------------------------------- */

int mcm_cli_mirror_owner(const char *dir, struct mcm_cli_ids *ids)
{
	struct stat sb;
	int n;

	memset(ids, 0, sizeof *ids);
	if (geteuid() != 0)
		return 0;
	if (stat(dir, &sb) != 0) { /* not there yet: it will be created in its parent, as the parent's owner */
		char *parent = mcm_fsutil_dirname(dir);
		int rc = parent ? stat(parent, &sb) : -1;

		free(parent);
		if (rc != 0)
			return 0;
	}
	if (sb.st_uid == 0)
		return 0;
	if ((n = getgroups(0, NULL)) < 0 || !(ids->groups = calloc((size_t)n + 1, sizeof(gid_t))) ||
	    (n = getgroups(n, (gid_t *)ids->groups)) < 0) {
		free(ids->groups);
		ids->groups = NULL;
		return 0;
	}
	ids->ngroups = n;
	ids->saved_gid = getegid();
	ids->uid = sb.st_uid;
	ids->gid = sb.st_gid;
	return 1;
}

int mcm_cli_become(const char *cmd, const char *dir, struct mcm_cli_ids *ids)
{
	gid_t groups[1] = {(gid_t)ids->gid};
	struct passwd *pw;
	int err;

	if (ids->uid == 0 || ids->switched)
		return 0;
	if (setgroups(1, groups) == 0 && setegid((gid_t)ids->gid) == 0 && seteuid((uid_t)ids->uid) == 0) {
		ids->switched = 1;
		return 0;
	}
	err = errno;
	ids->switched = 1; /* whatever was changed goes back */
	mcm_cli_become_self(ids);
	pw = getpwuid((uid_t)ids->uid);
	mcm_cli_error(cmd, "cannot act as '%s', the owner of '%s': %s; run 'runuser -u %s -- mcmirror ...'",
		      pw ? pw->pw_name : "?", dir, strerror(err), pw ? pw->pw_name : "OWNER");
	return -1;
}

int mcm_cli_become_owner(const char *cmd, const char *dir, struct mcm_cli_ids *ids)
{
	if (!mcm_cli_mirror_owner(dir, ids))
		return 0;
	if (mcm_cli_become(cmd, dir, ids) == 0)
		return 0;
	free(ids->groups);
	memset(ids, 0, sizeof *ids);
	return -1;
}

void mcm_cli_become_self(struct mcm_cli_ids *ids)
{
	if (ids->switched) {
		/* back to root first: only root may set the ids and groups */
		if (seteuid(0) != 0 || setegid((gid_t)ids->saved_gid) != 0 ||
		    setgroups((size_t)ids->ngroups, (gid_t *)ids->groups) != 0) {
			mcm_cli_error(NULL, "cannot return to the user that started mcmirror: %s", strerror(errno));
			exit(MCM_EXIT_FAIL);
		}
	}
	ids->switched = 0;
}

void mcm_cli_ids_free(struct mcm_cli_ids *ids)
{
	mcm_cli_become_self(ids);
	free(ids->groups);
	memset(ids, 0, sizeof *ids);
}

int mcm_cli_give_to_owner(const struct mcm_cli_ids *ids, const char *path)
{
	if (ids->uid == 0)
		return 0;
	return lchown(path, (uid_t)ids->uid, (gid_t)ids->gid) == 0 ? 0 : errno;
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

void mcm_cli_summary_begin(struct mcm_json *j, const char *cmd, int status)
{
	mcm_json_begin(j, stdout);
	mcm_json_str(j, "command", cmd);
	mcm_json_u64(j, "version", MCM_SUMMARY_JSON_VERSION);
	mcm_json_bool(j, "ok", status == MCM_EXIT_OK);
	mcm_json_u64(j, "exit", (uint64_t)status);
	mcm_json_str(j, "error", status == MCM_EXIT_OK || !first_error[0] ? NULL : first_error);
	mcm_json_bool(j, "interrupted", mcm_cli_interrupted != 0);
}
