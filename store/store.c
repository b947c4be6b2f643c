/* store.c - open the LMDB environment, run write transactions, read records.
 * Record semantics live in apply.c, byte layouts in record.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "mcm_crc.h"
#include "mcm_record.h"
#include "store_internal.h"

#define DEFAULT_MAPSIZE ((size_t)64 << 20)
#define MAX_GROW_RETRIES 16
#define ITER_BATCH 4096

static const char META_FORMAT[] = "format";
static const char META_CREATED[] = "created";
static const char META_LAST_SEQ[] = "last_seq"; /* highest sequence number ever handed out */
static const char META_ORIGIN[] = "origin";     /* this mirror's random id (mcm_store_origin) */

uint64_t mcm_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *mcm_store_default_path(void)
{
	const char *p = getenv("MCMIRROR_PATH");

	return p && *p ? p : MCM_DEFAULT_PATH;
}

const char *mcm_strerror(int rc)
{
	switch (rc) {
	case MCM_END:
		return "end of data";
	case MCM_EFORMAT:
		return "not a mirror of a known format";
	case MCM_ENOTFOUND:
		return "not found";
	case MCM_ETRUNCATED:
		return "data.mdb is shorter than its header says (truncated or damaged; see docs/RUNBOOK.md)";
	case MCM_EDAMAGED:
		return "damaged record (checksum or field out of range)";
	case MCM_EINVALID:
		return "invalid record";
	case MCM_EEMPTY:
		return "data.mdb is empty (a copy cut short, or written on a full disk: see docs/RUNBOOK.md)";
	case MDB_MAP_FULL:
		return "map full (disk full?)";
	default:
		return mdb_strerror(rc); /* covers errno values too */
	}
}

static int make_dir(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return errno;
	if (stat(path, &sb) != 0)
		return errno;
	return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

/* Check (and for a new writable environment, write) the format version. */
static int check_meta(struct mcm_store *st, MDB_txn *txn)
{
	MDB_val k = {sizeof META_FORMAT - 1, (void *)META_FORMAT}, v;
	unsigned char buf[8];
	int rc = mdb_get(txn, st->meta, &k, &v);

	if (rc == MDB_NOTFOUND && !(st->flags & MCM_STORE_RDONLY)) {
		uint64_t now = mcm_now_us();
		uint32_t version = MCM_FORMAT_VERSION;

		v.mv_size = sizeof version;
		v.mv_data = &version;
		if ((rc = mdb_put(txn, st->meta, &k, &v, 0)) != 0)
			return rc;
		st->format = MCM_FORMAT_VERSION;
		k.mv_size = sizeof META_CREATED - 1;
		k.mv_data = (void *)META_CREATED;
		memcpy(buf, &now, sizeof now);
		v.mv_size = sizeof now;
		v.mv_data = buf;
		return mdb_put(txn, st->meta, &k, &v, 0);
	}
	if (rc != 0)
		return rc == MDB_NOTFOUND ? MCM_EFORMAT : rc;
	if (v.mv_size != 4)
		return MCM_EFORMAT;
	st->format = *(const unsigned char *)v.mv_data;
	if (st->format < 1 || st->format > MCM_FORMAT_VERSION)
		return MCM_EFORMAT;
	if (st->format < MCM_FORMAT_VERSION && !(st->flags & MCM_STORE_RDONLY)) {
		/* an older mirror: rewritten as the current version in this transaction
		 * (version 1: its records with checksums, then 2: the index in bundles;
		 * 3 to 4 changes only the journal's records, and nothing here) */
		uint32_t version = MCM_FORMAT_VERSION;

		if (st->format == 1 && (rc = mcm_store_upgrade_v1(st, txn)) != 0)
			return rc;
		if (st->format <= 2) {
			st->format = 2;
			if ((rc = mcm_seqidx_convert(st, txn)) != 0)
				return rc;
		}
		v.mv_size = sizeof version;
		v.mv_data = &version;
		if ((rc = mdb_put(txn, st->meta, &k, &v, 0)) != 0)
			return rc;
		st->format = MCM_FORMAT_VERSION;
	}
	return 0;
}

/* A writable open gives the mirror its origin id when it has none. */
static int ensure_origin(struct mcm_store *st, MDB_txn *txn)
{
	MDB_val k = {sizeof META_ORIGIN - 1, (void *)META_ORIGIN}, v;
	unsigned char id[16];
	int rc = mdb_get(txn, st->meta, &k, &v);

	if (rc != MDB_NOTFOUND)
		return rc;
	if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id) {
		uint64_t t = mcm_now_us() ^ ((uint64_t)getpid() << 40);
		memcpy(id, &t, 8);
		memcpy(id + 8, &st, sizeof st < 8 ? sizeof st : 8);
	}
	v.mv_size = sizeof id;
	v.mv_data = id;
	return mdb_put(txn, st->meta, &k, &v, 0);
}

int mcm_store_origin(struct mcm_store *st, char hex[33])
{
	unsigned char id[16];
	size_t len;
	int rc = mcm_store_meta_get(st, META_ORIGIN, id, sizeof id, &len);

	if (rc == 0 && len != sizeof id)
		rc = MCM_EDAMAGED;
	if (rc != 0)
		return rc;
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	return 0;
}

/* A writable open creates the mirror's databases in a new (empty)
 * environment only, never among another program's LMDB data. */
