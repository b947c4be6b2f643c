/* sasl.c - memcached_set_sasl_auth_data and memcached_set_sasl_callbacks: note that the process
 * authenticates, so that pool descriptions say which handles do (pools.c).
 *
 * The hooks call the real functions and return their result untouched; they
 * keep nothing of the arguments (the user name and password stay the host's
 * and the library's). The mark a handle carries is the library's own: its
 * SASL callbacks, which memcached_get_sasl_callbacks() reads, which
 * memcached_clone() copies and memcached_destroy_sasl_auth_data() clears.
 * The hooks only open that question: until a process sets SASL data once,
 * no handle of it is asked (one relaxed load on each described call). */
#include "shim.h"

typedef memcached_return_t (*set_auth_fn)(memcached_st *, const char *, const char *);
typedef void (*set_callbacks_fn)(memcached_st *, const sasl_callback_t *);

static void *real_set_auth, *real_set_callbacks;
static int seen; /* a handle of this process was given SASL data */

MCM_API memcached_return_t memcached_set_sasl_auth_data(memcached_st *ptr, const char *username, const char *password)
{
	set_auth_fn fn = (set_auth_fn)mcm_real(&real_set_auth, "memcached_set_sasl_auth_data");
	memcached_return_t rc;

	if (!fn)
		return MEMCACHED_FAILURE;
	rc = fn(ptr, username, password);
	if (rc == MEMCACHED_SUCCESS)
		__atomic_store_n(&seen, 1, __ATOMIC_RELAXED);
	return rc;
}

MCM_API void memcached_set_sasl_callbacks(memcached_st *ptr, const sasl_callback_t *callbacks)
{
	set_callbacks_fn fn = (set_callbacks_fn)mcm_real(&real_set_callbacks, "memcached_set_sasl_callbacks");

	if (!fn)
		return;
	fn(ptr, callbacks);
	if (callbacks)
		__atomic_store_n(&seen, 1, __ATOMIC_RELAXED);
}

int mcm_sasl_of(memcached_st *mc)
{
	return __atomic_load_n(&seen, __ATOMIC_RELAXED) && memcached_get_sasl_callbacks(mc) != NULL;
}
