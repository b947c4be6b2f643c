/* writer.c - the shim's side of the journal: append intents and outcomes, and drain.
 *
 * Application threads only append to the shared journal (mcm_journal.h): no
 * LMDB work, no system call on the common path. Every process running the
 * shim also has a drainer thread, started at its first write; the one that
 * holds the mirror's drain lock applies the journal to LMDB in batches
 * (mcm_drain.h), the others wait for the lock and take over if it dies. A
 * burst of writes waits in the journal up to 100 ms before it is applied,
 * so that the drainer does not take a CPU from the writers meanwhile
 * (store/pace.c).
 *
 * MCMIRROR_SYNC (docs/DURABILITY.md): with none the drainer commits without
 * fsync and syncs LMDB only when the journal needs the room; with everysec
 * each commit writes its data to disk (MDB_NOMETASYNC: a power loss cannot
 * damage the file) and once a second the rest; always is everysec plus a sync
 * of the journal file before the application's call returns (group commit:
 * one caller's msync serves every writer waiting at that moment).
 *
 * fork(): the child keeps the journal mapping (it is shared memory) but not
 * the drainer thread, the LMDB environment or the lock: it starts its own
 * drainer at its first write.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mcm_counters.h"
#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_record.h"
#include "shim.h"

#define REOPEN_DELAY 10         /* seconds between attempts to open an unusable mirror */
#define APPEND_WAIT_MS 50       /* how long an append waits for room in a full journal */
#define DURABLE_WAIT_MS 5000    /* MCMIRROR_SYNC=always: the longest a call waits for its sync */
#define REAP_AGE 60             /* seconds after which an intent without outcome is given up */
#define KNOWN_POOLS 16          /* pools this process has described in the journal */
#define NAP_MS 10               /* a busy drainer looks for new records this often (none): a write
				   costs it about 10,500 instructions in batches of 20 (1 ms at 20,000
				   writes/s), 7,000 in batches of 200 (bench/write/cost.sh STEP_RECORDS) */
#define IDLE_NAPS 20            /* after this many empty naps (200 ms) it waits to be woken */
#define STEP 8192               /* records per LMDB transaction, at most (mcm-drain-bench: 1,024 applied
				   500k writes/s, 8,192 830k) */
#define DURABLE_NAP_MS 50       /* when each commit costs an fsync (everysec, always): fewer, larger ones */
#define DURABLE_IDLE_NAPS 4
#define EXIT_WAIT_MS 200        /* at exit, how long to wait for a drainer to apply our writes */
#define SWEEP_PER_STEP 4096     /* seq entries the sweep visits in a drain transaction, at most: one
				   per journal record the step before applied (two per write: the
				   sweep passes the index faster than writes add to it, so expired
				   records and tombstones wait at most about one pass of it), so that
				   its cost per write (about 80 instructions an entry, store/sweep.c)
				   does not grow as batches shrink */
#define PREFAULT_AHEAD (4u << 20) /* journal bytes the drainer maps ahead of this process's writers */
#define SWEEP_IDLE 65536        /* ... and in a transaction of its own while no writes come */
#define SWEEP_IDLE_S 10         /* how often then */

static struct {
	pthread_mutex_t lock;     /* opening, starting the drainer */
	struct mcm_journal *journal;
	struct mcm_counters *counters;
	pid_t pid;
	uint32_t next_intent;
	time_t retry_at;
	int drainer_started;      /* in this process (not inherited by a child); atomic: read without the lock */
	int drain_fd;             /* the drain lock, held or waited for (changed under lock) */
	uint64_t known_pools[KNOWN_POOLS];
	uint64_t known_behaviour[KNOWN_POOLS];
	unsigned nknown;
} w = {.lock = PTHREAD_MUTEX_INITIALIZER, .drain_fd = -1};

/* fork() waits while the drainer opens or closes the drain lock, so that a
 * child always knows the lock descriptor it inherited. */
static void before_fork(void)
{
	pthread_mutex_lock(&w.lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&w.lock);
}

static void after_fork_child(void)
{
	pthread_mutex_init(&w.lock, NULL);
	w.pid = getpid();
	__atomic_store_n(&w.drainer_started, 0, __ATOMIC_RELAXED);
	if (w.drain_fd >= 0)
		close(w.drain_fd); /* the parent's lock (or its wait for it) stays the parent's */
	w.drain_fd = -1;
	mcm_log_reset();
}

