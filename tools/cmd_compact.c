/* cmd_compact.c - `mcmirror compact`: shrink data.mdb to the pages its records need, while nobody has it open.
 *
 * LMDB reuses the pages a sweep or a delete frees, so a mirror's file stops
 * growing once its records do; but it never gives pages back to the file
 * system. Compacting writes a copy without the free pages (LMDB's
 * mdb_env_copyfd2 with MDB_CP_COMPACT) and renames it over data.mdb.
 *
 * The rule: compact runs only when no process has the mirror's LMDB
 * environment open. A process that has the old data.mdb mapped would go on
 * using its pages, and the lock file (lock.mdb) holds the old file's
 * transaction number, which LMDB trusts over the data file: a process that
 * opened the new file through an old lock file could start writing from an
 * empty tree. So, in this order:
 *   1. the journal is applied (mcm_drain_catch_up) and the mirror opened
 *      once read-only as a check (its length, its format);
 *   2. the drain lock is taken without waiting (a program that writes
 *      through the shim holds it while it lives: refused);
 *   3. lock.mdb's byte 0 is locked exclusively with fcntl, the lock LMDB
 *      itself takes to decide that it is alone (each process holding the
 *      environment open holds it shared): refused, naming a process, when
 *      that fails. From then on any process that opens the environment waits
 *      in mdb_env_open. lock.mdb is emptied: should compact die now, such a
 *      waiter fails to open (EINVAL) instead of trusting a stale lock file,
 *      and the next opener finds itself alone and initialises it;
 *   4. the copy is written to data.mdb.compact.<pid> (owner and mode of
 *      data.mdb) from an environment opened without a lock file (nothing can
 *      write meanwhile), fsync'd, opened again and compared with the
 *      original (the entries of every database);
 *   5. it is renamed over data.mdb and the directory fsync'd; the old file
 *      (unlinked now) is emptied: a read-only open (LMDB opens the data file
 *      before it waits for lock.mdb) that waited holds it, and must fail on
 *      it rather than read it through the new lock file (mcm_store_open sees
 *      that data.mdb was replaced and opens again);
 *   6. the new file is opened through LMDB in this process while it still
 *      holds the lock: LMDB finds itself alone, initialises lock.mdb from the
 *      new file and downgrades to a shared lock, and the waiting processes go
 *      on with the new file.
 * Leftover data.mdb.compact.* files (a compact killed in step 4) are removed
 * once the locks are held.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fsutil.h"
#include "mcm_drain.h"
#include "mcm_store.h"
#include "mcmirror.h"

#define CMD "compact"
#define TMP_PREFIX "data.mdb.compact."
#define MAX_DBS 16

struct compact {
	const struct mcm_global *g;
	int dry_run;
	const char *dir;
	char *data, *lock, *tmp;   /* dir/data.mdb, dir/lock.mdb, dir/data.mdb.compact.<pid> */
	int drain_fd, lock_fd, tmp_fd;
	struct stat owner;         /* data.mdb's owner and mode, for the copy */
	uint64_t file_bytes;       /* data.mdb's size before */
	uint64_t used_bytes;       /* pages up to the last one in use */
	uint64_t free_bytes;       /* pages on LMDB's freelist (and the freelist's own) */
	uint64_t entries;          /* records */
	uint64_t new_bytes;
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] compact [--dry-run]\n"
		"\n"
		"Shrink the mirror's data.mdb to the pages its records need. LMDB reuses\n"
		"the pages the sweep frees, so the file stops growing, but it never gives\n"
		"them back to the file system; compact writes a copy without them and\n"
		"renames it over data.mdb.\n"
		"\n"
		"It runs only while no process has the mirror open: the programs that write\n"
		"through libmcmirror.so, other mcmirror commands. Stop them first (a\n"
		"maintenance window, a restart); a process that opens the mirror while\n"
		"compact runs waits until it is done. It needs free disk space for the\n"
		"compacted copy.\n"
		"\n"
		"options:\n"
		"  -n, --dry-run  only print, on stdout, the file's size, the bytes in use,\n"
		"                 the free bytes compact would give back, and whether a\n"
		"                 process has the mirror open (default: compact)\n"
		"  -h, --help     this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"exit status: 0 compacted (or --dry-run printed), 1 failure (the mirror is in\n"
		"use, missing or unreadable, the disk is full; data.mdb is then unchanged),\n"
		"2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

/* @return 0 to go on, -1 after --help, or MCM_EXIT_USAGE. */
static int parse_args(int argc, char **argv, const struct mcm_global *g, struct compact *c)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			c->dry_run = 1;
			break;
		case 'h':
			usage(stdout, g);
			return -1;
		default:
			return mcm_cli_usage_error(CMD, "unknown option");
		}
	}
	if (optind < argc)
		return mcm_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Pages on the freelist of txn, the freelist's own pages included. */
