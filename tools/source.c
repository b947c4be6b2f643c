/* source.c - the table of external-store sources (source.h): which backend reads a URL. */
#include <stddef.h>

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
