/* journal_restart.c - make a mirror's journal look as a power loss leaves it.
 *
 * usage: journal_restart DIR
 * The records after the journal's synced position (what MCMIRROR_SYNC=always
 * flushed) or its reclaim position (what LMDB holds), whichever is further,
 * are made unreadable, as records that never reached the disk, and
 * the journal is marked as written by an earlier boot of the machine, so that
 * the next open recovers it (docs/DURABILITY.md). LMDB is left as it is.
 * Prints "kept=K tail=T" on stdout; exits 1 on error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcm_journal.h"

int main(int argc, char **argv)
{
	char path[4096];
	struct mcm_jheader *h;
	struct stat sb;
	uint64_t from;
	int fd;

	if (argc != 2 || snprintf(path, sizeof path, "%s/journal", argv[1]) >= (int)sizeof path) {
		fprintf(stderr, "usage: journal_restart DIR\n");
		return 2;
	}
	if ((fd = open(path, O_RDWR)) < 0 && errno == ENOENT) {
		printf("no journal yet\n"); /* the writer was killed before its first write */
		return 0;
	}
	if (fd < 0 || fstat(fd, &sb) != 0) {
		perror(path);
		return 1;
	}
	h = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED || h->magic != MCM_JOURNAL_MAGIC) {
		fprintf(stderr, "journal_restart: %s is not a journal\n", path);
		return 1;
	}
	from = h->synced > h->reclaim ? h->synced : h->reclaim;
	if (from < h->tail) { /* tear the first record after it: the recovery keeps nothing after */
		unsigned char *ring = (unsigned char *)h + 4096;
		size_t at = (size_t)(from % h->size);
		if (h->size - at >= sizeof(struct mcm_jrec))
			((struct mcm_jrec *)(ring + at))->crc ^= 0x5a5a5a5au;
	}
	printf("kept=%llu tail=%llu\n", (unsigned long long)from, (unsigned long long)h->tail);
	strcpy(h->boot_id, "an-earlier-boot");
	munmap(h, (size_t)sb.st_size);
	return 0;
}
