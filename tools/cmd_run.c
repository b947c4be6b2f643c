/* cmd_run.c - `mcmirror run`: start a program with libmcmirror.so preloaded (like eatmydata).
 *
 * The library is looked for, in order: --shim FILE; next to the tool as
 * installed (<bindir>/MCM_REL_LIBDIR, so a relocated prefix works); in the
 * build tree (<dir of the tool>/../shim); the compiled-in MCM_LIBDIR. It goes
 * in front of any LD_PRELOAD already set, which is kept. Then the command
 * replaces this process (execvp): its exit status is the command's own.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mcm_store.h"
#include "mcmirror.h"

#ifndef MCM_LIBDIR
#error "MCM_LIBDIR (the installed library directory) must be defined by the build"
#endif
#ifndef MCM_REL_LIBDIR
#error "MCM_REL_LIBDIR (the library directory relative to the tool's) must be defined by the build"
#endif

#define CMD "run"
#define SHIM_NAME "libmcmirror.so"
#define EXIT_CANNOT_RUN 126 /* as env(1) */
#define EXIT_NOT_FOUND 127

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] run [--sync MODE] [--shim FILE] [--] COMMAND [ARGS...]\n"
		"\n"
		"Run COMMAND with libmcmirror.so preloaded, so that its libmemcached writes\n"
		"are mirrored (as eatmydata does for fsync). The library goes in front of any\n"
		"LD_PRELOAD already set, which is kept; COMMAND's children inherit it. Then\n"
		"COMMAND replaces mcmirror: the exit status is COMMAND's own.\n"
		"\n"
		"options:\n"
		"  -m, --mirror DIR   set MCMIRROR_PATH=DIR for COMMAND (default: the global\n"
		"                     --mirror; without either, MCMIRROR_PATH is not changed)\n"
		"  -s, --sync MODE    set MCMIRROR_SYNC: always, everysec or none (default:\n"
		"                     not changed; the shim's default is everysec)\n"
		"  -S, --shim FILE    the library to preload (default: %s next to\n"
		"                     mcmirror in %s, else in the build tree,\n"
		"                     else '%s/%s')\n"
		"  -h, --help         this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"exit status: COMMAND's; 126 COMMAND cannot be run, 127 COMMAND not found;\n"
		"1 libmcmirror.so not found; 2 usage error\n",
		SHIM_NAME, "<bin>/" MCM_REL_LIBDIR, MCM_LIBDIR, SHIM_NAME, mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

static int exe_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!(slash = strrchr(buf, '/')))
		return -1;
	*slash = '\0';
	return 0;
}

/* Is dir[/sub]/SHIM_NAME a readable file? Then its path is in out (PATH_MAX bytes). */
static int try_shim(char *out, size_t size, const char *dir, const char *sub)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s%s%s/%s", dir, sub ? "/" : "", sub ? sub : "", SHIM_NAME);

	if (n <= 0 || (size_t)n >= sizeof path || access(path, R_OK) != 0)
		return 0;
	if (size < PATH_MAX || !realpath(path, out)) /* without "..", for LD_PRELOAD and messages */
		return (size_t)snprintf(out, size, "%s", path) < size;
	return 1;
}

/* The library to preload, into out; 0, or -1 after a message. */
static int find_shim(char *out, size_t size)
{
	char dir[PATH_MAX];
	int have_dir = exe_dir(dir, sizeof dir) == 0;

	if (have_dir && (try_shim(out, size, dir, MCM_REL_LIBDIR) || try_shim(out, size, dir, "../shim")))
		return 0;
	if (try_shim(out, size, MCM_LIBDIR, NULL))
		return 0;
	mcm_cli_error(CMD, "cannot find '%s': not in '%s/%s', '%s/../shim' or '%s'; give it with --shim FILE",
		      SHIM_NAME, have_dir ? dir : "?", MCM_REL_LIBDIR, have_dir ? dir : "?", MCM_LIBDIR);
	return -1;
}

/* Is word one of the space- or colon-separated entries of list? */
static int in_preload(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " :");

		if (len == n && strncmp(p, word, n) == 0)
			return 1;
		p += len;
		p += strspn(p, " :");
	}
	return 0;
}

/* LD_PRELOAD with shim in front; 0, or an errno value. */
static int set_preload(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	char *value;
	int rc;

	if (old && *old && in_preload(old, shim))
		return 0;
	if (old && *old) {
		if (asprintf(&value, "%s:%s", shim, old) < 0)
			return ENOMEM;
	} else if (!(value = strdup(shim))) {
		return ENOMEM;
	}
	rc = setenv("LD_PRELOAD", value, 1) == 0 ? 0 : errno;
	free(value);
	return rc;
}

