/* cmd_snapshot.c - `mcmirror snapshot`: a consistent copy of the mirror, taken while applications write.
 *
 * The journal is applied first, then LMDB copies the environment as it
 * stands in one read transaction (mcm_store_copy, compacted) into
 * OUT.tmp.<pid>. The copy's data.mdb is fsync'd, its SHA-256 written to
 * CHECKSUM in the same directory (sha256sum's format), the copy opened once
 * read-only as a check, and the directory renamed to OUT and its parent
 * fsync'd: a directory under the final name is always a complete snapshot.
 * A snapshot is a mirror without a journal: every command reads it with
 * --mirror OUT.
 *
 * Rotation: with --dir D, the snapshot is D/mirror-YYYYmmddTHHMMSSZ (UTC,
 * the time it was taken; a second one in the same second is
 * mirror-...Z-001, then -002...: names never collide and sort in the order
 * taken) and --keep N removes all but the newest N entries of D with exactly
 * that form of name.
 *
 * --force replaces OUT only when OUT is a snapshot (a directory holding
 * data.mdb and CHECKSUM and nothing else): never a user's directory or file.
 * A snapshot killed hard leaves OUT.tmp.<pid>: the next snapshot into the
 * same place removes it (once that process is gone) and says so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "mcm_store.h"
#include "mcmirror.h"
#include "sha256.h"

#define CMD "snapshot"
#define NAME_PREFIX "mirror-"
#define NAME_LEN (sizeof NAME_PREFIX - 1 + 16) /* mirror-YYYYmmddTHHMMSSZ */
#define SUFFIX_LEN 4                            /* -NNN, a later snapshot of the same second */
#define SUFFIX_MAX 999

struct snap_opts {
	const char *out;  /* OUT, or NULL with --dir */
	const char *dir;  /* --dir D */
	long long keep;   /* --keep N, 0 = keep all */
	int force;
};

struct snap {
	const struct mcm_global *g;
	const struct snap_opts *o;
	char *final;      /* OUT or D/mirror-... */
	char *tmp;        /* final.tmp.<pid> */
	char sha[65];
	uint64_t bytes, entries;
	double start;
	uint64_t rotated;  /* old snapshots removed by --keep */
	int published;     /* the snapshot is under its final name */
};

/* Is name exactly mirror-YYYYmmddTHHMMSSZ or mirror-YYYYmmddTHHMMSSZ-NNN? */
static int is_snapshot_name(const char *name)
{
	static const char form[] = "mirror-DDDDDDDDTDDDDDDZ-DDD";
	size_t len = strlen(name);

	if (len != NAME_LEN && len != NAME_LEN + SUFFIX_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (form[i] == 'D' ? (name[i] < '0' || name[i] > '9') : name[i] != form[i])
			return 0;
	return 1;
}

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] snapshot OUT [--force]\n"
		"       mcmirror [--mirror DIR] snapshot --dir D [--keep N]\n"
		"\n"
		"Copy the mirror, consistent at one point in time, into the directory OUT\n"
		"while applications keep writing: the journal is applied first, then LMDB\n"
		"copies one read transaction, compacted. OUT holds data.mdb and CHECKSUM\n"
		"(its SHA-256 in sha256sum's format: 'cd OUT && sha256sum -c CHECKSUM').\n"
		"OUT is a mirror: 'mcmirror --mirror OUT stats|dump|replay|verify' read it.\n"
		"It is written as OUT.tmp.<pid>, fsync'd, checked and renamed: a directory\n"
		"under the final name is always complete. The snapshot's path is printed\n"
		"on stdout (with --json, a JSON summary line instead). A OUT.tmp.<pid> left\n"
		"by a snapshot that was killed is removed (and named) by the next one.\n"
		"\n"
		"options:\n"
		"  -d, --dir D    write D/mirror-YYYYmmddTHHMMSSZ (UTC time of the snapshot,\n"
		"                 then -001, -002... for more in the same second; D is\n"
		"                 created 0700 if missing) instead of OUT\n"
		"  -k, --keep N   with --dir: afterwards remove all but the newest N\n"
		"                 snapshots in D (entries named mirror-YYYYmmddTHHMMSSZ or\n"
		"                 mirror-YYYYmmddTHHMMSSZ-NNN; nothing else in D is touched)\n"
		"                 (default: keep all)\n"
		"  -f, --force    replace an existing OUT that is a snapshot (a directory\n"
		"                 holding only data.mdb and CHECKSUM): atomically exchanged,\n"
		"                 then the old one removed; anything else is refused\n"
		"                 (default: refuse)\n"
		"  -h, --help     this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"SIGINT or SIGTERM: the temporary directory is removed, nothing is left\n"
		"under the final name, exit status 1.\n"
		"exit status: 0 snapshot written, 1 failure (also when its path cannot be\n"
		"printed), 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

