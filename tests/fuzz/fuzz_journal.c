/* fuzz_journal.c - libFuzzer target: the write journal and its drainer (store/journal.c,
 * store/drain.c, and store/apply.c under them) on a small ring that wraps, drained into a real
 * LMDB mirror in a temporary directory.
 *
 * Input: a setup byte (ring size 1, 2, 4 or 8 KiB; the store's commit mode), then a program of
 * steps, each an opcode byte and its operands:
 *   pool, intent, outcome, write (intent + outcome), raw record: appended through the real
 *     mcm_journal_append, with fields the shim would never write (any op byte, group mode,
 *     namespace length, lengths that disagree with the payload), ids of this process, of a
 *     dead one and of none;
 *   one-record write (MCM_J_WRITE, the same payloads as an outcome), resolved at once or left
 *     pending; resolve: one of those pending, later (by then taken over, or its place in the
 *     ring reused: the resolution must fail then);
 *   damage: bytes of the mapped ring overwritten (the host can scribble on the shared map);
 *   drain: one mcm_drain_step of a few records; sync: the store synced, the room reclaimed;
 *   reap: mcm_drain_reap of dead writers or of every open intent;
 *   drainer: the drainer closed and another opened (a drainer that died);
 *   reboot: everything closed, the journal marked as written by an earlier boot and the
 *     record after what was on disk torn (tests/integration/journal_restart.c), then opened
 *     again: the journal's recovery and the drainer's resumption.
 *
 * Invariants beyond "no crash":
 *  - the drain never stops for good: every mcm_drain_step and mcm_drain_reap returns 0, and at
 *    the end the drainer reaches the journal's tail in a bounded number of steps, whatever the
 *    records and the damage;
 *  - the store stays readable: after the drain, a walk in key order and one in sequence order
 *    both end in MCM_END (every record decodes), see the same number of records, sequence
 *    numbers strictly increase, and every record has a known kind and group mode and a
 *    namespace no longer than its key; the pools read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "mcm_drain.h"
#include "mcm_journal.h"
#include "mcm_pool.h"
#include "mcm_record.h"

#define MAX_STEPS 256
#define FINAL_STEPS 10000 /* drain steps allowed to reach the tail at the end */
#define HEADER_PAGE 4096  /* the journal's header page (journal.c's JOURNAL_HEADER) */

enum step {
	S_POOL,
	S_INTENT,
	S_OUTCOME,
	S_WRITE,
	S_WRITE2, /* writes are the common case: two opcodes */
	S_RAW,
	S_DAMAGE,
	S_DRAIN,
	S_SYNC,
	S_REAP,
	S_DRAINER,
	S_REBOOT,
	S_ONE,    /* opcode bytes from 0xe0 (even): the steps above are the byte modulo S_ONE, */
	S_RESOLVE /* as before these two came (the seeds keep their meaning); odd: this one */
};

#define TICKETS 8 /* one-record writes left pending at once */

struct env {
	char dir[4096];
	unsigned store_flags;
	struct mcm_store *st;
	struct mcm_journal *j;
	struct mcm_drain *d;
	struct mcm_pool pools[3];
	struct mcm_jticket tickets[TICKETS];
	unsigned ntickets;
};

static const char *const servers[3] = {"127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11211,/run/mc.sock"};
static const char *const keys[4] = {"a", "b", "ns:user", "ns:"};
static uint64_t dead_pid;

/* A pid that is certainly gone: a child that exited and was reaped (taken once). */
static uint64_t a_dead_pid(void)
{
	pid_t pid;

	if (dead_pid)
		return dead_pid;
	if ((pid = fork()) == 0)
		_exit(0);
	FUZZ_CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid, "cannot make a dead pid");
	return dead_pid = (uint64_t)pid;
}

static void open_all(struct env *e)
{
	int rc;

	FUZZ_CHECK((rc = mcm_store_open(&e->st, e->dir, MCM_STORE_CREATE | e->store_flags, 0)) == 0,
		   "cannot open the store: %s", mcm_strerror(rc));
	FUZZ_CHECK((rc = mcm_journal_open(&e->j, e->dir, 0, 0)) == 0, "cannot open the journal again: %s",
		   mcm_strerror(rc));
	FUZZ_CHECK((rc = mcm_drain_open(&e->d, e->st, e->j)) == 0, "cannot open a drainer: %s", mcm_strerror(rc));
}

