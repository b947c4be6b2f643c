/* test_apply.c - the write state machine (store/apply.c) through
 * mcm_store_apply on a temp store, read back with mcm_store_get, the pool
 * records and the seq iterator. Times are simulated with wtime_us. */
#include <stdlib.h>
#include <string.h>

#include "mcm_expiry.h"
#include "mcm_record.h"
#include "unit.h"

#define T0 1800000000LL /* simulated "now" of the writes, Unix seconds (2027) */
#define US(s) ((uint64_t)(s) * 1000000u)

static struct mcm_pool pool_a, pool_b;

static int setup(void **state)
{
	unit_pool(&pool_a, "127.0.0.1:11211");
	unit_pool(&pool_b, "127.0.0.1:11212");
	return unit_env_setup(state);
}

static struct mcm_store *store(void **state)
{
	return ((struct unit_env *)*state)->st;
}

/* A PUT of value (a C string) at time T0 + at. */
static void put(struct mcm_store *st, const struct mcm_pool *p, const char *key, const char *value,
		uint32_t flags, int64_t exptime, int64_t at)
{
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, p, key);

	m.value = value;
	m.value_len = strlen(value);
	m.flags = flags;
	m.exptime = exptime;
	m.wtime_us = US(T0 + at);
	unit_apply(st, &m);
}

static void op(struct mcm_store *st, enum mcm_op o, const struct mcm_pool *p, const char *key, int64_t at)
{
	struct mcm_mutation m = unit_mut(o, p, key);

	m.wtime_us = US(T0 + at);
	unit_apply(st, &m);
}

/* Expect key in pool p to hold a VALUE record with exactly these fields. */
static void check_value(struct mcm_store *st, const struct mcm_pool *p, const char *key, const void *value,
			 size_t len, uint32_t flags, int64_t exptime)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, p, key, &it), 0);
	assert_int_equal(it.kind, MCM_KIND_VALUE);
	assert_int_equal(it.value_len, len);
	assert_memory_equal(it.value, value, len);
	assert_int_equal(it.flags, flags);
	assert_int_equal(it.exptime, exptime);
}

static void check_kind(struct mcm_store *st, const struct mcm_pool *p, const char *key, int kind)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, p, key, &it), 0);
	assert_int_equal(it.kind, kind);
	if (kind != MCM_KIND_VALUE)
		assert_int_equal(it.value_len, 0);
}

static void check_none(struct mcm_store *st, const struct mcm_pool *p, const char *key)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, p, key, &it), MCM_ENOTFOUND);
}

static uint64_t seq_of(struct mcm_store *st, const struct mcm_pool *p, const char *key)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, p, key, &it), 0);
	return it.seq;
}

static void test_put_get(void **state)
{
	static const char bin[6] = {'a', '\0', '\r', '\n', (char)0x80, 'z'};
	struct mcm_store *st = store(state);
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, &pool_a, "ns:key");
	struct mcm_item it;
	struct mcm_pool p;

	m.ns_len = 3;
	m.group_mode = MCM_GROUP_EXPLICIT;
	m.group = "grp";
	m.group_len = 3;
	m.value = bin;
	m.value_len = sizeof bin;
	m.flags = 0xFFFFFFFFu;
	m.exptime = T0 + 60;
	m.wtime_us = US(T0) + 123;
	unit_apply(st, &m);
	assert_int_equal(unit_get(st, &pool_a, "ns:key", &it), 0);
	assert_int_equal(it.kind, MCM_KIND_VALUE);
	assert_true(it.pool == pool_a.id);
	assert_int_equal(it.key_len, 6);
	assert_memory_equal(it.key, "ns:key", 6);
	assert_int_equal(it.ns_len, 3);
	assert_int_equal(it.group_mode, MCM_GROUP_EXPLICIT);
	assert_int_equal(it.group_len, 3);
	assert_memory_equal(it.group, "grp", 3);
	assert_int_equal(it.value_len, 6);
	assert_memory_equal(it.value, bin, 6);
	assert_int_equal(it.flags, 0xFFFFFFFFu);
	assert_int_equal(it.exptime, T0 + 60);
	assert_true(it.wtime_us == US(T0) + 123);
	assert_int_equal(it.seq, 1);
	/* the pool was recorded on first sight */
	assert_int_equal(mcm_store_pool(st, pool_a.id, &p), 0);
	assert_true(p.id == pool_a.id);
	assert_string_equal(p.servers, "127.0.0.1:11211");
	assert_true(p.created_us == US(T0) + 123);
	assert_int_equal(p.flush_seq, 0);
	assert_int_equal(mcm_store_pool(st, pool_b.id, &p), MCM_ENOTFOUND);
	/* the same key in another pool is another record */
	assert_int_equal(unit_get(st, &pool_b, "ns:key", &it), MCM_ENOTFOUND);

	/* an empty value and a NULL value are both the empty string */
	put(st, &pool_a, "empty", "", 1, 0, 0);
	check_value(st, &pool_a, "empty", "", 0, 1, 0);
	m = unit_mut(MCM_OP_PUT, &pool_a, "null");
	unit_apply(st, &m);
	check_value(st, &pool_a, "null", "", 0, 0, 0);
	/* a key no server accepts is refused, and nothing of it is stored */
	m = unit_mut(MCM_OP_PUT, &pool_a, "");
	assert_int_equal(mcm_store_apply(st, &m, 1), MCM_EINVALID);
}

