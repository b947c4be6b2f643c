/* counters.c - the shim's shared counters file (see mcm_counters.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcm_counters.h"
#include "mcm_store.h"

#define COUNTERS_MAGIC 0x314d43524d434d00ULL /* "\0MCMRCM1" */
#define COUNTERS_SLOTS 32

struct mcm_counters {
	uint64_t *slots; /* [0] magic, [1..] counters */
};

const char *const mcm_counter_names[MCM_CTR_COUNT] = {
	[MCM_CTR_RECORDED] = "recorded",
	[MCM_CTR_UNCERTAIN] = "dropped_uncertain",
	[MCM_CTR_FAILED] = "failed",
	[MCM_CTR_ENCRYPTED] = "skipped_encrypted",
	[MCM_CTR_SKIPPED] = "passed_through",
	[MCM_CTR_MAP_GROWN] = "map_grown",
	[MCM_CTR_LOST_DROPS] = "lost_drops",
	[MCM_CTR_OUT_OF_STEP] = "out_of_step",
};

int mcm_counters_open(struct mcm_counters **out, const char *dir, int create)
{
	char path[PATH_MAX];
	size_t size = COUNTERS_SLOTS * sizeof(uint64_t);
	struct mcm_counters *c;
	struct stat sb;
	void *map;
	int fd, err;

	*out = NULL;
	if (snprintf(path, sizeof path, "%s/counters", dir) >= (int)sizeof path)
		return ENAMETOOLONG;
	fd = open(path, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	if (fstat(fd, &sb) != 0 || (create && (size_t)sb.st_size < size && ftruncate(fd, (off_t)size) != 0)) {
		err = errno;
		close(fd);
		return err;
	}
	if (!create && (size_t)sb.st_size < size) {
		close(fd);
		return MCM_EFORMAT;
	}
	map = mmap(NULL, size, create ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (map == MAP_FAILED)
		return err;
	c = malloc(sizeof *c);
	if (!c) {
		munmap(map, size);
		return ENOMEM;
	}
	c->slots = map;
	if (create) {
		uint64_t zero = 0;
		__atomic_compare_exchange_n(&c->slots[0], &zero, COUNTERS_MAGIC, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	}
	if (__atomic_load_n(&c->slots[0], __ATOMIC_RELAXED) != COUNTERS_MAGIC) {
		mcm_counters_close(c);
		return MCM_EFORMAT;
	}
	*out = c;
	return 0;
}

void mcm_counters_close(struct mcm_counters *c)
{
	if (!c)
		return;
	munmap(c->slots, COUNTERS_SLOTS * sizeof(uint64_t));
	free(c);
}

void mcm_counters_add(struct mcm_counters *c, enum mcm_counter which, uint64_t n)
{
	if (c && which < MCM_CTR_COUNT)
		__atomic_fetch_add(&c->slots[1 + which], n, __ATOMIC_RELAXED);
}

uint64_t mcm_counters_get(const struct mcm_counters *c, enum mcm_counter which)
{
	if (!c || which >= MCM_CTR_COUNT)
		return 0;
	return __atomic_load_n(&c->slots[1 + which], __ATOMIC_RELAXED);
}