static void *drainer_main(void *arg);

/* Start this process's drainer thread, with every signal blocked in it. */
static void start_drainer(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &attr, drainer_main, NULL) == 0)
		__atomic_store_n(&w.drainer_started, 1, __ATOMIC_RELEASE);
	else
		mcm_log_once(MCM_CAUSE_OPEN, "cannot start the drainer thread: %s", strerror(errno));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

/* journal_get's first call in a process (and after a fork, or while the mirror is unusable). */
static __attribute__((noinline)) struct mcm_journal *journal_open(void)
{
	const struct mcm_config *cfg;
	struct mcm_journal *j;
	time_t now;
	int rc;

	cfg = mcm_config_get();
	pthread_mutex_lock(&w.lock);
	if (!w.pid) {
		w.pid = getpid();
		pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	}
	if (!w.journal) {
		now = time(NULL);
		if (w.retry_at && now < w.retry_at)
			goto out;
		rc = mkdir(cfg->path, 0700) != 0 && errno != EEXIST ? errno : 0;
		if (rc == 0)
			rc = mcm_journal_open(&j, cfg->path, cfg->journal_size, 1);
		if (rc != 0) {
			mcm_log_once(MCM_CAUSE_OPEN, "cannot open mirror '%s': %s; passing writes through (set MCMIRROR_PATH)",
				     cfg->path, mcm_strerror(rc));
			w.retry_at = now + REOPEN_DELAY;
			goto out;
		}
		mcm_counters_open(&w.counters, cfg->path, 1);
		__atomic_store_n(&w.journal, j, __ATOMIC_RELEASE);
	}
	if (!__atomic_load_n(&w.drainer_started, __ATOMIC_RELAXED))
		start_drainer();
out:
	j = __atomic_load_n(&w.journal, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&w.lock);
	return j;
}

/* The journal, mapped at the first write; NULL while the mirror is unusable. */
static inline struct mcm_journal *journal_get(void)
{
	struct mcm_journal *j = __atomic_load_n(&w.journal, __ATOMIC_ACQUIRE);

	return j && __atomic_load_n(&w.drainer_started, __ATOMIC_ACQUIRE) ? j : journal_open();
}

/* When the journal was last found full: for a second after that, appends do
 * not wait for room (a stuck drainer must not slow every call by the wait). */
static time_t full_at;

static unsigned append_wait(void)
{
	time_t full = __atomic_load_n(&full_at, __ATOMIC_RELAXED);

	return full && time(NULL) - full < 1 ? 0 : APPEND_WAIT_MS; /* (the clock only once it was full) */
}

/* A record could not be appended: the write goes unmirrored. */
static void report_lost(int rc)
{
	if (rc == ENOSPC)
		__atomic_store_n(&full_at, time(NULL), __ATOMIC_RELAXED);
	mcm_counters_add(w.counters, MCM_CTR_LOST_DROPS, 1);
	mcm_log_once(MCM_CAUSE_WRITE, "the journal of '%s' is full (is a drainer running?): %s; "
		     "writes pass through unmirrored, and the mirror will forget everything written before them",
		     mcm_config_get()->path, strerror(rc));
}

static int append(enum mcm_jtype type, uint64_t id, const struct iovec *iov, int n, uint64_t *end)
{
	int rc = mcm_journal_append(w.journal, type, id, iov, n, append_wait(), end);

	if (rc != 0)
		report_lost(rc);
	return rc;
}

static uint64_t behaviour_of(const struct mcm_pool *p)
{
	return (uint64_t)p->distribution << 40 ^ (uint64_t)p->key_hash << 20 ^ p->dist_hash ^
	       (uint64_t)p->hash_with_namespace << 63;
}

/* Has this process described pool p in the journal, with its behaviours? */
static inline int pool_known(const struct mcm_pool *p)
{
	uint64_t behaviour = behaviour_of(p);
	unsigned n = __atomic_load_n(&w.nknown, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n && i < KNOWN_POOLS; i++)
		if (w.known_pools[i] == p->id && w.known_behaviour[i] == behaviour)
			return 1;
	return 0;
}

