/* reindex.c - rebuild the seq index in bulk from the records, once superseded entries are two a record.
 *
 * With MCM_STORE_BULKSEQ (the drainer, except in always mode), a write that
 * supersedes a record's seq entry leaves the entry where it is: a stale
 * entry, which every reader already skips (docs/FORMAT.md §1.5). Removing
 * entries one by one costs LMDB a search and a node deletion each, which
 * walks every pointer of the page: about 1,900 instructions an overwrite.
 * LMDB frees pages in bulk only when a whole database is emptied. So once
 * there are MCM_REINDEX_RATIO (2) stale entries a record and REINDEX_SLACK
 * more, the index is rebuilt in one write transaction of its own: the
 * records are walked in key order, each one's number and the fields its
 * entry copies are collected and sorted by number, the index is emptied
 * (mdb_drop, which frees its pages whole) and the entries are appended in
 * order, packed in bundles (store/seqidx.c). Numbers do not change, so
 * nothing that holds a number (a follower's position, the sweep's, a pool's
 * flush_seq, last_seq) moves.
 *
 * The index then holds at most three times the records plus REINDEX_SLACK
 * entries. A rebuild costs about 400 instructions a record (1,000 when each
 * entry was an LMDB value of its own), and at least twice as many overwrites
 * as records (plus REINDEX_SLACK) lie between two: each pays about 165 for it
 * (bench/write/cost.sh, 10,000 keys; 720 when it came after one stale entry
 * a record and entries were not bundled, and the sweep's larger budget costs
 * less than the difference). A mirror of more than REINDEX_MAX
 * records (the rebuild's memory, 64 bytes a record, and its pause grow with
 * it) is rebuilt once more, then its entries are removed one by one.
 *
 * Numbers are read from the records without checking their CRC (that would
 * cost a pass over every value). A number that cannot be right (0, above
 * last_seq, or claimed by two records) is checked: a damaged record gets no
 * entry (readers walking by number already skipped it, as its number was not
 * its entry's; walks by key still report it), the one record that checks out
 * keeps the number. Any other case (a record that checks out with such a
 * number) stops the rebuild: nothing is guessed, the handle removes entries
 * one by one from then on, and store.c clears the stale ones once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "store_internal.h"

#define REINDEX_SLACK 4096      /* stale entries beyond MCM_REINDEX_RATIO a record that start a rebuild */
#define REINDEX_MAX (1u << 16)  /* records above which entries are removed one by one: a rebuild
				   then takes up to 4 MiB for a while, inside the host's process,
				   and fits (about 60 ms) in the time a process that exits waits for
				   the drainer (shim/writer.c EXIT_WAIT_MS, 200 ms): cut short, it
				   would be done again by the next process */

/* A record as the rebuild collects it: where it lies (its number is in the rank). */
struct slot {
	const unsigned char *rec; /* the record, in the map (the transaction changes no record); NULL:
				     damaged and claiming another's number, it gets no entry */
	const unsigned char *ikey;
	size_t ikey_len, rec_len;
};

int mcm_store_bulk_seq(const struct mcm_store *st)
{
	return (st->flags & MCM_STORE_BULKSEQ) && !st->reindex_off && st->format == MCM_FORMAT_VERSION;
}

int mcm_store_index_load(struct mcm_store *st, MDB_txn *txn, uint64_t *records, uint64_t *entries)
{
	MDB_stat is;
	int rc;

	*records = *entries = 0;
	if (!mcm_store_bulk_seq(st))
		return 0;
	if ((rc = mdb_stat(txn, st->items, &is)) != 0 || (rc = mcm_seqidx_entries(st, txn, entries)) != 0)
		return rc;
	*records = is.ms_entries;
	return 0;
}

int mcm_store_reindex_due(struct mcm_store *st, MDB_txn *txn, int *due)
{
	uint64_t records, entries;
	int rc = mcm_store_index_load(st, txn, &records, &entries);

	if (records > REINDEX_MAX) /* one last rebuild removes those left so far (mcm_store_reindex) */
		*due = entries > records;
	else
		*due = entries >= (MCM_REINDEX_RATIO + 1) * records + REINDEX_SLACK;
	return rc;
}