static void test_append_prepend(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation m;

	put(st, &pool_a, "k", "mid", 5, T0 + 1000, 0);
	m = unit_mut(MCM_OP_APPEND, &pool_a, "k");
	m.value = "end";
	m.value_len = 3;
	m.flags = 9;       /* ignored: the server keeps the old flags */
	m.exptime = T0 + 5; /* and the old exptime */
	m.wtime_us = US(T0 + 1);
	unit_apply(st, &m);
	check_value(st, &pool_a, "k", "midend", 6, 5, T0 + 1000);
	m.op = MCM_OP_PREPEND;
	m.value = "pre";
	unit_apply(st, &m);
	check_value(st, &pool_a, "k", "premidend", 9, 5, T0 + 1000);
	assert_int_equal(seq_of(st, &pool_a, "k"), 3);

	/* nothing mirrored: nothing to extend, nothing written */
	m = unit_mut(MCM_OP_APPEND, &pool_a, "missing");
	m.value = "x";
	m.value_len = 1;
	unit_apply(st, &m);
	check_none(st, &pool_a, "missing");

	/* an expired record cannot be extended: the key is dropped */
	put(st, &pool_a, "old", "v", 0, T0 + 10, 0);
	m = unit_mut(MCM_OP_PREPEND, &pool_a, "old");
	m.value = "x";
	m.value_len = 1;
	m.wtime_us = US(T0 + 10);
	unit_apply(st, &m);
	check_kind(st, &pool_a, "old", MCM_KIND_DROPPED);

	/* a tombstone is not rewritten by the drop (docs/FORMAT.md 1.3): it stays DELETED */
	put(st, &pool_a, "del", "v", 0, 0, 0);
	op(st, MCM_OP_DELETE, &pool_a, "del", 1);
	m = unit_mut(MCM_OP_APPEND, &pool_a, "del");
	m.value = "x";
	m.value_len = 1;
	m.wtime_us = US(T0 + 2);
	unit_apply(st, &m);
	check_kind(st, &pool_a, "del", MCM_KIND_DELETED);
	assert_int_equal(seq_of(st, &pool_a, "del"), 7);
}

static void test_delta_initial(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation m = unit_mut(MCM_OP_DELTA, &pool_a, "c");

	/* result == initial: created, or an unmirrored 37 incremented? Unknown: nothing written */
	m.incr = 1;
	m.delta = 5;
	m.with_initial = 1;
	m.initial = 42;
	m.result = 42;
	m.exptime = T0 + 300;
	m.wtime_us = US(T0);
	unit_apply(st, &m);
	check_none(st, &pool_a, "c");

	/* a mirrored 37 + 5 == 42 == initial: still ambiguous (evicted and created anew,
	 * flags 0, or incremented, flags kept): dropped */
	put(st, &pool_a, "c", "37", 7, 0, 0);
	unit_apply(st, &m);
	check_kind(st, &pool_a, "c", MCM_KIND_DROPPED);

	/* result != initial proves an increment: consistent with the mirror, flags and exptime kept */
	put(st, &pool_a, "d", "40", 7, T0 + 100, 0);
	m = unit_mut(MCM_OP_DELTA, &pool_a, "d");
	m.incr = 1;
	m.delta = 5;
	m.with_initial = 1;
	m.initial = 42;
	m.result = 45;
	m.wtime_us = US(T0 + 1);
	unit_apply(st, &m);
	check_value(st, &pool_a, "d", "45", 2, 7, T0 + 100);

	/* over an expired record, a result that is not the initial value: dropped */
	put(st, &pool_a, "e", "9", 77, T0 + 5, 0);
	m = unit_mut(MCM_OP_DELTA, &pool_a, "e");
	m.incr = 0;
	m.delta = 1;
	m.with_initial = 1;
	m.initial = 3;
	m.result = 100;
	m.wtime_us = US(T0 + 6);
	unit_apply(st, &m);
	check_kind(st, &pool_a, "e", MCM_KIND_DROPPED);
}