/* Describe pool in the journal the first time this process writes to it
 * (and again when its distribution or hashes change). */
static __attribute__((noinline)) void register_pool(const struct mcm_pool *p)
{
	uint64_t behaviour = behaviour_of(p);
	unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	struct iovec iov[2];
	unsigned n;
	uint64_t end;

	iov[0] = (struct iovec){(void *)&p->id, 8};
	iov[1] = (struct iovec){buf, mcm_pool_size(p)};
	mcm_pool_encode(p, buf);
	if (append(MCM_J_POOL, 0, iov, 2, &end) != 0)
		return;
	pthread_mutex_lock(&w.lock);
	n = w.nknown % KNOWN_POOLS;
	w.known_pools[n] = p->id;
	w.known_behaviour[n] = behaviour;
	__atomic_store_n(&w.nknown, w.nknown + 1 > KNOWN_POOLS ? KNOWN_POOLS : w.nknown + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w.lock);
}

/* What every write's first record needs: the journal (0; -1 when the mirror
 * is unusable), pool described in it, and a new intent id in *id. */
static inline int start_write(const struct mcm_pool *pool, uint64_t *id)
{
	if (!journal_get()) {
		mcm_counters_add(w.counters, MCM_CTR_SKIPPED, 1);
		return -1;
	}
	if (!pool_known(pool))
		register_pool(pool);
	*id = (uint64_t)w.pid << 32 | __atomic_add_fetch(&w.next_intent, 1, __ATOMIC_RELAXED);
	return 0;
}

int mcm_writer_intent(const struct mcm_pool *pool, const char *key, size_t key_len, uint64_t *id)
{
	struct mcm_jintent h;
	struct iovec iov[2];
	uint64_t end;
	int always = mcm_config_get()->sync == MCM_SYNC_ALWAYS;

	if (start_write(pool, id) != 0)
		return -1;
	memset(&h, 0, sizeof h);
	h.pool = pool->id;
	h.key_len = (uint32_t)key_len;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof h;
	iov[1].iov_base = (void *)key;
	iov[1].iov_len = key_len;
	if (always)
		mcm_journal_writing(w.journal, 1);
	if (append(MCM_J_INTENT, *id, iov, 2, &end) != 0) {
		if (always)
			mcm_journal_writing(w.journal, -1);
		return -1;
	}
	return 0;
}

void mcm_writer_count(int which)
{
	mcm_counters_add(w.counters, (enum mcm_counter)which, 1);
}

static inline void count(enum mcm_op op)
{
	if (op == MCM_OP_DROP)
		mcm_counters_add(w.counters, MCM_CTR_UNCERTAIN, 1);
	else if (op == MCM_OP_ENCRYPTED)
		mcm_counters_add(w.counters, MCM_CTR_ENCRYPTED, 1);
	else if (op != MCM_OP_NONE)
		mcm_counters_add(w.counters, MCM_CTR_RECORDED, 1);
}

/* The payload of an OUTCOME or WRITE record for m: *h and iov[0..n] (the
 * value last, at iov[n]); returns n. */
static inline __attribute__((always_inline)) int encode(const struct mcm_mutation *m, struct mcm_joutcome *h,
							 struct iovec *iov)
{
	int n;

	memset(h, 0, sizeof *h);
	h->pool = m->pool ? m->pool->id : 0;
	h->exptime = m->exptime;
	h->wtime_us = m->wtime_us ? m->wtime_us : mcm_now_us();
	h->delta = m->delta;
	h->result = m->result;
	h->initial = m->initial;
	h->flags = m->flags;
	h->value_len = (uint32_t)m->value_len;
	h->key_len = (uint16_t)m->key_len;
	h->group_len = (uint16_t)m->group_len;
	h->ns_len = m->ns_len;
	h->op = (uint8_t)m->op;
	h->group_mode = m->group_mode;
	h->incr = m->incr;
	h->with_initial = m->with_initial;
	iov[0] = (struct iovec){h, sizeof *h};
	iov[1] = (struct iovec){(void *)m->key, m->key_len};
	n = 2;
	if (m->group_len) /* (an empty piece is left out) */
		iov[n++] = (struct iovec){(void *)m->group, m->group_len};
	iov[n] = (struct iovec){(void *)m->value, m->value_len};
	return n;
}

