/* mirror_check.c - compare what memcached holds with what the mirror says it holds.
 *
 * usage: mirror_check DIR KEYS
 *   For every key listed in KEYS (written by shim_drive; the last line of a key
 *   wins), read the server's item (value, flags, TTL through the meta command
 *   `mg`) and the mirror's record, and check that they agree: both absent, or
 *   both present with the same value bytes, the same flags and an expiry within
 *   EXPIRY_SLACK seconds. A mirror value the server does not have is a failure
 *   (stale); a key the server has and the mirror lacks is a "miss", allowed only
 *   where the driver says the outcome was unknown. Exit 0 when all agree, 1 if not.
 *   Whatever the shim's journal still holds is applied first (mcm_drain_catch_up),
 *   as the mcmirror tool does.
 * usage: mirror_check --stats DIR
 *   Print the environment's facts and the shim's counters, one "name value" a line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_counters.h"
#include "mcm_drain.h"
#include "mcm_pool.h"
#include "mcm_store.h"
#include "shim_raw.h"

/* memcached's clock ticks once a second and lags the wall clock: an expiry read
 * back as a TTL may differ from the one computed at the write by 2 s. */
#define EXPIRY_SLACK 2
/* How long to wait for a live drainer to apply the journal. */
#define CATCH_UP_MS 10000

/* One line of KEYS. */
struct entry {
	char *servers, *key, *group;
	size_t ns_len, line;
	char server, mirror;
};

/* A pool seen in KEYS, with its mirror record. */
struct pool_cache {
	char *servers;
	mcm_pool_id id;
	struct mcm_pool rec;
	int have_rec;
};

struct checker {
	struct mcm_store *st;
	struct pool_cache pools[16];
	size_t npools;
	int64_t now;
	unsigned long keys, both, neither, misses, failures;
};

static int parse_line(char *s, size_t line, struct entry *e)
{
	char *f[6], *save = NULL;
	int n = 0;

	s[strcspn(s, "\n")] = '\0';
	for (char *tok = strtok_r(s, "\t", &save); tok && n < 6; tok = strtok_r(NULL, "\t", &save))
		f[n++] = tok;
	if (n != 6 || strlen(f[3]) != 1 || strlen(f[4]) != 1)
		return -1;
	e->servers = strdup(f[0]);
	e->ns_len = strtoul(f[1], NULL, 10);
	e->key = strdup(f[2]);
	e->server = f[3][0];
	e->mirror = f[4][0];
	e->group = strdup(f[5]);
	e->line = line;
	return e->servers && e->key && e->group ? 0 : -1;
}

static void free_entry(struct entry *e)
{
	free(e->servers);
	free(e->key);
	free(e->group);
}

static int by_key_then_line(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->servers, y->servers);

	if (c == 0)
		c = strcmp(x->key, y->key);
	if (c == 0)
		c = x->line < y->line ? -1 : x->line > y->line;
	return c;
}

/* Read KEYS, sorted, keeping only the last line of each (servers, key). */
static struct entry *read_keys(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct entry *v = NULL;
	size_t cap = 0, used = 0, len = 0, out = 0;
	char *line = NULL;

	if (!f) {
		fprintf(stderr, "mirror_check: cannot open '%s': %s\n", path, strerror(errno));
		exit(1);
	}
	while (getline(&line, &len, f) > 0) {
		if (used == cap && !(v = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof *v)))
			exit(1);
		if (parse_line(line, used, &v[used]) != 0) {
			fprintf(stderr, "mirror_check: '%s': bad line %zu\n", path, used + 1);
			exit(1);
		}
		used++;
	}
	free(line);
	fclose(f);
	qsort(v, used, sizeof *v, by_key_then_line);
	for (size_t i = 0; i < used; i++) {
		if (i + 1 == used || strcmp(v[i].servers, v[i + 1].servers) || strcmp(v[i].key, v[i + 1].key))
			v[out++] = v[i];
		else
			free_entry(&v[i]);
	}
	*n = out;
	return v;
}

/* The pool of a server list, named as the shim names it (mcm_pool_describe). */
static struct pool_cache *pool_of(struct checker *c, const char *servers)
{
	struct pool_cache *p;
	struct mcm_pool desc;
	memcached_server_st *list;
	memcached_st *mc;
	memcached_return_t rc;

