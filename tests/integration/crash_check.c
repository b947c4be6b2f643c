/* crash_check.c - the kill test's checker: after the writer was killed, the mirror must still be right.
 *
 * usage: crash_check DIR SERVERS STATE NKEYS [power | power:A]
 * Drains what the journal holds (mcm_drain_catch_up, as the mcmirror tool
 * does), then asserts, for the operation sequence of crash_model.h and the
 * last acknowledged operation A read from STATE:
 *   - the mirror opens, its journal is fully applied and no intent is open
 *     (the killed writer's unfinished one was given up);
 *   - every key holds the value of its last operation up to A (absent if that
 *     was a delete), except the key of operation A+1, which was in flight at
 *     the kill: it may also hold A+1's value or have been dropped;
 *   - a value in the mirror is byte for byte what the server holds (value and flags);
 *   - every record is listed once in sequence order, and nothing else is there.
 * With "power" (the kill was played as a power loss by journal_restart) the
 * operation in flight may be missing from the mirror altogether, its intent
 * included: then the mirror keeps the key's last acknowledged value although
 * the server holds the one in flight (docs/DURABILITY.md). That lasts until
 * the writer does that operation again: "power:A" says the power loss was
 * when A was the last acknowledged operation, and allows it while it still is.
 * Prints a summary on stdout, with what the killed writer left unapplied in
 * the journal: one-record writes (and how many of them unresolved: their
 * calls were in flight, or did something else) and intents; the failures on
 * stderr; exits 1 on any failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

#include "crash_model.h"
#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_store.h"

static int failures;

static void failf(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a failure about key (the first 20 only). */
static void failf(const char *key, const char *fmt, ...)
{
	va_list ap;

	if (failures++ >= 20)
		return;
	fprintf(stderr, "crash_check: %s: ", key);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The last operation on key k at or before a, or -1. */
static int64_t last_op_on(uint64_t k, int64_t a, uint64_t nkeys)
{
	int64_t j;

	if (a < (int64_t)k)
		return -1;
	j = a - (int64_t)(((uint64_t)a - k) % nkeys);
	return j;
}

/* Before anything drains: the records from the journal's head to its tail, by
 * kind. A write record is unresolved while bit 31 of its state word (bytes
 * 20-23, docs/FORMAT.md §1.11) is clear. */
static void journal_left(const char *dir, uint64_t *writes, uint64_t *unresolved, uint64_t *intents)
{
	struct mcm_journal *j;
	const struct mcm_jrec *r;
	const unsigned char *p;
	size_t len;
	uint64_t pos;

	*writes = *unresolved = *intents = 0;
	if (mcm_journal_open(&j, dir, 0, 0) != 0)
		return;
	for (pos = mcm_journal_head(j); mcm_journal_read(j, &pos, &r, &p, &len) == 0;) {
		if (r->type == MCM_J_WRITE) {
			(*writes)++;
			*unresolved += !(__atomic_load_n(&r->spare, __ATOMIC_ACQUIRE) & 0x80000000u);
		}
		*intents += r->type == MCM_J_INTENT;
	}
	mcm_journal_close(j);
}

/* The journal is applied to its end and no intent is left open. */
static int check_drained(const char *dir, struct mcm_store *st)
{
	struct mcm_journal *j;
	struct mcm_drain *d;
	int fd, rc, ok = 1;

	if ((rc = mcm_journal_open(&j, dir, 0, 0)) != 0)
		return rc == ENOENT ? 0 : (fprintf(stderr, "crash_check: journal: %s\n", mcm_strerror(rc)), -1);
	if ((rc = mcm_drain_lock(dir, 0, &fd)) != 0) {
		fprintf(stderr, "crash_check: drain lock: %s (is a writer still running?)\n", mcm_strerror(rc));
		mcm_journal_close(j);
		return -1;
	}
	if ((rc = mcm_drain_open(&d, st, j)) != 0) {
		fprintf(stderr, "crash_check: drain open: %s\n", mcm_strerror(rc));
		ok = 0;
	} else {
		if (mcm_drain_position(d) != mcm_journal_tail(j)) {
			fprintf(stderr, "crash_check: journal applied to %" PRIu64 " of %" PRIu64 "\n",
				mcm_drain_position(d), mcm_journal_tail(j));
			ok = 0;
		}
		if (mcm_drain_open_intents(d) != 0) {
			fprintf(stderr, "crash_check: %zu intents still open after catch-up\n", mcm_drain_open_intents(d));
			ok = 0;
		}
		mcm_drain_close(d);
	}
	close(fd);
	mcm_journal_close(j);
	return ok ? 0 : -1;
}

/* Every record once in seq order, once in key order; only crash: keys. */
static uint64_t check_listing(struct mcm_store *st, uint64_t nkeys)
{
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t by_key = 0, by_seq = 0, last_seq = 0;
	int rc;

	if (mcm_iter_open(st, MCM_ORDER_KEY, 0, &it) != 0) {
		failf("listing", "cannot iterate by key");
		return 0;
	}
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		char *end;
		by_key++;
		if (item.key_len < 7 || memcmp(item.key, "crash:", 6) != 0 ||
		    strtoull(item.key + 6, &end, 10) >= nkeys || end != item.key + item.key_len)
			failf("listing", "a key the writer never wrote: '%.*s'", (int)item.key_len, item.key);
	}
	mcm_iter_close(it);
	if (rc != MCM_END)
		failf("listing", "key iteration failed: %s", mcm_strerror(rc));
	if (mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it) != 0) {
		failf("listing", "cannot iterate in seq order");
		return 0;
	}
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		if (item.seq <= last_seq)
			failf("listing", "seq order broken at %" PRIu64 " after %" PRIu64, item.seq, last_seq);
		last_seq = item.seq;
		by_seq++;
	}
	mcm_iter_close(it);
	if (rc != MCM_END)
		failf("listing", "seq iteration failed: %s", mcm_strerror(rc));
	if (by_key != by_seq)
		failf("listing", "%" PRIu64 " records by key but %" PRIu64 " in seq order (not exactly once)", by_key,
		      by_seq);
	return by_key;
}

