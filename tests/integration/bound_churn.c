/* bound_churn.c - the churn test's application: a busy service whose keys mostly die young.
 *
 * usage: bound_churn MAIN F DIR P SECONDS SEED [RATE]
 * libmemcached only (it runs under the shim). MAIN and F are "127.0.0.1:PORT"
 * (two pools). For SECONDS seconds, process P writes (at most RATE operations
 * a second when RATE is given and not 0), at random (seed SEED+P):
 *   60 %  a session   s:P:<n>, a new key each time, 100-300 bytes, ttl 2 s
 *   20 %  a user key  u:P:<k> (k < UKEYS), a new value of 150-400 bytes, no ttl
 *    4 %  a delete of a user key
 *    8 %  a temp key  t:P:<k> (k < 500), ttl 1 s
 *    8 %  a key of F  f:P:<k> (k < 1000), no ttl; process 0 flushes F every
 *         4,000 of its operations, or $BOUND_FLUSH_EVERY (the others' writes to F
 *         race with the flushes: the shim drops those keys)
 * Every call must succeed. At the end it writes DIR/state.P: one line per
 * user key it touched, "KEY live WTIME_US VALUE" or "KEY deleted WTIME_US -",
 * WTIME_US being the wall clock read after the call returned, and prints
 * "P ops sessions" on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmemcached/memcached.h>

#define UKEYS 1500
#define TKEYS 500
#define FKEYS 1000
#define FLUSH_EVERY 4000

struct ukey {
	int state;            /* 0 never written, 1 live, 2 deleted */
	uint64_t wtime_us;
	char value[401];
};

static struct ukey ukeys[UKEYS];

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static memcached_st *connect_to(const char *servers)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	return mc;
}

/* A printable value of len bytes that names its key and version. */
static void make_value(char *buf, size_t len, const char *key, unsigned long version)
{
	int n = snprintf(buf, len + 1, "%s#%lu#", key, version);

	for (size_t i = (size_t)n; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + version) % 26);
	buf[len] = '\0';
}

static int check(memcached_st *mc, memcached_return_t rc, const char *what, const char *key)
{
	if (rc == MEMCACHED_SUCCESS || (rc == MEMCACHED_NOTFOUND && strcmp(what, "delete") == 0))
		return 0;
	fprintf(stderr, "bound_churn: %s '%s': %s\n", what, key, memcached_strerror(mc, rc));
	return -1;
}

static int write_state(const char *dir, int p)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/state.%d", dir, p);
	if (!(f = fopen(path, "w")))
		return -1;
	for (int k = 0; k < UKEYS; k++) {
		if (ukeys[k].state == 1)
			fprintf(f, "u:%d:%d live %llu %s\n", p, k, (unsigned long long)ukeys[k].wtime_us, ukeys[k].value);
		else if (ukeys[k].state == 2)
			fprintf(f, "u:%d:%d deleted %llu -\n", p, k, (unsigned long long)ukeys[k].wtime_us);
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	memcached_st *mc, *fc;
	unsigned long ops = 0, sessions = 0;
	char key[64], value[401];
	uint64_t start = now_us();
	unsigned long rate, flush_every = FLUSH_EVERY;
	time_t end;
	int p;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: bound_churn MAIN F DIR P SECONDS SEED [RATE]\n");
		return 2;
	}
	p = atoi(argv[4]);
	end = time(NULL) + atoi(argv[5]);
	rate = argc == 8 ? strtoul(argv[7], NULL, 10) : 0;
	if (getenv("BOUND_FLUSH_EVERY"))
		flush_every = strtoul(getenv("BOUND_FLUSH_EVERY"), NULL, 10);
	srand((unsigned)(atoi(argv[6]) * 1000 + p));
	mc = connect_to(argv[1]);
	fc = connect_to(argv[2]);
	while (time(NULL) < end) {
		int r = rand() % 100, k;
		size_t len;
		memcached_return_t rc;

		ops++;
		while (rate && ops > rate * (now_us() - start) / 1000000u) {
			struct timespec ts = {0, 1000000L};

			nanosleep(&ts, NULL);
		}
		if (r < 60) {
			snprintf(key, sizeof key, "s:%d:%lu", p, sessions++);
			len = 100 + (size_t)(rand() % 201);
			make_value(value, len, key, ops);
			rc = memcached_set(mc, key, strlen(key), value, len, 2, 0);
			if (check(mc, rc, "set", key) != 0)
				return 1;
		} else if (r < 84) {
			k = rand() % UKEYS;
			snprintf(key, sizeof key, "u:%d:%d", p, k);
			if (r < 80) {
				len = 150 + (size_t)(rand() % 251);
				make_value(value, len, key, ops);
				rc = memcached_set(mc, key, strlen(key), value, len, 0, (uint32_t)k);
				if (check(mc, rc, "set", key) != 0)
					return 1;
				memcpy(ukeys[k].value, value, len + 1);
				ukeys[k].state = 1;
			} else {
				rc = memcached_delete(mc, key, strlen(key), 0);
				if (check(mc, rc, "delete", key) != 0)
					return 1;
				ukeys[k].state = 2;
			}
			ukeys[k].wtime_us = now_us();
		} else if (r < 92) {
			snprintf(key, sizeof key, "t:%d:%d", p, rand() % TKEYS);
			make_value(value, 60, key, ops);
			if (check(mc, memcached_set(mc, key, strlen(key), value, 60, 1, 0), "set", key) != 0)
				return 1;
		} else {
			snprintf(key, sizeof key, "f:%d:%d", p, rand() % FKEYS);
			make_value(value, 80, key, ops);
			if (check(fc, memcached_set(fc, key, strlen(key), value, 80, 0, 0), "set", key) != 0)
				return 1;
		}
		if (p == 0 && ops % flush_every == 0 && check(fc, memcached_flush(fc, 0), "flush", "F") != 0)
			return 1;
	}
	memcached_free(mc);
	memcached_free(fc);
	if (write_state(argv[3], p) != 0) {
		fprintf(stderr, "bound_churn: cannot write the state file in '%s'\n", argv[3]);
		return 1;
	}
	printf("%d %lu %lu\n", p, ops, sessions);
	return 0;
}
