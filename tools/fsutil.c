/* fsutil.c - durable renames, output files that never damage what is there, removal of mirror directories. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <signal.h>
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

/* "/dev/stdout" and the like: the descriptor they name, or -1. */
static int named_descriptor(const char *path)
{
	static const char *const prefixes[] = {"/dev/fd/", "/proc/self/fd/"};
	char *end;
	long n;

	if (strcmp(path, "/dev/stdout") == 0)
		return 1;
	if (strcmp(path, "/dev/stderr") == 0)
		return 2;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t len = strlen(prefixes[i]);

		if (strncmp(path, prefixes[i], len) != 0 || !path[len])
			continue;
		errno = 0;
		n = strtol(path + len, &end, 10);
		if (!errno && !*end && n >= 0 && n < 1 << 20)
			return (int)n;
	}
	return -1;
}

/* Follow the symbolic links of path's last component (the directories may be
 * links: a rename works through them). @return a malloc'd path, or NULL. */
static char *resolve_links(const char *path)
{
	char *p = strdup(path);
	struct stat sb;

	for (int hops = 0; p && hops < 40 && lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode); hops++) {
		char target[PATH_MAX], *next;
		ssize_t n = readlink(p, target, sizeof target - 1);
		const char *slash = strrchr(p, '/');

		if (n <= 0)
			break;
		target[n] = '\0';
		if (target[0] == '/' || !slash)
			next = strdup(target);
		else
			next = mcm_fsutil_path("%.*s/%s", (int)(slash - p), p, target);
		free(p);
		p = next;
	}
	return p;
}

int mcm_fsutil_output_open(struct mcm_output *o, const char *path)
{
	int fd = named_descriptor(path), keep_owner = 0;
	struct stat sb;

	memset(o, 0, sizeof *o);
	o->fd = -1;
	if (fd >= 0) {
		if ((o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
			return errno;
		o->through = 1;
		return 0;
	}
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return EISDIR;
		if (S_ISSOCK(sb.st_mode))
			return ENXIO;
		if (!S_ISREG(sb.st_mode)) { /* a device or a FIFO: write into it, never replace it */
			if ((o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0)
				return errno;
			o->through = 1;
			return 0;
		}
		keep_owner = 1;
	} else if (errno != ENOENT) {
		return errno;
	}
	if (!(o->final = resolve_links(path)) || !(o->tmp = mcm_fsutil_path("%s.tmp.XXXXXX", o->final)))
		return ENOMEM;
	if ((o->fd = mkostemp(o->tmp, O_CLOEXEC)) < 0) {
		int err = errno;

		free(o->tmp);
		o->tmp = NULL;
		return err;
	}
	if (keep_owner && geteuid() == 0 && (sb.st_uid != 0 || sb.st_gid != 0))
		(void)!fchown(o->fd, sb.st_uid, sb.st_gid); /* root replacing a user's file: it stays theirs */
	return 0;
}

int mcm_fsutil_output_close(struct mcm_output *o, int keep)
{
	int rc = 0;

	if (keep && fsync(o->fd) != 0 && !(o->through && (errno == EINVAL || errno == EROFS || errno == ENOTSUP)))
		rc = errno; /* a pipe or a terminal cannot be synced: nothing to do */
	if (o->fd >= 0 && close(o->fd) != 0 && keep && !rc)
		rc = errno;
	o->fd = -1;
	if (o->tmp) {
		if (keep && !rc && rename(o->tmp, o->final) != 0)
			rc = errno;
		if (!keep || rc)
			unlink(o->tmp);
		else
			rc = mcm_fsutil_sync_parent(o->final);
	}
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
	return rc;
}

char *mcm_fsutil_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

const char *mcm_fsutil_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Does pid run as mcmirror? (A pid reused by another program does not count.) */
static int runs_mcmirror(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	if (!(f = fopen(path, "r")))
		return 1; /* no /proc: trust kill */
	if (!fgets(comm, sizeof comm, f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "mcmirror", 8) == 0;
}

static long pid_after(const char *name, size_t head)
{
	char *end;
	long pid;

	if (head == 0 || name[head] < '1' || name[head] > '9')
		return 0;
	errno = 0;
	pid = strtol(name + head, &end, 10);
	return errno || *end || pid <= 0 ? 0 : pid;
}

size_t mcm_fsutil_reap(const char *dir, mcm_fsutil_match *match, const void *ctx, struct mcm_stale **out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0, cap = 0;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		long pid = pid_after(e->d_name, match(e->d_name, ctx));
		struct mcm_stale *s;

		if (!pid || pid == (long)getpid())
			continue;
		if (n == cap) {
			struct mcm_stale *more = realloc(*out, (cap = cap ? 2 * cap : 4) * sizeof *more);
			if (!more)
				break;
			*out = more;
		}
		s = &(*out)[n];
		memset(s, 0, sizeof *s);
		if (!(s->path = strcmp(dir, ".") == 0 ? strdup(e->d_name) : mcm_fsutil_path("%s/%s", dir, e->d_name)))
			break;
		s->pid = pid;
		if ((s->alive = runs_mcmirror(pid)) == 0)
			s->err = mcm_fsutil_remove_mirror(s->path);
		n++;
	}
	closedir(d);
	return n;
}

void mcm_fsutil_reap_free(struct mcm_stale *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].path);
	free(list);
}
