/* main.c - the mcmirror command line: global options, then one command from the table. */
#define MCM_CLI_OWN_GETOPT
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_store.h"
#include "mcmirror.h"

static const struct mcm_cmd *const commands[] = {
	&mcm_cmd_replay, &mcm_cmd_verify, &mcm_cmd_stats, &mcm_cmd_dump, &mcm_cmd_run,
	&mcm_cmd_snapshot, &mcm_cmd_load, &mcm_cmd_import, &mcm_cmd_follow, &mcm_cmd_compact,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void help(FILE *out)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] [-q | -v] [--json] <command> [options] [args]\n"
		"\n"
		"Warm memcached back from the mirror that libmcmirror.so keeps, and inspect it.\n"
		"\n"
		"global options (before or after the command name):\n"
		"  -m, --mirror DIR  the mirror directory (default: $MCMIRROR_PATH, else %s;\n"
		"                    now '%s')\n"
		"  -q, --quiet       no progress, only errors\n"
		"  -v, --verbose     more detail on stderr (repeatable)\n"
		"      --json        stats as JSON; replay, verify, import, load and snapshot\n"
		"                    end with a one-line JSON summary on stdout\n"
		"  -h, --help        this help;  mcmirror <command> --help (or mcmirror help\n"
		"                    <command>) for a command's\n"
		"  -V, --version     print the version\n"
		"\n"
		"commands:\n",
		MCM_DEFAULT_PATH, mcm_store_default_path());
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

static const struct mcm_cmd *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i]->name) == 0)
			return commands[i];
	return NULL;
}

/* The global options before the command name. @return -1 to go on, else an exit status. */
static int parse_global(int argc, char **argv, struct mcm_global *g)
{
	static const struct option opts[] = {
		{"mirror", required_argument, NULL, 'm'}, {"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	/* '+' stops at the command name: what follows is the command's (the global
	 * options there are taken by mcm_cli_getopt_long) */
	while ((c = getopt_long(argc, argv, "+:m:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			g->mirror = optarg;
			break;
		case 'q':
			g->quiet = 1;
			break;
		case 'v':
			g->verbose++;
			break;
		case 'j':
			g->json = 1;
			break;
		case 'h':
			help(stdout);
			return mcm_cli_check_stdout(NULL);
		case 'V':
			printf("mcmirror %s (mirror format %d)\n", MCM_VERSION, MCM_FORMAT_VERSION);
			return mcm_cli_check_stdout(NULL);
		case ':':
			return mcm_cli_usage_error(NULL, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return mcm_cli_usage_error(NULL, "unknown option '-%c'", optopt);
			return mcm_cli_usage_error(NULL, "unknown option '%.*s'", (int)strcspn(argv[optind - 1], "="),
						   argv[optind - 1]);
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct mcm_global g;
	const struct mcm_cmd *cmd;
	int rc, first;

	if ((rc = parse_global(argc, argv, &g)) >= 0)
		return rc;
	if (optind >= argc) {
		mcm_cli_error(NULL, "no command given");
		help(stderr);
		return MCM_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0 && optind + 1 >= argc) {
		help(stdout);
		return mcm_cli_check_stdout(NULL);
	}
	if (strcmp(argv[optind], "help") == 0) { /* help CMD is CMD --help */
		static char help_opt[] = "--help";

		if (optind + 2 < argc)
			return mcm_cli_usage_error(NULL, "help takes one command name, not '%s'", argv[optind + 2]);
		if (!(cmd = find(argv[optind + 1])))
			return mcm_cli_usage_error(NULL, "unknown command '%s'", argv[optind + 1]);
		argv[optind] = argv[optind + 1];
		argv[optind + 1] = help_opt;
		argc = optind + 2;
	} else if (!(cmd = find(argv[optind]))) {
		return mcm_cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
	}
	first = optind;
	optind = 0; /* a fresh getopt for the command */
	mcm_cli_bind_global(&g);
	rc = cmd->run(&g, argc - first, argv + first);
	if (mcm_cli_damaged_count()) { /* skipped, named, and never a success */
		mcm_cli_error(cmd->name, "%" PRIu64 " damaged records were skipped", mcm_cli_damaged_count());
		if (rc == MCM_EXIT_OK)
			rc = MCM_EXIT_FAIL;
	}
	/* whatever the command printed must have reached stdout (a full disk, a closed pipe) */
	if (rc == MCM_EXIT_OK && mcm_cli_check_stdout(cmd->name) != 0)
		rc = MCM_EXIT_FAIL;
	return rc;
}
