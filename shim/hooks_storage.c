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

/* The arguments every storage call has. */
struct store_args {
	enum mcm_call_op op;
	int by_key;
	const char *group;
	size_t group_len;
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	time_t expiration;
	uint32_t flags;
	uint64_t cas;
};

static memcached_return_t call_real(memcached_st *mc, const struct store_args *a)
{
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

static memcached_return_t store_call(memcached_st *mc, const struct store_args *a)
{
	struct mcm_call c = {
		.op = a->op, .mc = mc, .by_key = a->by_key, .group = a->group, .group_len = a->group_len,
		.key = a->key, .key_len = a->key_len, .value = a->value, .value_len = a->value_len,
		.expiration = a->expiration, .flags = a->flags, .cas = a->cas,
	};

	if (!mcm_mirror_begin(&c))
		return call_real(mc, a);
	c.rc = call_real(mc, a);
	mcm_mirror_end(&c);
	return c.rc;
}

MCM_API memcached_return_t memcached_set(memcached_st *ptr, const char *key, size_t key_length,
					 const char *value, size_t value_length, time_t expiration, uint32_t flags)
{
	struct store_args a = {MCM_CALL_SET, 0, NULL, 0, key, key_length, value, value_length, expiration, flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_add(memcached_st *ptr, const char *key, size_t key_length,
					 const char *value, size_t value_length, time_t expiration, uint32_t flags)
{
	struct store_args a = {MCM_CALL_ADD, 0, NULL, 0, key, key_length, value, value_length, expiration, flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_replace(memcached_st *ptr, const char *key, size_t key_length,
					     const char *value, size_t value_length, time_t expiration,
					     uint32_t flags)
{
	struct store_args a = {MCM_CALL_REPLACE, 0, NULL, 0, key, key_length, value, value_length, expiration,
			       flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_append(memcached_st *ptr, const char *key, size_t key_length,
					    const char *value, size_t value_length, time_t expiration,
					    uint32_t flags)
{
	struct store_args a = {MCM_CALL_APPEND, 0, NULL, 0, key, key_length, value, value_length, expiration,
			       flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_prepend(memcached_st *ptr, const char *key, size_t key_length,
					     const char *value, size_t value_length, time_t expiration,
					     uint32_t flags)
{
	struct store_args a = {MCM_CALL_PREPEND, 0, NULL, 0, key, key_length, value, value_length, expiration,
			       flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_cas(memcached_st *ptr, const char *key, size_t key_length,
					 const char *value, size_t value_length, time_t expiration, uint32_t flags,
					 uint64_t cas)
{
	struct store_args a = {MCM_CALL_CAS, 0, NULL, 0, key, key_length, value, value_length, expiration, flags,
			       cas};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_set_by_key(memcached_st *ptr, const char *group_key,
						size_t group_key_length, const char *key, size_t key_length,
						const char *value, size_t value_length, time_t expiration,
						uint32_t flags)
{
	struct store_args a = {MCM_CALL_SET, 1, group_key, group_key_length, key, key_length, value, value_length,
			       expiration, flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_add_by_key(memcached_st *ptr, const char *group_key,
						size_t group_key_length, const char *key, size_t key_length,
						const char *value, size_t value_length, time_t expiration,
						uint32_t flags)
{
	struct store_args a = {MCM_CALL_ADD, 1, group_key, group_key_length, key, key_length, value, value_length,
			       expiration, flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_replace_by_key(memcached_st *ptr, const char *group_key,
						    size_t group_key_length, const char *key, size_t key_length,
						    const char *value, size_t value_length, time_t expiration,
						    uint32_t flags)
{
	struct store_args a = {MCM_CALL_REPLACE, 1, group_key, group_key_length, key, key_length, value,
			       value_length, expiration, flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_append_by_key(memcached_st *ptr, const char *group_key,
						   size_t group_key_length, const char *key, size_t key_length,
						   const char *value, size_t value_length, time_t expiration,
						   uint32_t flags)
{
	struct store_args a = {MCM_CALL_APPEND, 1, group_key, group_key_length, key, key_length, value,
			       value_length, expiration, flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_prepend_by_key(memcached_st *ptr, const char *group_key,
						    size_t group_key_length, const char *key, size_t key_length,
						    const char *value, size_t value_length, time_t expiration,
						    uint32_t flags)
{
	struct store_args a = {MCM_CALL_PREPEND, 1, group_key, group_key_length, key, key_length, value,
			       value_length, expiration, flags, 0};
	return store_call(ptr, &a);
}

MCM_API memcached_return_t memcached_cas_by_key(memcached_st *ptr, const char *group_key,
						size_t group_key_length, const char *key, size_t key_length,
						const char *value, size_t value_length, time_t expiration,
						uint32_t flags, uint64_t cas)
{
	struct store_args a = {MCM_CALL_CAS, 1, group_key, group_key_length, key, key_length, value, value_length,
			       expiration, flags, cas};
	return store_call(ptr, &a);
}
