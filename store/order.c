/* order.c - applying a batch in the order of its keys, numbered in the order of its writes.
 *
 * A batch's mutations of different keys commute: readers only ever see the
 * transaction whole, and a key's record depends on that key's mutations
 * alone, in their order. Applied in the order of their "items" keys (pool
 * id, then key bytes), consecutive lookups land on the leaf page the items
 * cursor already stands on whenever the batch holds several keys of that
 * page, and LMDB then searches that page alone instead of descending from
 * the root (mdb_cursor_set: "already on the right page"). That pays when the
 * drainer is busy: the more a host writes between two commits, the larger
 * the batch and the more of its keys share a page. Runs of fewer than
 * ORDER_MIN, and batches of more than MCM_DEAD_MAX, are applied as they came.
 *
 * What stays as it was:
 * - each key's mutations are applied in the batch's order (the sort is
 *   stable, and equal keys rank equal);
 * - a mutation that does not act on one key (a flush, a pool's restore,
 *   forget-all), a restore (it may keep a number of its own) and one that is
 *   not valid (mcm_apply_one refuses it, which fails the transaction) are
 *   barriers: the run of mutations between two barriers is sorted, nothing
 *   moves across one;
 * - the numbers: each mutation of a run that is not moot (coalesce.c) is
 *   given, before the run is applied, the number it would have taken in the
 *   batch's order (the run's first number plus the count of those before it),
 *   so numbers still follow the order of the writes. A mutation that ends up
 *   writing nothing (the delete of a key the mirror does not hold) leaves its
 *   number unused: a gap, as superseded entries leave. The run's seq entries
 *   are kept aside (mcm_order_defer) and appended in number order when the
 *   run ends, before anything reads seq (the removal of superseded entries,
 *   the sweep, a barrier).
 *
 * The order need not be exact, only stable: a key is ranked by the eight
 * bytes that follow the prefix the keys of the run typically share (the
 * median of the prefixes of a few pairs: a key unlike the others does not
 * spoil the rest; it is merely placed less well), behind the top 16 bits of
 * the pool id when the run spans pools (items keys begin with the id). The
 * ranks are sorted by an LSD radix sort (11-bit digits, 8-bit for short
 * runs) over the bits in which they differ.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "store_internal.h"

#define ORDER_MIN 16       /* shorter runs are applied as they came */
#define SAMPLES 9          /* keys whose neighbours' shared prefixes give the run's */
#define DIGIT 11           /* bits per radix pass */
#define NO_NUMBER UINT32_MAX

/* A seq entry kept aside until its run ends. */
struct mcm_pending {
	uint64_t seq; /* 0: none (a number left unused) */
	size_t off, len;
};

/* Does m stay where it is (a barrier), rather than move with its key? */
static int barrier(const struct mcm_mutation *m)
{
	return !mcm_mutation_on_key(m) || m->op == MCM_OP_RESTORE;
}

/* Room for a batch of n (the order, the numbers, twice n ranks, n pending entries). */
static int room(struct mcm_store *st, size_t n)
{
	if (n <= st->ord_cap)
		return 1;
	struct mcm_rank *r = realloc(st->ord_rank, 2 * n * sizeof *r);
	if (r)
		st->ord_rank = r;
	uint32_t *o = realloc(st->ord, 2 * n * sizeof *o);
	if (o)
		st->ord = o;
	struct mcm_pending *p = realloc(st->ord_pending, n * sizeof *p);
	if (p)
		st->ord_pending = p;
	if (!r || !o || !p)
		return 0;
	st->ord_cap = n;
	return 1;
}

/* The length of the prefix keys a and b share. */
static size_t shared(const struct mcm_mutation *a, const struct mcm_mutation *b)
{
	size_t lim = a->key_len < b->key_len ? a->key_len : b->key_len, l = 0;

	while (l < lim && a->key[l] == b->key[l])
		l++;
	return l;
}

/* The prefix the keys of m[a..b) typically share: the median of the
 * prefixes shared by SAMPLES keys spread over the run and their neighbours. */
static size_t typical_prefix(const struct mcm_mutation *m, size_t a, size_t b)
{
	size_t p[SAMPLES], n = b - a;

	for (size_t s = 0; s < SAMPLES; s++) {
		size_t i = a + s * (n - 1) / SAMPLES;
		size_t v = shared(&m[i], &m[i + 1]);
		size_t j = s;

		for (; j > 0 && p[j - 1] > v; j--) /* insertion: p stays sorted */
			p[j] = p[j - 1];
		p[j] = v;
	}
	return p[SAMPLES / 2];
}

/* The eight bytes of key from offset at, big-endian (zeros past its end). */
static uint64_t window(const char *key, size_t len, size_t at)
{
	unsigned char b[8] = {0};
	uint64_t r;

	if (at + 8 <= len) {
		memcpy(&r, key + at, 8);
	} else {
		for (size_t j = 0; at + j < len; j++)
			b[j] = (unsigned char)key[at + j];
		memcpy(&r, b, 8);
	}
	return __builtin_bswap64(r); /* (little-endian host: docs/FORMAT.md) */
}

struct mcm_rank *mcm_rank_sort(struct mcm_rank *v, struct mcm_rank *tmp, size_t n, uint64_t differ)
{
	struct mcm_rank *swap;

	if (differ != 0) {
		unsigned lo = (unsigned)__builtin_ctzll(differ), hi = 64 - (unsigned)__builtin_clzll(differ);
		const unsigned digit = n >= 1024 ? DIGIT : 8; /* (a short run: fewer counts to clear) */
		const uint64_t mask = (1u << digit) - 1;

		for (unsigned shift = lo; shift < hi; shift += digit) {
			uint32_t count[(1u << DIGIT) + 1];

			memset(count, 0, (mask + 2) * sizeof count[0]);
			for (size_t i = 0; i < n; i++)
				count[((v[i].rank >> shift) & mask) + 1]++;
			for (size_t c = 0; c < mask + 1; c++)
				count[c + 1] += count[c];
			for (size_t i = 0; i < n; i++)
				tmp[count[(v[i].rank >> shift) & mask]++] = v[i];
			swap = v, v = tmp, tmp = swap;
		}
	}
	return v;
}

