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

/* Append n bytes of s to buf at *used; 0, or ENAMETOOLONG when it does not fit. */
static int put(char *buf, size_t *used, const char *s, size_t n)
{
	if (n >= MCM_SERVERS_MAX - *used)
		return ENAMETOOLONG;
	memcpy(buf + *used, s, n);
	*used += n;
	buf[*used] = '\0';
	return 0;
}

static int put_port(char *buf, size_t *used, unsigned port)
{
	char digits[8];
	size_t n = sizeof digits;

	do
		digits[--n] = (char)('0' + port % 10);
	while ((port /= 10) != 0 && n > 0);
	return put(buf, used, digits + n, sizeof digits - n);
}

/* Append one server as "host:port", "[v6]:port", "udp:host:port" or a socket path.
 * (By hand: this runs on every intercepted call, and snprintf costs more than the rest.) */
static int append_server(char *buf, size_t *used, const memcached_instance_st *in)
{
	const char *name = memcached_server_name(in);
	const char *type = memcached_server_type(in);
	size_t len;
	int v6, rc = 0;

	if (!name)
		name = "";
	len = strlen(name);
	if (*used && (rc = put(buf, used, ",", 1)) != 0)
		return rc;
	if (type && strcmp(type, "SOCKET") == 0)
		return put(buf, used, name, len);
	/* memcached_servers_parse keeps the brackets of "[::1]:11211"; memcached_server_add("::1") has none */
	v6 = strchr(name, ':') && name[0] != '[';
	if ((type && strcmp(type, "UDP") == 0 && (rc = put(buf, used, "udp:", 4)) != 0) ||
	    (v6 && (rc = put(buf, used, "[", 1)) != 0) || (rc = put(buf, used, name, len)) != 0 ||
	    (v6 && (rc = put(buf, used, "]", 1)) != 0) || (rc = put(buf, used, ":", 1)) != 0)
		return rc;
	return put_port(buf, used, memcached_server_port(in));
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
