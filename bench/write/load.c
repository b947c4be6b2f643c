/* load.c - a libmemcached load generator for measuring what the shim costs the application.
 *
 * usage: mcm-load SERVERS OPS [PROCS [MIX [VALUE_SIZE [KEYS]]]]
 *   MIX: set       blocking sets (default)
 *        mix9010   90% get, 10% set
 *        bufnr     binary protocol + BUFFER_REQUESTS + NOREPLY sets (a pipelining client)
 *        setbin    blocking sets over the binary protocol
 *        fill      blocking sets of every key once, in order (OPS is ignored: a mirror
 *                  to reuse, every later write an overwrite)
 *   PROCS processes (forked after start-up, each with its own connection) run
 *   OPS operations each over KEYS keys (default 10000) with VALUE_SIZE-byte
 *   values (default 100). Each worker first connects and makes one warm-up
 *   write (with the shim: the journal is mapped, the drainer started), then
 *   all start together; secs runs from that start until the last worker has
 *   sent its last operation (bufnr: flushed its buffers). Start-up and exit
 *   are not timed. With MCMIRROR_PATH set (the shim is preloaded), every
 *   worker then waits until a drainer has applied everything the journal
 *   holds (all workers' writes), and only then reads its CPU time: cpu_us
 *   is the CPU (user + system, every thread of the workers: the application's
 *   and the drainer's) per operation from the start to that moment, and
 *   drained_secs the time from the start until the mirror had it all.
 *   MCM_LOAD_HOLD=1 (with MCMIRROR_PATH): the parent holds the mirror's drain
 *   lock until every worker has sent its last write, so that the run stays in
 *   the journal and is then applied in full batches (a burst the journal
 *   absorbs; bench/write/cost.sh counts the drainer so, independent of timing).
 *   MCM_LOAD_WARMUP=W: each worker first makes W more writes of the run's kind,
 *   untimed (LMDB's page buffers, the caches and the journal's pages are then
 *   as warm as in a process that has been writing for a while).
 *   Prints one line on stdout:
 *     ops=N secs=S ops_per_s=R p50_us=A p99_us=B failures=F cpu_us=C drained_secs=D faults_per_op=P
 *   (P: page faults the workers' calling threads took during the run, per operation)
 *   (latency per call, not measured for bufnr where calls do not wait).
 */
#include <libmemcached/memcached.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcm_journal.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static memcached_st *connect_to(const char *servers, const char *mix)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	if (strcmp(mix, "bufnr") == 0 || strcmp(mix, "setbin") == 0)
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	if (strcmp(mix, "bufnr") == 0) {
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1);
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 1);
	}
	return mc;
}

/* What the workers share: a start line and their end times. */
struct shared {
	int ready;          /* workers connected and warmed up */
	int go;
	int done;           /* workers that sent their last operation */
	long failures;
	int64_t start, end; /* ns: when the last worker got ready, the latest end */
	int64_t drained;    /* ns: when the mirror held every write (latest seen) */
	int64_t cpu_ns;     /* CPU of every worker (all its threads) from the start until drained */
	long minflt;        /* page faults the workers' own threads took in the timed run */
};

static int64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void store_max(int64_t *where, int64_t v)
{
	int64_t seen = __atomic_load_n(where, __ATOMIC_ACQUIRE);

	while (v > seen && !__atomic_compare_exchange_n(where, &seen, v, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

/* With the shim: once every worker has sent its last write, wait until a
 * drainer has applied all that the journal holds (it naps between batches:
 * woken first), sleeping on the journal's futex word, not polling. */
static void wait_drained(struct shared *sh, int procs)
{
	const char *dir = getenv("MCMIRROR_PATH");
	struct mcm_journal *j;
	uint64_t target;

	while (__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) < procs)
		usleep(1000);
	if (!dir || mcm_journal_open(&j, dir, 0, 0) != 0)
		return;
	target = mcm_journal_tail(j);
	while (mcm_journal_head(j) < target) {
		uint32_t seen = mcm_journal_applied(j);

		if (mcm_journal_head(j) >= target)
			break;
		mcm_journal_wake_drainer(j);
		mcm_journal_wait_applied(j, seen, 100);
	}
	mcm_journal_close(j);
}

/* Wait until every worker is ready (spinning: the wait is short and not timed). */
static void start_together(struct shared *sh, int procs)
{
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE) && sched_yield() == 0)
		if (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) == procs) {
			int expected = 0;
			int64_t t = now_ns();
			if (__atomic_compare_exchange_n(&sh->go, &expected, 2, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				sh->start = t;
				__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
			}
		}
	while (__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE) != 1)
		sched_yield();
}

