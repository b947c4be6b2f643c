/* options.c - the global options (--mirror, -q, -v, --json) wherever they appear, and one clean
 * error line for a bad option: the getopt_long every command calls (mcmirror.h maps it here). */
#define MCM_CLI_OWN_GETOPT
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcmirror.h"

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

