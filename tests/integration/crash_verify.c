/* crash_verify.c - checks of a mirror after the concurrency and disk-full crash tests.
 *
 * usage: crash_verify pending DIR
 *          print how many journal bytes wait to be applied (head to tail); no draining
 *        crash_verify consistent DIR SERVERS [PREFIX]
 *          drain, then assert that every live item equals what the server holds
 *          (value and flags) and that every record is listed exactly once in seq
 *          and in key order; print "live=N prefixed=M" (M: live keys starting with PREFIX)
 *        crash_verify conc DIR SERVERS PROCS THREADS OPS
 *          `consistent`, plus: every own key of every thread holds exactly its last
 *          write (crash_procs.h), shared keys hold what the server holds or are absent
 * Exit 0 when every check passed, 1 otherwise (the failures on stderr).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmemcached/memcached.h>

#include "crash_procs.h"
#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_store.h"

static int failures;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a failure (the first 20 only). */
static void failf(const char *fmt, ...)
{
	va_list ap;

	if (failures++ >= 20)
		return;
	fputs("crash_verify: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int pending(const char *dir)
{
	struct mcm_journal *j;
	int rc = mcm_journal_open(&j, dir, 0, 0);

	if (rc != 0) {
		fprintf(stderr, "crash_verify: journal of '%s': %s\n", dir, mcm_strerror(rc));
		return 1;
	}
	printf("%" PRIu64 "\n", mcm_journal_tail(j) - mcm_journal_head(j));
	mcm_journal_close(j);
	return 0;
}

/* A copy of a listed key, pool first, for comparing the two listings. */
struct lkey {
	size_t len;
	unsigned char bytes[8 + MCM_KEY_MAX + MCM_NAMESPACE_MAX];
};

static int cmp_lkey(const void *a, const void *b)
{
	const struct lkey *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->bytes, y->bytes, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Every record of the listing in order, as sorted keys; NULL on error. */
static struct lkey *listing(struct mcm_store *st, enum mcm_order order, size_t *n)
{
	struct mcm_iter *it;
	struct mcm_item item;
	struct lkey *keys = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	if (mcm_iter_open(st, order, 0, &it) != 0)
		return NULL;
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			keys = realloc(keys, cap * sizeof *keys);
		}
		memcpy(keys[*n].bytes, &item.pool, 8);
		memcpy(keys[*n].bytes + 8, item.key, item.key_len);
		keys[(*n)++].len = 8 + item.key_len;
	}
	mcm_iter_close(it);
	if (rc != MCM_END) {
		failf("iteration failed: %s", mcm_strerror(rc));
		return keys;
	}
	if (keys)
		qsort(keys, *n, sizeof *keys, cmp_lkey);
	return keys;
}

/* Exactly once: the seq listing and the key listing hold the same keys, each once. */
static void check_exactly_once(struct mcm_store *st)
{
	size_t nk, ns;
	struct lkey *bykey = listing(st, MCM_ORDER_KEY, &nk), *byseq = listing(st, MCM_ORDER_SEQ, &ns);

	if (nk != ns)
		failf("%zu records in key order, %zu in seq order", nk, ns);
	for (size_t i = 0; i < nk && i < ns; i++) {
		if (cmp_lkey(&bykey[i], &byseq[i]) != 0) {
			failf("the seq listing differs from the key listing at record %zu", i);
			break;
		}
		if (i > 0 && cmp_lkey(&byseq[i - 1], &byseq[i]) == 0)
			failf("a key is listed twice in seq order");
	}
	free(bykey);
	free(byseq);
}

static memcached_st *connect_to(const char *servers)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	return mc;
}

/* Drain and open the mirror. */
static struct mcm_store *open_mirror(const char *dir)
{
	struct mcm_store *st;
	int rc;

	if ((rc = mcm_drain_catch_up(dir, 10000)) != 0) {
		fprintf(stderr, "crash_verify: catch-up of '%s': %s\n", dir, mcm_strerror(rc));
		return NULL;
	}
	if ((rc = mcm_store_open(&st, dir, MCM_STORE_RDONLY, 0)) != 0) {
		fprintf(stderr, "crash_verify: the mirror '%s' does not open: %s\n", dir, mcm_strerror(rc));
		return NULL;
	}
	return st;
}

