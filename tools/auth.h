/* auth.h - the credentials the tool presents to memcached servers that require authentication.
 *
 * They come from a file readable only by its owner (--auth-file FILE, else
 * the file $MCMIRROR_AUTH_FILE names), never from the command line:
 *
 *     # mcmirror credentials
 *     mechanism authfile
 *     user restore
 *     password correct-horse-battery-staple
 *
 * One setting per line, the name, blanks, then the value to the end of the
 * line (a SASL password may hold blanks; a trailing "\r" is dropped); '#' starts a
 * comment line; blank lines are skipped. Settings:
 *   mechanism  authfile: memcached's text-protocol authentication (-Y FILE:
 *              its lines are user:password); plain: SASL PLAIN (-S), which
 *              memcached speaks only over the binary protocol, so every
 *              connection to the servers then uses it
 *   user       the user name (no blanks; 1-255 bytes)
 *   password   the password (1-255 bytes; without blanks for authfile:
 *              memcached splits the token on them)
 * All three are required. The file is refused when its group or others have
 * any permission (mode & 077), unless it is inside $CREDENTIALS_DIRECTORY
 * (systemd's LoadCredential=, which systemd itself keeps private to the
 * service; it may grant that with an ACL, which shows as group bits).
 *
 * Neither the user nor the password is ever printed: a message names the
 * file and the line.
 */
#ifndef MCM_AUTH_H
#define MCM_AUTH_H

#include <stddef.h>

/** How the credentials are presented. */
enum mcm_auth_mech {
	MCM_AUTH_AUTHFILE = 1, /**< text protocol: `set <key> <flags> <ttl> <len>` + "user password" (memcached -Y) */
	MCM_AUTH_PLAIN = 2     /**< SASL PLAIN over the binary protocol (memcached -S) */
};

#define MCM_AUTH_FIELD_MAX 255

struct mcm_auth {
	enum mcm_auth_mech mech;
	char user[MCM_AUTH_FIELD_MAX + 1];
	size_t user_len;
	char password[MCM_AUTH_FIELD_MAX + 1];
	size_t password_len;
	char path[512]; /**< the file, for messages */
};

/** Read a credentials file.
 * @param[out] a the credentials (wiped on failure)
 * @param[in] path the file
 * @param[out] why on failure, e.g. "credentials file '/etc/x' is readable by its
 *             group or others (mode 0640): make it private to its owner (chmod 600)",
 *             "credentials file '/etc/x' line 3: unknown setting: ..." (the line is never echoed)
 * @return 0, or -1 with why set. */
int mcm_auth_load(struct mcm_auth *a, const char *path, char *why, size_t why_size);

/** Overwrite the secrets in a (explicit_bzero). */
void mcm_auth_wipe(struct mcm_auth *a);

/** "authfile" or "plain". */
const char *mcm_auth_mech_name(enum mcm_auth_mech m);

#endif
