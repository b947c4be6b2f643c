/* seqidx.c - the "seq" index's layout: entries packed in bundles (format 3), or one a value (1, 2). See mcm_seqidx.h. */
#include <errno.h>
#include <string.h>

#include "mcm_seqidx.h"
#include "store_internal.h"

static const char META_ENTRIES[] = "entries";

#define BUNDLE_LAYOUT 1

#define get16 mcm_bundle_get16

static void put16(unsigned char *b, uint16_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
}

static void put64(unsigned char *b, uint64_t v)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(b, &v, 8);
}

/* The header of a bundle of count entries. */
static void put_head(unsigned char *b, unsigned count)
{
	b[0] = BUNDLE_LAYOUT;
	b[1] = (unsigned char)count;
	put16(b + 2, 0);
}

static int bundled(const struct mcm_store *st)
{
	return st->format >= 3;
}

unsigned mcm_seqidx_check(const unsigned char *val, size_t len, uint64_t key)
{
	unsigned count;
	size_t off = MCM_BUNDLE_HEADER;
	uint64_t prev = 0;

	if (len < MCM_BUNDLE_HEADER || len > MCM_BUNDLE_BYTES || val[0] != BUNDLE_LAYOUT || val[1] == 0 ||
	    val[1] > MCM_BUNDLE_ENTRIES)
		return 0;
	count = val[1];
	for (unsigned i = 0; i < count; i++) {
		struct mcm_seq_entry e;
		uint64_t seq;
		size_t elen;

		if (len - off < MCM_BUNDLE_ENTRY_HEADER)
			return 0;
		seq = mcm_get_le64(val + off);
		elen = get16(val + off + 8);
		if (len - off - MCM_BUNDLE_ENTRY_HEADER < elen || seq == 0 || seq <= prev || seq > key ||
		    mcm_seq_entry_decode(val + off + MCM_BUNDLE_ENTRY_HEADER, elen, 2, &e) != 0)
			return 0;
		prev = seq;
		off += MCM_BUNDLE_ENTRY_HEADER + elen;
	}
	return off == len ? count : 0;
}

/* The entries a damaged value counted for in meta "entries": what it says it
 * held, when that can be a bundle's count, else one. */
static unsigned claimed(const unsigned char *val, size_t len)
{
	return len > 1 && val[1] >= 1 && val[1] <= MCM_BUNDLE_ENTRIES ? val[1] : 1;
}

/* The cursor's LMDB position moved (rc, k, v): take the value under it. */
static int land(struct mcm_seqcur *c, int rc, const MDB_val *k, const MDB_val *v)
{
	c->started = 1;
	c->on = 0;
	c->plain = 0;
	c->removed = 0;
	c->gone = 0;
	if (rc != 0)
		return rc;
	c->on = 1;
	c->val = v->mv_data;
	c->len = v->mv_size;
	c->bad = k->mv_size != 8;
	c->key = c->bad ? 0 : mcm_get_be64(k->mv_data);
	c->idx = 0;
	c->off = MCM_BUNDLE_HEADER;
	c->count = 0;
	/* one entry under its own number: formats 1 and 2, or a format 2 entry
	 * still in a format 3 index (its second byte is 0, a bundle's count not) */
	c->single = !bundled(c->st) || (c->len >= 2 && c->val[1] == 0);
	if (!c->single && !c->bad)
		c->bad = (c->count = mcm_seqidx_check(c->val, c->len, c->key)) == 0;
	c->plain = !c->single && !c->bad;
	return 0;
}

/* What the cursor stands on, as an entry. */
static int current(const struct mcm_seqcur *c, uint64_t *seq, struct mcm_seq_entry *e)
{
	if (c->bad) {
		*seq = c->key;
		return MCM_EDAMAGED;
	}
	if (c->single) {
		*seq = c->key;
		return mcm_seq_entry_decode(c->val, c->len, c->st->format == 1 ? 1 : 2, e);
	}
	mcm_bundle_entry(c->val + c->off, seq, e); /* (mcm_seqidx_check checked it) */
	return 0;
}

/* Inside a bundle: on to the next entry. @return 1, or 0 past its last one. */
static int step_raw(struct mcm_seqcur *c)
{
	if (c->idx + 1 >= c->count)
		return 0;
	c->off += mcm_bundle_entry_size(c->val + c->off);
	c->idx++;
	return 1;
}

