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

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>

struct mcm_store;

#define MCM_EXIT_OK 0
#define MCM_EXIT_FAIL 1
#define MCM_EXIT_USAGE 2

/** The global options, given before or after the command name. */
struct mcm_global {
	const char *mirror; /**< --mirror DIR (default: MCMIRROR_PATH, then the built-in path) */
	int verbose;        /**< -v count */
	int quiet;          /**< -q */
	int json;           /**< --json: machine-readable output on stdout (stats; a summary line of the others) */
};

struct mcm_cmd {
	const char *name;
	int (*run)(const struct mcm_global *g, int argc, char **argv); /**< argv[0] is the command name */
	const char *summary; /**< one line for `mcmirror help` */
};

extern const struct mcm_cmd mcm_cmd_stats, mcm_cmd_dump, mcm_cmd_replay, mcm_cmd_verify, mcm_cmd_run,
	mcm_cmd_snapshot, mcm_cmd_load, mcm_cmd_import, mcm_cmd_follow, mcm_cmd_compact;

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

/** Bytes a server sent or a key, made safe to quote in a message: printable ASCII
 * as it is, any other byte and the backslash as the dump format writes them
 * (\HH), at most max bytes of s (then "..."). The text lives in a small ring of
 * per-thread buffers: valid until the fourth call after it on the thread.
 * @return a NUL-terminated string. */
const char *mcm_cli_shown(const void *s, size_t len, size_t max);

/** Monotonic clock in seconds. */
double mcm_cli_now(void);

/** The size for a batch arena that a flush has just emptied (load, import): a
 * small start doubles at each flush up to max, so that a small input allocates
 * little; never less than need (one record larger than that).
 * @return the new size, at least cap. */
size_t mcm_cli_arena_next(size_t cap, size_t need, size_t max);

/** Parse a --pool ID argument (hex, as `mcmirror stats` prints it).
 * @return 0, or MCM_EXIT_USAGE after a message. */
int mcm_cli_parse_pool(const char *cmd, const char *arg, uint64_t *id);

/** After the mirror is open: turn a --pool prefix given to mcm_cli_parse_pool
 * into the one pool id it names (mcm_cli_open_mirror does this itself).
 * @return 0, or MCM_EXIT_USAGE after a message (none or several match). */
int mcm_cli_resolve_pool(struct mcm_store *st, const char *cmd);

/** Parse a non-negative integer option value; returns -1 on garbage. */
long long mcm_cli_parse_count(const char *s);

/** The global options a command's getopt_long recognises wherever they appear
 * (main.c binds them before it runs the command). */
void mcm_cli_bind_global(struct mcm_global *g);

/** getopt_long for a command (argv[0] is the command's name): the global
 * options (-m/--mirror, -q/--quiet, -v/--verbose, --json) are taken into the
 * bound struct mcm_global wherever they appear, unless the command defines an
 * option of that letter or name itself; an unknown or ambiguous option, or a
 * missing argument, prints one error line and the "try --help" hint and
 * exits with MCM_EXIT_USAGE, so a command never sees '?' or ':'. */
int mcm_cli_getopt_long(int argc, char *const argv[], const char *shortopts, const struct option *longopts,
			int *longind);

/* Every command's option loop goes through mcm_cli_getopt_long: the commands
 * call getopt_long as usual (cli.c and main.c define MCM_CLI_OWN_GETOPT). */
#ifndef MCM_CLI_OWN_GETOPT
#define getopt_long mcm_cli_getopt_long
#endif

/** Print "mcmirror: <cmd>: cannot write to stdout: <why>" when stdout has a
 * pending error or cannot be flushed (a full disk, a closed pipe).
 * @return 0, or MCM_EXIT_FAIL after the message. */
int mcm_cli_check_stdout(const char *cmd);

/** Effective user and groups saved while the mirror's owner is being used. */
struct mcm_cli_ids {
	int switched;
	unsigned uid, gid;      /**< the owner's */
	unsigned saved_gid;
	int ngroups;
	unsigned *groups;       /**< the supplementary groups to restore (malloc'd) */
};

/** Who should own the files created in the mirror dir: when running as root
 * and dir (or, when it does not exist yet, its parent) belongs to another
 * user, that user (ids->uid, ids->gid, and the groups to come back to),
 * else nobody (ids->uid == 0). Switches nothing. @return 1 when a user was found. */
int mcm_cli_mirror_owner(const char *dir, struct mcm_cli_ids *ids);

/** Act as the owner mcm_cli_mirror_owner found (effective uid, gid and
 * groups) until mcm_cli_become_self; nothing when none was.
 * @return 0, or -1 after a message naming the user and what to run instead. */
int mcm_cli_become(const char *cmd, const char *dir, struct mcm_cli_ids *ids);

/** Both: files created in the mirror (lock.mdb, data.mdb, the journal's and
 * the drainer's files) then belong to the user whose applications write it. */
int mcm_cli_become_owner(const char *cmd, const char *dir, struct mcm_cli_ids *ids);

/** Back to the ids saved by mcm_cli_become (nothing when not switched). */
void mcm_cli_become_self(struct mcm_cli_ids *ids);

/** Back to self, and free what mcm_cli_mirror_owner kept. */
void mcm_cli_ids_free(struct mcm_cli_ids *ids);

/** chown path to the owner mcm_cli_mirror_owner found (no-op when none).
 * @return 0 or an errno value. */
int mcm_cli_give_to_owner(const struct mcm_cli_ids *ids, const char *path);

struct mcm_json;

/** The version of the JSON summary lines (docs/mcmirror.1, JSON OUTPUT). */
#define MCM_SUMMARY_JSON_VERSION 1

/** With --json, commands end with one JSON object on one line of stdout:
 * this starts it with the members every summary has ("command", "version",
 * "ok", "exit", "error": the first error message, usually the cause, or
 * null, "interrupted");
 * the command adds its counts and calls mcm_json_finish. */
void mcm_cli_summary_begin(struct mcm_json *j, const char *cmd, int status);

struct mcm_item;

/** A reader met a damaged record (MCM_EDAMAGED: its checksum or a field is
 * wrong): say which (pool, seq, key; the first 20, then only counted) and
 * count it. The record is skipped; a command that met any ends with exit
 * status 1 and, with --json, "ok": false (main.c and mcm_cli_summary_begin
 * see to both). */
void mcm_cli_damaged(const char *cmd, const struct mcm_item *item);

/** Damaged records met so far. */
uint64_t mcm_cli_damaged_count(void);

/** An error of a write into the mirror dir, named as it is: LMDB reports a
 * short write on a full filesystem as EIO; this says ENOSPC then. */
int mcm_cli_write_error(const char *dir, int rc);

#endif
