/* stream.c - the change stream of one pool for a follower (see mcm_stream.h).
 *
 * Records are judged by the pool record of the same snapshot (mcm_iter_pool):
 * a flush is never learnt after records it killed were given as live.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_stream.h"

struct mcm_stream {
	struct mcm_store *st;
	mcm_pool_id pool_id;
	struct mcm_pool pool;     /* as of the snapshot of the records given */
	struct mcm_iter *it;      /* NULL after the end: reopened after pos by the next call */
	unsigned long snapshot;   /* the iterator's snapshot the pool was read in */
	uint64_t pos;             /* every change up to it was given (or needs none) */
	uint64_t flushed_through; /* the immediate flushes up to it were given */
	int64_t flush_time;       /* the delayed flush given last */
	uint64_t fresh_through;   /* resync: up to it only live records are given */
	int need_flush;           /* resync: a FLUSH comes first */
	struct mcm_item held;     /* read, and to be given after a FLUSH */
	int held_damaged;
	int have_held;
	uint64_t damaged;
};

/* The pool record: through the iterator's snapshot, or (none open) a new one. */
static int read_pool(struct mcm_stream *s)
{
	int rc = s->it ? mcm_iter_pool(s->it, s->pool_id, &s->pool) : mcm_store_pool(s->st, s->pool_id, &s->pool);

	if (rc == MCM_ENOTFOUND) { /* nothing written to it yet */
		memset(&s->pool, 0, sizeof s->pool);
		s->pool.id = s->pool_id;
		rc = 0;
	}
	return rc;
}

int mcm_stream_open(struct mcm_store *st, mcm_pool_id pool, uint64_t from, int64_t flush_time, unsigned flags,
		    struct mcm_stream **out)
{
	struct mcm_stream *s = calloc(1, sizeof *s);
	struct mcm_store_info info;
	int rc;

	*out = NULL;
	if (!s)
		return ENOMEM;
	s->st = st;
	s->pool_id = pool;
	s->pos = from;
	/* A flush marks the largest number in use (flush_seq == from when it came right after the last
	 * change the copy applied): give such a flush again. Given twice it is harmless, as everything up
	 * to it is gone anyway. */
	s->flushed_through = from ? from - 1 : 0;
	s->flush_time = flush_time;
	if (flags & MCM_STREAM_RESYNC) {
		if ((rc = mcm_store_info(st, &info)) != 0) {
			free(s);
			return rc;
		}
		s->pos = s->flushed_through = 0;
		s->flush_time = 0; /* the copy's own delayed flush goes with the emptying: give the pool's again */
		s->fresh_through = info.last_seq;
		s->need_flush = 1;
	}
	if ((rc = read_pool(s)) != 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void mcm_stream_close(struct mcm_stream *s)
{
	if (!s)
		return;
	mcm_iter_close(s->it);
	free(s);
}

int64_t mcm_stream_flush_time(const struct mcm_stream *s)
{
	return s->flush_time;
}

uint64_t mcm_stream_position(const struct mcm_stream *s)
{
	return s->pos;
}

uint64_t mcm_stream_damaged(const struct mcm_stream *s)
{
	return s->damaged;
}

static void flush_change(struct mcm_stream *s, struct mcm_change *c)
{
	memset(c, 0, sizeof *c);
	c->kind = MCM_CHANGE_FLUSH;
	if (s->pool.flush_seq > s->pos)
		s->pos = s->pool.flush_seq;
	if (s->pool.flush_seq > s->flushed_through)
		s->flushed_through = s->pool.flush_seq;
	c->seq = s->pos;
}

/* A flush or a delayed flush the copy has not been given: into *c (1), or 0. */
static int pending_flush(struct mcm_stream *s, struct mcm_change *c)
{
	if (s->pool.flush_seq > s->flushed_through) {
		flush_change(s, c);
		return 1;
	}
	if (s->pool.flush_time != s->flush_time) {
		s->flush_time = s->pool.flush_time;
		if (s->flush_time > 0) {
			memset(c, 0, sizeof *c);
			c->kind = MCM_CHANGE_FLUSH_AT;
			c->seq = s->pos;
			c->flush_time = s->flush_time;
			return 1;
		}
	}
	return 0;
}

/* The next record of the pool (0), MCM_END, or an error. A record from a new
 * snapshot first makes the stream read the pool record of that snapshot. */
static int next_record(struct mcm_stream *s, struct mcm_item *item, int *damaged)
{
	int rc;

	if (s->have_held) {
		s->have_held = 0;
		*item = s->held;
		*damaged = s->held_damaged;
		return 0;
	}
	if (!s->it) {
		if ((rc = mcm_iter_open(s->st, MCM_ORDER_SEQ, s->pos + 1, &s->it)) != 0)
			return rc;
		s->snapshot = mcm_iter_snapshot(s->it) - 1; /* not read in it yet */
	}
	for (;;) {
		int got = mcm_iter_next(s->it, item);

		if (got == MCM_END) {
			mcm_iter_close(s->it);
			s->it = NULL;
			return MCM_END;
		}
		if (got != 0 && got != MCM_EDAMAGED)
			return got;
		if (mcm_iter_snapshot(s->it) != s->snapshot) {
			s->snapshot = mcm_iter_snapshot(s->it);
			if ((rc = read_pool(s)) != 0)
				return rc;
		}
		if (item->pool == s->pool_id) {
			*damaged = got == MCM_EDAMAGED;
			return 0;
		}
		s->pos = item->seq > s->pos ? item->seq : s->pos; /* another pool's change: nothing to do here */
	}
}

int mcm_stream_next(struct mcm_stream *s, struct mcm_change *c)
{
	int64_t now = (int64_t)(mcm_now_us() / 1000000u);
	int rc, damaged;

	if (s->need_flush) {
		s->need_flush = 0;
		flush_change(s, c);
		return 0;
	}
	for (;;) {
		struct mcm_item item;

		if ((rc = next_record(s, &item, &damaged)) == MCM_END) {
			/* caught up with the records: with the pool too? */
			if ((rc = read_pool(s)) != 0)
				return rc;
			return pending_flush(s, c) ? 0 : MCM_END;
		}
		if (rc != 0)
			return rc;
		if (item.seq > s->pool.flush_seq && pending_flush(s, c)) {
			s->held = item; /* (its pointers stay valid: the iterator is not called meanwhile) */
			s->held_damaged = damaged;
			s->have_held = 1;
			return 0;
		}
		if (item.seq <= s->pool.flush_seq) {
			s->pos = item.seq > s->pos ? item.seq : s->pos; /* killed by the flush: the flush removes it */
			continue;
		}
		memset(c, 0, sizeof *c);
		c->item = item;
		c->seq = item.seq;
		c->damaged = damaged;
		c->kind = !damaged && mcm_item_is_live(&item, &s->pool, now) ? MCM_CHANGE_SET : MCM_CHANGE_DELETE;
		s->pos = item.seq > s->pos ? item.seq : s->pos;
		s->damaged += damaged;
		if (c->kind == MCM_CHANGE_DELETE && item.seq <= s->fresh_through && !damaged)
			continue; /* resync: the copy was emptied, nothing to delete (a damaged record is still named) */
		return 0;
	}
}
