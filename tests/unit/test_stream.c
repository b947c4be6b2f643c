/* test_stream.c - the change stream (store/stream.c): what a follower's copy
 * must do, in order, so that it ends holding exactly the mirror's live records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_record.h"
#include "mcm_stream.h"
#include "unit.h"

static struct mcm_pool pool_a, pool_b;

/* A follower's copy: key -> value (a small table). */
#define COPY_MAX 8192
struct copy {
	char key[COPY_MAX][32];
	char value[COPY_MAX][64];
	int used[COPY_MAX];
	int flushes, sets, deletes;
	int sets_of_after; /* SETs of the key "after" */
};

static int slot(struct copy *c, const char *key, size_t len, int create)
{
	for (int i = 0; i < COPY_MAX; i++)
		if (c->used[i] && strlen(c->key[i]) == len && memcmp(c->key[i], key, len) == 0)
			return i;
	if (!create)
		return -1;
	for (int i = 0; i < COPY_MAX; i++)
		if (!c->used[i]) {
			memcpy(c->key[i], key, len);
			c->key[i][len] = '\0';
			c->used[i] = 1;
			return i;
		}
	fail_msg("copy full");
	return -1;
}

/* Apply one change to the copy. */
static void apply(struct copy *c, const struct mcm_change *ch)
{
	int i;

	switch (ch->kind) {
	case MCM_CHANGE_FLUSH:
		memset(c->used, 0, sizeof c->used);
		c->flushes++;
		break;
	case MCM_CHANGE_SET:
		i = slot(c, ch->item.key, ch->item.key_len, 1);
		assert_true(ch->item.value_len < sizeof c->value[i]);
		memcpy(c->value[i], ch->item.value, ch->item.value_len);
		c->value[i][ch->item.value_len] = '\0';
		c->sets++;
		c->sets_of_after += ch->item.key_len == 5 && memcmp(ch->item.key, "after", 5) == 0;
		break;
	case MCM_CHANGE_DELETE:
		if ((i = slot(c, ch->item.key, ch->item.key_len, 0)) >= 0)
			c->used[i] = 0;
		c->deletes++;
		break;
	case MCM_CHANGE_FLUSH_AT:
		break;
	}
}

/* Drain the stream into the copy; returns the changes applied. */
static int follow(struct mcm_stream *s, struct copy *c, int max)
{
	struct mcm_change ch;
	int n = 0, rc;

	while (n < max && (rc = mcm_stream_next(s, &ch)) == 0) {
		assert_true(ch.kind == MCM_CHANGE_FLUSH || ch.kind == MCM_CHANGE_FLUSH_AT || ch.item.pool == pool_a.id);
		apply(c, &ch);
		n++;
	}
	return n;
}

/* The copy holds exactly pool_a's live records. */
static void same_as_mirror(struct mcm_store *st, struct copy *c)
{
	struct mcm_iter *it;
	struct mcm_item item;
	struct mcm_pool p;
	int64_t now = (int64_t)time(NULL);
	int live = 0, held = 0, rc;

	assert_int_equal(mcm_store_pool(st, pool_a.id, &p), 0);
	assert_int_equal(mcm_iter_open(st, MCM_ORDER_KEY, 0, &it), 0);
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		int i;

		if (item.pool != pool_a.id || !mcm_item_is_live(&item, &p, now))
			continue;
		live++;
		i = slot(c, item.key, item.key_len, 0);
		if (i < 0)
			fprintf(stderr, "missing on the copy: %.*s seq %llu (flush_seq %llu)\n", (int)item.key_len, item.key,
				(unsigned long long)item.seq, (unsigned long long)p.flush_seq);
		assert_true(i >= 0);
		assert_int_equal(strlen(c->value[i]), item.value_len);
		assert_memory_equal(c->value[i], item.value, item.value_len);
	}
	assert_int_equal(rc, MCM_END);
	mcm_iter_close(it);
	for (int i = 0; i < COPY_MAX; i++)
		held += c->used[i];
	assert_int_equal(held, live);
}

static void put(struct mcm_store *st, const struct mcm_pool *p, const char *key, const char *value, int64_t exptime)
{
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, p, key);

	m.value = value;
	m.value_len = strlen(value);
	m.exptime = exptime;
	unit_apply(st, &m);
}

static void op(struct mcm_store *st, enum mcm_op o, const char *key)
{
	struct mcm_mutation m = unit_mut(o, &pool_a, key);

	if (o == MCM_OP_FLUSH)
		m.key = m.group = m.value = "";
	unit_apply(st, &m);
}

