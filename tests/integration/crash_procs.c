/* crash_procs.c - the concurrency test's application: forked processes with threads, like php-fpm.
 *
 * usage: crash_procs hold SERVERS
 *        crash_procs run SERVERS DIR PROCS THREADS OPS
 * libmemcached only (it runs under the shim).
 * hold: one set, then sleep until killed (its drainer holds the drain lock).
 * run: the parent makes a first write (the shim starts in it), then forks
 *   PROCS children; each waits for the file DIR/go (when DIR/wait-go exists),
 *   runs THREADS threads of OPS writes (crash_procs.h), creates DIR/done.<p>
 *   and, when DIR/wait-quit exists, waits for DIR/quit before it exits. The
 *   parent writes its pid to DIR/parent.pid once they are forked, and waits for them;
 *   exit 0 when every write succeeded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

#include "crash_procs.h"
#include "fork_quiet.h"

static const char *servers, *dir;
static long ops;

static memcached_st *connect_to(void)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	return mc;
}

static int set(memcached_st *mc, const char *key, const char *value, size_t len, uint32_t flags)
{
	memcached_return_t rc = memcached_set(mc, key, strlen(key), value, len, 0, flags);

	if (rc != MEMCACHED_SUCCESS)
		fprintf(stderr, "crash_procs: set '%s': %s\n", key, memcached_strerror(mc, rc));
	return rc == MEMCACHED_SUCCESS ? 0 : -1;
}

static int exists(const char *name)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void wait_for(const char *name)
{
	struct timespec ts = {0, 5 * 1000000L};

	while (!exists(name))
		nanosleep(&ts, NULL);
}

static void touch(const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")))
		fclose(f);
}

struct worker {
	int p, t, failed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	memcached_st *mc = connect_to();
	char key[64], value[CONC_VALUE_MAX];

	for (long i = 0; i < ops && !w->failed; i++) {
		size_t len = crash_procs_value(w->p, w->t, i, value);
		if (crash_procs_shared(i))
			snprintf(key, sizeof key, "conc:s:%ld", (i / 10) % CONC_SHARED);
		else
			snprintf(key, sizeof key, "conc:d:%d:%d:%ld", w->p, w->t, i % CONC_KEYS);
		w->failed = set(mc, key, value, len, (uint32_t)i) != 0;
	}
	memcached_free(mc);
	return NULL;
}

static int child(int p, int threads)
{
	struct worker w[16];
	pthread_t tid[16];
	char name[32];
	int failed = 0;

	if (exists("wait-go"))
		wait_for("go");
	for (int t = 0; t < threads; t++) {
		w[t] = (struct worker){p, t, 0};
		pthread_create(&tid[t], NULL, worker_main, &w[t]);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		failed |= w[t].failed;
	}
	snprintf(name, sizeof name, "done.%d", p);
	touch(name);
	if (exists("wait-quit"))
		wait_for("quit");
	return failed;
}

int main(int argc, char **argv)
{
	memcached_st *mc;
	int procs, threads, status, failed = 0;
	FILE *f;
	char path[4096];

	if (argc == 3 && strcmp(argv[1], "hold") == 0) {
		servers = argv[2];
		if (set(mc = connect_to(), "conc:holder", "h", 1, 0) != 0)
			return 1;
		for (;;)
			pause();
	}
	if (argc != 7 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: crash_procs hold SERVERS | run SERVERS DIR PROCS THREADS OPS\n");
		return 2;
	}
	servers = argv[2];
	dir = argv[3];
	procs = atoi(argv[4]);
	threads = atoi(argv[5]);
	ops = atol(argv[6]);
	if (procs < 1 || threads < 1 || threads > 16 || ops < 1)
		return 2;
	mc = connect_to();
	if (set(mc, "conc:parent", "p", 1, 7) != 0) /* the shim starts here, before the fork */
		return 1;
	fork_quiet();
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();
		if (pid == 0)
			exit(child(p, threads)); /* exit, not _exit: a php-fpm worker runs its destructors */
		if (pid < 0)
			return 1;
	}
	snprintf(path, sizeof path, "%s/parent.pid", dir);
	if ((f = fopen(path, "w"))) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	memcached_free(mc);
	return failed;
}
