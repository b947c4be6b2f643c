/* crc.c - table-driven CRC-32 and CRC-32C, and CRC-32C in hardware (see mcm_crc.h). */
#include <pthread.h>
#include <string.h>

#include "mcm_crc.h"

#define POLY_CRC32 0xedb88320u  /* IEEE 802.3, reflected */
#define POLY_CRC32C 0x82f63b78u /* Castagnoli, reflected */

static uint32_t table32[256], table32c[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void fill(uint32_t *table, uint32_t poly)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? poly ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
}

static void make_tables(void)
{
	fill(table32, POLY_CRC32);
	fill(table32c, POLY_CRC32C);
}

static uint32_t by_table(const uint32_t *table, uint32_t crc, const unsigned char *b, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t mcm_crc32(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tables_once, make_tables);
	return by_table(table32, crc, buf, len);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *b, size_t len)
{
	uint64_t c = ~crc;

	for (; len >= 8; b += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	for (; len > 0; b++, len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *b);
	return ~(uint32_t)c;
}
#endif

static uint32_t crc32c_table(uint32_t crc, const unsigned char *b, size_t len)
{
	pthread_once(&tables_once, make_tables);
	return by_table(table32c, crc, b, len);
}

uint32_t mcm_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t (*impl)(uint32_t, const unsigned char *, size_t); /* chosen at the first call */
	uint32_t (*f)(uint32_t, const unsigned char *, size_t) = __atomic_load_n(&impl, __ATOMIC_RELAXED);

	if (!f) {
		f = crc32c_table;
#if defined(__x86_64__)
		if (__builtin_cpu_supports("sse4.2"))
			f = crc32c_sse42;
#endif
		__atomic_store_n(&impl, f, __ATOMIC_RELAXED);
	}
	return f(crc, buf, len);
}
