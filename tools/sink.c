/* sink.c - the table of follow's backends (sink.h): which one takes a target. */
#include <stddef.h>

#include "sink.h"

static const struct mcm_sink_ops *const sinks[] = {
#ifdef MCM_HAVE_PG
	&mcm_sink_pg,
#endif
#ifdef MCM_HAVE_MYSQL
	&mcm_sink_mysql,
#endif
	&mcm_sink_memcached, /* last: it takes whatever is not a URL */
};

const struct mcm_sink_ops *mcm_sink_find(const char *target)
{
	for (size_t i = 0; i < sizeof sinks / sizeof sinks[0]; i++)
		if (sinks[i]->claims(target))
			return sinks[i];
	return NULL;
}
