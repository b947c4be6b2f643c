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
/* Continue the inverted CRC c over b: four words per round (the instruction's
 * latency hides the loop's), then words, then bytes. */
__attribute__((target("sse4.2"))) static inline uint64_t sse42_run(uint64_t c, const unsigned char *b, size_t len)
{
	uint64_t w[4];

	for (; len >= 32; b += 32, len -= 32) {
		memcpy(w, b, 32);
		c = __builtin_ia32_crc32di(c, w[0]);
		c = __builtin_ia32_crc32di(c, w[1]);
		c = __builtin_ia32_crc32di(c, w[2]);
		c = __builtin_ia32_crc32di(c, w[3]);
	}
	for (; len >= 8; b += 8, len -= 8) {
		memcpy(w, b, 8);
		c = __builtin_ia32_crc32di(c, w[0]);
	}
	if (len & 4) { /* at most seven bytes left: a word of each size, no loop */
		uint32_t h;
		memcpy(&h, b, 4);
		c = __builtin_ia32_crc32si((uint32_t)c, h);
		b += 4;
	}
	if (len & 2) {
		uint16_t h;
		memcpy(&h, b, 2);
		c = __builtin_ia32_crc32hi((uint32_t)c, h);
		b += 2;
	}
	if (len & 1)
		c = __builtin_ia32_crc32qi((uint32_t)c, *b);
	return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *b, size_t len)
{
	return ~(uint32_t)sse42_run(~crc, b, len);
}

__attribute__((target("sse4.2"))) static uint32_t parts_sse42(uint32_t crc, const unsigned char *a, size_t alen,
								 const unsigned char *b, size_t blen, uint64_t word)
{
	uint64_t c = sse42_run(~crc, a, alen);

	c = sse42_run(c, b, blen);
	return ~(uint32_t)__builtin_ia32_crc32di(c, word);
}
#endif

static uint32_t crc32c_table(uint32_t crc, const unsigned char *b, size_t len)
{
	pthread_once(&tables_once, make_tables);
	return by_table(table32c, crc, b, len);
}

static uint32_t parts_table(uint32_t crc, const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
			    uint64_t word)
{
	crc = crc32c_table(crc, a, alen);
	crc = crc32c_table(crc, b, blen);
	return crc32c_table(crc, (const unsigned char *)&word, sizeof word);
}

/* The implementations, chosen at the first call. */
static uint32_t (*impl)(uint32_t, const unsigned char *, size_t);
static uint32_t (*impl_parts)(uint32_t, const unsigned char *, size_t, const unsigned char *, size_t, uint64_t);

static void choose(void)
{
	uint32_t (*f)(uint32_t, const unsigned char *, size_t) = crc32c_table;
	uint32_t (*g)(uint32_t, const unsigned char *, size_t, const unsigned char *, size_t, uint64_t) = parts_table;

#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2")) {
		f = crc32c_sse42;
		g = parts_sse42;
	}
#endif
	__atomic_store_n(&impl_parts, g, __ATOMIC_RELAXED);
	__atomic_store_n(&impl, f, __ATOMIC_RELAXED);
}

uint32_t mcm_crc32c(uint32_t crc, const void *buf, size_t len)
{
	uint32_t (*f)(uint32_t, const unsigned char *, size_t) = __atomic_load_n(&impl, __ATOMIC_RELAXED);

	if (!f) {
		choose();
		f = impl;
	}
	return f(crc, buf, len);
}

uint32_t mcm_crc32c_parts(uint32_t crc, const void *a, size_t alen, const void *b, size_t blen, uint64_t word)
{
	uint32_t (*g)(uint32_t, const unsigned char *, size_t, const unsigned char *, size_t, uint64_t) =
		__atomic_load_n(&impl_parts, __ATOMIC_RELAXED);

	if (!g) {
		choose();
		g = impl_parts;
	}
	return g(crc, a, alen, b, blen, word);
}
