/* journal.c - the shared write journal (see mcm_journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mcm_crc.h"
#include "mcm_journal.h"
#include "mcm_store.h"

#define JOURNAL_MAGIC_V1 0x314c4e524a4d434dULL /* "MCMJRNL1": the first layout */
#define JOURNAL_MAGIC_V2 0x324c4e524a4d434dULL /* "MCMJRNL2": a robust mutex for appends */
#define LOCK_SPINS 64        /* tries before a writer sleeps on the append lock */
#define LOCK_CHECK_MS 10     /* a sleeping writer looks whether the owner is gone this often */
#define JOURNAL_HEADER 4096
#define ALIGN 16
#define NAP_MS 50 /* see mcm_journal_wait_records */
#define GATHER_US 50 /* how long a syncer waits for the outcomes of writers still in flight */

_Static_assert(sizeof(struct mcm_jheader) <= JOURNAL_HEADER, "the header fits its page");
_Static_assert(offsetof(struct mcm_jrec, crc) == 16, "the CRC covers the 16 bytes before it");
_Static_assert(offsetof(struct mcm_jheader, boot_id) % 8 == 0 && sizeof(((struct mcm_jheader *)0)->boot_id) == 40,
	       "the boot id is five aligned words");

struct mcm_journal {
	struct mcm_jheader *h;
	unsigned char *ring;
	size_t map_size;
	uint64_t size;  /* bytes of ring (the header's, fixed once mapped) */
	uint32_t seed;  /* CRC-32C of the instance: where every record's CRC starts */
	uint32_t prev_seed;     /* of the instance before the last recovery (records before recovered_at) */
	uint64_t recovered_at;  /* (both fixed while mapped: recovery runs before anyone else maps it) */
	uint32_t wake_seen; /* the drainer's: wake_seq when its last wait ended */
	uint64_t populated; /* mcm_journal_prefault: this process's pages are mapped up to here */
	int no_populate;    /* the kernel has no MADV_POPULATE_WRITE (before 5.14) */
};

static uint32_t seed_of(uint64_t instance)
{
	return mcm_crc32c(0, &instance, sizeof instance);
}

/* The CRC a record at pos must carry: continued from the seed over the first
 * 16 bytes of its header, its payload, then its position. */
static uint32_t record_crc(uint32_t seed, const struct mcm_jrec *r, const void *payload, size_t len, uint64_t pos)
{
	return mcm_crc32c_parts(seed, r, offsetof(struct mcm_jrec, crc), payload, len, pos);
}

/* The CRC of record r at pos, under seed. */
static uint32_t crc_of(uint32_t seed, const struct mcm_jrec *r, uint64_t pos)
{
	return record_crc(seed, r, r + 1, r->type == MCM_J_PAD ? 0 : r->len - sizeof *r - r->reserved, pos);
}

/* The CRC and spare words of r, as one 64-bit word (they are adjacent and
 * 8-aligned: records start on 16 bytes). A writer resolves its MCM_J_WRITE
 * record with a compare-and-swap of it while the drainer may read the
 * record: everything reads those two words through it. */
static uint64_t *state_word(const struct mcm_jrec *r)
{
	return (uint64_t *)(void *)&((struct mcm_jrec *)r)->crc;
}

static uint64_t state_of(uint32_t crc, uint32_t spare)
{
	struct {
		uint32_t crc, spare;
	} w = {crc, spare};
	uint64_t v;

	memcpy(&v, &w, sizeof v);
	return v;
}

static uint32_t half_of(uint64_t state, int i)
{
	uint32_t w[2];

	memcpy(w, &state, sizeof w);
	return w[i];
}

/* The CRC r carries. */
static uint32_t stored_crc(const struct mcm_jrec *r)
{
	return half_of(__atomic_load_n(state_word(r), __ATOMIC_RELAXED), 0);
}

/* Is the record at pos whole, and does it belong there? *len is its length.
 * A record before recovered_at was written before the last recovery, under
 * the instance before it (or sealed again under the current one). The last
 * bytes of the ring, too few for a header, are a padding that needs none
 * (*out NULL). */