static void test_touch(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, &pool_a, "t");
	struct mcm_item it;

	m.value = "val";
	m.value_len = 3;
	m.flags = 4;
	m.exptime = T0 + 100;
	m.group_mode = MCM_GROUP_EXPLICIT;
	m.group = "g";
	m.group_len = 1;
	m.wtime_us = US(T0);
	unit_apply(st, &m);
	m = unit_mut(MCM_OP_TOUCH, &pool_a, "t");
	m.exptime = T0 + 900;
	m.wtime_us = US(T0 + 50);
	unit_apply(st, &m);
	check_value(st, &pool_a, "t", "val", 3, 4, T0 + 900);
	assert_int_equal(unit_get(st, &pool_a, "t", &it), 0);
	assert_int_equal(it.group_mode, MCM_GROUP_EXPLICIT);
	assert_memory_equal(it.group, "g", 1);
	assert_int_equal(it.seq, 2);
	assert_true(it.wtime_us == US(T0 + 50));

	/* touch to "never" */
	m.exptime = 0;
	unit_apply(st, &m);
	check_value(st, &pool_a, "t", "val", 3, 4, 0);

	/* a missing key: nothing */
	m = unit_mut(MCM_OP_TOUCH, &pool_a, "nokey");
	m.exptime = T0 + 900;
	unit_apply(st, &m);
	check_none(st, &pool_a, "nokey");

	/* an already-passed expiry (ASCII touch -1): the key is gone */
	m = unit_mut(MCM_OP_TOUCH, &pool_a, "t");
	m.exptime = MCM_EXPIRED_AT_ONCE;
	m.wtime_us = US(T0 + 60);
	unit_apply(st, &m);
	check_kind(st, &pool_a, "t", MCM_KIND_DELETED);

	/* an expired record is not revived by touch */
	put(st, &pool_a, "x", "v", 0, T0 + 10, 0);
	m = unit_mut(MCM_OP_TOUCH, &pool_a, "x");
	m.exptime = T0 + 1000;
	m.wtime_us = US(T0 + 20);
	unit_apply(st, &m);
	assert_int_equal(unit_get(st, &pool_a, "x", &it), 0);
	assert_int_equal(it.exptime, T0 + 10);
	assert_false(mcm_item_is_live(&it, NULL, T0 + 20));
}

static void test_delete_drop(void **state)
{
	struct mcm_store *st = store(state);
	uint64_t s;

	put(st, &pool_a, "d", "v", 1, 0, 0);
	op(st, MCM_OP_DELETE, &pool_a, "d", 1);
	check_kind(st, &pool_a, "d", MCM_KIND_DELETED);
	s = seq_of(st, &pool_a, "d");
	op(st, MCM_OP_DELETE, &pool_a, "d", 2);
	check_kind(st, &pool_a, "d", MCM_KIND_DELETED);
	assert_int_equal(seq_of(st, &pool_a, "d"), s + 1);
	/* a key never seen: no tombstone */
	op(st, MCM_OP_DELETE, &pool_a, "never", 1);
	check_none(st, &pool_a, "never");

	put(st, &pool_a, "p", "v", 1, 0, 0);
	op(st, MCM_OP_DROP, &pool_a, "p", 1);
	check_kind(st, &pool_a, "p", MCM_KIND_DROPPED);
	s = seq_of(st, &pool_a, "p");
	/* dropping a dropped key changes nothing */
	op(st, MCM_OP_DROP, &pool_a, "p", 2);
	assert_int_equal(seq_of(st, &pool_a, "p"), s);
	op(st, MCM_OP_DROP, &pool_a, "never", 1);
	check_none(st, &pool_a, "never");
	/* a tombstone is not rewritten by a drop (docs/FORMAT.md 1.3) */
	s = seq_of(st, &pool_a, "d");
	op(st, MCM_OP_DROP, &pool_a, "d", 3);
	check_kind(st, &pool_a, "d", MCM_KIND_DELETED);
	assert_int_equal(seq_of(st, &pool_a, "d"), s);
	/* a PUT revives any kind */
	put(st, &pool_a, "d", "new", 2, 0, 4);
	check_value(st, &pool_a, "d", "new", 3, 2, 0);
}