/* Inside a bundle: on to the next entry not removed. @return 1, or 0 past its last one. */
static int step_in(struct mcm_seqcur *c)
{
	while (step_raw(c))
		if (!(c->gone >> c->idx & 1))
			return 1;
	return 0;
}

/* Write back the bundle under the cursor without its removed entries (or
 * delete it when none is left). *moved: the LMDB cursor already stands on
 * the next value. */
static int flush(struct mcm_seqcur *c, int *moved)
{
	size_t off = MCM_BUNDLE_HEADER, out = MCM_BUNDLE_HEADER;
	unsigned left = 0;
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;

	*moved = 0;
	if (!c->on || c->bad || !c->gone)
		return 0;
	for (unsigned i = 0; i < c->count; i++) {
		size_t n = mcm_bundle_entry_size(c->val + off);

		if (!(c->gone >> i & 1)) {
			memcpy(c->work + out, c->val + off, n);
			out += n;
			left++;
		}
		off += n;
	}
	c->gone = 0;
	c->plain = 0;
	if (left == 0) {
		*moved = 1;
		c->on = 0;
		return mdb_cursor_del(c->cur, 0);
	}
	put_head(c->work, left);
	mcm_put_be64(kb, c->key);
	v.mv_size = out;
	v.mv_data = c->work;
	c->on = 0; /* (val no longer matches) */
	c->plain = 0;
	return mdb_cursor_put(c->cur, &k, &v, MDB_CURRENT);
}

int mcm_seqcur_open(struct mcm_store *st, MDB_txn *txn, struct mcm_seqcur *c)
{
	c->st = st;
	c->cur = NULL;
	mcm_seqcur_renewed(c);
	return mdb_cursor_open(txn, st->seq, &c->cur);
}

void mcm_seqcur_renewed(struct mcm_seqcur *c)
{
	c->on = c->bad = c->removed = c->plain = c->started = c->single = 0;
	c->gone = 0;
}

int mcm_seqcur_close(struct mcm_seqcur *c)
{
	int moved, rc = flush(c, &moved);

	mdb_cursor_close(c->cur);
	c->cur = NULL;
	return rc;
}

/* Leave the value under the cursor (its removals written back) for the next one. */
static int move_on(struct mcm_seqcur *c)
{
	MDB_val k, v;
	int moved, rc = flush(c, &moved);

	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(c->cur, &k, &v, moved ? MDB_GET_CURRENT : MDB_NEXT);
	return land(c, rc == EINVAL && moved ? MDB_NOTFOUND : rc, &k, &v);
}

/* From what the cursor stands on, on to the first entry not removed and
 * numbered from or more (a value of one entry, or a damaged one, is taken
 * as it is: the LMDB position already says it is at or above from). */
static int settle(struct mcm_seqcur *c, uint64_t from, uint64_t *seq, struct mcm_seq_entry *e)
{
	int rc;

	for (;;) {
		if (c->bad || c->single)
			return current(c, seq, e);
		do {
			if (!(c->gone >> c->idx & 1) && mcm_get_le64(c->val + c->off) >= from)
				return current(c, seq, e);
		} while (step_raw(c));
		if ((rc = move_on(c)) != 0)
			return rc;
	}
}

int mcm_seqcur_seek(struct mcm_seqcur *c, uint64_t from, uint64_t *seq, struct mcm_seq_entry *e)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	int moved, rc;

	/* forward inside the bundle the cursor stands on (drop_dead's ascending seeks) */
	if (c->on && !c->removed && !c->bad && !c->single && from <= c->key &&
	    mcm_get_le64(c->val + c->off) <= from)
		return settle(c, from, seq, e);
	if ((rc = flush(c, &moved)) != 0)
		return rc;
	mcm_put_be64(kb, from);
	rc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
	if ((rc = land(c, rc, &k, &v)) != 0)
		return rc;
	return settle(c, from, seq, e);
}

int mcm_seqcur_next_slow(struct mcm_seqcur *c, uint64_t *seq, struct mcm_seq_entry *e)
{
	MDB_val k, v;
	int rc;

	if (c->on && c->removed) { /* a whole value went: LMDB's cursor is on the next one */
		rc = mdb_cursor_get(c->cur, &k, &v, MDB_GET_CURRENT);
		rc = land(c, rc == EINVAL ? MDB_NOTFOUND : rc, &k, &v);
	} else if (!c->on) { /* the first step, or one past the end (which stays there) */
		if (c->started)
			return MDB_NOTFOUND;
		rc = land(c, mdb_cursor_get(c->cur, &k, &v, MDB_FIRST), &k, &v);
	} else if (!c->bad && !c->single && step_in(c)) {
		return current(c, seq, e);
	} else {
		rc = move_on(c);
	}
	return rc != 0 ? rc : settle(c, 0, seq, e);
}