static int parse_args(int argc, char **argv, const struct mcm_global *g, struct snap_opts *o)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'}, {"keep", required_argument, NULL, 'k'},
		{"force", no_argument, NULL, 'f'},     {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "d:k:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!*optarg)
				return mcm_cli_usage_error(CMD, "empty directory name");
			o->dir = optarg;
			break;
		case 'k':
			if ((o->keep = mcm_cli_parse_count(optarg)) < 1)
				return mcm_cli_usage_error(CMD, "bad --keep '%s': want a number of snapshots, at least 1",
							   optarg);
			break;
		case 'f':
			o->force = 1;
			break;
		case 'h':
			usage(stdout, g);
			return -1;
		default:
			return mcm_cli_usage_error(CMD, "unknown option");
		}
	}
	if (optind < argc)
		o->out = argv[optind++];
	if (optind < argc)
		return mcm_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (!o->out == !o->dir)
		return mcm_cli_usage_error(CMD, "give either OUT or --dir D");
	if (o->out && !*o->out)
		return mcm_cli_usage_error(CMD, "empty snapshot name");
	if (o->keep && !o->dir)
		return mcm_cli_usage_error(CMD, "--keep needs --dir (it rotates the snapshots of a directory)");
	if (o->force && o->dir)
		return mcm_cli_usage_error(CMD, "--force is for OUT: with --dir every snapshot gets a new name");
	return 0;
}

/* Is path a snapshot this command wrote: a real directory (not a link)
 * holding data.mdb and CHECKSUM, and nothing else but a lock.mdb that an
 * older version's reader may have added? @return 1, or 0 with why set. */
static int is_snapshot(const char *path, const char **why)
{
	struct stat sb;
	struct dirent *e;
	DIR *d;
	int data = 0, sum = 0, other = 0;

	if (lstat(path, &sb) != 0) {
		*why = strerror(errno);
		return 0;
	}
	if (!S_ISDIR(sb.st_mode)) {
		*why = S_ISLNK(sb.st_mode) ? "it is a symbolic link" : "it is not a directory";
		return 0;
	}
	if (!(d = opendir(path))) {
		*why = strerror(errno);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, "lock.mdb") == 0)
			continue;
		if (strcmp(e->d_name, "data.mdb") == 0)
			data = 1;
		else if (strcmp(e->d_name, "CHECKSUM") == 0)
			sum = 1;
		else
			other = 1;
	}
	closedir(d);
	*why = other ? "it holds other files than data.mdb and CHECKSUM" : !data ? "it holds no data.mdb"
	       : !sum ? "it holds no CHECKSUM" : NULL;
	return !*why;
}

/* "mirror-YYYYmmddTHHMMSSZ.tmp." or the same with its -NNN, or "<OUT>.tmp.": the head of a leftover. */
static size_t snapshot_tmp_head(const char *name, const void *ctx)
{
	const char *out = ctx;
	size_t len = strlen(out ? out : "");

	if (out)
		return strncmp(name, out, len) == 0 && strncmp(name + len, ".tmp.", 5) == 0 ? len + 5 : 0;
	for (len = NAME_LEN; len <= NAME_LEN + SUFFIX_LEN; len += SUFFIX_LEN) {
		char head[NAME_LEN + SUFFIX_LEN + 1];

		if (strlen(name) <= len + 5 || strncmp(name + len, ".tmp.", 5) != 0)
			continue;
		memcpy(head, name, len);
		head[len] = '\0';
		if (is_snapshot_name(head))
			return len + 5;
	}
	return 0;
}

/* Remove what snapshots killed hard left in the place this one goes. */
static void reap_leftovers(struct snap *s)
{
	char *dir = s->o->dir ? strdup(s->o->dir) : mcm_fsutil_dirname(s->final);
	const char *out = s->o->dir ? NULL : mcm_fsutil_basename(s->final);
	struct mcm_stale *list;
	size_t n;

	if (!dir)
		return;
	n = mcm_fsutil_reap(dir, snapshot_tmp_head, out, &list);
	for (size_t i = 0; i < n; i++) {
		if (list[i].alive)
			mcm_cli_warn(CMD, "'%s' belongs to a snapshot still running (process %ld)", list[i].path,
				     list[i].pid);
		else if (list[i].err)
			mcm_cli_warn(CMD, "cannot remove '%s', left by a snapshot that was killed (process %ld): %s",
				     list[i].path, list[i].pid, strerror(list[i].err));
		else
			mcm_cli_warn(CMD, "removed '%s', left by a snapshot that was killed (process %ld)", list[i].path,
				     list[i].pid);
	}
	mcm_fsutil_reap_free(list, n);
	free(dir);
}

