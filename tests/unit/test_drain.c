/* test_drain.c - applying the journal: order, overlapping writes, dead writers, a drainer that dies,
 * a refused rebuild of the index reported in time. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_record.h"
#include "store_internal.h"
#include "unit.h"

struct env {
	char dir[PATH_MAX];
	struct mcm_store *st;
	struct mcm_journal *j;
	struct mcm_drain *d;
	struct mcm_pool pool;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);

	unit_tmpdir(e->dir);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0), 0);
	assert_int_equal(mcm_journal_open(&e->j, e->dir, 1 << 20, 1), 0);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	unit_pool(&e->pool, "127.0.0.1:11211");
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	mcm_drain_close(e->d);
	mcm_journal_close(e->j);
	mcm_store_close(e->st);
	unit_rmtree(e->dir);
	free(e);
	return 0;
}

static void add_pool(struct env *e)
{
	unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	struct iovec iov[2] = {{&e->pool.id, 8}, {buf, mcm_pool_size(&e->pool)}};
	uint64_t end;

	mcm_pool_encode(&e->pool, buf);
	assert_int_equal(mcm_journal_append(e->j, MCM_J_POOL, 0, iov, 2, 0, &end), 0);
}

static void intent(struct env *e, uint64_t id, const char *key)
{
	struct mcm_jintent h = {.pool = e->pool.id, .wtime_us = mcm_now_us(), .key_len = (uint32_t)strlen(key)};
	struct iovec iov[2] = {{&h, sizeof h}, {(void *)key, strlen(key)}};
	uint64_t end;

	assert_int_equal(mcm_journal_append(e->j, MCM_J_INTENT, id, iov, 2, 0, &end), 0);
}

static struct mcm_joutcome raw_header(struct env *e, enum mcm_op op, const char *key, const char *value)
{
	struct mcm_joutcome h;

	memset(&h, 0, sizeof h);
	h.pool = e->pool.id;
	h.wtime_us = mcm_now_us();
	h.key_len = (uint16_t)strlen(key);
	h.value_len = (uint32_t)strlen(value);
	h.op = (uint8_t)op;
	return h;
}

static void outcome(struct env *e, uint64_t id, enum mcm_op op, const char *key, const char *value)
{
	struct mcm_joutcome h = raw_header(e, op, key, value);
	struct iovec iov[3] = {{&h, sizeof h}, {(void *)key, strlen(key)}, {(void *)value, strlen(value)}};
	uint64_t end;

	assert_int_equal(mcm_journal_append(e->j, MCM_J_OUTCOME, id, iov, 3, 0, &end), 0);
}

/* A whole write: intent, then outcome. */
static void write_key(struct env *e, uint64_t id, enum mcm_op op, const char *key, const char *value)
{
	intent(e, id, key);
	outcome(e, id, op, key, value);
}

/* One record a write (MCM_J_WRITE): appended pending, as the shim does before the call. */
static struct mcm_jticket write_rec(struct env *e, uint64_t id, enum mcm_op op, const char *key, const char *value)
{
	struct mcm_joutcome h = raw_header(e, op, key, value);
	struct iovec iov[3] = {{&h, sizeof h}, {(void *)key, strlen(key)}, {(void *)value, strlen(value)}};
	struct mcm_jticket t;

	assert_int_equal(mcm_journal_append_write(e->j, id, iov, 3, 0, &t), 0);
	return t;
}

/* Drain everything there is; returns the records consumed. */
static size_t drain_all(struct env *e)
{
	size_t n, total = 0;

	do {
		assert_int_equal(mcm_drain_step(e->d, 1024, &n), 0);
		total += n;
	} while (n > 0);
	return total;
}

/* key holds value (NULL: absent or not live); kind is its record kind, 0 when none. */
static void expect(struct env *e, const char *key, const char *value, int kind)
{
	struct mcm_item item;
	int rc = unit_get(e->st, &e->pool, key, &item);

	if (kind == 0) {
		assert_int_equal(rc, MCM_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(item.kind, kind);
	if (value) {
		assert_int_equal(item.value_len, strlen(value));
		assert_memory_equal(item.value, value, item.value_len);
	}
}

static void test_in_order(void **state)
{
	struct env *e = *state;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "a", "1");
	write_key(e, 2, MCM_OP_PUT, "b", "2");
	write_key(e, 3, MCM_OP_PUT, "a", "3");
	write_key(e, 4, MCM_OP_DELETE, "b", "");
	write_key(e, 5, MCM_OP_NONE, "c", ""); /* changed nothing on the server */
	assert_int_equal(drain_all(e), 11);
	expect(e, "a", "3", MCM_KIND_VALUE);
	expect(e, "b", NULL, MCM_KIND_DELETED);
	expect(e, "c", NULL, 0);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
	assert_int_equal(mcm_drain_position(e->d), mcm_journal_tail(e->j));
	assert_int_equal(mcm_journal_head(e->j), mcm_journal_tail(e->j));
}

static void test_overlap_drops(void **state)
{
	struct env *e = *state;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "k", "old");
	write_key(e, 9, MCM_OP_PUT, "other", "x");
	intent(e, 2, "k");
	intent(e, 3, "k"); /* opened while 2 is open: the server's order is unknown */
	intent(e, 4, "other");
	outcome(e, 2, MCM_OP_PUT, "k", "two");
	outcome(e, 4, MCM_OP_PUT, "other", "y"); /* another key: not concerned */
	outcome(e, 3, MCM_OP_PUT, "k", "three");
	drain_all(e);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
	expect(e, "other", "y", MCM_KIND_VALUE);
	/* a later write that overlaps nothing is applied again */
	write_key(e, 5, MCM_OP_PUT, "k", "five");
	drain_all(e);
	expect(e, "k", "five", MCM_KIND_VALUE);
}

