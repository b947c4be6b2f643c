/* test_seqidx.c - store/seqidx.c: the seq index's entries packed in bundles. A walk and every seek give
 * exactly the entries written, in number order, whatever the bundles' sizes (long keys fill them by
 * bytes, short ones by count); removals (a few, or a bundle's all) leave exactly the rest and keep the
 * count; entries put at kept numbers land in order, splitting a full bundle; a value that is not a
 * bundle is reported, passed and removable, and a put into its range replaces it; a version 2 index
 * (one entry a value) becomes version 3 with nothing rewritten; and random mixes of all of these,
 * checked against the model after every transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "mcm_seqidx.h"
#include "store_internal.h"
#include "unit.h"

#define N 700

/* The model: which numbers hold an entry, and its key length. */
static unsigned char present[N + 64];
static unsigned keylen[N + 64];

/* The entry of number seq: an "items" key of klen bytes derived from seq. */
static size_t entry_of(uint64_t seq, unsigned klen, unsigned char *buf)
{
	unsigned char ikey[MCM_ITEM_KEY_MAX];
	struct mcm_item it;

	memset(&it, 0, sizeof it);
	it.kind = MCM_KIND_VALUE;
	it.exptime = (int64_t)seq * 3;
	it.wtime_us = seq * 1000;
	mcm_put_be64(ikey, 42);
	for (unsigned i = 8; i < klen; i++)
		ikey[i] = (unsigned char)('a' + (seq + i) % 26);
	return mcm_seq_entry_encode(&it, ikey, klen, buf);
}

static unsigned klen_of(uint64_t seq)
{
	return seq % 17 == 0 ? MCM_ITEM_KEY_MAX : 9 + (unsigned)(seq % 40); /* some fill a bundle by bytes */
}

static MDB_txn *begin(struct mcm_store *st)
{
	MDB_txn *txn;

	assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
	st->seq_delta = 0;
	return txn;
}

