/* reindex.c - rebuild the seq index in bulk from the records, once superseded entries outnumber live ones.
 *
 * With MCM_STORE_BULKSEQ (the drainer), a write that supersedes a record's
 * seq entry leaves the entry where it is: a stale entry, which every reader
 * already skips (docs/FORMAT.md §1.5). Removing entries one by one costs
 * LMDB a search and a node deletion each, which walks every pointer of the
 * page, about 1,900 instructions an overwrite; LMDB frees pages in bulk only
 * when a whole database is emptied. So once the stale entries outnumber the
 * live ones by REINDEX_SLACK, the index is rebuilt in one write transaction
 * of its own: the records are walked in key order, each one's number and the
 * fields its entry copies are collected, sorted by number, the index is
 * emptied (mdb_drop, which frees its pages whole) and the entries are
 * appended in order. Numbers do not change, so nothing that holds a number
 * (a follower's position, the sweep's, a pool's flush_seq, last_seq) moves.
 *
 * The index then holds at most twice the live entries plus REINDEX_SLACK.
 * The rebuild costs about as much per live entry as one removal, so each
 * overwrite pays about half a removal for it. A mirror of more than
 * REINDEX_MAX records (the rebuild's memory, 64 bytes a record, and its pause
 * grow with it) is rebuilt once more and then falls back to removing entries one by one, as does a handle
 * whose rebuild failed: a record whose number is out of range or taken twice
 * (damaged) is never given an entry by guesswork.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "store_internal.h"

#define REINDEX_SLACK 4096      /* stale entries beyond the live ones that start a rebuild */
#define REINDEX_MAX (1u << 18)  /* records above which entries are removed one by one (the rebuild
				   then takes 16 MiB for a while, inside the host's process) */

/* A record as the rebuild collects it: its number and where it lies. */
struct slot {
	uint64_t seq;
	const unsigned char *rec; /* the record's header, in the map (the transaction changes no record) */
	const unsigned char *ikey;
	uint32_t ikey_len;
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

/* Sort v[0..n) by number (LSD radix, 11-bit digits over the bits in which
 * the numbers differ), through tmp (n slots). @return v or tmp: the sorted one. */
static struct slot *sort_slots(struct slot *v, struct slot *tmp, size_t n)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		lo = v[i].seq < lo ? v[i].seq : lo;
		hi = v[i].seq > hi ? v[i].seq : hi;
	}
	for (unsigned shift = 0; n > 1 && shift < 64 && ((hi - lo) >> shift) != 0; shift += 11) {
		size_t count[2049] = {0};
		struct slot *t;

		for (size_t i = 0; i < n; i++)
			count[(((v[i].seq - lo) >> shift) & 2047) + 1]++;
		for (int b = 0; b < 2048; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			tmp[count[((v[i].seq - lo) >> shift) & 2047]++] = v[i];
		t = v; /* the copy sorted so far is the next digit's input */
		v = tmp;
		tmp = t;
	}
	return v;
}

/* Collect every record's number, checked against the numbers handed out. */
static int collect(struct mcm_store *st, MDB_txn *txn, uint64_t last, struct slot *v, size_t cap, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	*n = 0;
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
		v[*n].seq = seq;
		v[*n].rec = d.mv_data;
		v[*n].ikey = k.mv_data;
		v[(*n)++].ikey_len = (uint32_t)k.mv_size;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Empty the index and append one entry for each of the n records v, in number order. */
static int rewrite(struct mcm_store *st, MDB_txn *txn, const struct slot *v, size_t n)
{
	unsigned char kb[8], eb[MCM_SEQ_VALUE_MAX];
	MDB_cursor *cur;
	int rc;

	for (size_t i = 1; i < n; i++)
		if (v[i].seq == v[i - 1].seq)
			return MCM_EDAMAGED; /* a number taken twice: some record's is wrong */
	if ((rc = mdb_drop(txn, st->seq, 0)) != 0 || (rc = mdb_cursor_open(txn, st->seq, &cur)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct mcm_item it;
		MDB_val k = {8, kb}, e;

		it.kind = v[i].rec[1];
		memcpy(&it.exptime, v[i].rec + 8, 8);
		memcpy(&it.wtime_us, v[i].rec + 16, 8);
		mcm_put_be64(kb, v[i].seq);
		e.mv_size = mcm_seq_entry_encode(&it, v[i].ikey, v[i].ikey_len, eb);
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
	size_t n;
	int rc;

	if ((rc = mdb_stat(txn, st->items, &is)) != 0)
		return rc;
	if (!(v = malloc(2 * (is.ms_entries + 1) * sizeof *v)))
		return ENOMEM;
	rc = collect(st, txn, last, v, is.ms_entries + 1, &n);
	if (rc == 0) {
		rc = rewrite(st, txn, sort_slots(v, v + is.ms_entries + 1, n), n);
	}
	free(v);
	if (rc == 0 && n > REINDEX_MAX)
		st->reindex_off = E2BIG; /* from now on removed one by one */
	if (rc == 0)
		st->reindexes++;
	return rc;
}