/* The overlap is known even when the two intents are applied by different drainers. */
static void test_overlap_across_drainers(void **state)
{
	struct env *e = *state;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "k", "old");
	intent(e, 2, "k");
	drain_all(e);
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	mcm_drain_close(e->d); /* the drainer goes away; another opens */
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	intent(e, 3, "k");
	outcome(e, 3, MCM_OP_PUT, "k", "three");
	outcome(e, 2, MCM_OP_PUT, "k", "two");
	drain_all(e);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
}

/* A pid that is certainly gone: a child that has exited and been reaped. */
static uint64_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return (uint64_t)pid;
}

static void test_dead_writer_drops(void **state)
{
	struct env *e = *state;
	struct mcm_jheader *h;
	uint64_t dead = dead_pid() << 32, alive = (uint64_t)getpid() << 32;

	add_pool(e);
	write_key(e, alive | 1, MCM_OP_PUT, "k", "old");
	write_key(e, alive | 2, MCM_OP_PUT, "mine", "v");
	intent(e, dead | 1, "k");       /* its writer died before the outcome */
	mcm_journal_writing(e->j, 1);   /* (as an always-writer does before its intent) */
	intent(e, alive | 3, "mine");   /* still in flight, writer alive */
	mcm_journal_writing(e->j, 1);
	drain_all(e);
	expect(e, "k", "old", MCM_KIND_VALUE);
	assert_int_equal(mcm_drain_open_intents(e->d), 2);
	assert_int_equal(mcm_drain_reap(e->d, 60), 0);
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	h = unit_jheader_map(e->dir); /* the dead writer's count was taken back, the live one's not */
	assert_int_equal(h->writing, 1);
	unit_jheader_unmap(h);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
	expect(e, "mine", "v", MCM_KIND_VALUE);
	/* the reaped intent's outcome, should it come after all, changes nothing known */
	outcome(e, dead | 1, MCM_OP_PUT, "k", "late");
	drain_all(e);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
	/* an intent open longer than max_age is given up too */
	assert_int_equal(mcm_drain_reap(e->d, 0), 0);
	expect(e, "mine", NULL, MCM_KIND_DROPPED);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
}

/* More dead intents than one step holds: every key is dropped. */
static void test_many_dead_writers(void **state)
{
	struct env *e = *state;
	uint64_t dead = dead_pid() << 32;
	char key[32];

	add_pool(e);
	for (int i = 0; i < 1500; i++) {
		snprintf(key, sizeof key, "k%d", i);
		write_key(e, (uint64_t)getpid() << 32 | (uint64_t)(i + 1), MCM_OP_PUT, key, "v");
		intent(e, dead | (uint64_t)(i + 1), key);
		if (i % 300 == 299)
			drain_all(e); /* keep within the 1 MB journal */
	}
	drain_all(e);
	assert_int_equal(mcm_drain_open_intents(e->d), 1500);
	assert_int_equal(mcm_drain_reap(e->d, 60), 0);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
	for (int i = 0; i < 1500; i++) {
		snprintf(key, sizeof key, "k%d", i);
		expect(e, key, NULL, MCM_KIND_DROPPED);
	}
}

/* A drainer that dies after its commit, before it moved the journal's head:
 * the next one starts from the position saved with the commit, and an
 * APPEND is not applied twice. */
/* A flush whose writer died mid-call may have reached the servers: the mirror forgets the pool. */
static void test_dead_flush(void **state)
{
	struct env *e = *state;
	uint64_t dead = dead_pid() << 32, alive = (uint64_t)getpid() << 32;
	struct mcm_pool p;
	struct mcm_item item;

	add_pool(e);
	write_key(e, alive | 1, MCM_OP_PUT, "k", "v");
	intent(e, dead | 1, ""); /* a flush: no key */
	drain_all(e);
	assert_int_equal(mcm_store_pool(e->st, e->pool.id, &p), 0);
	assert_int_equal(unit_get(e->st, &e->pool, "k", &item), 0);
	assert_true(mcm_item_is_live(&item, &p, time(NULL)));
	assert_int_equal(mcm_drain_reap(e->d, 60), 0);
	assert_int_equal(mcm_store_pool(e->st, e->pool.id, &p), 0);
	assert_int_equal(unit_get(e->st, &e->pool, "k", &item), 0);
	assert_false(mcm_item_is_live(&item, &p, time(NULL)));
}

/* With every intent slot taken, a new intent is not tracked, but the write it
 * overlaps on its key must still be dropped. */
static void test_overflow_still_taints(void **state)
{
	struct env *e = *state;
	uint64_t alive = (uint64_t)getpid() << 32;
	char key[32];

	add_pool(e);
	intent(e, alive | 1, "s");
	for (unsigned i = 2; i <= 4096; i++) { /* fills the 4096 slots */
		snprintf(key, sizeof key, "f%u", i);
		intent(e, alive | i, key);
	}
	intent(e, alive | 5000, "s"); /* untracked */
	outcome(e, alive | 1, MCM_OP_PUT, "s", "first");
	drain_all(e);
	expect(e, "s", NULL, 0); /* dropped, and no record existed: none written */
	outcome(e, alive | 5000, MCM_OP_PUT, "s", "second");
	drain_all(e);
	expect(e, "s", NULL, 0);
}

/* One record a write, resolved: applied as its outcome; one still pending when
 * the drainer reaches it is taken over (an intent), and its writer's
 * resolution then fails: the outcome it appends instead is applied. */
