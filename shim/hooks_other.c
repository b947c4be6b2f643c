/* hooks_other.c - delete, increment/decrement (plain, _by_key, _with_initial), touch and flush;
 * and memcached_free, which forgets what step.c noted about the handle's connections.
 *
 * In libmemcached 1.1.4 the plain delete, increment, decrement, touch and
 * *_with_initial call their _by_key twins through the PLT: the inner hook
 * sees a depth above zero and passes through, so the write is recorded once,
 * with the arguments the application gave. */
#include <stdint.h>

#include "shim.h"

typedef memcached_return_t (*delete_fn)(memcached_st *, const char *, size_t, time_t);
typedef memcached_return_t (*delete_by_key_fn)(memcached_st *, const char *, size_t, const char *, size_t, time_t);
typedef memcached_return_t (*incr_fn)(memcached_st *, const char *, size_t, uint32_t, uint64_t *);
typedef memcached_return_t (*incr_by_key_fn)(memcached_st *, const char *, size_t, const char *, size_t, uint64_t,
					     uint64_t *);
typedef memcached_return_t (*incr_init_fn)(memcached_st *, const char *, size_t, uint64_t, uint64_t, time_t,
					   uint64_t *);
typedef memcached_return_t (*incr_init_by_key_fn)(memcached_st *, const char *, size_t, const char *, size_t,
						  uint64_t, uint64_t, time_t, uint64_t *);
typedef memcached_return_t (*flush_fn)(memcached_st *, time_t);
typedef void (*free_fn)(memcached_st *);

static void *real_delete, *real_delete_by_key, *real_touch, *real_touch_by_key, *real_flush, *real_free;
static void *real_incr, *real_decr, *real_incr_by_key, *real_decr_by_key;
static void *real_incr_init, *real_decr_init, *real_incr_init_by_key, *real_decr_init_by_key;

/* delete and touch share a signature: key and expiration. */
static memcached_return_t key_exp_call(enum mcm_call_op op, void *fn, memcached_st *ptr, const char *group,
				       size_t group_len, const char *key, size_t key_len, time_t expiration,
				       int by_key)
{
	struct mcm_call c = {
		.op = op, .mc = ptr, .by_key = by_key, .group = group, .group_len = group_len,
		.key = key, .key_len = key_len, .expiration = expiration,
	};
	int recording;

	if (!fn)
		return MEMCACHED_FAILURE;
	recording = mcm_mirror_begin(&c);
	if (by_key)
		c.rc = ((delete_by_key_fn)fn)(ptr, group, group_len, key, key_len, expiration);
	else
		c.rc = ((delete_fn)fn)(ptr, key, key_len, expiration);
	if (recording)
		mcm_mirror_end(&c);
	return c.rc;
}

MCM_API memcached_return_t memcached_delete(memcached_st *ptr, const char *key, size_t key_length,
					    time_t expiration)
{
	return key_exp_call(MCM_CALL_DELETE, mcm_real(&real_delete, "memcached_delete"), ptr, NULL, 0, key,
			    key_length, expiration, 0);
}

MCM_API memcached_return_t memcached_delete_by_key(memcached_st *ptr, const char *group_key,
						   size_t group_key_length, const char *key, size_t key_length,
						   time_t expiration)
{
	return key_exp_call(MCM_CALL_DELETE, mcm_real(&real_delete_by_key, "memcached_delete_by_key"), ptr,
			    group_key, group_key_length, key, key_length, expiration, 1);
}

MCM_API memcached_return_t memcached_touch(memcached_st *ptr, const char *key, size_t key_length,
					   time_t expiration)
{
	return key_exp_call(MCM_CALL_TOUCH, mcm_real(&real_touch, "memcached_touch"), ptr, NULL, 0, key,
			    key_length, expiration, 0);
}

MCM_API memcached_return_t memcached_touch_by_key(memcached_st *ptr, const char *group_key,
						  size_t group_key_length, const char *key, size_t key_length,
						  time_t expiration)
{
	return key_exp_call(MCM_CALL_TOUCH, mcm_real(&real_touch_by_key, "memcached_touch_by_key"), ptr,
			    group_key, group_key_length, key, key_length, expiration, 1);
}

static memcached_return_t delta_real(void *fn, const struct mcm_call *a, uint64_t *value)
{
	memcached_st *ptr = a->mc;
	int init = a->op == MCM_CALL_INCR_INIT || a->op == MCM_CALL_DECR_INIT;

	if (init && a->by_key)
		return ((incr_init_by_key_fn)fn)(ptr, a->group, a->group_len, a->key, a->key_len, a->offset,
						 a->initial, a->expiration, value);
	if (init)
		return ((incr_init_fn)fn)(ptr, a->key, a->key_len, a->offset, a->initial, a->expiration, value);
	if (a->by_key)
		return ((incr_by_key_fn)fn)(ptr, a->group, a->group_len, a->key, a->key_len, a->offset, value);
	return ((incr_fn)fn)(ptr, a->key, a->key_len, (uint32_t)a->offset, value);
}