struct found {
	int present;
	int64_t index; /* operation the value names, -1 when corrupt */
	uint32_t flags;
	char *value;
	size_t len;
};

static void from_server(memcached_st *mc, const char *key, size_t klen, struct found *f)
{
	memcached_return_t rc;

	memset(f, 0, sizeof *f);
	f->value = memcached_get(mc, key, klen, &f->len, &f->flags, &rc);
	f->present = rc == MEMCACHED_SUCCESS;
	if (!f->present && rc != MEMCACHED_NOTFOUND) {
		fprintf(stderr, "crash_check: get '%s': %s\n", key, memcached_strerror(mc, rc));
		failures++;
	}
	f->index = f->present ? crash_value_index(f->value, f->len) : -1;
}

static void from_mirror(struct mcm_store *st, const struct mcm_pool *pool, const char *key, size_t klen,
			struct found *f)
{
	struct mcm_item item;
	int rc;

	memset(f, 0, sizeof *f);
	if (!pool || (rc = mcm_store_get(st, pool->id, key, klen, &item)) == MCM_ENOTFOUND)
		return;
	if (rc != 0) {
		fprintf(stderr, "crash_check: mirror get '%s': %s\n", key, mcm_strerror(rc));
		failures++;
		return;
	}
	if (!mcm_item_is_live(&item, pool, (int64_t)time(NULL)))
		return;
	f->present = 1;
	f->flags = item.flags;
	f->len = item.value_len;
	f->value = malloc(item.value_len + 1);
	memcpy(f->value, item.value, item.value_len);
	f->index = crash_value_index(f->value, f->len);
}

/* May key k (whose last acknowledged operation is j) be found as f? */
static void check_key(const char *key, const struct found *f, int64_t j, int64_t a, int in_flight,
		      const char *where)
{
	char what[64];

	snprintf(what, sizeof what, "%s %s", where, key);
	if (f->present && f->index < 0) {
		failf(what, "holds a value no operation wrote");
		return;
	}
	if (f->present && f->flags != crash_flags((uint64_t)f->index))
		failf(what, "flags of operation %" PRId64 " are wrong", f->index);
	if (f->present && f->index == a + 1 && in_flight)
		return; /* the operation in flight at the kill got through */
	if (f->present && f->index != j)
		failf(what, "holds operation %" PRId64 "'s value, the last acknowledged write was operation %" PRId64,
		      f->index, j);
	/* the mirror may drop the key in flight; the server lost it if that was a delete */
	if (in_flight && (strcmp(where, "mirror") == 0 || crash_is_delete((uint64_t)(a + 1))))
		return;
	if (!f->present && j >= 0 && !crash_is_delete((uint64_t)j))
		failf(what, "is absent, acknowledged operation %" PRId64 " set it", j);
}

