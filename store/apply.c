/* apply.c - turn what a write did on the server into changes to the mirror.
 *
 * This is the mirror's state machine: for each operation it decides, from the
 * record already mirrored, what the server now holds. Whenever it cannot be
 * sure, the key is dropped: a miss after warm-up is acceptable, a wrong value
 * is not.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_crc.h"
#include "mcm_expiry.h"
#include "mcm_record.h"
#include "store_internal.h"

static int save_pool(struct mcm_store *st, MDB_txn *txn, const struct mcm_pool *pool)
{
	unsigned char kb[8], buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	MDB_val k = {8, kb}, v = {mcm_pool_size(pool), buf};
	int rc;

	mcm_put_be64(kb, pool->id);
	mcm_pool_encode(pool, buf);
	if ((rc = mdb_put(txn, st->pools, &k, &v, 0)) == 0) {
		st->txn_pool = *pool; /* the latest record of that pool */
		st->txn_pool_valid = 1;
	}
	return rc;
}

static int same_routing(const struct mcm_pool *a, const struct mcm_pool *b)
{
	return a->distribution == b->distribution && a->key_hash == b->key_hash && a->dist_hash == b->dist_hash &&
	       a->hash_with_namespace == b->hash_with_namespace && a->sasl == b->sasl;
}

/* The pool record as it stands in this transaction, created on first sight.
 * The last one looked up or written is kept for the rest of the transaction
 * (a batch is mostly one pool: no lookup and decoding per mutation). */
static int ensure_pool(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m,
		       uint64_t now_us, const uint64_t *next_seq, struct mcm_pool *pool, struct mcm_pool **out)
{
	const struct mcm_pool *d = m->pool;
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	int rc;

	*out = pool;
	if (st->txn_pool_valid && st->txn_pool.id == d->id && same_routing(&st->txn_pool, d)) {
		*out = &st->txn_pool; /* (not copied: a pool record holds 2 KB of server list) */
		return 0;
	}
	mcm_put_be64(kb, d->id);
	rc = mdb_get(txn, st->pools, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*pool = *d;
		pool->created_us = now_us;
		pool->flush_seq = 0;
		pool->flush_time = 0;
		pool->encrypted = 0;
	} else if (rc != 0) {
		return rc;
	} else if (mcm_pool_decode(d->id, v.mv_data, v.mv_size, pool) != 0) {
		/* a damaged pool record: rebuild it from the writer's description,
		 * flushed as of now (the flush markers it held cannot be trusted) */
		*pool = *d;
		pool->created_us = now_us;
		pool->flush_seq = (st->run_defer ? st->run_first : *next_seq) - 1; /* (a run's numbers
			are not handed out in the order its mutations are applied: order.c) */
		pool->flush_time = 0;
		pool->encrypted = 0;
	} else if (same_routing(pool, d)) {
		pool->id = d->id;
		st->txn_pool = *pool;
		st->txn_pool_valid = 1;
		return 0;
	} else {
		pool->distribution = d->distribution;
		pool->key_hash = d->key_hash;
		pool->dist_hash = d->dist_hash;
		pool->hash_with_namespace = d->hash_with_namespace;
		pool->sasl = d->sasl;
	}
	pool->id = d->id;
	return save_pool(st, txn, pool);
}

/* What find_item found. */
enum found { NOT_FOUND = 0, FOUND = 1, DAMAGED = 2 };

/* The mirrored record for the mutation's key, if any (pointers into the
 * map), in *found: FOUND, NOT_FOUND, or DAMAGED (a record is there but fails
 * its checks: *old then names it and nothing else of it may be used). With
 * shallow (a set, which needs nothing of the old record but its number),
 * the record is not checked: old->seq is its unverified number, and the
 * superseded entry is checked against the key before it is removed. The
 * items cursor is left on the record (st->cur_on_key).
 * @return 0 or an LMDB code. */
