/* sql_fill.c - write a few records into a mirror through the store API (external-store tests).
 *
 * usage: sql_fill DIR SERVERS OP...
 *   Applies each OP, in order and each in its own transaction, to the pool
 *   whose canonical server list is SERVERS:
 *     set:KEY=VALUE     the server holds VALUE (flags 7, no expiry)
 *     ttl:KEY=VALUE     the same, expiring in 100 s
 *     del:KEY           the key was deleted
 *     drop:KEY          the outcome of a write was unknown
 *     flush             flush_all
 *     flushat:SECONDS   flush_all with a delay
 *     many:PREFIX:N     N sets "PREFIX<i>" = "v<i>" in one transaction
 *     big:PREFIX:N:SIZE N sets "PREFIX<i>" of SIZE bytes each (every byte value)
 *     at:US:KEY=VALUE   the server holds VALUE, written at US microseconds since the epoch
 *     delat:US:KEY      the key was deleted at US (both through MCM_OP_RESTORE: an exact write time)
 *     putat:US:KEY=VALUE a set stamped US (as a host whose clock stepped back would record it)
 *   Exit 0, 1 on a store error, 2 on a bad OP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_pool.h"
#include "mcm_store.h"

static struct mcm_pool pool;

static struct mcm_mutation mut(enum mcm_op op, const char *key, size_t key_len)
{
	struct mcm_mutation m;

	memset(&m, 0, sizeof m);
	m.op = op;
	m.pool = &pool;
	m.key = key;
	m.key_len = key_len;
	return m;
}

static int many(struct mcm_store *st, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	unsigned long n = colon ? strtoul(colon + 1, NULL, 10) : 0;
	struct mcm_mutation *m = calloc(n ? n : 1, sizeof *m);
	char (*keys)[64] = calloc(n ? n : 1, sizeof *keys), (*vals)[32] = calloc(n ? n : 1, sizeof *vals);
	int rc;

	if (!colon || !m || !keys || !vals)
		return 2;
	for (unsigned long i = 0; i < n; i++) {
		int kl = snprintf(keys[i], sizeof keys[i], "%.*s%lu", (int)(colon - spec), spec, i);
		int vl = snprintf(vals[i], sizeof vals[i], "v%lu", i);

		m[i] = mut(MCM_OP_PUT, keys[i], (size_t)kl);
		m[i].value = vals[i];
		m[i].value_len = (size_t)vl;
	}
	rc = mcm_store_apply(st, m, n);
	free(m);
	free(keys);
	free(vals);
	return rc ? 1 : 0;
}

static int big(struct mcm_store *st, const char *spec)
{
	char prefix[64], key[96], *value;
	unsigned long n, size;
	int rc = 0;

	if (sscanf(spec, "%63[^:]:%lu:%lu", prefix, &n, &size) != 3 || !(value = malloc(size ? size : 1)))
		return 2;
	for (unsigned long i = 0; rc == 0 && i < n; i++) {
		struct mcm_mutation m = mut(MCM_OP_PUT, key, (size_t)snprintf(key, sizeof key, "%s%lu", prefix, i));

		for (unsigned long j = 0; j < size; j++)
			value[j] = (char)(i * 31 + j * 7);
		m.value = value;
		m.value_len = size;
		rc = mcm_store_apply(st, &m, 1) ? 1 : 0;
	}
	free(value);
	return rc;
}

static int apply_op(struct mcm_store *st, const char *op)
{
	const char *arg = strchr(op, ':'), *eq;
	struct mcm_mutation m;
	int rc;

	if (strcmp(op, "flush") == 0) {
		m = mut(MCM_OP_FLUSH, "", 0);
		m.group = m.value = "";
	} else if (strncmp(op, "flushat:", 8) == 0) {
		m = mut(MCM_OP_FLUSH, "", 0);
		m.group = m.value = "";
		m.exptime = (int64_t)time(NULL) + atoi(op + 8);
	} else if (strncmp(op, "many:", 5) == 0) {
		return many(st, op + 5);
	} else if (strncmp(op, "big:", 4) == 0) {
		return big(st, op + 4);
	} else if (strncmp(op, "putat:", 6) == 0 && (arg = strchr(arg + 1, ':')) && (eq = strchr(arg, '='))) {
		m = mut(MCM_OP_PUT, arg + 1, (size_t)(eq - arg - 1));
		m.wtime_us = strtoull(op + 6, NULL, 10);
		m.value = eq + 1;
		m.value_len = strlen(eq + 1);
	} else if ((strncmp(op, "at:", 3) == 0 || strncmp(op, "delat:", 6) == 0) && (arg = strchr(arg + 1, ':'))) {
		int del = op[0] == 'd';
		uint64_t us = strtoull(op + (del ? 6 : 3), NULL, 10);

		eq = del ? arg + strlen(arg) : strchr(arg, '=');
		if (!eq)
			return 2;
		m = mut(MCM_OP_RESTORE, arg + 1, (size_t)(eq - arg - 1));
		m.kind = del ? MCM_KIND_DELETED : MCM_KIND_VALUE;
		m.wtime_us = us;
		m.flags = 9;
		if (!del) {
			m.value = eq + 1;
			m.value_len = strlen(eq + 1);
		}
	} else if (arg && (strncmp(op, "set:", 4) == 0 || strncmp(op, "ttl:", 4) == 0) && (eq = strchr(arg, '='))) {
		m = mut(MCM_OP_PUT, arg + 1, (size_t)(eq - arg - 1));
		m.value = eq + 1;
		m.value_len = strlen(eq + 1);
		m.flags = 7;
		m.exptime = op[0] == 't' ? (int64_t)time(NULL) + 100 : 0;
	} else if (arg && strncmp(op, "del:", 4) == 0) {
		m = mut(MCM_OP_DELETE, arg + 1, strlen(arg + 1));
	} else if (arg && strncmp(op, "drop:", 5) == 0) {
		m = mut(MCM_OP_DROP, arg + 1, strlen(arg + 1));
	} else {
		return 2;
	}
	if ((rc = mcm_store_apply(st, &m, 1)) != 0) {
		fprintf(stderr, "sql_fill: '%s': %s\n", op, mcm_strerror(rc));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mcm_store *st;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: sql_fill DIR SERVERS OP...\n");
		return 2;
	}
	snprintf(pool.servers, sizeof pool.servers, "%s", argv[2]);
	pool.id = mcm_pool_id_of(pool.servers, strlen(pool.servers));
	if ((rc = mcm_store_open(&st, argv[1], MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0)) != 0) {
		fprintf(stderr, "sql_fill: cannot open '%s': %s\n", argv[1], mcm_strerror(rc));
		return 1;
	}
	for (int i = 3; i < argc; i++)
		if ((rc = apply_op(st, argv[i])) != 0) {
			if (rc == 2)
				fprintf(stderr, "sql_fill: bad op '%s'\n", argv[i]);
			break;
		}
	mcm_store_close(st);
	return rc;
}
