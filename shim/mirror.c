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
 * The store is opened lazily at the first write, per process: a child after
 * fork() opens its own (LMDB environments must not cross a fork).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <libhashkit-1.0/hashkit.h>

#include "mcm_counters.h"
#include "mcm_expiry.h"
#include "mcm_pool.h"
#include "mcm_store.h"
#include "shim.h"

#define REOPEN_DELAY 10 /* seconds between attempts to open an unusable mirror */

/* Depth of hooked calls on this thread: only the outermost one records
 * (delete, incr, decr and touch call their _by_key twins through the PLT). */
static __thread int depth __attribute__((tls_model("initial-exec")));

static struct {
	pthread_mutex_t lock;
	struct mcm_store *store;
	struct mcm_counters *counters;
	unsigned long generation; /* fork generation the store belongs to */
	time_t retry_at;          /* after a failed open: when to try again */
	time_t synced_at;         /* MCMIRROR_SYNC=everysec: last sync */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned long fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In a child: forget the parent's store without closing it (closing the
 * inherited LMDB descriptors would drop the locks the child takes later). */
static void after_fork_child(void)
{
	pthread_mutex_init(&g.lock, NULL);
	g.store = NULL;
	g.counters = NULL;
	g.retry_at = 0;
	fork_generation++;
	mcm_log_reset();
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

__attribute__((constructor)) static void mcm_mirror_init(void)
{
	mcm_config_get();
	pthread_once(&atfork_once, register_atfork);
}

/* The store for this process, opened on first use; NULL while unusable. */
static struct mcm_store *store_get(struct mcm_counters **counters)
{
	const struct mcm_config *cfg = mcm_config_get();
	unsigned flags = MCM_STORE_CREATE | (cfg->sync == MCM_SYNC_ALWAYS ? 0 : MCM_STORE_NOSYNC);
	struct mcm_store *st;
	time_t now;
	int rc;

	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&g.lock);
	if (g.store && g.generation == fork_generation) {
		st = g.store;
		goto out;
	}
	st = NULL;
	now = time(NULL);
	if (g.retry_at && now < g.retry_at)
		goto out;
	rc = mcm_store_open(&st, cfg->path, flags, cfg->mapsize);
	if (rc != 0) {
		mcm_log_once(MCM_CAUSE_OPEN, "cannot open mirror '%s': %s; passing writes through (set MCMIRROR_PATH)",
			     cfg->path, mcm_strerror(rc));
		g.retry_at = now + REOPEN_DELAY;
		st = NULL;
		goto out;
	}
	if (!g.counters)
		mcm_counters_open(&g.counters, cfg->path, 1);
	g.store = st;
	g.generation = fork_generation;
	g.retry_at = 0;
	g.synced_at = now;
out:
	*counters = g.counters;
	pthread_mutex_unlock(&g.lock);
	return st;
}

/* MCMIRROR_SYNC=everysec: force the environment to disk at most once a second. */
static void maybe_sync(struct mcm_store *st)
{
	time_t now = time(NULL), last = __atomic_load_n(&g.synced_at, __ATOMIC_RELAXED);

	if (mcm_config_get()->sync != MCM_SYNC_EVERYSEC || now == last)
		return;
	if (__atomic_compare_exchange_n(&g.synced_at, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		mcm_store_sync(st);
}

/* Is the client's AES encoding key set (memcached_set_encoding_key)? */
static int encrypted(const memcached_st *mc)
{
	const hashkit_st *kit = memcached_get_hashkit(mc);

	return kit && kit->_key != NULL;
}

int mcm_mirror_begin(struct mcm_call *c, enum mcm_call_op op, memcached_st *mc)
{
	if (depth > 0 || !mc || !mcm_config_get()->enabled)
		return 0;
	depth++;
	memset(c, 0, sizeof *c);
	c->op = op;
	c->mc = mc;
	c->binary = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL) != 0;
	c->noreply = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_NOREPLY) != 0;
	c->buffered = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS) != 0;
	c->udp = memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_USE_UDP) != 0;
	c->encrypted = encrypted(mc);
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

