/* follow_die.c - a preloaded test library: kill the process (SIGKILL) right after a chosen flush_all.
 *
 * For the follow tests: `mcmirror follow` killed -9 at the moment its standby
 * confirmed the Nth flush_all the process sent (MCM_DIE_AFTER_FLUSH=N,
 * counted from 1), before it does anything else. It watches send() for a
 * text-protocol "flush_all" and kills itself in the recv() on that socket that
 * brings the answer ("OK"). Without the variable it only passes calls on.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static int flushes, watched_fd = -1;

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);
	const char *n = getenv("MCM_DIE_AFTER_FLUSH");
	ssize_t r;

	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
	r = real(fd, buf, len, flags);
	if (n && r > 0 && memmem(buf, (size_t)r, "flush_all", 9) && ++flushes == atoi(n))
		watched_fd = fd;
	return r;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, void *, size_t, int);
	ssize_t r;

	if (!real)
		real = (ssize_t(*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
	r = real(fd, buf, len, flags);
	if (fd == watched_fd && r > 0 && memmem(buf, (size_t)r, "OK\r\n", 4))
		kill(getpid(), SIGKILL);
	return r;
}