static int record_at(const struct mcm_journal *j, uint64_t pos, const struct mcm_jrec **out, uint64_t *len)
{
	uint64_t size = j->h->size;
	size_t at = (size_t)(pos % size);
	const struct mcm_jrec *r = (const struct mcm_jrec *)(j->ring + at);
	uint32_t crc;

	*out = NULL;
	if (size - at < sizeof *r) {
		*len = size - at;
		return 1;
	}
	if (r->len < sizeof *r || r->len % ALIGN != 0 || at + r->len > size || r->type < MCM_J_PAD ||
	    r->type > MCM_J_WRITE || r->reserved >= ALIGN || r->len - sizeof *r < r->reserved)
		return 0;
	crc = crc_of(j->seed, r, pos);
	if (crc != stored_crc(r) && !(pos < j->recovered_at && crc_of(j->prev_seed, r, pos) == stored_crc(r)))
		return 0;
	*out = r;
	*len = r->len;
	return 1;
}

/* The seeds and boundary record_at checks against, from the header. */
static void load_seeds(struct mcm_journal *j)
{
	j->seed = seed_of(j->h->instance);
	j->prev_seed = seed_of(j->h->prev_instance);
	j->recovered_at = j->h->prev_instance ? j->h->recovered_at : 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

static long futex(uint32_t *word, int op, uint32_t val, unsigned timeout_ms)
{
	struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};

	return syscall(SYS_futex, word, op, val, op == FUTEX_WAIT ? &ts : NULL, NULL, 0);
}

/* The id of this boot of the machine ("" if unknown: then no recovery). */
static void boot_id(char id[40])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, id, 39) : -1;

	if (fd >= 0)
		close(fd);
	memset(id + (n > 0 ? n : 0), 0, 40 - (size_t)(n > 0 ? n : 0));
	if (n > 0 && id[n - 1] == '\n')
		id[n - 1] = '\0';
}

/* The boot id in the header publishes a recovery: it is written last, word by
 * word with release stores, and read with acquire loads, so that an opener
 * that sees the new id also sees the header the recovery repaired. */
static void publish_boot_id(struct mcm_jheader *h, const char id[40])
{
	uint64_t w[5];

	memcpy(w, id, sizeof w);
	for (int i = 0; i < 5; i++)
		__atomic_store_n((uint64_t *)(void *)(h->boot_id + 8 * i), w[i], __ATOMIC_RELEASE);
}

static int boot_id_is(struct mcm_jheader *h, const char id[40])
{
	uint64_t w[5];

	for (int i = 0; i < 5; i++)
		w[i] = __atomic_load_n((uint64_t *)(void *)(h->boot_id + 8 * i), __ATOMIC_ACQUIRE);
	return memcmp(w, id, sizeof w) == 0;
}

static void init_mutexes(struct mcm_jheader *h)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&h->sync_lock, &attr);
	h->append_lock = 0;
	pthread_mutexattr_destroy(&attr);
}

static uint64_t new_instance(void)
{
	uint64_t id;

	if (getrandom(&id, sizeof id, 0) != sizeof id)
		id = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return id | 1; /* never 0, which means "none" */
}

/* Initialise a new journal in a private file, then link it into place so
 * that no process ever maps a half-initialised one. */
static int create_journal(const char *dir, const char *path, size_t size, int replace)
{
	char tmp[PATH_MAX];
	struct mcm_jheader *h;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof tmp, "%s/journal.new.%d", dir, (int)getpid()) >= (int)sizeof tmp)
		return ENAMETOOLONG;
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return errno;
	/* allocated, not sparse: a page of the ring first touched when the disk
	 * is full would kill the application with SIGBUS */
	if ((rc = posix_fallocate(fd, 0, (off_t)(JOURNAL_HEADER + size))) != 0)
		goto out;
	h = mmap(NULL, JOURNAL_HEADER, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		rc = errno;
		goto out;
	}
	h->size = size;
	h->instance = new_instance();
	boot_id(h->boot_id);
	init_mutexes(h);
	__atomic_store_n(&h->magic, MCM_JOURNAL_MAGIC, __ATOMIC_RELEASE);
	munmap(h, JOURNAL_HEADER);
	if (replace ? rename(tmp, path) != 0 : link(tmp, path) != 0 && errno != EEXIST)
		rc = errno;
out:
	close(fd);
	unlink(tmp);
	return rc;
}

/* The end of the records from pos on that are whole and in order (a full
 * ring at most). */
static uint64_t scan(const struct mcm_journal *j, uint64_t pos)
{
	uint64_t start = pos, len;
	const struct mcm_jrec *r;

	while (pos - start < j->h->size && record_at(j, pos, &r, &len))
		pos += len;
	return pos;
}

