/* owner.c - root acting as the owner of a mirror directory, so that what it creates there stays
 * the owner's (the applications that write the mirror run as that user). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "mcmirror.h"

int mcm_cli_mirror_owner(const char *dir, struct mcm_cli_ids *ids)
{
	struct stat sb;
	int n;

	memset(ids, 0, sizeof *ids);
	if (geteuid() != 0)
		return 0;
	if (stat(dir, &sb) != 0) { /* not there yet: it will be created in its parent, as the parent's owner */
		char *parent = mcm_fsutil_dirname(dir);
		int rc = parent ? stat(parent, &sb) : -1;

		free(parent);
		if (rc != 0)
			return 0;
	}
	if (sb.st_uid == 0)
		return 0;
	if ((n = getgroups(0, NULL)) < 0 || !(ids->groups = calloc((size_t)n + 1, sizeof(gid_t))) ||
	    (n = getgroups(n, (gid_t *)ids->groups)) < 0) {
		free(ids->groups);
		ids->groups = NULL;
		return 0;
	}
	ids->ngroups = n;
	ids->saved_gid = getegid();
	ids->uid = sb.st_uid;
	ids->gid = sb.st_gid;
	return 1;
}

int mcm_cli_become(const char *cmd, const char *dir, struct mcm_cli_ids *ids)
{
	gid_t groups[1] = {(gid_t)ids->gid};
	struct passwd *pw;
	int err;

	if (ids->uid == 0 || ids->switched)
		return 0;
	if (setgroups(1, groups) == 0 && setegid((gid_t)ids->gid) == 0 && seteuid((uid_t)ids->uid) == 0) {
		ids->switched = 1;
		return 0;
	}
	err = errno;
	ids->switched = 1; /* whatever was changed goes back */
	mcm_cli_become_self(ids);
	pw = getpwuid((uid_t)ids->uid);
	mcm_cli_error(cmd, "cannot act as '%s', the owner of '%s': %s; run 'runuser -u %s -- mcmirror ...'",
		      pw ? pw->pw_name : "?", dir, strerror(err), pw ? pw->pw_name : "OWNER");
	return -1;
}

int mcm_cli_become_owner(const char *cmd, const char *dir, struct mcm_cli_ids *ids)
{
	if (!mcm_cli_mirror_owner(dir, ids))
		return 0;
	if (mcm_cli_become(cmd, dir, ids) == 0)
		return 0;
	free(ids->groups);
	memset(ids, 0, sizeof *ids);
	return -1;
}

void mcm_cli_become_self(struct mcm_cli_ids *ids)
{
	if (ids->switched) {
		/* back to root first: only root may set the ids and groups */
		if (seteuid(0) != 0 || setegid((gid_t)ids->saved_gid) != 0 ||
		    setgroups((size_t)ids->ngroups, (gid_t *)ids->groups) != 0) {
			mcm_cli_error(NULL, "cannot return to the user that started mcmirror: %s", strerror(errno));
			exit(MCM_EXIT_FAIL);
		}
	}
	ids->switched = 0;
}

void mcm_cli_ids_free(struct mcm_cli_ids *ids)
{
	mcm_cli_become_self(ids);
	free(ids->groups);
	memset(ids, 0, sizeof *ids);
}

int mcm_cli_give_to_owner(const struct mcm_cli_ids *ids, const char *path)
{
	if (ids->uid == 0)
		return 0;
	return lchown(path, (uid_t)ids->uid, (gid_t)ids->gid) == 0 ? 0 : errno;
}

