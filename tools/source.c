/* source.c - the table of external-store sources (source.h): which backend reads a URL. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mcmirror.h"
#include "source.h"
#include "sqlbatch.h"
#include "target.h"

static const struct mcm_source_ops *const sources[] = {
#ifdef MCM_HAVE_PG
	&mcm_source_pg,
#endif
#ifdef MCM_HAVE_MYSQL
	&mcm_source_mysql,
#endif
	NULL,
};

const struct mcm_source_ops *mcm_source_find(const char *url)
{
	for (size_t i = 0; sources[i]; i++)
		if (sources[i]->claims(url))
			return sources[i];
	return NULL;
}

const char *mcm_source_unknown(const char *url)
{
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		return "this mcmirror was built without PostgreSQL support (Debian: libpq-dev, then build again)";
	if (strncmp(url, "mysql://", 8) == 0 || strncmp(url, "mariadb://", 10) == 0)
		return "this mcmirror was built without MariaDB/MySQL support (Debian: libmariadb-dev, then build again)";
	return "not a URL mcmirror reads (postgresql://..., mysql://..., mariadb://...)";
}

int mcm_source_connect(const char *cmd, const char *url, int timeout_ms, const struct mcm_source_ops **ops,
		       struct mcm_source **src)
{
	struct mcm_source_opts so = {.cmd = cmd, .timeout_ms = timeout_ms};
	char why[1024];

	*src = NULL;
	if (!(*ops = mcm_source_find(url))) {
		mcm_sql_redact(url, why, sizeof why);
		return mcm_cli_usage_error(cmd, "--from '%s': %s", why, mcm_source_unknown(url));
	}
	if ((*ops)->open(src, url, &so, why, sizeof why) != 0) {
		mcm_cli_error(cmd, "%s", why);
		*src = NULL;
		return MCM_EXIT_FAIL;
	}
	return 0;
}

int mcm_source_pick_pool(const char *cmd, const struct mcm_source_ops *ops, struct mcm_source *src,
			 const struct mcm_target *t, const mcm_pool_id *want, struct mcm_pool *out)
{
	struct mcm_pool *pools;
	size_t n;
	char why[1024];
	int rc;

	if (ops->pools(src, &pools, &n, why, sizeof why) != 0) {
		mcm_cli_error(cmd, "%s", why);
		return MCM_EXIT_FAIL;
	}
	rc = mcm_target_pick_pool_in(t, pools, n, ops->describe(src), cmd, want, out);
	free(pools);
	return rc;
}
