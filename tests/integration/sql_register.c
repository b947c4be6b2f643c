/* sql_register.c - register a follower in a mirror before the application writes (external-store tests).
 *
 * usage: sql_register DIR NAME
 *   Opens the mirror DIR (created if missing) and registers the follower NAME
 *   at position 0 unless it is registered already, as `mcmirror follow` does
 *   when it first runs. From then on the mirror keeps tombstones for it, also
 *   of keys this host deletes without having written them (another host's):
 *   a test registers the follower first so that none of its host's writes
 *   come before. Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <string.h>

#include "mcm_store.h"

int main(int argc, char **argv)
{
	struct mcm_store *st;
	struct mcm_follower f;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: sql_register DIR NAME\n");
		return 2;
	}
	if ((rc = mcm_store_open(&st, argv[1], MCM_STORE_CREATE, 0)) != 0) {
		fprintf(stderr, "sql_register: cannot open mirror '%s': %s\n", argv[1], mcm_strerror(rc));
		return 1;
	}
	if (mcm_follower_get(st, argv[2], &f) != 0) {
		memset(&f, 0, sizeof f);
		snprintf(f.name, sizeof f.name, "%s", argv[2]);
		f.registered_us = mcm_now_us();
		if ((rc = mcm_follower_put(st, &f)) != 0) {
			fprintf(stderr, "sql_register: cannot register '%s' in '%s': %s\n", argv[2], argv[1], mcm_strerror(rc));
			mcm_store_close(st);
			return 1;
		}
	}
	mcm_store_close(st);
	return 0;
}