static int find_item(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, struct mcm_item *old, int shallow,
		     int *found)
{
	MDB_val k = *key, v;
	int rc = st->items_cur ? mdb_cursor_get(st->items_cur, &k, &v, MDB_SET_KEY)
			       : mdb_get(txn, st->items, &k, &v);

	*found = NOT_FOUND;
	st->cur_on_key = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	st->cur_on_key = st->items_cur != NULL;
	st->found_len = v.mv_size;
	if (shallow && v.mv_size >= MCM_ITEM_HEADER_V1) {
		memcpy(&old->seq, (const unsigned char *)v.mv_data + 24, 8); /* little-endian host (docs/FORMAT.md) */
		old->kind = ((const unsigned char *)v.mv_data)[1];
		*found = FOUND;
		return 0;
	}
	*found = mcm_item_decode(key->mv_data, key->mv_size, v.mv_data, v.mv_size, old) == 0 ? FOUND : DAMAGED;
	return 0;
}

/* The old record's seq entry is superseded: remove it at the end of the
 * transaction (or now, when too many are waiting), once checked to be the
 * entry of key (the number may come from a record that was not checked). */
static int bury(struct mcm_store *st, MDB_txn *txn, uint64_t seq, const MDB_val *key)
{
	int rc = 0;

	if (mcm_store_bulk_seq(st))
		return 0; /* left in place: the index is rebuilt in bulk (reindex.c) */
	if (st->ndead == MCM_DEAD_MAX && st->run_defer)
		return 0; /* (a run is never this long) left to the sweep: seq may hold entries not yet appended */
	if (st->ndead == MCM_DEAD_MAX)
		rc = mcm_store_drop_dead(st, txn);
	if (rc == 0) {
		st->dead[st->ndead].seq = seq;
		st->dead[st->ndead++].key_crc = mcm_crc32c(0, key->mv_data, key->mv_size);
	}
	return rc;
}

/* Write item (its seq already set) under key, replacing old (a verified
 * record, or NULL: none or a damaged one, whose seq entry the sweep removes).
 * seq_flags: MDB_APPEND for a new largest number, MDB_NOOVERWRITE for a kept one. */
static int put_item(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, const struct mcm_item *item,
		    const struct mcm_item *old, unsigned seq_flags)
{
	unsigned char sv[MCM_SEQ_VALUE_MAX], same[1024];
	MDB_val ik = *key, v;
	int rc;

	if (old && old->seq == item->seq)
		seq_flags = 0; /* a record kept under its own number: its entry stays */
	else if (old && (rc = bury(st, txn, old->seq, key)) != 0)
		return rc;
	v.mv_size = mcm_item_size(item);
	st->txn_bytes += (int64_t)(key->mv_size + v.mv_size) - (st->cur_on_key ? (int64_t)(key->mv_size + st->found_len) : 0);
	/* the cursor that found the record replaces it where it is: a record of
	 * the same size is copied over the old one (LMDB takes that path for
	 * MDB_CURRENT alone; MDB_CURRENT | MDB_RESERVE searches the page again) */
	if (st->cur_on_key && v.mv_size == st->found_len && v.mv_size <= sizeof same) {
		mcm_item_encode(key->mv_data, key->mv_size, item, same);
		v.mv_data = same;
		rc = mdb_cursor_put(st->items_cur, &ik, &v, MDB_CURRENT);
		st->cur_on_key = 0;
	} else {
		rc = st->cur_on_key ? mdb_cursor_put(st->items_cur, &ik, &v, MDB_CURRENT | MDB_RESERVE)
		     : st->items_cur ? mdb_cursor_put(st->items_cur, &ik, &v, MDB_RESERVE)
				     : mdb_put(txn, st->items, &ik, &v, MDB_RESERVE);
		st->cur_on_key = 0;
		if (rc == 0)
			mcm_item_encode(key->mv_data, key->mv_size, item, v.mv_data);
	}
	if (rc != 0)
		return rc;
	if (st->run_defer && seq_flags == MDB_APPEND) { /* appended in number order (order.c) */
		unsigned char *room = mcm_order_defer(st, item->seq, MCM_SEQ_HEADER + key->mv_size);

		if (!room)
			return errno;
		mcm_seq_entry_encode(item, key->mv_data, key->mv_size, room);
		return 0;
	}
	v.mv_size = mcm_seq_entry_encode(item, key->mv_data, key->mv_size, sv);
	if (st->seq_app_on && seq_flags == MDB_APPEND)
		return mcm_seqapp_add(&st->seq_app, txn, item->seq, sv, v.mv_size);
	return mcm_seqidx_put(st, txn, item->seq, sv, v.mv_size, seq_flags == 0);
}