static int check_not_foreign(MDB_txn *txn)
{
	MDB_dbi dbi;
	MDB_stat ms;
	int rc = mdb_dbi_open(txn, "meta", 0, &dbi);

	if (rc != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 || (rc = mdb_stat(txn, dbi, &ms)) != 0)
		return rc;
	return ms.ms_entries ? MCM_EFORMAT : 0;
}

static int open_dbs(struct mcm_store *st)
{
	unsigned dbflags = (st->flags & MCM_STORE_RDONLY) ? 0 : MDB_CREATE;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, (st->flags & MCM_STORE_RDONLY) ? MDB_RDONLY : 0, &txn);

	if (rc != 0)
		return rc;
	if ((rc = dbflags ? check_not_foreign(txn) : 0) == 0 &&
	    (rc = mdb_dbi_open(txn, "meta", dbflags, &st->meta)) == 0 &&
	    (rc = mdb_dbi_open(txn, "pools", dbflags, &st->pools)) == 0 &&
	    (rc = mdb_dbi_open(txn, "items", dbflags, &st->items)) == 0 &&
	    (rc = mdb_dbi_open(txn, "seq", dbflags, &st->seq)) == 0 && (rc = check_meta(st, txn)) == 0) {
		/* (a version 1 mirror opened read-only has no followers database) */
		rc = mdb_dbi_open(txn, "followers", dbflags, &st->followers);
		if (rc == MDB_NOTFOUND && (st->flags & MCM_STORE_RDONLY))
			rc = 0;
		else if (rc == 0)
			st->have_followers_db = 1;
		if (rc == 0 && !(st->flags & MCM_STORE_RDONLY))
			rc = ensure_origin(st, txn);
	}
	if (rc == MDB_NOTFOUND)
		rc = MCM_EFORMAT; /* an LMDB environment, but not a mirror */
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* LMDB maps the file and reads pages up to the last one its header names: in
 * a file cut short those reads fault (SIGBUS). Check before any page is read.
 * (A file may end before its last page when that page is free: lmdbfile.c.) */
static int check_length(struct mcm_store *st)
{
	char file[PATH_MAX + 16];
	MDB_envinfo info;
	MDB_stat es;
	struct stat sb;

	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &es) != 0)
		return 0;
	snprintf(file, sizeof file, "%s/data.mdb", st->path);
	if (stat(file, &sb) != 0)
		return errno;
	if ((uint64_t)sb.st_size >= ((uint64_t)info.me_last_pgno + 1) * es.ms_psize)
		return 0;
	/* short: legitimate only if every page past the end is free (lmdbfile.c) */
	return mcm_lmdb_check_length(file, es.ms_psize, info.me_last_pgno, info.me_last_txnid);
}

/* --- the lock table: when it can be created, and when a reader goes without ---
 *
 * LMDB creates lock.mdb with ftruncate and initialises it through a shared
 * map: on a full filesystem the first touch of a page the filesystem cannot
 * allocate is a SIGBUS, not an error. So before mdb_env_open: a writer wants
 * room for whatever part of lock.mdb is not allocated yet (ENOSPC instead of a
 * crash), and a reader that cannot have the table reads without it. */

/* Room asked for a lock.mdb that does not exist yet: LMDB's table for its
 * default 126 readers is 8 KiB on x86-64; a filesystem with less than this
 * free is full for every practical purpose. */
#define LOCK_ROOM ((uint64_t)64 << 10)

/* Free bytes of the filesystem holding dir for this process (root may use
 * the reserved blocks), and whether it is mounted read-only. A filesystem
 * that does not tell (statvfs fails but for a missing dir) counts as roomy. */
static int fs_room(const char *dir, uint64_t *room, int *rofs)
{
	struct statvfs vfs;

	*room = UINT64_MAX;
	*rofs = 0;
	if (statvfs(dir, &vfs) != 0)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? errno : 0;
	*room = (uint64_t)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize;
	*rofs = (vfs.f_flag & ST_RDONLY) != 0;
	return 0;
}

/* Room an existing lock.mdb still needs: none once LMDB initialised it (its
 * first page, the header, is allocated; the reader slots of the second page
 * are only touched with more than 60 readers at once), else its whole size
 * (an empty or never written file is initialised by the next opener). */
static uint64_t lock_needs(const struct stat *sb)
{
	if (sb->st_blocks > 0)
		return 0;
	return sb->st_size > 0 ? (uint64_t)sb->st_size : LOCK_ROOM;
}

/* Does another process hold lock.mdb (every process with the environment
 * open keeps a lock on its first byte)? Opened read-only, and only before
 * this process opens the environment: closing a descriptor of the lock file
 * drops the process's own locks on it. @return its pid, or 0. */
static long lock_holder(const char *lock)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	int fd = open(lock, O_RDONLY | O_CLOEXEC);
	long pid = 0;

	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		pid = fl.l_pid > 0 ? (long)fl.l_pid : -1;
	close(fd);
	return pid;
}

/* A reader goes without the lock table: say why in st->unlocked. */
static void go_unlocked(struct mcm_store *st, const char *lock, const char *why, int err)
{
	long pid = lock ? lock_holder(lock) : 0;
	char in_use[64] = "";

	if (pid > 0)
		snprintf(in_use, sizeof in_use, "in use by process %ld; ", pid);
	else if (pid < 0)
		snprintf(in_use, sizeof in_use, "in use by another process; ");
	snprintf(st->unlocked, sizeof st->unlocked, "%s%s%s%s", in_use, why, err ? ": " : "", err ? strerror(err) : "");
}

