/* journal.c - the shared write journal (see mcm_journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mcm_journal.h"
#include "mcm_store.h"

#define JOURNAL_MAGIC 0x314c4e524a4d434dULL /* "MCMJRNL1" */
#define JOURNAL_HEADER 4096
#define ALIGN 16
#define NAP_MS 2 /* see mcm_journal_wait_records */

/* The first page of the file. Positions are written under the mutex (tail)
 * or by the drainer (head, durable) and read with atomics. */
struct jheader {
	uint64_t magic;
	uint64_t size;      /* bytes of ring */
	uint64_t instance;  /* random id of this journal */
	uint64_t tail;      /* end of the last complete record */
	uint64_t head;      /* everything before was applied */
	uint64_t durable;   /* everything before is on disk (MCMIRROR_SYNC=always) */
	uint64_t lost;      /* records that found the ring full */
	uint64_t durable_wanted; /* highest position a producer waits to see durable */
	uint32_t tail_seq;  /* futex word: bumped by each append */
	uint32_t durable_seq; /* futex word: bumped when durable moves */
	uint32_t drainer_sleeping;
	uint32_t pad;
	pthread_mutex_t lock;
};

struct mcm_journal {
	struct jheader *h;
	unsigned char *ring;
	size_t map_size;
};

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

/* Initialise a new journal in a private file, then link it into place so
 * that no process ever maps a half-initialised one. */
static int create_journal(const char *dir, const char *path, size_t size)
{
	char tmp[PATH_MAX];
	struct jheader *h;
	pthread_mutexattr_t attr;
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
	if (getrandom(&h->instance, sizeof h->instance, 0) != sizeof h->instance)
		h->instance = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&h->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	__atomic_store_n(&h->magic, JOURNAL_MAGIC, __ATOMIC_RELEASE);
	munmap(h, JOURNAL_HEADER);
	if (link(tmp, path) != 0 && errno != EEXIST)
		rc = errno;
out:
	close(fd);
	unlink(tmp);
	return rc;
}