static void test_encrypted(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_pool p;

	put(st, &pool_a, "e", "v", 0, 0, 0);
	put(st, &pool_b, "e", "v", 0, 0, 0);
	op(st, MCM_OP_ENCRYPTED, &pool_a, "e", 1);
	check_kind(st, &pool_a, "e", MCM_KIND_DROPPED);
	check_value(st, &pool_b, "e", "v", 1, 0, 0);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &p), 0);
	assert_int_equal(p.encrypted, 1);
	assert_int_equal(mcm_store_pool(st, pool_b.id, &p), 0);
	assert_int_equal(p.encrypted, 0);
	/* a key never seen: the pool is still marked, no record */
	op(st, MCM_OP_ENCRYPTED, &pool_b, "other", 2);
	check_none(st, &pool_b, "other");
	assert_int_equal(mcm_store_pool(st, pool_b.id, &p), 0);
	assert_int_equal(p.encrypted, 1);
}

static int live(struct mcm_store *st, const struct mcm_pool *p, const char *key, int64_t now)
{
	struct mcm_item it;
	struct mcm_pool rec;

	assert_int_equal(unit_get(st, p, key, &it), 0);
	assert_int_equal(mcm_store_pool(st, p->id, &rec), 0);
	return mcm_item_is_live(&it, &rec, now);
}

static void test_flush_now(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation batch[3];
	struct mcm_pool rec;

	put(st, &pool_a, "a1", "v", 0, 0, 0);
	put(st, &pool_b, "b1", "v", 0, 0, 0);
	put(st, &pool_a, "a2", "v", 0, 0, 0);
	op(st, MCM_OP_FLUSH, &pool_a, NULL, 1);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &rec), 0);
	assert_int_equal(rec.flush_seq, 3);
	assert_int_equal(rec.flush_time, 0);
	put(st, &pool_a, "a3", "v", 0, 0, 2);
	assert_false(live(st, &pool_a, "a1", T0 + 3));
	assert_false(live(st, &pool_a, "a2", T0 + 3));
	assert_true(live(st, &pool_a, "a3", T0 + 3));
	assert_true(live(st, &pool_b, "b1", T0 + 3));
	/* the records themselves stay values: the pool says they were flushed */
	check_kind(st, &pool_a, "a1", MCM_KIND_VALUE);
	/* an append after the flush finds nothing live */
	{
		struct mcm_mutation m = unit_mut(MCM_OP_APPEND, &pool_a, "a1");

		m.value = "x";
		m.value_len = 1;
		m.wtime_us = US(T0 + 3);
		unit_apply(st, &m);
		check_kind(st, &pool_a, "a1", MCM_KIND_DROPPED);
	}

	/* within one batch: before the flush dead, after it live */
	batch[0] = unit_mut(MCM_OP_PUT, &pool_a, "a4");
	batch[1] = unit_mut(MCM_OP_FLUSH, &pool_a, NULL);
	batch[2] = unit_mut(MCM_OP_PUT, &pool_a, "a5");
	batch[0].wtime_us = batch[1].wtime_us = batch[2].wtime_us = US(T0 + 4);
	assert_int_equal(mcm_store_apply(st, batch, 3), 0);
	assert_false(live(st, &pool_a, "a4", T0 + 5));
	assert_true(live(st, &pool_a, "a5", T0 + 5));
	assert_false(live(st, &pool_a, "a3", T0 + 5));
	assert_true(live(st, &pool_b, "b1", T0 + 5));
}

/* flush_all through a pool reaches every server of it: a pool sharing one of
 * them lost its items there too; pools on other servers keep theirs. */