/* Put the indices of m[a..b) (a run: no barrier in it) in key order into st->ord[a..b). */
static void sort_run(struct mcm_store *st, const struct mcm_mutation *m, size_t a, size_t b)
{
	struct mcm_rank *v = st->ord_rank, *tmp = st->ord_rank + st->ord_cap;
	size_t n = b - a, cp = n > SAMPLES ? typical_prefix(m, a, b) : 0;
	int pools = 0;
	uint64_t differ = 0;

	for (size_t i = a; i < b; i++)
		pools |= m[i].pool->id != m[a].pool->id;
	for (size_t i = 0; i < n; i++) {
		const struct mcm_mutation *x = &m[a + i];
		uint64_t w = window(x->key, x->key_len, cp);

		v[i].rank = pools ? (x->pool->id & 0xffff000000000000u) | w >> 16 : w;
		v[i].index = (uint32_t)(a + i);
		differ |= v[i].rank ^ v[0].rank;
	}
	v = mcm_rank_sort(v, tmp, n, differ);
	for (size_t i = 0; i < n; i++)
		st->ord[a + i] = v[i].index;
}

unsigned char *mcm_order_defer(struct mcm_store *st, uint64_t seq, size_t len)
{
	size_t slot = (size_t)(seq - st->run_first);
	unsigned char *room;

	if (seq < st->run_first || slot >= st->run_count || st->ord_pending[slot].seq != 0) {
		errno = EPROTO; /* a number not given to this run, or given twice: never */
		return NULL;
	}
	if (st->arena_len + len > st->arena_cap) {
		size_t cap = st->arena_cap ? st->arena_cap : 65536;
		unsigned char *a;

		while (cap < st->arena_len + len)
			cap *= 2;
		if (!(a = realloc(st->arena, cap))) {
			errno = ENOMEM;
			return NULL;
		}
		st->arena = a;
		st->arena_cap = cap;
	}
	room = st->arena + st->arena_len;
	st->ord_pending[slot] = (struct mcm_pending){seq, st->arena_len, len};
	st->arena_len += len;
	return room;
}

/* Append the run's seq entries, in number order. */
static int append_pending(struct mcm_store *st, MDB_txn *txn)
{
	int rc = 0;

	for (size_t s = 0; rc == 0 && s < st->run_count; s++) {
		const struct mcm_pending *p = &st->ord_pending[s];

		if (p->seq == 0)
			continue; /* a number left unused */
		rc = st->seq_app_on ? mcm_seqapp_add(&st->seq_app, txn, p->seq, st->arena + p->off, p->len)
				    : mcm_seqidx_put(st, txn, p->seq, st->arena + p->off, p->len, 0);
	}
	return rc;
}

/* Apply the run m[a..b) in key order, numbered in batch order from *next_seq. */
static int apply_run(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m, const unsigned char *moot,
		     size_t a, size_t b, uint64_t *next_seq)
{
	uint32_t *number = st->ord + st->ord_cap;
	size_t count = 0;
	int rc = 0;

	sort_run(st, m, a, b);
	for (size_t i = a; i < b; i++)
		number[i] = moot && moot[i] ? NO_NUMBER : (uint32_t)count++;
	memset(st->ord_pending, 0, count * sizeof *st->ord_pending);
	st->run_first = *next_seq;
	st->run_count = count;
	st->arena_len = 0;
	st->run_defer = 1;
	for (size_t j = a; rc == 0 && j < b; j++) {
		size_t i = st->ord[j];
		uint64_t mine = st->run_first + (number[i] == NO_NUMBER ? count : number[i]);

		rc = number[i] == NO_NUMBER ? mcm_apply_moot(st, txn, &m[i], &mine) : mcm_apply_one(st, txn, &m[i], &mine);
		if (rc == 0 && number[i] != NO_NUMBER && mine > st->run_first + number[i] + 1)
			rc = EPROTO; /* took more than its one number: never */
	}
	st->run_defer = 0;
	if (rc == 0)
		rc = append_pending(st, txn);
	*next_seq = st->run_first + count;
	return rc;
}

/* Apply m[a..b) as they came. */
static int apply_in_order(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m, const unsigned char *moot,
			  size_t a, size_t b, uint64_t *next_seq)
{
	int rc = 0;

	for (size_t i = a; rc == 0 && i < b; i++)
		rc = moot && moot[i] ? mcm_apply_moot(st, txn, &m[i], next_seq) : mcm_apply_one(st, txn, &m[i], next_seq);
	return rc;
}

int mcm_apply_batch(struct mcm_store *st, MDB_txn *txn, const struct mcm_mutation *m, size_t n,
		    const unsigned char *moot, uint64_t *next_seq)
{
	int rc = 0;

	if (n < ORDER_MIN || n > MCM_DEAD_MAX || !room(st, n))
		return apply_in_order(st, txn, m, moot, 0, n, next_seq);
	for (size_t a = 0, b; rc == 0 && a < n; a = b) {
		for (b = a; b < n && !barrier(&m[b]);)
			b++;
		if (b - a >= ORDER_MIN)
			rc = apply_run(st, txn, m, moot, a, b, next_seq);
		else /* a short run, or a barrier (alone) */
			rc = apply_in_order(st, txn, m, moot, a, b > a ? b : ++b, next_seq);
	}
	return rc;
}