	for (size_t i = 0; i < c->npools; i++)
		if (strcmp(c->pools[i].servers, servers) == 0)
			return &c->pools[i];
	if (c->npools == sizeof c->pools / sizeof c->pools[0])
		exit(1);
	list = memcached_servers_parse(servers);
	mc = memcached_create(NULL);
	rc = memcached_server_push(mc, list);
	if (rc != MEMCACHED_SUCCESS || mcm_pool_describe(mc, &desc) != 0) {
		fprintf(stderr, "mirror_check: bad server list '%s'\n", servers);
		exit(1);
	}
	memcached_server_list_free(list);
	memcached_free(mc);
	p = &c->pools[c->npools++];
	p->servers = strdup(servers);
	p->id = desc.id;
	p->have_rec = mcm_store_pool(c->st, p->id, &p->rec) == 0;
	return p;
}

/* Print bytes with non-printable ones (and the backslash) as \xx; at most 60. */
static void print_bytes(const char *s, size_t len)
{
	for (size_t i = 0; i < len && i < 60; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			putchar(ch);
		else
			printf("\\%02x", ch);
	}
	if (len > 60)
		printf("...(%zu bytes)", len);
}

static void failure(struct checker *c, const struct entry *e, const char *why)
{
	c->failures++;
	printf("FAIL %s '%s': %s\n", e->servers, e->key, why);
}

/* The server's item: looked up on each server of the pool. */
static int server_item(struct checker *c, const struct entry *e, struct raw_item *it)
{
	char list[1024], *save = NULL;
	int found = 0;

	snprintf(list, sizeof list, "%s", e->servers);
	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		struct raw_item one;
		int rc = raw_get(s, e->key, &one);

		if (rc < 0)
			exit(1);
		if (rc == 0)
			continue;
		if (found++) {
			failure(c, e, "held by two servers of the pool");
			free(one.value);
			continue;
		}
		*it = one;
	}
	return found > 0;
}

static int group_matches(const struct entry *e, const struct mcm_item *m)
{
	if (strcmp(e->group, "-") == 0)
		return 1;
	if (strcmp(e->group, "=") == 0)
		return m->group_mode == MCM_GROUP_KEY;
	return m->group_mode == MCM_GROUP_EXPLICIT && m->group_len == strlen(e->group + 2) &&
	       memcmp(m->group, e->group + 2, m->group_len) == 0;
}

/* Both hold the key: the same bytes, flags, expiry, namespace split, group. */
static void compare(struct checker *c, const struct entry *e, const struct raw_item *s, const struct mcm_item *m)
{
	int64_t server_exp = s->ttl == -1 ? 0 : c->now + s->ttl;
	int ok = 1;

	if (s->value_len != m->value_len || memcmp(s->value, m->value, s->value_len) != 0) {
		failure(c, e, "values differ");
		printf("    server: '");
		print_bytes(s->value, s->value_len);
		printf("'\n    mirror: '");
		print_bytes(m->value, m->value_len);
		printf("'\n");
		ok = 0;
	}
	if (s->flags != m->flags) {
		printf("FAIL %s '%s': flags differ: server %" PRIu32 ", mirror %" PRIu32 "\n", e->servers, e->key,
		       s->flags, m->flags);
		c->failures++;
		ok = 0;
	}
	if ((server_exp == 0) != (m->exptime == 0) || llabs(server_exp - m->exptime) > EXPIRY_SLACK) {
		printf("FAIL %s '%s': expiry differs: server %" PRId64 " (ttl %" PRId64 "), mirror %" PRId64 "\n",
		       e->servers, e->key, server_exp, s->ttl, m->exptime);
		c->failures++;
		ok = 0;
	}
	if (m->ns_len != e->ns_len) {
		printf("FAIL %s '%s': namespace length %u in the mirror, %zu written\n", e->servers, e->key,
		       m->ns_len, e->ns_len);
		c->failures++;
		ok = 0;
	}
	if (!group_matches(e, m)) {
		printf("FAIL %s '%s': group key '%.*s' (mode %u) in the mirror, expected %s\n", e->servers, e->key,
		       (int)m->group_len, m->group, m->group_mode, e->group);
		c->failures++;
		ok = 0;
	}
	c->both += ok;
}