/* Decide how a read-only store opens: with the lock table, or without it
 * (st->unlocked set). @return 0, or an error that makes the open fail. */
static int plan_reader(struct mcm_store *st, const char *lock, const struct stat *lsb, int have_lock, uint64_t room,
		       int rofs)
{
	char journal[PATH_MAX + 16];
	struct stat sb;

	if (!have_lock) {
		snprintf(journal, sizeof journal, "%s/journal", st->path);
		if (stat(journal, &sb) != 0)
			go_unlocked(st, NULL, "no lock.mdb and no journal: a snapshot or a copy that nothing writes", 0);
		else if (rofs)
			go_unlocked(st, NULL, "lock.mdb cannot be created on a read-only filesystem", 0);
		else if (faccessat(AT_FDCWD, st->path, W_OK, AT_EACCESS) != 0)
			go_unlocked(st, NULL, "lock.mdb cannot be created", errno);
		else if (room < LOCK_ROOM)
			go_unlocked(st, NULL, "no room for lock.mdb", ENOSPC);
		return 0;
	}
	if (rofs)
		go_unlocked(st, lock, "lock.mdb is on a read-only filesystem", 0);
	else if (faccessat(AT_FDCWD, lock, R_OK | W_OK, AT_EACCESS) != 0)
		go_unlocked(st, lock, "lock.mdb cannot be written", errno);
	else if (room < lock_needs(lsb))
		go_unlocked(st, lock, "no room to allocate lock.mdb", ENOSPC);
	return 0;
}

/* Before mdb_env_open: what the lock file needs. Readers may go without it;
 * a writer gets ENOSPC (or EROFS) rather than a SIGBUS. */
static int plan_lock(struct mcm_store *st)
{
	char lock[PATH_MAX + 16], data[PATH_MAX + 16];
	struct stat lsb, dsb;
	uint64_t room;
	int have_lock, rofs, rc;

	snprintf(lock, sizeof lock, "%s/lock.mdb", st->path);
	if (st->flags & MCM_STORE_RDONLY) { /* no data to read: say so before anything about a lock file */
		snprintf(data, sizeof data, "%s/data.mdb", st->path);
		if (stat(data, &dsb) != 0)
			return errno;
		if (S_ISREG(dsb.st_mode) && dsb.st_size == 0)
			return MCM_EEMPTY;
	}
	have_lock = stat(lock, &lsb) == 0;
	if (!have_lock && errno != ENOENT)
		return errno;
	if ((rc = fs_room(st->path, &room, &rofs)) != 0)
		return rc;
	if (st->flags & MCM_STORE_RDONLY)
		return plan_reader(st, lock, &lsb, have_lock, room, rofs);
	if (rofs)
		return EROFS;
	if (room < (have_lock ? lock_needs(&lsb) : LOCK_ROOM))
		return ENOSPC;
	return 0;
}

const char *mcm_store_unlocked(const struct mcm_store *st)
{
	return st->unlocked[0] ? st->unlocked : NULL;
}

/* The inode of st's data.mdb (0: none). */
static ino_t data_inode(const struct mcm_store *st)
{
	char file[PATH_MAX + 16];
	struct stat sb;

	snprintf(file, sizeof file, "%s/data.mdb", st->path);
	return stat(file, &sb) == 0 ? sb.st_ino : 0;
}

/* Was data.mdb replaced while the open waited? `mcmirror compact` renames a
 * copy over it while it holds lock.mdb; a read-only open takes the data file
 * before it waits for lock.mdb, and would map the old one (or fail on it). */
static int data_replaced(const struct mcm_store *st, int rc, ino_t before)
{
	struct stat sb;
	int fd;

	if (rc != 0)
		return data_inode(st) != before;
	return mdb_env_get_fd(st->env, &fd) == 0 && fstat(fd, &sb) == 0 && sb.st_ino != data_inode(st);
}

/* Create and open st->env (again, should data.mdb be replaced meanwhile). */
static int env_open(struct mcm_store *st, unsigned envflags, size_t mapsize)
{
	int rc;

	for (int tries = 0;; tries++) {
		ino_t before = data_inode(st);

		if ((rc = mdb_env_create(&st->env)) != 0)
			return rc;
		mdb_env_set_maxdbs(st->env, 5);
		mdb_env_set_mapsize(st->env, mapsize ? mapsize : DEFAULT_MAPSIZE);
		rc = mdb_env_open(st->env, st->path, envflags, 0600);
		if (tries == 3 || !data_replaced(st, rc, before))
			return rc;
		mdb_env_close(st->env);
		st->env = NULL;
	}
}