int mcm_journal_open(struct mcm_journal **out, const char *dir, size_t size, int create)
{
	char path[PATH_MAX];
	struct mcm_journal *j;
	struct stat sb;
	void *map;
	int fd, rc;

	*out = NULL;
	if (size == 0)
		size = MCM_JOURNAL_DEFAULT_SIZE;
	size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (snprintf(path, sizeof path, "%s/journal", dir) >= (int)sizeof path)
		return ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if ((rc = create_journal(dir, path, size)) != 0)
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
	rc = errno;
	close(fd);
	if (map == MAP_FAILED)
		return rc;
	j = calloc(1, sizeof *j);
	if (!j) {
		munmap(map, (size_t)sb.st_size);
		return ENOMEM;
	}
	j->h = map;
	j->ring = (unsigned char *)map + JOURNAL_HEADER;
	j->map_size = (size_t)sb.st_size;
	if (__atomic_load_n(&j->h->magic, __ATOMIC_ACQUIRE) != JOURNAL_MAGIC ||
	    j->h->size + JOURNAL_HEADER != j->map_size || j->h->size % ALIGN != 0) {
		mcm_journal_close(j);
		return MCM_EFORMAT;
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

static void lock(struct mcm_journal *j)
{
	if (pthread_mutex_lock(&j->h->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&j->h->lock); /* the tail moves last: nothing half-written is visible */
}

/* Room for need bytes at the tail, writing a PAD to the ring's end if the
 * record would straddle it. Called with the lock held. */
static int make_room(struct mcm_journal *j, size_t need, uint64_t *tail)
{
	uint64_t t = j->h->tail, head = __atomic_load_n(&j->h->head, __ATOMIC_ACQUIRE);
	size_t at = (size_t)(t % j->h->size), pad = at + need > j->h->size ? j->h->size - at : 0;

	if (t + pad + need - head > j->h->size)
		return ENOSPC;
	if (pad) {
		struct mcm_jrec *r = (struct mcm_jrec *)(j->ring + at);
		r->len = (uint32_t)pad;
		r->type = MCM_J_PAD;
		r->reserved = 0; /* the ring holds an old lap's bytes here: mcm_journal_read checks this field */
		r->id = 0;
		t += pad;
		__atomic_store_n(&j->h->tail, t, __ATOMIC_RELEASE);
	}
	*tail = t;
	return 0;
}

int mcm_journal_append(struct mcm_journal *j, enum mcm_jtype type, uint64_t id, const struct iovec *iov,
		       int iovcnt, unsigned wait_ms, uint64_t *end)
{
	size_t len = sizeof(struct mcm_jrec), need;
	struct mcm_jrec *r;
	unsigned char *p;
	uint64_t t;
	unsigned waited = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	need = (len + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (need > j->h->size / 4)
		return EMSGSIZE;
	for (;;) {
		lock(j);
		if (make_room(j, need, &t) == 0)
			break;
		pthread_mutex_unlock(&j->h->lock);
		if (waited >= wait_ms) {
			__atomic_fetch_add(&j->h->lost, 1, __ATOMIC_RELAXED);
			return ENOSPC;
		}
		futex(&j->h->tail_seq, FUTEX_WAKE, INT32_MAX, 0); /* make sure the drainer is awake */
		sleep_ms(1);
		waited++;
	}
	r = (struct mcm_jrec *)(j->ring + t % j->h->size);
	p = (unsigned char *)(r + 1);
	for (int i = 0; i < iovcnt; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	r->len = (uint32_t)need;
	r->type = (uint16_t)type;
	r->reserved = (uint16_t)(need - len); /* padding bytes at the end */
	r->id = id;
	__atomic_store_n(&j->h->tail, t + need, __ATOMIC_RELEASE);
	__atomic_fetch_add(&j->h->tail_seq, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&j->h->lock);
	if (__atomic_load_n(&j->h->drainer_sleeping, __ATOMIC_SEQ_CST) == 2) /* idle: wake it; a nap ends soon */
		futex(&j->h->tail_seq, FUTEX_WAKE, INT32_MAX, 0);
	*end = t + need;
	return 0;
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
	return __atomic_load_n(&j->h->lost, __ATOMIC_RELAXED);
}

int mcm_journal_read(struct mcm_journal *j, uint64_t *pos, const struct mcm_jrec **rec,
		     const unsigned char **payload, size_t *payload_len)
{
	for (;;) {
		uint64_t tail = mcm_journal_tail(j);
		const struct mcm_jrec *r;
		size_t at;

		if (*pos >= tail)
			return MCM_END;
		at = (size_t)(*pos % j->h->size);
		r = (const struct mcm_jrec *)(j->ring + at);
		if (r->len < sizeof *r || r->len % ALIGN != 0 || at + r->len > j->h->size || *pos + r->len > tail ||
		    r->type < MCM_J_PAD || r->type > MCM_J_OUTCOME || r->reserved >= ALIGN)
			return MCM_EFORMAT;
		*pos += r->len;
		if (r->type == MCM_J_PAD)
			continue;
		*rec = r;
		*payload = (const unsigned char *)(r + 1);
		*payload_len = r->len - sizeof *r - r->reserved;
		return 0;
	}
}

void mcm_journal_set_head(struct mcm_journal *j, uint64_t pos)
{
	__atomic_store_n(&j->h->head, pos, __ATOMIC_RELEASE);
}

void mcm_journal_wait_records(struct mcm_journal *j, uint64_t seen_tail, unsigned timeout_ms)
{
	uint32_t seq = __atomic_load_n(&j->h->tail_seq, __ATOMIC_ACQUIRE);

	/* 1: a nap, which only a writer waiting for durability cuts short;
	 * 2: idle, which the next append ends */
	__atomic_store_n(&j->h->drainer_sleeping, timeout_ms <= NAP_MS ? 1 : 2, __ATOMIC_SEQ_CST);
	if (mcm_journal_tail(j) == seen_tail)
		futex(&j->h->tail_seq, FUTEX_WAIT, seq, timeout_ms);
	__atomic_store_n(&j->h->drainer_sleeping, 0, __ATOMIC_RELEASE);
}

void mcm_journal_set_durable(struct mcm_journal *j, uint64_t pos)
{
	__atomic_store_n(&j->h->durable, pos, __ATOMIC_RELEASE);
	__atomic_fetch_add(&j->h->durable_seq, 1, __ATOMIC_RELEASE);
	futex(&j->h->durable_seq, FUTEX_WAKE, INT32_MAX, 0);
}

uint64_t mcm_journal_durable_wanted(const struct mcm_journal *j)
{
	return __atomic_load_n(&j->h->durable_wanted, __ATOMIC_ACQUIRE);
}

int mcm_journal_wait_durable(struct mcm_journal *j, uint64_t end, unsigned timeout_ms)
{
	struct timespec t0, t;
	uint64_t wanted = __atomic_load_n(&j->h->durable_wanted, __ATOMIC_RELAXED);

	while (wanted < end &&
	       !__atomic_compare_exchange_n(&j->h->durable_wanted, &wanted, end, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint32_t seq = __atomic_load_n(&j->h->durable_seq, __ATOMIC_ACQUIRE);
		long elapsed;

		if (__atomic_load_n(&j->h->durable, __ATOMIC_ACQUIRE) >= end)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (elapsed >= (long)timeout_ms)
			return ETIMEDOUT;
		futex(&j->h->tail_seq, FUTEX_WAKE, INT32_MAX, 0); /* the drainer may be asleep */
		futex(&j->h->durable_seq, FUTEX_WAIT, seq, (unsigned)(timeout_ms - (unsigned)elapsed));
	}
}