static void test_one_record(void **state)
{
	struct env *e = *state;
	struct mcm_jticket t;

	assert_true(mcm_journal_features(e->j) & MCM_JFEAT_WRITE); /* a drainer of format 4 opened it */
	add_pool(e);
	t = write_rec(e, 1, MCM_OP_PUT, "a", "1");
	assert_int_equal(mcm_journal_resolve(e->j, &t), 0);
	assert_int_equal(mcm_journal_resolve(e->j, &t), EALREADY); /* (once) */
	t = write_rec(e, 2, MCM_OP_PUT, "b", "2");
	assert_int_equal(drain_all(e), 5); /* (a write record counts as two) */
	expect(e, "a", "1", MCM_KIND_VALUE);
	expect(e, "b", NULL, 0); /* in flight: not applied */
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	assert_int_equal(mcm_journal_resolve(e->j, &t), EALREADY);
	outcome(e, 2, MCM_OP_PUT, "b", "two"); /* what the call did (a writer whose resolution failed) */
	drain_all(e);
	expect(e, "b", "two", MCM_KIND_VALUE);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
	/* a call that did something else: its writer leaves the record pending and appends the outcome */
	write_rec(e, 3, MCM_OP_PUT, "a", "3");
	outcome(e, 3, MCM_OP_DELETE, "a", "");
	drain_all(e);
	expect(e, "a", NULL, MCM_KIND_DELETED);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
	/* a ticket whose CRC is not the record's (the place reused since) resolves nothing */
	t = write_rec(e, 4, MCM_OP_PUT, "c", "4");
	t.crc ^= 1;
	assert_int_equal(mcm_journal_resolve(e->j, &t), EALREADY);
	t.crc ^= 1;
	assert_int_equal(mcm_journal_resolve(e->j, &t), 0);
	drain_all(e);
	expect(e, "c", "4", MCM_KIND_VALUE);
}

/* Writes to one key whose calls overlapped (the second appended before the
 * first resolved) are dropped, whatever records they are; a write appended
 * after a resolution does not overlap it. */
static void test_one_record_overlap(void **state)
{
	struct env *e = *state;
	struct mcm_jticket t1, t2;

	add_pool(e);
	/* two one-record writes */
	t1 = write_rec(e, 1, MCM_OP_PUT, "k", "1");
	t2 = write_rec(e, 2, MCM_OP_PUT, "k", "2");
	assert_int_equal(mcm_journal_resolve(e->j, &t1), 0);
	assert_int_equal(mcm_journal_resolve(e->j, &t2), 0);
	drain_all(e);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
	/* in sequence: both applied, in order */
	t1 = write_rec(e, 3, MCM_OP_PUT, "k", "3");
	assert_int_equal(mcm_journal_resolve(e->j, &t1), 0);
	t2 = write_rec(e, 4, MCM_OP_PUT, "k", "4");
	assert_int_equal(mcm_journal_resolve(e->j, &t2), 0);
	drain_all(e);
	expect(e, "k", "4", MCM_KIND_VALUE);
	/* an intent and its outcome inside a resolved write's window */
	t1 = write_rec(e, 5, MCM_OP_PUT, "k", "5");
	write_key(e, 6, MCM_OP_PUT, "k", "6");
	assert_int_equal(mcm_journal_resolve(e->j, &t1), 0);
	drain_all(e);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
	/* a resolved write inside an intent's: the intent opened first */
	write_key(e, 7, MCM_OP_PUT, "k", "7");
	intent(e, 8, "k");
	t1 = write_rec(e, 9, MCM_OP_PUT, "k", "9");
	assert_int_equal(mcm_journal_resolve(e->j, &t1), 0);
	outcome(e, 8, MCM_OP_PUT, "k", "8");
	drain_all(e);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
	/* other keys in the window change nothing; and once the drainer is past
	 * the window, a write on the key is applied */
	t1 = write_rec(e, 10, MCM_OP_PUT, "k", "10");
	write_key(e, 11, MCM_OP_PUT, "other", "x");
	assert_int_equal(mcm_journal_resolve(e->j, &t1), 0);
	t2 = write_rec(e, 12, MCM_OP_PUT, "k", "12");
	assert_int_equal(mcm_journal_resolve(e->j, &t2), 0);
	drain_all(e);
	expect(e, "k", "12", MCM_KIND_VALUE);
	expect(e, "other", "x", MCM_KIND_VALUE);
	/* a flush of the pool in the window covers the key */
	t1 = write_rec(e, 13, MCM_OP_PUT, "k", "13");
	intent(e, 14, "");
	assert_int_equal(mcm_journal_resolve(e->j, &t1), 0);
	drain_all(e);
	expect(e, "k", NULL, MCM_KIND_DROPPED);
	outcome(e, 14, MCM_OP_NONE, "", "");
	drain_all(e);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
}

/* A resolved write's window that a step ends inside, and a drainer that
 * stops there: the next step, or the next drainer, still drops the key. */
static void test_one_record_window_across_steps(void **state)
{
	struct env *e = *state;
	struct mcm_jticket t1, t2;
	size_t n;

	add_pool(e);
	drain_all(e);
	for (int reopen = 0; reopen < 2; reopen++) {
		write_key(e, 100 + reopen, MCM_OP_PUT, "k", "old");
		drain_all(e);
		t1 = write_rec(e, 1 + 10 * reopen, MCM_OP_PUT, "k", "1");
		t2 = write_rec(e, 2 + 10 * reopen, MCM_OP_PUT, "k", "2");
		assert_int_equal(mcm_journal_resolve(e->j, &t1), 0);
		assert_int_equal(mcm_journal_resolve(e->j, &t2), 0);
		assert_int_equal(mcm_drain_step(e->d, 1, &n), 0); /* the first write only */
		assert_int_equal(n, 2);
		expect(e, "k", "1", MCM_KIND_VALUE);
		assert_int_equal(mcm_drain_open_intents(e->d), 0); /* (an applied write is no intent) */
		if (reopen) {
			mcm_drain_close(e->d);
			assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
		}
		drain_all(e);
		expect(e, "k", NULL, MCM_KIND_DROPPED);
	}
}