/* c: the call's arguments (op, mc and the argument fields; the rest zero);
 * out: where the caller wants the new value (may be NULL). */
static memcached_return_t delta_call(void *fn, struct mcm_call *c, uint64_t *out)
{
	uint64_t mine = 0, *value = out ? out : &mine; /* to learn the result when the caller passed NULL */

	if (!fn)
		return MEMCACHED_FAILURE;
	if (!mcm_mirror_begin(c))
		return delta_real(fn, c, out);
	c->rc = delta_real(fn, c, value);
	c->result = *value;
	mcm_mirror_end(c);
	return c->rc;
}

MCM_API memcached_return_t memcached_increment(memcached_st *ptr, const char *key, size_t key_length,
					       uint32_t offset, uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_INCR, .mc = ptr, .key = key, .key_len = key_length,
			       .offset = offset};
	return delta_call(mcm_real(&real_incr, "memcached_increment"), &c, value);
}

MCM_API memcached_return_t memcached_decrement(memcached_st *ptr, const char *key, size_t key_length,
					       uint32_t offset, uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_DECR, .mc = ptr, .key = key, .key_len = key_length,
			       .offset = offset};
	return delta_call(mcm_real(&real_decr, "memcached_decrement"), &c, value);
}

MCM_API memcached_return_t memcached_increment_by_key(memcached_st *ptr, const char *group_key,
						      size_t group_key_length, const char *key, size_t key_length,
						      uint64_t offset, uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_INCR, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length,
			       .offset = offset};
	return delta_call(mcm_real(&real_incr_by_key, "memcached_increment_by_key"), &c, value);
}

MCM_API memcached_return_t memcached_decrement_by_key(memcached_st *ptr, const char *group_key,
						      size_t group_key_length, const char *key, size_t key_length,
						      uint64_t offset, uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_DECR, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length,
			       .offset = offset};
	return delta_call(mcm_real(&real_decr_by_key, "memcached_decrement_by_key"), &c, value);
}

MCM_API memcached_return_t memcached_increment_with_initial(memcached_st *ptr, const char *key, size_t key_length,
							    uint64_t offset, uint64_t initial, time_t expiration,
							    uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_INCR_INIT, .mc = ptr, .key = key, .key_len = key_length,
			       .offset = offset, .initial = initial, .expiration = expiration};
	return delta_call(mcm_real(&real_incr_init, "memcached_increment_with_initial"), &c, value);
}

MCM_API memcached_return_t memcached_decrement_with_initial(memcached_st *ptr, const char *key, size_t key_length,
							    uint64_t offset, uint64_t initial, time_t expiration,
							    uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_DECR_INIT, .mc = ptr, .key = key, .key_len = key_length,
			       .offset = offset, .initial = initial, .expiration = expiration};
	return delta_call(mcm_real(&real_decr_init, "memcached_decrement_with_initial"), &c, value);
}

MCM_API memcached_return_t memcached_increment_with_initial_by_key(memcached_st *ptr, const char *group_key,
								   size_t group_key_length, const char *key,
								   size_t key_length, uint64_t offset,
								   uint64_t initial, time_t expiration,
								   uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_INCR_INIT, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length,
			       .offset = offset, .initial = initial, .expiration = expiration};
	return delta_call(mcm_real(&real_incr_init_by_key, "memcached_increment_with_initial_by_key"), &c, value);
}

MCM_API memcached_return_t memcached_decrement_with_initial_by_key(memcached_st *ptr, const char *group_key,
								   size_t group_key_length, const char *key,
								   size_t key_length, uint64_t offset,
								   uint64_t initial, time_t expiration,
								   uint64_t *value)
{
	struct mcm_call c = {.op = MCM_CALL_DECR_INIT, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length,
			       .offset = offset, .initial = initial, .expiration = expiration};
	return delta_call(mcm_real(&real_decr_init_by_key, "memcached_decrement_with_initial_by_key"), &c, value);
}

MCM_API memcached_return_t memcached_flush(memcached_st *ptr, time_t expiration)
{
	void *fn = mcm_real(&real_flush, "memcached_flush");
	struct mcm_call c = {.op = MCM_CALL_FLUSH, .mc = ptr, .expiration = expiration};

	if (!fn)
		return MEMCACHED_FAILURE;
	if (!mcm_mirror_begin(&c))
		return ((flush_fn)fn)(ptr, expiration);
	c.rc = ((flush_fn)fn)(ptr, expiration);
	mcm_mirror_end(&c);
	return c.rc;
}

/* A handle freed: its connections are closed, and another handle may take its address. */
MCM_API void memcached_free(memcached_st *ptr)
{
	void *fn = mcm_real(&real_free, "memcached_free");

	if (ptr && mcm_step_any())
		mcm_step_forget(ptr);
	if (fn)
		((free_fn)fn)(ptr);
}