int main(int argc, char **argv)
{
	struct mcm_store *st;
	struct mcm_pool *pools = NULL, pool;
	struct crash_state *s;
	memcached_st *mc;
	memcached_server_st *list;
	uint64_t nkeys, records, live = 0, absent_inflight = 0, writes, unresolved, intents;
	size_t npools = 0;
	int64_t a;
	int rc, power;

	if (argc != 5 && !(argc == 6 && strncmp(argv[5], "power", 5) == 0)) {
		fprintf(stderr, "usage: crash_check DIR SERVERS STATE NKEYS [power | power:A]\n");
		return 2;
	}
	nkeys = strtoull(argv[4], NULL, 10);
	if (!(s = crash_state_map(argv[3])) || nkeys == 0)
		return 2;
	a = __atomic_load_n(&s->acked, __ATOMIC_ACQUIRE);
	power = argc == 6 && (strcmp(argv[5], "power") == 0 || strtoll(argv[5] + 5 + (argv[5][5] == ':'), NULL, 10) == a);
	journal_left(argv[1], &writes, &unresolved, &intents);
	if ((rc = mcm_drain_catch_up(argv[1], 5000)) != 0) {
		fprintf(stderr, "crash_check: catch-up: %s\n", mcm_strerror(rc));
		return 1;
	}
	if ((rc = mcm_store_open(&st, argv[1], 0, 0)) == ENOENT && a < 0) {
		/* killed before its first write (a loaded machine): nothing was acknowledged */
		printf("acked=-1 live=0 records=0 dropped_in_flight=0 failures=0 writes_left=%" PRIu64
		       " unresolved=%" PRIu64 " intents_left=%" PRIu64 "\n", writes, unresolved, intents);
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "crash_check: the mirror does not open: %s\n", mcm_strerror(rc));
		return 1;
	}
	if (check_drained(argv[1], st) != 0)
		failures++;
	if ((rc = mcm_store_pools(st, &pools, &npools)) != 0 || npools > 1) {
		fprintf(stderr, "crash_check: pools: %s, %zu of them\n", mcm_strerror(rc), npools);
		return 1;
	}
	if (npools)
		pool = pools[0];
	free(pools);
	mc = memcached_create(NULL);
	list = memcached_servers_parse(argv[2]);
	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	for (uint64_t k = 0; k < nkeys; k++) {
		char key[CRASH_KEY_MAX];
		size_t klen = crash_key(k, nkeys, key);
		int64_t j = last_op_on(k, a, nkeys);
		int in_flight = (uint64_t)(a + 1) % nkeys == k;
		struct found m, srv;

		from_mirror(st, npools ? &pool : NULL, key, klen, &m);
		from_server(mc, key, klen, &srv);
		check_key(key, &srv, j, a, in_flight, "server");
		check_key(key, &m, j, a, in_flight, "mirror");
		if (m.present && (!srv.present || srv.len != m.len || memcmp(srv.value, m.value, m.len) != 0 ||
				  srv.flags != m.flags) &&
		    !(power && in_flight && m.index == j && (srv.present ? srv.index : -1) != j))
			failf(key, "the mirror holds operation %" PRId64 ", the server %" PRId64, m.index,
			      srv.present ? srv.index : -1);
		live += m.present;
		absent_inflight += in_flight && !m.present && j >= 0 && !crash_is_delete((uint64_t)j);
		free(m.value);
		free(srv.value);
	}
	records = check_listing(st, nkeys);
	memcached_free(mc);
	mcm_store_close(st);
	printf("acked=%" PRId64 " live=%" PRIu64 " records=%" PRIu64 " dropped_in_flight=%" PRIu64
	       " failures=%d writes_left=%" PRIu64 " unresolved=%" PRIu64 " intents_left=%" PRIu64 "\n",
	       a, live, records, absent_inflight, failures, writes, unresolved, intents);
	return failures ? 1 : 0;
}