static void close_all(struct env *e)
{
	mcm_drain_close(e->d);
	mcm_journal_close(e->j);
	mcm_store_close(e->st);
	e->d = NULL;
	e->j = NULL;
	e->st = NULL;
}

static uint64_t an_id(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);
	uint64_t pid = (b & 0xc0) == 0 ? 0 : (b & 0xc0) == 0x40 ? a_dead_pid() : (uint64_t)getpid();

	return pid << 32 | (b & 7);
}

/* A key: one of a few (so that writes overlap), or bytes of the input. */
static const uint8_t *a_key(struct fuzz_in *in, size_t *len)
{
	uint8_t b = fuzz_u8(in);

	if (b < 0xf0) {
		*len = strlen(keys[b & 3]);
		return (const uint8_t *)keys[b & 3];
	}
	return fuzz_bytes(in, b & 0x0f ? (size_t)(b & 0x0f) * 24 : 400, len);
}

static void append(struct env *e, enum mcm_jtype type, uint64_t id, struct iovec *iov, int n)
{
	uint64_t end;
	int rc = mcm_journal_append(e->j, type, id, iov, n, 0, &end);

	FUZZ_CHECK(rc == 0 || rc == ENOSPC || rc == EMSGSIZE, "append returned %d", rc);
}

static void step_pool(struct env *e, struct fuzz_in *in)
{
	unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	struct mcm_pool *p = &e->pools[fuzz_u8(in) % 3];
	struct iovec iov[2] = {{&p->id, 8}, {buf, 0}};

	p->distribution = fuzz_u8(in) % 9;
	p->key_hash = fuzz_u8(in) % 13;
	p->dist_hash = fuzz_u8(in) % 13;
	p->hash_with_namespace = fuzz_u8(in) & 1;
	iov[1].iov_len = mcm_pool_size(p);
	mcm_pool_encode(p, buf);
	append(e, MCM_J_POOL, 0, iov, 2);
}

static void intent(struct env *e, struct fuzz_in *in, uint64_t id, uint64_t pool, const uint8_t *key, size_t len)
{
	struct mcm_jintent h = {.pool = pool, .wtime_us = mcm_now_us(), .key_len = (uint32_t)len};
	struct iovec iov[2] = {{&h, sizeof h}, {(void *)key, len}};
	uint8_t b = fuzz_u8(in);

	if (b == 0xff)
		h.key_len = fuzz_u32(in); /* disagrees with the payload */
	else if (b == 0xfe)
		iov[1].iov_len = 0; /* a flush of the pool */
	append(e, MCM_J_INTENT, id, iov, 2);
}