/* No room left to follow a resolved write's window (4,096 intents open): every
 * write read in the window is dropped, of any key, even by the next drainer. */
static void test_one_record_no_room(void **state)
{
	struct env *e = *state;
	uint64_t alive = (uint64_t)getpid() << 32;
	struct mcm_jticket t, t2;
	char key[32];
	size_t n;

	add_pool(e);
	write_key(e, alive | 6000, MCM_OP_PUT, "s", "old");
	write_key(e, alive | 6001, MCM_OP_PUT, "c", "old");
	for (unsigned i = 1; i <= 4096; i++) {
		snprintf(key, sizeof key, "f%u", i);
		intent(e, alive | i, key);
	}
	drain_all(e);
	t = write_rec(e, alive | 5000, MCM_OP_PUT, "s", "1");
	t2 = write_rec(e, alive | 5001, MCM_OP_PUT, "c", "x"); /* another key, in s's window */
	assert_int_equal(mcm_journal_resolve(e->j, &t2), 0);
	assert_int_equal(mcm_journal_resolve(e->j, &t), 0);
	assert_int_equal(mcm_drain_step(e->d, 1, &n), 0);
	expect(e, "s", NULL, MCM_KIND_DROPPED);
	mcm_drain_close(e->d);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	drain_all(e);
	expect(e, "c", NULL, MCM_KIND_DROPPED);
	t = write_rec(e, alive | 5002, MCM_OP_PUT, "b", "y"); /* after the window */
	assert_int_equal(mcm_journal_resolve(e->j, &t), 0);
	drain_all(e);
	expect(e, "b", "y", MCM_KIND_VALUE);
}

/* A mirror and a journal of the release before format 4: meta/format 3, no
 * feature bit in the journal, intents and outcomes. A writable open upgrades
 * the mirror, the journal's records apply as they are, and the first drainer
 * of format 4 sets the bit that lets writers append one record a write. */
static void test_upgrade_from_format3(void **state)
{
	struct env *e = *state;
	uint32_t three = 3;
	MDB_val k = {6, (void *)"format"}, v = {4, &three};
	struct mcm_jheader *h;
	MDB_txn *txn;

	mcm_drain_close(e->d);
	e->d = NULL;
	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "a", "old-writer");
	assert_int_equal(mdb_txn_begin(e->st->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_put(txn, e->st->meta, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mcm_store_close(e->st);
	h = unit_jheader_map(e->dir);
	h->features = 0;
	unit_jheader_unmap(h);
	assert_int_equal(mcm_journal_features(e->j), 0);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_RDONLY, 0), 0);
	assert_int_equal(mcm_store_format(e->st), 3); /* read as it is */
	mcm_store_close(e->st);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0), 0);
	assert_int_equal(mcm_store_format(e->st), MCM_FORMAT_VERSION);
	assert_int_equal(mcm_journal_features(e->j), 0);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	assert_true(mcm_journal_features(e->j) & MCM_JFEAT_WRITE);
	assert_int_equal(drain_all(e), 3);
	expect(e, "a", "old-writer", MCM_KIND_VALUE);
}

static void test_position_survives(void **state)
{
	struct env *e = *state;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "k", "ab");
	write_key(e, 2, MCM_OP_APPEND, "k", "c");
	drain_all(e);
	expect(e, "k", "abc", MCM_KIND_VALUE);
	mcm_drain_close(e->d);
	mcm_journal_set_head(e->j, 0); /* as if it died between the commit and moving the head */
	mcm_store_close(e->st);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_NOSYNC, 0), 0);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	assert_int_equal(mcm_drain_position(e->d), mcm_journal_tail(e->j));
	assert_int_equal(drain_all(e), 0);
	expect(e, "k", "abc", MCM_KIND_VALUE);
	write_key(e, 3, MCM_OP_APPEND, "k", "d");
	assert_int_equal(drain_all(e), 2);
	expect(e, "k", "abcd", MCM_KIND_VALUE);
}

/* mcm_drain_catch_up (what the tools do) applies a journal nobody drains. */
static void test_catch_up(void **state)
{
	struct env *e = *state;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "k", "v");
	mcm_drain_close(e->d);
	e->d = NULL;
	assert_int_equal(mcm_drain_catch_up(e->dir, 1000), 0);
	expect(e, "k", "v", MCM_KIND_VALUE);
	assert_int_equal(mcm_journal_head(e->j), mcm_journal_tail(e->j));
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
}

/* The journal's room is reused only behind what LMDB holds on disk: with
 * MCM_STORE_NOSYNC only after a sync, with MCM_STORE_NOMETASYNC one commit
 * later (that commit's fsync carried the meta page before it). */
static void test_reclaim_follows_disk(void **state)
{
	struct env *e = *state;
	uint64_t first;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "a", "1");
	drain_all(e);
	assert_int_equal(mcm_journal_reclaim(e->j), 0);
	mcm_drain_synced(e->d);
	first = mcm_drain_position(e->d);
	assert_int_equal(mcm_journal_reclaim(e->j), first);
	mcm_drain_close(e->d);
	mcm_store_close(e->st);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_NOMETASYNC, 0), 0);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	write_key(e, 2, MCM_OP_PUT, "b", "2");
	drain_all(e);
	assert_int_equal(mcm_journal_reclaim(e->j), first);
	write_key(e, 3, MCM_OP_PUT, "c", "3");
	drain_all(e);
	assert_true(mcm_journal_reclaim(e->j) > first);
	assert_true(mcm_journal_reclaim(e->j) < mcm_drain_position(e->d));
}

/* Play a restart of the machine after a power loss: close everything, tear
 * the record at torn (it never fully reached the disk), give the journal an
 * old boot id, reopen (which recovers). */
