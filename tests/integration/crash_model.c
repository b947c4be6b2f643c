/* crash_model.c - the kill test's operation sequence and state file (see crash_model.h). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash_model.h"

uint64_t crash_mix(uint64_t i)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

size_t crash_key(uint64_t i, uint64_t nkeys, char *buf)
{
	return (size_t)snprintf(buf, CRASH_KEY_MAX, "crash:%" PRIu64, i % nkeys);
}

int crash_is_delete(uint64_t i)
{
	return crash_mix(i) % 8 == 0;
}

size_t crash_value(uint64_t i, char *buf)
{
	size_t len = (size_t)snprintf(buf, CRASH_VALUE_MAX, "i=%" PRIu64 ";", i);
	size_t want = 16 + (size_t)(crash_mix(i) >> 8) % 300;

	while (len < want) {
		buf[len] = (char)('a' + (i + len) % 26);
		len++;
	}
	buf[len] = '\0';
	return len;
}

uint32_t crash_flags(uint64_t i)
{
	return (uint32_t)(crash_mix(i) >> 32);
}

int64_t crash_value_index(const char *value, size_t len)
{
	char want[CRASH_VALUE_MAX];
	uint64_t i = 0;
	size_t p = 2;

	if (len < 4 || len >= CRASH_VALUE_MAX || memcmp(value, "i=", 2) != 0)
		return -1;
	while (p < len && value[p] >= '0' && value[p] <= '9' && p < 22)
		i = i * 10 + (uint64_t)(value[p++] - '0');
	if (p == 2 || p >= len || value[p] != ';')
		return -1;
	if (crash_value(i, want) != len || memcmp(want, value, len) != 0)
		return -1;
	return (int64_t)i;
}

struct crash_state *crash_state_map(const char *path)
{
	struct crash_state *s;
	struct stat sb;
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (sb.st_size < (off_t)sizeof *s && ftruncate(fd, sizeof *s) != 0) {
		close(fd);
		return NULL;
	}
	s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED)
		return NULL;
	if (sb.st_size < (off_t)sizeof *s)
		s->acked = -1;
	return s;
}
