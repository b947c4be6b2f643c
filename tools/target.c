/* target.c - parse --servers, match it to a mirrored pool, place keys with libmemcached's hashing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpfmt.h"
#include "mcm_pool.h"
#include "mcmirror.h"
#include "meta.h"
#include "servers.h"
#include "target.h"

/* A server list: parsed by servers.c (IPv6, bare hosts, relative sockets, duplicates). */
static int open_list(struct mcm_target *t, const char *servers, char *why, size_t why_size)
{
	if (!(t->mc = memcached_create(NULL))) {
		snprintf(why, why_size, "cannot parse the server list '%s'", servers);
		return -1;
	}
	return mcm_servers_add_list(t->mc, servers, why, why_size);
}

static int open_config(struct mcm_target *t, const char *conf, char *why, size_t why_size)
{
	if (mcm_servers_check_config(conf, why, why_size) != 0)
		return -1;
	if (!(t->mc = memcached(conf, strlen(conf)))) {
		snprintf(why, why_size, "cannot use the configuration string '%s'", conf);
		return -1;
	}
	t->from_config = 1;
	/* the namespace of each record is hashed by mcm_target_server_of itself */
	t->hash_with_ns = memcached_behavior_get(t->mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY) != 0;
	memcached_behavior_set(t->mc, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY, 0);
	return mcm_servers_unique(t->mc, why, why_size);
}

static int check_servers(struct mcm_target *t, char *why, size_t why_size)
{
	int rc;

	t->count = memcached_server_count(t->mc);
	for (uint32_t i = 0; i < t->count; i++) {
		const char *type = memcached_server_type(memcached_server_instance_by_position(t->mc, i));

		if (type && strcmp(type, "UDP") == 0) {
			snprintf(why, why_size, "udp servers are not supported");
			return -1;
		}
	}
	if ((rc = mcm_pool_describe(t->mc, &t->described)) != 0) {
		snprintf(why, why_size, "%s", rc == ENOENT ? "no servers given" : "the server list is too long");
		return -1;
	}
	return 0;
}

int mcm_target_open(struct mcm_target *t, const char *servers, char *why, size_t why_size)
{
	int rc;

	memset(t, 0, sizeof *t);
	if (!servers || !*servers) {
		snprintf(why, why_size, "no servers given");
		return -1;
	}
	if (strncmp(servers, "--", 2) == 0)
		rc = open_config(t, servers, why, why_size);
	else
		rc = open_list(t, servers, why, why_size);
	if (rc == 0)
		rc = check_servers(t, why, why_size);
	if (rc != 0)
		mcm_target_close(t);
	return rc;
}

void mcm_target_close(struct mcm_target *t)
{
	if (t->mc)
		memcached_free(t->mc);
	t->mc = NULL;
}

static void list_pools(const char *cmd, const struct mcm_pool *pools, size_t n)
{
	char id[17];

	for (size_t i = 0; i < n; i++) {
		mcm_dumpfmt_pool_id(pools[i].id, id);
		mcm_cli_error(cmd, "  pool %s: servers '%s'", id, pools[i].servers);
	}
}

/* The pool the user meant, or NULL (after an error message); *code is the exit code. */
static const struct mcm_pool *choose(const struct mcm_target *t, const char *cmd, const char *where,
				     const mcm_pool_id *want, const struct mcm_pool *pools, size_t n, int *code)
{
	char id[17];

	*code = MCM_EXIT_FAIL;
	for (size_t i = 0; want && i < n; i++)
		if (pools[i].id == *want)
			return &pools[i];
	if (want) {
		mcm_dumpfmt_pool_id(*want, id);
		mcm_cli_error(cmd, "no pool '%s' in %s; it holds:", id, where);
		list_pools(cmd, pools, n);
		return NULL;
	}
	if (n == 1)
		return &pools[0];
	for (size_t i = 0; i < n; i++)
		if (pools[i].id == t->described.id)
			return &pools[i];
	*code = MCM_EXIT_USAGE;
	mcm_cli_error(cmd, "%s holds %zu pools and none has the servers '%s': choose one with --pool ID:", where,
		      n, t->described.servers);
	list_pools(cmd, pools, n);
	fprintf(stderr, "try 'mcmirror %s --help' for more information\n", cmd);
	return NULL;
}