int mcm_store_open(struct mcm_store **out, const char *path, unsigned flags, size_t mapsize)
{
	struct mcm_store *st;
	unsigned envflags = MDB_NOTLS | MDB_NORDAHEAD;
	int rc;

	*out = NULL;
	if (strlen(path) >= sizeof st->path)
		return ENAMETOOLONG;
	if ((flags & MCM_STORE_CREATE) && !(flags & MCM_STORE_RDONLY) && (rc = make_dir(path)) != 0)
		return rc;
	if (!(st = calloc(1, sizeof *st)))
		return ENOMEM;
	if (!(flags & MCM_STORE_RDONLY) && !(st->dead = malloc(2 * MCM_DEAD_MAX * sizeof *st->dead))) {
		free(st);
		return ENOMEM;
	}
	strcpy(st->path, path);
	st->flags = flags;
	if ((rc = plan_lock(st)) != 0) {
		free(st->dead);
		free(st);
		return rc;
	}
	if (st->unlocked[0])
		envflags |= MDB_NOLOCK;
	if (flags & MCM_STORE_RDONLY)
		envflags |= MDB_RDONLY;
	if (flags & MCM_STORE_NOSYNC)
		envflags |= MDB_NOSYNC;
	if (flags & MCM_STORE_NOMETASYNC)
		envflags |= MDB_NOMETASYNC;
	pthread_rwlock_init(&st->resize, NULL);
	if ((rc = env_open(st, envflags, mapsize)) != 0 || (rc = check_length(st)) != 0)
		goto fail;
	/* another process may grow the file between mdb_env_open and our first
	 * txn (adopt its size); an upgrade may need more room than the map has
	 * (the old index stays until the commit): double it */
	for (int tries = 0; ((rc = open_dbs(st)) == MDB_MAP_RESIZED || rc == MDB_MAP_FULL) && tries < MAX_GROW_RETRIES;
	     tries++)
		if ((rc = mcm_store_resize(st, rc == MDB_MAP_FULL)) != 0)
			break;
	if (rc != 0)
		goto fail;
	*out = st;
	return 0;
fail:
	if (st->env)
		mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize);
	free(st->dead);
	free(st);
	return rc;
}

void mcm_store_close(struct mcm_store *st)
{
	if (!st)
		return;
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize);
	free(st->dead);
	free(st->co_table);
	free(st->co_moot);
	free(st->ord);
	free(st->ord_rank);
	free(st->ord_pending);
	free(st->arena);
	free(st);
}

unsigned mcm_store_format(const struct mcm_store *st)
{
	return st->format;
}

unsigned mcm_store_flags(const struct mcm_store *st)
{
	return st->flags;
}

int mcm_store_sync(struct mcm_store *st)
{
	return mdb_env_sync(st->env, 1);
}

/* Adopt a size another process set, or double ours after MDB_MAP_FULL. */
int mcm_store_resize(struct mcm_store *st, int grow)
{
	MDB_envinfo info;
	int rc;

	pthread_rwlock_wrlock(&st->resize);
	if (grow) {
		mdb_env_info(st->env, &info);
		rc = mdb_env_set_mapsize(st->env, info.me_mapsize * 2);
	} else {
		rc = mdb_env_set_mapsize(st->env, 0);
	}
	__atomic_add_fetch(&st->map_gen, 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&st->resize);
	return rc;
}

int mcm_store_copy(struct mcm_store *st, const char *dir, int compact)
{
	int rc = MDB_MAP_RESIZED;

	/* another process may have grown the map: adopt its size and retry */
	for (int tries = 0; rc == MDB_MAP_RESIZED && tries < MAX_GROW_RETRIES; tries++) {
		pthread_rwlock_rdlock(&st->resize);
		rc = mdb_env_copy2(st->env, dir, compact ? MDB_CP_COMPACT : 0);
		pthread_rwlock_unlock(&st->resize);
		if (rc == MDB_MAP_RESIZED && mcm_store_resize(st, 0) != 0)
			break;
	}
	return rc;
}

/* The highest sequence number handed out: the high-water mark kept in "meta"
 * (records may be deleted, numbers are never reused), or the newest "seq"
 * entry for environments written before the mark existed. */
static int last_seq(struct mcm_store *st, MDB_txn *txn, uint64_t *seq)
{
	MDB_val k = {sizeof META_LAST_SEQ - 1, (void *)META_LAST_SEQ}, v;
	MDB_cursor *cur;
	uint64_t mark = 0;
	int rc = mdb_get(txn, st->meta, &k, &v);

	if (rc == 0 && v.mv_size == 8)
		memcpy(&mark, v.mv_data, 8);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_cursor_open(txn, st->seq, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	*seq = mark;
	if (rc == 0 && k.mv_size == 8 && mcm_get_be64(k.mv_data) > mark)
		*seq = mcm_get_be64(k.mv_data);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int save_last_seq(struct mcm_store *st, MDB_txn *txn, uint64_t seq)
{
	MDB_val k = {sizeof META_LAST_SEQ - 1, (void *)META_LAST_SEQ}, v = {8, &seq};

	return mdb_put(txn, st->meta, &k, &v, 0);
}

static int put_meta(struct mcm_store *st, MDB_txn *txn, const struct mcm_meta *meta, size_t nmeta)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < nmeta; i++) {
		MDB_val k = {strlen(meta[i].name), (void *)meta[i].name}, v = {meta[i].len, (void *)meta[i].data};
		rc = mdb_put(txn, st->meta, &k, &v, 0);
	}
	return rc;
}

/* Sort v[0..n) by number: usually it already is (a batch overwrites keys in
 * the order they were last written), else an LSD radix sort by bytes, over
 * the bytes in which the numbers differ (qsort's callbacks cost a fifth of
 * the drainer). tmp holds n entries. */
