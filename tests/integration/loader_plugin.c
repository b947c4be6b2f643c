/* loader_plugin.c - a plugin linking libmemcached, as php-memcached.so and pylibmc's module do.
 * loader_host dlopens it the way PHP (RTLD_DEEPBIND) and Python (RTLD_LOCAL) load extensions. */
#include <libmemcached/memcached.h>
#include <string.h>

int plugin_set(const char *servers, const char *key, const char *value)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);
	memcached_return_t rc;

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	rc = memcached_set(mc, key, strlen(key), value, strlen(value), 0, 42);
	memcached_free(mc);
	return rc == MEMCACHED_SUCCESS ? 0 : 1;
}
