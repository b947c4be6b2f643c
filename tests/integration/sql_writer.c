/* sql_writer.c - one application host of the external-store tests: random writes through libmemcached
 * (run it under the shim), on keys that other hosts write too.
 *
 * usage: sql_writer SERVERS LOCKFILE NKEYS MILLISECONDS SEED
 *   Writes for MILLISECONDS on keys "k%05u" and (through a handle with the
 *   namespace "ns:") "ns:k%05u", i < NKEYS: values of 0..3000 random bytes
 *   (every byte value), random flags, no expiry or 100..5000 s. The first
 *   four fifths of the keys are shared by every writer: set, add, replace
 *   and delete. The rest are this writer's own (i % 2 == SEED % 2): append
 *   and touch too, which change what the server holds without saying what
 *   it is, so that a host's mirror can follow them only on keys no other
 *   host writes (each mirror knows its own host's writes). Keys with i % 5 == 0 are always
 *   written with the *_by_key calls and the group key "g<i % 7>" (placed by
 *   it). Each call runs under an exclusive lock (fcntl, one byte per key
 *   shard of LOCKFILE) that every writer sharing LOCKFILE takes too: two
 *   hosts never have writes to one key in flight at once, so the server's
 *   order of any two writes of a key is their write-time order (what
 *   newest-write-wins assumes). Prints "ops N failed F"; exit 0.
 * Linked with libmemcached only.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

#define SHARDS 64
#define VALUE_MAX 3000

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static memcached_st *client(const char *servers, const char *ns)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	if (!mc || !list || memcached_server_push(mc, list) != MEMCACHED_SUCCESS)
		return NULL;
	memcached_server_list_free(list);
	if (ns && memcached_callback_set(mc, MEMCACHED_CALLBACK_NAMESPACE, ns) != MEMCACHED_SUCCESS)
		return NULL;
	return mc;
}

static int lock_shard(int fd, unsigned shard, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = shard, .l_len = 1};

	return fcntl(fd, F_OFD_SETLKW, &fl);
}

/* One random write to key i (own: only this writer writes it). @return 1 when libmemcached reported a
 * failure other than the ones the operation may legitimately meet (NOTSTORED, NOTFOUND). */
static int write_one(memcached_st *mc, unsigned i, int own, char *value)
{
	char key[32], group[8];
	size_t klen = (size_t)snprintf(key, sizeof key, "k%05u", i), glen = 0;
	size_t vlen = rnd() % (VALUE_MAX + 1);
	uint32_t flags = rnd() ^ (rnd() << 16);
	time_t ttl = rnd() % 2 ? 0 : 100 + rnd() % 4900;
	unsigned op = rnd() % 100;

	if (!own && op >= 65 && op < 75)
		op = 80; /* no append on a shared key: a delete */
	if (!own && op >= 90)
		op = 10; /* nor a touch: a set */
	memcached_return_t rc;

	if (i % 5 == 0)
		glen = (size_t)snprintf(group, sizeof group, "g%u", i % 7);
	else
		group[0] = '\0';
	for (size_t j = 0; j < vlen; j++)
		value[j] = (char)rnd();
	if (op < 50)
		rc = memcached_set_by_key(mc, group, glen, key, klen, value, vlen, ttl, flags);
	else if (op < 58)
		rc = memcached_add_by_key(mc, group, glen, key, klen, value, vlen, ttl, flags);
	else if (op < 65)
		rc = memcached_replace_by_key(mc, group, glen, key, klen, value, vlen, ttl, flags);
	else if (op < 75)
		rc = memcached_append_by_key(mc, group, glen, key, klen, value, vlen % 40, 0, 0);
	else if (op < 90)
		rc = memcached_delete_by_key(mc, group, glen, key, klen, 0);
	else
		rc = memcached_touch_by_key(mc, group, glen, key, klen, ttl);
	return rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_NOTFOUND &&
	       rc != MEMCACHED_DATA_EXISTS;
}

int main(int argc, char **argv)
{
	memcached_st *mc[2];
	unsigned long ops = 0, failed = 0, nkeys, seed;
	double end;
	char *value = malloc(VALUE_MAX);
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: sql_writer SERVERS LOCKFILE NKEYS MILLISECONDS SEED\n");
		return 2;
	}
	nkeys = strtoul(argv[3], NULL, 10);
	end = now_ms() + strtod(argv[4], NULL);
	seed = strtoul(argv[5], NULL, 10);
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	mc[0] = client(argv[1], NULL);
	mc[1] = client(argv[1], "ns:");
	if ((fd = open(argv[2], O_RDWR | O_CREAT, 0600)) < 0 || !mc[0] || !mc[1] || !value || !nkeys) {
		fprintf(stderr, "sql_writer: cannot set up (servers '%s', lock file '%s')\n", argv[1], argv[2]);
		return 1;
	}
	while (now_ms() < end) {
		unsigned i = rnd() % nkeys, shard = i % SHARDS;
		int own = i >= nkeys * 4 / 5;

		if (own && i % 2 != seed % 2)
			i--; /* another writer's own key: the shared one below it */
		own = i >= nkeys * 4 / 5;
		shard = i % SHARDS;

		if (lock_shard(fd, shard, F_WRLCK) != 0) {
			perror("sql_writer: lock");
			return 1;
		}
		failed += write_one(mc[rnd() % 5 == 0], i, own, value);
		lock_shard(fd, shard, F_UNLCK);
		ops++;
	}
	printf("ops %lu failed %lu\n", ops, failed);
	memcached_free(mc[0]);
	memcached_free(mc[1]);
	free(value);
	return 0;
}
