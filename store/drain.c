/* drain.c - apply the write journal to the store (see mcm_drain.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "mcm_drain.h"
#include "mcm_record.h"

#define MAX_OPEN 4096        /* intents open at once; beyond that new ones are tainted at once */
#define STEP_MAX 8192        /* records per transaction */
#define POOLS_KEPT 64        /* pools cached by a drainer between steps */
#define POOLS_PER_STEP 64    /* pools a step may add (a record adds one at most): then it commits */
#define MAX_POOLS (POOLS_KEPT + POOLS_PER_STEP)

#define CLOSES_AT (1ULL << 63) /* the id of an open entry that stands for a write applied already
				  (one MCM_J_WRITE record, resolved): its call was in flight until the
				  journal reached the position in the other bits, and the records on
				  its key before that overlapped it (no writer's id has this bit) */
#define KEY_BYTES (MCM_NAMESPACE_MAX + MCM_KEY_MAX)

static const char META_JOURNAL[] = "journal";  /* instance, position, journal losses handled, blind_until */
static const char META_INTENTS[] = "intents";  /* the open intents */

/* An intent still waiting for its outcome. */
struct open_intent {
	uint64_t id;
	uint64_t pool;
	uint64_t opened_us;
	uint16_t key_len;     /* 0: a flush of the whole pool */
	uint8_t tainted;      /* overlapped another write: its outcome is unknown */
	char key[KEY_BYTES];
};

struct mcm_drain {
	struct mcm_store *st;
	struct mcm_journal *j;
	uint64_t pos;
	uint64_t last_commit;   /* position of the commit before, for MCM_STORE_NOMETASYNC */
	uint64_t lost_handled;  /* the journal's lost count when the mirror last forgot everything */
	uint64_t orphan_at;     /* after a restart of the machine: where the new boot's records start */
	int orphan_pending;     /* the intents still open there are to be orphaned */
	uint64_t step_us;       /* the clock at the start of the current step: when its intents were seen */
	struct open_intent *open;
	size_t nopen;
	int intents_dirty;
	uint64_t next_close;    /* no CLOSES_AT entry closes before this (0: not known) */
	uint64_t blind_until;   /* a resolved write's window that the open entries had no room for:
				   every write read before this position is dropped */
	char *drop_keys;        /* the keys of this step's drops of applied writes (MAX_OPEN of them) */
	size_t ndrop_keys;
	struct mcm_pool *pools; /* MAX_POOLS; mutations of a step point into it */
	size_t npools;
	struct mcm_mutation *batch; /* STEP_MAX: the current step's (each filled whole before use) */
	size_t nbatch;
	uint64_t dropped;       /* keys dropped here: overlapping writes, writers gone */
	uint64_t damaged;       /* damaged stretches of the journal skipped */
	uint64_t invalid;       /* whole records that made no sense (their keys were dropped) */
	void (*tidy_report)(int rc); /* told when the store's bulk rebuilds of its index fail (mcm_store_tidy) */
};

int mcm_drain_lock_open(const char *dir, int *fd)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof path, "%s/drain.lock", dir) >= (int)sizeof path)
		return ENAMETOOLONG;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return errno;
	return 0;
}

int mcm_drain_lock_take(int fd, int wait)
{
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0)
		if (errno != EINTR)
			return errno;
	return 0;
}

int mcm_drain_lock(const char *dir, int wait, int *fd)
{
	int rc = mcm_drain_lock_open(dir, fd);

	if (rc == 0 && (rc = mcm_drain_lock_take(*fd, wait)) != 0)
		close(*fd);
	return rc;
}

/* The saved open intents: a count, then the records. */
static void load_intents(struct mcm_drain *d)
{
	size_t len = 0, cap = sizeof(uint64_t) + MAX_OPEN * sizeof(struct open_intent);
	unsigned char *buf = malloc(cap);
	uint64_t n;

	if (!buf)
		return;
	if (mcm_store_meta_get(d->st, META_INTENTS, buf, cap, &len) == 0 && len >= sizeof n) {
		memcpy(&n, buf, sizeof n);
		if (n <= MAX_OPEN && len == sizeof n + n * sizeof(struct open_intent)) {
			memcpy(d->open, buf + sizeof n, n * sizeof(struct open_intent));
			d->nopen = n;
		}
	}
	free(buf);
}

