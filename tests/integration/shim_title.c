/* shim_title.c - a host that sets its process title the way PostgreSQL (ps_status.c) and php-fpm
 * (fpm_env.c) do, then writes through libmemcached: the shim must mirror it all the same.
 *
 * usage: shim_title KEYS SERVER N
 *   Setting a title: environ is copied to the heap, then the block that held the argv and
 *   environment strings is zeroed and the title written over its start. Any pointer a preloaded
 *   library kept from getenv() now points at the title or at zeros.
 *   The program forks an "early" child before its first title (a postmaster forks helpers before
 *   and after); then it sets the title "mcm-title: master", forks a "backend" child that sets
 *   "mcm-title: backend" over it again, and writes itself. Each of the three sets N keys
 *   "title-<role>-<i>" on SERVER and appends them to KEYS as mirror_check lines (present on the
 *   server, exactly mirrored).
 * Exit 0 when every write and title went as planned, 1 otherwise, 2 on usage errors. Linked with
 * libmemcached only: run it under the shim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

extern char **environ;

static char *block_start, *block_end; /* the argv and environment strings at start-up */

/* Find the contiguous block of argv and environment strings, and move environ to the heap. */
static void title_init(int argc, char **argv)
{
	char **moved;
	int n = 0;

	block_start = argv[0];
	block_end = argv[0] + strlen(argv[0]) + 1;
	for (int i = 1; i < argc; i++)
		if (argv[i] == block_end)
			block_end = argv[i] + strlen(argv[i]) + 1;
	while (environ[n])
		n++;
	for (int i = 0; i < n; i++)
		if (environ[i] == block_end)
			block_end = environ[i] + strlen(environ[i]) + 1;
	if (!(moved = calloc((size_t)n + 1, sizeof *moved))) {
		perror("shim_title");
		exit(1);
	}
	for (int i = 0; i < n; i++)
		if (!(moved[i] = strdup(environ[i]))) {
			perror("shim_title");
			exit(1);
		}
	environ = moved;
}

/* Zero the block and write the title over it; check that no setting is left in it. */
static void title_set(const char *title)
{
	size_t size = (size_t)(block_end - block_start);

	memset(block_start, 0, size);
	snprintf(block_start, size, "%s", title);
	for (char *p = block_start; p + 9 <= block_end; p++)
		if (memcmp(p, "MCMIRROR_", 9) == 0) {
			fprintf(stderr, "shim_title: the title did not cover the environment block\n");
			exit(1);
		}
	if (!getenv("MCMIRROR_PATH")) {
		fprintf(stderr, "shim_title: MCMIRROR_PATH is not set (run under the shim)\n");
		exit(1);
	}
}

/* Set n keys title-<role>-<i> and append their lines to the keys file. */
static int write_keys(const char *keys, const char *server, const char *role, long n)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(server);
	FILE *f = fopen(keys, "a");
	int failures = 0;

	if (!mc || !list || !f || memcached_server_push(mc, list) != MEMCACHED_SUCCESS) {
		fprintf(stderr, "shim_title: %s: cannot set up\n", role);
		return 1;
	}
	memcached_server_list_free(list);
	flock(fileno(f), LOCK_EX);
	for (long i = 0; i < n; i++) {
		char key[64], value[64];
		memcached_return_t rc;

		snprintf(key, sizeof key, "title-%s-%ld", role, i);
		snprintf(value, sizeof value, "written by the %s, pid %d", role, (int)getpid());
		rc = memcached_set(mc, key, strlen(key), value, strlen(value), 0, (uint32_t)i);
		if (rc != MEMCACHED_SUCCESS) {
			fprintf(stderr, "shim_title: set '%s': %s\n", key, memcached_strerror(mc, rc));
			failures++;
		}
		fprintf(f, "%s\t0\t%s\tP\tM\t-\n", server, key);
	}
	fflush(f);
	flock(fileno(f), LOCK_UN);
	fclose(f);
	memcached_free(mc);
	return failures != 0;
}

static int wait_child(pid_t pid, const char *role)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "shim_title: the %s failed\n", role);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *keys, *server;
	pid_t early, backend;
	long n;
	int failures;

	if (argc != 4 || (n = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: shim_title KEYS SERVER N\n");
		return 2;
	}
	keys = strdup(argv[1]); /* argv is about to be overwritten */
	server = strdup(argv[2]);
	if (!keys || !server)
		return 1;
	title_init(argc, argv);
	if ((early = fork()) == 0) { /* forked before the parent's first title */
		title_set("mcm-title: early helper");
		_exit(write_keys(keys, server, "early", n));
	}
	title_set("mcm-title: master");
	if ((backend = fork()) == 0) {
		title_set("mcm-title: backend");
		_exit(write_keys(keys, server, "backend", n));
	}
	failures = write_keys(keys, server, "master", n);
	failures += wait_child(early, "early helper");
	failures += wait_child(backend, "backend");
	free(keys);
	free(server);
	return failures ? 1 : 0;
}