/* Seal the records in [pos, end) again under the current instance. */
static void reseal(struct mcm_journal *j, uint64_t pos, uint64_t end)
{
	const struct mcm_jrec *r;
	uint64_t len;

	for (; pos < end && record_at(j, pos, &r, &len); pos += len)
		if (r)
			((struct mcm_jrec *)r)->crc = crc_of(j->seed, r, pos);
}

/* The machine restarted since the journal was last opened: every process
 * that used it is gone, but the file on disk may show a mutex "locked" by one
 * of them, and the records of the page cache's last moments may be missing
 * or torn. Keep the records from reclaim (LMDB has everything before) up to
 * the first that is not whole, and start a new instance after them: records
 * the recovery did not keep can never come back (their CRCs name the old
 * instance and positions that new records take). The old id and where the
 * kept records end are remembered, for record_at and for the drainer's saved
 * position. Kept records from before an earlier recovery are first sealed
 * again under the current instance, so that two instances always suffice.
 * Each step leaves a state that a crash and the next recovery handle. Runs
 * under an exclusive flock: one opener repairs, the others then see the new
 * boot id. */
static int recover(struct mcm_journal *j, int fd)
{
	struct mcm_jheader *h = j->h;
	char now[40];

	boot_id(now);
	if (!now[0] || boot_id_is(h, now))
		return 0;
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return errno;
	if (!boot_id_is(h, now)) {
		uint64_t keep;

		load_seeds(j);
		keep = scan(j, h->reclaim);
		if (h->reclaim < j->recovered_at) {
			reseal(j, h->reclaim, keep < j->recovered_at ? keep : j->recovered_at);
			msync(j->ring, (size_t)h->size, MS_SYNC);
		}
		init_mutexes(h);
		h->drainer_sleeping = 0;
		h->writing = 0;
		h->waiters = 0;
		h->prev_instance = h->instance;
		h->instance = new_instance();
		h->recovered_at = keep;
		h->tail = h->head = h->synced = keep;
		publish_boot_id(h, now);
		msync(h, JOURNAL_HEADER, MS_SYNC); /* a second crash must not undo the new instance */
	}
	flock(fd, LOCK_UN);
	return 0;
}

/* A journal of the first layout ("MCMJRNL1": 16-byte records without a CRC)
 * whose records were all applied (head, at byte 32, equals tail, at byte 24)
 * is replaced by a new one; one with records still to apply is refused (the
 * mcmirror that wrote it applies them). Under an exclusive flock, and only if
 * path still names that file. @return 0 (open again), or MCM_EFORMAT. */
static int replace_old(const char *dir, const char *path, int fd)
{
	uint64_t h[5];
	struct stat a, b;
	int rc = MCM_EFORMAT;

	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return errno;
	if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && (a.st_ino != b.st_ino || a.st_dev != b.st_dev))
		rc = 0; /* another process replaced it meanwhile */
	else if (pread(fd, h, sizeof h, 0) == sizeof h && (h[0] == JOURNAL_MAGIC_V1 || h[0] == JOURNAL_MAGIC_V2) &&
		 h[3] == h[4])
		rc = create_journal(dir, path, (size_t)h[1], 1);
	flock(fd, LOCK_UN);
	return rc;
}