static void restart_machine(struct env *e, uint64_t torn)
{
	struct mcm_jheader *h;

	mcm_drain_close(e->d);
	mcm_journal_close(e->j);
	unit_journal_tear(e->dir, torn);
	h = unit_jheader_map(e->dir);
	strcpy(h->boot_id, "an-earlier-boot");
	unit_jheader_unmap(h);
	assert_int_equal(mcm_journal_open(&e->j, e->dir, 0, 0), 0);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
}

/* LMDB got further than the journal kept: the drainer resumes where the
 * journal's new records start; an intent open at the crash drops its key. */
static void test_restart_lmdb_ahead(void **state)
{
	struct env *e = *state;
	uint64_t torn;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "a", "1");
	write_key(e, 5, MCM_OP_PUT, "inflight", "old");
	intent(e, 2, "inflight"); /* its write may have reached the server: "old" is stale */
	torn = mcm_journal_tail(e->j);
	write_key(e, 3, MCM_OP_PUT, "b", "2");
	drain_all(e);
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	expect(e, "inflight", "old", MCM_KIND_VALUE);
	restart_machine(e, torn);
	assert_int_equal(mcm_journal_tail(e->j), torn);
	assert_int_equal(mcm_drain_position(e->d), torn); /* not LMDB's: new records start here */
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	outcome(e, 2, MCM_OP_PUT, "inflight", "x"); /* a new process that reuses the pid and counter */
	add_pool(e);
	write_key(e, 4, MCM_OP_PUT, "c", "3");
	drain_all(e);
	assert_int_equal(mcm_drain_reap(e->d, 60), 0);
	expect(e, "a", "1", MCM_KIND_VALUE);
	expect(e, "b", "2", MCM_KIND_VALUE);
	expect(e, "c", "3", MCM_KIND_VALUE);
	expect(e, "inflight", NULL, MCM_KIND_DROPPED);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
}

/* The journal kept more than LMDB had (MCMIRROR_SYNC=always synced it): the
 * drainer resumes at LMDB's position and applies the kept records. */
static void test_restart_journal_ahead(void **state)
{
	struct env *e = *state;
	uint64_t applied, end;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "a", "1");
	drain_all(e);
	applied = mcm_drain_position(e->d);
	write_key(e, 2, MCM_OP_PUT, "b", "2");
	end = mcm_journal_tail(e->j);
	assert_int_equal(mcm_journal_sync(e->j, end, 5000), 0);
	write_key(e, 3, MCM_OP_PUT, "lost", "3"); /* after the sync, torn by the power loss */
	restart_machine(e, end);
	assert_int_equal(mcm_drain_position(e->d), applied);
	assert_int_equal(mcm_journal_tail(e->j), end);
	drain_all(e);
	expect(e, "b", "2", MCM_KIND_VALUE);
	expect(e, "lost", NULL, 0);
}

/* Is key's record live (would replay send it)? */
static int is_live(struct env *e, const char *key)
{
	struct mcm_item item;
	struct mcm_pool pool;

	if (unit_get(e->st, &e->pool, key, &item) != 0)
		return 0;
	assert_int_equal(mcm_store_pool(e->st, e->pool.id, &pool), 0);
	return mcm_item_is_live(&item, &pool, (int64_t)time(NULL));
}

/* An intent open where LMDB stopped, whose outcome the journal kept: applied
 * as usual (only intents still open at the end of the old boot's records
 * are dropped), and nothing stays open. */
static void test_restart_outcome_kept(void **state)
{
	struct env *e = *state;

	add_pool(e);
	intent(e, 1, "k");
	drain_all(e);
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	outcome(e, 1, MCM_OP_PUT, "k", "v");
	assert_int_equal(mcm_journal_sync(e->j, mcm_journal_tail(e->j), 5000), 0);
	restart_machine(e, mcm_journal_tail(e->j));
	drain_all(e);
	assert_int_equal(mcm_drain_reap(e->d, 60), 0);
	expect(e, "k", "v", MCM_KIND_VALUE);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
	mcm_drain_close(e->d);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	assert_int_equal(mcm_drain_open_intents(e->d), 0); /* and so it was saved */
}

/* Records lost to a full journal: the mirror cannot know their keys, so once
 * it has applied everything appended before the losses it forgets every
 * pool; writes after that are mirrored again. */
static void test_lost_writes_forget_all(void **state)
{
	struct env *e = *state;
	static unsigned char big[4000];
	struct iovec iov = {big, sizeof big};
	uint64_t end;
	int rc;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "applied", "1");
	drain_all(e);
	mcm_drain_synced(e->d);
	write_key(e, 2, MCM_OP_PUT, "pending", "2"); /* appended before the losses, applied after them */
	while ((rc = mcm_journal_append(e->j, MCM_J_POOL, 0, &iov, 1, 0, &end)) == 0)
		;
	assert_int_equal(rc, ENOSPC);
	assert_true(mcm_journal_lost(e->j) >= 1);
	assert_true(is_live(e, "applied"));
	drain_all(e);
	assert_false(is_live(e, "applied"));
	assert_false(is_live(e, "pending"));
	mcm_drain_synced(e->d);
	write_key(e, 3, MCM_OP_PUT, "after", "3");
	drain_all(e);
	assert_true(is_live(e, "after"));
	assert_false(is_live(e, "applied"));
	/* handled once: a new drainer does not forget again */
	mcm_drain_close(e->d);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	write_key(e, 4, MCM_OP_PUT, "later", "4");
	drain_all(e);
	assert_true(is_live(e, "after"));
	assert_true(is_live(e, "later"));
}

/* A record damaged in the map (the application wrote over it): skipped up
 * to the next whole record, counted as lost, and the mirror forgets what it
 * held before; later writes are mirrored again. */