static void test_flush_shared_server(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_pool both, other;

	unit_pool(&both, "127.0.0.1:11211,127.0.0.1:11212");
	unit_pool(&other, "127.0.0.1:11213");
	put(st, &pool_a, "a", "v", 0, 0, 0);
	put(st, &pool_b, "b", "v", 0, 0, 0);
	put(st, &both, "ab", "v", 0, 0, 0);
	put(st, &other, "c", "v", 0, 0, 0);
	op(st, MCM_OP_FLUSH, &pool_b, NULL, 1); /* 11212 only */
	assert_true(live(st, &pool_a, "a", T0 + 2));
	assert_false(live(st, &pool_b, "b", T0 + 2));
	assert_false(live(st, &both, "ab", T0 + 2));
	assert_true(live(st, &other, "c", T0 + 2));
	op(st, MCM_OP_FLUSH, &both, NULL, 3); /* 11211 and 11212 */
	assert_false(live(st, &pool_a, "a", T0 + 4));
	assert_true(live(st, &other, "c", T0 + 4));
}

static void test_flush_delayed(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_mutation m;
	struct mcm_pool rec;

	put(st, &pool_a, "x", "v", 0, 0, 0);
	put(st, &pool_b, "bx", "v", 0, 0, 0);
	m = unit_mut(MCM_OP_FLUSH, &pool_a, NULL);
	m.exptime = T0 + 100;
	m.wtime_us = US(T0 + 1);
	unit_apply(st, &m);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &rec), 0);
	assert_int_equal(rec.flush_time, T0 + 100);
	assert_int_equal(rec.flush_seq, 0);
	put(st, &pool_a, "y", "v", 0, 0, 50);  /* after the call, before the time */
	put(st, &pool_a, "z", "v", 0, 0, 150); /* after the time */
	/* before the flush time everything is there */
	assert_true(live(st, &pool_a, "x", T0 + 10));
	assert_true(live(st, &pool_a, "y", T0 + 60));
	/* once it passes, everything written at or before it is gone */
	assert_false(live(st, &pool_a, "x", T0 + 200));
	assert_false(live(st, &pool_a, "y", T0 + 200));
	assert_true(live(st, &pool_a, "z", T0 + 200));
	assert_true(live(st, &pool_b, "bx", T0 + 200));

	/* an immediate flush replaces the pending delayed one */
	m.exptime = 0;
	m.wtime_us = US(T0 + 160);
	unit_apply(st, &m);
	assert_int_equal(mcm_store_pool(st, pool_a.id, &rec), 0);
	assert_int_equal(rec.flush_time, 0);
	assert_false(live(st, &pool_a, "z", T0 + 200));
}

static void test_pools_apart(void **state)
{
	struct mcm_store *st = store(state);
	struct mcm_pool *pools;
	size_t n;

	put(st, &pool_a, "same", "in a", 1, 0, 0);
	put(st, &pool_b, "same", "in b", 2, 0, 0);
	check_value(st, &pool_a, "same", "in a", 4, 1, 0);
	check_value(st, &pool_b, "same", "in b", 4, 2, 0);
	op(st, MCM_OP_DELETE, &pool_a, "same", 1);
	check_kind(st, &pool_a, "same", MCM_KIND_DELETED);
	check_value(st, &pool_b, "same", "in b", 4, 2, 0);
	assert_int_equal(mcm_store_pools(st, &pools, &n), 0);
	assert_int_equal(n, 2);
	assert_true((pools[0].id == pool_a.id && pools[1].id == pool_b.id) ||
		    (pools[0].id == pool_b.id && pools[1].id == pool_a.id));
	free(pools);
}