int mcm_journal_open(struct mcm_journal **out, const char *dir, size_t size, int create)
{
	char path[PATH_MAX];
	struct mcm_journal *j;
	struct stat sb;
	uint64_t magic;
	void *map;
	int fd, rc, replaced = 0;

	*out = NULL;
	if (size == 0)
		size = MCM_JOURNAL_DEFAULT_SIZE;
	size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (snprintf(path, sizeof path, "%s/journal", dir) >= (int)sizeof path)
		return ENAMETOOLONG;
reopen:
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && !replaced && pread(fd, &magic, sizeof magic, 0) == sizeof magic &&
	    (magic == JOURNAL_MAGIC_V1 || magic == JOURNAL_MAGIC_V2)) {
		rc = replace_old(dir, path, fd);
		close(fd);
		if (rc != 0)
			return rc;
		replaced = 1;
		goto reopen;
	}
	if (fd < 0 && errno == ENOENT && create) {
		if ((rc = create_journal(dir, path, size, 0)) != 0)
			return rc;
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return errno;
	if (fstat(fd, &sb) != 0 || (size_t)sb.st_size < JOURNAL_HEADER + ALIGN * 64) {
		rc = fstat(fd, &sb) != 0 ? errno : MCM_EFORMAT;
		close(fd);
		return rc;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = errno;
		close(fd);
		return rc;
	}
	if (!(j = calloc(1, sizeof *j))) {
		munmap(map, (size_t)sb.st_size);
		close(fd);
		return ENOMEM;
	}
	j->h = map;
	j->ring = (unsigned char *)map + JOURNAL_HEADER;
	j->map_size = (size_t)sb.st_size;
	rc = 0;
	if (__atomic_load_n(&j->h->magic, __ATOMIC_ACQUIRE) != MCM_JOURNAL_MAGIC ||
	    j->h->size + JOURNAL_HEADER != j->map_size || j->h->size % ALIGN != 0)
		rc = MCM_EFORMAT;
	else
		rc = recover(j, fd);
	close(fd);
	load_seeds(j);
	j->size = j->h->size;
	j->wake_seen = __atomic_load_n(&j->h->wake_seq, __ATOMIC_ACQUIRE);
	if (rc != 0) {
		mcm_journal_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

void mcm_journal_close(struct mcm_journal *j)
{
	if (!j)
		return;
	munmap(j->h, j->map_size);
	free(j);
}

/* Wake the drainer. The word it sleeps on changes first, so that a wake
 * between its last look and its sleep is not lost. */
void mcm_journal_wake_drainer(struct mcm_journal *j)
{
	__atomic_fetch_add(&j->h->wake_seq, 1, __ATOMIC_RELEASE);
	futex(&j->h->wake_seq, FUTEX_WAKE, INT32_MAX, 0);
}

/* ---- the append lock (see mcm_journal.h) ---- */

/* this thread's lock word: namespace << 32 | thread id (cleared in a child after fork); initial-exec:
 * one load from the thread pointer, not a call to __tls_get_addr per append (the shim is preloaded) */
static __thread uint64_t my_id __attribute__((tls_model("initial-exec")));
static uint32_t my_ns;            /* this process's pid namespace: the inode of /proc/self/ns/pid */

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the futex word is the lock's low half");

static void forget_ids(void)
{
	my_id = 0;
}

__attribute__((constructor)) static void mcm_journal_init(void)
{
	struct stat sb;

	my_ns = stat("/proc/self/ns/pid", &sb) == 0 && (uint32_t)sb.st_ino ? (uint32_t)sb.st_ino : 1;
	pthread_atfork(NULL, NULL, forget_ids);
}

static uint64_t self_id(void)
{
	if (__builtin_expect(!my_id, 0))
		my_id = (uint64_t)my_ns << 32 | (uint32_t)syscall(SYS_gettid);
	return my_id;
}

int mcm_journal_task_gone(pid_t id)
{
	char path[64], buf[256], *paren;
	ssize_t n;
	int fd;

	if (id <= 0)
		return 0;
	if (kill(id, 0) != 0)
		return errno == ESRCH;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	paren = strrchr(buf, ')'); /* "id (comm) S ..." where comm may hold anything */
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* The append lock's owner (word v) is gone: take the lock over. Only an
 * owner of this pid namespace can be judged (another namespace's thread ids
 * mean nothing here: its writers are waited for, as live ones are). */
static int take_over(struct mcm_journal *j, uint64_t v, uint64_t me)
{
	if ((uint32_t)(v >> 32) != my_ns || !mcm_journal_task_gone((pid_t)((uint32_t)v & ~MCM_JLOCK_WAITERS)))
		return 0;
	return __atomic_compare_exchange_n(&j->h->append_lock, &v, me | MCM_JLOCK_WAITERS, 0, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void lock_slow(struct mcm_journal *j, uint64_t me)
{
	uint64_t *word = &j->h->append_lock;

	for (unsigned spins = 0;;) {
		uint64_t v = __atomic_load_n(word, __ATOMIC_RELAXED);

		if (v == 0) {
			/* (taken as "contended": others may sleep, and the release wakes them) */
			if (__atomic_compare_exchange_n(word, &v, me | MCM_JLOCK_WAITERS, 0, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return;
			continue;
		}
		if (spins++ < LOCK_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			continue;
		}
		if (!(v & MCM_JLOCK_WAITERS) &&
		    !__atomic_compare_exchange_n(word, &v, v | MCM_JLOCK_WAITERS, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		v |= MCM_JLOCK_WAITERS;
		if (futex((uint32_t *)word, FUTEX_WAIT, (uint32_t)v, LOCK_CHECK_MS) != 0 && errno == ETIMEDOUT &&
		    take_over(j, v, me))
			return; /* the owner died inside an append: the tail moves last, nothing of it shows */
	}
}

static inline __attribute__((always_inline)) void lock(struct mcm_journal *j)
{
	uint64_t me = self_id(), v = 0;

	if (__builtin_expect(!__atomic_compare_exchange_n(&j->h->append_lock, &v, me, 0, __ATOMIC_ACQUIRE,
							  __ATOMIC_RELAXED), 0))
		lock_slow(j, me);
}

static inline __attribute__((always_inline)) void unlock(struct mcm_journal *j)
{
	if (__atomic_exchange_n(&j->h->append_lock, 0, __ATOMIC_RELEASE) & MCM_JLOCK_WAITERS)
		futex((uint32_t *)&j->h->append_lock, FUTEX_WAKE, 1, 0);
}

/* Room for need bytes at the tail, writing a PAD to the ring's end if the
 * record would straddle it. Called with the lock held. */
static inline __attribute__((always_inline)) int make_room(struct mcm_journal *j, size_t need, uint64_t *tail)
{
	uint64_t t = j->h->tail, reclaim = __atomic_load_n(&j->h->reclaim, __ATOMIC_ACQUIRE);
	size_t at = (size_t)(t % j->size), pad = at + need > j->size ? j->size - at : 0;

	if (t + pad + need - reclaim > j->size)
		return ENOSPC;
	if (pad >= sizeof(struct mcm_jrec)) { /* (a shorter one needs no header: see record_at) */
		struct mcm_jrec *r = (struct mcm_jrec *)(j->ring + at);
		r->len = (uint32_t)pad;
		r->type = MCM_J_PAD;
		r->reserved = 0;
		r->id = 0;
		r->crc = record_crc(j->seed, r, NULL, 0, t);
	}
	if (pad) {
		t += pad;
		__atomic_store_n(&j->h->tail, t, __ATOMIC_RELEASE);
	}
	*tail = t;
	return 0;
}

/* memcpy for a record's pieces, most of them a few bytes: those up to 32
 * bytes without a call (words, overlapping at the end). */
static inline void copy_piece(unsigned char *d, const void *src, size_t n)
{
	const unsigned char *s = src;
	uint64_t w[4];

	if (n > 32) {
		memcpy(d, s, n);
	} else if (n >= 16) {
		memcpy(w, s, 16);
		memcpy(w + 2, s + n - 16, 16);
		memcpy(d, w, 16);
		memcpy(d + n - 16, w + 2, 16);
	} else if (n >= 8) {
		memcpy(w, s, 8);
		memcpy(w + 1, s + n - 8, 8);
		memcpy(d, w, 8);
		memcpy(d + n - 8, w + 1, 8);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* Append a record; *at: its position, *end: just past it, *crc: its CRC. */
static inline __attribute__((always_inline)) int put_record(struct mcm_journal *j, enum mcm_jtype type,
							     uint64_t id, const struct iovec *iov, int iovcnt,
							     unsigned wait_ms, uint64_t *at, uint64_t *end,
							     uint32_t *crc)
{
	size_t len = sizeof(struct mcm_jrec), need;
	struct mcm_jrec hdr, *r;
	unsigned char *p;
	uint32_t sleeping;
	uint64_t t;
	unsigned waited = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	need = (len + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (need > j->size / 4)
		return EMSGSIZE;
	hdr.len = (uint32_t)need;
	hdr.type = (uint16_t)type;
	hdr.reserved = (uint16_t)(need - len); /* padding bytes at the end */
	hdr.id = id;
	hdr.spare = 0;
	for (;;) {
		lock(j);
		if (make_room(j, need, &t) == 0)
			break;
		unlock(j);
		if (waited >= wait_ms) {
			__atomic_fetch_add(&j->h->lost, 1, __ATOMIC_RELEASE); /* after the tail it saw: see mcm_drain_step */
			return ENOSPC;
		}
		mcm_journal_wake_drainer(j);
		sleep_ms(1);
		waited++;
	}
	/* the payload is copied, then checksummed where it lies (one pass of the
	 * CRC over the header, the payload and the position) */
	r = (struct mcm_jrec *)(j->ring + t % j->size);
	p = (unsigned char *)(r + 1);
	for (int i = 0; i < iovcnt; i++) {
		copy_piece(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	hdr.crc = record_crc(j->seed, &hdr, r + 1, len - sizeof hdr, t);
	*r = hdr;
	__atomic_store_n(&j->h->tail, t + need, __ATOMIC_RELEASE);
	unlock(j);
	/* an idle drainer waits to be woken; a napping one only if the ring is half full */
	sleeping = __atomic_load_n(&j->h->drainer_sleeping, __ATOMIC_SEQ_CST);
	if (sleeping == 2 ||
	    (sleeping == 1 && t + need - __atomic_load_n(&j->h->reclaim, __ATOMIC_RELAXED) > j->size / 2))
		mcm_journal_wake_drainer(j);
	*at = t;
	*end = t + need;
	*crc = hdr.crc;
	return 0;
}

int mcm_journal_append(struct mcm_journal *j, enum mcm_jtype type, uint64_t id, const struct iovec *iov,
		       int iovcnt, unsigned wait_ms, uint64_t *end)
{
	uint64_t at;
	uint32_t crc;

	return put_record(j, type, id, iov, iovcnt, wait_ms, &at, end, &crc);
}

int mcm_journal_append_write(struct mcm_journal *j, uint64_t id, const struct iovec *iov, int iovcnt,
			     unsigned wait_ms, struct mcm_jticket *t)
{
	uint64_t end;

	return put_record(j, MCM_J_WRITE, id, iov, iovcnt, wait_ms, &t->pos, &end, &t->crc);
}

/* The spare word of a MCM_J_WRITE record: 0 pending, SPARE_TAKEN, or resolved:
 * SPARE_RESOLVED, 15 bits of its CRC (a word scribbled on passes for a
 * resolution once in 65,536), and the 16-byte units appended from its
 * position to the tail when its call returned (16 bits: up to 1 MiB; a call
 * that saw more appended while in flight appends an outcome instead). */
#define SPARE_TAKEN 1u
#define SPARE_RESOLVED 0x80000000u
#define SPARE_UNITS 0x0000ffffu

static uint32_t resolved_tag(uint32_t crc)
{
	return SPARE_RESOLVED | (crc >> 17) << 16;
}

int mcm_journal_resolve(struct mcm_journal *j, const struct mcm_jticket *t)
{
	const struct mcm_jrec *r = (const struct mcm_jrec *)(j->ring + t->pos % j->size);
	/* every record appended from here on was sent after this call returned: the
	 * reply was read before this load (a system call orders them) */
	uint64_t units = (__atomic_load_n(&j->h->tail, __ATOMIC_ACQUIRE) - t->pos) / ALIGN;
	uint64_t pending = state_of(t->crc, 0);

	if (units > SPARE_UNITS)
		return E2BIG;
	/* the CRC in the same word: if the drainer took the record over, applied it and
	 * the room was reused, another record is there, with another CRC */
	if (!__atomic_compare_exchange_n(state_word(r), &pending,
					 state_of(t->crc, resolved_tag(t->crc) | (uint32_t)units), 0,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		return EALREADY;
	return 0;
}

int mcm_journal_settle(struct mcm_journal *j, const struct mcm_jrec *r, uint64_t pos, uint64_t *close)
{
	uint64_t *word = state_word(r), state = __atomic_load_n(word, __ATOMIC_ACQUIRE);

	(void)j;
	for (;;) {
		uint32_t crc = half_of(state, 0), spare = half_of(state, 1);

		if ((spare & ~SPARE_UNITS) == resolved_tag(crc)) {
			*close = pos + (uint64_t)(spare & SPARE_UNITS) * ALIGN;
			return 1;
		}
		if (spare != 0) /* taken over already (read again after a failed commit), or scribbled on */
			return 0;
		if (__atomic_compare_exchange_n(word, &state, state_of(crc, SPARE_TAKEN), 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
	}
}

void mcm_journal_add_features(struct mcm_journal *j, uint32_t features)
{
	__atomic_fetch_or(&j->h->features, features, __ATOMIC_RELEASE);
}

uint32_t mcm_journal_features(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->features, __ATOMIC_ACQUIRE);
}

void mcm_journal_prefault(struct mcm_journal *j, size_t ahead)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), tail = mcm_journal_tail(j), from, to;

	if (j->no_populate || ahead > j->size / 2)
		return;
	from = j->populated > tail ? j->populated : tail;
	to = (tail + ahead) / page * page;
	from = from / page * page;
	while (from < to) {
		size_t at = (size_t)(from % j->size), n = (size_t)(to - from);

		if (n > j->size - at)
			n = (size_t)j->size - at; /* up to the ring's end, then from its start */
		if (madvise(j->ring + at, n, MADV_POPULATE_WRITE) != 0) {
			j->no_populate = errno == EINVAL; /* (an old kernel; other errors: try again later) */
			return;
		}
		from += n;
	}
	if (to > j->populated)
		j->populated = to;
}

size_t mcm_journal_size(const struct mcm_journal *j)
{
	return (size_t)j->h->size;
}

uint64_t mcm_journal_tail(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->tail, __ATOMIC_ACQUIRE);
}

uint64_t mcm_journal_head(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->head, __ATOMIC_ACQUIRE);
}

uint64_t mcm_journal_instance(const struct mcm_journal *j)
{
	return j->h->instance;
}

uint64_t mcm_journal_lost(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->lost, __ATOMIC_ACQUIRE);
}

int mcm_journal_read(struct mcm_journal *j, uint64_t *pos, const struct mcm_jrec **rec,
		     const unsigned char **payload, size_t *payload_len)
{
	for (;;) {
		const struct mcm_jrec *r;
		uint64_t len;

		if (*pos >= mcm_journal_tail(j))
			return MCM_END;
		if (!record_at(j, *pos, &r, &len) || *pos + len > mcm_journal_tail(j))
			return MCM_EFORMAT;
		*pos += len;
		if (!r || r->type == MCM_J_PAD)
			continue;
		*rec = r;
		*payload = (const unsigned char *)(r + 1);
		*payload_len = r->len - sizeof *r - r->reserved;
		return 0;
	}
}

int mcm_journal_skip_damaged(struct mcm_journal *j, uint64_t *pos)
{
	uint64_t tail = mcm_journal_tail(j), q, len;
	const struct mcm_jrec *r;

	for (q = *pos + ALIGN; q < tail; q += ALIGN)
		if (record_at(j, q, &r, &len) && r && q + len <= tail)
			break;
	if (q > tail)
		q = tail;
	if (q <= *pos)
		return MCM_END;
	*pos = q;
	__atomic_fetch_add(&j->h->lost, 1, __ATOMIC_RELEASE); /* its writes are lost: see mcm_drain_step */
	return 0;
}

void mcm_journal_set_head(struct mcm_journal *j, uint64_t pos)
{
	__atomic_store_n(&j->h->head, pos, __ATOMIC_RELEASE);
	__atomic_fetch_add(&j->h->applied_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&j->h->waiters, __ATOMIC_SEQ_CST) > 0) /* (a system call only when a reader waits) */
		futex(&j->h->applied_seq, FUTEX_WAKE, INT32_MAX, 0);
}

uint32_t mcm_journal_applied(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->applied_seq, __ATOMIC_ACQUIRE);
}

void mcm_journal_wait_applied(struct mcm_journal *j, uint32_t seen, unsigned timeout_ms)
{
	__atomic_fetch_add(&j->h->waiters, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&j->h->applied_seq, __ATOMIC_SEQ_CST) == seen)
		futex(&j->h->applied_seq, FUTEX_WAIT, seen, timeout_ms);
	__atomic_fetch_sub(&j->h->waiters, 1, __ATOMIC_SEQ_CST);
}

int mcm_journal_wait_records(struct mcm_journal *j, uint64_t seen_tail, unsigned timeout_ms)
{
	uint32_t seq = j->wake_seen; /* a wake since the last wait (while draining) ends this one at once */
	int nap = timeout_ms <= NAP_MS;

	/* 1: a nap, to batch what arrives meanwhile, cut short only when the ring
	 * fills; 2: idle, which the next append ends */
	__atomic_store_n(&j->h->drainer_sleeping, nap ? 1 : 2, __ATOMIC_SEQ_CST);
	if (nap || mcm_journal_tail(j) == seen_tail)
		futex(&j->h->wake_seq, FUTEX_WAIT, seq, timeout_ms);
	__atomic_store_n(&j->h->drainer_sleeping, 0, __ATOMIC_SEQ_CST);
	j->wake_seen = __atomic_load_n(&j->h->wake_seq, __ATOMIC_ACQUIRE);
	return nap && j->wake_seen != seq;
}

void mcm_journal_set_reclaim(struct mcm_journal *j, uint64_t pos)
{
	__atomic_store_n(&j->h->reclaim, pos, __ATOMIC_RELEASE);
}

uint64_t mcm_journal_reclaim(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->reclaim, __ATOMIC_ACQUIRE);
}

int mcm_journal_recovery(const struct mcm_journal *j, uint64_t *prev_instance, uint64_t *recovered_at)
{
	*prev_instance = j->h->prev_instance;
	*recovered_at = j->h->recovered_at;
	return j->h->prev_instance != 0;
}

uint64_t mcm_journal_synced(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->synced, __ATOMIC_ACQUIRE);
}

/* Flush ring bytes [a, b) to disk. */
static int msync_ring(struct mcm_journal *j, size_t a, size_t b)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = ((uintptr_t)j->ring + a) & ~(page - 1);

	return msync((void *)lo, (uintptr_t)j->ring + b - lo, MS_SYNC) == 0 ? 0 : errno;
}

/* Flush the records appended before the sync started, and publish how far
 * that is. Called with sync_lock held. Only the ring: after a power loss the
 * records themselves (their CRCs) say how far it is valid. */
static int sync_now(struct mcm_journal *j)
{
	uint64_t from = mcm_journal_synced(j), target = mcm_journal_tail(j), size = j->h->size;
	size_t a = (size_t)(from % size), b = (size_t)(target % size);
	int rc = 0;

	if (target <= from)
		return 0;
	if (target - from >= size)
		rc = msync_ring(j, 0, (size_t)size);
	else if (a < b)
		rc = msync_ring(j, a, b);
	else if ((rc = msync_ring(j, a, (size_t)size)) == 0 && b > 0)
		rc = msync_ring(j, 0, b);
	if (rc != 0)
		return rc;
	if (target > __atomic_load_n(&j->h->synced, __ATOMIC_ACQUIRE))
		__atomic_store_n(&j->h->synced, target, __ATOMIC_RELEASE);
	return 0;
}

/* Wake the callers waiting in mcm_journal_sync. Called after sync_lock is
 * released: a waiter whose trylock failed must find either the lock free or
 * a new sequence number. */
static void wake_syncers(struct mcm_journal *j)
{
	__atomic_fetch_add(&j->h->synced_seq, 1, __ATOMIC_RELEASE);
	futex(&j->h->synced_seq, FUTEX_WAKE, INT32_MAX, 0);
}

void mcm_journal_writing(struct mcm_journal *j, int delta)
{
	int32_t v = __atomic_load_n(&j->h->writing, __ATOMIC_RELAXED);

	/* never below 0: the drainer also takes back what writers that died in
	 * flight left (whether they were always-writers or not) */
	while (!__atomic_compare_exchange_n(&j->h->writing, &v, v + delta < 0 ? 0 : v + delta, 0, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

static long us_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000;
}

/* Before a sync: while other always-writers are in flight (their call is at
 * the server), give them up to GATHER_US to append their outcome, so that this
 * sync covers them too. (A writer killed in flight leaves the count high: the
 * wait is bounded.) */
static void gather(struct mcm_journal *j)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&j->h->writing, __ATOMIC_ACQUIRE) > 0 && us_since(&t0) < GATHER_US)
		sched_yield();
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int mcm_journal_sync(struct mcm_journal *j, uint64_t end, unsigned timeout_ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint32_t seq = __atomic_load_n(&j->h->synced_seq, __ATOMIC_ACQUIRE);
		long elapsed;
		int rc;

		if (mcm_journal_synced(j) >= end)
			return 0;
		rc = pthread_mutex_trylock(&j->h->sync_lock);
		if (rc == EOWNERDEAD) { /* a syncer died: its sync may not have finished, run another */
			pthread_mutex_consistent(&j->h->sync_lock);
			rc = 0;
		}
		if (rc == 0) {
			if (mcm_journal_synced(j) < end)
				gather(j);
			rc = mcm_journal_synced(j) >= end ? 0 : sync_now(j);
			pthread_mutex_unlock(&j->h->sync_lock);
			wake_syncers(j);
			if (rc != 0)
				return rc;
			continue;
		}
		if ((elapsed = ms_since(&t0)) >= (long)timeout_ms)
			return ETIMEDOUT;
		/* another process syncs: its sync covers us if we appended before it began */
		futex(&j->h->synced_seq, FUTEX_WAIT, seq, (unsigned)(timeout_ms - (unsigned)elapsed));
	}
}
