/* hooks_storage.c - the storage commands: set, add, replace, append, prepend, cas and their _by_key forms.
 *
 * Each exported name forwards to store_call(), which calls the real function
 * and hands the outcome to mirror.c. None of these call another public
 * function in libmemcached 1.1.4, so each is one logical write. */
#include <stdint.h>

#include "shim.h"

typedef memcached_return_t (*store_fn)(memcached_st *, const char *, size_t, const char *, size_t, time_t,
				       uint32_t);
typedef memcached_return_t (*store_by_key_fn)(memcached_st *, const char *, size_t, const char *, size_t,
					      const char *, size_t, time_t, uint32_t);
typedef memcached_return_t (*cas_fn)(memcached_st *, const char *, size_t, const char *, size_t, time_t,
				     uint32_t, uint64_t);
typedef memcached_return_t (*cas_by_key_fn)(memcached_st *, const char *, size_t, const char *, size_t,
					    const char *, size_t, time_t, uint32_t, uint64_t);

static const char *const plain_names[] = {
	[MCM_CALL_SET] = "memcached_set",         [MCM_CALL_ADD] = "memcached_add",
	[MCM_CALL_REPLACE] = "memcached_replace", [MCM_CALL_APPEND] = "memcached_append",
	[MCM_CALL_PREPEND] = "memcached_prepend", [MCM_CALL_CAS] = "memcached_cas",
};
static const char *const by_key_names[] = {
	[MCM_CALL_SET] = "memcached_set_by_key",         [MCM_CALL_ADD] = "memcached_add_by_key",
	[MCM_CALL_REPLACE] = "memcached_replace_by_key", [MCM_CALL_APPEND] = "memcached_append_by_key",
	[MCM_CALL_PREPEND] = "memcached_prepend_by_key", [MCM_CALL_CAS] = "memcached_cas_by_key",
};
static void *plain_real[MCM_CALL_CAS + 1], *by_key_real[MCM_CALL_CAS + 1];

static memcached_return_t call_real(const struct mcm_call *a)
{
	memcached_st *mc = a->mc;
	void *fn = a->by_key ? mcm_real(&by_key_real[a->op], by_key_names[a->op])
			     : mcm_real(&plain_real[a->op], plain_names[a->op]);

	if (!fn)
		return MEMCACHED_FAILURE;
	if (a->op == MCM_CALL_CAS && a->by_key)
		return ((cas_by_key_fn)fn)(mc, a->group, a->group_len, a->key, a->key_len, a->value,
					   a->value_len, a->expiration, a->flags, a->cas);
	if (a->op == MCM_CALL_CAS)
		return ((cas_fn)fn)(mc, a->key, a->key_len, a->value, a->value_len, a->expiration, a->flags,
				    a->cas);
	if (a->by_key)
		return ((store_by_key_fn)fn)(mc, a->group, a->group_len, a->key, a->key_len, a->value,
					     a->value_len, a->expiration, a->flags);
	return ((store_fn)fn)(mc, a->key, a->key_len, a->value, a->value_len, a->expiration, a->flags);
}

/* c: the call's arguments (op, mc and the argument fields; the rest zero). */
static memcached_return_t store_call(struct mcm_call *c)
{
	if (!mcm_mirror_begin(c))
		return call_real(c);
	c->rc = call_real(c);
	mcm_mirror_end(c);
	return c->rc;
}

MCM_API memcached_return_t memcached_set(memcached_st *ptr, const char *key, size_t key_length,
					 const char *value, size_t value_length, time_t expiration, uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_SET, .mc = ptr, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_add(memcached_st *ptr, const char *key, size_t key_length,
					 const char *value, size_t value_length, time_t expiration, uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_ADD, .mc = ptr, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_replace(memcached_st *ptr, const char *key, size_t key_length,
					     const char *value, size_t value_length, time_t expiration,
					     uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_REPLACE, .mc = ptr, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_append(memcached_st *ptr, const char *key, size_t key_length,
					    const char *value, size_t value_length, time_t expiration,
					    uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_APPEND, .mc = ptr, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_prepend(memcached_st *ptr, const char *key, size_t key_length,
					     const char *value, size_t value_length, time_t expiration,
					     uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_PREPEND, .mc = ptr, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_cas(memcached_st *ptr, const char *key, size_t key_length,
					 const char *value, size_t value_length, time_t expiration, uint32_t flags,
					 uint64_t cas)
{
	struct mcm_call c = {.op = MCM_CALL_CAS, .mc = ptr, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags, .cas = cas};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_set_by_key(memcached_st *ptr, const char *group_key,
						size_t group_key_length, const char *key, size_t key_length,
						const char *value, size_t value_length, time_t expiration,
						uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_SET, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_add_by_key(memcached_st *ptr, const char *group_key,
						size_t group_key_length, const char *key, size_t key_length,
						const char *value, size_t value_length, time_t expiration,
						uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_ADD, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_replace_by_key(memcached_st *ptr, const char *group_key,
						    size_t group_key_length, const char *key, size_t key_length,
						    const char *value, size_t value_length, time_t expiration,
						    uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_REPLACE, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_append_by_key(memcached_st *ptr, const char *group_key,
						   size_t group_key_length, const char *key, size_t key_length,
						   const char *value, size_t value_length, time_t expiration,
						   uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_APPEND, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_prepend_by_key(memcached_st *ptr, const char *group_key,
						    size_t group_key_length, const char *key, size_t key_length,
						    const char *value, size_t value_length, time_t expiration,
						    uint32_t flags)
{
	struct mcm_call c = {.op = MCM_CALL_PREPEND, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags};
	return store_call(&c);
}

MCM_API memcached_return_t memcached_cas_by_key(memcached_st *ptr, const char *group_key,
						size_t group_key_length, const char *key, size_t key_length,
						const char *value, size_t value_length, time_t expiration,
						uint32_t flags, uint64_t cas)
{
	struct mcm_call c = {.op = MCM_CALL_CAS, .mc = ptr, .by_key = 1, .group = group_key,
			       .group_len = group_key_length, .key = key, .key_len = key_length, .value = value,
			       .value_len = value_length, .expiration = expiration, .flags = flags, .cas = cas};
	return store_call(&c);
}