/* Do a and b name one existing directory? */
static int same_place(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The final name: OUT, or D/mirror-<now> (D created when missing). */
static int pick_name(struct snap *s)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	const char *why;

	if (s->o->out) {
		s->final = strdup(s->o->out);
	} else {
		if (mkdir(s->o->dir, 0700) != 0 && errno != EEXIST) {
			mcm_cli_error(CMD, "cannot create directory '%s': %s", s->o->dir, strerror(errno));
			return -1;
		}
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		s->final = mcm_fsutil_path("%s/%s%s", s->o->dir, NAME_PREFIX, stamp);
	}
	if (!s->final || !(s->tmp = mcm_fsutil_path("%s.tmp.%ld", s->final, (long)getpid()))) {
		mcm_cli_error(CMD, "out of memory");
		return -1;
	}
	if (same_place(s->final, mcm_cli_mirror_path(s->g))) {
		mcm_cli_error(CMD, "'%s' is the mirror itself: write the snapshot elsewhere", s->final);
		return -1;
	}
	if (s->o->out && mcm_fsutil_exists(s->final) && !s->o->force) {
		mcm_cli_error(CMD, "'%s' already exists: give --force to replace it (a snapshot only)", s->final);
		return -1;
	}
	if (s->o->out && mcm_fsutil_exists(s->final) && !is_snapshot(s->final, &why)) {
		mcm_cli_error(CMD, "refusing to replace '%s': not a snapshot (%s)", s->final, why);
		return -1;
	}
	reap_leftovers(s);
	return 0;
}

/* SHA-256 of tmp/data.mdb into s->sha (its size into s->bytes). @return 0 or an errno value. */
static int digest(struct snap *s)
{
	char *path = mcm_fsutil_path("%s/data.mdb", s->tmp);
	struct mcm_sha256 ctx;
	static char buf[1 << 20];
	ssize_t n;
	int fd, rc = 0;

	if (!path)
		return ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno;
	mcm_sha256_init(&ctx);
	while (!mcm_cli_interrupted && (n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = errno;
			break;
		}
		mcm_sha256_update(&ctx, buf, (size_t)n);
		s->bytes += (uint64_t)n;
	}
	close(fd);
	mcm_sha256_hex(&ctx, s->sha);
	return rc;
}

/* tmp/CHECKSUM, in sha256sum's format, fsync'd. @return 0 or an errno value. */
static int write_checksum(struct snap *s)
{
	char *path = mcm_fsutil_path("%s/CHECKSUM", s->tmp);
	FILE *f;
	int fd, rc = 0;

	if (!path)
		return ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = errno;
		if (fd >= 0)
			close(fd);
		free(path);
		return rc;
	}
	if (fprintf(f, "%s  data.mdb\n", s->sha) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = errno ? errno : EIO;
	if (fclose(f) != 0 && !rc)
		rc = errno;
	free(path);
	return rc;
}

/* Every record of the copy checks (its CRC): a damaged one (copied as the
 * mirror held it) is named; the snapshot is kept, and the command ends with
 * exit status 1. @return 0 or an error of the walk. */