int mcm_seqcur_remove(struct mcm_seqcur *c)
{
	if (!c->on || c->removed)
		return EINVAL;
	if (c->bad || c->single) {
		unsigned n = c->single ? 1 : claimed(c->val, c->len);
		int rc = mdb_cursor_del(c->cur, 0);

		if (rc == 0) {
			c->removed = 1;
			c->plain = 0;
			c->st->seq_delta -= n;
		}
		return rc;
	}
	c->gone |= (uint64_t)1 << c->idx;
	c->plain = 0; /* (next skips the entries removed) */
	c->st->seq_delta--;
	return 0;
}

void mcm_seqapp_begin(struct mcm_seqapp *a, struct mcm_store *st, MDB_cursor *cur)
{
	a->st = st;
	a->cur = cur;
	a->last = 0;
	a->len = MCM_BUNDLE_HEADER;
	a->count = 0;
}

int mcm_seqapp_end(struct mcm_seqapp *a, MDB_txn *txn)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v = {a->len, a->buf};
	int rc;

	if (a->count == 0)
		return 0;
	put_head(a->buf, a->count);
	mcm_put_be64(kb, a->last);
	rc = a->cur ? mdb_cursor_put(a->cur, &k, &v, MDB_APPEND) : mdb_put(txn, a->st->seq, &k, &v, MDB_APPEND);
	if (rc == 0)
		a->st->seq_delta += a->count;
	a->len = MCM_BUNDLE_HEADER;
	a->count = 0;
	return rc == MDB_KEYEXIST ? EEXIST : rc;
}

int mcm_seqapp_add(struct mcm_seqapp *a, MDB_txn *txn, uint64_t seq, const unsigned char *entry, size_t len)
{
	int rc;

	if (seq <= a->last || len <= MCM_SEQ_HEADER + 8 || len > MCM_SEQ_VALUE_MAX)
		return EPROTO;
	if (a->count == MCM_BUNDLE_ENTRIES || a->len + MCM_BUNDLE_ENTRY_HEADER + len > MCM_BUNDLE_BYTES)
		if ((rc = mcm_seqapp_end(a, txn)) != 0)
			return rc;
	put64(a->buf + a->len, seq);
	put16(a->buf + a->len + 8, (uint16_t)len);
	memcpy(a->buf + a->len + MCM_BUNDLE_ENTRY_HEADER, entry, len);
	a->len += MCM_BUNDLE_ENTRY_HEADER + len;
	a->count++;
	a->last = seq;
	return 0;
}

/* Write the entries of bundle val (count of them) plus, at index at, the
 * entry (seq, entry, len) (replacing the one there when replace), as one
 * bundle or, when they do not fit, two: the first under the number of its
 * last entry, the second under key. The cursor stands on val's bundle. */
