/* mcm_seqidx.h - the "seq" index: how its entries are laid out in LMDB, and the only code that reads or writes them.
 *
 * The index lists the mirror's records in the order of their numbers
 * (docs/FORMAT.md §1.5). An entry is a number and the 24 + n bytes of
 * mcm_seq_entry_encode (the record's kind, expiry and write time, then its
 * "items" key).
 *
 * Format 3 packs entries into bundles: one LMDB value holds up to
 * MCM_BUNDLE_ENTRIES entries of ascending numbers, MCM_BUNDLE_BYTES at most,
 * under the big-endian number of the largest entry it was written with (an
 * upper bound of its numbers: the entry itself may since have gone). Every
 * entry of a bundle is above the previous bundle's key, so the first entry
 * numbered n or more is in the first bundle whose key is n or more: one
 * MDB_SET_RANGE. A run of appends costs one LMDB put a bundle, not one an
 * entry (MDB_APPEND descends from the root each time), and a walk steps
 * from entry to entry inside a bundle without stepping the LMDB cursor.
 * Removing an entry rewrites its bundle (a walk that removes several
 * rewrites it once, when it leaves it). Bundle layout, little-endian:
 *   0 u8 1 (the bundle layout)  1 u8 count (1..MCM_BUNDLE_ENTRIES)  2 u16 0
 *   then count times: 0 u64 number  8 u16 len  10 the entry (len bytes)
 * Formats 1 and 2 have one entry a value, under its own number. Such a
 * value may stay in a format 3 index (the first writable open of an older
 * mirror rewrites nothing: mcm_seqidx_convert): a reader tells it from a
 * bundle by its second byte, 0 in an entry, a count in a bundle, and takes it
 * as a bundle of one; the next bulk rebuild packs it with the others.
 *
 * The number of entries is kept in meta "entries" (LMDB counts bundles):
 * every change through this module adds to st->seq_delta, which
 * mcm_seqidx_save_count writes before the transaction commits.
 *
 * A value that does not decode (damaged, or not written by the store) is
 * one "entry" to the cursor: seek and next return MCM_EDAMAGED on it with
 * *seq its key; remove deletes it, next passes it.
 */
#ifndef MCM_SEQIDX_H
#define MCM_SEQIDX_H

#include <lmdb.h>
#include <stdint.h>

#include "mcm_record.h"

#define MCM_BUNDLE_ENTRIES 64   /**< entries a bundle holds at most */
#define MCM_BUNDLE_BYTES 1900u  /**< bytes a bundle holds at most (under LMDB's 2,022 for a value on a 4 KiB page) */
#define MCM_BUNDLE_HEADER 4u
#define MCM_BUNDLE_ENTRY_HEADER 10u

struct mcm_store;

/** A position in the index: a cursor and the entry it stands on. */
struct mcm_seqcur {
	struct mcm_store *st;
	MDB_cursor *cur;
	uint64_t key;              /* the LMDB key the cursor stands on */
	const unsigned char *val;  /* its value: in the map, or work once an entry went */
	size_t len;
	size_t off;                /* format 3: the current entry's offset in val */
	unsigned idx, count;       /* format 3: its index, and the bundle's entries */
	uint64_t gone;             /* format 3: entries removed from the bundle (bit idx) */
	int on;                    /* stands on an entry (or a damaged value) */
	int bad;                   /* the value under the cursor does not decode */
	int single;                /* it is one entry under its own number (formats 1-2) */
	int removed;               /* format 1-2 or a damaged value: removed, the cursor is on the next */
	int started;               /* positioned once: past the end, next stays there */
	int plain;                 /* on a bundle that decoded, none of its entries removed: next may
				      step inside it inline */
	unsigned char work[MCM_BUNDLE_BYTES];
};

/** Is the bundle val (len bytes) under key whole: a known layout, a count in
 * range, entries that end exactly at len, numbers ascending from 1 up to key,
 * each entry one mcm_seq_entry_decode accepts? @return its count, or 0. */
unsigned mcm_seqidx_check(const unsigned char *val, size_t len, uint64_t key);

/** Open a position on the index inside txn (read or write). @return 0 or an LMDB code. */
int mcm_seqcur_open(struct mcm_store *st, MDB_txn *txn, struct mcm_seqcur *c);

/** The cursor was renewed in a new read transaction (mdb_cursor_renew): its
 * place means nothing; the next call must be a seek. */
void mcm_seqcur_renewed(struct mcm_seqcur *c);

/** Write back the removals from the bundle under the cursor, and close it.
 * @return 0 or an LMDB code (the transaction must then be aborted). */
int mcm_seqcur_close(struct mcm_seqcur *c);

/** Stand on the first entry numbered from or more.
 * @return 0 (*seq and *e set), MCM_EDAMAGED (a value that does not decode,
 * *seq its key), MDB_NOTFOUND at the end, or an LMDB code. */