static void commit(struct mcm_store *st, MDB_txn *txn)
{
	assert_int_equal(mcm_seqidx_save_count(st, txn), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

/* Walk the index and seek to every number: both agree with the model (present:
 * entries; damaged: values that are not entries, under their own numbers here). */
static unsigned char damaged[N + 64];

static void check(struct mcm_store *st)
{
	unsigned char want[MCM_SEQ_VALUE_MAX];
	struct mcm_seqcur c;
	struct mcm_seq_entry e;
	uint64_t seq, last = 0, count = 0, entries = 0, n;
	MDB_txn *txn;
	int rc;

	assert_int_equal(mcm_store_begin_read(st, &txn), 0);
	assert_int_equal(mcm_seqcur_open(st, txn, &c), 0);
	while ((rc = mcm_seqcur_next(&c, &seq, &e)) == 0 || rc == MCM_EDAMAGED) {
		assert_true(seq > last && seq < N + 64);
		last = seq;
		count++;
		if (rc == MCM_EDAMAGED) {
			assert_true(damaged[seq]);
			continue;
		}
		assert_true(present[seq]);
		size_t len = entry_of(seq, keylen[seq], want);
		assert_int_equal(MCM_SEQ_HEADER + e.ikey_len, len);
		assert_memory_equal(e.ikey, want + MCM_SEQ_HEADER, e.ikey_len);
		assert_int_equal(e.exptime, (int64_t)seq * 3);
		entries++;
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	assert_int_equal(mcm_seqcur_next(&c, &seq, &e), MDB_NOTFOUND); /* past the end it stays there */
	for (uint64_t s = 1; s < N + 64; s++)
		entries -= present[s];
	assert_int_equal(entries, 0); /* every entry of the model was met */
	for (uint64_t from = 0; from < N + 64; from++) {
		uint64_t first = 0;

		for (uint64_t s = from ? from : 1; s < N + 64 && !first; s++)
			if (present[s] || damaged[s])
				first = s;
		rc = mcm_seqcur_seek(&c, from, &seq, &e);
		if (!first) {
			assert_int_equal(rc, MDB_NOTFOUND);
			continue;
		}
		assert_int_equal(rc, damaged[first] ? MCM_EDAMAGED : 0);
		assert_int_equal(seq, first);
	}
	assert_int_equal(mcm_seqcur_close(&c), 0);
	assert_int_equal(mcm_seqidx_entries(st, txn, &n), 0);
	assert_int_equal(n, count);
	mdb_txn_abort(txn);
}

/* Append the numbers 1..N but every fifth through one appender. */
static void fill(struct mcm_store *st)
{
	unsigned char buf[MCM_SEQ_VALUE_MAX];
	struct mcm_seqapp a;
	MDB_txn *txn = begin(st);

	memset(present, 0, sizeof present);
	memset(damaged, 0, sizeof damaged);
	mcm_seqapp_begin(&a, st, NULL);
	for (uint64_t s = 1; s <= N; s++) {
		if (s % 5 == 0)
			continue;
		keylen[s] = klen_of(s);
		present[s] = 1;
		assert_int_equal(mcm_seqapp_add(&a, txn, s, buf, entry_of(s, keylen[s], buf)), 0);
	}
	assert_int_equal(mcm_seqapp_add(&a, txn, N - 1, buf, entry_of(N - 1, 9, buf)), EPROTO); /* not above */
	assert_int_equal(mcm_seqapp_end(&a, txn), 0);
	commit(st, txn);
}

static void test_append_walk_seek(void **state)
{
	struct unit_env *e = *state;
	MDB_stat ms;
	MDB_txn *txn;

	fill(e->st);
	check(e->st);
	assert_int_equal(mcm_store_begin_read(e->st, &txn), 0);
	assert_int_equal(mdb_stat(txn, e->st->seq, &ms), 0);
	assert_true(ms.ms_entries > 1 && ms.ms_entries < N / 8); /* bundles, of more than a few entries */
	mdb_txn_abort(txn);
}

static void test_remove(void **state)
{
	struct unit_env *e = *state;
	struct mcm_seqcur c;
	struct mcm_seq_entry en;
	uint64_t seq;
	MDB_txn *txn;
	int rc;

	fill(e->st);
	/* every third entry, and every one from 100 to 300 (whole bundles) */
	txn = begin(e->st);
	assert_int_equal(mcm_seqcur_open(e->st, txn, &c), 0);
	while ((rc = mcm_seqcur_next(&c, &seq, &en)) == 0)
		if (seq % 3 == 0 || (seq >= 100 && seq <= 300)) {
			assert_int_equal(mcm_seqcur_remove(&c), 0);
			present[seq] = 0;
		}
	assert_int_equal(rc, MDB_NOTFOUND);
	assert_int_equal(mcm_seqcur_close(&c), 0);
	commit(e->st, txn);
	check(e->st);
	/* the last entries, by seeks */
	txn = begin(e->st);
	assert_int_equal(mcm_seqcur_open(e->st, txn, &c), 0);
	for (uint64_t s = N - 40; s <= N; s++)
		if ((rc = mcm_seqcur_seek(&c, s, &seq, &en)) == 0 && seq == s) {
			assert_int_equal(mcm_seqcur_remove(&c), 0);
			present[s] = 0;
		}
	assert_int_equal(mcm_seqcur_close(&c), 0);
	commit(e->st, txn);
	check(e->st);
}

static void test_put_kept(void **state)
{
	struct unit_env *e = *state;
	unsigned char buf[MCM_SEQ_VALUE_MAX];
	MDB_txn *txn;

	fill(e->st);
	txn = begin(e->st);
	/* the gaps (every fifth), one bundle after another filling up and splitting */
	for (uint64_t s = 5; s <= N; s += 5) {
		keylen[s] = s % 2 ? MCM_ITEM_KEY_MAX : 12;
		present[s] = 1;
		assert_int_equal(mcm_seqidx_put(e->st, txn, s, buf, entry_of(s, keylen[s], buf), 0), 0);
	}
	assert_int_equal(mcm_seqidx_put(e->st, txn, 10, buf, entry_of(10, 12, buf), 0), EEXIST);
	/* a replacement, and numbers above every bundle */
	keylen[7] = 30;
	assert_int_equal(mcm_seqidx_put(e->st, txn, 7, buf, entry_of(7, 30, buf), 1), 0);
	for (uint64_t s = N + 10; s < N + 20; s += 3) {
		keylen[s] = 20;
		present[s] = 1;
		assert_int_equal(mcm_seqidx_put(e->st, txn, s, buf, entry_of(s, 20, buf), 0), 0);
	}
	commit(e->st, txn);
	check(e->st);
}

/* A value under a key of seq that is no bundle (counted as one entry: a bundle that was damaged). */
static void put_raw(struct mcm_store *st, uint64_t key, const char *junk)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v = {strlen(junk), (void *)junk};
	MDB_txn *txn = begin(st);

	mcm_put_be64(kb, key);
	assert_int_equal(mdb_put(txn, st->seq, &k, &v, 0), 0);
	st->seq_delta = 1;
	commit(st, txn);
}

static void test_damaged(void **state)
{
	struct unit_env *e = *state;
	unsigned char buf[MCM_SEQ_VALUE_MAX];
	struct mcm_seqcur c;
	struct mcm_seq_entry en;
	uint64_t seq, last = 0;
	int rc, bad = 0;
	MDB_txn *txn;

	fill(e->st);
	put_raw(e->st, N + 30, "not a bundle");
	damaged[N + 30] = 1;
	check(e->st);
	/* a walk reports it, and goes on */
	assert_int_equal(mcm_store_begin_read(e->st, &txn), 0);
	assert_int_equal(mcm_seqcur_open(e->st, txn, &c), 0);
	while ((rc = mcm_seqcur_next(&c, &seq, &en)) == 0 || rc == MCM_EDAMAGED) {
		bad += rc == MCM_EDAMAGED;
		assert_true(seq > last);
		last = seq;
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	assert_int_equal(bad, 1);
	assert_int_equal(last, N + 30);
	mcm_seqcur_close(&c);
	mdb_txn_abort(txn);
	/* a put into its range replaces it */
	txn = begin(e->st);
	keylen[N + 25] = 15;
	present[N + 25] = 1;
	assert_int_equal(mcm_seqidx_put(e->st, txn, N + 25, buf, entry_of(N + 25, 15, buf), 0), 0);
	commit(e->st, txn);
	damaged[N + 30] = 0;
	check(e->st);
	/* another one, removed by a walk */
	put_raw(e->st, N + 40, "junk");
	txn = begin(e->st);
	assert_int_equal(mcm_seqcur_open(e->st, txn, &c), 0);
	assert_int_equal(mcm_seqcur_seek(&c, N + 26, &seq, &en), MCM_EDAMAGED);
	assert_int_equal(seq, N + 40);
	assert_int_equal(mcm_seqcur_remove(&c), 0);
	assert_int_equal(mcm_seqcur_next(&c, &seq, &en), MDB_NOTFOUND);
	assert_int_equal(mcm_seqcur_close(&c), 0);
	commit(e->st, txn);
	check(e->st);
}

/* A version 2 index (one entry a value under its number, a few values that are
 * not entries) made version 3: nothing is rewritten, every entry reads as it
 * did, the count is right; new entries go into bundles after them, entries put
 * at numbers among them (a value that is not an entry replaced), entries
 * removed; a rebuild's clear and appends leave bundles only. */
static void test_convert(void **state)
{
	struct unit_env *e = *state;
	struct mcm_store *st = e->st;
	unsigned char buf[MCM_SEQ_VALUE_MAX], kb[8];
	MDB_val k = {8, kb}, v;
	MDB_txn *txn = begin(st);

	struct mcm_seqapp a;
	struct mcm_seqcur c;
	struct mcm_seq_entry en;
	uint64_t seq;
	MDB_stat ms;
	int rc;

	memset(present, 0, sizeof present);
	memset(damaged, 0, sizeof damaged);
	for (uint64_t s = 1; s <= N; s++) {
		mcm_put_be64(kb, s);
		if (s % 97 == 0) {
			v.mv_size = 3;
			v.mv_data = "bad";
			damaged[s] = 1;
		} else {
			keylen[s] = klen_of(s);
			present[s] = 1;
			v.mv_size = entry_of(s, keylen[s], buf);
			v.mv_data = buf;
		}
		assert_int_equal(mdb_put(txn, st->seq, &k, &v, 0), 0);
	}
	st->format = 2;
	assert_int_equal(mcm_seqidx_convert(st, txn), 0);
	assert_int_equal(st->format, 3);
	assert_int_equal(mdb_txn_commit(txn), 0);
	check(st);

	txn = begin(st);
	mcm_seqapp_begin(&a, st, NULL);
	for (uint64_t s = N + 1; s < N + 50; s++) {
		keylen[s] = klen_of(s);
		present[s] = 1;
		assert_int_equal(mcm_seqapp_add(&a, txn, s, buf, entry_of(s, keylen[s], buf)), 0);
	}
	assert_int_equal(mcm_seqapp_end(&a, txn), 0);
	keylen[97] = 20; /* over a value that was not an entry */
	present[97] = 1;
	damaged[97] = 0;
	assert_int_equal(mcm_seqidx_put(st, txn, 97, buf, entry_of(97, 20, buf), 0), 0);
	keylen[5] = 33; /* an old entry replaced */
	assert_int_equal(mcm_seqidx_put(st, txn, 5, buf, entry_of(5, 33, buf), 1), 0);
	assert_int_equal(mcm_seqidx_put(st, txn, 6, buf, entry_of(6, keylen[6], buf), 0), EEXIST);
	commit(st, txn);
	check(st);
	/* old entries removed by a walk: every seventh */
	txn = begin(st);
	assert_int_equal(mcm_seqcur_open(st, txn, &c), 0);
	while ((rc = mcm_seqcur_next(&c, &seq, &en)) == 0 || rc == MCM_EDAMAGED)
		if (rc == 0 && seq % 7 == 0 && seq <= N) {
			assert_int_equal(mcm_seqcur_remove(&c), 0);
			present[seq] = 0;
		}
	assert_int_equal(mcm_seqcur_close(&c), 0);
	commit(st, txn);
	check(st);
	/* emptied and filled again (a rebuild): bundles only */
	txn = begin(st);
	assert_int_equal(mcm_seqidx_clear(st, txn), 0);
	memset(damaged, 0, sizeof damaged);
	mcm_seqapp_begin(&a, st, NULL);
	for (uint64_t s = 1; s < N + 50; s++)
		if (present[s])
			assert_int_equal(mcm_seqapp_add(&a, txn, s, buf, entry_of(s, keylen[s], buf)), 0);
	assert_int_equal(mcm_seqapp_end(&a, txn), 0);
	commit(st, txn);
	check(st);
	assert_int_equal(mcm_store_begin_read(st, &txn), 0);
	assert_int_equal(mdb_stat(txn, st->seq, &ms), 0);
	assert_true(ms.ms_entries < N / 8);
	mdb_txn_abort(txn);
}

/* Random transactions of appends, kept puts (new numbers and replacements),
 * removals by walks and by seeks, with keys of random lengths: after each one
 * the index reads exactly as the model says. */
static void test_random(void **state)
{
	struct unit_env *e = *state;
	unsigned char buf[MCM_SEQ_VALUE_MAX];
	unsigned seed = 12345;
	uint64_t top = 0; /* the largest number ever given */

	memset(present, 0, sizeof present);
	memset(damaged, 0, sizeof damaged);
	for (int round = 0; round < 300; round++) {
		MDB_txn *txn = begin(e->st);
		int ops = 1 + rand_r(&seed) % 6;

		for (int o = 0; o < ops; o++) {
			int r = rand_r(&seed) % 20, what = r < 6 ? 0 : r < 16 ? 1 : r < 17 ? 2 : 3;

			if (what == 0 && top + 1 < N + 64) { /* appends above everything */
				struct mcm_seqapp a;
				unsigned n = 1 + rand_r(&seed) % 12;

				mcm_seqapp_begin(&a, e->st, NULL);
				for (unsigned i = 0; i < n && top + 1 < N + 64; i++) {
					top += 1 + rand_r(&seed) % 3;
					if (top >= N + 64)
						break;
					keylen[top] = rand_r(&seed) % 2 ? 9 + rand_r(&seed) % 32 : 9 + rand_r(&seed) % (MCM_ITEM_KEY_MAX - 8);
					present[top] = 1;
					assert_int_equal(mcm_seqapp_add(&a, txn, top, buf, entry_of(top, keylen[top], buf)), 0);
				}
				assert_int_equal(mcm_seqapp_end(&a, txn), 0);
			} else if (what == 1 && top > 0) { /* a kept number, new or replacing */
				uint64_t s = 1 + rand_r(&seed) % (top < N + 64 ? top : N + 63);
				int replace = rand_r(&seed) % 2;
				unsigned klen = rand_r(&seed) % 2 ? 9 + rand_r(&seed) % 32 : 9 + rand_r(&seed) % (MCM_ITEM_KEY_MAX - 8);
				int rc = mcm_seqidx_put(e->st, txn, s, buf, entry_of(s, klen, buf), replace);

				if (present[s] && !replace) {
					assert_int_equal(rc, EEXIST);
				} else {
					assert_int_equal(rc, 0);
					present[s] = 1;
					keylen[s] = klen;
				}
			} else if (what == 2) { /* a walk removing some */
				struct mcm_seqcur c;
				struct mcm_seq_entry en;
				uint64_t seq;
				unsigned mod = 3 + rand_r(&seed) % 6, rest = rand_r(&seed) % mod;
				int rc;

				assert_int_equal(mcm_seqcur_open(e->st, txn, &c), 0);
				while ((rc = mcm_seqcur_next(&c, &seq, &en)) == 0)
					if (seq % mod == rest) {
						assert_int_equal(mcm_seqcur_remove(&c), 0);
						present[seq] = 0;
					}
				assert_int_equal(rc, MDB_NOTFOUND);
				assert_int_equal(mcm_seqcur_close(&c), 0);
			} else if (top > 0) { /* seeks, ascending, removing what they land on now and then */
				struct mcm_seqcur c;
				struct mcm_seq_entry en;
				uint64_t seq, from = rand_r(&seed) % (top < N + 64 ? top : N + 63);
				int rc;

				assert_int_equal(mcm_seqcur_open(e->st, txn, &c), 0);
				while ((rc = mcm_seqcur_seek(&c, from, &seq, &en)) == 0) {
					assert_true(seq >= from && present[seq]);
					for (uint64_t s = from; s < seq; s++)
						assert_false(present[s]);
					if (rand_r(&seed) % 6 == 0) {
						assert_int_equal(mcm_seqcur_remove(&c), 0);
						present[seq] = 0;
					}
					from = seq + 1 + rand_r(&seed) % 8;
				}
				assert_int_equal(rc, MDB_NOTFOUND);
				assert_int_equal(mcm_seqcur_close(&c), 0);
			}
		}
		commit(e->st, txn);
		check(e->st);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_walk_seek, unit_env_setup, unit_env_teardown),
		cmocka_unit_test_setup_teardown(test_remove, unit_env_setup, unit_env_teardown),
		cmocka_unit_test_setup_teardown(test_put_kept, unit_env_setup, unit_env_teardown),
		cmocka_unit_test_setup_teardown(test_damaged, unit_env_setup, unit_env_teardown),
		cmocka_unit_test_setup_teardown(test_convert, unit_env_setup, unit_env_teardown),
		cmocka_unit_test_setup_teardown(test_random, unit_env_setup, unit_env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