static void sort_dead(struct mcm_dead *v, struct mcm_dead *tmp, size_t n)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	int sorted = 1;

	for (size_t i = 0; i < n; i++) {
		sorted &= i == 0 || v[i - 1].seq <= v[i].seq;
		lo = v[i].seq < lo ? v[i].seq : lo;
		hi = v[i].seq > hi ? v[i].seq : hi;
	}
	if (sorted)
		return;
	for (unsigned shift = 0; shift < 64 && ((hi - lo) >> shift) != 0; shift += 8) {
		size_t count[257] = {0};

		for (size_t i = 0; i < n; i++)
			count[(((v[i].seq - lo) >> shift) & 0xff) + 1]++;
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			tmp[count[((v[i].seq - lo) >> shift) & 0xff]++] = v[i];
		memcpy(v, tmp, n * sizeof *v);
	}
}

int mcm_store_drop_dead(struct mcm_store *st, MDB_txn *txn)
{
	struct mcm_seqcur c;
	struct mcm_seq_entry e;
	uint64_t at;
	int rc, prc;

	if (st->ndead == 0)
		return 0;
	sort_dead(st->dead, st->dead + MCM_DEAD_MAX, st->ndead);
	if ((rc = mcm_seqcur_open(st, txn, &c)) != 0)
		return rc;
	/* ascending: each seek goes on from the last one, inside its bundle when it can */
	for (size_t i = 0; rc == 0 && i < st->ndead; i++) {
		uint64_t want = st->dead[i].seq;

		if (i > 0 && want == st->dead[i - 1].seq)
			continue;
		if ((prc = mcm_seqcur_seek(&c, want, &at, &e)) == MDB_NOTFOUND)
			break;
		if (prc != 0 && prc != MCM_EDAMAGED)
			rc = prc;
		else if (prc == 0 && at == want && mcm_crc32c(0, e.ikey, e.ikey_len) == st->dead[i].key_crc)
			rc = mcm_seqcur_remove(&c);
		/* (else gone already, or another record's entry: an unchecked number was wrong: kept) */
	}
	if ((prc = mcm_seqcur_close(&c)) != 0 && rc == 0)
		rc = prc;
	st->ndead = 0;
	return rc;
}

/* Do followers exist (so that a delete of an unknown key is still a change)? */
static int have_followers(struct mcm_store *st, MDB_txn *txn)
{
	MDB_stat ms;

	return st->have_followers_db && mdb_stat(txn, st->followers, &ms) == 0 && ms.ms_entries > 0;
}

/* One attempt: a write transaction applying all n mutations. */
static int apply_txn(struct mcm_store *st, const struct mcm_mutation *m, size_t n, const struct mcm_meta *meta,
		     size_t nmeta)
{
	MDB_txn *txn;
	uint64_t next;
	int rc, due = 0;

	pthread_rwlock_rdlock(&st->resize);
	rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc == 0) {
		uint64_t first;

		rc = last_seq(st, txn, &next);
		first = ++next;
		st->txn_pool_valid = 0;
		st->ndead = 0;
		st->txn_bytes = 0;
		st->cur_on_key = 0;
		st->txn_tombstones = have_followers(st, txn);
		if (rc == 0)
			rc = mdb_cursor_open(txn, st->items, &st->items_cur);
		st->seq_delta = 0;
		if (rc == 0 && (rc = mdb_cursor_open(txn, st->seq, &st->seq_cur)) == 0) {
			mcm_seqapp_begin(&st->seq_app, st, st->seq_cur);
			st->seq_app_on = 1;
		}
		const unsigned char *moot = rc == 0 ? mcm_coalesce(st, m, n) : NULL;

		if (rc == 0)
			rc = mcm_apply_batch(st, txn, m, n, moot, &next);
		if (rc == 0 && st->seq_app_on)
			rc = mcm_seqapp_end(&st->seq_app, txn);
		st->seq_app_on = 0;
		if (st->items_cur)
			mdb_cursor_close(st->items_cur);
		if (st->seq_cur)
			mdb_cursor_close(st->seq_cur);
		st->items_cur = st->seq_cur = NULL;
		if (rc == 0)
			rc = mcm_store_drop_dead(st, txn);
		if (rc == 0)
			rc = mcm_store_account(st, txn);
		if (rc == 0)
			rc = mcm_store_sweep_txn(st, txn, st->sweep_budget);
		if (rc == 0 && next != first)
			rc = save_last_seq(st, txn, next - 1);
		if (rc == 0)
			rc = put_meta(st, txn, meta, nmeta);
		if (rc == 0 && n > 0)
			rc = mcm_store_reindex_due(st, txn, &due);
		if (rc == 0)
			rc = mcm_seqidx_save_count(st, txn);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		st->seq_delta = 0;
		if (rc == 0) {
			st->sweep_budget = 0;
			st->reindex_due = due;
		}
	}
	pthread_rwlock_unlock(&st->resize);
	return rc;
}

/* One attempt: a write transaction that rebuilds the seq index (reindex.c),
 * or (clean) removes its stale entries one by one.
 * (Not inlined: bench/write/cost.sh counts it apart.) */
__attribute__((noinline)) static int reindex_txn(struct mcm_store *st, int clean)
{
	MDB_txn *txn;
	uint64_t last;
	int rc;

	pthread_rwlock_rdlock(&st->resize);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0) {
		st->seq_delta = 0;
		if (clean)
			rc = mcm_store_drop_stale(st, txn);
		else if ((rc = last_seq(st, txn, &last)) == 0)
			rc = mcm_store_reindex(st, txn, last);
		if (rc == 0)
			rc = mcm_seqidx_save_count(st, txn);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		st->seq_delta = 0;
	}
	pthread_rwlock_unlock(&st->resize);
	return rc;
}