/* A definite answer that the key exists with another value: add, cas. */
static int exists_answer(const struct mcm_call *c)
{
	if (c->op == MCM_CALL_ADD)
		return c->rc == MEMCACHED_NOTSTORED || c->rc == MEMCACHED_DATA_EXISTS;
	return c->op == MCM_CALL_CAS && c->rc == MEMCACHED_DATA_EXISTS;
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

/* What the call did, as a mutation; returns 0 when the mirror stays as it is. */
static int classify(const struct mcm_call *c, struct mcm_mutation *m, int64_t now)
{
	int reliable = !c->noreply && !c->udp && !(c->binary && c->buffered);

	if (not_sent(c->rc))
		return 0;
	if (!reliable) {
		if (is_unconditional(c->op) && (succeeded(c->rc) || c->op != MCM_CALL_SET))
			return classify_success(c, m, now);
		m->op = MCM_OP_DROP;
		return 1;
	}
	if (c->op == MCM_CALL_DELETE || c->op == MCM_CALL_FLUSH)
		return classify_success(c, m, now); /* whatever the answer, the key is gone */
	if (succeeded(c->rc))
		return classify_success(c, m, now);
	if (exists_answer(c))
		return 0;
	m->op = MCM_OP_DROP; /* not found, or an error whose effect is unknown */
	return 1;
}

static void count(struct mcm_counters *ctr, const struct mcm_mutation *m)
{
	if (m->op == MCM_OP_DROP)
		mcm_counters_add(ctr, MCM_CTR_UNCERTAIN, 1);
	else if (m->op == MCM_OP_ENCRYPTED)
		mcm_counters_add(ctr, MCM_CTR_ENCRYPTED, 1);
	else
		mcm_counters_add(ctr, MCM_CTR_RECORDED, 1);
}

/* Write m; if that fails, at least try to drop the key so that the mirror
 * never keeps a value the server no longer holds. */
static void apply(struct mcm_store *st, struct mcm_counters *ctr, struct mcm_mutation *m)
{
	int rc = mcm_store_apply(st, m, 1);

	if (rc == 0) {
		count(ctr, m);
		maybe_sync(st);
		return;
	}
	mcm_counters_add(ctr, MCM_CTR_FAILED, 1);
	mcm_log_once(MCM_CAUSE_WRITE, "cannot write to mirror '%s': %s; writes pass through unmirrored until it works again",
		     mcm_config_get()->path, mcm_strerror(rc));
	if (m->op == MCM_OP_FLUSH || m->op == MCM_OP_DELETE || m->op == MCM_OP_DROP)
		return;
	m->op = MCM_OP_DROP;
	if (mcm_store_apply(st, m, 1) != 0) {
		mcm_counters_add(ctr, MCM_CTR_LOST_DROPS, 1);
		mcm_log_once(MCM_CAUSE_LOST_DROP, "could not drop a key after a failed write: the mirror may hold "
			     "stale values (see 'mcmirror stats')");
	}
}

/* Fill the routing part of m: pool, wire key (namespace + key), group key. */
static int describe(const struct mcm_call *c, struct mcm_pool *pool, char *wire, struct mcm_mutation *m)
{
	memcached_return_t rc;
	const char *ns = memcached_callback_get(c->mc, MEMCACHED_CALLBACK_NAMESPACE, &rc);
	size_t ns_len = ns ? strnlen(ns, MCM_NAMESPACE_MAX + 1) : 0;
	int err = mcm_pool_describe(c->mc, pool);

	if (err != 0) {
		if (err != ENOENT)
			mcm_log_once(MCM_CAUSE_POOL, "cannot identify the server list: %s", strerror(err));
		return -1;
	}
	m->pool = pool;
	if (c->op == MCM_CALL_FLUSH)
		return 0;
	if (!c->key || c->key_len == 0 || c->key_len > MCM_KEY_MAX || ns_len > MCM_NAMESPACE_MAX)
		return -1; /* the library refuses such a key; the call changed nothing */
	memcpy(wire, ns, ns_len);
	memcpy(wire + ns_len, c->key, c->key_len);
	m->key = wire;
	m->key_len = ns_len + c->key_len;
	m->ns_len = (uint16_t)ns_len;
	m->group_mode = c->by_key ? MCM_GROUP_EXPLICIT : MCM_GROUP_KEY;
	m->group = c->by_key && c->group ? c->group : "";
	m->group_len = c->by_key && c->group ? c->group_len : 0;
	return 0;
}

static void record(const struct mcm_call *c)
{
	char wire[MCM_NAMESPACE_MAX + MCM_KEY_MAX];
	struct mcm_pool pool;
	struct mcm_mutation m;
	struct mcm_counters *ctr;
	struct mcm_store *st;
	int64_t now = (int64_t)time(NULL);

	memset(&m, 0, sizeof m);
	if (!classify(c, &m, now))
		return;
	if (describe(c, &pool, wire, &m) != 0)
		return;
	if (!(st = store_get(&ctr))) {
		mcm_counters_add(ctr, MCM_CTR_SKIPPED, 1);
		return;
	}
	apply(st, ctr, &m);
}

void mcm_mirror_end(struct mcm_call *c)
{
	int saved = errno;

	record(c);
	depth--;
	errno = saved;
}
