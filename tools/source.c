/* source.c - the table of external-store sources (source.h): which backend reads a URL. */
#include <stddef.h>
#include <string.h>

#include "source.h"

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