/* One worker: ops operations; latencies (seconds) into lat. */
static void run_worker(const char *servers, const char *mix, long ops, size_t vsize, long keys, int id,
		       double *lat, struct shared *sh, int procs)
{
	memcached_st *mc = connect_to(servers, mix);
	char *value = malloc(vsize), key[64];
	int is_mix = strcmp(mix, "mix9010") == 0, timed = strcmp(mix, "bufnr") != 0, fill = strcmp(mix, "fill") == 0;
	unsigned seed = (unsigned)id * 7919u + 1;
	long failures = 0, warmup = getenv("MCM_LOAD_WARMUP") ? atol(getenv("MCM_LOAD_WARMUP")) : 0;
	int64_t cpu0;
	struct rusage ru0, ru1;

	memset(value, 'v', vsize);
	snprintf(key, sizeof key, "load:warmup:%d", id);
	memcached_set(mc, key, strlen(key), value, vsize, 0, 0);
	for (long i = 0; i < warmup; i++) {
		size_t klen = (size_t)snprintf(key, sizeof key, "load:%d:%08ld", is_mix ? 0 : id,
					       (long)(rand_r(&seed) % (unsigned)keys));
		memcached_set(mc, key, klen, value, vsize, 0, 0);
	}
	memcached_flush_buffers(mc);
	start_together(sh, procs);
	cpu0 = cpu_ns();
	getrusage(RUSAGE_THREAD, &ru0);
	for (long i = 0; i < ops; i++) {
		long k = fill ? i : (long)(rand_r(&seed) % (unsigned)keys);
		size_t klen = (size_t)snprintf(key, sizeof key, "load:%d:%08ld", is_mix ? 0 : id, k);
		double t0 = timed ? now() : 0;
		memcached_return_t rc;

		if (is_mix && rand_r(&seed) % 10 != 0) {
			size_t len;
			uint32_t flags;
			char *v = memcached_get(mc, key, klen, &len, &flags, &rc);
			free(v);
			if (rc == MEMCACHED_NOTFOUND)
				rc = MEMCACHED_SUCCESS;
		} else {
			rc = memcached_set(mc, key, klen, value, vsize, 0, (uint32_t)i);
		}
		if (timed)
			lat[i] = now() - t0;
		if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_BUFFERED)
			failures++;
	}
	memcached_flush_buffers(mc);
	store_max(&sh->end, now_ns());
	getrusage(RUSAGE_THREAD, &ru1);
	__atomic_add_fetch(&sh->minflt, ru1.ru_minflt - ru0.ru_minflt, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh->done, 1, __ATOMIC_RELEASE);
	wait_drained(sh, procs);
	store_max(&sh->drained, now_ns());
	__atomic_add_fetch(&sh->cpu_ns, cpu_ns() - cpu0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh->failures, failures, __ATOMIC_RELAXED);
	memcached_free(mc);
	free(value);
}

int main(int argc, char **argv)
{
	const char *servers, *mix;
	long ops, keys;
	int procs, hold = -1;
	size_t vsize, total;
	double *lat, secs;
	struct shared *sh;

	if (argc < 3) {
		fprintf(stderr, "usage: mcm-load SERVERS OPS [PROCS [MIX [VALUE_SIZE [KEYS]]]]\n");
		return 2;
	}
	servers = argv[1];
	ops = atol(argv[2]);
	procs = argc > 3 ? atoi(argv[3]) : 1;
	mix = argc > 4 ? argv[4] : "set";
	vsize = argc > 5 ? (size_t)atol(argv[5]) : 100;
	keys = argc > 6 ? atol(argv[6]) : 10000;
	if (strcmp(mix, "fill") == 0)
		ops = keys;
	total = (size_t)ops * (size_t)procs;
	lat = mmap(NULL, total * sizeof *lat + sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lat == MAP_FAILED || ops <= 0 || procs <= 0 || keys <= 0)
		return 2;
	sh = (struct shared *)(lat + total);
	if (getenv("MCMIRROR_PATH") && getenv("MCM_LOAD_HOLD") && strcmp(getenv("MCM_LOAD_HOLD"), "1") == 0) {
		char path[4200];

		mkdir(getenv("MCMIRROR_PATH"), 0700);
		snprintf(path, sizeof path, "%s/drain.lock", getenv("MCMIRROR_PATH"));
		if ((hold = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(hold, LOCK_EX) != 0) {
			fprintf(stderr, "mcm-load: cannot hold %s\n", path);
			return 1;
		}
	}
	for (int p = 0; p < procs; p++) {
		if (fork() == 0) {
			if (hold >= 0)
				close(hold); /* (a flock belongs to the open file: the copy would keep it) */
			run_worker(servers, mix, ops, vsize, keys, p, lat + (size_t)p * (size_t)ops, sh, procs);
			_exit(0);
		}
	}
	if (hold >= 0) {
		while (__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) < procs)
			usleep(1000);
		close(hold); /* the workers' drainers may apply the run now */
	}
	while (wait(NULL) > 0)
		;
	secs = (double)(sh->end - sh->start) / 1e9;
	qsort(lat, total, sizeof *lat, cmp_double);
	printf("ops=%zu secs=%.3f ops_per_s=%.0f p50_us=%.2f p99_us=%.2f failures=%ld cpu_us=%.3f drained_secs=%.3f "
	       "faults_per_op=%.4f\n",
	       total, secs, (double)total / secs, lat[total / 2] * 1e6, lat[total * 99 / 100] * 1e6, sh->failures,
	       (double)sh->cpu_ns / 1e3 / (double)total, (double)(sh->drained - sh->start) / 1e9,
	       (double)sh->minflt / (double)total);
	return sh->failures ? 1 : 0;
}