/* Does the record d under key k fail its checks (its CRC)? */
static int damaged(const MDB_val *k, const MDB_val *d)
{
	struct mcm_item it;

	return mcm_item_decode(k->mv_data, k->mv_size, d->mv_data, d->mv_size, &it) != 0;
}

/* Records that claim one number (r[a..b), b > a + 1): the one that checks
 * out keeps it, the damaged ones get no entry (their rec set to NULL).
 * @return 0, or MCM_EDAMAGED when not exactly one checks out. */
static int settle(struct slot *v, const struct mcm_rank *r, size_t a, size_t b)
{
	size_t good = 0;

	for (size_t i = a; i < b; i++) {
		struct slot *s = &v[r[i].index];
		MDB_val k = {s->ikey_len, (void *)s->ikey}, d = {s->rec_len, (void *)s->rec};

		if (damaged(&k, &d))
			s->rec = NULL;
		else
			good++;
	}
	return good == 1 ? 0 : MCM_EDAMAGED;
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
			if (!damaged(&k, &d)) {
				rc = MCM_EDAMAGED; /* a number no record can have */
				break;
			}
			continue; /* damaged: no entry (see the top of the file) */
		}
		r[*n].rank = seq;
		r[*n].index = (uint32_t)*n;
		*differ |= seq ^ r[0].rank;
		v[*n].rec = d.mv_data;
		v[*n].rec_len = d.mv_size;
		v[*n].ikey = k.mv_data;
		v[(*n)++].ikey_len = k.mv_size;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Empty the index and append one entry for each of the n records v, in the number order r. */
static int rewrite(struct mcm_store *st, MDB_txn *txn, struct slot *v, const struct mcm_rank *r, size_t n)
{
	unsigned char eb[MCM_SEQ_VALUE_MAX];
	struct mcm_seqapp app;
	MDB_cursor *cur;
	int rc;

	for (size_t a = 0, b; a < n; a = b) { /* a number taken twice: some record's is wrong */
		for (b = a + 1; b < n && r[b].rank == r[a].rank; b++)
			;
		if (b > a + 1 && (rc = settle(v, r, a, b)) != 0)
			return rc;
	}
	if ((rc = mcm_seqidx_clear(st, txn)) != 0 || (rc = mdb_cursor_open(txn, st->seq, &cur)) != 0)
		return rc;
	mcm_seqapp_begin(&app, st, cur);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct slot *s = &v[r[i].index];
		struct mcm_item it;

		if (!s->rec)
			continue;

		it.kind = s->rec[1];
		memcpy(&it.exptime, s->rec + 8, 8);
		memcpy(&it.wtime_us, s->rec + 16, 8);
		rc = mcm_seqapp_add(&app, txn, r[i].rank, eb, mcm_seq_entry_encode(&it, s->ikey, s->ikey_len, eb));
	}
	if (rc == 0)
		rc = mcm_seqapp_end(&app, txn);
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

int mcm_store_drop_stale(struct mcm_store *st, MDB_txn *txn)
{
	struct mcm_seqcur c;
	struct mcm_seq_entry e;
	uint64_t at;
	int rc, crc;

	if ((rc = mcm_seqcur_open(st, txn, &c)) != 0)
		return rc;
	while ((rc = mcm_seqcur_next(&c, &at, &e)) == 0 || rc == MCM_EDAMAGED) {
		MDB_val ik, d;
		uint64_t seq = 0;
		int get;

		if (rc == MCM_EDAMAGED)
			continue; /* not the store's: the sweep's */
		ik.mv_size = e.ikey_len;
		ik.mv_data = (void *)e.ikey;
		if ((get = mdb_get(txn, st->items, &ik, &d)) == 0 && d.mv_size >= MCM_ITEM_HEADER_V1)
			memcpy(&seq, (const unsigned char *)d.mv_data + 24, 8); /* little-endian host */
		if (get != 0 && get != MDB_NOTFOUND) {
			rc = get;
			break;
		}
		if (seq != at && (rc = mcm_seqcur_remove(&c)) != 0) /* stale */
			break;
	}
	crc = mcm_seqcur_close(&c);
	return rc == MDB_NOTFOUND ? crc : rc;
}