void mcm_writer_outcome(uint64_t id, const struct mcm_mutation *m)
{
	struct mcm_joutcome h;
	struct iovec iov[4];
	uint64_t end;
	int rc, n = encode(m, &h, iov), always = mcm_config_get()->sync == MCM_SYNC_ALWAYS;

	rc = mcm_journal_append(w.journal, MCM_J_OUTCOME, id, iov, n + 1, append_wait(), &end);
	if (always)
		mcm_journal_writing(w.journal, -1);
	if (rc == EMSGSIZE) { /* a value larger than a quarter of the journal: drop the key instead */
		h.op = MCM_OP_DROP;
		h.value_len = 0;
		rc = mcm_journal_append(w.journal, MCM_J_OUTCOME, id, iov, n, append_wait(), &end); /* no value */
	}
	if (rc != 0) {
		report_lost(rc); /* its intent stays open: the drainer drops the key when it gives up on it */
		return;
	}
	count((enum mcm_op)h.op);
	if (always && h.op != MCM_OP_NONE &&
	    (rc = mcm_journal_sync(w.journal, end, DURABLE_WAIT_MS)) != 0) {
		mcm_counters_add(w.counters, MCM_CTR_FAILED, 1);
		mcm_log_once(MCM_CAUSE_WRITE, "a write to '%s' is not on disk (MCMIRROR_SYNC=always): %s",
			     mcm_config_get()->path, rc == ETIMEDOUT ? "the sync took over 5 s" : strerror(rc));
	}
}

int mcm_writer_one_record(void)
{
	struct mcm_journal *j = __atomic_load_n(&w.journal, __ATOMIC_ACQUIRE);

	/* always: the resolution is not synced with the record (an intent and an
	 * outcome are); no MCM_JFEAT_WRITE: a drainer of an older version, which
	 * skips such records, may still drain this journal (and before the
	 * journal is open, this process's first write opens it as an intent) */
	return j && mcm_config_get()->sync != MCM_SYNC_ALWAYS && (mcm_journal_features(j) & MCM_JFEAT_WRITE);
}

int mcm_writer_write(const struct mcm_mutation *m, uint64_t *id, struct mcm_jticket *t)
{
	struct mcm_joutcome h;
	struct iovec iov[4];
	int rc, n;

	if (start_write(m->pool, id) != 0)
		return -1;
	n = encode(m, &h, iov);
	rc = mcm_journal_append_write(w.journal, *id, iov, n + 1, append_wait(), t);
	if (rc == EMSGSIZE)
		return 1; /* an intent, then an outcome that drops the key */
	if (rc != 0) {
		report_lost(rc);
		return -1;
	}
	return 0;
}

int mcm_writer_resolve(const struct mcm_jticket *t, enum mcm_op op)
{
	if (mcm_journal_resolve(w.journal, t) != 0)
		return -1; /* the drainer takes the record for an intent */
	count(op);
	return 0;
}

/* At exit, give a drainer (ours or another process's) a moment to apply what
 * this process appended, so that short-lived programs leave the mirror up to
 * date. Nothing is lost if it cannot: the journal keeps the records for the
 * next drainer, and the mcmirror tool drains it before reading. */
__attribute__((destructor)) static void mcm_writer_fini(void)
{
	struct mcm_journal *j = __atomic_load_n(&w.journal, __ATOMIC_ACQUIRE);
	struct timespec ts = {0, 2 * 1000000L};
	uint64_t tail;

	if (!j || !__atomic_load_n(&w.drainer_started, __ATOMIC_ACQUIRE))
		return;
	tail = mcm_journal_tail(j);
	if (mcm_journal_head(j) < tail)
		mcm_journal_wake_drainer(j); /* it may be in a nap of up to DURABLE_NAP_MS */
	for (int waited = 0; mcm_journal_head(j) < tail && waited < EXIT_WAIT_MS; waited += 2) {
		nanosleep(&ts, NULL);
	}
}

/* ---- the drainer thread ---- */

/* Should the drainer force LMDB to disk now? When the journal is half full:
 * it reuses room only behind what LMDB holds on disk (with MDB_NOMETASYNC one
 * commit behind, with MDB_NOSYNC not at all until a sync). And once a second
 * in everysec and always, for the last commit's meta page. */
