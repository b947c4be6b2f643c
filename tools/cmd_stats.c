/* cmd_stats.c - placeholder until the command is written. */
#include "mcmirror.h"

static int run(const struct mcm_global *g, int argc, char **argv)
{
	(void)g; (void)argc; (void)argv;
	mcm_cli_error("stats", "not implemented yet");
	return MCM_EXIT_FAIL;
}

const struct mcm_cmd mcm_cmd_stats = {"stats", run, "(not implemented yet)"};