/* The open intents of writers from before a restart of the machine, once
 * every record of that boot is read: their ids may be reused by new
 * processes, so they are made unmatchable and old, and the next
 * mcm_drain_reap drops their keys. */
static void orphan_intents(struct mcm_drain *d)
{
	for (size_t i = 0; i < d->nopen;) {
		if (d->open[i].id & CLOSES_AT) { /* every record that overlapped it was read */
			d->open[i] = d->open[--d->nopen];
			continue;
		}
		d->open[i].id = 0;
		d->open[i].opened_us = 0;
		i++;
	}
	d->next_close = 0;
	d->intents_dirty = 1; /* (and it stays set if closing intents set it) */
}

int mcm_drain_open(struct mcm_drain **out, struct mcm_store *st, struct mcm_journal *j)
{
	struct mcm_drain *d = calloc(1, sizeof *d);
	uint64_t saved[4] = {0, 0, 0, 0};
	size_t len;

	*out = NULL;
	/* (the pools and the batch are written before they are read: not zeroed;
	 * the open intents are, since they are saved whole, key buffers included) */
	if (!d || !(d->open = calloc(MAX_OPEN, sizeof *d->open)) || !(d->pools = malloc(MAX_POOLS * sizeof *d->pools)) ||
	    !(d->batch = malloc(STEP_MAX * sizeof *d->batch))) {
		mcm_drain_close(d);
		return ENOMEM;
	}
	d->st = st;
	d->j = j;
	d->pos = mcm_journal_head(j);
	if (mcm_store_meta_get(st, META_JOURNAL, saved, sizeof saved, &len) == 0 &&
	    len >= 2 * sizeof saved[0] && len <= sizeof saved && len % sizeof saved[0] == 0) {
		uint64_t prev, recovered_at;

		if (saved[0] == mcm_journal_instance(j) && saved[1] <= mcm_journal_tail(j)) {
			d->pos = saved[1]; /* what was applied, even if the last drainer died before moving the head */
			d->lost_handled = saved[2];
			d->blind_until = saved[3];
			load_intents(d);
		} else if (mcm_journal_recovery(j, &prev, &recovered_at) && saved[0] == prev) {
			d->lost_handled = saved[2]; /* the same file: its lost count goes on */
			/* the machine restarted: resume where LMDB is, unless that is past
			 * what the journal kept (new records start at recovered_at) */
			d->pos = saved[1] < recovered_at ? saved[1] : recovered_at;
			load_intents(d);
			d->orphan_at = recovered_at;
			d->orphan_pending = 1; /* the old boot's records up to recovered_at close some of them */
		}
	}
	d->last_commit = d->pos;
	mcm_journal_set_head(j, d->pos);
	/* this drainer reads MCM_J_WRITE records, and no older one opens the mirror now */
	if (!(mcm_store_flags(st) & MCM_STORE_RDONLY) && mcm_store_format(st) >= 4)
		mcm_journal_add_features(j, MCM_JFEAT_WRITE);
	*out = d;
	return 0;
}

void mcm_drain_close(struct mcm_drain *d)
{
	if (!d)
		return;
	free(d->open);
	free(d->drop_keys);
	free(d->pools);
	free(d->batch);
	free(d);
}

uint64_t mcm_drain_position(const struct mcm_drain *d)
{
	return d->pos;
}

uint64_t mcm_drain_dropped(const struct mcm_drain *d)
{
	return d->dropped;
}

uint64_t mcm_drain_damaged(const struct mcm_drain *d)
{
	return d->damaged;
}

uint64_t mcm_drain_invalid(const struct mcm_drain *d)
{
	return d->invalid;
}

void mcm_drain_on_tidy_error(struct mcm_drain *d, void (*report)(int rc))
{
	d->tidy_report = report;
}

