/* crash_fill.c - the disk-full test's application: writes in phases, waiting for the test between them.
 *
 * usage: crash_fill SERVERS DIR N0 N1 N2
 * libmemcached only (it runs under the shim). Phase p (0, 1, 2) first waits
 * for the file DIR/go<p>, then sets Np keys "df:<p>:<i>" (phase 1 with 4 KB
 * values, the others with small ones), prints "phase <p>: <stored> stored" and
 * creates DIR/done<p>. Then it waits for DIR/quit, reads every key back, prints
 * a checksum of what it read and exits 0 when every call succeeded. Its output
 * and exit code must be the same with and without the shim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

static const char *dir;

static void wait_for(const char *name)
{
	struct timespec ts = {0, 5 * 1000000L};
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	while (access(path, F_OK) != 0)
		nanosleep(&ts, NULL);
}

static void touch(const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")))
		fclose(f);
}

static size_t make_value(int phase, long i, char *buf, size_t size)
{
	size_t len = phase == 1 ? 4096 : 64 + (size_t)i % 64;
	int head = snprintf(buf, size, "df:%d:%ld=", phase, i);

	for (size_t k = (size_t)head; k < len; k++)
		buf[k] = (char)('a' + (k * 7 + (size_t)i) % 26);
	return len;
}

/* Checksum of every key read back (FNV-1a over key, flags and value). */
static uint64_t read_back(memcached_st *mc, const long *n, int *failed)
{
	uint64_t h = 1469598103934665603ULL;

	for (int phase = 0; phase < 3; phase++)
		for (long i = 0; i < n[phase]; i++) {
			char key[64];
			size_t klen = (size_t)snprintf(key, sizeof key, "df:%d:%ld", phase, i), len;
			uint32_t flags;
			memcached_return_t rc;
			char *v = memcached_get(mc, key, klen, &len, &flags, &rc);

			*failed |= rc != MEMCACHED_SUCCESS;
			for (size_t k = 0; v && k < len; k++)
				h = (h ^ (unsigned char)v[k]) * 1099511628211ULL;
			h = (h ^ flags) * 1099511628211ULL;
			free(v);
		}
	return h;
}

int main(int argc, char **argv)
{
	memcached_st *mc;
	memcached_server_st *list;
	long n[3];
	int failed = 0;
	char value[8192];

	if (argc != 6) {
		fprintf(stderr, "usage: crash_fill SERVERS DIR N0 N1 N2\n");
		return 2;
	}
	dir = argv[2];
	for (int p = 0; p < 3; p++)
		n[p] = atol(argv[3 + p]);
	mc = memcached_create(NULL);
	list = memcached_servers_parse(argv[1]);
	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	for (int phase = 0; phase < 3; phase++) {
		char name[16];
		long stored = 0;

		snprintf(name, sizeof name, "go%d", phase);
		wait_for(name);
		for (long i = 0; i < n[phase]; i++) {
			char key[64];
			size_t klen = (size_t)snprintf(key, sizeof key, "df:%d:%ld", phase, i);
			size_t vlen = make_value(phase, i, value, sizeof value);
			stored += memcached_set(mc, key, klen, value, vlen, 0, (uint32_t)(phase * 1000 + i)) ==
				  MEMCACHED_SUCCESS;
		}
		printf("phase %d: %ld stored\n", phase, stored);
		fflush(stdout);
		failed |= stored != n[phase];
		snprintf(name, sizeof name, "done%d", phase);
		touch(name);
	}
	wait_for("quit");
	printf("read back: %016llx\n", (unsigned long long)read_back(mc, n, &failed));
	memcached_free(mc);
	return failed;
}