static int sync_due(time_t synced, time_t now)
{
	if (mcm_journal_tail(w.journal) - mcm_journal_reclaim(w.journal) > mcm_journal_size(w.journal) / 2)
		return 1;
	return mcm_config_get()->sync != MCM_SYNC_NONE && now != synced;
}

/* A bulk rebuild of the mirror's seq index failed (told by the drainer before
 * it publishes the step's writes: see mcm_drain_on_tidy_error). */
static void report_tidy(int rc)
{
	mcm_log_once(MCM_CAUSE_REINDEX, "cannot rebuild the index of '%s' by change number: %s; removing its "
		     "superseded entries one by one from now on", mcm_config_get()->path, mcm_strerror(rc));
}

/* Records per drain transaction: STEP, or fewer for benchmarks (MCMIRROR_TEST_DRAIN_STEP, at
 * least 16): bench/write/cost.sh measures the drainer at the batches of a host that writes
 * less than it can apply (callgrind's scheduling otherwise fills every batch). */
static size_t drain_step_records(void)
{
	unsigned n = mcm_config_get()->drain_step;

	return n >= 16 && n < STEP ? n : STEP;
}

/* Milliseconds on the monotonic clock. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What the drainer counted since the last look: into the shim's counters, and logged once. */
struct drain_seen {
	uint64_t dropped, damaged, invalid;
};

static void report_counts(struct mcm_drain *d, struct drain_seen *seen)
{
	if (mcm_drain_damaged(d) != seen->damaged) {
		mcm_counters_add(w.counters, MCM_CTR_FAILED, mcm_drain_damaged(d) - seen->damaged);
		seen->damaged = mcm_drain_damaged(d);
		mcm_log_once(MCM_CAUSE_WRITE, "the journal of '%s' was damaged (something wrote into its "
			     "shared memory): skipped the damaged records; the mirror forgets what it held",
			     mcm_config_get()->path);
	}
	if (mcm_drain_invalid(d) != seen->invalid) {
		mcm_counters_add(w.counters, MCM_CTR_FAILED, mcm_drain_invalid(d) - seen->invalid);
		seen->invalid = mcm_drain_invalid(d);
		mcm_log_once(MCM_CAUSE_WRITE, "the journal of '%s' holds records that make no sense (another "
			     "program wrote into it?): skipped them and dropped their keys", mcm_config_get()->path);
	}
	if (mcm_drain_dropped(d) != seen->dropped) {
		mcm_counters_add(w.counters, MCM_CTR_UNCERTAIN, mcm_drain_dropped(d) - seen->dropped);
		seen->dropped = mcm_drain_dropped(d);
	}
}

