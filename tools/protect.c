/* protect.c - the --tls* and --auth-file options: parse, check, load into the guard every pipe connects with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "mcmirror.h"
#include "protect.h"
#include "tls.h"

/* What was loaded: one per process (the commands connect with one setting). */
static struct {
	struct mcm_pipe_guard guard;
	struct mcm_auth auth;
	int wipe_registered;
} loaded;

static void wipe(void)
{
	mcm_auth_wipe(&loaded.auth);
}

int mcm_protect_option(int c, const char *arg, struct mcm_protect_opts *o)
{
	switch (c) {
	case MCM_OPT_TLS:
		o->tls = 1;
		return 0;
	case MCM_OPT_TLS_CA:
		o->tls = 1;
		o->ca = arg;
		return 0;
	case MCM_OPT_TLS_CERT:
		o->tls = 1;
		o->cert = arg;
		return 0;
	case MCM_OPT_TLS_KEY:
		o->tls = 1;
		o->key = arg;
		return 0;
	case MCM_OPT_TLS_INSECURE:
		o->tls = 1;
		o->insecure = 1;
		return 0;
	case MCM_OPT_AUTH_FILE:
		o->auth_file = arg;
		return 0;
	default:
		return 1;
	}
}

static int load_tls(const char *cmd, const struct mcm_protect_opts *o)
{
	struct mcm_tls_opts to = {.ca = o->ca, .cert = o->cert, .key = o->key, .insecure = o->insecure};
	char why[800];

	if (o->key && !o->cert)
		return mcm_cli_usage_error(cmd, "--tls-key needs --tls-cert (the certificate of that key)");
	if (o->insecure && o->ca)
		return mcm_cli_usage_error(cmd, "--tls-insecure verifies nothing: it makes --tls-ca pointless");
	if (mcm_tls_create(&loaded.guard.tls, &to, why, sizeof why) != 0) {
		mcm_cli_error(cmd, "%s", why);
		return MCM_EXIT_FAIL;
	}
	return 0;
}

static int load_auth(const char *cmd, const char *path)
{
	char why[800];

	if (!loaded.wipe_registered)
		loaded.wipe_registered = atexit(wipe) == 0;
	if (mcm_auth_load(&loaded.auth, path, why, sizeof why) != 0) {
		mcm_cli_error(cmd, "%s", why);
		return MCM_EXIT_FAIL;
	}
	loaded.guard.auth = &loaded.auth;
	return 0;
}

int mcm_protect_load(const char *cmd, const struct mcm_protect_opts *o, const struct mcm_pipe_guard **guard)
{
	const char *file = o->auth_file;
	int rc;

	*guard = NULL;
	if (!file && (file = getenv("MCMIRROR_AUTH_FILE")) && !*file)
		file = NULL;
	if (o->tls && (rc = load_tls(cmd, o)) != 0)
		return rc;
	if (file && (rc = load_auth(cmd, file)) != 0)
		return rc;
	if (loaded.guard.tls || loaded.guard.auth)
		*guard = &loaded.guard;
	return 0;
}
