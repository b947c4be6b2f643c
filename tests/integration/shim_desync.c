/* shim_desync.c - the shim driver's text-protocol connections that fall out of step.
 *
 * libmemcached does not reset a text-protocol connection after memcached answers a request
 * twice (a storage command refused before its data block: the block is read as a command), so
 * every later call reads the reply of the one before. Keys the text protocol cannot carry
 * (a space, a newline, over 250 bytes with the namespace) make the server act on other words.
 * After such calls the mirror may hold nothing it cannot vouch for; once libmemcached has
 * reconnected (memcached_quit here), replies are trusted again.
 *
 * Calls that would make libmemcached abort the host (a storage call reading a stale DELETED,
 * END, number or TOUCHED fails its assert(memcached_failed(rc))) are never made: while a
 * handle may be out of step only storage calls are made on it, and values read as commands
 * answer ERROR, or the handle quits at once.
 *
 *   cases_desync   the repro and one case of each kind, each checked exactly
 *   desync_random  a seeded random workload over three handles sprinkled with such calls
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_drive.h"
#include "shim_raw.h"

static void put(const struct drv *d, const char *key, const char *value)
{
	drv_check(memcached_set(d->mc, key, strlen(key), value, strlen(value), 0, 1), MEMCACHED_SUCCESS, "set", key);
}

static void note(const struct drv *d, const char *key, char server, char mirror)
{
	expect_note(d, key, server, mirror, GROUP_ANY);
}

/* The repro: without SUPPORT_CAS, mget + fetch gives cas 0; the cas is answered ERROR
 * twice; the next set reads the stale ERROR, the add after it reads the set's STORED. */
