/* main.c - the mcmirror command line: global options, then one command from the table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_store.h"
#include "mcmirror.h"

static const struct mcm_cmd *const commands[] = {
	&mcm_cmd_replay, &mcm_cmd_verify, &mcm_cmd_stats, &mcm_cmd_dump, &mcm_cmd_run,
	&mcm_cmd_snapshot, &mcm_cmd_load, &mcm_cmd_import, &mcm_cmd_compact,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void help(FILE *out)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] [-q | -v] <command> [options] [args]\n"
		"\n"
		"Warm memcached back from the mirror that libmcmirror.so keeps, and inspect it.\n"
		"\n"
		"global options:\n"
		"  -m, --mirror DIR  the mirror directory (default: $MCMIRROR_PATH, else %s;\n"
		"                    now '%s')\n"
		"  -q, --quiet       no progress, only errors\n"
		"  -v, --verbose     more detail on stderr (repeatable)\n"
		"  -h, --help        this help;  mcmirror <command> --help for a command's\n"
		"  -V, --version     print the version\n"
		"\n"
		"commands:\n",
		MCM_DEFAULT_PATH, mcm_store_default_path());
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mirror", required_argument, NULL, 'm'}, {"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	struct mcm_global g = {0};
	int c;

	/* '+' stops at the command name: its options are its own */
	while ((c = getopt_long(argc, argv, "+m:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			g.mirror = optarg;
			break;
		case 'q':
			g.quiet = 1;
			break;
		case 'v':
			g.verbose++;
			break;
		case 'h':
			help(stdout);
			return MCM_EXIT_OK;
		case 'V':
			printf("mcmirror %s (record format %d)\n", MCM_VERSION, MCM_FORMAT_VERSION);
			return MCM_EXIT_OK;
		default:
			return mcm_cli_usage_error(NULL, "unknown option");
		}
	}
	if (optind >= argc) {
		mcm_cli_error(NULL, "no command given");
		help(stderr);
		return MCM_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		help(stdout);
		return MCM_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[optind], commands[i]->name) == 0) {
			int first = optind;

			optind = 0; /* a fresh getopt for the command */
			return commands[i]->run(&g, argc - first, argv + first);
		}
	}
	return mcm_cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
}
