/* bound_bench.c - the bounded mirror at scale: the drainer's rate as the tree grows, with its sweep,
 * and what the tools cost in time and memory on a large mirror (bench/bound_bench.sh drives it).
 *
 * usage: bound_bench build DIR N [options]
 *   Writes N sets of distinct keys through the drain path as the shim's drainer does: the journal
 *   filled in chunks as the shim fills it (intent and outcome per write), applied in steps of up
 *   to 8,192 journal records, each transaction also sweeping 4,096 seq entries (shim/writer.c).
 *   Keys PREFIX%010u in a shuffled order (a multiplicative permutation: inserts land all over the
 *   items tree, as hashed session ids do), values of VALUE_SIZE bytes. Prints one line per
 *   REPORT writes: "writes=W secs=S rate=R cpu_secs=C cpu_rate=Q file_bytes=F record_bytes=B"
 *   (over that stretch, the drain only: filling the journal is not timed; the CPU figures are
 *   this process's user and system time, less sensitive to a busy machine than the wall clock).
 *   -s MODE      none (MDB_NOSYNC, default) or everysec (MDB_NOMETASYNC: a data sync per commit)
 *   -t TTL       expiry TTL seconds from now (default 0: never)
 *   -v SIZE      value size (default 100)
 *   -p PREFIX    key prefix (default "key:")
 *   -S SERVERS   the pool (default 127.0.0.1:11211)
 *   -r REPORT    writes per report line (default 1000000)
 *   -n           no sweep (the baseline for the sweep's cost)
 *   -b BUDGET    seq entries swept per transaction (default 4096, the drainer's)
 *   -w STEP      journal records per transaction (default 8192, the drainer's)
 *
 * usage: bound_bench run CMD [ARGS...]
 *   Runs CMD (stdout to /dev/null) and prints "wall_s=W cpu_s=C maxrss_kb=M peak_anon_kb=A exit=E"
 *   (cpu_s: the command's user and system time):
 *   maxrss_kb is the kernel's peak resident set (it counts the pages of the LMDB map the
 *   command touched, which are page cache), peak_anon_kb the largest RssAnon seen in
 *   /proc/PID/status, sampled every 2 ms (the command's own memory: heap, stacks).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_pool.h"
#include "mcm_record.h"

#define CHUNK 200000 /* writes appended to the journal before they are drained */

struct opts {
	const char *dir, *prefix, *servers;
	unsigned long n, report;
	long ttl;
	size_t vsize, budget, step;
	int everysec, nosweep;
};

/* CPU seconds of this process (user and system). */
static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The i-th key of a permutation of 0..2^32-1 (odd multiplier: a bijection). */
static unsigned long shuffled(unsigned long i)
{
	return (uint32_t)(i * 2654435761u);
}

/* Append writes [from, to) as the shim does. @return 0 or -1. */
static int fill(struct mcm_journal *j, const struct mcm_pool *pool, const struct opts *o, unsigned long from,
		unsigned long to, const char *value)
{
	unsigned char pbuf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	struct iovec piov[2] = {{(void *)&pool->id, 8}, {pbuf, mcm_pool_size(pool)}};
	int64_t exptime = o->ttl ? (int64_t)time(NULL) + o->ttl : 0;
	uint64_t end;
	char key[64];

	mcm_pool_encode(pool, pbuf);
	if (mcm_journal_append(j, MCM_J_POOL, 0, piov, 2, 0, &end) != 0)
		return -1;
	for (unsigned long i = from; i < to; i++) {
		size_t klen = (size_t)snprintf(key, sizeof key, "%s%010lu", o->prefix, shuffled(i));
		struct mcm_jintent in = {.pool = pool->id, .wtime_us = mcm_now_us(), .key_len = (uint32_t)klen};
		struct mcm_joutcome out;
		struct iovec iov[3] = {{&in, sizeof in}, {key, klen}, {(void *)value, o->vsize}};
		uint64_t id = (uint64_t)getpid() << 32 | (uint64_t)(i + 1);

		memset(&out, 0, sizeof out);
		out.pool = pool->id;
		out.wtime_us = in.wtime_us;
		out.key_len = (uint16_t)klen;
		out.value_len = (uint32_t)o->vsize;
		out.exptime = exptime;
		out.op = MCM_OP_PUT;
		if (mcm_journal_append(j, MCM_J_INTENT, id, iov, 2, 0, &end) != 0)
			return -1;
		iov[0] = (struct iovec){&out, sizeof out};
		if (mcm_journal_append(j, MCM_J_OUTCOME, id, iov, 3, 0, &end) != 0)
			return -1;
	}
	return 0;
}

