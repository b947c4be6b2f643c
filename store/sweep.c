/* sweep.c - keep the mirror bounded: remove what memcached no longer holds and nobody needs.
 *
 * The sweep walks the seq index in order, a bounded number of entries per
 * write transaction (the drainer gives it a budget with each batch, and more
 * when idle), from where the last one stopped, wrapping around at the end. An
 * entry tells from its own copy of the record's kind, expiry and write time
 * whether the record may be removable; only then is the record read (and
 * checked: the entry must still be its own). It removes:
 *   - stale entries (their record is gone or carries another number);
 *   - records a flush killed (no follower needs them: a follower forwards
 *     the flush itself);
 *   - expired values and tombstones (deleted, dropped) once every follower
 *     has passed them and a tombstone is MCM_SWEEP_MIN_AGE old, or anyway
 *     once they are older than the tombstone TTL (raising the purge horizon
 *     when a follower had not passed them: it must resynchronise).
 * With a byte cap, the oldest records (the front of the index) go first
 * whenever the records' bytes exceed it at the end of a write transaction
 * (any, with or without a budget), down to 95 % of it, live ones included
 * (the closest the mirror comes to memcached's LRU without seeing reads);
 * evicting one a follower has not passed raises the horizon too.
 * Its position and counters live in meta "sweep", the records' bytes in meta
 * "bytes", both written in the transaction that changes them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "store_internal.h"

static const char META_SWEEP[] = "sweep";
static const char META_BYTES[] = "bytes";
static const char META_PURGED[] = "purged";

#define POOL_CACHE 16
#define EVICT_MAX 65536 /* entries one transaction evicts at most (a cap lowered far: the next go on) */

/* What meta "sweep" holds (native byte order). */
struct sweep_meta {
	uint64_t pos;        /* the next seq to visit */
	struct mcm_sweep_counts c;
};

/* One sweep step inside a write transaction. */
struct step {
	struct mcm_store *st;
	MDB_txn *txn;
	const struct mcm_sweep_policy *policy;
	int64_t now;
	uint64_t min_pos;     /* the lowest follower position (UINT64_MAX: no follower) */
	uint64_t horizon;
	int horizon_dirty;
	struct sweep_meta m;
	struct mcm_pool pools[POOL_CACHE];
	int pool_ok[POOL_CACHE];
	size_t npools;
};

static int meta_get(struct mcm_store *st, MDB_txn *txn, const char *name, void *buf, size_t len)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	int rc = mdb_get(txn, st->meta, &k, &v);

	if (rc == 0 && v.mv_size == len)
		memcpy(buf, v.mv_data, len);
	else if (rc == 0 || rc == MDB_NOTFOUND)
		memset(buf, 0, len);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int meta_put(struct mcm_store *st, MDB_txn *txn, const char *name, const void *buf, size_t len)
{
	MDB_val k = {strlen(name), (void *)name}, v = {len, (void *)buf};

	return mdb_put(txn, st->meta, &k, &v, 0);
}