/* An OUTCOME record; or with t, a WRITE record (its ticket in *t, t->pos UINT64_MAX if not appended). */
static void outcome_rec(struct env *e, struct fuzz_in *in, uint64_t id, uint64_t pool, const uint8_t *key,
			size_t len, struct mcm_jticket *t)
{
	struct mcm_joutcome h;
	size_t glen, vlen;
	const uint8_t *group = fuzz_bytes(in, fuzz_u8(in) % 8, &glen), *value;
	uint8_t shape = fuzz_u8(in);
	struct iovec iov[4];

	value = fuzz_bytes(in, fuzz_u8(in) % 64, &vlen);
	memset(&h, 0, sizeof h);
	h.pool = pool;
	h.op = fuzz_u8(in);
	if (!(shape & 0x80))
		h.op %= MCM_OP_FORGET_ALL + 1; /* mostly the ops the shim writes; any byte otherwise */
	h.group_mode = shape & 0x40 ? fuzz_u8(in) : (shape >> 4) & 1;
	h.ns_len = shape & 0x20 ? fuzz_u16(in) : (uint16_t)(len ? fuzz_u8(in) % (len + 1) : 0);
	h.flags = fuzz_u32(in);
	h.exptime = shape & 0x08 ? (int64_t)fuzz_u64(in) : (int64_t)(fuzz_u8(in) % 3) * 1000000000;
	h.wtime_us = shape & 0x04 ? fuzz_u64(in) : mcm_now_us();
	h.delta = fuzz_u8(in);
	h.result = fuzz_u64(in);
	h.initial = fuzz_u8(in);
	h.incr = fuzz_u8(in) & 1;
	h.with_initial = shape & 0x02;
	h.key_len = (uint16_t)len;
	h.group_len = (uint16_t)glen;
	h.value_len = (uint32_t)vlen;
	if (shape & 0x01) { /* lengths that disagree with the payload */
		h.key_len = fuzz_u16(in);
		h.group_len = fuzz_u16(in);
		h.value_len = fuzz_u32(in);
	}
	iov[0] = (struct iovec){&h, sizeof h};
	iov[1] = (struct iovec){(void *)key, len};
	iov[2] = (struct iovec){(void *)group, glen};
	iov[3] = (struct iovec){(void *)value, vlen};
	if (t) {
		int rc = mcm_journal_append_write(e->j, id, iov, 4, 0, t);

		FUZZ_CHECK(rc == 0 || rc == ENOSPC || rc == EMSGSIZE, "append_write returned %d", rc);
		if (rc != 0)
			t->pos = UINT64_MAX;
		return;
	}
	append(e, MCM_J_OUTCOME, id, iov, 4);
}

static void outcome(struct env *e, struct fuzz_in *in, uint64_t id, uint64_t pool, const uint8_t *key, size_t len)
{
	outcome_rec(e, in, id, pool, key, len, NULL);
}

static void resolve(struct env *e, const struct mcm_jticket *t)
{
	int rc = mcm_journal_resolve(e->j, t);

	FUZZ_CHECK(rc == 0 || rc == EALREADY, "resolve returned %d", rc);
}

/* A one-record write: resolved at once, kept pending, or left for its outcome. */
static void step_one(struct env *e, struct fuzz_in *in)
{
	uint64_t id = an_id(in), pool = e->pools[fuzz_u8(in) % 3].id;
	uint8_t how = fuzz_u8(in);
	struct mcm_jticket t;
	size_t len;
	const uint8_t *key = a_key(in, &len);

	outcome_rec(e, in, id, pool, key, len, &t);
	if (t.pos == UINT64_MAX)
		return;
	if (how % 3 == 0)
		resolve(e, &t);
	else if (how % 3 == 1 && e->ntickets < TICKETS)
		e->tickets[e->ntickets++] = t;
	else
		outcome(e, in, id, pool, key, len); /* the call did something else */
}

static void step_resolve(struct env *e, struct fuzz_in *in)
{
	unsigned i;

	if (e->ntickets == 0)
		return;
	i = fuzz_u8(in) % e->ntickets;
	resolve(e, &e->tickets[i]);
	e->tickets[i] = e->tickets[--e->ntickets];
}

static void step_write(struct env *e, struct fuzz_in *in, enum step s)
{
	uint64_t id = an_id(in), pool = e->pools[fuzz_u8(in) % 3].id;
	size_t len;
	const uint8_t *key = a_key(in, &len);

	if (s != S_OUTCOME)
		intent(e, in, id, pool, key, len);
	if (s != S_INTENT)
		outcome(e, in, id, pool, key, len);
}

static void step_raw(struct env *e, struct fuzz_in *in)
{
	enum mcm_jtype type = (enum mcm_jtype)(fuzz_u8(in) % 7); /* 0 and 6 are no type */
	uint64_t id = an_id(in);
	size_t len;
	const uint8_t *payload = fuzz_bytes(in, fuzz_u8(in), &len);
	struct iovec iov = {(void *)payload, len};

	append(e, type, id, &iov, 1);
}