static void test_damaged_record_skipped(void **state)
{
	struct env *e = *state;
	uint64_t torn;
	size_t n;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "before", "1");
	drain_all(e);
	intent(e, 2, "hit");
	torn = mcm_journal_tail(e->j);
	outcome(e, 2, MCM_OP_PUT, "hit", "2");
	write_key(e, 3, MCM_OP_PUT, "behind", "3");
	unit_journal_tear(e->dir, torn);
	drain_all(e);
	assert_int_equal(mcm_drain_damaged(e->d), 1);
	assert_int_equal(mcm_journal_lost(e->j), 1);
	assert_int_equal(mcm_drain_position(e->d), mcm_journal_tail(e->j));
	assert_false(is_live(e, "before"));
	assert_false(is_live(e, "hit"));
	assert_false(is_live(e, "behind"));
	write_key(e, 4, MCM_OP_PUT, "after", "4");
	drain_all(e);
	assert_true(is_live(e, "after"));
	/* a damaged record alone: one step gets past it and commits the position */
	torn = mcm_journal_tail(e->j);
	outcome(e, 6, MCM_OP_PUT, "end", "6"); /* the only new record */
	unit_journal_tear(e->dir, torn);
	assert_int_equal(mcm_drain_step(e->d, 1024, &n), 0);
	assert_true(n > 0);
	assert_int_equal(mcm_drain_position(e->d), mcm_journal_tail(e->j));
	assert_int_equal(mcm_drain_damaged(e->d), 2);
}

/* The drain lock held by a process that applies nothing and then goes away
 * (as a killed writer whose drainer thread is still inside fdatasync):
 * catch-up takes the lock once it is free and applies the journal itself,
 * instead of waiting for a head that never moves. */
static void test_catch_up_after_dying_holder(void **state)
{
	struct env *e = *state;
	int pipefd[2], status;
	char c;
	pid_t pid;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "k", "v");
	mcm_drain_close(e->d);
	e->d = NULL;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		int fd;
		if (mcm_drain_lock(e->dir, 1, &fd) != 0)
			_exit(1);
		(void)!write(pipefd[1], "l", 1);
		usleep(200 * 1000);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(read(pipefd[0], &c, 1), 1); /* the child holds the lock */
	assert_int_equal(mcm_drain_catch_up(e->dir, 3000), 0);
	expect(e, "k", "v", MCM_KIND_VALUE);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
}

/* An outcome as a hostile (or newer, or broken) writer might leave it: every
 * field of the header given. */
static void raw_outcome(struct env *e, uint64_t id, const struct mcm_joutcome *h, const char *key, const char *value)
{
	struct iovec iov[3] = {{(void *)h, sizeof *h}, {(void *)key, strlen(key)}, {(void *)value, strlen(value)}};
	uint64_t end;

	assert_int_equal(mcm_journal_append(e->j, MCM_J_OUTCOME, id, iov, 3, 0, &end), 0);
}

/* Records whose CRC matches but that no shim writes (an unknown op, a
 * RESTORE, a group mode of 2, a namespace longer than the key, a group key
 * in key mode, a tombstone restore with a value) neither stop the drain nor
 * reach the store: each is counted and its key dropped, and the writes after
 * it are applied (issue 17, defects 1-3: before, one of them failed every
 * batch for good and `replay` sent the older value). */
static void test_invalid_records_dropped(void **state)
{
	struct env *e = *state;
	static const char *const keys[] = {"op200", "restore", "group2", "ns", "grpkey"};
	struct mcm_joutcome h;
	struct mcm_item item;
	uint64_t id = 100;

	add_pool(e);
	for (size_t i = 0; i < 5; i++)
		write_key(e, id++, MCM_OP_PUT, keys[i], "OLD");
	h = raw_header(e, MCM_OP_PUT, "op200", "x");
	h.op = 200;
	intent(e, id, "op200");
	raw_outcome(e, id++, &h, "op200", "x");
	h = raw_header(e, MCM_OP_RESTORE, "restore", "x"); /* only the tools restore, never the journal */
	intent(e, id, "restore");
	raw_outcome(e, id++, &h, "restore", "x");
	h = raw_header(e, MCM_OP_PUT, "group2", "x");
	h.group_mode = 2;
	intent(e, id, "group2");
	raw_outcome(e, id++, &h, "group2", "x");
	h = raw_header(e, MCM_OP_PUT, "ns", "x");
	h.ns_len = 9; /* longer than the key */
	intent(e, id, "ns");
	raw_outcome(e, id++, &h, "ns", "x");
	h = raw_header(e, MCM_OP_PUT, "grpkey", "gx");
	h.group_len = 1; /* a group key in key mode */
	h.value_len = 1;
	intent(e, id, "grpkey");
	raw_outcome(e, id++, &h, "grpkey", "gx");
	write_key(e, id++, MCM_OP_PUT, "after", "NEW");
	drain_all(e);
	assert_int_equal(mcm_drain_invalid(e->d), 5);
	for (size_t i = 0; i < 5; i++)
		expect(e, keys[i], NULL, MCM_KIND_DROPPED);
	expect(e, "after", "NEW", MCM_KIND_VALUE);
	/* the key written again after the bad record is mirrored again */
	write_key(e, id++, MCM_OP_PUT, "op200", "NEWER");
	drain_all(e);
	expect(e, "op200", "NEWER", MCM_KIND_VALUE);
	/* nothing stored is out of range: every record decodes */
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(unit_get(e->st, &e->pool, keys[i], &item), 0);
}

/* An outcome cut short (its lengths add up to more than the record holds)
 * cannot even name its key: the mirror forgets the pool. */
