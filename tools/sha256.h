/* sha256.h - SHA-256 (FIPS 180-4) of a byte stream, for the CHECKSUM file of `mcmirror snapshot`.
 *
 * Written from the standard; the output is the one of sha256sum(1), so a
 * snapshot can be checked without mcmirror: `cd SNAP && sha256sum -c CHECKSUM`.
 */
#ifndef MCM_SHA256_H
#define MCM_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct mcm_sha256 {
	uint32_t h[8];
	uint64_t bytes;          /**< message length so far */
	unsigned char block[64]; /**< a partial block */
	size_t fill;
};

/** Start a digest. */
void mcm_sha256_init(struct mcm_sha256 *s);

/** Add len bytes. */
void mcm_sha256_update(struct mcm_sha256 *s, const void *buf, size_t len);

/** Finish: the digest as 64 lower-case hex digits and a terminator. */
void mcm_sha256_hex(struct mcm_sha256 *s, char out[65]);

#endif
