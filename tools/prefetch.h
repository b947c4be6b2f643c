/* prefetch.h - bring the mirror's data file into the page cache ahead of a walk that reads it out of order.
 *
 * A walk in write order (replay) reads the LMDB pages in key order's
 * disorder: on a mirror that is not in the page cache (after a reboot, or
 * pages the kernel reclaimed) each record costs a random 4 kB read; 1 M
 * records of 100 bytes took 10-13 s that way here, against 1.1 s once the
 * file is read ahead in order (docs/PERFORMANCE.md). A background thread
 * asks the kernel to read the file in 4 MB chunks, in order (readahead(2):
 * nothing is copied, pages already cached cost nearly nothing), while the
 * walk runs. Best effort: nothing is prefetched when the file is larger than
 * half the memory available, or when anything fails.
 */
#ifndef MCM_PREFETCH_H
#define MCM_PREFETCH_H

#include <pthread.h>
#include <stdatomic.h>

struct mcm_prefetch {
	pthread_t thread;
	int fd;             /**< the data file, -1 when not prefetching */
	long long size;
	atomic_int stop;
};

/** Start reading dir/data.mdb ahead (or do nothing, see above). */
void mcm_prefetch_start(struct mcm_prefetch *pf, const char *dir);

/** Stop (if still running) and release. Safe after a start that did nothing. */
void mcm_prefetch_stop(struct mcm_prefetch *pf);

#endif