static void check_key(struct checker *c, const struct entry *e)
{
	struct pool_cache *p = pool_of(c, e->servers);
	struct raw_item s = {0};
	struct mcm_item m;
	int on_server = server_item(c, e, &s), rc, live;

	rc = mcm_store_get(c->st, p->id, e->key, strlen(e->key), &m);
	if (rc != 0 && rc != MCM_ENOTFOUND) {
		fprintf(stderr, "mirror_check: reading '%s': %s\n", e->key, mcm_strerror(rc));
		exit(1);
	}
	live = rc == 0 && mcm_item_is_live(&m, p->have_rec ? &p->rec : NULL, c->now);
	c->keys++;
	if (on_server && e->server == 'A')
		failure(c, e, "the server holds it; the driver expected it absent");
	if (!on_server && e->server == 'P')
		failure(c, e, "the server lacks it; the driver expected it present");
	if (live && !on_server)
		failure(c, e, "STALE: the mirror holds a value the server does not have");
	else if (live && e->mirror == 'X')
		failure(c, e, "the mirror holds it; the outcome was unknown, so it must be dropped");
	else if (live)
		compare(c, e, &s, &m);
	else if (on_server && e->mirror == 'M')
		failure(c, e, "unexpected miss: the server holds it, the mirror does not");
	else if (on_server && ++c->misses)
		printf("miss (allowed) %s '%s'\n", e->servers, e->key);
	else
		c->neither++;
	free(s.value);
}

/* Apply what the shim's journal still holds, as the mcmirror tool does. */
static int catch_up(const char *dir)
{
	int rc = mcm_drain_catch_up(dir, CATCH_UP_MS);

	if (rc != 0)
		fprintf(stderr, "mirror_check: cannot apply the journal of '%s': %s\n", dir, mcm_strerror(rc));
	return rc;
}

static int run_check(const char *dir, const char *keys)
{
	struct checker c = {0};
	struct entry *v;
	size_t n;
	int rc = catch_up(dir);

	if (rc == 0)
		rc = mcm_store_open(&c.st, dir, MCM_STORE_RDONLY, 0);
	if (rc != 0) {
		fprintf(stderr, "mirror_check: cannot open mirror '%s': %s\n", dir, mcm_strerror(rc));
		return 1;
	}
	v = read_keys(keys, &n);
	c.now = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		check_key(&c, &v[i]);
		free_entry(&v[i]);
	}
	free(v);
	for (size_t i = 0; i < c.npools; i++)
		free(c.pools[i].servers);
	mcm_store_close(c.st);
	printf("mirror_check: %lu keys: %lu in both, %lu in neither, %lu allowed misses, %lu failures\n", c.keys,
	       c.both, c.neither, c.misses, c.failures);
	if (c.keys == 0) {
		printf("mirror_check: no keys to check in '%s'\n", keys);
		return 1;
	}
	return c.failures ? 1 : 0;
}

/* Live records: iterate, matching each to its pool record. */
static uint64_t count_live(struct mcm_store *st, int64_t now)
{
	struct mcm_pool *pools = NULL;
	struct mcm_iter *it;
	struct mcm_item m;
	size_t np = 0;
	uint64_t live = 0;

	if (mcm_store_pools(st, &pools, &np) != 0 || mcm_iter_open(st, MCM_ORDER_KEY, 0, &it) != 0)
		exit(1);
	while (mcm_iter_next(it, &m) == 0) {
		const struct mcm_pool *p = NULL;

		for (size_t i = 0; i < np; i++)
			if (pools[i].id == m.pool)
				p = &pools[i];
		live += mcm_item_is_live(&m, p, now) != 0;
	}
	mcm_iter_close(it);
	free(pools);
	return live;
}

static int run_stats(const char *dir)
{
	struct mcm_store *st;
	struct mcm_store_info info;
	struct mcm_counters *ctr = NULL;
	int rc = catch_up(dir);

	if (rc == 0)
		rc = mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0);
	if (rc != 0 || (rc = mcm_store_info(st, &info)) != 0) {
		fprintf(stderr, "mirror_check: cannot read mirror '%s': %s\n", dir, mcm_strerror(rc));
		return 1;
	}
	printf("last_seq %" PRIu64 "\nentries %" PRIu64 "\nlive %" PRIu64 "\n", info.last_seq, info.entries,
	       count_live(st, (int64_t)time(NULL)));
	mcm_store_close(st);
	if (mcm_counters_open(&ctr, dir, 0) == 0) {
		for (int i = 0; i < MCM_CTR_COUNT; i++)
			printf("%s %" PRIu64 "\n", mcm_counter_names[i], mcm_counters_get(ctr, (enum mcm_counter)i));
		mcm_counters_close(ctr);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--stats") == 0)
		return run_stats(argv[2]);
	if (argc == 3)
		return run_check(argv[1], argv[2]);
	fprintf(stderr, "usage: mirror_check DIR KEYS | mirror_check --stats DIR\n");
	return 2;
}
