/* mirror.c - record an intercepted call: its intent before it is sent, its outcome after.
 *
 * Before the real call, mcm_mirror_begin() works out the pool and the wire
 * key, asks whether the call's connection is in step (step.c, only while one
 * is noted) and, on the text protocol, what the server will make of the key
 * and value (textproto.c), and appends an intent to the journal: for the key,
 * or for the whole pool when commands the application did not mean may run.
 * After it, mcm_mirror_end() has classify.c turn the reply into the outcome,
 * appends it (writer.c), and notes a connection the call left out of step.
 * The drainer then knows which writes to a key overlapped in time, and drops
 * such keys (mcm_drain.h).
 *
 * One record a write: a call whose outcome is known in advance if it
 * succeeds (a set, a delete...: mcm_classify_expected) is appended before it
 * as that outcome; afterwards it is only resolved ("done as recorded"), or
 * followed by its real outcome (mcm_journal_resolve).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "mcm_expiry.h"
#include "mcm_pool.h"
#include "mcm_store.h"
#include "shim.h"

/* Depth of hooked calls on this thread: only the outermost one records
 * (delete, incr, decr and touch call their _by_key twins through the PLT). */
static __thread int depth __attribute__((tls_model("initial-exec")));

static int route(struct mcm_call *c);

/* The key the call's server is chosen by: the group key of a _by_key call. */
static const char *route_key(const struct mcm_call *c, size_t *len)
{
	*len = c->by_key ? (c->group ? c->group_len : 0) : c->key_len;
	return c->by_key ? c->group : c->key;
}

/* On the text protocol, a key it cannot carry (k) or a cas without a cas value:
 * what will the server make of the key and the value? */
static __attribute__((noinline)) void text_begin(struct mcm_call *c, unsigned k)
{
	size_t off;

	if (mcm_is_storage(c->op)) {
		if (k & MCM_TEXT_SPLIT) /* the words after the split are taken as flags, lengths... */
			c->text = MCM_TEXT_CALL_INJECTED;
		else if ((k & MCM_TEXT_TOO_LONG) || (c->op == MCM_CALL_CAS && c->cas == 0)) /* no cas sent */
			c->text = mcm_text_value_inert(c->value ? c->value : "", c->value ? c->value_len : 0)
					  ? MCM_TEXT_CALL_REFUSED
					  : MCM_TEXT_CALL_INJECTED;
	} else if (k & MCM_TEXT_NEWLINE) {
		c->text = MCM_TEXT_CALL_INJECTED;
	} else if (k & MCM_TEXT_SPLIT) {
		c->text = MCM_TEXT_CALL_SPLIT;
		c->tok_len = (uint16_t)mcm_text_first_token(c->wire, c->wire_len, &off);
		c->tok_off = (uint16_t)off;
	}
}

/* The mutation of call c, but for its op and value fields: its pool and
 * wire key, as mcm_mirror_begin worked them out, at time now_us. */
static inline __attribute__((always_inline)) void target(const struct mcm_call *c, struct mcm_mutation *m,
							 uint64_t now_us)
{
	m->wtime_us = now_us;
	m->pool = c->pool;
	m->key = c->wire;
	m->key_len = m->op == MCM_OP_FLUSH ? 0 : c->wire_len;
	m->ns_len = c->ns_len;
	m->group_mode = c->by_key ? MCM_GROUP_EXPLICIT : MCM_GROUP_KEY;
	m->group = c->by_key && c->group ? c->group : "";
	m->group_len = c->by_key && c->group ? c->group_len : 0;
	if (!m->value)
		m->value = "";
}

/* Record c as one journal record, the outcome it has if it succeeds, when
 * that is known now: 1 when recorded so, -1 when the mirror is unusable (the
 * call passes through), 0 to record an intent. */
static int expected(struct mcm_call *c)
{
	struct mcm_mutation m;
	uint64_t now_us;
	int rc;

	if (!mcm_writer_one_record() || !mcm_classify_expectable(c))
		return 0;
	now_us = mcm_now_us(); /* the write's time, and "now" for its expiry: see outcome_of */
	memset(&m, 0, sizeof m);
	mcm_classify_expected(c, &m, (int64_t)(now_us / 1000000u));
	target(c, &m, now_us);
	if ((rc = mcm_writer_write(&m, &c->intent, &c->ticket)) > 0)
		return 0;
	if (rc < 0)
		return -1;
	c->one = 1;
	c->expect = (uint8_t)m.op;
	c->now_us = now_us;
	return 1;
}

int mcm_mirror_begin(struct mcm_call *c)
{
	memcached_st *mc = c->mc;
	size_t route_len;
	const char *route_by;
	int one;

	if (depth > 0 || !mc || !mcm_config_get()->enabled)
		return 0;
	depth++;
	if (route(c) != 0)
		goto pass;
	mcm_layout_modes(mc, c); /* (after route: a handle's first description checks the layout) */
	if (mcm_step_any() && c->op != MCM_CALL_FLUSH) { /* a flush is recorded whatever the replies */
		route_by = route_key(c, &route_len);
		c->step = (uint8_t)mcm_step_check(mc, route_by, route_len);
	}
	if (!c->binary) {
		unsigned k = mcm_text_key(c->wire, c->wire_len); /* (a flush has no key) */

		if (k || (c->op == MCM_CALL_CAS && c->cas == 0))
			text_begin(c, k);
	}
	if ((one = expected(c)) > 0)
		return 1;
	if (one < 0)
		goto pass;
	/* note the intent before the call is sent: the whole pool's when it may be forgotten */
	if (mcm_writer_intent(c->pool, c->wire,
			      c->text == MCM_TEXT_CALL_INJECTED || c->step == MCM_STEP_INJECTED ? 0 : c->wire_len,
			      &c->intent) != 0)
		goto pass;
	if (c->tok_len && mcm_writer_intent(c->pool, c->wire + c->tok_off, c->tok_len, &c->intent2) != 0)
		c->tok_len = 0; /* (the journal is full: the mirror forgets everything anyway) */
	return 1;
pass:
	depth--;
	return 0;
}

