/* follow_writer.c - an application for the follow tests: random writes of every kind, until told to stop.
 *
 * usage: follow_writer SERVERS KEYS SEED STOPFILE [RATE [DISTRIBUTION]]
 *   SERVERS       host:port[,host:port...] (libmemcached's server list)
 *   KEYS          keys fw:0 .. fw:KEYS-1 (and counters fc:0 .. fc:KEYS/10)
 *   SEED          for rand_r: the same seed writes the same sequence
 *   STOPFILE      stop once this file exists
 *   RATE          writes per second (0 or absent: as fast as it goes)
 *   DISTRIBUTION  "ketama" (consistent, MD5 keys) or "modula" (default)
 * Writes: set (binary values, flags, TTLs from none to an hour, some short
 * enough to expire during a test), add, replace, append, prepend, delete,
 * incr/decr on counters, touch, and now and then a flush_all of the pool.
 * Run it under the shim. Prints "writes N" at the end; exit 0 (a write's
 * failure is not an error here: servers are killed during the tests).
 * MCM_MIN_WRITES=N: at least N writes even when STOPFILE is already there
 * (a loaded machine may give the writer little time before the test stops it).
 * With MCM_STAMP=1 every tenth set of fw:* carries its write time (µs, at
 * the start of the value: "t=<us>;"), for bench/follow_bench's lag samples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static size_t value_of(unsigned *seed, char *buf, size_t cap, int stamp)
{
	size_t len = 1 + rand_r(seed) % 200, off = 0;

	if (stamp)
		off = (size_t)snprintf(buf, cap, "t=%llu;", (unsigned long long)now_us());
	for (size_t i = off; i < len + off && i < cap; i++)
		buf[i] = (char)(rand_r(seed) & 0xff); /* binary, NUL bytes included */
	return len + off < cap ? len + off : cap;
}

static time_t ttl_of(unsigned *seed)
{
	unsigned r = rand_r(seed) % 10;

	return r < 5 ? 0 : r < 8 ? (time_t)(60 + rand_r(seed) % 3600) : r < 9 ? 2 : (time_t)(10 + rand_r(seed) % 20);
}

int main(int argc, char **argv)
{
	memcached_st *mc;
	memcached_server_st *list;
	unsigned keys, seed;
	double rate;
	uint64_t writes = 0, t0 = now_us();
	char key[32], value[512];
	struct stat sb;
	int stamp = getenv("MCM_STAMP") && strcmp(getenv("MCM_STAMP"), "1") == 0;
	uint64_t min_writes = getenv("MCM_MIN_WRITES") ? strtoull(getenv("MCM_MIN_WRITES"), NULL, 10) : 0;

	if (argc < 5) {
		fprintf(stderr, "usage: follow_writer SERVERS KEYS SEED STOPFILE [RATE [DISTRIBUTION]]\n");
		return 2;
	}
	keys = (unsigned)strtoul(argv[2], NULL, 10);
	seed = (unsigned)strtoul(argv[3], NULL, 10);
	rate = argc > 5 ? atof(argv[5]) : 0;
	if (keys < 10 || !(mc = memcached_create(NULL)) || !(list = memcached_servers_parse(argv[1])))
		return 2;
	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	if (argc > 6 && strcmp(argv[6], "ketama") == 0)
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 500);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, 500000);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, 500000);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
	while (writes < min_writes || stat(argv[4], &sb) != 0) {
		unsigned r = rand_r(&seed) % 1000, k = rand_r(&seed) % keys;
		size_t klen = (size_t)snprintf(key, sizeof key, "fw:%u", k), vlen;
		uint64_t v;

		if (r < 450) {
			vlen = value_of(&seed, value, sizeof value, stamp && writes % 10 == 0);
			memcached_set(mc, key, klen, value, vlen, ttl_of(&seed), rand_r(&seed));
		} else if (r < 500) {
			vlen = value_of(&seed, value, sizeof value, 0);
			memcached_add(mc, key, klen, value, vlen, ttl_of(&seed), rand_r(&seed));
		} else if (r < 550) {
			vlen = value_of(&seed, value, sizeof value, 0);
			memcached_replace(mc, key, klen, value, vlen, 0, 7);
		} else if (r < 620) {
			vlen = 1 + rand_r(&seed) % 20;
			memset(value, 'a' + (int)(rand_r(&seed) % 26), vlen);
			if (r & 1)
				memcached_append(mc, key, klen, value, vlen, 0, 0);
			else
				memcached_prepend(mc, key, klen, value, vlen, 0, 0);
		} else if (r < 760) {
			memcached_delete(mc, key, klen, 0);
		} else if (r < 900) {
			klen = (size_t)snprintf(key, sizeof key, "fc:%u", k / 10);
			if (memcached_increment(mc, key, klen, 1 + r % 5, &v) == MEMCACHED_NOTFOUND)
				memcached_set(mc, key, klen, "100", 3, 0, 0);
			else if (r % 3 == 0)
				memcached_decrement(mc, key, klen, 2, &v);
		} else if (r < 999) {
			memcached_touch(mc, key, klen, ttl_of(&seed));
		} else if (rand_r(&seed) % 10 == 0) {
			memcached_flush(mc, 0);
		}
		writes++;
		if (rate > 0) { /* keep to the rate: sleep until this write's moment */
			int64_t ahead = (int64_t)(t0 + (uint64_t)(writes * 1e6 / rate)) - (int64_t)now_us();
			if (ahead > 200) {
				struct timespec ts = {ahead / 1000000, (long)(ahead % 1000000) * 1000};
				nanosleep(&ts, NULL);
			}
		}
	}
	memcached_free(mc);
	printf("writes %llu\n", (unsigned long long)writes);
	return 0;
}