size_t mcm_drain_open_intents(const struct mcm_drain *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nopen; i++)
		n += !(d->open[i].id & CLOSES_AT);
	return n;
}

/* The pool record a mutation refers to: from POOL records, else the store. */
static const struct mcm_pool *pool_of(struct mcm_drain *d, uint64_t id)
{
	struct mcm_pool p;

	for (size_t i = 0; i < d->npools; i++)
		if (d->pools[i].id == id)
			return &d->pools[i];
	if (mcm_store_pool(d->st, id, &p) != 0) {
		memset(&p, 0, sizeof p);
		p.id = id;
	}
	d->pools[d->npools] = p;
	return &d->pools[d->npools++];
}

static void remember_pool(struct mcm_drain *d, const unsigned char *payload, size_t len)
{
	struct mcm_pool p;

	uint64_t id;

	if (len < 8)
		return;
	memcpy(&id, payload, 8);
	if (mcm_pool_decode(id, payload + 8, len - 8, &p) != 0) {
		d->invalid++; /* (its writes then use the pool as the store has it) */
		return;
	}
	for (size_t i = 0; i < d->npools; i++)
		if (d->pools[i].id == p.id) {
			d->pools[i] = p;
			return;
		}
	d->pools[d->npools++] = p;
}

static void forget_pool(struct mcm_drain *d, uint64_t id);

/* The key of the applied write e is dropped after all: a write on it came
 * while its call was in flight. The drop's key is copied (the open entries
 * move), into room for as many drops as entries may be open. */

static void drop_applied(struct mcm_drain *d, const struct open_intent *e)
{
	struct mcm_mutation *m = &d->batch[d->nbatch];
	char *key;

	if (d->ndrop_keys == MAX_OPEN || (!d->drop_keys && !(d->drop_keys = malloc((size_t)MAX_OPEN * KEY_BYTES)))) {
		forget_pool(d, e->pool); /* no room to name the key: the pool is forgotten */
		return;
	}
	key = d->drop_keys + d->ndrop_keys++ * KEY_BYTES;
	memcpy(key, e->key, e->key_len);
	memset(m, 0, sizeof *m);
	m->op = MCM_OP_DROP;
	m->pool = pool_of(d, e->pool);
	m->key = key;
	m->key_len = e->key_len;
	m->group = m->value = "";
	d->nbatch++;
	d->dropped++;
}

/* A write to (pool, key) is read (key_len 0: a flush of the pool): every open
 * entry on that target was in flight at the same time (tainted: a drop, not
 * its outcome, is what the mirror keeps; for a write applied already, a drop
 * now). @return 1 when there was one. */
static int taint_key(struct mcm_drain *d, uint64_t pool, const void *key, size_t key_len)
{
	int any = 0;

	for (size_t i = 0; i < d->nopen; i++) {
		struct open_intent *e = &d->open[i];

		if (e->pool != pool ||
		    (key_len && e->key_len && (e->key_len != key_len || memcmp(e->key, key, key_len) != 0)))
			continue;
		if (!e->tainted && (e->id & CLOSES_AT))
			drop_applied(d, e);
		e->tainted = 1;
		any = 1;
	}
	if (any)
		d->intents_dirty = 1;
	return any;
}

/* Open an entry for a write to (pool, key), appended at position at, with
 * this id (tainted if it overlaps another): NULL, after tainting what it
 * overlaps, when there is no room for it. */
static struct open_intent *open_entry(struct mcm_drain *d, uint64_t id, uint64_t at, uint64_t pool,
				      const void *key, size_t key_len, uint64_t opened_us)
{
	/* both were in flight at once; or in a window no entry could be kept for */
	int tainted = taint_key(d, pool, key, key_len) || at < d->blind_until;
	struct open_intent *in;

	if (d->nopen == MAX_OPEN)
		return NULL; /* cannot track it (an intent's outcome will be dropped: not found) */
	in = &d->open[d->nopen++];
	memset(in, 0, offsetof(struct open_intent, key));
	in->id = id;
	in->pool = pool;
	in->opened_us = opened_us;
	in->key_len = (uint16_t)key_len;
	memcpy(in->key, key, key_len);
	in->tainted = (uint8_t)tainted;
	d->intents_dirty = 1;
	return in;
}