/* Overwrite a few bytes of the ring, where the input says. */
static void step_damage(struct env *e, struct fuzz_in *in)
{
	size_t size = mcm_journal_size(e->j), at = fuzz_u16(in) % size, n;
	const uint8_t *bytes = fuzz_bytes(in, fuzz_u8(in) % 8 + 1, &n);
	char path[4200];
	unsigned char *ring;
	int fd;

	snprintf(path, sizeof path, "%s/journal", e->dir);
	FUZZ_CHECK((fd = open(path, O_RDWR | O_CLOEXEC)) >= 0, "cannot open the journal file");
	ring = mmap(NULL, HEADER_PAGE + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	FUZZ_CHECK(ring != MAP_FAILED, "cannot map the journal");
	for (size_t i = 0; i < n && at + i < size; i++)
		ring[HEADER_PAGE + at + i] = bytes[i];
	munmap(ring, HEADER_PAGE + size);
}

static void step_drain(struct env *e, struct fuzz_in *in)
{
	size_t n;
	int rc = mcm_drain_step(e->d, 1 + fuzz_u8(in) % 32, &n);

	FUZZ_CHECK(rc == 0, "a drain step failed: %s", mcm_strerror(rc));
}

static void step_sync(struct env *e)
{
	int rc = mcm_store_sync(e->st);

	FUZZ_CHECK(rc == 0, "store sync failed: %s", mcm_strerror(rc));
	mcm_drain_synced(e->d);
}

static void step_reap(struct env *e, struct fuzz_in *in)
{
	int rc = mcm_drain_reap(e->d, fuzz_u8(in) & 1 ? 0 : 3600);

	FUZZ_CHECK(rc == 0, "reaping failed: %s", mcm_strerror(rc));
}

static void step_drainer(struct env *e)
{
	int rc;

	mcm_drain_close(e->d);
	FUZZ_CHECK((rc = mcm_drain_open(&e->d, e->st, e->j)) == 0, "cannot open a drainer: %s", mcm_strerror(rc));
}

/* A power loss and a restart of the machine: the records after what reached the disk (the
 * synced or reclaimed position, whichever is further) may be torn; the next open recovers. */
static void step_reboot(struct env *e, struct fuzz_in *in)
{
	size_t size = mcm_journal_size(e->j);
	int tear = fuzz_u8(in) & 1, fd;
	char path[4200];
	struct mcm_jheader *h;

	close_all(e);
	snprintf(path, sizeof path, "%s/journal", e->dir);
	FUZZ_CHECK((fd = open(path, O_RDWR | O_CLOEXEC)) >= 0, "cannot open the journal file");
	h = mmap(NULL, HEADER_PAGE + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	FUZZ_CHECK(h != MAP_FAILED, "cannot map the journal");
	if (tear) {
		uint64_t from = h->synced > h->reclaim ? h->synced : h->reclaim;
		size_t at = (size_t)(from % size);

		if (from < h->tail && size - at >= sizeof(struct mcm_jrec))
			((struct mcm_jrec *)((unsigned char *)h + HEADER_PAGE + at))->crc ^= 0x5a5a5a5au;
	}
	strcpy(h->boot_id, "an-earlier-boot");
	munmap(h, HEADER_PAGE + size);
	open_all(e);
}

/* Drain to the tail, reap every open intent, then read the whole store back. */
static void check_end(struct env *e)
{
	struct mcm_iter *it;
	struct mcm_item item;
	struct mcm_pool *pools;
	size_t n = 1, npools, by_key = 0, by_seq = 0;
	uint64_t last = 0;
	int rc, steps = 0;

	while (n > 0 && steps++ < FINAL_STEPS) {
		rc = mcm_drain_step(e->d, 8192, &n);
		FUZZ_CHECK(rc == 0, "a drain step failed at the end: %s", mcm_strerror(rc));
	}
	FUZZ_CHECK(mcm_drain_position(e->d) == mcm_journal_tail(e->j),
		   "the drain stopped at %llu before the tail %llu", (unsigned long long)mcm_drain_position(e->d),
		   (unsigned long long)mcm_journal_tail(e->j));
	FUZZ_CHECK((rc = mcm_drain_reap(e->d, 0)) == 0, "reaping failed at the end: %s", mcm_strerror(rc));
	FUZZ_CHECK(mcm_drain_open_intents(e->d) == 0, "intents still open after reaping them all");

	FUZZ_CHECK((rc = mcm_store_pools(e->st, &pools, &npools)) == 0, "the pools do not read: %s", mcm_strerror(rc));
	FUZZ_CHECK((rc = mcm_iter_open(e->st, MCM_ORDER_KEY, 0, &it)) == 0, "cannot walk the store: %s",
		   mcm_strerror(rc));
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		by_key++;
		FUZZ_CHECK(item.kind >= MCM_KIND_VALUE && item.kind <= MCM_KIND_DROPPED, "a record of kind %u", item.kind);
		FUZZ_CHECK(item.group_mode <= MCM_GROUP_EXPLICIT, "a record of group mode %u", item.group_mode);
		FUZZ_CHECK(item.key_len >= 1 && item.key_len <= MCM_KEY_MAX + MCM_NAMESPACE_MAX, "a key of %zu bytes",
			   item.key_len);
		FUZZ_CHECK(item.ns_len <= item.key_len, "a record with ns_len %u for a key of %zu bytes", item.ns_len,
			   item.key_len);
		for (size_t i = 0; i < npools; i++)
			if (pools[i].id == item.pool)
				mcm_item_is_live(&item, &pools[i], (int64_t)(mcm_now_us() / 1000000));
	}
	mcm_iter_close(it);
	free(pools);
	FUZZ_CHECK(rc == MCM_END, "a walk in key order stopped: %s", mcm_strerror(rc));
	FUZZ_CHECK((rc = mcm_iter_open(e->st, MCM_ORDER_SEQ, 0, &it)) == 0, "cannot walk the store: %s",
		   mcm_strerror(rc));
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		by_seq++;
		FUZZ_CHECK(item.seq > last, "sequence numbers do not increase");
		last = item.seq;
	}
	mcm_iter_close(it);
	FUZZ_CHECK(rc == MCM_END, "a walk in sequence order stopped: %s", mcm_strerror(rc));
	FUZZ_CHECK(by_key == by_seq, "%zu records by key, %zu by sequence number", by_key, by_seq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned modes[4] = {MCM_STORE_NOSYNC, MCM_STORE_NOMETASYNC, MCM_STORE_NOSYNC, 0};
	struct fuzz_in in = {data, size};
	struct env e;
	uint8_t setup = fuzz_u8(&in);
	int rc;

	memset(&e, 0, sizeof e);
	for (int i = 0; i < 3; i++) {
		strcpy(e.pools[i].servers, servers[i]);
		e.pools[i].id = mcm_pool_id_of(servers[i], strlen(servers[i]));
	}
	e.store_flags = modes[(setup >> 2) & 3];
	fuzz_tmpdir(e.dir, "journal");
	FUZZ_CHECK((rc = mcm_journal_open(&e.j, e.dir, (size_t)1024 << (setup & 3), 1)) == 0,
		   "cannot create the journal: %s", mcm_strerror(rc));
	mcm_journal_close(e.j);
	open_all(&e);
	for (int i = 0; i < MAX_STEPS && in.n > 0; i++) {
		uint8_t op = fuzz_u8(&in);
		enum step s = op >= 0xe0 ? (op & 1 ? S_RESOLVE : S_ONE) : (enum step)(op % S_ONE);

		switch (s) {
		case S_POOL:
			step_pool(&e, &in);
			break;
		case S_INTENT:
		case S_OUTCOME:
		case S_WRITE:
		case S_WRITE2:
			step_write(&e, &in, s);
			break;
		case S_RAW:
			step_raw(&e, &in);
			break;
		case S_DAMAGE:
			step_damage(&e, &in);
			break;
		case S_DRAIN:
			step_drain(&e, &in);
			break;
		case S_SYNC:
			step_sync(&e);
			break;
		case S_REAP:
			step_reap(&e, &in);
			break;
		case S_DRAINER:
			step_drainer(&e);
			break;
		case S_REBOOT:
			step_reboot(&e, &in);
			e.ntickets = 0; /* (their writers are gone with the boot) */
			break;
		case S_ONE:
			step_one(&e, &in);
			break;
		case S_RESOLVE:
			step_resolve(&e, &in);
			break;
		}
	}
	check_end(&e);
	close_all(&e);
	fuzz_rmtree(e.dir);
	return 0;
}