/* Is a write transaction that ended with *rc to be tried again? Yes once the
 * map was adopted (MDB_MAP_RESIZED: another process grew it) or doubled
 * (MDB_MAP_FULL); else no, *rc being the result (the resize's error, if any). */
static int try_again(struct mcm_store *st, int *rc)
{
	if (*rc != MDB_MAP_RESIZED && *rc != MDB_MAP_FULL)
		return 0;
	*rc = mcm_store_resize(st, *rc == MDB_MAP_FULL);
	return *rc == 0;
}

/* reindex_txn, again after the map grew. */
static int reindex_retry(struct mcm_store *st, int clean)
{
	for (int tries = 0; tries < MAX_GROW_RETRIES; tries++) {
		int rc = reindex_txn(st, clean);

		if (!try_again(st, &rc))
			return rc;
	}
	return MDB_MAP_FULL;
}

int mcm_store_tidy(struct mcm_store *st)
{
	int rc;

	if (!st->reindex_due)
		return 0;
	st->reindex_due = 0;
	if ((rc = reindex_retry(st, 0)) == 0)
		return 0;
	st->reindex_off = rc;
	if (rc == MCM_EDAMAGED) /* refused: the stale entries go one by one, once (else readers skip them) */
		reindex_retry(st, 1);
	return rc;
}

void mcm_store_set_sweep(struct mcm_store *st, const struct mcm_sweep_policy *p)
{
	st->sweep = *p;
}

void mcm_store_sweep_next(struct mcm_store *st, size_t budget)
{
	st->sweep_budget = budget;
}

int mcm_store_sweep(struct mcm_store *st, size_t budget)
{
	st->sweep_budget = budget;
	return mcm_store_apply(st, NULL, 0);
}

int mcm_store_apply(struct mcm_store *st, const struct mcm_mutation *m, size_t n)
{
	return mcm_store_apply_meta(st, m, n, NULL, 0);
}

int mcm_store_apply_meta(struct mcm_store *st, const struct mcm_mutation *m, size_t n, const struct mcm_meta *meta,
			 size_t nmeta)
{
	int rc = EROFS;

	if (st->flags & MCM_STORE_RDONLY)
		return EROFS;
	for (int tries = 0; tries < MAX_GROW_RETRIES; tries++) {
		rc = apply_txn(st, m, n, meta, nmeta);
		if (!try_again(st, &rc))
			return rc;
	}
	return MDB_MAP_FULL;
}

int mcm_store_begin_read(struct mcm_store *st, MDB_txn **txn)
{
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);

	if (rc == MDB_MAP_RESIZED && (rc = mcm_store_resize(st, 0)) == 0)
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
	return rc;
}

/* A per-thread copy of the last record mcm_store_get returned. */
static __thread unsigned char *get_copy;
static __thread size_t get_copy_size;

static int keep_copy(const MDB_val *k, const MDB_val *v)
{
	size_t need = k->mv_size + v->mv_size;

	if (need > get_copy_size) {
		unsigned char *p = realloc(get_copy, need);
		if (!p)
			return ENOMEM;
		get_copy = p;
		get_copy_size = need;
	}
	memcpy(get_copy, k->mv_data, k->mv_size);
	memcpy(get_copy + k->mv_size, v->mv_data, v->mv_size);
	return 0;
}

int mcm_store_get(struct mcm_store *st, mcm_pool_id pool, const char *key, size_t key_len,
		  struct mcm_item *item)
{
	unsigned char kb[MCM_ITEM_KEY_MAX];
	MDB_val k = {mcm_item_key(pool, key, key_len, kb), kb}, v;
	MDB_txn *txn;
	int rc;

	if (k.mv_size == 0)
		return MCM_ENOTFOUND;
	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, st->items, &k, &v);
	if (rc == 0 && (rc = keep_copy(&k, &v)) == 0)
		rc = mcm_item_decode(get_copy, k.mv_size, get_copy + k.mv_size, v.mv_size, item);
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? MCM_ENOTFOUND : rc;
}

int mcm_store_meta_get(struct mcm_store *st, const char *name, void *buf, size_t size, size_t *len)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	MDB_txn *txn;
	int rc;

	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, st->meta, &k, &v);
	if (rc == 0) {
		memcpy(buf, v.mv_data, v.mv_size < size ? v.mv_size : size);
		*len = v.mv_size;
	}
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? MCM_ENOTFOUND : rc;
}

int mcm_store_pool(struct mcm_store *st, mcm_pool_id id, struct mcm_pool *pool)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	MDB_txn *txn;
	int rc;

	mcm_put_be64(kb, id);
	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, st->pools, &k, &v);
	if (rc == 0)
		rc = mcm_pool_decode(id, v.mv_data, v.mv_size, pool);
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? MCM_ENOTFOUND : rc;
}

int mcm_store_pools(struct mcm_store *st, struct mcm_pool **pools, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_stat ms;
	struct mcm_pool *arr = NULL;
	size_t count = 0;
	int rc;

	*pools = NULL;
	*n = 0;
	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	if ((rc = mdb_stat(txn, st->pools, &ms)) != 0 || (rc = mdb_cursor_open(txn, st->pools, &cur)) != 0)
		goto out;
	if (!(arr = calloc(ms.ms_entries ? ms.ms_entries : 1, sizeof *arr))) {
		rc = ENOMEM;
		goto out;
	}
	/* a damaged pool record is left out: its items are not replayed (their
	 * flush markers cannot be trusted); mcm_store_info counts it */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && count < ms.ms_entries;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (k.mv_size == 8 && mcm_pool_decode(mcm_get_be64(k.mv_data), v.mv_data, v.mv_size, &arr[count]) == 0)
			count++;
	if (rc == MDB_NOTFOUND || (rc == 0 && count == ms.ms_entries))
		rc = 0;
	st->damaged_pools = ms.ms_entries - count;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0) {
		free(arr);
		return rc;
	}
	*pools = arr;
	*n = count;
	return 0;
}

