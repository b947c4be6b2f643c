/* protect.h - the options every memcached-facing command shares for protected servers: TLS and credentials.
 *
 * replay, verify, import (through target.h) and follow accept
 *   --tls, --tls-ca FILE, --tls-cert FILE, --tls-key FILE, --tls-insecure
 *   --auth-file FILE (else $MCMIRROR_AUTH_FILE)
 * and mcm_protect_load() turns them into the guard their pipes connect with
 * (pipe.h): one TLS context (tls.h) and the credentials read from the file
 * (auth.h). Any --tls-* option turns TLS on. What was loaded lives until the
 * process exits (the password is wiped then).
 */
#ifndef MCM_PROTECT_H
#define MCM_PROTECT_H

#include <getopt.h>

#include "pipe.h"

/* getopt_long values of the long-only options (past any character). */
enum {
	MCM_OPT_TLS = 0x5400,
	MCM_OPT_TLS_CA,
	MCM_OPT_TLS_CERT,
	MCM_OPT_TLS_KEY,
	MCM_OPT_TLS_INSECURE,
	MCM_OPT_AUTH_FILE,
};

/** The entries of a command's struct option table. */
#define MCM_PROTECT_LONG_OPTIONS                                                                                     \
	{"tls", no_argument, NULL, MCM_OPT_TLS}, {"tls-ca", required_argument, NULL, MCM_OPT_TLS_CA},                \
		{"tls-cert", required_argument, NULL, MCM_OPT_TLS_CERT},                                             \
		{"tls-key", required_argument, NULL, MCM_OPT_TLS_KEY},                                               \
		{"tls-insecure", no_argument, NULL, MCM_OPT_TLS_INSECURE},                                           \
		{"auth-file", required_argument, NULL, MCM_OPT_AUTH_FILE}

/** Their lines in a command's --help (no '%' in it: it goes into a format string). */
#define MCM_PROTECT_HELP                                                                                             \
	"      --tls                TLS to every TCP server (memcached -Z); a unix socket\n"                              \
	"                           stays plain (memcached speaks no TLS there)\n"                                       \
	"      --tls-ca FILE        trust the CAs in this PEM file (default: the\n"                                     \
	"                           system's); the server's certificate must name the\n"                                \
	"                           host or IP address it is given by\n"                                                 \
	"      --tls-cert FILE      present this client certificate (PEM), for a server\n"                              \
	"                           that asks for one (ssl_verify_mode)\n"                                              \
	"      --tls-key FILE       its private key (default: in the --tls-cert file)\n"                               \
	"      --tls-insecure       do not verify the server's certificate (test only)\n"                              \
	"      --auth-file FILE     credentials for servers that require them, from a\n"                              \
	"                           file only its owner may read (default:\n"                                           \
	"                           $MCMIRROR_AUTH_FILE): lines 'mechanism authfile'\n"                                \
	"                           (memcached -Y) or 'mechanism plain' (SASL, -S),\n"                                  \
	"                           'user NAME', 'password SECRET'\n"

/** What the options said. */
struct mcm_protect_opts {
	int tls;               /**< --tls, or any --tls-* option */
	const char *ca, *cert, *key;
	int insecure;
	const char *auth_file; /**< --auth-file */
};

/** Handle option c (as getopt_long returned it) with argument arg if it is one of these.
 * @return 0 handled, 1 not one of them. */
int mcm_protect_option(int c, const char *arg, struct mcm_protect_opts *o);

/** Check the options and load what they name: the TLS context, the
 * credentials (--auth-file, else $MCMIRROR_AUTH_FILE when set and not empty).
 * @param[out] guard what the pipes connect with (members NULL when unused);
 *             it stays valid until the process exits
 * @return 0; MCM_EXIT_USAGE after a usage message (--tls-key without
 *         --tls-cert, --tls-insecure with --tls-ca); MCM_EXIT_FAIL after a
 *         message naming the file and the reason (unreadable, not private,
 *         not PEM, no 'password' line...). */
int mcm_protect_load(const char *cmd, const struct mcm_protect_opts *o, const struct mcm_pipe_guard **guard);

#endif
