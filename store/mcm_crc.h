/* mcm_crc.h - the two CRCs mcmirror uses: CRC-32 (dump files) and CRC-32C (journal records). */
#ifndef MCM_CRC_H
#define MCM_CRC_H

#include <stddef.h>
#include <stdint.h>

/** CRC-32 (IEEE 802.3, as zlib and `cksum -a crc32b`), continued from crc;
 * start with 0. mcm_crc32(0, "123456789", 9) is 0xcbf43926. */
uint32_t mcm_crc32(uint32_t crc, const void *buf, size_t len);

/** CRC-32C (Castagnoli, as iSCSI and ext4), continued from crc; start with 0.
 * Uses the SSE4.2 instruction where the CPU has it (a few cycles per 8
 * bytes). mcm_crc32c(0, "123456789", 9) is 0xe3069283. */
uint32_t mcm_crc32c(uint32_t crc, const void *buf, size_t len);

/** CRC-32C continued from crc over a (alen bytes), then b (blen bytes), then
 * the 8 bytes of word as they lie in memory: in one call, for records whose
 * checksum covers a header, a body and a position (the journal's). */
uint32_t mcm_crc32c_parts(uint32_t crc, const void *a, size_t alen, const void *b, size_t blen, uint64_t word);

#endif
