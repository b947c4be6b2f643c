/* fork_quiet.h - in the ThreadSanitizer build only: before a test process whose shim drainer runs
 * forks, wait until that drainer has applied the journal and gone to sleep.
 *
 * gcc 12's TSan runtime does not hold its allocator's locks across fork(): a child forked while
 * another thread of the parent is inside malloc (the drainer is, at every step: LMDB allocates its
 * transactions) can block for good at its first allocation. Seen in CI: a shim_forks child stuck
 * in fdopen's malloc, in __sanitizer::Mutex::Lock, with the parent's drainer mid-step at the fork.
 * (gcc's ASan has the same flaw; the ASan build skips these tests.) glibc's malloc is fork-safe,
 * so every other build forks at any moment, as a host does; under TSan the tests fork once the
 * drainer is idle, which keeps what TSan checks (the children's threads and drainers) without the
 * runtime's own deadlock. Reads MCMIRROR_PATH's journal header; gives up waiting after 10 s.
 */
#ifndef MCM_FORK_QUIET_H
#define MCM_FORK_QUIET_H

#if defined(__SANITIZE_THREAD__)
#define MCM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MCM_TEST_TSAN 1
#endif
#endif

#ifdef MCM_TEST_TSAN
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mcm_journal.h"

static void fork_quiet(void)
{
	const char *dir = getenv("MCMIRROR_PATH");
	struct timespec ms = {0, 1000000L}, settle = {0, 50 * 1000000L};
	struct mcm_jheader h;
	char path[4096];
	int fd;

	if (!dir || snprintf(path, sizeof path, "%s/journal", dir) >= (int)sizeof path ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	for (int i = 0; i < 10000; i++) {
		if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.head == h.tail)
			break;
		nanosleep(&ms, NULL);
	}
	close(fd);
	nanosleep(&settle, NULL); /* its commit and sync done, it naps */
}
#else
static inline void fork_quiet(void)
{
}
#endif

#endif