static uint64_t file_bytes(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* Drain everything the journal holds, in the drainer's steps. @return seconds, or -1;
 * *cpu_s: the CPU seconds it took. */
static double drain_all(struct mcm_store *st, struct mcm_drain *d, const struct opts *o, double *cpu_s)
{
	double t0 = now(), c0 = cpu();
	size_t n;

	do {
		if (!o->nosweep)
			mcm_store_sweep_next(st, o->budget);
		if (mcm_drain_step(d, o->step, &n) != 0)
			return -1;
	} while (n > 0);
	if (mcm_store_sync(st) != 0)
		return -1;
	mcm_drain_synced(d); /* the journal's room can be reused */
	*cpu_s = cpu() - c0;
	return now() - t0;
}

static int build(const struct opts *o)
{
	unsigned flags = MCM_STORE_CREATE | (o->everysec ? MCM_STORE_NOMETASYNC : MCM_STORE_NOSYNC);
	struct mcm_sweep_policy policy = {.enabled = !o->nosweep,
					  .tombstone_ttl_s = MCM_TOMBSTONE_TTL_DEFAULT,
					  .tombstone_min_s = MCM_SWEEP_MIN_AGE};
	struct mcm_journal *j;
	struct mcm_store *st;
	struct mcm_drain *d;
	struct mcm_pool pool;
	struct mcm_sweep_counts c;
	char *value = malloc(o->vsize);
	double secs = 0, cpu_secs = 0, cs = 0;
	unsigned long done = 0, reported = 0;

	if (!value)
		return 1;
	if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "bound_bench: cannot create '%s': %s\n", o->dir, strerror(errno));
		return 1;
	}
	memset(value, 'v', o->vsize);
	memset(&pool, 0, sizeof pool);
	snprintf(pool.servers, sizeof pool.servers, "%s", o->servers);
	pool.id = mcm_pool_id_of(pool.servers, strlen(pool.servers));
	if (mcm_journal_open(&j, o->dir, (size_t)CHUNK * (2 * o->vsize + 320) + (1 << 20), 1) != 0 ||
	    mcm_store_open(&st, o->dir, flags, 0) != 0 || mcm_drain_open(&d, st, j) != 0) {
		fprintf(stderr, "bound_bench: cannot set up a mirror in '%s'\n", o->dir);
		return 1;
	}
	mcm_store_set_sweep(st, &policy);
	while (done < o->n) {
		unsigned long to = done + CHUNK < o->n ? done + CHUNK : o->n;
		double s;

		if (to - reported > o->report)
			to = reported + o->report;
		if (fill(j, &pool, o, done, to, value) != 0 || (s = drain_all(st, d, o, &cs)) < 0) {
			fprintf(stderr, "bound_bench: writing %lu..%lu failed\n", done, to);
			return 1;
		}
		secs += s;
		cpu_secs += cs;
		done = to;
		if (done - reported >= o->report || done == o->n) {
			mcm_store_sweep_counts(st, &c);
			printf("writes=%lu secs=%.3f rate=%.0f cpu_secs=%.3f cpu_rate=%.0f file_bytes=%" PRIu64
			       " record_bytes=%" PRIu64 "\n",
			       done, secs, (double)(done - reported) / secs, cpu_secs, (double)(done - reported) / cpu_secs,
			       file_bytes(o->dir), c.bytes);
			fflush(stdout);
			reported = done;
			secs = cpu_secs = 0;
		}
	}
	mcm_drain_close(d);
	mcm_store_close(st);
	mcm_journal_close(j);
	free(value);
	return 0;
}

/* RssAnon of pid in kB (0: gone). */
static long rss_anon(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int run(char **argv)
{
	struct timespec tick = {0, 2000000L};
	struct rusage ru;
	double t0 = now();
	long peak = 0, kb;
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t r = wait4(pid, &status, WNOHANG, &ru);

		if (r == pid)
			break;
		if ((kb = rss_anon(pid)) > peak)
			peak = kb;
		nanosleep(&tick, NULL);
	}
	printf("wall_s=%.2f cpu_s=%.2f maxrss_kb=%ld peak_anon_kb=%ld exit=%d\n", now() - t0,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       (double)ru.ru_stime.tv_usec / 1e6,
	       ru.ru_maxrss, peak, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.prefix = "key:", .servers = "127.0.0.1:11211", .report = 1000000, .vsize = 100,
			 .budget = 4096, .step = 8192};
	int c;

	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return run(argv + 2);
	if (argc < 4 || strcmp(argv[1], "build") != 0) {
		fprintf(stderr, "usage: bound_bench build DIR N [-s none|everysec] [-t TTL] [-v SIZE] [-p PREFIX] "
				"[-S SERVERS] [-r REPORT] [-n] [-b BUDGET] [-w STEP]\n"
				"       bound_bench run CMD [ARGS...]\n");
		return 2;
	}
	o.dir = argv[2];
	o.n = strtoul(argv[3], NULL, 10);
	optind = 4;
	while ((c = getopt(argc, argv, "s:t:v:p:S:r:nb:w:")) != -1) {
		switch (c) {
		case 's':
			o.everysec = strcmp(optarg, "everysec") == 0;
			break;
		case 't':
			o.ttl = atol(optarg);
			break;
		case 'v':
			o.vsize = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o.prefix = optarg;
			break;
		case 'S':
			o.servers = optarg;
			break;
		case 'r':
			o.report = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o.nosweep = 1;
			break;
		case 'b':
			o.budget = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			o.step = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (!o.n || !o.report || !o.step || o.vsize == 0 || o.vsize > 100000)
		return 2;
	return build(&o);
}