static int free_pages(MDB_txn *txn, uint64_t *pages)
{
	MDB_cursor *cur;
	MDB_stat fs;
	MDB_val k, v;
	int rc;

	*pages = 0;
	if ((rc = mdb_stat(txn, 0, &fs)) != 0 || (rc = mdb_cursor_open(txn, 0, &cur)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
		if (v.mv_size >= sizeof(size_t))
			*pages += *(const size_t *)v.mv_data; /* an MDB_IDL: its count first */
	mdb_cursor_close(cur);
	*pages += fs.ms_branch_pages + fs.ms_leaf_pages + fs.ms_overflow_pages;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Open the environment of path read-only; flags: MDB_NOLOCK, MDB_NOSUBDIR. */
static int env_open(MDB_env **env, const char *path, unsigned flags)
{
	int rc;

	if ((rc = mdb_env_create(env)) != 0)
		return rc;
	mdb_env_set_maxdbs(*env, MAX_DBS);
	if ((rc = mdb_env_open(*env, path, MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD | flags, 0600)) != 0) {
		mdb_env_close(*env);
		*env = NULL;
	}
	return rc;
}

/* A read transaction; adopts a map another process grew. */
static int begin_read(MDB_env *env, MDB_txn **txn)
{
	int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, txn);

	if (rc == MDB_MAP_RESIZED && (rc = mdb_env_set_mapsize(env, 0)) == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, txn);
	return rc;
}

/* used_bytes and free_bytes of env. */
static int measure(struct compact *c, MDB_env *env)
{
	MDB_envinfo ei;
	MDB_stat es;
	MDB_txn *txn;
	uint64_t pages;
	int rc;

	if ((rc = begin_read(env, &txn)) != 0)
		return rc;
	mdb_env_info(env, &ei);
	mdb_env_stat(env, &es);
	rc = free_pages(txn, &pages);
	mdb_txn_abort(txn);
	c->used_bytes = ((uint64_t)ei.me_last_pgno + 1) * es.ms_psize;
	c->free_bytes = pages * es.ms_psize;
	return rc;
}

/* The pid of a process holding lock.mdb's byte 0 (0: none found). */
static pid_t lock_holder(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

	return fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? fl.l_pid : 0;
}

/* The pid that holds the flock of the file fd is open on, from /proc/locks (0: none found). */
static pid_t flock_holder(int fd)
{
	char line[256], dev[64];
	unsigned long long ino;
	struct stat sb;
	long pid;
	FILE *f;

	if (fstat(fd, &sb) != 0 || !(f = fopen("/proc/locks", "r")))
		return 0;
	snprintf(dev, sizeof dev, "%02x:%02x:", major(sb.st_dev), minor(sb.st_dev));
	while (fgets(line, sizeof line, f)) {
		char kind[16], where[96];

		/* "1: FLOCK  ADVISORY  WRITE 812 fd:01:1234 0 EOF" */
		if (sscanf(line, "%*s %15s %*s %*s %ld %95s", kind, &pid, where) != 3 || strcmp(kind, "FLOCK") != 0 ||
		    strncmp(where, dev, strlen(dev)) != 0 || sscanf(where + strlen(dev), "%llu", &ino) != 1 ||
		    ino != (unsigned long long)sb.st_ino)
			continue;
		fclose(f);
		return (pid_t)pid;
	}
	fclose(f);
	return 0;
}

/* " (NAME)" for pid, from /proc, or "". */
static void process_name(pid_t pid, char *buf, size_t size)
{
	char path[64], name[64] = "";
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(name, sizeof name, f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
	}
	snprintf(buf, size, "%s%s%s", *name ? " (" : "", name, *name ? ")" : "");
}

static void refuse_in_use(const struct compact *c, pid_t pid, const char *what)
{
	char name[80] = "";

	if (pid > 0)
		process_name(pid, name, sizeof name);
	if (pid > 0)
		mcm_cli_error(CMD, "mirror '%s' is in use: process %ld%s %s", c->dir, (long)pid, name, what);
	else
		mcm_cli_error(CMD, "mirror '%s' is in use: a process %s", c->dir, what);
	mcm_cli_error(CMD, "stop the programs that write through libmcmirror.so and other mcmirror "
		      "commands on it, then run compact again (the file does not grow meanwhile: LMDB "
		      "reuses its free pages)");
}

/* Step 1: the journal applied, the mirror checked; its size, records, owner. */
static int check_mirror(struct compact *c)
{
	struct mcm_store_info info;
	struct mcm_store *st = mcm_cli_open_mirror(c->g, CMD);
	int rc;

	if (!st)
		return -1;
	rc = mcm_store_info(st, &info);
	mcm_store_close(st);
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", c->dir, mcm_strerror(rc));
		return -1;
	}
	c->entries = info.entries;
	if (stat(c->data, &c->owner) != 0) {
		mcm_cli_error(CMD, "cannot read '%s': %s", c->data, strerror(errno));
		return -1;
	}
	c->file_bytes = (uint64_t)c->owner.st_size;
	return 0;
}

/* Steps 2 and 3: the drain lock, then lock.mdb's byte 0, exclusively. */
static int take_locks(struct compact *c)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	struct stat sb;
	int rc, created;

	if ((rc = mcm_drain_lock_open(c->dir, &c->drain_fd)) != 0) {
		mcm_cli_error(CMD, "cannot open the drain lock of '%s': %s", c->dir, strerror(rc));
		return -1;
	}
	if ((rc = mcm_drain_lock_take(c->drain_fd, 0)) != 0) {
		pid_t pid = flock_holder(c->drain_fd);

		if (rc != EWOULDBLOCK) {
			mcm_cli_error(CMD, "cannot take the drain lock of '%s': %s", c->dir, strerror(rc));
			return -1;
		}
		refuse_in_use(c, pid, "holds its drain lock (it writes through the shim)");
		return -1;
	}
	created = stat(c->lock, &sb) != 0;
	if ((c->lock_fd = open(c->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		mcm_cli_error(CMD, "cannot open '%s': %s", c->lock, strerror(errno));
		return -1;
	}
	if (created && (c->owner.st_uid != geteuid() || c->owner.st_gid != getegid()) &&
	    fchown(c->lock_fd, c->owner.st_uid, c->owner.st_gid) != 0) {
		mcm_cli_error(CMD, "cannot give '%s' to the mirror's owner: %s", c->lock, strerror(errno));
		return -1;
	}
	if (fcntl(c->lock_fd, F_SETLK, &fl) != 0) {
		if (errno != EAGAIN && errno != EACCES) {
			mcm_cli_error(CMD, "cannot lock '%s': %s", c->lock, strerror(errno));
			return -1;
		}
		refuse_in_use(c, lock_holder(c->lock_fd), "has it open");
		return -1;
	}
	return 0;
}

/* Remove data.mdb.compact.* left by a compact that was killed (the locks are held). */
static void remove_leftovers(struct compact *c)
{
	DIR *d = opendir(c->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strncmp(e->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) != 0 ||
		    !(p = mcm_fsutil_path("%s/%s", c->dir, e->d_name)))
			continue;
		if (unlink(p) == 0 && c->g->verbose)
			mcm_cli_error(CMD, "removed '%s' (left by a compact that was interrupted)", p);
		free(p);
	}
	closedir(d);
}

/* Is there room for the copy? */
static int check_room(const struct compact *c)
{
	struct statvfs vfs;
	uint64_t need = c->used_bytes - (c->free_bytes < c->used_bytes ? c->free_bytes : 0), have;

	if (statvfs(c->dir, &vfs) != 0)
		return 0; /* the copy will say */
	have = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (have >= need)
		return 0;
	mcm_cli_error(CMD, "not enough free space in '%s' for the compacted copy: it needs about %" PRIu64
		      " bytes, %" PRIu64 " are free", c->dir, need, have);
	return -1;
}

/* The tmp file, with data.mdb's owner and mode. */
static int create_tmp(struct compact *c)
{
	if ((c->tmp_fd = open(c->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		mcm_cli_error(CMD, "cannot create '%s': %s", c->tmp, strerror(errno));
		return -1;
	}
	if ((c->owner.st_uid != geteuid() || c->owner.st_gid != getegid()) &&
	    fchown(c->tmp_fd, c->owner.st_uid, c->owner.st_gid) != 0) {
		mcm_cli_error(CMD, "cannot give '%s' to the owner of '%s' (uid %ld): %s: run compact as that user",
			      c->tmp, c->data, (long)c->owner.st_uid, strerror(errno));
		return -1;
	}
	if (fchmod(c->tmp_fd, c->owner.st_mode & 07777) != 0) {
		mcm_cli_error(CMD, "cannot set the mode of '%s': %s", c->tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* The entries of the main database and of every named one, as a list. */
static int count_entries(MDB_env *env, size_t counts[MAX_DBS + 1], size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_stat ms;
	MDB_dbi main_dbi;
	int rc;

	*n = 0;
	if ((rc = begin_read(env, &txn)) != 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) == 0 && (rc = mdb_stat(txn, main_dbi, &ms)) == 0) {
		counts[(*n)++] = ms.ms_entries;
		rc = mdb_cursor_open(txn, main_dbi, &cur);
	}
	while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0 && *n <= MAX_DBS) {
		char name[256];
		MDB_dbi dbi;

		if (k.mv_size >= sizeof name)
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((rc = mdb_dbi_open(txn, name, 0, &dbi)) == 0 && (rc = mdb_stat(txn, dbi, &ms)) == 0)
			counts[(*n)++] = ms.ms_entries;
	}
	if (cur)
		mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_txn_abort(txn);
	return rc;
}

/* Step 4: the compacted copy in tmp, synced, compared with the original. */
static int copy(struct compact *c)
{
	size_t before[MAX_DBS + 1], after[MAX_DBS + 1], nb = 0, na = 0;
	MDB_env *src = NULL, *dst = NULL;
	struct stat sb;
	int rc;

	if ((rc = env_open(&src, c->dir, MDB_NOLOCK)) != 0) {
		mcm_cli_error(CMD, "cannot open '%s': %s", c->data, mdb_strerror(rc));
		return -1;
	}
	if ((rc = measure(c, src)) == 0 && (rc = check_room(c)) == 0 && (rc = create_tmp(c)) == 0) {
		if ((rc = count_entries(src, before, &nb)) == 0 && (rc = mdb_env_copyfd2(src, c->tmp_fd, MDB_CP_COMPACT)) == 0)
			rc = fsync(c->tmp_fd) != 0 ? errno : 0;
		if (rc != 0)
			mcm_cli_error(CMD, "cannot write the compacted copy '%s': %s", c->tmp, mdb_strerror(rc));
	}
	mdb_env_close(src);
	if (rc != 0)
		return -1;
	if ((rc = env_open(&dst, c->tmp, MDB_NOLOCK | MDB_NOSUBDIR)) == 0) {
		rc = count_entries(dst, after, &na);
		mdb_env_close(dst);
	}
	if (rc == 0 && (na != nb || memcmp(before, after, na * sizeof *before) != 0))
		rc = MDB_CORRUPTED;
	if (rc != 0) {
		mcm_cli_error(CMD, "the compacted copy '%s' does not match the mirror: %s", c->tmp, mdb_strerror(rc));
		return -1;
	}
	if (fstat(c->tmp_fd, &sb) == 0)
		c->new_bytes = (uint64_t)sb.st_size;
	return 0;
}

/* Steps 5 and 6: the copy becomes data.mdb; LMDB initialises lock.mdb from it. */
static int swap(struct compact *c)
{
	struct mcm_store_info info;
	struct mcm_store *st;
	int rc, old = open(c->data, O_RDWR | O_CLOEXEC);

	if (old < 0 || rename(c->tmp, c->data) != 0) {
		mcm_cli_error(CMD, "cannot rename '%s' to '%s': %s", c->tmp, c->data, strerror(errno));
		if (old >= 0)
			close(old);
		return -1;
	}
	free(c->tmp);
	c->tmp = NULL;
	if ((rc = mcm_fsutil_sync_dir(c->dir)) != 0)
		mcm_cli_warn(CMD, "cannot sync directory '%s': %s", c->dir, strerror(rc));
	/* a read-only open that waits for the lock holds the old file already:
	 * emptied, it cannot be read (mcm_store_open then opens the new one) */
	if (ftruncate(old, 0) != 0)
		mcm_cli_warn(CMD, "cannot empty the old data file: %s", strerror(errno));
	close(old);
	if ((rc = mcm_store_open(&st, c->dir, MCM_STORE_RDONLY, 0)) == 0) {
		rc = mcm_store_info(st, &info);
		mcm_store_close(st);
	}
	if (rc == 0 && info.entries != c->entries)
		mcm_cli_warn(CMD, "'%s' holds %" PRIu64 " records, %" PRIu64 " before", c->data, info.entries,
			     c->entries);
	if (rc != 0) {
		mcm_cli_error(CMD, "the compacted mirror '%s' does not open: %s", c->dir, mcm_strerror(rc));
		return -1;
	}
	return 0;
}

/* --dry-run: the figures, and who has the mirror open (no lock taken). */
static int dry_run(struct compact *c)
{
	MDB_env *env;
	pid_t pid = 0;
	char name[80] = "";
	int rc, fd;

	if ((rc = env_open(&env, c->dir, 0)) == 0) {
		rc = measure(c, env);
		mdb_env_close(env);
	}
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read '%s': %s", c->data, mdb_strerror(rc));
		return MCM_EXIT_FAIL;
	}
	if ((fd = open(c->lock, O_RDONLY | O_CLOEXEC)) >= 0) {
		pid = lock_holder(fd);
		close(fd);
	}
	if (pid > 0)
		process_name(pid, name, sizeof name);
	printf("file_bytes: %" PRIu64 "\nused_bytes: %" PRIu64 "\nfree_bytes: %" PRIu64 "\nrecords: %" PRIu64
	       "\nin_use: ",
	       c->file_bytes, c->used_bytes, c->free_bytes, c->entries);
	if (pid > 0)
		printf("yes, process %ld%s\n", (long)pid, name);
	else
		printf("no\n");
	if (fflush(stdout) != 0) {
		mcm_cli_error(CMD, "cannot write to stdout: %s", strerror(errno));
		return MCM_EXIT_FAIL;
	}
	return MCM_EXIT_OK;
}

/* After a failure before the swap: lock.mdb, emptied, is initialised again
 * from the unchanged data.mdb (as in step 6), so that the processes waiting
 * for it go on. @return MCM_EXIT_FAIL. */
static int keep_old(struct compact *c)
{
	struct mcm_store *st;

	if (mcm_store_open(&st, c->dir, MCM_STORE_RDONLY, 0) == 0)
		mcm_store_close(st);
	return MCM_EXIT_FAIL;
}

static int compact(struct compact *c)
{
	double start = mcm_cli_now();

	if (check_mirror(c) != 0)
		return MCM_EXIT_FAIL;
	if (c->dry_run)
		return dry_run(c);
	if (take_locks(c) != 0)
		return MCM_EXIT_FAIL;
	/* from here on, a process that opens the mirror waits; one that woke
	 * should compact die would find no lock file content to trust */
	if (ftruncate(c->lock_fd, 0) != 0) {
		mcm_cli_error(CMD, "cannot reset '%s': %s", c->lock, strerror(errno));
		return MCM_EXIT_FAIL;
	}
	remove_leftovers(c);
	if (copy(c) != 0)
		return keep_old(c);
	if (getenv("MCMIRROR_TEST_COMPACT_PAUSE")) /* test knob: time to start a process meanwhile */
		sleep((unsigned)atoi(getenv("MCMIRROR_TEST_COMPACT_PAUSE")));
	if (mcm_cli_interrupted) {
		mcm_cli_error(CMD, "interrupted by signal %d: data.mdb unchanged", (int)mcm_cli_interrupted);
		return keep_old(c);
	}
	if (swap(c) != 0)
		return c->tmp ? keep_old(c) : MCM_EXIT_FAIL; /* (tmp: not renamed) */
	if (!c->g->quiet)
		mcm_cli_error(CMD, "compacted '%s': %" PRIu64 " -> %" PRIu64 " bytes, %" PRIu64 " records, in %.2f s",
			      c->data, c->file_bytes, c->new_bytes, c->entries, mcm_cli_now() - start);
	return MCM_EXIT_OK;
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	struct compact c = {.g = g, .drain_fd = -1, .lock_fd = -1, .tmp_fd = -1};
	int rc;

	if ((rc = parse_args(argc, argv, g, &c)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_cli_signals();
	c.dir = mcm_cli_mirror_path(g);
	c.data = mcm_fsutil_path("%s/data.mdb", c.dir);
	c.lock = mcm_fsutil_path("%s/lock.mdb", c.dir);
	c.tmp = mcm_fsutil_path("%s/" TMP_PREFIX "%ld", c.dir, (long)getpid());
	if (!c.data || !c.lock || !c.tmp) {
		mcm_cli_error(CMD, "out of memory");
		rc = MCM_EXIT_FAIL;
	} else {
		rc = compact(&c);
	}
	if (c.tmp_fd >= 0)
		close(c.tmp_fd);
	if (c.tmp && c.tmp_fd >= 0)
		unlink(c.tmp);
	if (c.lock_fd >= 0)
		close(c.lock_fd); /* (releases the fcntl lock, should swap have failed) */
	if (c.drain_fd >= 0)
		close(c.drain_fd);
	free(c.data);
	free(c.lock);
	free(c.tmp);
	return rc;
}

const struct mcm_cmd mcm_cmd_compact = {"compact", run, "shrink data.mdb to what its records need (nobody may have it open)"};