/* Every live item equals the server's; returns the live items (prefixed: those starting with prefix). */
static size_t check_consistent(struct mcm_store *st, memcached_st *mc, const char *prefix, size_t *prefixed)
{
	struct mcm_pool *pools = NULL;
	struct mcm_iter *it;
	struct mcm_item item;
	size_t npools = 0, live = 0;
	int64_t now = (int64_t)time(NULL);
	int rc;

	*prefixed = 0;
	if (mcm_store_pools(st, &pools, &npools) != 0 || npools != 1) {
		failf("expected one pool, found %zu", npools);
		free(pools);
		return 0;
	}
	if (mcm_iter_open(st, MCM_ORDER_KEY, 0, &it) != 0) {
		free(pools);
		return 0;
	}
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		memcached_return_t mrc;
		size_t len;
		uint32_t flags;
		char *v;

		if (!mcm_item_is_live(&item, &pools[0], now))
			continue;
		live++;
		if (prefix && item.key_len >= strlen(prefix) && memcmp(item.key, prefix, strlen(prefix)) == 0)
			(*prefixed)++;
		v = memcached_get(mc, item.key, item.key_len, &len, &flags, &mrc);
		if (mrc != MEMCACHED_SUCCESS)
			failf("'%.*s' is in the mirror but not on the server (%s)", (int)item.key_len, item.key,
			      memcached_strerror(mc, mrc));
		else if (len != item.value_len || memcmp(v, item.value, len) != 0 || flags != item.flags)
			failf("'%.*s': the mirror holds '%.*s' (flags %u), the server '%.*s' (flags %u)", (int)item.key_len,
			      item.key, (int)(item.value_len > 40 ? 40 : item.value_len), item.value, item.flags,
			      (int)(len > 40 ? 40 : len), v, flags);
		free(v);
	}
	if (rc != MCM_END)
		failf("iteration failed: %s", mcm_strerror(rc));
	mcm_iter_close(it);
	free(pools);
	return live;
}

/* Own keys hold exactly their thread's last write. */
static void check_own_keys(struct mcm_store *st, int procs, int threads, long ops)
{
	struct mcm_pool *pools = NULL;
	size_t npools = 0;
	int64_t now = (int64_t)time(NULL);

	if (mcm_store_pools(st, &pools, &npools) != 0 || npools != 1) {
		free(pools);
		return; /* reported by check_consistent */
	}
	for (int p = 0; p < procs; p++)
		for (int t = 0; t < threads; t++)
			for (long k = 0; k < CONC_KEYS && k < ops; k++) {
				long i = k + (ops - 1 - k) / CONC_KEYS * CONC_KEYS; /* the last write of key k */
				char key[64], want[CONC_VALUE_MAX];
				size_t wlen;
				struct mcm_item item;

				if (crash_procs_shared(i))
					continue; /* CONC_KEYS is a multiple of 10: such a k is never an own key */
				snprintf(key, sizeof key, "conc:d:%d:%d:%ld", p, t, k);
				wlen = crash_procs_value(p, t, i, want);
				if (mcm_store_get(st, pools[0].id, key, strlen(key), &item) != 0 ||
				    !mcm_item_is_live(&item, &pools[0], now))
					failf("'%s' (written only by process %d thread %d) is missing", key, p, t);
				else if (item.value_len != wlen || memcmp(item.value, want, wlen) != 0 ||
					 item.flags != (uint32_t)i)
					failf("'%s' does not hold its last write (operation %ld)", key, i);
			}
	free(pools);
}

int main(int argc, char **argv)
{
	struct mcm_store *st;
	memcached_st *mc;
	size_t live, prefixed;

	if (argc == 3 && strcmp(argv[1], "pending") == 0)
		return pending(argv[2]);
	if (!((argc == 4 || argc == 5) && strcmp(argv[1], "consistent") == 0) &&
	    !(argc == 7 && strcmp(argv[1], "conc") == 0)) {
		fprintf(stderr, "usage: crash_verify pending DIR | consistent DIR SERVERS [PREFIX] |\n"
				"       conc DIR SERVERS PROCS THREADS OPS\n");
		return 2;
	}
	if (!(st = open_mirror(argv[2])))
		return 1;
	mc = connect_to(argv[3]);
	live = check_consistent(st, mc, argc == 5 ? argv[4] : NULL, &prefixed);
	check_exactly_once(st);
	if (strcmp(argv[1], "conc") == 0)
		check_own_keys(st, atoi(argv[4]), atoi(argv[5]), atol(argv[6]));
	memcached_free(mc);
	mcm_store_close(st);
	printf("live=%zu prefixed=%zu failures=%d\n", live, prefixed, failures);
	return failures ? 1 : 0;
}
