/* coalesce.c - the mutations of a batch that a later set of the same key in the same batch makes moot.
 *
 * A write transaction applies its mutations in order, and readers only ever
 * see it whole. So when a key is set (MCM_OP_PUT) later in the same batch,
 * whatever the batch did to that key before does not show in what it
 * commits: a set replaces the record whatever it was, and the superseded
 * record's seq entry would be removed by the same transaction. Applying
 * those earlier mutations only costs B-tree work (a lookup, a put, an
 * append and a delete: about 6,000 instructions each; a host that writes a
 * session or a counter several times between two commits does this all the
 * time). They are marked here, and apply.c then does for them only what
 * reaches beyond their key: the pool record (ensure_pool, the mark of an
 * encrypted pool). Numbers are not handed out to them: the later set's
 * number still exceeds every earlier one, and a flush in between still
 * sees its records as written after it.
 *
 * A restore (MCM_OP_RESTORE, the tools' loads, with numbers of its own) is
 * never marked and is a barrier: a set after it does not make what came
 * before it moot. Mutations that are not valid are left to mcm_apply_one and
 * mcm_apply_moot to refuse (which fails the whole transaction). One backward
 * pass with an open-addressing table of the later sets' keys (pool and wire
 * key), sized to the batch; a lookup that passes more than MAX_PROBES slots
 * (keys chosen to collide) gives the pass up, and the batch is applied whole.
 */
#include <stdlib.h>
#include <string.h>

#include "mcm_crc.h"
#include "mcm_record.h"
#include "store_internal.h"

#define BARRIER 0x80000000u /* a slot's key was restored: nothing before it is moot */
#define MAX_PROBES 32       /* slots a lookup may pass (CRC-32C is no keyed hash: an application's
			       keys can be chosen to collide; past this the pass gives up) */

static int same_key(const struct mcm_mutation *a, const struct mcm_mutation *b)
{
	return a->pool->id == b->pool->id && a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/* Room for the table of a batch of n: a power of two, at least twice n. */
static int room(struct mcm_store *st, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	if (cap > st->co_cap) {
		uint32_t *t = realloc(st->co_table, cap * sizeof *t);
		unsigned char *moot = realloc(st->co_moot, cap / 2);

		if (t)
			st->co_table = t;
		if (moot)
			st->co_moot = moot;
		if (!t || !moot)
			return 0;
		st->co_cap = cap;
	}
	st->co_mask = cap - 1;
	memset(st->co_table, 0, cap * sizeof *st->co_table);
	return 1;
}

const unsigned char *mcm_coalesce(struct mcm_store *st, const struct mcm_mutation *m, size_t n)
{
	size_t marked = 0;

	if (n < 2 || n > MCM_COALESCE_MAX || !room(st, n))
		return NULL;
	for (size_t i = n; i-- > 0;) {
		const struct mcm_mutation *x = &m[i];
		size_t h;
		uint32_t slot;

		st->co_moot[i] = 0;
		if (!mcm_mutation_on_key(x))
			continue;
		h = mcm_crc32c((uint32_t)x->pool->id ^ (uint32_t)(x->pool->id >> 32), x->key, x->key_len) & st->co_mask;
		for (unsigned probes = 0; (slot = st->co_table[h]) != 0 && !same_key(&m[(slot & ~BARRIER) - 1], x);
		     h = (h + 1) & st->co_mask)
			if (++probes > MAX_PROBES)
				return NULL; /* keys made to collide: the batch is applied whole */
		if (x->op == MCM_OP_RESTORE) {
			st->co_table[h] = (uint32_t)(i + 1) | BARRIER;
		} else if (slot != 0 && !(slot & BARRIER)) {
			st->co_moot[i] = 1; /* a set of this key follows */
			marked++;
		} else if (slot == 0 && x->op == MCM_OP_PUT) {
			st->co_table[h] = (uint32_t)(i + 1);
		}
	}
	return marked ? st->co_moot : NULL;
}