static int rewrite_with(struct mcm_store *st, MDB_cursor *cur, uint64_t key, const unsigned char *val, unsigned count,
			unsigned at, int replace, uint64_t seq, const unsigned char *entry, size_t len)
{
	unsigned char buf[2][MCM_BUNDLE_BYTES], kb[8];
	size_t off[MCM_BUNDLE_ENTRIES + 2], n = 0, o = MCM_BUNDLE_HEADER, fill[2] = {MCM_BUNDLE_HEADER, MCM_BUNDLE_HEADER};
	unsigned split = 0, cnt[2] = {0, 0};
	MDB_val k = {8, kb}, v;
	int rc;

	/* the entries' offsets in order, the new one marked by SIZE_MAX */
	for (unsigned i = 0; i <= count; i++) {
		if (i == at)
			off[n++] = SIZE_MAX;
		if (i == count)
			break;
		if (!(replace && i == at))
			off[n++] = o;
		o += mcm_bundle_entry_size(val + o);
	}
	/* one bundle when it fits, else the first half apart */
	size_t bytes = MCM_BUNDLE_HEADER;
	for (size_t i = 0; i < n; i++)
		bytes += off[i] == SIZE_MAX ? MCM_BUNDLE_ENTRY_HEADER + len : mcm_bundle_entry_size(val + off[i]);
	if (n > MCM_BUNDLE_ENTRIES || bytes > MCM_BUNDLE_BYTES) /* two, of about half the bytes each */
		for (size_t i = 0, half = MCM_BUNDLE_HEADER; i + 1 < n && half < bytes / 2; i++) {
			half += off[i] == SIZE_MAX ? MCM_BUNDLE_ENTRY_HEADER + len
						   : mcm_bundle_entry_size(val + off[i]);
			split = (unsigned)i + 1;
		}
	for (size_t i = 0; i < n; i++) {
		int b = i >= split ? 1 : 0;
		unsigned char *p = buf[b] + fill[b];

		if (off[i] == SIZE_MAX) {
			put64(p, seq);
			put16(p + 8, (uint16_t)len);
			memcpy(p + MCM_BUNDLE_ENTRY_HEADER, entry, len);
			fill[b] += MCM_BUNDLE_ENTRY_HEADER + len;
		} else {
			size_t l = mcm_bundle_entry_size(val + off[i]);

			memcpy(p, val + off[i], l);
			fill[b] += l;
		}
		cnt[b]++;
	}
	put_head(buf[0], cnt[0]);
	put_head(buf[1], cnt[1]);
	/* the second (or only) one replaces the bundle under key; the first goes before it */
	mcm_put_be64(kb, key);
	v.mv_size = fill[1];
	v.mv_data = buf[1];
	if ((rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT)) != 0 || cnt[0] == 0)
		return rc;
	/* the first half's last number: the entry just before buf[1]'s first */
	uint64_t last = 0;
	for (size_t p = MCM_BUNDLE_HEADER, i = 0; i < cnt[0]; i++) {
		last = mcm_get_le64(buf[0] + p);
		p += mcm_bundle_entry_size(buf[0] + p);
	}
	mcm_put_be64(kb, last);
	v.mv_size = fill[0];
	v.mv_data = buf[0];
	rc = mdb_put(mdb_cursor_txn(cur), st->seq, &k, &v, MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? EEXIST : rc;
}

int mcm_seqidx_put(struct mcm_store *st, MDB_txn *txn, uint64_t seq, const unsigned char *entry, size_t len,
		   int replace)
{
	unsigned char kb[8], one[MCM_BUNDLE_HEADER + MCM_BUNDLE_ENTRY_HEADER + MCM_SEQ_VALUE_MAX];
	struct mcm_seq_entry one_e;
	MDB_val k = {8, kb}, v;
	MDB_cursor *cur;
	unsigned count, at;
	size_t off;
	int rc;

	if (seq == 0 || len <= MCM_SEQ_HEADER + 8 || len > MCM_SEQ_VALUE_MAX)
		return EPROTO;
	if (st->seq_app_on && (rc = mcm_seqapp_end(&st->seq_app, txn)) != 0)
		return rc; /* (entries kept aside come first: their numbers may be below seq) */
	if ((rc = mdb_cursor_open(txn, st->seq, &cur)) != 0)
		return rc;
	mcm_put_be64(kb, seq);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND) { /* above every bundle: one of its own */
		struct mcm_seqapp a;

		mcm_seqapp_begin(&a, st, cur);
		if ((rc = mcm_seqapp_add(&a, txn, seq, entry, len)) == 0)
			rc = mcm_seqapp_end(&a, txn);
		mdb_cursor_close(cur);
		return rc;
	}
	if (rc != 0 || k.mv_size != 8) {
		mdb_cursor_close(cur);
		return rc != 0 ? rc : MCM_EDAMAGED;
	}
	if (v.mv_size >= 2 && ((const unsigned char *)v.mv_data)[1] == 0 &&
	    mcm_seq_entry_decode(v.mv_data, v.mv_size, 2, &one_e) == 0) {
		/* a format 2 entry under its own number: taken as a bundle of it alone */
		put64(one + MCM_BUNDLE_HEADER, mcm_get_be64(k.mv_data));
		put16(one + MCM_BUNDLE_HEADER + 8, (uint16_t)v.mv_size);
		memcpy(one + MCM_BUNDLE_HEADER + MCM_BUNDLE_ENTRY_HEADER, v.mv_data, v.mv_size);
		put_head(one, 1);
		v.mv_data = one;
		v.mv_size = MCM_BUNDLE_HEADER + MCM_BUNDLE_ENTRY_HEADER + v.mv_size;
	}
	if ((count = mcm_seqidx_check(v.mv_data, v.mv_size, mcm_get_be64(k.mv_data))) == 0) {
		/* damaged (its entries unreadable anyway): a bundle of this entry alone
		 * takes its place, under its key (at or above seq) */
		unsigned n = claimed(v.mv_data, v.mv_size);

		rc = rewrite_with(st, cur, mcm_get_be64(k.mv_data), NULL, 0, 0, 0, seq, entry, len);
		if (rc == 0)
			st->seq_delta += 1 - (int64_t)n;
		mdb_cursor_close(cur);
		return rc;
	}
	/* where seq goes in it */
	off = MCM_BUNDLE_HEADER;
	for (at = 0; at < count; at++) {
		uint64_t s = mcm_get_le64((const unsigned char *)v.mv_data + off);

		if (s >= seq)
			break;
		off += mcm_bundle_entry_size((const unsigned char *)v.mv_data + off);
	}
	int exists = at < count && mcm_get_le64((const unsigned char *)v.mv_data + off) == seq;

	if (exists && !replace) {
		mdb_cursor_close(cur);
		return EEXIST;
	}
	rc = rewrite_with(st, cur, mcm_get_be64(k.mv_data), v.mv_data, count, at, exists, seq, entry, len);
	if (rc == 0 && !exists)
		st->seq_delta++;
	mdb_cursor_close(cur);
	return rc;
}