int mcm_store_info(struct mcm_store *st, struct mcm_store_info *info)
{
	MDB_val k = {sizeof META_CREATED - 1, (void *)META_CREATED}, v;
	MDB_envinfo ei;
	MDB_stat es, is;
	MDB_txn *txn;
	int rc;

	memset(info, 0, sizeof *info);
	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	mdb_env_info(st->env, &ei);
	mdb_env_stat(st->env, &es);
	info->format_version = st->format;
	info->map_size = ei.me_mapsize;
	info->used_bytes = (ei.me_last_pgno + 1) * (size_t)es.ms_psize;
	if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size == 8)
		memcpy(&info->created_us, v.mv_data, 8);
	rc = mcm_seqidx_entries(st, txn, &info->seq_entries);
	if (rc == 0 && (rc = mdb_stat(txn, st->items, &is)) == 0) {
		info->entries = is.ms_entries;
		rc = last_seq(st, txn, &info->last_seq);
		info->damaged_pools = st->damaged_pools;
		info->reindexes = st->reindexes;
		info->reindex_off = st->reindex_off;
	}
	mdb_txn_abort(txn);
	return rc;
}

int mcm_item_is_live(const struct mcm_item *item, const struct mcm_pool *p, int64_t now)
{
	if (item->kind != MCM_KIND_VALUE)
		return 0;
	if (item->exptime != 0 && item->exptime <= now)
		return 0;
	if (!p)
		return 1;
	if (p->flush_seq && item->seq <= p->flush_seq)
		return 0;
	/* memcached drops items last written at or before the flush time once the
	 * clock reaches it (less one second); a second of margin errs towards a miss. */
	if (p->flush_time > 0 && now + 1 >= p->flush_time && (int64_t)(item->wtime_us / 1000000u) <= p->flush_time)
		return 0;
	return 1;
}

/* Iterators: a read transaction renewed every ITER_BATCH records. */
struct mcm_iter {
	struct mcm_store *st;
	enum mcm_order order;
	MDB_txn *txn;
	MDB_cursor *cur;        /* (order by key) */
	struct mcm_seqcur seq;  /* (order by number) */
	unsigned char last[512]; /* last position read (LMDB's longest key; by number: 8 bytes, the number) */
	size_t last_len;
	unsigned batch;
	int positioned;
	unsigned long map_gen; /* st->map_gen when the cursor was positioned */
	unsigned long snapshot; /* bumped with each new read transaction */
};

int mcm_iter_open(struct mcm_store *st, enum mcm_order order, uint64_t from_seq, struct mcm_iter **out)
{
	struct mcm_iter *it = calloc(1, sizeof *it);
	int rc;

	*out = NULL;
	if (!it)
		return ENOMEM;
	it->st = st;
	it->order = order;
	if (order == MCM_ORDER_SEQ) {
		mcm_put_be64(it->last, from_seq);
		it->last_len = 8;
	}
	if ((rc = mcm_store_begin_read(st, &it->txn)) != 0 ||
	    (rc = order == MCM_ORDER_SEQ ? mcm_seqcur_open(st, it->txn, &it->seq)
					 : mdb_cursor_open(it->txn, st->items, &it->cur)) != 0) {
		if (it->txn)
			mdb_txn_abort(it->txn);
		free(it);
		return rc;
	}
	*out = it;
	return 0;
}

void mcm_iter_close(struct mcm_iter *it)
{
	if (!it)
		return;
	if (it->order == MCM_ORDER_SEQ)
		mcm_seqcur_close(&it->seq);
	else
		mdb_cursor_close(it->cur);
	mdb_txn_abort(it->txn);
	free(it);
}

/* Does the mirror still have the layout this handle opened it with? (An
 * upgrade by a writable open elsewhere from format 2 or 1 changes the seq
 * index's layout; one from 3 to 4 changes nothing an iterator reads.) */
static int same_format(struct mcm_store *st, MDB_txn *txn)
{
	MDB_val k = {sizeof META_FORMAT - 1, (void *)META_FORMAT}, v;
	unsigned now;

	if (mdb_get(txn, st->meta, &k, &v) != 0 || v.mv_size != 4)
		return 0;
	now = *(const unsigned char *)v.mv_data;
	return now == st->format || (now >= 3 && st->format >= 3 && now <= MCM_FORMAT_VERSION);
}

/* Is the iterator's snapshot to be renewed before the next step? Then do it
 * (*renewed: the cursor must find its place again). */