/* The lowest position of any follower (UINT64_MAX when there is none). */
static int follower_floor(struct mcm_store *st, MDB_txn *txn, uint64_t *min_pos)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*min_pos = UINT64_MAX;
	if (!st->have_followers_db)
		return 0;
	if ((rc = mdb_cursor_open(txn, st->followers, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* the position is at offset 8; a record that does not decode holds everything */
		uint64_t pos = 0;

		if (v.mv_size >= 16)
			memcpy(&pos, (const unsigned char *)v.mv_data + 8, 8); /* little-endian host (docs/FORMAT.md) */
		if (pos < *min_pos)
			*min_pos = pos;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The pool record of id as this transaction sees it (NULL: none or damaged). */
static const struct mcm_pool *pool_of(struct step *s, uint64_t id)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	size_t i;

	for (i = 0; i < s->npools; i++)
		if (s->pools[i].id == id)
			return s->pool_ok[i] ? &s->pools[i] : NULL;
	i = s->npools < POOL_CACHE ? s->npools++ : (size_t)(id % POOL_CACHE);
	mcm_put_be64(kb, id);
	s->pool_ok[i] = mdb_get(s->txn, s->st->pools, &k, &v) == 0 &&
			mcm_pool_decode(id, v.mv_data, v.mv_size, &s->pools[i]) == 0;
	s->pools[i].id = id;
	return s->pool_ok[i] ? &s->pools[i] : NULL;
}

/* Killed by a flush marker of its pool (see mcm_item_is_live)? */
static int flushed(const struct mcm_pool *p, uint64_t seq, uint64_t wtime_us, int64_t now)
{
	if (!p)
		return 0;
	if (p->flush_seq && seq <= p->flush_seq)
		return 1;
	return p->flush_time > 0 && now + 1 >= p->flush_time && (int64_t)(wtime_us / 1000000u) <= p->flush_time;
}

enum verdict { KEEP, REMOVE, REMOVE_PAST_FOLLOWER };

/* What to do with a record whose entry says it may be removable. */
static enum verdict judge(struct step *s, const struct mcm_item *it, const struct mcm_pool *p, uint64_t seq,
			  uint64_t *counter_slot_is_flush)
{
	int64_t age = s->now - (int64_t)(it->wtime_us / 1000000u);
	int passed = seq <= s->min_pos; /* every follower has applied it */

	*counter_slot_is_flush = 0;
	if (it->kind == MCM_KIND_VALUE && flushed(p, seq, it->wtime_us, s->now)) {
		*counter_slot_is_flush = 1;
		return REMOVE;
	}
	if (it->kind == MCM_KIND_VALUE) {
		if (it->exptime == 0 || it->exptime > s->now)
			return KEEP;
		age = s->now - it->exptime;
		if (passed)
			return REMOVE;
	} else {
		if (age < (int64_t)s->policy->tombstone_min_s)
			return KEEP;
		if (passed)
			return REMOVE;
	}
	return age >= (int64_t)s->policy->tombstone_ttl_s ? REMOVE_PAST_FOLLOWER : KEEP;
}

/* Remove the record ikey (record size rec_len) and the entry under cur. */
static int remove_record(struct step *s, struct mcm_seqcur *cur, MDB_val *ikey, size_t rec_len)
{
	int rc = mdb_del(s->txn, s->st->items, ikey, NULL);

	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = mcm_seqcur_remove(cur);
	if (rc == 0)
		s->m.c.bytes -= s->m.c.bytes >= ikey->mv_size + rec_len ? ikey->mv_size + rec_len : s->m.c.bytes;
	return rc;
}

static void raise_horizon(struct step *s, uint64_t seq)
{
	if (seq > s->horizon) {
		s->horizon = seq;
		s->horizon_dirty = 1;
	}
}

/* Remove the stale entry under cur. */
static int drop_stale(struct step *s, struct mcm_seqcur *cur)
{
	s->m.c.stale++;
	return mcm_seqcur_remove(cur);
}

/* The record of entry e (number seq, pool p) read and judged: see visit.
 * (Not inlined: most entries are live by their copies, and visit need not
 * set up this one's frame for them.) */
static __attribute__((noinline)) int visit_record(struct step *s, struct mcm_seqcur *cur, const struct mcm_seq_entry *e,
						   uint64_t seq, const struct mcm_pool *p, int evict)
{
	struct mcm_item it;
	MDB_val ikey, rec;
	uint64_t is_flush;
	int rc, drc;

	ikey.mv_size = e->ikey_len;
	ikey.mv_data = (void *)e->ikey;
	if ((rc = mdb_get(s->txn, s->st->items, &ikey, &rec)) == MDB_NOTFOUND)
		return drop_stale(s, cur);
	if (rc != 0)
		return rc;
	drc = mcm_item_decode(ikey.mv_data, ikey.mv_size, rec.mv_data, rec.mv_size, &it);
	if (it.seq != seq)
		return drop_stale(s, cur); /* its record is another one now */
	if (evict) {
		if (seq > s->min_pos)
			raise_horizon(s, seq);
		s->m.c.evicted++;
		return remove_record(s, cur, &ikey, rec.mv_size);
	}
	if (drc != 0)
		return 0; /* damaged: left for the readers to report */
	switch (judge(s, &it, p, seq, &is_flush)) {
	case KEEP:
		return 0;
	case REMOVE_PAST_FOLLOWER:
		raise_horizon(s, seq);
		/* fall through */
	case REMOVE:
		if (is_flush)
			s->m.c.flushed++;
		else if (it.kind == MCM_KIND_VALUE)
			s->m.c.expired++;
		else
			s->m.c.tombstones++;
		return remove_record(s, cur, &ikey, rec.mv_size);
	}
	return 0;
}

/* Visit the entry under cur (rc: MCM_EDAMAGED for a value that does not
 * decode); with evict, remove its record whatever it is. */
static int visit(struct step *s, struct mcm_seqcur *cur, int rc, uint64_t seq, const struct mcm_seq_entry *e, int evict)
{
	const struct mcm_pool *p;

	if (rc == MCM_EDAMAGED)
		return drop_stale(s, cur);
	p = pool_of(s, mcm_get_be64(e->ikey));
	if (!evict && e->kind == MCM_KIND_VALUE && (e->exptime == 0 || e->exptime > s->now) &&
	    !flushed(p, seq, e->wtime_us, s->now))
		return 0; /* live, by its entry: the record need not be read */
	return visit_record(s, cur, e, seq, p, evict);
}

/* Walk up to budget entries from the saved position (wrapping once). */
static int walk(struct step *s, size_t budget, size_t *visited)
{
	struct mcm_seqcur cur;
	struct mcm_seq_entry e;
	uint64_t seq;
	int rc, crc, wrapped = 0;

	if ((rc = mcm_seqcur_open(s->st, s->txn, &cur)) != 0)
		return rc;
	rc = mcm_seqcur_seek(&cur, s->m.pos, &seq, &e);
	while (*visited < budget) {
		if (rc == MDB_NOTFOUND) {
			if (wrapped || s->m.pos == 0)
				break;
			wrapped = 1;
			s->m.c.cycles++;
			s->m.pos = 0;
			rc = mcm_seqcur_seek(&cur, 0, &seq, &e);
			continue;
		}
		if (rc != 0 && rc != MCM_EDAMAGED)
			break;
		(*visited)++;
		if (seq >= s->m.pos) /* (only on: a damaged bundle may hold a number below its neighbours') */
			s->m.pos = seq + 1;
		if ((rc = visit(s, &cur, rc, seq, &e, 0)) != 0)
			break;
		rc = mcm_seqcur_next(&cur, &seq, &e);
	}
	if (rc == MDB_NOTFOUND) {
		rc = 0;
		if (*visited < budget) { /* reached the end: the next step starts over */
			s->m.pos = 0;
			s->m.c.cycles += !wrapped;
		}
	}
	crc = mcm_seqcur_close(&cur);
	return rc != 0 ? rc : crc;
}

/* Over the byte cap: remove from the front until at 95 % of it. */
static int evict(struct step *s, size_t budget)
{
	uint64_t target = s->policy->max_bytes / 20 * 19, seq;
	struct mcm_seqcur cur;
	struct mcm_seq_entry e;
	size_t n = 0;
	int rc, crc;

	if (!s->policy->max_bytes || s->m.c.bytes <= s->policy->max_bytes)
		return 0;
	if ((rc = mcm_seqcur_open(s->st, s->txn, &cur)) != 0)
		return rc;
	for (rc = mcm_seqcur_next(&cur, &seq, &e); (rc == 0 || rc == MCM_EDAMAGED) && n < budget && s->m.c.bytes > target;
	     n++) {
		if ((rc = visit(s, &cur, rc, seq, &e, 1)) != 0)
			break;
		rc = mcm_seqcur_next(&cur, &seq, &e);
	}
	crc = mcm_seqcur_close(&cur);
	rc = rc == MDB_NOTFOUND || rc == MCM_EDAMAGED ? 0 : rc;
	return rc != 0 ? rc : crc;
}

/* With superseded entries left for a bulk rebuild (reindex.c), the index holds
 * up to MCM_REINDEX_RATIO + 1 entries a record (and 4,096 more): visit as many
 * more entries, so that a pass over it takes about as many writes as over an
 * index of one entry per record (expired records wait no longer for it; the
 * extra entries are mostly skipped by their copies alone). */
static int scale_budget(struct mcm_store *st, MDB_txn *txn, size_t *budget)
{
	uint64_t records, entries;
	int rc = mcm_store_index_load(st, txn, &records, &entries);

	if (rc != 0 || entries <= records) /* (both 0 without bulk rebuilds) */
		return rc;
	if (entries >= (MCM_REINDEX_RATIO + 1) * records)
		*budget *= MCM_REINDEX_RATIO + 1;
	else
		*budget = (size_t)((double)*budget * (double)entries / (double)records);
	return 0;
}

int mcm_store_account(struct mcm_store *st, MDB_txn *txn)
{
	uint64_t bytes;
	int rc;

	if (st->txn_bytes == 0)
		return 0;
	if ((rc = meta_get(st, txn, META_BYTES, &bytes, sizeof bytes)) != 0)
		return rc;
	bytes = (int64_t)bytes + st->txn_bytes < 0 ? 0 : (uint64_t)((int64_t)bytes + st->txn_bytes);
	st->txn_bytes = 0;
	return meta_put(st, txn, META_BYTES, &bytes, sizeof bytes);
}

int mcm_store_sweep_txn(struct mcm_store *st, MDB_txn *txn, size_t budget)
{
	struct step s;
	size_t visited = 0;
	int rc;

	if (!st->sweep.enabled || (budget == 0 && !st->sweep.max_bytes))
		return 0;
	memset(&s, 0, sizeof s);
	s.st = st;
	s.txn = txn;
	s.policy = &st->sweep;
	s.now = (int64_t)(mcm_now_us() / 1000000u);
	if ((rc = meta_get(st, txn, META_SWEEP, &s.m, sizeof s.m)) != 0 ||
	    (rc = meta_get(st, txn, META_BYTES, &s.m.c.bytes, sizeof s.m.c.bytes)) != 0)
		return rc;
	/* the cap holds at every commit, whatever the budget (0 after an idle
	 * step, small after a short one): only the walk needs a budget */
	if (budget == 0 && s.m.c.bytes <= st->sweep.max_bytes)
		return 0;
	if ((rc = meta_get(st, txn, META_PURGED, &s.horizon, sizeof s.horizon)) != 0 ||
	    (rc = follower_floor(st, txn, &s.min_pos)) != 0)
		return rc;
	if (budget > 0 && (rc = scale_budget(st, txn, &budget)) != 0)
		return rc;
	if ((rc = evict(&s, EVICT_MAX)) != 0 || (budget > 0 && (rc = walk(&s, budget, &visited)) != 0))
		return rc;
	if ((rc = meta_put(st, txn, META_SWEEP, &s.m, sizeof s.m)) == 0 &&
	    (rc = meta_put(st, txn, META_BYTES, &s.m.c.bytes, sizeof s.m.c.bytes)) == 0 && s.horizon_dirty)
		rc = meta_put(st, txn, META_PURGED, &s.horizon, sizeof s.horizon);
	return rc;
}

int mcm_store_sweep_counts(struct mcm_store *st, struct mcm_sweep_counts *c)
{
	struct sweep_meta m;
	MDB_txn *txn;
	int rc;

	memset(c, 0, sizeof *c);
	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	if ((rc = meta_get(st, txn, META_SWEEP, &m, sizeof m)) == 0 &&
	    (rc = meta_get(st, txn, META_BYTES, &m.c.bytes, sizeof m.c.bytes)) == 0)
		*c = m.c;
	mdb_txn_abort(txn);
	return rc;
}