static void open_intent(struct mcm_drain *d, uint64_t id, uint64_t at, const unsigned char *payload, size_t len)
{
	struct mcm_jintent h;

	if (len < sizeof h)
		return;
	memcpy(&h, payload, sizeof h);
	if (h.key_len > KEY_BYTES || sizeof h + h.key_len > len)
		return;
	/* (the shim leaves an intent's clock unread) */
	open_entry(d, id, at, h.pool, payload + sizeof h, h.key_len, h.wtime_us ? h.wtime_us : d->step_us);
}

/* Before the record at pos: the applied writes whose calls had returned when
 * it was appended no longer overlap anything. */
static void close_applied(struct mcm_drain *d, uint64_t pos)
{
	uint64_t next = UINT64_MAX;

	if (d->next_close > pos)
		return;
	for (size_t i = 0; i < d->nopen;) {
		uint64_t close = d->open[i].id & CLOSES_AT ? d->open[i].id & ~CLOSES_AT : UINT64_MAX;

		if (close <= pos) {
			if (i != --d->nopen)
				d->open[i] = d->open[d->nopen];
			d->intents_dirty = 1;
			continue;
		}
		next = close < next ? close : next;
		i++;
	}
	d->next_close = next;
}

/* Close the intent id; returns 1 if it was found untainted. */
static int close_intent(struct mcm_drain *d, uint64_t id)
{
	for (size_t i = 0; i < d->nopen; i++) {
		if (d->open[i].id == id) {
			int clean = !d->open[i].tainted;

			if (i != --d->nopen) /* (an entry is over 500 bytes: the last one is not copied onto itself) */
				d->open[i] = d->open[d->nopen];
			d->intents_dirty = 1;
			return clean;
		}
	}
	return 0; /* never seen (lost, or reaped as dead): unknown */
}

/* The operations a shim's outcome record may carry. */
static int from_shim(enum mcm_op op)
{
	switch (op) {
	case MCM_OP_PUT:
	case MCM_OP_APPEND:
	case MCM_OP_PREPEND:
	case MCM_OP_DELTA:
	case MCM_OP_TOUCH:
	case MCM_OP_DELETE:
	case MCM_OP_DROP:
	case MCM_OP_FLUSH:
	case MCM_OP_ENCRYPTED:
		return 1;
	default:
		return 0;
	}
}

/* Turn the invalid mutation m into a drop of its key, if the key itself can
 * be named (then 1; else 0 and m is left to the caller). */
static int drop_instead(struct mcm_mutation *m)
{
	struct mcm_mutation drop;

	memset(&drop, 0, sizeof drop);
	drop.op = MCM_OP_DROP;
	drop.pool = m->pool;
	drop.key = m->key;
	drop.key_len = m->key_len;
	drop.group = drop.value = "";
	if (m->op == MCM_OP_FLUSH || !mcm_mutation_valid(&drop))
		return 0;
	*m = drop;
	return 1;
}

/* A record of pool id made no sense and its key cannot be named: the mirror
 * forgets the whole pool (an immediate flush marker), as for a lost write. */
static void forget_pool(struct mcm_drain *d, uint64_t id)
{
	struct mcm_mutation *m = &d->batch[d->nbatch++];

	memset(m, 0, sizeof *m);
	m->op = MCM_OP_FLUSH;
	m->pool = pool_of(d, id);
	m->key = m->group = m->value = "";
}

/* Turn an outcome (h, read from payload, of an OUTCOME or WRITE record) into a
 * mutation of the batch, a drop unless clean. The mutation points into the
 * journal's map, which stays put until the head moves. */
