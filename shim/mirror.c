/* mirror.c - decide what an intercepted call did on the server, and write that to the store.
 *
 * The rules (README "What is mirrored"; ../shared/docs/libmemcached-client-api.md
 * section 1.2 for the return codes they rest on):
 *   - a call's return code is trusted only in reliable modes: not NOREPLY, not
 *     UDP, not binary protocol with BUFFER_REQUESTS (stale replies);
 *   - a success is mirrored as the server's new state; a definite "exists"
 *     answer to add/cas leaves the mirror as it was; an error returned before
 *     anything was sent leaves it too; everything else drops the key;
 *   - in unreliable modes an unconditional set or delete that was sent is
 *     recorded, and every other write drops its key.
 * Before the real call, mcm_mirror_begin() works out the pool and the wire
 * key and appends an intent to the journal; after it, mcm_mirror_end()
 * appends the outcome (writer.c). The drainer then knows which writes to a
 * key overlapped in time, and drops such keys (mcm_drain.h).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <libhashkit-1.0/hashkit.h>

#include "mcm_expiry.h"
#include "mcm_pool.h"
#include "mcm_store.h"
#include "shim.h"

/* Depth of hooked calls on this thread: only the outermost one records
 * (delete, incr, decr and touch call their _by_key twins through the PLT). */
static __thread int depth __attribute__((tls_model("initial-exec")));

/* Is the client's AES encoding key set (memcached_set_encoding_key)? */
static int encrypted(const memcached_st *mc)
{
	const hashkit_st *kit = memcached_get_hashkit(mc);

	return kit && kit->_key != NULL;
}

static int route(struct mcm_call *c);

int mcm_mirror_begin(struct mcm_call *c)
{
	memcached_st *mc = c->mc;

	if (depth > 0 || !mc || !mcm_config_get()->enabled)
		return 0;
	depth++;
	c->binary = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL) != 0;
	c->noreply = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_NOREPLY) != 0;
	c->buffered = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS) != 0;
	c->udp = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_USE_UDP) != 0;
	c->encrypted = encrypted(mc);
	/* note the intent before the call is sent */
	if (route(c) != 0 || mcm_writer_intent(&c->pool, c->wire, c->wire_len, &c->intent) != 0) {
		depth--;
		return 0;
	}
	return 1;
}

/* Return codes that mean "sent" and "stored/deleted/queued". */
static int succeeded(memcached_return_t rc)
{
	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED || rc == MEMCACHED_DELETED ||
	       rc == MEMCACHED_BUFFERED;
}

/* Errors libmemcached returns before sending anything: the server is unchanged. */
static int not_sent(memcached_return_t rc)
{
	return rc == MEMCACHED_INVALID_ARGUMENTS || rc == MEMCACHED_BAD_KEY_PROVIDED ||
	       rc == MEMCACHED_NOT_SUPPORTED || rc == MEMCACHED_NO_SERVERS;
}

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

static int is_storage(enum mcm_call_op op)
{
	return op <= MCM_CALL_CAS;
}

static int is_delta(enum mcm_call_op op)
{
	return op == MCM_CALL_INCR || op == MCM_CALL_DECR || op == MCM_CALL_INCR_INIT || op == MCM_CALL_DECR_INIT;
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
		if (is_storage(c->op))
			return 0;
		break;
	default:
		break;
	}
	if (is_delta(c->op)) /* not a number (ascii CLIENT_ERROR, binary a read failure), a timeout... */
		return delta_unknown(c, m);
	m->op = MCM_OP_DROP; /* an error whose effect is unknown */
	return 1;
}

/* What the call did, as a mutation; returns 0 when the mirror stays as it is. */
static int classify(const struct mcm_call *c, struct mcm_mutation *m, int64_t now)
{
	int reliable = !c->noreply && !c->udp && !(c->binary && c->buffered);

	if (not_sent(c->rc))
		return 0;
	if (!reliable) {
		if (is_unconditional(c->op) && (succeeded(c->rc) || c->op != MCM_CALL_SET))
			return classify_success(c, m, now);
		if (is_delta(c->op))
			return delta_unknown(c, m);
		m->op = MCM_OP_DROP;
		return 1;
	}
	if (c->op == MCM_CALL_DELETE || c->op == MCM_CALL_FLUSH)
		return classify_success(c, m, now); /* whatever the answer, the key is gone */
	if (succeeded(c->rc))
		return classify_success(c, m, now);
	return classify_failure(c, m);
}

/* Work out the pool and the wire key (namespace + key) of the call. */
static int route(struct mcm_call *c)
{
	memcached_return_t rc;
	const char *ns = memcached_callback_get(c->mc, MEMCACHED_CALLBACK_NAMESPACE, &rc);
	size_t ns_len = ns ? strnlen(ns, MCM_NAMESPACE_MAX + 1) : 0;
	int err = mcm_pool_describe(c->mc, &c->pool);

	if (err != 0) {
		if (err != ENOENT)
			mcm_log_once(MCM_CAUSE_POOL, "cannot identify the server list: %s", strerror(err));
		return -1;
	}
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

void mcm_mirror_end(struct mcm_call *c)
{
	int saved = errno;
	struct mcm_mutation m;

	memset(&m, 0, sizeof m);
	if (!classify(c, &m, (int64_t)time(NULL)))
		m.op = MCM_OP_NONE;
	m.pool = &c->pool;
	m.key = c->wire;
	m.key_len = c->wire_len;
	m.ns_len = c->ns_len;
	m.group_mode = c->by_key ? MCM_GROUP_EXPLICIT : MCM_GROUP_KEY;
	m.group = c->by_key && c->group ? c->group : "";
	m.group_len = c->by_key && c->group ? c->group_len : 0;
	if (!m.value)
		m.value = "";
	mcm_writer_outcome(c->intent, &m);
	depth--;
	errno = saved;
}
