/* expiry.c - memcached's expiration arithmetic (rules in mcm_expiry.h). */
#include "mcm_expiry.h"

int64_t mcm_expiry_absolute(int64_t exptime, int binary, int64_t now)
{
	int64_t e;

	if (binary) {
		e = (int64_t)(uint32_t)exptime; /* the binary header field is 32 bits */
	} else {
		e = (int64_t)(int32_t)(uint32_t)exptime; /* the server's int32 parse */
		if (e < 0)
			return MCM_EXPIRED_AT_ONCE;
	}
	if (e == 0)
		return 0;
	if (e <= MCM_REALTIME_MAXDELTA)
		return now + e;
	if (e <= now) /* an absolute time already past */
		return MCM_EXPIRED_AT_ONCE;
	return e;
}

int mcm_expiry_passed(int64_t abs, int64_t now)
{
	return abs != 0 && abs <= now;
}

int64_t mcm_expiry_ttl(int64_t abs, int64_t now)
{
	if (abs == 0)
		return 0;
	if (abs <= now)
		return -1;
	if (abs - now <= MCM_REALTIME_MAXDELTA)
		return abs - now;
	return abs;
}
