/* mcm_expiry.h - memcached's expiration rules, as the server applies them.
 *
 * libmemcached passes a time_t through unchanged: as decimal text over the
 * ASCII protocol, which the server parses as a 32-bit signed number (values
 * wrap), or cast to uint32 over the binary protocol. The server then reads
 * 0 as "never", 1..2592000 (30 days) as relative seconds and anything larger
 * as an absolute Unix time; a negative ASCII value expires the item at once.
 * See ../shared/docs/libmemcached-client-api.md section 4.
 */
#ifndef MCM_EXPIRY_H
#define MCM_EXPIRY_H

#include <stdint.h>

/** memcached's REALTIME_MAXDELTA: the largest relative expiration. */
#define MCM_REALTIME_MAXDELTA 2592000

/** Absolute expiry representing "already expired" (a moment in 1970). */
#define MCM_EXPIRED_AT_ONCE 1

/** The absolute expiry (Unix seconds, 0 = never) the server gives an item
 * written now with expiration exptime.
 * @param[in] exptime the time_t the application passed
 * @param[in] binary  nonzero for the binary protocol
 * @param[in] now     the current Unix time
 * @return 0 (never), MCM_EXPIRED_AT_ONCE, or an absolute time. */
int64_t mcm_expiry_absolute(int64_t exptime, int binary, int64_t now);

/** Is an item with absolute expiry abs gone at time now? */
int mcm_expiry_passed(int64_t abs, int64_t now);

/** Seconds to live to send when writing the item at time now: 0 for never,
 * -1 when it has already expired, else at least 1. Never more than
 * MCM_REALTIME_MAXDELTA is returned as relative: longer lives are returned
 * as the absolute time (which the server reads as such). */
int64_t mcm_expiry_ttl(int64_t abs, int64_t now);

#endif