static void add_mutation(struct mcm_drain *d, const struct mcm_joutcome *hp, const unsigned char *payload,
			 size_t len, int clean)
{
	struct mcm_joutcome h = *hp;
	struct mcm_mutation *m = &d->batch[d->nbatch];

	if (sizeof h + h.key_len + h.group_len + h.value_len > len) {
		d->invalid++; /* cut short: what it did is unknown, but not even its key can be named */
		forget_pool(d, h.pool);
		return;
	}
	if (h.op == MCM_OP_NONE)
		return; /* the write changed nothing on the server */
	memset(m, 0, sizeof *m);
	m->op = (enum mcm_op)h.op;
	m->pool = pool_of(d, h.pool);
	m->key = (const char *)payload + sizeof h;
	m->key_len = h.key_len;
	m->ns_len = h.ns_len;
	m->group_mode = h.group_mode;
	m->group = m->key + h.key_len;
	m->group_len = h.group_len;
	m->value = m->group + h.group_len;
	m->value_len = h.value_len;
	m->flags = h.flags;
	m->exptime = h.exptime;
	m->wtime_us = h.wtime_us;
	m->delta = h.delta;
	m->result = h.result;
	m->initial = h.initial;
	m->incr = h.incr;
	m->with_initial = h.with_initial;
	if (!from_shim(m->op) || !mcm_mutation_valid(m)) {
		d->invalid++; /* something no shim writes: what it did on the server is unknown */
		if (!drop_instead(m))
			forget_pool(d, h.pool);
		else
			d->nbatch++;
		return;
	}
	if (!clean && m->op != MCM_OP_FLUSH && m->op != MCM_OP_DROP) {
		m->op = MCM_OP_DROP; /* the server's order of overlapping writes is unknown */
		d->dropped++;
	}
	d->nbatch++;
}

static void add_outcome(struct mcm_drain *d, uint64_t id, const unsigned char *payload, size_t len)
{
	struct mcm_joutcome h;
	int clean = close_intent(d, id);

	if (len < sizeof h)
		return;
	memcpy(&h, payload, sizeof h);
	add_mutation(d, &h, payload, len, clean);
}

/* A WRITE record (mcm_journal_resolve), read at at up to end. Resolved: an
 * intent open from at to the tail its writer saw when the call returned,
 * and its outcome, applied now; an entry stays open until the drainer reaches
 * that tail (close_applied), and a write read meanwhile on the same key
 * drops it. Else an intent, whose OUTCOME follows. */
static void add_write(struct mcm_drain *d, const struct mcm_jrec *r, uint64_t at, uint64_t end,
		      const unsigned char *payload, size_t len)
{
	uint64_t closes;
	int resolved = mcm_journal_settle(d->j, r, at, &closes); /* (first: a pending one is taken over) */
	const void *key;
	struct mcm_joutcome h;
	struct open_intent *in;
	int clean;

	if (len < sizeof h)
		return;
	memcpy(&h, payload, sizeof h);
	key = payload + sizeof h;
	if (h.key_len > KEY_BYTES || sizeof h + h.key_len > len) {
		d->invalid++; /* its key cannot be named */
		forget_pool(d, h.pool);
		return;
	}
	if (!resolved) {
		open_entry(d, r->id, at, h.pool, key, h.key_len, h.wtime_us);
		return;
	}
	if (closes <= end) { /* nothing was appended while the call was in flight */
		clean = !taint_key(d, h.pool, key, h.key_len) && at >= d->blind_until;
	} else if ((in = open_entry(d, CLOSES_AT | closes, at, h.pool, key, h.key_len, h.wtime_us))) {
		clean = !in->tainted;
		if (d->next_close > closes)
			d->next_close = closes;
	} else { /* no room to follow its window: every write read in it is dropped */
		clean = 0;
		if (d->blind_until < closes)
			d->blind_until = closes;
	}
	add_mutation(d, &h, payload, len, clean);
}

/* An intent that will never see its outcome: its key is dropped; a flush whose
 * writer died may have reached some servers, so the mirror forgets the pool. */