/* Write item under key with the next sequence number, replacing old (a
 * verified record, or NULL). */
static int write_item(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, struct mcm_item *item,
		      const struct mcm_item *old, uint64_t *next_seq)
{
	item->seq = (*next_seq)++;
	return put_item(st, txn, key, item, old, MDB_APPEND);
}

/* A new record for the mutation's key with the routing fields filled in. */
static void item_from(const struct mcm_mutation *m, uint64_t now_us, struct mcm_item *it)
{
	memset(it, 0, sizeof *it);
	it->pool = m->pool->id;
	it->group_mode = m->group_mode;
	it->ns_len = m->ns_len;
	it->group = m->group;
	it->group_len = m->group_mode == MCM_GROUP_EXPLICIT ? m->group_len : 0;
	it->wtime_us = now_us;
	it->value = "";
}

/* Mark the key absent (kind DELETED or DROPPED). A key the mirror does not
 * hold gets a tombstone only while followers exist (they may hold an older
 * value of it); a tombstone is not made a drop; a damaged record is
 * replaced. found: enum found. */
static int forget(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, const struct mcm_mutation *m,
		  const struct mcm_item *old, int found, enum mcm_kind kind, uint64_t now_us, uint64_t *next_seq)
{
	struct mcm_item it;

	if (found == NOT_FOUND && !st->txn_tombstones)
		return 0;
	if (found == FOUND && old->kind != MCM_KIND_VALUE && kind == MCM_KIND_DROPPED)
		return 0;
	item_from(m, now_us, &it);
	it.kind = (uint8_t)kind;
	return write_item(st, txn, key, &it, found == FOUND ? old : NULL, next_seq);
}

/* What memcached 1.6.18's incr/decr makes of a value (do_add_delta, safe_strtoull). */
enum counter {
	CTR_NUMBER,  /**< a number: *out */
	CTR_MAYBE,   /**< *out, unless the server refuses it as non-numeric: a number of 2^63 or more
			  (safe_strtoull then looks for a '-' with strchr(), past the value into
			  whatever memory follows it), or a long value (a chunked item is refused) */
	CTR_UNKNOWN, /**< only white space: strtoull reads on past the value */
	CTR_NOT      /**< never a number: incr/decr cannot change it */
};

/* Parse a value as memcached's incr and decr do: strtoull(base 10) on the item's data, which
 * ends with "\r\n" and is not NUL-terminated (leading white space, a '+' or '-', digits; too
 * large is ERANGE), then the next byte must be white space or a NUL; a result that is negative
 * as a signed number is refused when a '-' is found (strchr from the data's start). An empty
 * value and a chunked item (large) are refused before that. */
static enum counter parse_counter(const char *s, size_t len, uint64_t *out)
{
	const size_t chunk_safe = 512; /* longer values might be chunked items, which are refused */
	uint64_t v = 0;
	size_t i = 0;
	int negative = 0;