int mcm_target_pick_pool(const struct mcm_target *t, struct mcm_store *st, const char *cmd,
			 const mcm_pool_id *want, struct mcm_pool *out)
{
	struct mcm_pool *pools;
	const struct mcm_pool *p;
	size_t n;
	int rc = mcm_store_pools(st, &pools, &n), code;

	if (rc != 0) {
		mcm_cli_error(cmd, "cannot read the pools of the mirror: %s", mcm_strerror(rc));
		return MCM_EXIT_FAIL;
	}
	if (n == 0) {
		free(pools);
		return MCM_TARGET_NO_POOL;
	}
	if ((p = choose(t, cmd, "the mirror", want, pools, n, &code)))
		*out = *p;
	free(pools);
	return p ? 0 : code;
}

int mcm_target_pick_pool_in(const struct mcm_target *t, const struct mcm_pool *pools, size_t n, const char *where,
			    const char *cmd, const mcm_pool_id *want, struct mcm_pool *out)
{
	const struct mcm_pool *p;
	int code;

	if (n == 0)
		return MCM_TARGET_NO_POOL;
	if ((p = choose(t, cmd, where, want, pools, n, &code)))
		*out = *p;
	return p ? 0 : code;
}

static void warn_setting(const char *cmd, const char *what, uint32_t mine, uint32_t recorded,
			 const char *(*name)(uint32_t))
{
	const char *a = name(mine), *b = name(recorded);

	if (mine == recorded)
		return;
	mcm_cli_warn(cmd, "the configuration string sets %s '%s' but the application used '%s':"
		     " keys are placed as the configuration string says", what, a ? a : "?", b ? b : "?");
}

void mcm_target_adopt(struct mcm_target *t, const struct mcm_pool *pool, const char *cmd)
{
	memcached_return_t rc;

	if (pool->sasl && !(t->guard && t->guard->auth))
		mcm_cli_warn(cmd, "the pool's application authenticated with SASL ('mcmirror stats': sasl yes): its"
			     " servers will want credentials: give --auth-file (with 'mechanism plain')");
	if (t->from_config) {
		warn_setting(cmd, "distribution", (uint32_t)memcached_behavior_get_distribution(t->mc),
			     pool->distribution, mcm_dumpfmt_distribution_name);
		warn_setting(cmd, "key hash", (uint32_t)memcached_behavior_get_key_hash(t->mc), pool->key_hash,
			     mcm_dumpfmt_hash_name);
		if (t->hash_with_ns != (pool->hash_with_namespace != 0))
			mcm_cli_warn(cmd, "the configuration string %s the namespace in the hash but the application"
				     " did %s: keys are placed as the configuration string says",
				     t->hash_with_ns ? "includes" : "leaves out", pool->hash_with_namespace ? "" : "not");
		return;
	}
	/* the hashes first: setting the distribution rebuilds the continuum with them */
	rc = memcached_behavior_set_key_hash(t->mc, (memcached_hash_t)pool->key_hash);
	if (rc == MEMCACHED_SUCCESS)
		rc = memcached_behavior_set_distribution_hash(t->mc, (memcached_hash_t)pool->dist_hash);
	if (rc == MEMCACHED_SUCCESS)
		rc = memcached_behavior_set_distribution(t->mc, (memcached_server_distribution_t)pool->distribution);
	if (rc != MEMCACHED_SUCCESS)
		mcm_cli_warn(cmd, "cannot apply the pool's recorded distribution (%u, hashes %u/%u): %s;"
			     " keys may land on other servers than the application's", pool->distribution,
			     pool->key_hash, pool->dist_hash, memcached_strerror(t->mc, rc));
	t->hash_with_ns = pool->hash_with_namespace != 0;
}

uint32_t mcm_target_server_of(struct mcm_target *t, const struct mcm_item *item)
{
	const char *hk;
	size_t len;

	if (t->count == 1)
		return 0;
	if (item->group_mode == MCM_GROUP_EXPLICIT) {
		hk = item->group ? item->group : "";
		len = item->group ? item->group_len : 0;
	} else {
		hk = item->key + item->ns_len;
		len = item->key_len - item->ns_len;
	}
	if (t->hash_with_ns) {
		/* what libmemcached's hash.cc does with HASH_WITH_PREFIX_KEY: namespace +
		 * key, and server 0 when that is longer than a key may be */
		if (item->ns_len + len > MEMCACHED_MAX_KEY - 1)
			return 0;
		memcpy(t->scratch, item->key, item->ns_len);
		memcpy(t->scratch + item->ns_len, hk, len);
		hk = t->scratch;
		len += item->ns_len;
	}
	return memcached_generate_hash(t->mc, hk, len) % t->count;
}

