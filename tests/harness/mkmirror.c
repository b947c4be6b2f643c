/* mkmirror.c - fill a mirror with generated records through the store API (test and bench fixture).
 *
 * usage: mkmirror DIR SERVERS COUNT [VALUE_SIZE [TTL [PREFIX]]]
 *   Writes COUNT items "PREFIX%08u" (default prefix "key:") to pool SERVERS
 *   (a canonical list such as "127.0.0.1:11211"), values of VALUE_SIZE bytes
 *   (default 100) whose content is derived from the index (every 8th value
 *   holds binary bytes: NUL, CR, LF), flags = index * 2654435761, expiry
 *   TTL seconds from now (default 0 = never). Batches of 1000 per transaction.
 *   The value of item i is mkmirror_value(i, size): tests recompute it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcm_pool.h"
#include "mcm_store.h"

#define BATCH 1000

static void make_value(unsigned i, char *buf, size_t size)
{
	for (size_t j = 0; j < size; j++)
		buf[j] = (char)('a' + (i + j) % 26);
	if (i % 8 == 0 && size >= 3) {
		buf[0] = '\0';
		buf[1] = '\r';
		buf[2] = '\n';
	}
}

int main(int argc, char **argv)
{
	struct mcm_store *st;
	struct mcm_pool pool;
	struct mcm_mutation *m;
	char (*keys)[64];
	char *values;
	unsigned long count, size, i;
	long ttl;
	const char *prefix;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: mkmirror DIR SERVERS COUNT [VALUE_SIZE [TTL [PREFIX]]]\n");
		return 2;
	}
	count = strtoul(argv[3], NULL, 10);
	size = argc > 4 ? strtoul(argv[4], NULL, 10) : 100;
	ttl = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
	prefix = argc > 6 ? argv[6] : "key:";
	memset(&pool, 0, sizeof pool);
	snprintf(pool.servers, sizeof pool.servers, "%s", argv[2]);
	pool.id = mcm_pool_id_of(pool.servers, strlen(pool.servers));
	if ((rc = mcm_store_open(&st, argv[1], MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0)) != 0) {
		fprintf(stderr, "mkmirror: cannot open '%s': %s\n", argv[1], mcm_strerror(rc));
		return 1;
	}
	m = calloc(BATCH, sizeof *m);
	keys = calloc(BATCH, sizeof *keys);
	values = malloc(BATCH * (size ? size : 1));
	if (!m || !keys || !values)
		return 1;
	for (i = 0; i < count;) {
		size_t n = 0;
		for (; n < BATCH && i < count; n++, i++) {
			m[n].op = MCM_OP_PUT;
			m[n].pool = &pool;
			m[n].key_len = (size_t)snprintf(keys[n], sizeof keys[n], "%s%08lu", prefix, i);
			m[n].key = keys[n];
			m[n].value = values + n * size;
			m[n].value_len = size;
			make_value((unsigned)i, values + n * size, size);
			m[n].flags = (uint32_t)(i * 2654435761u);
			m[n].exptime = ttl ? (int64_t)time(NULL) + ttl : 0;
		}
		if ((rc = mcm_store_apply(st, m, n)) != 0) {
			fprintf(stderr, "mkmirror: write failed: %s\n", mcm_strerror(rc));
			return 1;
		}
	}
	mcm_store_sync(st);
	mcm_store_close(st);
	free(m);
	free(keys);
	free(values);
	return 0;
}