static void test_in_order(void **state)
{
	struct unit_env *e = *state;
	struct mcm_stream *s;
	struct mcm_change ch;
	struct copy c = {0};

	put(e->st, &pool_a, "a", "1", 0);
	put(e->st, &pool_b, "other", "x", 0); /* another pool: not in this stream */
	put(e->st, &pool_a, "b", "2", 0);
	put(e->st, &pool_a, "a", "3", 0);     /* a again: given once, at its new number */
	op(e->st, MCM_OP_DELETE, "b");
	put(e->st, &pool_a, "gone", "x", 1);  /* expired at once */
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 0, 0, 0, &s), 0);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_SET);
	assert_memory_equal(ch.item.key, "a", 1);
	assert_memory_equal(ch.item.value, "3", 1);
	assert_int_equal(ch.seq, 4);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_DELETE);
	assert_memory_equal(ch.item.key, "b", 1);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_DELETE); /* expired: the copy must not keep an older value */
	assert_memory_equal(ch.item.key, "gone", 4);
	assert_int_equal(mcm_stream_next(s, &ch), MCM_END);
	assert_int_equal(mcm_stream_position(s), 6);
	/* newer changes come after the end */
	put(e->st, &pool_a, "c", "4", 0);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_memory_equal(ch.item.key, "c", 1);
	assert_int_equal(mcm_stream_next(s, &ch), MCM_END);
	mcm_stream_close(s);
	/* from a position: only what came after it */
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 5, 0, 0, &s), 0);
	follow(s, &c, 100);
	assert_int_equal(c.sets, 1);
	assert_int_equal(c.deletes, 1);
	mcm_stream_close(s);
}

static void test_flush(void **state)
{
	struct unit_env *e = *state;
	struct mcm_stream *s;
	struct mcm_change ch;
	struct mcm_mutation m = unit_mut(MCM_OP_FLUSH, &pool_a, NULL);

	put(e->st, &pool_a, "a", "1", 0);
	put(e->st, &pool_a, "b", "2", 0);
	op(e->st, MCM_OP_FLUSH, NULL);
	put(e->st, &pool_a, "c", "3", 0);
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 0, 0, 0, &s), 0);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_FLUSH);
	assert_int_equal(ch.seq, 2); /* a and b are gone with it: not given */
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_SET);
	assert_memory_equal(ch.item.key, "c", 1);
	assert_int_equal(mcm_stream_next(s, &ch), MCM_END);
	/* a delayed flush: given once, with its time */
	m.exptime = 4000000000LL;
	m.key = m.group = m.value = "";
	unit_apply(e->st, &m);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_FLUSH_AT);
	assert_int_equal(ch.flush_time, 4000000000LL);
	assert_int_equal(mcm_stream_next(s, &ch), MCM_END);
	assert_int_equal(mcm_stream_flush_time(s), 4000000000LL);
	mcm_stream_close(s);
	/* a stream that already gave it does not give it again */
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 4, 4000000000LL, 0, &s), 0);
	assert_int_equal(mcm_stream_next(s, &ch), MCM_END);
	mcm_stream_close(s);
	/* a resync does: its FLUSH cancels the copy's pending delayed flush, which must come again before
	 * the records it will kill */
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 4, 4000000000LL, MCM_STREAM_RESYNC, &s), 0);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_FLUSH);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_FLUSH_AT);
	assert_int_equal(ch.flush_time, 4000000000LL);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_SET);
	assert_memory_equal(ch.item.key, "c", 1);
	assert_int_equal(mcm_stream_next(s, &ch), MCM_END);
	mcm_stream_close(s);
}

/* A copy that came back empty (or fell behind a purge) starts over: FLUSH, the
 * live records only, then the changes after. */
static void test_resync(void **state)
{
	struct unit_env *e = *state;
	struct mcm_stream *s;
	struct copy c = {0};

	put(e->st, &pool_a, "a", "1", 0);
	put(e->st, &pool_a, "b", "2", 0);
	op(e->st, MCM_OP_DELETE, "b");
	op(e->st, MCM_OP_DROP, "a");
	put(e->st, &pool_a, "c", "3", 0);
	slot(&c, "stale-on-copy", 13, 1); /* what an old copy may hold */
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 0, 0, MCM_STREAM_RESYNC, &s), 0);
	follow(s, &c, 100);
	assert_int_equal(c.flushes, 1);
	assert_int_equal(c.sets, 1);
	assert_int_equal(c.deletes, 0); /* nothing to delete in an emptied copy */
	same_as_mirror(e->st, &c);
	op(e->st, MCM_OP_DELETE, "c"); /* after the resync: a delete again */
	follow(s, &c, 100);
	assert_int_equal(c.deletes, 1);
	same_as_mirror(e->st, &c);
	mcm_stream_close(s);
}

