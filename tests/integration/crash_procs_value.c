/* crash_procs_value.c - the values of the concurrency test (see crash_procs.h). */
#include <stdio.h>

#include "crash_procs.h"

size_t crash_procs_value(int p, int t, long i, char *buf)
{
	size_t len = (size_t)snprintf(buf, CONC_VALUE_MAX, "v%d:%d:%ld;", p, t, i);
	size_t want = 20 + (size_t)(i * 7 + p * 3 + t) % 100;

	while (len < want) {
		buf[len] = (char)('A' + (len + (size_t)i) % 26);
		len++;
	}
	buf[len] = '\0';
	return len;
}
