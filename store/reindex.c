/* reindex.c - rebuild the seq index in bulk from the records, once superseded entries outnumber live ones.
 *
 * With MCM_STORE_BULKSEQ (the drainer, except in always mode), a write that
 * supersedes a record's seq entry leaves the entry where it is: a stale
 * entry, which every reader already skips (docs/FORMAT.md §1.5). Removing
 * entries one by one costs LMDB a search and a node deletion each, which
 * walks every pointer of the page: about 1,900 instructions an overwrite.
 * LMDB frees pages in bulk only when a whole database is emptied. So once
 * the stale entries outnumber the live ones by REINDEX_SLACK, the index is
 * rebuilt in one write transaction of its own: the records are walked in key
 * order, each one's number and the fields its entry copies are collected and
 * sorted by number, the index is emptied (mdb_drop, which frees its pages
 * whole) and the entries are appended in order. Numbers do not change, so
 * nothing that holds a number (a follower's position, the sweep's, a pool's
 * flush_seq, last_seq) moves.
 *
 * The index then holds at most twice the records plus REINDEX_SLACK entries.
 * A rebuild costs about 1,000 instructions a record, and at least as many
 * overwrites as records lie between two: each pays about 720 for it
 * (bench/write/cost.sh, 10,000 keys). A mirror of more than REINDEX_MAX
 * records (the rebuild's memory, 56 bytes a record, and its pause grow with
 * it) is rebuilt once more, then its entries are removed one by one; so are
 * those of a handle whose rebuild failed: a record whose number is out of
 * range or taken twice (damaged) is never given an entry by guesswork.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "store_internal.h"

#define REINDEX_SLACK 4096      /* stale entries beyond the live ones that start a rebuild */
#define REINDEX_MAX (1u << 18)  /* records above which entries are removed one by one (the rebuild
				   takes up to 14 MiB for a while, inside the host's process) */

/* A record as the rebuild collects it: where it lies (its number is in the rank). */
struct slot {
	const unsigned char *rec; /* the record's header, in the map (the transaction changes no record) */
	const unsigned char *ikey;
	size_t ikey_len;
};

int mcm_store_bulk_seq(const struct mcm_store *st)
{
	return (st->flags & MCM_STORE_BULKSEQ) && !st->reindex_off && st->format == MCM_FORMAT_VERSION;
}

int mcm_store_reindex_due(struct mcm_store *st, MDB_txn *txn, int *due)
{
	MDB_stat is, ss;
	int rc;

	*due = 0;
	if (!mcm_store_bulk_seq(st))
		return 0;
	if ((rc = mdb_stat(txn, st->items, &is)) != 0 || (rc = mdb_stat(txn, st->seq, &ss)) != 0)
		return rc;
	if (is.ms_entries > REINDEX_MAX) /* one last rebuild removes those left so far (mcm_store_reindex) */
		*due = ss.ms_entries > is.ms_entries;
	else
		*due = ss.ms_entries >= 2 * is.ms_entries + REINDEX_SLACK;
	return 0;
}

/* Collect every record (v) and its number (r, v's index), checked against
 * the numbers handed out; differ: the bits in which the numbers differ. */
static int collect(struct mcm_store *st, MDB_txn *txn, uint64_t last, struct slot *v, struct mcm_rank *r, size_t cap,
		   size_t *n, uint64_t *differ)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	*n = 0;
	*differ = 0;
	if ((rc = mdb_cursor_open(txn, st->items, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		uint64_t seq;

		if (*n == cap || d.mv_size < MCM_ITEM_HEADER_V1 || k.mv_size <= 8 || k.mv_size > MCM_ITEM_KEY_MAX) {
			rc = MCM_EDAMAGED;
			break;
		}
		memcpy(&seq, (const unsigned char *)d.mv_data + 24, 8); /* little-endian host (docs/FORMAT.md) */
		if (seq == 0 || seq > last) {
			rc = MCM_EDAMAGED;
			break;
		}
		r[*n].rank = seq;
		r[*n].index = (uint32_t)*n;
		*differ |= seq ^ r[0].rank;
		v[*n].rec = d.mv_data;
		v[*n].ikey = k.mv_data;
		v[(*n)++].ikey_len = k.mv_size;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Empty the index and append one entry for each of the n records v, in the number order r. */
static int rewrite(struct mcm_store *st, MDB_txn *txn, const struct slot *v, const struct mcm_rank *r, size_t n)
{
	unsigned char kb[8], eb[MCM_SEQ_VALUE_MAX];
	MDB_cursor *cur;
	int rc;

	for (size_t i = 1; i < n; i++)
		if (r[i].rank == r[i - 1].rank)
			return MCM_EDAMAGED; /* a number taken twice: some record's is wrong */
	if ((rc = mdb_drop(txn, st->seq, 0)) != 0 || (rc = mdb_cursor_open(txn, st->seq, &cur)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct slot *s = &v[r[i].index];
		struct mcm_item it;
		MDB_val k = {8, kb}, e;

		it.kind = s->rec[1];
		memcpy(&it.exptime, s->rec + 8, 8);
		memcpy(&it.wtime_us, s->rec + 16, 8);
		mcm_put_be64(kb, r[i].rank);
		e.mv_size = mcm_seq_entry_encode(&it, s->ikey, s->ikey_len, eb);
		e.mv_data = eb;
		rc = mdb_cursor_put(cur, &k, &e, MDB_APPEND);
	}
	mdb_cursor_close(cur);
	return rc;
}

int mcm_store_reindex(struct mcm_store *st, MDB_txn *txn, uint64_t last)
{
	MDB_stat is;
	struct slot *v;
	struct mcm_rank *r;
	uint64_t differ;
	size_t n, cap;
	int rc;

	if ((rc = mdb_stat(txn, st->items, &is)) != 0)
		return rc;
	if (is.ms_entries > UINT32_MAX)
		return E2BIG;
	cap = is.ms_entries + 1;
	v = malloc(cap * sizeof *v);
	r = malloc(2 * cap * sizeof *r);
	rc = v && r ? collect(st, txn, last, v, r, cap, &n, &differ) : ENOMEM;
	if (rc == 0)
		rc = rewrite(st, txn, v, mcm_rank_sort(r, r + cap, n, differ), n);
	free(v);
	free(r);
	if (rc == 0 && n > REINDEX_MAX)
		st->reindex_off = E2BIG; /* from now on removed one by one */
	if (rc == 0)
		st->reindexes++;
	return rc;
}
