/* mcmirror.h - what the commands of the mcmirror tool share.
 *
 * Each command lives in cmd_<name>.c and exports one `const struct mcm_cmd
 * mcm_cmd_<name>`; main.c dispatches through a table of them and generates
 * `mcmirror help` from it (kmod's design). Conventions every command keeps:
 *   - data on stdout; status, progress, warnings and errors on stderr;
 *   - messages "mcmirror: <cmd>: <what>: <why>", lower-case, subject quoted;
 *   - exit MCM_EXIT_OK (0), MCM_EXIT_FAIL (1) on runtime failure or any
 *     rejected record, MCM_EXIT_USAGE (2) on usage errors;
 *   - `--help` prints the usage with defaults to stdout and exits 0.
 */
#ifndef MCMIRROR_H
#define MCMIRROR_H

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>

struct mcm_store;

#define MCM_EXIT_OK 0
#define MCM_EXIT_FAIL 1
#define MCM_EXIT_USAGE 2

/** Options given before the command name. */
struct mcm_global {
	const char *mirror; /**< --mirror DIR (default: MCMIRROR_PATH, then the built-in path) */
	int verbose;        /**< -v count */
	int quiet;          /**< -q */
};

struct mcm_cmd {
	const char *name;
	int (*run)(const struct mcm_global *g, int argc, char **argv); /**< argv[0] is the command name */
	const char *summary; /**< one line for `mcmirror help` */
};

extern const struct mcm_cmd mcm_cmd_stats, mcm_cmd_dump, mcm_cmd_replay, mcm_cmd_verify, mcm_cmd_run,
	mcm_cmd_snapshot, mcm_cmd_load, mcm_cmd_import, mcm_cmd_compact;

/** Set by SIGINT/SIGTERM/SIGPIPE once mcm_cli_signals() was called; loops check it. */
extern volatile sig_atomic_t mcm_cli_interrupted;

/** Catch SIGINT, SIGTERM and SIGPIPE into mcm_cli_interrupted. */
void mcm_cli_signals(void);

/** Print "mcmirror: <cmd>: <message>\n" to stderr. */
void mcm_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The same, as "mcmirror: <cmd>: warning: <message>". */
void mcm_cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Print a usage error and the hint "try 'mcmirror <cmd> --help'"; returns MCM_EXIT_USAGE. */
int mcm_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The mirror directory in effect for g. */
const char *mcm_cli_mirror_path(const struct mcm_global *g);

/** Open the mirror read-only; on failure print a message naming the path and
 * the reason, and return NULL. */
struct mcm_store *mcm_cli_open_mirror(const struct mcm_global *g, const char *cmd);

/** Warn when the shim counted writes it could not mirror at all (lost_drops):
 * the mirror may then hold older values for some keys. */
void mcm_cli_warn_incomplete(const struct mcm_global *g, const char *cmd);

/** Should progress be drawn? True when stderr is a TTY (or MCMIRROR_FORCE_TTY
 * is set) and -q was not given. */
int mcm_cli_progress_enabled(const struct mcm_global *g);

/** Monotonic clock in seconds. */
double mcm_cli_now(void);

/** Parse a --pool ID argument (hex, as `mcmirror stats` prints it).
 * @return 0, or MCM_EXIT_USAGE after a message. */
int mcm_cli_parse_pool(const char *cmd, const char *arg, uint64_t *id);

/** Parse a non-negative integer option value; returns -1 on garbage. */
long long mcm_cli_parse_count(const char *s);

#endif