static void add_drop(struct mcm_drain *d, const struct open_intent *in)
{
	struct mcm_mutation *m = &d->batch[d->nbatch++];

	memset(m, 0, sizeof *m);
	m->op = in->key_len ? MCM_OP_DROP : MCM_OP_FLUSH;
	d->dropped++;
	m->pool = pool_of(d, in->pool);
	m->key = in->key;
	m->key_len = in->key_len;
	m->group = "";
	m->value = "";
}

/* Records were lost because the journal was full (lost: the journal's count
 * of them, read before the records just consumed): the mirror cannot know
 * which keys they changed, so every pool forgets everything written so far.
 * Only once every record appended before the losses was applied: those come
 * first, the forgetting after them. */
static void forget_all(struct mcm_drain *d, uint64_t lost)
{
	struct mcm_mutation *m = &d->batch[d->nbatch++];

	memset(m, 0, sizeof *m);
	m->op = MCM_OP_FORGET_ALL;
	m->key = m->group = m->value = "";
	d->lost_handled = lost;
}

/* Commit the batch, the new position and (if changed) the open intents. */
static int commit(struct mcm_drain *d, uint64_t pos)
{
	uint64_t saved[4] = {mcm_journal_instance(d->j), pos, d->lost_handled, d->blind_until};
	struct mcm_meta meta[2] = {{META_JOURNAL, saved, sizeof saved}, {META_INTENTS, NULL, 0}};
	unsigned char *intents = NULL;
	uint64_t n = d->nopen;
	int rc;

	if (d->intents_dirty) {
		size_t len = sizeof n + d->nopen * sizeof(struct open_intent);
		if (!(intents = malloc(len)))
			return ENOMEM;
		memcpy(intents, &n, sizeof n);
		memcpy(intents + sizeof n, d->open, d->nopen * sizeof(struct open_intent));
		meta[1].data = intents;
		meta[1].len = len;
	}
	rc = mcm_store_apply_meta(d->st, d->batch, d->nbatch, meta, d->intents_dirty ? 2 : 1);
	free(intents);
	d->nbatch = 0;
	if (rc != 0)
		return rc;
	d->intents_dirty = 0;
	d->pos = pos;
	/* before the writes are published: a process that exits waits for that
	 * (up to shim/writer.c's EXIT_WAIT_MS), so neither its rebuild nor the
	 * report of its failure is cut short (nothing else waits for it: the
	 * store has no bulk rebuilds in always mode) */
	if ((rc = mcm_store_tidy(d->st)) != 0 && d->tidy_report)
		d->tidy_report(rc);
	mcm_journal_set_head(d->j, pos);
	/* the journal's room may be reused once LMDB has the records on disk */
	if (mcm_store_flags(d->st) & MCM_STORE_NOMETASYNC) {
		mcm_journal_set_reclaim(d->j, d->last_commit); /* this commit's sync covered the last meta */
		d->last_commit = pos;
	} else if (!(mcm_store_flags(d->st) & MCM_STORE_NOSYNC)) {
		mcm_journal_set_reclaim(d->j, pos);
	}
	return 0;
}

void mcm_drain_synced(struct mcm_drain *d)
{
	d->last_commit = d->pos;
	mcm_journal_set_reclaim(d->j, d->pos);
}

