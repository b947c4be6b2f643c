/* journal_taker.c - a drainer faster than every call: takes over each one-record write still pending.
 *
 * usage: journal_taker DIR STOPFILE
 * Waits for DIR/journal, then follows its tail as fast as it can, and swaps every MCM_J_WRITE
 * record still pending to "taken" (mcm_journal_settle, as a drainer does when it reaches one),
 * until STOPFILE exists. It applies nothing: the shim's own drainer does. So every call that
 * appended one record sees its resolution fail, and must append its outcome instead
 * (docs/FORMAT.md §1.11); test_shim_takeover.sh checks the mirror is still exact.
 * Prints "taken N resolved M" (records it took over, and those it found resolved already).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "mcm_journal.h"
#include "mcm_store.h"

int main(int argc, char **argv)
{
	struct mcm_journal *j = NULL;
	const struct mcm_jrec *r;
	const unsigned char *p;
	struct timespec nap = {0, 1000000};
	uint64_t pos, taken = 0, resolved = 0, close;
	size_t len;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: journal_taker DIR STOPFILE\n");
		return 2;
	}
	while ((rc = mcm_journal_open(&j, argv[1], 0, 0)) == ENOENT && access(argv[2], F_OK) != 0)
		nanosleep(&nap, NULL);
	if (rc != 0) {
		fprintf(stderr, "journal_taker: %s/journal: %s\n", argv[1], rc == ENOENT ? "never made" : mcm_strerror(rc));
		return 1;
	}
	pos = mcm_journal_head(j);
	for (unsigned idle = 0; idle % 1024 != 0 || access(argv[2], F_OK) != 0;) {
		uint64_t at = pos;

		if ((rc = mcm_journal_read(j, &pos, &r, &p, &len)) == MCM_END) {
			idle++; /* (spins: the calls are in flight for tens of microseconds) */
			continue;
		}
		if (rc != 0) {
			fprintf(stderr, "journal_taker: a damaged record at %" PRIu64 "\n", at);
			return 1;
		}
		if (r->type == MCM_J_WRITE) {
			at = pos - r->len;
			if (mcm_journal_settle(j, r, at, &close))
				resolved++;
			else
				taken++;
		}
	}
	mcm_journal_close(j);
	printf("taken %" PRIu64 " resolved %" PRIu64 "\n", taken, resolved);
	return 0;
}