static int check_records(struct mcm_store *st)
{
	struct mcm_iter *it;
	struct mcm_item item;
	int rc = mcm_iter_open(st, MCM_ORDER_KEY, 0, &it);

	while (rc == 0 && !mcm_cli_interrupted && ((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED)) {
		if (rc == MCM_EDAMAGED)
			mcm_cli_damaged(CMD, &item);
		rc = 0;
	}
	mcm_iter_close(it);
	return rc == MCM_END ? 0 : rc;
}

/* Open the copy read-only as every reader will: it must be a mirror. Its
 * lock file is removed again: the snapshot holds data.mdb and CHECKSUM. */
static int check_copy(struct snap *s)
{
	struct mcm_store *st;
	struct mcm_store_info info;
	char *lock = mcm_fsutil_path("%s/lock.mdb", s->tmp);
	int rc = mcm_store_open(&st, s->tmp, MCM_STORE_RDONLY, 0);

	if (rc == 0) {
		if ((rc = mcm_store_info(st, &info)) == 0)
			s->entries = info.entries;
		if (rc == 0)
			rc = check_records(st);
		mcm_store_close(st);
	}
	if (lock)
		unlink(lock);
	free(lock);
	if (rc != 0)
		mcm_cli_error(CMD, "the copy in '%s' does not open as a mirror: %s", s->tmp, mcm_strerror(rc));
	return rc;
}

static int interrupted(void)
{
	if (!mcm_cli_interrupted)
		return 0;
	mcm_cli_error(CMD, "interrupted by signal %d: no snapshot written", (int)mcm_cli_interrupted);
	return 1;
}

/* Copy, sync, digest, check, into tmp. @return 0 or -1 after a message. */
static int make_copy(struct snap *s, struct mcm_store *st)
{
	char *data;
	int rc;

	if (mkdir(s->tmp, 0700) != 0) {
		mcm_cli_error(CMD, "cannot create '%s': %s", s->tmp, strerror(errno));
		free(s->tmp);
		s->tmp = NULL; /* not ours: leave it */
		return -1;
	}
	if ((rc = mcm_store_copy(st, s->tmp, 1)) != 0) {
		mcm_cli_error(CMD, "cannot copy mirror '%s' to '%s': %s", mcm_cli_mirror_path(s->g), s->tmp,
			      mcm_strerror(rc));
		return -1;
	}
	if (interrupted())
		return -1;
	if (!(data = mcm_fsutil_path("%s/data.mdb", s->tmp)))
		return -1;
	if (chmod(data, 0600) != 0) /* like the mirror's own files */
		rc = errno;
	if (rc == 0 && (rc = mcm_fsutil_sync_file(data)) == 0 && (rc = digest(s)) == 0 && !mcm_cli_interrupted)
		rc = write_checksum(s);
	free(data);
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot write '%s': %s", s->tmp, strerror(rc));
		return -1;
	}
	if (interrupted() || check_copy(s) != 0)
		return -1;
	if ((rc = mcm_fsutil_sync_dir(s->tmp)) != 0) {
		mcm_cli_error(CMD, "cannot sync '%s': %s", s->tmp, strerror(rc));
		return -1;
	}
	return 0;
}

/* With --dir: the highest -NNN already taken by a snapshot of final's second
 * (0: none), so that a new one always sorts after the ones before it. */
static int last_suffix(const struct snap *s)
{
	const char *base = mcm_fsutil_basename(s->final);
	struct dirent *e;
	DIR *d = opendir(s->o->dir);
	int last = 0;

	while (d && (e = readdir(d)) != NULL) {
		if (strlen(e->d_name) == NAME_LEN + SUFFIX_LEN && strncmp(e->d_name, base, NAME_LEN) == 0 &&
		    is_snapshot_name(e->d_name) && atoi(e->d_name + NAME_LEN + 1) > last)
			last = atoi(e->d_name + NAME_LEN + 1);
	}
	if (d)
		closedir(d);
	return last;
}

/* With --dir: the next free name of the same second, D/mirror-...Z-NNN. */
static int next_name(struct snap *s, int n)
{
	char *next = mcm_fsutil_path("%.*s-%03d", (int)(strlen(s->o->dir) + 1 + NAME_LEN), s->final, n);

	if (!next)
		return -1;
	free(s->final);
	s->final = next;
	return 0;
}

/* --force: exchange tmp and the old snapshot, which tmp then names (the
 * cleanup removes it). Whatever was exchanged that is not a snapshot (it
 * changed since pick_name looked) goes back. @return 0 or an errno value. */
static int replace(struct snap *s)
{
	const char *why;

	if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->final, RENAME_EXCHANGE) != 0)
		return errno;
	if (is_snapshot(s->tmp, &why))
		return 0;
	if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->final, RENAME_EXCHANGE) != 0)
		mcm_cli_error(CMD, "'%s' was replaced meanwhile by something else, now at '%s': %s", s->final, s->tmp,
			      strerror(errno));
	else
		mcm_cli_error(CMD, "refusing to replace '%s': not a snapshot (%s)", s->final, why);
	free(s->tmp);
	s->tmp = NULL; /* not ours to remove */
	return EEXIST;
}