int mcm_drain_step(struct mcm_drain *d, size_t max, size_t *consumed)
{
	struct open_intent *saved_open = NULL;
	size_t saved_nopen = d->nopen, n = 0;
	uint64_t pos = d->pos, lost = mcm_journal_lost(d->j), lost_handled = d->lost_handled;
	uint64_t blind_until = d->blind_until;
	int rc = 0, at_end = 0, orphan_pending = d->orphan_pending;

	*consumed = 0;
	if (max > STEP_MAX)
		max = STEP_MAX;
	d->step_us = mcm_now_us();
	/* keep the open intents as they were, to roll back if the commit fails */
	if (!(saved_open = malloc((d->nopen ? d->nopen : 1) * sizeof *saved_open)))
		return ENOMEM;
	memcpy(saved_open, d->open, d->nopen * sizeof *saved_open);
	d->nbatch = 0;
	d->ndrop_keys = 0;
	if (d->npools > POOLS_KEPT)
		d->npools = 0; /* between steps nothing points into the cache */
	/* a record adds a mutation, and a drop for each applied write it overlaps */
	while (n < max && d->nbatch + d->nopen + 2 < STEP_MAX && d->npools < MAX_POOLS) {
		const struct mcm_jrec *r;
		const unsigned char *payload;
		size_t len;

		if (d->orphan_pending && pos >= d->orphan_at) {
			orphan_intents(d);
			d->orphan_pending = 0;
		}
		close_applied(d, pos);
		rc = mcm_journal_read(d->j, &pos, &r, &payload, &len);
		if (rc == MCM_EFORMAT && mcm_journal_skip_damaged(d->j, &pos) == 0) {
			d->damaged++; /* something wrote into the map: skip to the next whole record */
			n++;          /* (progress: committed with the position) */
			rc = 0;
			continue;
		}
		if (rc == MCM_END) {
			rc = 0;
			at_end = 1;
			break;
		}
		if (rc != 0)
			break;
		n += r->type == MCM_J_WRITE ? 2 : 1; /* (a write, as an intent and an outcome would be) */
		if (r->type == MCM_J_WRITE)
			add_write(d, r, pos - r->len, pos, payload, len);
		else if (r->type == MCM_J_OUTCOME)
			add_outcome(d, r->id, payload, len);
		else if (r->type == MCM_J_INTENT)
			open_intent(d, r->id, pos - r->len, payload, len);
		else if (r->type == MCM_J_POOL)
			remember_pool(d, payload, len);
	}
	close_applied(d, pos);
	if (rc == 0 && at_end && lost != d->lost_handled)
		forget_all(d, lost);
	/* pad records count as progress too: a pad can end what the journal holds (the record it
	 * made room for torn by a power loss), and the position must reach the tail */
	if (rc == 0 && (n > 0 || pos != d->pos || d->lost_handled != lost_handled ||
			d->orphan_pending != orphan_pending))
		rc = commit(d, pos);
	if (rc != 0) {
		memcpy(d->open, saved_open, saved_nopen * sizeof *saved_open);
		d->nopen = saved_nopen;
		d->next_close = 0;
		d->blind_until = blind_until;
		d->npools = 0;
		d->lost_handled = lost_handled;
		d->orphan_pending = orphan_pending;
	} else {
		*consumed = n;
	}
	free(saved_open);
	return rc;
}

/* Has the process that opened intent id exited? (A zombie has.) */
static int writer_gone(uint64_t id)
{
	return mcm_journal_task_gone((pid_t)(id >> 32));
}

/* One round of mcm_drain_reap: at most POOLS_PER_STEP intents, dropped in one
 * commit. Returns an error, or 0 with *n set to the intents given up. */
static int reap_some(struct mcm_drain *d, unsigned max_age_s, size_t *n)
{
	struct open_intent *gone;
	struct timespec ts;
	uint64_t now_us;
	size_t ngone = 0, i = 0;
	int rc;

	*n = 0;
	if (d->nopen == 0)
		return 0;
	if (!(gone = malloc(d->nopen * sizeof *gone)))
		return ENOMEM;
	if (d->npools > POOLS_KEPT)
		d->npools = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	while (i < d->nopen) {
		struct open_intent *in = &d->open[i];
		int dead;

		if (in->id & CLOSES_AT) { /* an applied write: no writer to wait for */
			i++;
			continue;
		}
		dead = ngone < POOLS_PER_STEP && writer_gone(in->id);

		if (dead)
			mcm_journal_writing(d->j, -1); /* it may have been an always-writer in flight */
		if (dead || (ngone < POOLS_PER_STEP && now_us - in->opened_us > (uint64_t)max_age_s * 1000000u)) {
			gone[ngone++] = *in;
			*in = d->open[--d->nopen];
		} else {
			i++;
		}
	}
	d->nbatch = 0;
	for (i = 0; i < ngone; i++)
		add_drop(d, &gone[i]);
	if (ngone)
		d->intents_dirty = 1;
	rc = ngone ? commit(d, d->pos) : 0;
	free(gone);
	*n = ngone;
	return rc;
}