int mcm_seqidx_clear(struct mcm_store *st, MDB_txn *txn)
{
	uint64_t n;
	int rc = mcm_seqidx_entries(st, txn, &n);

	if (rc == 0 && (rc = mdb_drop(txn, st->seq, 0)) == 0)
		st->seq_delta -= (int64_t)n;
	return rc;
}

/* The count saved in meta (format 3), or LMDB's (one entry a value). */
static int saved_count(struct mcm_store *st, MDB_txn *txn, uint64_t *n)
{
	MDB_val k = {sizeof META_ENTRIES - 1, (void *)META_ENTRIES}, v;
	MDB_stat ms;
	int rc;

	*n = 0;
	if (!bundled(st)) {
		if ((rc = mdb_stat(txn, st->seq, &ms)) == 0)
			*n = ms.ms_entries;
		return rc;
	}
	if ((rc = mdb_get(txn, st->meta, &k, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc == 0 && v.mv_size == 8)
		memcpy(n, v.mv_data, 8);
	return rc;
}

int mcm_seqidx_entries(struct mcm_store *st, MDB_txn *txn, uint64_t *n)
{
	int rc = saved_count(st, txn, n);

	if (rc == 0 && bundled(st))
		*n = st->seq_delta < 0 && (uint64_t)-st->seq_delta > *n ? 0 : (uint64_t)((int64_t)*n + st->seq_delta);
	return rc;
}

int mcm_seqidx_save_count(struct mcm_store *st, MDB_txn *txn)
{
	MDB_val k = {sizeof META_ENTRIES - 1, (void *)META_ENTRIES}, v;
	uint64_t n;
	int rc;

	if (st->seq_delta == 0 || !bundled(st))
		return 0;
	if ((rc = mcm_seqidx_entries(st, txn, &n)) != 0)
		return rc;
	st->seq_delta = 0;
	v.mv_size = 8;
	v.mv_data = &n;
	return mdb_put(txn, st->meta, &k, &v, 0);
}

int mcm_seqidx_convert(struct mcm_store *st, MDB_txn *txn)
{
	MDB_val k = {sizeof META_ENTRIES - 1, (void *)META_ENTRIES}, v;
	MDB_stat ms;
	uint64_t n;
	int rc;

	/* the old entries stay as they are (a reader tells them from bundles by
	 * their second byte): new ones go into bundles, and the next bulk rebuild
	 * (store/reindex.c) packs the old ones too. Nothing to rewrite, so an
	 * upgrade costs no time and no memory, whatever the mirror's size. */
	if ((rc = mdb_stat(txn, st->seq, &ms)) != 0)
		return rc;
	n = ms.ms_entries;
	v.mv_size = 8;
	v.mv_data = &n;
	if ((rc = mdb_put(txn, st->meta, &k, &v, 0)) == 0) {
		st->format = 3;
		st->seq_delta = 0;
	}
	return rc;
}