void mcm_target_server_name(const struct mcm_target *t, uint32_t idx, char *buf, size_t size)
{
	mcm_servers_name(t->mc, idx, buf, size);
}

int mcm_target_find_server(const struct mcm_target *t, const char *name)
{
	char buf[300], want[300];

	if (mcm_servers_canonical(name, want, sizeof want) != 0) /* "::1" is "[::1]:11211" */
		snprintf(want, sizeof want, "%s", name);
	for (uint32_t i = 0; i < t->count; i++) {
		mcm_target_server_name(t, i, buf, sizeof buf);
		if (strcmp(buf, want) == 0)
			return (int)i;
	}
	return -1;
}

int mcm_target_connect(const struct mcm_target *t, uint32_t idx, struct mcm_pipe *p, int timeout_ms)
{
	const memcached_instance_st *in = memcached_server_instance_by_position(t->mc, idx);
	const char *host = memcached_server_name(in), *type = memcached_server_type(in);
	char name[300], bare[300];
	size_t len = strlen(host);

	mcm_target_server_name(t, idx, name, sizeof name);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof bare) {
		memcpy(bare, host + 1, len - 2); /* "[::1]" as parsed from a list: getaddrinfo wants "::1" */
		bare[len - 2] = '\0';
		host = bare;
	}
	return mcm_pipe_connect_guarded(p, host, (unsigned)memcached_server_port(in),
					type && strcmp(type, "SOCKET") == 0, name, timeout_ms, t->guard);
}

int mcm_target_connect_all(const struct mcm_target *t, struct mcm_pipe *pipes, int only, int timeout_ms,
			   const char *cmd)
{
	for (uint32_t i = 0; i < t->count; i++)
		pipes[i].fd = -1;
	for (uint32_t i = 0; i < t->count; i++) {
		if (only >= 0 && i != (uint32_t)only)
			continue;
		if (mcm_target_connect(t, i, &pipes[i], timeout_ms) != 0) {
			mcm_cli_error(cmd, "cannot connect to '%s': %s", pipes[i].name, pipes[i].why);
			return -1;
		}
		if (mcm_meta_stats(&pipes[i], "settings") != 0) { /* the bound of the values it sends */
			mcm_cli_error(cmd, "out of memory");
			return -1;
		}
	}
	return 0;
}

int mcm_target_pump(const char *cmd, struct mcm_pipe *pipes, size_t n, int wait_ms, int stall_ms,
		    mcm_pipe_reply_fn *fn, void *ctx)
{
	int rc = mcm_pipe_pump(pipes, n, wait_ms, stall_ms, fn, ctx);

	if (rc != 0) {
		mcm_cli_error(cmd, "poll failed: %s", strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (pipes[i].err && pipes[i].fd >= 0)
			return -1;
	return 0;
}

void mcm_target_opts_init(struct mcm_target_opts *o)
{
	memset(o, 0, sizeof *o);
	o->timeout_ms = 5000;
}

/* Seconds (a decimal number, up to a day) to milliseconds. */
static int parse_timeout(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return -1;
	*ms = (int)(v * 1000.0 + 0.5);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

int mcm_target_option(const char *cmd, int c, const char *arg, struct mcm_target_opts *o)
{
	switch (c) {
	case 's':
		o->servers = arg;
		return 0;
	case 'p':
		if (mcm_cli_parse_pool(cmd, arg, &o->pool) != 0)
			return MCM_EXIT_USAGE;
		o->have_pool = 1;
		return 0;
	case 'o':
		o->only = arg;
		return 0;
	case 'P':
		o->prefix = arg;
		o->prefix_len = strlen(arg);
		return 0;
	case 't':
		if (parse_timeout(arg, &o->timeout_ms) != 0)
			return mcm_cli_usage_error(cmd, "bad timeout '%s': want a positive number of seconds", arg);
		return 0;
	default:
		return mcm_protect_option(c, arg, &o->protect);
	}
}

int mcm_target_opts_check(const char *cmd, int argc, char **argv, struct mcm_target_opts *o)
{
	if (optind < argc)
		return mcm_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!o->servers)
		return mcm_cli_usage_error(cmd, "no servers given: use --servers host:port[,host:port...]");
	return mcm_protect_load(cmd, &o->protect, &o->guard);
}

int mcm_target_wants(const struct mcm_target_opts *o, const char *key, size_t key_len)
{
	return !o->prefix || (key_len >= o->prefix_len && memcmp(key, o->prefix, o->prefix_len) == 0);
}