/* MCMIRROR_PATH=dir, made absolute: the command may change directory before its first write. */
static int set_mirror(const char *dir)
{
	char cwd[PATH_MAX], *abs;
	int rc;

	if (dir[0] == '/' || !getcwd(cwd, sizeof cwd))
		return setenv("MCMIRROR_PATH", dir, 1) == 0 ? 0 : errno;
	if (asprintf(&abs, "%s/%s", cwd, dir) < 0)
		return ENOMEM;
	rc = setenv("MCMIRROR_PATH", abs, 1) == 0 ? 0 : errno;
	free(abs);
	return rc;
}

static int valid_sync(const char *mode)
{
	return strcasecmp(mode, "always") == 0 || strcasecmp(mode, "everysec") == 0 || strcasecmp(mode, "none") == 0;
}

/* Set up the environment; MCM_EXIT_OK or an exit status after a message. */
static int prepare(const struct mcm_global *g, const char *mirror, const char *sync, const char *shim_opt)
{
	char shim[PATH_MAX];
	int rc;

	if (shim_opt) {
		if (strlen(shim_opt) >= sizeof shim) {
			mcm_cli_error(CMD, "cannot use '%s': %s", shim_opt, strerror(ENAMETOOLONG));
			return MCM_EXIT_FAIL;
		}
		if (access(shim_opt, R_OK) != 0) {
			mcm_cli_error(CMD, "cannot use '%s': %s", shim_opt, strerror(errno));
			return MCM_EXIT_FAIL;
		}
		strcpy(shim, shim_opt);
	} else if (find_shim(shim, sizeof shim) != 0) {
		return MCM_EXIT_FAIL;
	}
	if (strpbrk(shim, " :")) {
		mcm_cli_error(CMD, "cannot preload '%s': LD_PRELOAD cannot hold a path with a space or a colon", shim);
		return MCM_EXIT_FAIL;
	}
	rc = set_preload(shim);
	if (rc == 0 && mirror)
		rc = set_mirror(mirror);
	if (rc == 0 && sync && setenv("MCMIRROR_SYNC", sync, 1) != 0)
		rc = errno;
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot set the environment: %s", strerror(rc));
		return MCM_EXIT_FAIL;
	}
	if (g->verbose)
		fprintf(stderr, "mcmirror: run: LD_PRELOAD='%s' MCMIRROR_PATH='%s' MCMIRROR_SYNC='%s'\n",
			getenv("LD_PRELOAD"), getenv("MCMIRROR_PATH") ? getenv("MCMIRROR_PATH") : "(unset)",
			getenv("MCMIRROR_SYNC") ? getenv("MCMIRROR_SYNC") : "(unset)");
	return MCM_EXIT_OK;
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"mirror", required_argument, NULL, 'm'}, {"sync", required_argument, NULL, 's'},
		{"shim", required_argument, NULL, 'S'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *mirror = g->mirror, *sync = NULL, *shim = NULL;
	int c, rc;

	/* '+': the options end at COMMAND, whose own options are left alone */
	while ((c = getopt_long(argc, argv, "+m:s:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mirror = optarg;
			break;
		case 's':
			if (!valid_sync(optarg))
				return mcm_cli_usage_error(CMD, "invalid --sync '%s': use always, everysec or none", optarg);
			sync = optarg;
			break;
		case 'S':
			shim = optarg;
			break;
		case 'h':
			usage(stdout, g);
			return MCM_EXIT_OK;
		default:
			return mcm_cli_usage_error(CMD, "unknown option");
		}
	}
	if (optind >= argc)
		return mcm_cli_usage_error(CMD, "no command given");
	if (g->json)
		return mcm_cli_usage_error(CMD, "--json: run prints nothing of its own (COMMAND's output is COMMAND's)");
	if (mirror && !*mirror)
		return mcm_cli_usage_error(CMD, "empty mirror directory");
	if ((rc = prepare(g, mirror, sync, shim)) != MCM_EXIT_OK)
		return rc;
	fflush(stdout);
	execvp(argv[optind], argv + optind);
	rc = errno;
	mcm_cli_error(CMD, "cannot run '%s': %s", argv[optind], strerror(rc));
	return rc == ENOENT || rc == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}

const struct mcm_cmd mcm_cmd_run = {
	.name = "run",
	.run = run,
	.summary = "run a program with libmcmirror.so preloaded (like eatmydata)",
};