int mcm_seqcur_seek(struct mcm_seqcur *c, uint64_t from, uint64_t *seq, struct mcm_seq_entry *e);

/** A little-endian u16 of a bundle. */
static inline uint16_t mcm_bundle_get16(const unsigned char *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

/** The bytes of the bundle entry at p, its header included. */
static inline size_t mcm_bundle_entry_size(const unsigned char *p)
{
	return MCM_BUNDLE_ENTRY_HEADER + mcm_bundle_get16(p + 8);
}

/** The entry at p in a bundle that decoded (its fields checked then). */
static inline void mcm_bundle_entry(const unsigned char *p, uint64_t *seq, struct mcm_seq_entry *e)
{
	const unsigned char *b = p + MCM_BUNDLE_ENTRY_HEADER;

	*seq = mcm_get_le64(p);
	e->kind = b[0];
	e->exptime = (int64_t)mcm_get_le64(b + 8);
	e->wtime_us = mcm_get_le64(b + 16);
	e->ikey = b + MCM_SEQ_HEADER;
	e->ikey_len = mcm_bundle_get16(p + 8) - MCM_SEQ_HEADER;
}

int mcm_seqcur_next_slow(struct mcm_seqcur *c, uint64_t *seq, struct mcm_seq_entry *e);

/** Stand on the next entry (the first one when not yet positioned; past the
 * end, MDB_NOTFOUND again). Returns as seek.
 * (Inline: the sweep steps through a bundle's entries for the cost of a decode each.) */
static inline int mcm_seqcur_next(struct mcm_seqcur *c, uint64_t *seq, struct mcm_seq_entry *e)
{
	if (c->plain && c->idx + 1 < c->count) {
		c->off += mcm_bundle_entry_size(c->val + c->off);
		c->idx++;
		mcm_bundle_entry(c->val + c->off, seq, e);
		return 0;
	}
	return mcm_seqcur_next_slow(c, seq, e);
}

/** Remove the entry (or damaged value) the cursor stands on, in a write
 * transaction: next then gives the one after it. (An entry of a bundle goes
 * when the cursor leaves the bundle or closes; *e of the entries after it
 * stay valid until then.) @return 0 or an LMDB code. */
int mcm_seqcur_remove(struct mcm_seqcur *c);

/** Appends of entries numbered above every number in the index, ascending,
 * packed into bundles (in a write transaction). */
struct mcm_seqapp {
	struct mcm_store *st;
	MDB_cursor *cur;
	uint64_t last;     /* the number last added */
	size_t len;
	unsigned count;
	unsigned char buf[MCM_BUNDLE_BYTES];
};

/** Start appending through cur (a cursor on st->seq, or NULL: one is opened for each bundle). */
void mcm_seqapp_begin(struct mcm_seqapp *a, struct mcm_store *st, MDB_cursor *cur);

/** Add the entry (len bytes, mcm_seq_entry_encode) numbered seq.
 * @return 0, EPROTO (seq not above the last one added, or len out of range), or an LMDB code. */
int mcm_seqapp_add(struct mcm_seqapp *a, MDB_txn *txn, uint64_t seq, const unsigned char *entry, size_t len);

/** Write the bundle being filled. @return 0, EEXIST (a number not above
 * every number in the index), or an LMDB code. */
int mcm_seqapp_end(struct mcm_seqapp *a, MDB_txn *txn);

/** Put the entry numbered seq wherever its number falls (a record that keeps
 * its number: a restore, or its own entry rewritten): into the bundle that
 * covers it, split in two when full. replace: an entry of that number is
 * replaced; else it stays and EEXIST is returned. @return 0, EEXIST, or an LMDB code. */
int mcm_seqidx_put(struct mcm_store *st, MDB_txn *txn, uint64_t seq, const unsigned char *entry, size_t len,
		   int replace);

/** Empty the index (its pages freed whole). @return 0 or an LMDB code. */
int mcm_seqidx_clear(struct mcm_store *st, MDB_txn *txn);

/** The entries of the index inside txn (the count this transaction's changes
 * made, before mcm_seqidx_save_count too). @return 0 or an LMDB code. */
int mcm_seqidx_entries(struct mcm_store *st, MDB_txn *txn, uint64_t *n);

/** Write the count of entries this transaction's changes made (meta
 * "entries"): before every commit of a transaction that changed the index.
 * @return 0 or an LMDB code. */
int mcm_seqidx_save_count(struct mcm_store *st, MDB_txn *txn);

/** Make a format 2 index (one entry a value) a format 3 one: its values stay
 * (readers take each as a bundle of one), its count is saved, st->format
 * becomes 3. @return 0 or an LMDB code. */
int mcm_seqidx_convert(struct mcm_store *st, MDB_txn *txn);

#endif