	*out = 0;
	if (len == 0)
		return CTR_NOT;
	while (i < len && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
		i++;
	if (i == len)
		return CTR_UNKNOWN; /* strtoull skips the "\r\n" after the value too, and reads on */
	if (s[i] == '+' || s[i] == '-')
		negative = s[i++] == '-';
	if (i == len || s[i] < '0' || s[i] > '9')
		return CTR_NOT; /* no digits: no conversion */
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return CTR_NOT; /* ERANGE */
		v = v * 10 + d;
	}
	if (i < len && s[i] != '\0' && s[i] != ' ' && (s[i] < '\t' || s[i] > '\r'))
		return CTR_NOT; /* digits followed by something else */
	*out = negative ? 0 - v : v;
	if ((int64_t)*out < 0) {
		const char *nul = memchr(s, '\0', len);
		size_t scan = nul ? (size_t)(nul - s) : len;

		if (memchr(s, '-', scan))
			return CTR_NOT; /* strchr finds the '-' within the value */
		if (!nul)
			return CTR_MAYBE; /* strchr reads on past the value */
	}
	return len > chunk_safe ? CTR_MAYBE : CTR_NUMBER;
}

/* incr/decr: put the number the server now holds, or keep, or drop the key.
 * - The reply gave no number (m->with_initial == MCM_DELTA_UNKNOWN: an error, no reply): the
 *   server changed the item only if it held a number; a mirrored value that is none is kept.
 * - A *_with_initial whose result equals its initial value is ambiguous: the server may have
 *   created the item (flags 0, the given expiry) or incremented one to that value (flags and
 *   expiry kept), and nothing the client sees tells which: the key is dropped.
 * - A result with fewer digits than the old value: memcached rewrites it in place padded with
 *   spaces when no other connection holds a reference to the item, and otherwise stores the
 *   digits alone; the client cannot know which: the key is dropped. Otherwise the server holds
 *   exactly the digits, with the old flags and expiry. */
static int apply_delta(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, const struct mcm_mutation *m,
		       const struct mcm_item *old, int live, int found, uint64_t now_us, uint64_t *next_seq)
{
	char text[32];
	struct mcm_item it;
	uint64_t before = 0, expect;
	enum counter kind = live ? parse_counter(old->value, old->value_len, &before) : CTR_UNKNOWN;
	size_t len = (size_t)snprintf(text, sizeof text, "%" PRIu64, m->result);

	if (m->with_initial == MCM_DELTA_UNKNOWN && kind == CTR_NOT)
		return 0; /* not a number: the server left it as it was */
	if (m->with_initial == MCM_DELTA_UNKNOWN || !live || (m->with_initial && m->result == m->initial) ||
	    kind == CTR_NOT || kind == CTR_UNKNOWN)
		return forget(st, txn, key, m, old, found, MCM_KIND_DROPPED, now_us, next_seq);
	expect = m->incr ? before + m->delta : (m->delta > before ? 0 : before - m->delta);
	if (expect != m->result || len < old->value_len) /* a missed write; or padded, or not */
		return forget(st, txn, key, m, old, found, MCM_KIND_DROPPED, now_us, next_seq);
	item_from(m, now_us, &it);
	it.kind = MCM_KIND_VALUE;
	it.flags = old->flags;
	it.exptime = old->exptime;
	it.value = text;
	it.value_len = len;
	return write_item(st, txn, key, &it, old, next_seq);
}

/* append/prepend onto a live mirrored value; otherwise nothing to extend. */
static int apply_concat(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, const struct mcm_mutation *m,
			const struct mcm_item *old, int live, int found, uint64_t now_us, uint64_t *next_seq)
{
	struct mcm_item it;
	char *buf;
	int rc;

	if (!live)
		return forget(st, txn, key, m, old, found, MCM_KIND_DROPPED, now_us, next_seq);
	/* copy first: the old value lives in pages this transaction may rewrite */
	if (!(buf = malloc(old->value_len + m->value_len + 1)))
		return ENOMEM;
	if (m->op == MCM_OP_APPEND) {
		memcpy(buf, old->value, old->value_len);
		memcpy(buf + old->value_len, m->value, m->value_len);
	} else {
		memcpy(buf, m->value, m->value_len);
		memcpy(buf + m->value_len, old->value, old->value_len);
	}
	item_from(m, now_us, &it);
	it.kind = MCM_KIND_VALUE;
	it.flags = old->flags;
	it.exptime = old->exptime;
	it.value = buf;
	it.value_len = old->value_len + m->value_len;
	rc = write_item(st, txn, key, &it, old, next_seq);
	free(buf);
	return rc;
}