/* Work out the pool and the wire key (namespace + key) of the call. */
static int route(struct mcm_call *c)
{
	int err = mcm_pools_describe(c->mc, &c->pool, &c->wire); /* (first: it may check the layout) */
	const char *ns;
	size_t ns_len;

	if (err != 0) {
		if (err != ENOENT)
			mcm_log_once(MCM_CAUSE_POOL, "cannot identify the server list: %s", strerror(err));
		return -1;
	}
	ns = mcm_layout_namespace(c->mc);
	ns_len = ns ? strnlen(ns, MCM_NAMESPACE_MAX + 1) : 0;
	if (c->op == MCM_CALL_FLUSH) {
		c->wire_len = 0;
		return 0;
	}
	if (!c->key || c->key_len == 0 || c->key_len > MCM_KEY_MAX || ns_len > MCM_NAMESPACE_MAX)
		return -1; /* the library refuses such a key: the call changes nothing */
	if (ns_len) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(c->wire, ns, ns_len);
	memcpy(c->wire + ns_len, c->key, c->key_len);
	c->wire_len = ns_len + c->key_len;
	c->ns_len = (uint16_t)ns_len;
	return 0;
}

/* The step the call leaves its connection in, when worse than before it
 * (a storage command refused without the application's doing is found here). */
static __attribute__((noinline)) int step_after(struct mcm_call *c)
{
	if (mcm_not_sent(c->rc) || c->binary || c->op == MCM_CALL_FLUSH)
		return MCM_STEP_IN;
	if (c->text == MCM_TEXT_CALL_PLAIN && c->step == MCM_STEP_IN && mcm_is_storage(c->op) &&
	    mcm_reliable(c) && (c->rc == MEMCACHED_ERROR || c->rc == MEMCACHED_CLIENT_ERROR))
		c->text = mcm_text_value_inert(c->value ? c->value : "", c->value ? c->value_len : 0)
				  ? MCM_TEXT_CALL_REFUSED
				  : MCM_TEXT_CALL_INJECTED;
	if (c->text == MCM_TEXT_CALL_INJECTED)
		return MCM_STEP_INJECTED;
	if (c->text == MCM_TEXT_CALL_REFUSED)
		return MCM_STEP_OUT;
	return MCM_STEP_IN;
}

/* The outcome of the second intent: the first word of a split key. */
static void end_split_word(const struct mcm_call *c, const struct mcm_mutation *m)
{
	struct mcm_mutation w = *m;

	w.op = mcm_not_sent(c->rc) ? MCM_OP_NONE : MCM_OP_DROP;
	w.key = c->wire + c->tok_off;
	w.key_len = c->tok_len;
	w.ns_len = (uint16_t)(c->tok_off == 0 && c->ns_len < c->tok_len ? c->ns_len : 0);
	mcm_writer_outcome(c->intent2, &w);
}

/* What the call did, as a mutation. */
static void outcome_of(const struct mcm_call *c, struct mcm_mutation *m)
{
	/* the write's time, and "now" for its expiry: one clock read. A write recorded
	 * as one record keeps the time read before the call: its expiry and its time
	 * are then no later than the server's (a flush marker may make it dead early,
	 * never alive late) */
	uint64_t now_us = c->one ? c->now_us : mcm_now_us();

	memset(m, 0, sizeof *m);
	if (!mcm_classify(c, m, (int64_t)(now_us / 1000000u)))
		m->op = MCM_OP_NONE;
	target(c, m, now_us);
}

/* Record what call c did (*m, unless its one record says it): resolve its
 * one record, or append its outcome. */
static void record_outcome(struct mcm_call *c, struct mcm_mutation *m)
{
	int asked = c->one && mcm_classify_as_asked(c);

	if (asked && mcm_writer_resolve(&c->ticket, c->expect) == 0)
		return; /* (m is not needed: such a call has no split key, c->tok_len 0) */
	outcome_of(c, m);
	/* what its record says, though not as asked: a delete's "not found" */
	if (c->one && !asked && m->op == c->expect && mcm_writer_resolve(&c->ticket, c->expect) == 0)
		return;
	mcm_writer_outcome(c->intent, m);
}

void mcm_mirror_end(struct mcm_call *c)
{
	int saved = errno, after = c->text || c->rc == MEMCACHED_ERROR || c->rc == MEMCACHED_CLIENT_ERROR
					   ? step_after(c) : MCM_STEP_IN;
	struct mcm_mutation m;
	size_t route_len;
	const char *route_by;

	record_outcome(c, &m);
	if (c->tok_len)
		end_split_word(c, &m);
	if (after > c->step) {
		route_by = route_key(c, &route_len);
		mcm_step_mark(c->mc, route_by, route_len, after);
	}
	depth--;
	errno = saved;
}
