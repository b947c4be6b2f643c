/* classify.c - what an intercepted call did on the server, as a change to the mirror.
 *
 * The rules (README "What it guarantees"; ../shared/docs/libmemcached-client-api.md
 * section 1.2 for the return codes they rest on; memcached 1.6.18 for the answers):
 *   - a call's return code is trusted only in reliable modes (not NOREPLY, not
 *     UDP, not binary protocol with BUFFER_REQUESTS: stale replies) and on a
 *     connection in step (step.c);
 *   - a success is mirrored as the server's new state; a definite answer too:
 *     "exists" to add/cas leaves the mirror as it was, "not found"/"not stored"
 *     to replace, append, prepend, cas, incr, decr, touch says the key is
 *     absent, "too large" unlinks the old item for set and leaves it for the
 *     rest, an incr/decr that gave no number cannot have changed a value that
 *     is not one (store/apply.c decides); an error returned before anything
 *     was sent leaves the mirror as it was; everything else drops the key;
 *   - on the text protocol, a key the server splits or a data block it reads
 *     as commands (textproto.c): the key and the word the server took for it
 *     are dropped, or the pool is forgotten when commands may have run that
 *     the application did not mean;
 *   - in unreliable modes an unconditional set or delete that was sent is
 *     recorded, an incr/decr is a reply without a number, and every other
 *     write drops its key.
 */
#include "mcm_expiry.h"
#include "mcm_store.h"
#include "shim.h"

static int is_unconditional(enum mcm_call_op op)
{
	return op == MCM_CALL_SET || op == MCM_CALL_DELETE || op == MCM_CALL_FLUSH;
}

/* The mutation for a call whose outcome is known; returns 0 for "no change". */
static int classify_success(const struct mcm_call *c, struct mcm_mutation *m, int64_t now)
{
	switch (c->op) {
	case MCM_CALL_SET:
	case MCM_CALL_ADD:
	case MCM_CALL_REPLACE:
	case MCM_CALL_CAS:
		m->op = c->encrypted ? MCM_OP_ENCRYPTED : MCM_OP_PUT;
		m->value = c->value;
		m->value_len = c->value ? c->value_len : 0;
		m->flags = c->flags;
		m->exptime = mcm_expiry_absolute(c->expiration, c->binary, now);
		return 1;
	case MCM_CALL_APPEND:
	case MCM_CALL_PREPEND:
		m->op = c->op == MCM_CALL_APPEND ? MCM_OP_APPEND : MCM_OP_PREPEND;
		m->value = c->value;
		m->value_len = c->value ? c->value_len : 0;
		return 1;
	case MCM_CALL_INCR_INIT:
	case MCM_CALL_DECR_INIT:
		/* MEMCACHED_EXPIRATION_NOT_ADD: the server never creates the item */
		m->with_initial = (uint32_t)c->expiration != MEMCACHED_EXPIRATION_NOT_ADD;
		m->initial = c->initial;
		m->exptime = mcm_expiry_absolute(c->expiration, 1, now);
		/* fall through */
	case MCM_CALL_INCR:
	case MCM_CALL_DECR:
		m->op = MCM_OP_DELTA;
		m->incr = c->op == MCM_CALL_INCR || c->op == MCM_CALL_INCR_INIT;
		m->delta = c->offset;
		m->result = c->result;
		return 1;
	case MCM_CALL_TOUCH:
		m->op = MCM_OP_TOUCH;
		m->exptime = mcm_expiry_absolute(c->expiration, c->binary, now);
		return 1;
	case MCM_CALL_DELETE:
		m->op = MCM_OP_DELETE;
		return 1;
	case MCM_CALL_FLUSH:
		m->op = MCM_OP_FLUSH;
		m->exptime = c->expiration > 0 ? mcm_expiry_absolute(c->expiration, c->binary, now) : 0;
		if (m->exptime == MCM_EXPIRED_AT_ONCE)
			m->exptime = 0;
		return 1;
	}
	return 0;
}

static int is_delta(enum mcm_call_op op)
{
	return op == MCM_CALL_INCR || op == MCM_CALL_DECR || op == MCM_CALL_INCR_INIT || op == MCM_CALL_DECR_INIT;
}

static int drop(struct mcm_mutation *m)
{
	m->op = MCM_OP_DROP;
	return 1;
}

/* The key is absent on the server: a definite answer, not a drop. */
static int absent(struct mcm_mutation *m)
{
	m->op = MCM_OP_DELETE;
	return 1;
}

/* An incr/decr whose reply gave no number: the server changed the item only
 * if it held a number (store/apply.c decides, from the mirrored value). */