/* A damaged record is given as a DELETE, named, never with its bytes. */
static void test_damaged(void **state)
{
	struct unit_env *e = *state;
	struct mcm_stream *s;
	struct mcm_change ch;

	put(e->st, &pool_a, "k", "UNIQUE-STREAM-VALUE-0123456789", 0);
	put(e->st, &pool_a, "ok", "fine", 0);
	mcm_store_close(e->st);
	unit_flip_in_file(e->dir, "UNIQUE-STREAM-VALUE-0123456789");
	assert_int_equal(mcm_store_open(&e->st, e->dir, 0, 0), 0);
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 0, 0, 0, &s), 0);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_DELETE);
	assert_int_equal(ch.damaged, 1);
	assert_memory_equal(ch.item.key, "k", 1);
	assert_int_equal(mcm_stream_next(s, &ch), 0);
	assert_int_equal(ch.kind, MCM_CHANGE_SET);
	assert_memory_equal(ch.item.key, "ok", 2);
	assert_int_equal(mcm_stream_damaged(s), 1);
	mcm_stream_close(s);
}

/* Random writes, flushes and deletes while a follower reads the stream in
 * random bites: at every pause the copy converges to the mirror. The records'
 * snapshot may be newer than the pool record the stream read: a flush it
 * learns of late makes it give the flush and go back to just after it. */
static void test_random_convergence(void **state)
{
	struct unit_env *e = *state;
	struct mcm_stream *s;
	struct copy c = {0};
	char key[16], value[32];
	unsigned seed = 12345;

	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 0, 0, 0, &s), 0);
	for (int round = 0; round < 200; round++) {
		int writes = 1 + (int)(rand_r(&seed) % 60);

		for (int i = 0; i < writes; i++) {
			unsigned r = rand_r(&seed) % 100;

			snprintf(key, sizeof key, "k%u", rand_r(&seed) % 300);
			snprintf(value, sizeof value, "v%d.%d", round, i);
			if (r < 70)
				put(e->st, r < 5 ? &pool_b : &pool_a, key, value, r < 10 ? 1 : 0);
			else if (r < 90)
				op(e->st, MCM_OP_DELETE, key);
			else if (r < 97)
				op(e->st, MCM_OP_DROP, key);
			else
				op(e->st, MCM_OP_FLUSH, NULL);
		}
		follow(s, &c, (int)(rand_r(&seed) % 80));
		if (round % 20 == 19) {
			follow(s, &c, 1 << 30);
			same_as_mirror(e->st, &c);
		}
	}
	follow(s, &c, 1 << 30);
	same_as_mirror(e->st, &c);
	assert_true(c.flushes > 0);
	mcm_stream_close(s);
}

/* More records than the iterator reads in one snapshot (4,096): a flush
 * during the walk is judged with the records of the snapshot that shows it. */
static void test_late_flush(void **state)
{
	struct unit_env *e = *state;
	struct mcm_stream *s;
	struct copy c = {0};
	char key[16];

	static struct copy c2;

	for (int i = 0; i < 6000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		put(e->st, &pool_a, key, "old", 0);
	}
	assert_int_equal(mcm_stream_open(e->st, pool_a.id, 0, 0, 0, &s), 0);
	follow(s, &c2, 10);
	op(e->st, MCM_OP_FLUSH, NULL);
	put(e->st, &pool_a, "after", "new", 0);
	follow(s, &c2, 1 << 30);
	same_as_mirror(e->st, &c2);
	assert_true(slot(&c2, "after", 5, 0) >= 0);
	/* the renewed snapshot that holds it holds the flush too: it comes once,
	 * after the flush (before, it came once before the flush was known, and
	 * the flush then emptied the copy of it) */
	assert_int_equal(c2.sets_of_after, 1);
	assert_int_equal(c2.flushes, 1);
	(void)c;
	mcm_stream_close(s);
}

int main(void)
{
	unit_pool(&pool_a, "127.0.0.1:11211");
	unit_pool(&pool_b, "127.0.0.1:11212");
#define E(f) cmocka_unit_test_setup_teardown(f, unit_env_setup, unit_env_teardown)
	const struct CMUnitTest tests[] = {
		E(test_in_order),
		E(test_flush),
		E(test_resync),
		E(test_damaged),
		E(test_random_convergence),
		E(test_late_flush),
	};
#undef E

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
