/* fsutil.c - durable renames and removal of mirror directories for `snapshot` and `load`. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

static int sync_fd_of(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		rc = errno;
	close(fd);
	return rc;
}

int mcm_fsutil_sync_file(const char *path)
{
	return sync_fd_of(path, O_RDONLY);
}

int mcm_fsutil_sync_dir(const char *dir)
{
	return sync_fd_of(dir, O_RDONLY | O_DIRECTORY);
}

int mcm_fsutil_sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int rc;

	if (!dir)
		return ENOMEM;
	rc = mcm_fsutil_sync_dir(dir);
	free(dir);
	return rc;
}

int mcm_fsutil_remove_mirror(const char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb", "CHECKSUM", "CHECKSUM.tmp"};
	int rc = 0;

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *p = mcm_fsutil_path("%s/%s", dir, files[i]);

		if (!p)
			return ENOMEM;
		if (unlink(p) != 0 && errno != ENOENT && rc == 0)
			rc = errno;
		free(p);
	}
	if (rmdir(dir) != 0 && errno != ENOENT && rc == 0)
		rc = errno;
	return rc;
}

int mcm_fsutil_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

int mcm_fsutil_has(const char *dir, const char *name)
{
	char *p = mcm_fsutil_path("%s/%s", dir, name);
	int yes = p && mcm_fsutil_exists(p);

	free(p);
	return yes;
}

char *mcm_fsutil_path(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}