static void case_repro(struct drv *d)
{
	const char *keys[1] = {"dsy-a"};
	size_t lens[1] = {5};
	memcached_result_st *r;
	memcached_return_t rc;
	uint64_t cas = 1;

	put(d, "dsy-a", "v1");
	memcached_behavior_set(d->mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 0);
	drv_check(memcached_mget(d->mc, keys, lens, 1), MEMCACHED_SUCCESS, "mget", "dsy-a");
	while ((r = memcached_fetch_result(d->mc, NULL, &rc))) {
		cas = memcached_result_cas(r);
		memcached_result_free(r);
	}
	memcached_behavior_set(d->mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
	if (cas != 0)
		drv_fail("mget without SUPPORT_CAS gave cas %" PRIu64, cas);
	drv_check(memcached_cas(d->mc, "dsy-a", 5, "casval", 6, 0, 1, cas), MEMCACHED_ERROR, "cas", "dsy-a");
	drv_check(memcached_set(d->mc, "dsy-b", 5, "b1", 2, 0, 1), MEMCACHED_ERROR, "set", "dsy-b");
	drv_check(memcached_add(d->mc, "dsy-a", 5, "WRONG", 5, 0, 1), MEMCACHED_SUCCESS, "add", "dsy-a");
	note(d, "dsy-a", SRV_PRESENT, MIR_DROP_OK); /* the server holds "v1" */
	note(d, "dsy-b", SRV_PRESENT, MIR_DROP_OK);
	memcached_quit(d->mc);
	put(d, "dsy-c", "c1"); /* reconnected: trusted again */
	note(d, "dsy-c", SRV_PRESENT, MIR_EXACT);
}

/* A key over 250 bytes with the namespace: refused (CLIENT_ERROR), the value read as a command. */
static void case_too_long(struct drv *d)
{
	char key[260];

	memset(key, 'L', 250);
	key[250] = '\0'; /* 250 bytes: libmemcached takes it; with the namespace it is too long */
	put(d, "dsy-long-before", "x");
	drv_check(memcached_set(d->mc, key, 250, "plain", 5, 0, 0), MEMCACHED_CLIENT_ERROR, "set", "(long key)");
	drv_check(memcached_set(d->mc, "dsy-long-next", 13, "n", 1, 0, 0), MEMCACHED_ERROR, "set", "dsy-long-next");
	drv_check(memcached_replace(d->mc, "dsy-long-before", 15, "y", 1, 0, 0), MEMCACHED_SUCCESS, "replace",
		  "dsy-long-before"); /* reads dsy-long-next's STORED */
	note(d, "dsy-long-before", SRV_PRESENT, MIR_DROP_OK);
	note(d, "dsy-long-next", SRV_PRESENT, MIR_DROP_OK);
	memcached_quit(d->mc);
	put(d, "dsy-long-after", "a");
	note(d, "dsy-long-after", SRV_PRESENT, MIR_EXACT);
}

/* One-line commands whose key holds a space: the server acts on the key's first word. */
static void case_split_line(struct drv *d)
{
	char wire[64];
	uint64_t v = 0;

	put(d, "dsy-vic", "mirrored");
	/* "delete dsy-vic 0": deletes dsy-vic */
	drv_check(memcached_delete(d->mc, "dsy-vic 0", 9, 0), MEMCACHED_SUCCESS, "delete", "dsy-vic 0");
	note(d, "dsy-vic", SRV_ABSENT, MIR_EXACT);
	put(d, "dsy-ctr", "10");
	/* "incr dsy-ctr 5 3": increments dsy-ctr by 5 */
	drv_check(memcached_increment(d->mc, "dsy-ctr 5", 9, 3, &v), MEMCACHED_SUCCESS, "incr", "dsy-ctr 5");
	if (v != 15)
		drv_fail("incr 'dsy-ctr 5': got %" PRIu64 ", expected 15 (dsy-ctr incremented by 5)", v);
	note(d, "dsy-ctr", SRV_PRESENT, MIR_DROP_OK);
	snprintf(wire, sizeof wire, "%sdsy-ctr", d->ns);
	put(d, "dsy-line-after", "a"); /* one reply each: still in step */
	note(d, "dsy-line-after", SRV_PRESENT, MIR_EXACT);
}

/* Out of step on one server of a two-server pool: the other server's connection stays trusted. */
static void case_two_servers(struct drv *d2)
{
	char same[32], other[32], k[32];
	uint32_t target = memcached_generate_hash(d2->mc, "dsy-two", 7);

	same[0] = other[0] = '\0';
	for (int i = 0; i < 100 && (!same[0] || !other[0]); i++) {
		snprintf(k, sizeof k, "dsy-two-%d", i);
		if (memcached_generate_hash(d2->mc, k, strlen(k)) == target)
			snprintf(same, sizeof same, "%s", k);
		else
			snprintf(other, sizeof other, "%s", k);
	}
	if (!same[0] || !other[0]) {
		drv_fail("no keys on both servers");
		return;
	}
	put(d2, "dsy-two", "v");
	drv_check(memcached_cas(d2->mc, "dsy-two", 7, "x", 1, 0, 1, 0), MEMCACHED_ERROR, "cas", "dsy-two");
	drv_check(memcached_set(d2->mc, same, strlen(same), "s", 1, 0, 1), MEMCACHED_ERROR, "set", same);
	drv_check(memcached_set(d2->mc, other, strlen(other), "o", 1, 0, 1), MEMCACHED_SUCCESS, "set", other);
	note(d2, "dsy-two", SRV_PRESENT, MIR_DROP_OK);
	note(d2, same, SRV_PRESENT, MIR_DROP_OK);
	note(d2, other, SRV_PRESENT, MIR_EXACT); /* its connection is in step */
	memcached_quit(d2->mc);
}

/* Commands injected through a refused data block and a key with a newline: the pool is forgotten. */
static void case_injected(struct drv *d)
{
	static const char nl_key[] = "dsy-nl\r\ndelete dsy-victim2\r\nset dsy-x";

	put(d, "dsy-bystander", "b");
	put(d, "dsy-victim", "v");
	/* the data block "delete dsy-victim" runs as a command */
	drv_check(memcached_cas(d->mc, "dsy-inj", 7, "delete dsy-victim", 17, 0, 0, 0), MEMCACHED_ERROR, "cas",
		  "dsy-inj");
	memcached_quit(d->mc); /* the stale DELETED must not be read by a storage call */
	note(d, "dsy-victim", SRV_ABSENT, MIR_EXACT);
	note(d, "dsy-bystander", SRV_PRESENT, MIR_DROP_OK);
	put(d, "dsy-victim2", "v2");
	/* "set dsy-nl" (ERROR), "delete dsy-victim2" (DELETED), "set dsy-x 0 0 1" + "v" (STORED) */
	drv_check(memcached_set(d->mc, nl_key, sizeof nl_key - 1, "v", 1, 0, 0), MEMCACHED_ERROR, "set", "(newline)");
	memcached_quit(d->mc);
	note(d, "dsy-victim2", SRV_ABSENT, MIR_EXACT);
	note(d, "dsy-x", SRV_PRESENT, MIR_DROP_OK);
	put(d, "dsy-inj-after", "a");
	note(d, "dsy-inj-after", SRV_PRESENT, MIR_EXACT);
}

/* A timeout (the server stopped): libmemcached closes the connection, so the reply the server
 * sends once it runs again is never read; the next call, on a new connection, is in step. */
static void case_timeout(struct drv *d, pid_t server)
{
	memcached_return_t rc;

	put(d, "dsy-to-warm", "w");
	memcached_behavior_set(d->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 300);
	kill(server, SIGSTOP);
	rc = memcached_set(d->mc, "dsy-to1", 7, "t1", 2, 0, 1);
	kill(server, SIGCONT);
	drv_check(rc, MEMCACHED_TIMEOUT, "set", "dsy-to1");
	put(d, "dsy-to2", "t2");
	/* in step: its own NOT_STORED (out of step it would read dsy-to2's STORED) */
	drv_check(memcached_add(d->mc, "dsy-to-warm", 11, "x", 1, 0, 1), MEMCACHED_NOTSTORED, "add", "dsy-to-warm");
	note(d, "dsy-to-warm", SRV_PRESENT, MIR_EXACT);
	note(d, "dsy-to1", SRV_ANY, MIR_DROP_OK); /* (the server stores it when it runs again) */
	note(d, "dsy-to2", SRV_PRESENT, MIR_EXACT);
	memcached_behavior_set(d->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, MEMCACHED_DEFAULT_TIMEOUT);
}

void cases_desync(struct drv *d, struct drv *d2, struct drv *dinj, pid_t server1)
{
	if (server1 > 0)
		case_timeout(d, server1);
	case_repro(d);
	case_too_long(d);
	case_split_line(d);
	case_two_servers(d2);
	case_injected(dinj);
}

/* ---- the random workload ---- */

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

#define KEYS 40

struct handle {
	struct drv d;
	int tag;
	int out;  /* possibly out of step: storage calls only, then quit */
	int left; /* storage calls before the quit */
};

static void key_of(const struct handle *h, unsigned i, char *key, size_t size)
{
	snprintf(key, size, "r%d-%u", h->tag, i);
}

/* h answers a request twice: a few storage calls (reading stale replies), then a quit. */
static void out_of_step(struct handle *h)
{
	h->out = 1;
	h->left = 1 + (int)pick(6);
}

/* One call of the workload on h. Calls that may run commands nobody meant (the mirror then
 * forgets the pool) are made on the handle with a server of its own (inject) only. */
static void random_call(struct handle *h, int inject)
{
	char key[64], bad[80], value[64];
	unsigned i = pick(KEYS), r = pick(100), op;
	memcached_st *mc = h->d.mc;
	size_t kl;
	uint64_t v;

	/* 0-5 storage, 6-9 one-line, 10 cas 0, 11 split storage key, 12 split one-line key,
	 * 13 a value that runs as a command; out of step: storage calls only */
	op = h->out ? r % 6 : r < 94 ? r % 10 : r < 97 ? 10 : r < 99 ? 12 : !inject ? r % 6 : pick(2) ? 11 : 13;
	key_of(h, i, key, sizeof key);
	kl = strlen(key);
	snprintf(value, sizeof value, pick(3) ? "%u" : "val-%u", (unsigned)pick(100000));
	switch (op) {
	case 0: memcached_set(mc, key, kl, value, strlen(value), 0, pick(4)); break;
	case 1: memcached_add(mc, key, kl, value, strlen(value), 0, pick(4)); break;
	case 2: memcached_replace(mc, key, kl, value, strlen(value), 0, pick(4)); break;
	case 3: memcached_append(mc, key, kl, "+a", 2, 0, 0); break;
	case 4: memcached_prepend(mc, key, kl, "p-", 2, 0, 0); break;
	case 5: memcached_cas(mc, key, kl, value, strlen(value), 0, 0, 1 + pick(1000)); break;
	case 6: memcached_increment(mc, key, kl, pick(10), &v); break;
	case 7: memcached_decrement(mc, key, kl, pick(10), &v); break;
	case 8: memcached_delete(mc, key, kl, 0); break;
	case 9: memcached_touch(mc, key, kl, pick(2) ? 0 : 600); break;
	case 10: /* cas 0: refused, its data block answers ERROR */
		memcached_cas(mc, key, kl, "junk", 4, 0, 0, 0);
		out_of_step(h);
		break;
	case 11: /* a key with a space in a storage command: "set K F 0 0 1", a bad data chunk, ERROR */
		snprintf(bad, sizeof bad, "%s %u", key, pick(3));
		memcached_set(mc, bad, strlen(bad), "7", 1, 0, 0);
		out_of_step(h);
		break;
	case 12: /* a key with a space in a one-line command: the server acts on its first word */
		snprintf(bad, sizeof bad, "%s %u", key, pick(10)); /* "delete K 0" deletes K */
		if (pick(2))
			memcached_increment(mc, bad, strlen(bad), 1, &v);
		else
			memcached_delete(mc, bad, strlen(bad), 0);
		break;
	default: /* the data block of a refused cas deletes another key: quit at once */
		snprintf(bad, sizeof bad, "delete %sr%d-%u", h->d.ns, h->tag, pick(KEYS));
		memcached_cas(mc, key, kl, bad, strlen(bad), 0, 0, 0);
		memcached_quit(mc);
		break;
	}
	if (h->out && op < 6 && --h->left == 0) {
		memcached_quit(mc); /* libmemcached reconnects at the next call: in step */
		h->out = 0;
	}
}

void desync_random(struct drv *d, struct drv *d2, struct drv *d3, unsigned long seed, long calls)
{
	struct handle hs[3] = {{*d, 0, 0, 0}, {*d2, 1, 0, 0}, {*d3, 2, 0, 0}};
	char key[64];

	rng = seed ? seed : 1;
	for (long n = 0; n < calls; n++) {
		int h = (int)pick(3);

		random_call(&hs[h], h == 2);
	}
	for (int h = 0; h < 3; h++) {
		memcached_quit(hs[h].d.mc);
		for (unsigned i = 0; i < KEYS; i++) {
			key_of(&hs[h], i, key, sizeof key);
			expect_note(&hs[h].d, key, SRV_ANY, MIR_DROP_OK, GROUP_ANY);
		}
	}
}