/* tmp becomes final: never over an existing one unless --force (a snapshot only). @return 0 or -1 after a message. */
static int publish(struct snap *s)
{
	int rc = 0, k;

	if (interrupted())
		return -1;
	/* k: the -NNN to try, 0 for none; after the highest taken, so names sort in the order taken */
	k = s->o->dir ? last_suffix(s) : 0;
	for (k = k ? k + 1 : 0;; k++) {
		if (k > SUFFIX_MAX || (k > 0 && next_name(s, k) != 0)) {
			rc = EEXIST;
			break;
		}
		if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->final, RENAME_NOREPLACE) == 0) {
			rc = 0;
			break;
		}
		if ((rc = errno) != EEXIST || !s->o->dir)
			break; /* with --dir: another snapshot of the same second, the next name */
	}
	if (rc == EEXIST && s->o->force) {
		if ((rc = replace(s)) == EEXIST)
			return -1;
	} else if (rc == EEXIST) {
		mcm_cli_error(CMD, "'%s' %s", s->final, s->o->dir ? "exists: too many snapshots in one second"
								  : "appeared meanwhile: give --force to replace it");
		return -1;
	}
	if (rc == 0 && (rc = mcm_fsutil_sync_parent(s->final)) == 0)
		return 0; /* with --force the old snapshot is now at tmp: cleanup removes it */
	mcm_cli_error(CMD, "cannot rename '%s' to '%s': %s", s->tmp, s->final, strerror(rc));
	return -1;
}

static int by_name_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Remove all but the newest N snapshots of D. @return 0, or -1 when one could not be removed. */
static int rotate(struct snap *s)
{
	DIR *d = opendir(s->o->dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int failed = 0;

	if (!d) {
		mcm_cli_error(CMD, "cannot list '%s' to rotate: %s", s->o->dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_snapshot_name(e->d_name))
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
			if (!more)
				break;
			names = more;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name_desc);
	for (size_t i = 0; i < n; i++) {
		char *path = i >= (size_t)s->o->keep ? mcm_fsutil_path("%s/%s", s->o->dir, names[i]) : NULL;
		int rc = path ? mcm_fsutil_remove_mirror(path) : 0;

		if (rc != 0) {
			mcm_cli_error(CMD, "cannot remove old snapshot '%s': %s", path, strerror(rc));
			failed = 1;
		} else if (path) {
			s->rotated++;
			if (s->g->verbose)
				mcm_cli_error(CMD, "removed old snapshot '%s'", path);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return failed ? -1 : 0;
}

static int snapshot(struct snap *s)
{
	struct mcm_store *st;
	int rc;

	s->start = mcm_cli_now();
	if (pick_name(s) != 0 || !(st = mcm_cli_open_mirror(s->g, CMD)))
		return MCM_EXIT_FAIL;
	mcm_cli_warn_incomplete(s->g, CMD);
	rc = make_copy(s, st);
	mcm_store_close(st);
	if (rc != 0 || publish(s) != 0)
		return MCM_EXIT_FAIL;
	s->published = 1;
	if (!s->g->json && (printf("%s\n", s->final) < 0 || fflush(stdout) != 0)) {
		if (errno != EPIPE)
			mcm_cli_error(CMD, "wrote '%s', but cannot print its path: %s", s->final, strerror(errno));
		rc = MCM_EXIT_FAIL;
	}
	if (!s->g->quiet)
		mcm_cli_error(CMD, "wrote '%s': %" PRIu64 " records, %" PRIu64 " bytes, sha256 %.16s... in %.2f s",
			      s->final, s->entries, s->bytes, s->sha, mcm_cli_now() - s->start);
	if (s->o->keep && rotate(s) != 0)
		return MCM_EXIT_FAIL;
	return rc ? MCM_EXIT_FAIL : MCM_EXIT_OK;
}

static void summary(const struct snap *s, int rc)
{
	struct mcm_json j;

	mcm_cli_summary_begin(&j, CMD, rc);
	mcm_json_str(&j, "path", s->published ? s->final : NULL);
	mcm_json_u64(&j, "records", s->entries);
	mcm_json_u64(&j, "bytes", s->bytes);
	mcm_json_str(&j, "sha256", s->published ? s->sha : NULL);
	mcm_json_u64(&j, "removed_old", s->rotated);
	mcm_json_double(&j, "seconds", s->start ? mcm_cli_now() - s->start : 0, 3);
	mcm_json_finish(&j);
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	struct snap_opts o = {0};
	struct snap s = {0};
	int rc;

	if ((rc = parse_args(argc, argv, g, &o)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_cli_signals();
	s.g = g;
	s.o = &o;
	rc = snapshot(&s);
	if (s.tmp && mcm_fsutil_exists(s.tmp) && (errno = mcm_fsutil_remove_mirror(s.tmp)) != 0)
		mcm_cli_warn(CMD, "cannot remove '%s': %s", s.tmp, strerror(errno));
	if (g->json)
		summary(&s, rc);
	free(s.final);
	free(s.tmp);
	return rc;
}

const struct mcm_cmd mcm_cmd_snapshot = {"snapshot", run, "copy the mirror, consistent, while applications write"};
