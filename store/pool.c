/* pool.c - identify a pool of servers by its configured server list. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mcm_pool.h"

mcm_pool_id mcm_pool_id_of(const char *servers, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)servers[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Append one server as "host:port", "[v6]:port", "udp:host:port" or a socket path. */
static int append_server(char *buf, size_t *used, const memcached_instance_st *in)
{
	const char *name = memcached_server_name(in);
	const char *type = memcached_server_type(in);
	unsigned port = memcached_server_port(in);
	size_t room = MCM_SERVERS_MAX - *used;
	const char *sep = *used ? "," : "";
	int n, bracket;

	if (!name)
		name = "";
	/* memcached_servers_parse keeps the brackets of "[::1]:11211" in the name */
	bracket = strchr(name, ':') && name[0] != '[';
	if (type && strcmp(type, "SOCKET") == 0)
		n = snprintf(buf + *used, room, "%s%s", sep, name);
	else
		n = snprintf(buf + *used, room, "%s%s%s%s%s:%u", sep,
			     type && strcmp(type, "UDP") == 0 ? "udp:" : "",
			     bracket ? "[" : "", name, bracket ? "]" : "", port);
	if (n < 0 || (size_t)n >= room)
		return ENAMETOOLONG;
	*used += (size_t)n;
	return 0;
}

int mcm_pool_describe(const memcached_st *mc, struct mcm_pool *p)
{
	uint32_t count = memcached_server_count(mc);
	size_t used = 0;

	memset(p, 0, offsetof(struct mcm_pool, servers));
	p->servers[0] = '\0';
	if (count == 0)
		return ENOENT;
	for (uint32_t i = 0; i < count; i++) {
		const memcached_instance_st *in = memcached_server_instance_by_position(mc, i);
		int rc;

		if (!in)
			return ENOENT;
		if ((rc = append_server(p->servers, &used, in)) != 0)
			return rc;
	}
	p->id = mcm_pool_id_of(p->servers, used);
	p->distribution = (uint32_t)memcached_behavior_get_distribution((memcached_st *)mc);
	p->key_hash = (uint32_t)memcached_behavior_get_key_hash((memcached_st *)mc);
	/* not memcached_behavior_get_distribution_hash: in 1.1.4 it returns the key hash */
	p->dist_hash = (uint32_t)memcached_behavior_get((memcached_st *)mc, MEMCACHED_BEHAVIOR_KETAMA_HASH);
	p->hash_with_namespace =
		memcached_behavior_get((memcached_st *)mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY) != 0;
	return 0;
}
