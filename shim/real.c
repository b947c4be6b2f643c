/* real.c - find the real libmemcached functions behind the hooks.
 *
 * The shim is linked against libmemcached, so dlsym(RTLD_NEXT) finds it even
 * when the host loaded libmemcached RTLD_LOCAL (pylibmc): the shim's own
 * dependency puts it in the global scope after the shim. */
#include <dlfcn.h>

#include "shim.h"

void *mcm_real(void **slot, const char *name)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (fn)
		return fn;
	fn = dlsym(RTLD_NEXT, name);
	if (!fn) {
		const char *why = dlerror();
		mcm_log_once(MCM_CAUSE_REAL, "cannot find the real %s: %s", name, why ? why : "not found");
	} else {
		__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
	}
	return fn;
}