/* Is some open intent's writer gone, or the intent older than max_age_s? */
static int any_to_reap(const struct mcm_drain *d, unsigned max_age_s)
{
	uint64_t now_us = mcm_now_us();

	for (size_t i = 0; i < d->nopen; i++)
		if (!(d->open[i].id & CLOSES_AT) &&
		    (writer_gone(d->open[i].id) || now_us - d->open[i].opened_us > (uint64_t)max_age_s * 1000000u))
			return 1;
	return 0;
}

int mcm_drain_reap(struct mcm_drain *d, unsigned max_age_s)
{
	size_t n;
	int rc = 0;

	if (!any_to_reap(d, max_age_s))
		return 0;
	/* A writer found gone appends nothing more: what it appended before it
	 * died (its outcome, a moment before it exited) is in the journal now.
	 * Apply that first, so that only intents really left open are dropped. */
	do
		rc = mcm_drain_step(d, STEP_MAX, &n);
	while (rc == 0 && n > 0);
	while (rc == 0 && (rc = reap_some(d, max_age_s, &n)) == 0 && n == POOLS_PER_STEP)
		;
	return rc;
}

/* Take the drain lock of dir (*fd, 0 returned), or wait until the drainer
 * holding it has applied what was appended before the call (EALREADY). The
 * lock is tried again while waiting: its holder may be a dying process (a
 * thread still inside a system call keeps the descriptors a moment after the
 * process shows as a zombie) that will never apply anything.
 * @return 0, EALREADY, ETIMEDOUT or an errno value. */
static int lock_or_wait(const char *dir, struct mcm_journal *j, unsigned timeout_ms, int *fd)
{
	uint64_t target = mcm_journal_tail(j);
	struct timespec ts = {0, 10 * 1000000L};
	int rc;

	if ((rc = mcm_drain_lock_open(dir, fd)) != 0)
		return rc;
	for (unsigned waited = 0;; waited += 10) {
		if ((rc = mcm_drain_lock_take(*fd, 0)) != EWOULDBLOCK)
			break;
		if (mcm_journal_head(j) >= target) {
			rc = EALREADY;
			break;
		}
		if (waited == 0)
			mcm_journal_wake_drainer(j); /* it may be in a nap */
		if (waited >= timeout_ms) {
			rc = ETIMEDOUT;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (rc != 0)
		close(*fd);
	return rc;
}

int mcm_drain_wait_live(const char *dir, unsigned timeout_ms)
{
	struct mcm_journal *j;
	int fd, rc = mcm_journal_open(&j, dir, 0, 0);

	if (rc == ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	rc = lock_or_wait(dir, j, timeout_ms, &fd);
	if (rc == 0) /* nobody drains: no shim process is writing */
		close(fd);
	mcm_journal_close(j);
	return rc == EALREADY ? 0 : rc;
}

int mcm_drain_catch_up(const char *dir, unsigned timeout_ms)
{
	struct mcm_journal *j;
	struct mcm_store *st;
	struct mcm_drain *d;
	int fd, rc;

	rc = mcm_journal_open(&j, dir, 0, 0);
	if (rc == ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = lock_or_wait(dir, j, timeout_ms, &fd)) != 0) { /* EALREADY: a live drainer caught up */
		mcm_journal_close(j);
		return rc == EALREADY ? 0 : rc;
	}
	if ((rc = mcm_store_open(&st, dir, MCM_STORE_CREATE | MCM_STORE_BULKSEQ, 0)) == 0) {
		if ((rc = mcm_drain_open(&d, st, j)) == 0) {
			size_t n;
			do
				rc = mcm_drain_step(d, STEP_MAX, &n);
			while (rc == 0 && n > 0);
			if (rc == 0)
				rc = mcm_drain_reap(d, 60);
			mcm_drain_close(d);
		}
		if (rc == 0)
			rc = mcm_store_sync(st);
		mcm_store_close(st);
	}
	close(fd);
	mcm_journal_close(j);
	return rc;
}