static int delta_unknown(const struct mcm_call *c, struct mcm_mutation *m)
{
	m->op = MCM_OP_DELTA;
	m->incr = c->op == MCM_CALL_INCR || c->op == MCM_CALL_INCR_INIT;
	m->delta = c->offset;
	m->with_initial = MCM_DELTA_UNKNOWN;
	return 1;
}

/* A reliable call that did not succeed, on a connection in step: what do
 * memcached 1.6.18's answers say about the key? Returns 0 for "unchanged". */
static int classify_failure(const struct mcm_call *c, struct mcm_mutation *m)
{
	switch (c->rc) {
	case MEMCACHED_DATA_EXISTS: /* add: the key exists (binary); cas: with another cas value */
		if (c->op == MCM_CALL_ADD || c->op == MCM_CALL_CAS)
			return 0;
		break;
	case MEMCACHED_NOTSTORED:
		if (c->op == MCM_CALL_ADD) /* the key exists (ascii) */
			return 0;
		/* replace: the key is absent; append/prepend: absent, or the result would not
		 * fit (the item is then unchanged): forgetting is right either way */
		if (c->op == MCM_CALL_REPLACE || c->op == MCM_CALL_APPEND || c->op == MCM_CALL_PREPEND)
			return absent(m);
		break;
	case MEMCACHED_NOTFOUND: /* replace (binary), cas, incr, decr, touch: the key is absent */
		if (c->op == MCM_CALL_REPLACE || c->op == MCM_CALL_CAS || c->op == MCM_CALL_TOUCH ||
		    c->op == MCM_CALL_APPEND || c->op == MCM_CALL_PREPEND || is_delta(c->op))
			return absent(m);
		break;
	case MEMCACHED_E2BIG:
	case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
		/* the value did not fit: a set unlinks the old item, the others leave it */
		if (c->op == MCM_CALL_SET)
			return absent(m);
		if (mcm_is_storage(c->op))
			return 0;
		break;
	default:
		break;
	}
	if (is_delta(c->op)) /* not a number (ascii CLIENT_ERROR, binary a read failure), a timeout... */
		return delta_unknown(c, m);
	return drop(m); /* an error whose effect is unknown */
}

/* Commands may have run on the server that nobody sent as such: the mirror
 * forgets the pool (and every pool sharing a server with it), now. */
static int forget_pool(struct mcm_mutation *m)
{
	m->op = MCM_OP_FLUSH;
	m->exptime = 0;
	return 1;
}

/* Everything but a success in a reliable mode on a connection in step. */
static int classify_rest(const struct mcm_call *c, struct mcm_mutation *m, int64_t now)
{
	if (mcm_not_sent(c->rc))
		return 0;
	if (c->text == MCM_TEXT_CALL_INJECTED || c->step == MCM_STEP_INJECTED)
		return forget_pool(m);
	if (c->text == MCM_TEXT_CALL_SPLIT)
		return drop(m); /* the server read other words (mirror.c drops the first one too) */
	if (c->text == MCM_TEXT_CALL_REFUSED)
		return 0; /* refused before its data block: whatever the reply, nothing stored */
	if (!mcm_reliable(c)) {
		if (is_unconditional(c->op) && (mcm_succeeded(c->rc) || c->op != MCM_CALL_SET))
			return classify_success(c, m, now);
		if (is_delta(c->op))
			return delta_unknown(c, m);
		return drop(m);
	}
	if (c->step != MCM_STEP_IN)
		return drop(m); /* the reply read was another request's */
	if (c->op == MCM_CALL_DELETE || c->op == MCM_CALL_FLUSH)
		return classify_success(c, m, now); /* whatever the answer, the key is gone */
	return classify_failure(c, m);
}

int mcm_classify_expectable(const struct mcm_call *c)
{
	if (c->text | c->step)
		return 0;
	if (!mcm_reliable(c)) /* only an unconditional write is recorded as sent (classify_rest) */
		return c->op == MCM_CALL_SET || c->op == MCM_CALL_DELETE;
	switch (c->op) {
	case MCM_CALL_SET:
	case MCM_CALL_ADD:
	case MCM_CALL_REPLACE:
	case MCM_CALL_CAS:
	case MCM_CALL_APPEND:
	case MCM_CALL_PREPEND:
	case MCM_CALL_TOUCH:
	case MCM_CALL_DELETE:
		return 1;
	default:
		return 0; /* an incr/decr's result comes with the reply; a flush is the whole pool's */
	}
}

void mcm_classify_expected(const struct mcm_call *c, struct mcm_mutation *m, int64_t now)
{
	classify_success(c, m, now);
}

int mcm_classify(const struct mcm_call *c, struct mcm_mutation *m, int64_t now)
{
	if (__builtin_expect(!(c->text | c->step) && mcm_succeeded(c->rc) && mcm_reliable(c), 1))
		return classify_success(c, m, now);
	return classify_rest(c, m, now);
}
