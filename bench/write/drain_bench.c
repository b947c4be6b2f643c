/* drain_bench.c - how many writes a second the drainer applies to LMDB: the
 * sustained write rate a mirror can follow (above it the journal fills).
 *
 * usage: mcm-drain-bench [WRITES [VALUE_SIZE [KEYS [one|two]]]]   (defaults 200000 100 10000 one)
 * For each commit mode the drainer uses (MDB_NOSYNC for MCMIRROR_SYNC=none,
 * MDB_NOMETASYNC for everysec and always), in a fresh mirror under $TMPDIR:
 * appends WRITES sets of VALUE_SIZE bytes over KEYS keys to the journal as the
 * shim does (one: a resolved one-record write each, as in none and everysec;
 * two: an intent and an outcome, as in always and before format 4), then
 * times applying them in the drainer's batches (up to 8,192 records, a
 * one-record write counting as two). Prints one line per mode:
 *   mode=M records=one|two writes=N secs=S writes_per_s=R reindexes=K longest_step_ms=L
 * (K: bulk rebuilds of the seq index; L: the longest drain step, a batch's
 * transaction and the rebuild that may follow it: the drainer's longest pause)
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_pool.h"
#include "mcm_record.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct mcm_journal *j, const struct mcm_pool *pool, long writes, size_t vsize, long keys, int one)
{
	unsigned char pbuf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	struct iovec piov[2] = {{(void *)&pool->id, 8}, {pbuf, mcm_pool_size(pool)}};
	char *value = malloc(vsize), key[64];
	uint64_t end;

	memset(value, 'v', vsize);
	mcm_pool_encode(pool, pbuf);
	mcm_journal_append(j, MCM_J_POOL, 0, piov, 2, 0, &end);
	for (long i = 0; i < writes; i++) {
		size_t klen = (size_t)snprintf(key, sizeof key, "load:0:%08ld", (long)(rand() % keys));
		struct mcm_jintent in = {.pool = pool->id, .wtime_us = mcm_now_us(), .key_len = (uint32_t)klen};
		struct mcm_joutcome out;
		struct iovec iov[3] = {{&in, sizeof in}, {key, klen}, {value, vsize}};
		uint64_t id = (uint64_t)getpid() << 32 | (uint64_t)(i + 1);

		memset(&out, 0, sizeof out);
		out.pool = pool->id;
		out.wtime_us = in.wtime_us;
		out.key_len = (uint16_t)klen;
		out.value_len = (uint32_t)vsize;
		out.op = MCM_OP_PUT;
		if (one) {
			struct mcm_jticket t;

			iov[0] = (struct iovec){&out, sizeof out};
			if (mcm_journal_append_write(j, id, iov, 3, 0, &t) != 0 || mcm_journal_resolve(j, &t) != 0)
				break;
			continue;
		}
		if (mcm_journal_append(j, MCM_J_INTENT, id, iov, 2, 0, &end) != 0)
			break;
		iov[0] = (struct iovec){&out, sizeof out};
		if (mcm_journal_append(j, MCM_J_OUTCOME, id, iov, 3, 0, &end) != 0)
			break;
	}
	free(value);
}

/* Remove the files a mirror of this benchmark holds, then its directory. */
static void remove_mirror(const char *dir)
{
	static const char *const files[] = {"journal", "data.mdb", "lock.mdb"};
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int run(const char *mode, unsigned flags, size_t step, long writes, size_t vsize, long keys, int one)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct mcm_store *st;
	struct mcm_drain *d;
	struct mcm_pool pool;
	struct mcm_store_info info;
	size_t n, total = 0;
	double t0, secs, longest = 0;

	snprintf(dir, sizeof dir, "%s/mcm-drain-bench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir) || mcm_journal_open(&j, dir, (size_t)writes * (2 * vsize + 256) + (1 << 20), 1) != 0 ||
	    mcm_store_open(&st, dir, flags, 0) != 0 || mcm_drain_open(&d, st, j) != 0) {
		fprintf(stderr, "mcm-drain-bench: cannot set up a mirror in %s\n", dir);
		return 1;
	}
	memset(&pool, 0, sizeof pool);
	strcpy(pool.servers, "127.0.0.1:11211");
	pool.id = mcm_pool_id_of(pool.servers, strlen(pool.servers));
	fill(j, &pool, writes, vsize, keys, one);
	t0 = now();
	do {
		double s0 = now();

		if (mcm_drain_step(d, step, &n) != 0) {
			fprintf(stderr, "mcm-drain-bench: drain step failed\n");
			return 1;
		}
		longest = now() - s0 > longest ? now() - s0 : longest;
		total += n;
	} while (n > 0);
	mcm_store_sync(st);
	secs = now() - t0;
	if (total != 2 * (size_t)writes + 1) { /* the pool, then an intent and an outcome per write (or one
						  record counting as both) */
		fprintf(stderr, "mcm-drain-bench: drained %zu records, expected %ld\n", total, 2 * writes + 1);
		return 1;
	}
	mcm_store_info(st, &info);
	printf("mode=%s records=%s writes=%ld secs=%.3f writes_per_s=%.0f reindexes=%llu longest_step_ms=%.1f\n", mode,
	       one ? "one" : "two", writes, secs, (double)writes / secs, (unsigned long long)info.reindexes,
	       longest * 1000);
	mcm_drain_close(d);
	mcm_store_close(st);
	mcm_journal_close(j);
	remove_mirror(dir);
	return 0;
}

int main(int argc, char **argv)
{
	long writes = argc > 1 ? atol(argv[1]) : 200000, keys = argc > 3 ? atol(argv[3]) : 10000;
	size_t vsize = argc > 2 ? (size_t)atol(argv[2]) : 100;
	int one = argc <= 4 || strcmp(argv[4], "one") == 0;

	if (writes <= 0 || keys <= 0 || writes > 2000000 || (argc > 4 && !one && strcmp(argv[4], "two") != 0)) {
		fprintf(stderr, "usage: mcm-drain-bench [WRITES (max 2000000) [VALUE_SIZE [KEYS [one|two]]]]\n");
		return 2;
	}
	/* the flags the shim's drainer opens the mirror with (shim/writer.c) */
	return run("none", MCM_STORE_CREATE | MCM_STORE_BULKSEQ | MCM_STORE_NOSYNC, 8192, writes, vsize, keys, one) ||
	       run("everysec", MCM_STORE_CREATE | MCM_STORE_BULKSEQ | MCM_STORE_NOMETASYNC, 8192, writes, vsize, keys,
		   one);
}