static void test_short_outcome_forgets_pool(void **state)
{
	struct env *e = *state;
	struct mcm_joutcome h;
	struct mcm_item item;
	struct mcm_pool p;

	add_pool(e);
	write_key(e, 1, MCM_OP_PUT, "a", "1");
	h = raw_header(e, MCM_OP_PUT, "b", "2");
	h.value_len = 1000;
	intent(e, 2, "b");
	raw_outcome(e, 2, &h, "b", "2");
	write_key(e, 3, MCM_OP_PUT, "c", "3");
	drain_all(e);
	assert_int_equal(mcm_drain_invalid(e->d), 1);
	assert_int_equal(unit_get(e->st, &e->pool, "a", &item), 0);
	assert_int_equal(mcm_store_pool(e->st, e->pool.id, &p), 0);
	assert_false(mcm_item_is_live(&item, &p, time(NULL))); /* flushed */
	expect(e, "b", NULL, 0);
	assert_int_equal(unit_get(e->st, &e->pool, "c", &item), 0);
	assert_true(mcm_item_is_live(&item, &p, time(NULL)));
}

/* A writer that appended its outcome and then exited is found gone by the
 * reaper before the drainer read that outcome: the outcome is applied, not
 * dropped (the reaper reads the journal to its end first). */
static void test_reap_reads_outcomes_first(void **state)
{
	struct env *e = *state;
	uint64_t dead = dead_pid() << 32;

	add_pool(e);
	intent(e, dead | 7, "k2");
	drain_all(e);
	assert_int_equal(mcm_drain_open_intents(e->d), 1);
	outcome(e, dead | 7, MCM_OP_PUT, "k2", "final"); /* appended, then the writer exited */
	assert_int_equal(mcm_drain_reap(e->d, 60), 0);
	assert_int_equal(mcm_drain_open_intents(e->d), 0);
	expect(e, "k2", "final", MCM_KIND_VALUE);
	assert_int_equal(mcm_drain_dropped(e->d), 0);
}

/* What the tidy report saw: calls, the error, and whether the step's records
 * were published (the journal's head at the step's end) when it was called. */
static struct {
	struct mcm_journal *j;
	struct mcm_drain *d;
	int calls, rc, published;
} tidy;

static void tidy_report(int rc)
{
	tidy.calls++;
	tidy.rc = rc;
	tidy.published = mcm_journal_head(tidy.j) >= mcm_drain_position(tidy.d);
}

/* A bulk rebuild of the seq index refused (a record that checks out with a
 * number above any handed out) is reported once, before the step that made it
 * due publishes its writes: a process that exits waits only for that
 * publication (shim/writer.c), so the shim's message is never cut short. */
static void test_tidy_error_reported_before_publishing(void **state)
{
	struct env *e = *state;
	char key[16];
	uint64_t id = 1;

	add_pool(e);
	for (int k = 0; k < 600; k++) {
		snprintf(key, sizeof key, "k%d", k);
		write_key(e, id++, MCM_OP_PUT, key, "v");
	}
	drain_all(e);
	mcm_drain_close(e->d);
	mcm_store_close(e->st);
	unit_renumber(e->dir, &e->pool, "k0", 1000000, 1);
	assert_int_equal(mcm_store_open(&e->st, e->dir, MCM_STORE_NOSYNC | MCM_STORE_BULKSEQ, 0), 0);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	memset(&tidy, 0, sizeof tidy);
	tidy.j = e->j;
	tidy.d = e->d;
	mcm_drain_on_tidy_error(e->d, tidy_report);
	/* (2 + 1) * 600 + 4,096 entries make a rebuild due: rounds of overwrites
	 * of k1..k599 (a batch applies one write of a key), drained and synced so
	 * that the journal's room is reused */
	for (int round = 0; round < 20 && tidy.calls == 0; round++) {
		for (int k = 1; k < 600; k++) {
			snprintf(key, sizeof key, "k%d", k);
			write_key(e, id++, MCM_OP_PUT, key, "again");
		}
		drain_all(e);
		assert_int_equal(mcm_store_sync(e->st), 0);
		mcm_drain_synced(e->d);
	}
	assert_int_equal(tidy.calls, 1);
	assert_int_equal(tidy.rc, MCM_EDAMAGED);
	assert_false(tidy.published);
	assert_int_equal(mcm_journal_head(e->j), mcm_journal_tail(e->j));
	write_key(e, id++, MCM_OP_PUT, "k1", "later"); /* the writes go on, and it is not said again */
	drain_all(e);
	assert_int_equal(tidy.calls, 1);
	expect(e, "k1", "later", MCM_KIND_VALUE);
}

/* A pad record at the very end of what the journal holds: after a restart of the
 * machine the record it made room for (at the start of the ring) was torn, so the
 * recovered journal ends with the pad. The drainer steps over it to the tail (it
 * used to stay before it until the next record came: the journal's head short of
 * its tail, "unapplied" bytes that nothing would ever apply; found by fuzz_journal). */