/* Every write takes the next seq; the seq index lists each key once, oldest first. */
static void test_seq_index(void **state)
{
	static const char *const order[] = {"a", "b", "d", "c"};
	static const uint64_t seqs[] = {5, 6, 7, 8};
	struct mcm_store *st = store(state);
	struct mcm_store_info info;
	struct mcm_mutation m;
	struct mcm_iter *it;
	struct mcm_item item;
	size_t i = 0;

	put(st, &pool_a, "c", "1", 0, 0, 0);                /* seq 1 */
	put(st, &pool_a, "a", "1", 0, 0, 0);                /* 2 */
	put(st, &pool_a, "b", "1", 0, T0 + 100, 0);         /* 3 */
	put(st, &pool_a, "c", "2", 0, 0, 0);                /* 4, c leaves 1 */
	op(st, MCM_OP_DELETE, &pool_a, "a", 1);             /* 5, a leaves 2 */
	m = unit_mut(MCM_OP_TOUCH, &pool_a, "b");           /* 6, b leaves 3 */
	m.exptime = T0 + 200;
	m.wtime_us = US(T0 + 1);
	unit_apply(st, &m);
	op(st, MCM_OP_DROP, &pool_a, "zz", 1);              /* no record, no seq */
	put(st, &pool_a, "d", "1", 0, 0, 1);                /* 7 */
	m = unit_mut(MCM_OP_APPEND, &pool_a, "c");          /* 8, c leaves 4 */
	m.value = "x";
	m.value_len = 1;
	m.wtime_us = US(T0 + 1);
	unit_apply(st, &m);

	assert_int_equal(mcm_iter_open(st, MCM_ORDER_SEQ, 0, &it), 0);
	while (mcm_iter_next(it, &item) == 0) {
		assert_true(i < 4);
		assert_int_equal(item.key_len, 1);
		assert_memory_equal(item.key, order[i], 1);
		assert_int_equal(item.seq, seqs[i]);
		i++;
	}
	mcm_iter_close(it);
	assert_int_equal(i, 4);
	assert_int_equal(mcm_store_info(st, &info), 0);
	assert_int_equal(info.last_seq, 8);
	assert_int_equal(info.entries, 4);
	assert_int_equal(info.format_version, MCM_FORMAT_VERSION);

	/* one batch of several writes takes consecutive numbers; the first set of e in pool a,
	 * which the third makes moot (store/coalesce.c), takes none */
	{
		struct mcm_mutation b[3] = {unit_mut(MCM_OP_PUT, &pool_a, "e"), unit_mut(MCM_OP_PUT, &pool_b, "e"),
					    unit_mut(MCM_OP_PUT, &pool_a, "e")};

		assert_int_equal(mcm_store_apply(st, b, 3), 0);
		assert_int_equal(seq_of(st, &pool_b, "e"), 9);
		assert_int_equal(seq_of(st, &pool_a, "e"), 10);
		assert_int_equal(mcm_store_info(st, &info), 0);
		assert_int_equal(info.last_seq, 10);
		assert_int_equal(info.entries, 6);
		assert_int_equal(info.seq_entries, 6);
	}
}

static void test_is_live(void **state)
{
	struct mcm_item it;
	struct mcm_pool p;
	const int64_t now = T0;

	(void)state;
	memset(&it, 0, sizeof it);
	memset(&p, 0, sizeof p);
	it.kind = MCM_KIND_VALUE;
	it.seq = 10;
	it.wtime_us = US(T0 - 50);
	assert_true(mcm_item_is_live(&it, NULL, now));
	assert_true(mcm_item_is_live(&it, &p, now));
	it.kind = MCM_KIND_DELETED;
	assert_false(mcm_item_is_live(&it, NULL, now));
	it.kind = MCM_KIND_DROPPED;
	assert_false(mcm_item_is_live(&it, NULL, now));
	it.kind = MCM_KIND_VALUE;

	/* expiry: gone at the second itself */
	it.exptime = now + 1;
	assert_true(mcm_item_is_live(&it, NULL, now));
	it.exptime = now;
	assert_false(mcm_item_is_live(&it, NULL, now));
	it.exptime = MCM_EXPIRED_AT_ONCE;
	assert_false(mcm_item_is_live(&it, &p, now));
	it.exptime = 0;

	/* immediate flush: seq <= flush_seq is gone */
	p.flush_seq = 10;
	assert_false(mcm_item_is_live(&it, &p, now));
	assert_true(mcm_item_is_live(&it, NULL, now)); /* unknown pool: only kind and expiry */
	p.flush_seq = 9;
	assert_true(mcm_item_is_live(&it, &p, now));
	p.flush_seq = 0;

	/* delayed flush at T0 - 10 of an item written at T0 - 50 */
	p.flush_time = T0 - 10;
	assert_false(mcm_item_is_live(&it, &p, now));
	assert_true(mcm_item_is_live(&it, &p, T0 - 60)); /* long before the flush time */
	/* written after the flush time: live */
	it.wtime_us = US(T0 - 5);
	assert_true(mcm_item_is_live(&it, &p, now));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, unit_env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_put_get),
		T(test_append_prepend),
		T(test_delta_initial),
		T(test_touch),
		T(test_delete_drop),
		T(test_encrypted),
		T(test_flush_now),
		T(test_flush_shared_server),
		T(test_flush_delayed),
		T(test_pools_apart),
		T(test_seq_index),
		cmocka_unit_test(test_is_live),
	};
#undef T

	return cmocka_run_group_tests_name("apply", tests, NULL, NULL);
}