/* touch of a live record: same value, new expiry. */
static int apply_touch(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, const struct mcm_mutation *m,
		       const struct mcm_item *old, uint64_t now_us, uint64_t *next_seq)
{
	struct mcm_item it = *old;
	char *buf;
	int rc;

	/* copy first: the old record lives in pages this transaction may rewrite */
	if (!(buf = malloc(old->group_len + old->value_len + 1)))
		return ENOMEM;
	memcpy(buf, old->group, old->group_len);
	memcpy(buf + old->group_len, old->value, old->value_len);
	it.pool = m->pool->id;
	it.group = buf;
	it.value = buf + old->group_len;
	it.exptime = m->exptime;
	it.wtime_us = now_us;
	rc = write_item(st, txn, key, &it, old, next_seq);
	free(buf);
	return rc;
}

/* Do two canonical server lists name a common server? */
static int share_server(const char *a, const char *b)
{
	for (const char *p = a; *p;) {
		size_t len = strcspn(p, ",");

		for (const char *q = b; *q;) {
			size_t qlen = strcspn(q, ",");

			if (qlen == len && memcmp(p, q, len) == 0)
				return 1;
			q += qlen + (q[qlen] == ',');
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

static void set_flush_marker(struct mcm_pool *pool, const struct mcm_mutation *m, uint64_t next_seq)
{
	if (m->exptime == 0) {
		pool->flush_seq = next_seq - 1; /* everything written so far */
		pool->flush_time = 0;   /* an immediate flush replaces a pending delayed one */
	} else {
		pool->flush_time = m->exptime;
	}
}

/* Mark flushed (as m says) every pool in the store but except (if not
 * NULL): all of them, or those sharing a server with except. */
static int mark_pools(struct mcm_store *st, MDB_txn *txn, const struct mcm_pool *except,
		      const struct mcm_mutation *m, uint64_t next_seq)
{
	unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	struct mcm_pool other;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	st->txn_pool_valid = 0; /* pools change under the cursor */
	if ((rc = mdb_cursor_open(txn, st->pools, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || (except && mcm_get_be64(k.mv_data) == except->id) ||
		    mcm_pool_decode(mcm_get_be64(k.mv_data), v.mv_data, v.mv_size, &other) != 0 ||
		    (except && !share_server(except->servers, other.servers)))
			continue; /* (a damaged pool record: its items are not replayed anyway) */
		set_flush_marker(&other, m, next_seq);
		mcm_pool_encode(&other, buf);
		v.mv_size = mcm_pool_size(&other);
		v.mv_data = buf;
		if ((rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* flush_all went to every server of the pool: every other pool that shares
 * one of them lost its items there too (which ones the mirror cannot tell),
 * so it is marked flushed as well. */
static int apply_flush(struct mcm_store *st, MDB_txn *txn, struct mcm_pool *pool, const struct mcm_mutation *m,
		       uint64_t next_seq)
{
	int rc;

	set_flush_marker(pool, m, next_seq);
	if ((rc = save_pool(st, txn, pool)) != 0)
		return rc;
	return mark_pools(st, txn, pool, m, next_seq);
}

/* RESTORE: the record exactly as given, unless the mirror's is as recent. */
static int apply_restore(struct mcm_store *st, MDB_txn *txn, const MDB_val *key, const struct mcm_mutation *m,
			 const struct mcm_item *old, int found, uint64_t *next_seq)
{
	struct mcm_item it;

	if (found == FOUND && old->wtime_us >= m->wtime_us)
		return 0; /* last writer wins; a tie keeps the mirror's record (a damaged one is replaced) */
	item_from(m, m->wtime_us, &it);
	it.kind = m->kind;
	it.flags = m->flags;
	it.exptime = m->exptime;
	it.value = m->value ? m->value : "";
	it.value_len = m->value ? m->value_len : 0;
	if (m->seq == 0)
		return write_item(st, txn, key, &it, found == FOUND ? old : NULL, next_seq);
	it.seq = m->seq;
	if (*next_seq <= m->seq)
		*next_seq = m->seq + 1;
	return put_item(st, txn, key, &it, found == FOUND ? old : NULL, MDB_NOOVERWRITE);
}

/* RESTORE_POOL: the pool record as given when new; else a later delayed
 * flush and the encrypted mark only (the mirror's flush_seq counts in its own
 * numbers). Either way later numbers exceed the record's flush_seq. */
static int restore_pool(struct mcm_store *st, MDB_txn *txn, const struct mcm_pool *given, uint64_t *next_seq)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	struct mcm_pool pool;
	int rc;

	mcm_put_be64(kb, given->id);
	rc = mdb_get(txn, st->pools, &k, &v);
	if (rc == MDB_NOTFOUND) {
		pool = *given;
	} else if (rc != 0) {
		return rc;
	} else if (mcm_pool_decode(given->id, v.mv_data, v.mv_size, &pool) != 0) {
		pool = *given; /* the mirror's record is damaged: the given one replaces it */
	} else {
		if (given->flush_time > pool.flush_time)
			pool.flush_time = given->flush_time;
		pool.encrypted |= given->encrypted;
	}
	if (*next_seq <= pool.flush_seq)
		*next_seq = pool.flush_seq + 1;
	return save_pool(st, txn, &pool);
}

/* Is the group key of m well formed? */
static int group_ok(const struct mcm_mutation *m)
{
	if (m->group_mode > MCM_GROUP_EXPLICIT)
		return 0;
	return m->group_mode == MCM_GROUP_EXPLICIT ? m->group_len <= MCM_GROUP_MAX && (m->group || !m->group_len)
						   : m->group_len == 0;
}

int mcm_op_on_key(enum mcm_op op)
{
	switch (op) {
	case MCM_OP_PUT:
	case MCM_OP_APPEND:
	case MCM_OP_PREPEND:
	case MCM_OP_DELTA:
	case MCM_OP_TOUCH:
	case MCM_OP_DELETE:
	case MCM_OP_DROP:
	case MCM_OP_ENCRYPTED:
	case MCM_OP_RESTORE:
	case MCM_OP_NONE:
		return 1;
	default:
		return 0;
	}
}

int mcm_mutation_on_key(const struct mcm_mutation *m)
{
	return mcm_op_on_key(m->op) && m->pool && m->key && m->key_len && m->key_len <= MCM_ITEM_KEY_MAX;
}

int mcm_mutation_valid(const struct mcm_mutation *m)
{
	switch (m->op) {
	case MCM_OP_FORGET_ALL:
		return 1;
	case MCM_OP_RESTORE_POOL:
		return m->pool && mcm_pool_valid(m->pool);
	case MCM_OP_FLUSH:
		return m->pool && m->exptime >= 0;
	default:
		if (!mcm_op_on_key(m->op))
			return 0;
	}
	if (!m->pool || !m->key || m->key_len == 0 || m->key_len > MCM_ITEM_KEY_MAX - 8 || m->ns_len > m->key_len ||
	    m->ns_len > MCM_NAMESPACE_MAX || !group_ok(m) || m->value_len > UINT32_MAX || (m->value_len && !m->value))
		return 0;
	if (m->op == MCM_OP_RESTORE)
		return m->kind >= MCM_KIND_VALUE && m->kind <= MCM_KIND_DROPPED &&
		       (m->kind == MCM_KIND_VALUE || m->value_len == 0);
	return 1;
}

int mcm_apply_one(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m, uint64_t *next_seq)
{
	uint64_t now_us = m->wtime_us ? m->wtime_us : mcm_now_us();
	int64_t now = (int64_t)(now_us / 1000000u);
	unsigned char kb[MCM_ITEM_KEY_MAX];
	MDB_val key;
	struct mcm_pool pool_buf, *pool;
	struct mcm_item old, it;
	int rc, found, live;

	if (!mcm_mutation_valid(m))
		return MCM_EINVALID;
	if (m->op == MCM_OP_RESTORE_POOL)
		return restore_pool(st, txn, m->pool, next_seq);
	if (m->op == MCM_OP_FORGET_ALL) {
		struct mcm_mutation now_flush = {.op = MCM_OP_FLUSH}; /* immediate: by sequence */
		return mark_pools(st, txn, NULL, &now_flush, *next_seq);
	}
	if ((rc = ensure_pool(st, txn, m, now_us, next_seq, &pool_buf, &pool)) != 0)
		return rc;
	if (m->op == MCM_OP_FLUSH)
		return apply_flush(st, txn, pool, m, *next_seq);
	key.mv_data = kb;
	key.mv_size = mcm_item_key(pool->id, m->key, m->key_len, kb);
	if ((rc = find_item(st, txn, &key, &old, m->op == MCM_OP_PUT, &found)) != 0)
		return rc;
	/* (a set needs nothing of the old record: find_item read only its number and kind) */
	live = found == FOUND && m->op != MCM_OP_PUT && mcm_item_is_live(&old, pool, now);

	switch (m->op) {
	case MCM_OP_PUT:
		item_from(m, now_us, &it);
		it.kind = MCM_KIND_VALUE;
		it.flags = m->flags;
		it.exptime = m->exptime;
		it.value = m->value ? m->value : "";
		it.value_len = m->value ? m->value_len : 0;
		return write_item(st, txn, &key, &it, found == FOUND ? &old : NULL, next_seq);
	case MCM_OP_APPEND:
	case MCM_OP_PREPEND:
		return apply_concat(st, txn, &key, m, &old, live, found, now_us, next_seq);
	case MCM_OP_DELTA:
		return apply_delta(st, txn, &key, m, &old, live, found, now_us, next_seq);
	case MCM_OP_TOUCH:
		if (!live)
			return found == DAMAGED ? forget(st, txn, &key, m, &old, found, MCM_KIND_DROPPED, now_us, next_seq)
						: 0;
		if (mcm_expiry_passed(m->exptime, now))
			return forget(st, txn, &key, m, &old, found, MCM_KIND_DELETED, now_us, next_seq);
		return apply_touch(st, txn, &key, m, &old, now_us, next_seq);
	case MCM_OP_DELETE:
		return forget(st, txn, &key, m, &old, found, MCM_KIND_DELETED, now_us, next_seq);
	case MCM_OP_ENCRYPTED:
		if (!pool->encrypted) {
			pool->encrypted = 1;
			if ((rc = save_pool(st, txn, pool)) != 0)
				return rc;
		}
		/* fall through */
	case MCM_OP_DROP:
		return forget(st, txn, &key, m, &old, found, MCM_KIND_DROPPED, now_us, next_seq);
	case MCM_OP_RESTORE:
		return apply_restore(st, txn, &key, m, &old, found, next_seq);
	case MCM_OP_NONE:
		return found == DAMAGED ? forget(st, txn, &key, m, &old, found, MCM_KIND_DROPPED, now_us, next_seq) : 0;
	case MCM_OP_FLUSH:
	case MCM_OP_RESTORE_POOL:
	case MCM_OP_FORGET_ALL:
		break;
	}
	return MCM_EINVALID;
}

int mcm_apply_moot(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m, uint64_t *next_seq)
{
	uint64_t now_us = m->wtime_us ? m->wtime_us : mcm_now_us();
	struct mcm_pool pool_buf, *pool;
	int rc;

	if (!mcm_mutation_valid(m) || !mcm_op_on_key(m->op) || m->op == MCM_OP_RESTORE)
		return MCM_EINVALID; /* (never marked: see coalesce.c) */
	if ((rc = ensure_pool(st, txn, m, now_us, next_seq, &pool_buf, &pool)) != 0)
		return rc;
	if (m->op == MCM_OP_ENCRYPTED && !pool->encrypted) {
		pool->encrypted = 1;
		return save_pool(st, txn, pool);
	}
	return 0;
}