static int renew(struct mcm_iter *it, int *renewed)
{
	int rc;

	*renewed = 0;
	/* A resize (a write through this store between two calls may grow the
	 * map) can move the map under the cursor: then re-position as well. */
	if (it->positioned && it->batch < ITER_BATCH &&
	    it->map_gen == __atomic_load_n(&it->st->map_gen, __ATOMIC_ACQUIRE))
		return 0;
	if (it->positioned) { /* let writers reuse pages: take a fresh snapshot */
		mdb_txn_reset(it->txn);
		if ((rc = mdb_txn_renew(it->txn)) == MDB_MAP_RESIZED && (rc = mcm_store_resize(it->st, 0)) == 0)
			rc = mdb_txn_renew(it->txn);
		if (rc != 0 || (rc = mdb_cursor_renew(it->txn, it->order == MCM_ORDER_SEQ ? it->seq.cur : it->cur)) != 0)
			return rc;
		if (!same_format(it->st, it->txn))
			return MCM_EFORMAT; /* upgraded since it was opened: this handle reads the old layout */
		it->snapshot++;
	}
	it->map_gen = __atomic_load_n(&it->st->map_gen, __ATOMIC_ACQUIRE);
	it->batch = 0;
	*renewed = 1;
	return 0;
}

/* Move the cursor to the record after the last one read (or the start). */
static int iter_step(struct mcm_iter *it, MDB_val *k, MDB_val *v)
{
	int rc, renewed;

	if ((rc = renew(it, &renewed)) != 0)
		return rc;
	if (!renewed)
		return mdb_cursor_get(it->cur, k, v, MDB_NEXT);
	if (it->last_len == 0) {
		rc = mdb_cursor_get(it->cur, k, v, MDB_FIRST);
	} else {
		k->mv_size = it->last_len;
		k->mv_data = it->last;
		rc = mdb_cursor_get(it->cur, k, v, MDB_SET_RANGE);
		if (rc == 0 && it->positioned && k->mv_size == it->last_len &&
		    memcmp(k->mv_data, it->last, it->last_len) == 0)
			rc = mdb_cursor_get(it->cur, k, v, MDB_NEXT);
	}
	it->positioned = 1;
	return rc;
}

/* The same by number: the next entry (*seq, *e), or MCM_EDAMAGED on a value that does not decode. */
static int seq_step(struct mcm_iter *it, uint64_t *seq, struct mcm_seq_entry *e)
{
	int rc, renewed;

	if ((rc = renew(it, &renewed)) != 0)
		return rc;
	if (!renewed)
		return mcm_seqcur_next(&it->seq, seq, e);
	mcm_seqcur_renewed(&it->seq);
	rc = mcm_seqcur_seek(&it->seq, it->positioned ? mcm_get_be64(it->last) + 1 : mcm_get_be64(it->last), seq, e);
	it->positioned = 1;
	return rc;
}

/* In seq order: the record the entry (seq, e) names. 0 with *item set, MCM_END
 * for a stale entry (its record is gone or carries another number: skip it),
 * MCM_EDAMAGED, or an error. */
static int seq_record(struct mcm_iter *it, uint64_t seq, const struct mcm_seq_entry *e, struct mcm_item *item)
{
	MDB_val key, v;
	int rc;

	key.mv_size = e->ikey_len;
	key.mv_data = (void *)e->ikey;
	if ((rc = mdb_get(it->txn, it->st->items, &key, &v)) == MDB_NOTFOUND)
		return MCM_END;
	if (rc != 0)
		return rc;
	rc = mcm_item_decode(key.mv_data, key.mv_size, v.mv_data, v.mv_size, item);
	if (item->seq != seq) /* rewritten since (a damaged record whose number differs: the same) */
		return MCM_END;
	return rc;
}

int mcm_iter_next(struct mcm_iter *it, struct mcm_item *item)
{
	MDB_val k, v;
	int rc;

	if (it->order == MCM_ORDER_SEQ)
		for (;;) {
			struct mcm_seq_entry e;
			uint64_t seq;

			rc = seq_step(it, &seq, &e);
			if (rc != 0 && rc != MCM_EDAMAGED)
				return rc == MDB_NOTFOUND ? MCM_END : rc;
			it->batch++;
			/* the place to come back to after a renewal only moves on: a damaged
			 * bundle may hold a number below its neighbours' (skipped, as stale,
			 * below), and a walk renewed right after it would go back there and
			 * return records a second time (a key of another size, 0: none) */
			if ((rc == 0 || seq != 0) && seq >= mcm_get_be64(it->last))
				mcm_put_be64(it->last, seq);
			if (rc == MCM_EDAMAGED)
				continue; /* not an entry the store writes: the sweep removes it */
			if ((rc = seq_record(it, seq, &e, item)) == MCM_END)
				continue; /* a stale entry: the record comes again at its own number */
			return rc;
		}
	for (;;) {
		if ((rc = iter_step(it, &k, &v)) != 0)
			return rc == MDB_NOTFOUND ? MCM_END : rc;
		it->batch++;
		if (k.mv_size > sizeof it->last)
			return MCM_EFORMAT;
		memcpy(it->last, k.mv_data, k.mv_size);
		it->last_len = k.mv_size;
		return mcm_item_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, item);
	}
}

unsigned long mcm_iter_snapshot(const struct mcm_iter *it)
{
	return it->snapshot;
}

int mcm_iter_pool(struct mcm_iter *it, mcm_pool_id id, struct mcm_pool *pool)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	int rc;

	mcm_put_be64(kb, id);
	if ((rc = mdb_get(it->txn, it->st->pools, &k, &v)) == 0)
		rc = mcm_pool_decode(id, v.mv_data, v.mv_size, pool);
	return rc == MDB_NOTFOUND ? MCM_ENOTFOUND : rc;
}
