/* prefetch.c - read the mirror's data file ahead, in order, from a background thread (readahead(2)). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prefetch.h"

#define CHUNK ((long long)4 << 20)

/* MemAvailable of /proc/meminfo in bytes, or 0 when unknown. */
static long long mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static void *run(void *arg)
{
	struct mcm_prefetch *pf = arg;

	for (long long off = 0; off < pf->size && !atomic_load(&pf->stop); off += CHUNK)
		if (readahead(pf->fd, off, (size_t)CHUNK) != 0)
			break;
	return NULL;
}

void mcm_prefetch_start(struct mcm_prefetch *pf, const char *dir)
{
	char path[4096];
	struct stat st;
	sigset_t all, old;
	int rc;

	pf->fd = -1;
	atomic_init(&pf->stop, 0);
	if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
		return;
	if ((pf->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fstat(pf->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (long long)st.st_size > mem_available() / 2) {
		close(pf->fd);
		pf->fd = -1;
		return;
	}
	pf->size = (long long)st.st_size;
	sigfillset(&all); /* signals stay with the main thread (its poll sees EINTR) */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&pf->thread, NULL, run, pf);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(pf->fd);
		pf->fd = -1;
	}
}

void mcm_prefetch_stop(struct mcm_prefetch *pf)
{
	if (pf->fd < 0)
		return;
	atomic_store(&pf->stop, 1);
	pthread_join(pf->thread, NULL);
	close(pf->fd);
	pf->fd = -1;
}
