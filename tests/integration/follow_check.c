/* follow_check.c - does a standby hold exactly what the mirror vouches for, and nothing else?
 *
 * usage: follow_check MIRROR STANDBY_SERVERS
 *   For the mirror's only pool (the tests have one): every record that is not
 *   live (deleted, dropped, expired, flushed) must be absent on the standby,
 *   where the standby's clients look (the pool's distribution and hashes on
 *   the standby's servers); and every key the standby holds (its LRU
 *   crawler's metadump, on each server) must be a live record of the mirror
 *   (the follower's marker keys aside). Live records' values, flags and TTLs
 *   are `mcmirror verify`'s job. Prints "records R live L absent A extra E
 *   stale S" and exits 0 when nothing is extra or stale, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmemcached/memcached.h>

#include "mcm_store.h"

static unsigned long extra, stale;

/* Expired within the last few seconds: memcached's clock ticks once a second
 * and the standby's TTL was computed when it was sent: either answer is right. */
static int just_expired(const struct mcm_item *item, int64_t now)
{
	return item->kind == MCM_KIND_VALUE && item->exptime != 0 && item->exptime <= now && now - item->exptime <= 3;
}

static memcached_st *standby(const char *servers, const struct mcm_pool *p)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	memcached_behavior_set_key_hash(mc, (memcached_hash_t)p->key_hash);
	memcached_behavior_set_distribution_hash(mc, (memcached_hash_t)p->dist_hash);
	memcached_behavior_set_distribution(mc, (memcached_server_distribution_t)p->distribution);
	return mc;
}

/* Every key of the server at port: decoded from its metadump. */
static void each_key(int port, struct mcm_store *st, const struct mcm_pool *p)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *buf = malloc(64u << 20), *line, *save = NULL;
	size_t len = 0;
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || !buf || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    write(fd, "lru_crawler metadump all\r\n", 26) != 26) {
		fprintf(stderr, "follow_check: cannot list the keys of port %d\n", port);
		exit(2);
	}
	while (len < (64u << 20) - 1 && (n = read(fd, buf + len, (64u << 20) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (len >= 5 && (strcmp(buf + len - 5, "END\r\n") == 0))
			break;
	}
	close(fd);
	for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char key[512];
		size_t k = 0;
		struct mcm_item item;

		if (strncmp(line, "key=", 4) != 0)
			continue;
		for (const char *c = line + 4; *c && *c != ' ' && k < sizeof key - 1; c++) {
			if (*c == '%' && c[1] && c[2]) {
				char hex[3] = {c[1], c[2], 0};
				key[k++] = (char)strtol(hex, NULL, 16);
				c += 2;
			} else {
				key[k++] = *c;
			}
		}
		if (k >= 16 && memcmp(key, "mcmirror.follow.", 16) == 0)
			continue;
		if (mcm_store_get(st, p->id, key, k, &item) != 0 ||
		    (!mcm_item_is_live(&item, p, (int64_t)time(NULL)) && !just_expired(&item, (int64_t)time(NULL)))) {
			if (extra++ < 5)
				fprintf(stderr, "follow_check: the standby holds '%.*s', which the mirror does not vouch for\n",
					(int)k, key);
		}
	}
	free(buf);
}

int main(int argc, char **argv)
{
	struct mcm_store *st;
	struct mcm_pool *pools;
	struct mcm_iter *it;
	struct mcm_item item;
	memcached_st *mc;
	size_t n;
	unsigned long records = 0, live = 0, absent = 0;
	int64_t now = (int64_t)time(NULL);
	char *servers, *e;

	if (argc != 3) {
		fprintf(stderr, "usage: follow_check MIRROR STANDBY_SERVERS\n");
		return 2;
	}
	if (mcm_store_open(&st, argv[1], MCM_STORE_RDONLY, 0) != 0 || mcm_store_pools(st, &pools, &n) != 0 || n != 1) {
		fprintf(stderr, "follow_check: cannot read one pool from '%s'\n", argv[1]);
		return 2;
	}
	mc = standby(argv[2], &pools[0]);
	if (mcm_iter_open(st, MCM_ORDER_KEY, 0, &it) != 0)
		return 2;
	while (mcm_iter_next(it, &item) == 0) {
		size_t vlen;
		uint32_t flags;
		memcached_return_t rc;
		char *v;

		records++;
		if (mcm_item_is_live(&item, &pools[0], now) || just_expired(&item, now)) {
			live++;
			continue;
		}
		v = memcached_get(mc, item.key, item.key_len, &vlen, &flags, &rc);
		if (v || rc != MEMCACHED_NOTFOUND) {
			if (stale++ < 5)
				fprintf(stderr, "follow_check: '%.*s' is %s in the mirror but the standby answers %s\n",
					(int)item.key_len, item.key, item.kind == MCM_KIND_VALUE ? "expired or flushed" :
					item.kind == MCM_KIND_DELETED ? "deleted" : "dropped", memcached_strerror(mc, rc));
			free(v);
		} else {
			absent++;
		}
	}
	mcm_iter_close(it);
	servers = strdup(argv[2]);
	for (char *sv = NULL, *s = strtok_r(servers, ",", &sv); s; s = strtok_r(NULL, ",", &sv))
		if ((e = strrchr(s, ':')))
			each_key(atoi(e + 1), st, &pools[0]);
	free(servers);
	printf("records %lu live %lu absent %lu extra %lu stale %lu\n", records, live, absent, extra, stale);
	memcached_free(mc);
	free(pools);
	mcm_store_close(st);
	return extra || stale ? 1 : 0;
}