static void test_pad_at_the_end(void **state)
{
	static const char *const keys[2] = {"a-key-of-twenty-byte", "short-key"}; /* intents of 80 and 64 bytes */
	struct env *e = *state;
	char path[PATH_MAX + 16];
	uint64_t size, torn = 0, need = 0;

	/* a small ring, so that it wraps */
	mcm_drain_close(e->d);
	mcm_journal_close(e->j);
	snprintf(path, sizeof path, "%s/journal", e->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mcm_journal_open(&e->j, e->dir, 4096, 1), 0);
	assert_int_equal(mcm_drain_open(&e->d, e->st, e->j), 0);
	size = mcm_journal_size(e->j);
	add_pool(e);
	for (uint64_t id = 1; id < 1000 && !torn; id++) {
		uint64_t t = mcm_journal_tail(e->j), room = size - t % size;
		int wraps;

		need = id % 3 == 0 ? 64 : 80;
		wraps = room < need && room >= 24; /* a pad of room bytes at t, the intent at the ring's start */
		if (id % 16 == 0 || wraps) { /* applied and on disk: the room reusable */
			drain_all(e);
			assert_int_equal(mcm_store_sync(e->st), 0);
			mcm_drain_synced(e->d);
		}
		intent(e, id, keys[need == 64]);
		if (wraps)
			torn = t + room;
	}
	assert_true(torn != 0);
	assert_int_equal(mcm_journal_tail(e->j), torn + need);
	restart_machine(e, torn);
	assert_int_equal(mcm_journal_tail(e->j), torn); /* the torn intent is gone, the pad is kept */
	drain_all(e);
	assert_int_equal(mcm_drain_position(e->d), torn);
	assert_int_equal(mcm_journal_head(e->j), torn);
	/* and the next record is applied from there */
	add_pool(e);
	write_key(e, 5000, MCM_OP_PUT, "after", "1");
	drain_all(e);
	expect(e, "after", "1", MCM_KIND_VALUE);
	assert_int_equal(mcm_journal_head(e->j), mcm_journal_tail(e->j));
}

/* The drainer's pace: a burst (a megabyte or more not applied, after a quiet spell) is held for
 * MCM_PACE_BURST_MS at most, then applied until a step is not full; never held once half the ring waits,
 * after a wake, or under a steady rate the drainer follows only with full steps. */
static void test_pace(void **state)
{
	struct mcm_drain_pace p = {0};
	const uint64_t ring = 64u << 20, burst = MCM_PACE_BURST_BYTES, half = ring / MCM_PACE_BURST_SHARE;
	uint64_t t;
	(void)state;

	/* writes at a pace the drainer follows in naps: applied at once */
	assert_int_equal(mcm_drain_pace(&p, 0, 1000, 0, ring), MCM_PACE_STEP);
	assert_int_equal(mcm_drain_pace(&p, 0, 1000, burst - 1, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 0, 1000);
	/* a burst: held, for MCM_PACE_BURST_MS from when it was seen, while half the ring is free */
	assert_int_equal(mcm_drain_pace(&p, 0, 2000, burst, ring), MCM_PACE_HOLD);
	assert_int_equal(mcm_drain_pace(&p, 0, 2050, half - 1, ring), MCM_PACE_HOLD);
	assert_int_equal(mcm_drain_pace(&p, 0, 2000 + MCM_PACE_BURST_MS - 1, burst, ring), MCM_PACE_HOLD);
	assert_int_equal(mcm_drain_pace(&p, 0, 2000 + MCM_PACE_BURST_MS, burst, ring), MCM_PACE_STEP);
	/* then applied step after step, however little waits, until a step is not full */
	mcm_drain_paced(&p, 1, 2101);
	assert_int_equal(mcm_drain_pace(&p, 0, 2102, 2 * burst, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 1, 2110);
	assert_int_equal(mcm_drain_pace(&p, 0, 2111, burst, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 0, 2120);
	/* the next burst within MCM_PACE_QUIET_MS of the last full step: a steady rate, applied at once */
	t = 2110 + MCM_PACE_QUIET_MS - 1;
	assert_int_equal(mcm_drain_pace(&p, 0, t, burst, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 0, t);
	/* after a quiet spell it is held again, timed from its own start */
	t = 2110 + MCM_PACE_QUIET_MS;
	assert_int_equal(mcm_drain_pace(&p, 0, t, burst, ring), MCM_PACE_HOLD);
	assert_int_equal(mcm_drain_pace(&p, 0, t + MCM_PACE_BURST_MS - 1, burst, ring), MCM_PACE_HOLD);
	/* half the ring waits: applied at once */
	assert_int_equal(mcm_drain_pace(&p, 0, t + 1, half, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 0, t + 2);
	memset(&p, 0, sizeof p);
	assert_int_equal(mcm_drain_pace(&p, 0, 6000, half, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 0, 6000);
	/* a wake (a process exits, a tool waits, the ring is half full): at once, and on until caught up */
	assert_int_equal(mcm_drain_pace(&p, 0, 7000, burst, ring), MCM_PACE_HOLD);
	assert_int_equal(mcm_drain_pace(&p, 1, 7001, burst, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 0, 7002); /* (not full: it had applied the burst) */
	assert_int_equal(mcm_drain_pace(&p, 0, 7003, burst, ring), MCM_PACE_HOLD);
	memset(&p, 0, sizeof p);
	assert_int_equal(mcm_drain_pace(&p, 0, 8000, burst, ring), MCM_PACE_HOLD);
	assert_int_equal(mcm_drain_pace(&p, 1, 8001, burst, ring), MCM_PACE_STEP);
	mcm_drain_paced(&p, 1, 8002);
	assert_int_equal(mcm_drain_pace(&p, 0, 8003, burst, ring), MCM_PACE_STEP);
	/* a clock at 0 still holds a burst */
	memset(&p, 0, sizeof p);
	assert_int_equal(mcm_drain_pace(&p, 0, 0, burst, ring), MCM_PACE_HOLD);
	assert_int_equal(mcm_drain_pace(&p, 0, MCM_PACE_BURST_MS, burst, ring), MCM_PACE_STEP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_across_drainers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_writer_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_dead_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_still_taints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_record_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_record_window_across_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_record_no_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_format3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_position_survives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_follows_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_lmdb_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_journal_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_outcome_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_writes_forget_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_record_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_after_dying_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_records_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_outcome_forgets_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reap_reads_outcomes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pad_at_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tidy_error_reported_before_publishing, setup, teardown),
		cmocka_unit_test(test_pace),
	};

	return cmocka_run_group_tests_name("drain", tests, NULL, NULL);
}