/* Drain with the lock held, until an error needs a pause. */
static void drain_session(struct mcm_store *st)
{
	struct mcm_drain *d;
	int durable = mcm_config_get()->sync != MCM_SYNC_NONE;
	unsigned nap = durable ? DURABLE_NAP_MS : NAP_MS, idle_naps = durable ? DURABLE_IDLE_NAPS : IDLE_NAPS;
	time_t synced = time(NULL), reaped = 0;
	struct drain_seen seen = {0};
	struct mcm_drain_pace pace = {0};
	int dirty = 0, idle = 0, woken = 0, hold, rc;
	size_t n = 0, step = drain_step_records();

	struct mcm_sweep_policy sweep = {.enabled = 1,
					 .max_bytes = mcm_config_get()->max_bytes,
					 .tombstone_ttl_s = mcm_config_get()->tombstone_ttl,
					 .tombstone_min_s = MCM_SWEEP_MIN_AGE};
	time_t swept = time(NULL);

	if ((rc = mcm_drain_open(&d, st, w.journal)) != 0)
		return;
	mcm_drain_on_tidy_error(d, report_tidy);
	mcm_store_set_sweep(st, &sweep);
	for (;;) {
		time_t now;

		/* a burst of writes is let pass before it is applied (store/pace.c) */
		hold = mcm_drain_pace(&pace, woken, now_ms(), mcm_journal_tail(w.journal) - mcm_drain_position(d),
				      mcm_journal_size(w.journal)) == MCM_PACE_HOLD;
		woken = 0;
		if (!hold) {
			/* (used by the next transaction that commits) */
			mcm_store_sweep_next(st, n < SWEEP_PER_STEP ? n : SWEEP_PER_STEP);
			if ((rc = mcm_drain_step(d, step, &n)) != 0) {
				mcm_counters_add(w.counters, MCM_CTR_FAILED, 1);
				mcm_log_once(MCM_CAUSE_WRITE, "cannot write to mirror '%s': %s; keeping writes in the "
					     "journal until it works again", mcm_config_get()->path, mcm_strerror(rc));
				break;
			}
			mcm_drain_paced(&pace, n == step, now_ms());
			dirty |= n > 0;
		}
		now = time(NULL);
		report_counts(d, &seen);
		if (dirty && sync_due(synced, now) && mcm_store_sync(st) == 0) {
			mcm_drain_synced(d);
			synced = now;
			dirty = 0;
		}
		if (!hold && n == step)
			continue; /* more is waiting */
		if (now != reaped) {
			mcm_drain_reap(d, REAP_AGE);
			reaped = now;
		}
		if (!hold && n == 0 && now - swept >= SWEEP_IDLE_S) { /* idle: expired records still go */
			if (mcm_store_sweep(st, SWEEP_IDLE) == 0)
				dirty = 1;
			swept = now;
		}
		idle = hold || n > 0 ? 0 : idle + 1;
		/* this process's writers then find the next pages mapped: no page fault in their calls */
		mcm_journal_prefault(w.journal, PREFAULT_AHEAD);
		/* while writes flow, nap and batch them; once idle, wait to be woken
		 * (every second at least, for the everysec sync and the reaping) */
		woken = mcm_journal_wait_records(w.journal, mcm_drain_position(d),
						 hold ? MCM_PACE_NAP_MS : idle < (int)idle_naps ? nap : 1000);
	}
	mcm_drain_close(d);
}

static void release_drain_lock(void)
{
	pthread_mutex_lock(&w.lock);
	close(w.drain_fd);
	w.drain_fd = -1;
	pthread_mutex_unlock(&w.lock);
}

/* Take the drain lock of dir, waiting for it. The descriptor is in
 * w.drain_fd before the wait: a child forked during the wait closes it, else
 * it would share the lock the parent takes later, and keep it (with nobody
 * draining) once the parent dies. */
static int take_drain_lock(const char *dir)
{
	int fd, rc;

	pthread_mutex_lock(&w.lock);
	rc = mcm_drain_lock_open(dir, &fd);
	w.drain_fd = rc == 0 ? fd : -1;
	pthread_mutex_unlock(&w.lock);
	if (rc == 0 && (rc = mcm_drain_lock_take(fd, 1)) != 0)
		release_drain_lock();
	return rc;
}

static void *drainer_main(void *arg)
{
	const struct mcm_config *cfg = mcm_config_get();
	/* superseded seq entries go in bulk rebuilds (store/reindex.c) unless the
	 * application's calls wait for commits (always): a rebuild delays the next
	 * commit by up to a few hundred milliseconds in a large mirror */
	unsigned flags = MCM_STORE_CREATE | (cfg->sync == MCM_SYNC_ALWAYS ? 0 : MCM_STORE_BULKSEQ) |
			 (cfg->sync == MCM_SYNC_NONE ? MCM_STORE_NOSYNC : MCM_STORE_NOMETASYNC);
	(void)arg;

	for (;;) {
		struct mcm_store *st;
		int rc;

		if ((rc = take_drain_lock(cfg->path)) != 0) {
			mcm_log_once(MCM_CAUSE_OPEN, "cannot take the drain lock of '%s': %s", cfg->path, strerror(rc));
			sleep(REOPEN_DELAY);
			continue;
		}
		if ((rc = mcm_store_open(&st, cfg->path, flags, cfg->mapsize)) != 0) {
			mcm_log_once(MCM_CAUSE_OPEN, "cannot open mirror '%s': %s; writes wait in its journal",
				     cfg->path, mcm_strerror(rc));
		} else {
			drain_session(st);
			mcm_store_close(st);
		}
		release_drain_lock();
		sleep(1); /* after an error: let the disk recover, or another drainer try */
	}
	return NULL;
}
