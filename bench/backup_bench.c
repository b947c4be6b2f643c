/* backup_bench.c - how fast `mcmirror snapshot`, `dump`, `load` and `import` run on a large mirror.
 *
 * usage: backup_bench [-n ITEMS] [-s VALUE_SIZE] [-m MEMCACHED] [-d DIR]
 *
 * Builds a mirror of ITEMS items (default 1000000, values of VALUE_SIZE = 100 bytes) with mkmirror,
 * then times, each as the real mcmirror process from spawn to exit:
 *   snapshot  `mcmirror snapshot OUT` (copy, fsync, SHA-256, check, rename)
 *   dump      `mcmirror dump -f FILE --all`
 *   load      `mcmirror load FILE` into a new mirror
 *   import    `mcmirror import` from a throwaway memcached (127.0.0.1, -m 2048) that a raw
 *             pipelined loader filled with ITEMS items of VALUE_SIZE bytes beforehand
 * and prints items/s for each (and MB/s of the snapshot's data.mdb). One run; nothing is asserted.
 * The files are removed at the end unless -d DIR was given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MCM_TOOL_PATH
#define MCM_TOOL_PATH "mcmirror"
#endif
#ifndef MCM_MKMIRROR_PATH
#define MCM_MKMIRROR_PATH "mkmirror"
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv with its stdout to /dev/null; @return its wall time, or -1 on failure. */
static double timed(char *const argv[])
{
	double t0;
	int status;
	pid_t pid;

	fflush(stdout); /* the child must not print our buffered lines again */
	t0 = now();
	pid = fork();

	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "backup_bench: '%s %s' failed\n", argv[0], argv[1]);
		return -1;
	}
	return now() - t0;
}

static pid_t start_memcached(const char *bin, int port)
{
	char p[16];
	pid_t pid;

	fflush(stdout);
	pid = fork();

	snprintf(p, sizeof p, "%d", port);
	if (pid == 0) {
		execlp(bin, bin, "-l", "127.0.0.1", "-p", p, "-U", "0", "-m", "2048", "-u", "root", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int connect_port(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(50000);
	}
	return -1;
}

/* The raw loader: `ms key:%08lu <size> T0 F<i> q` + value for every item, then mn / MN. */
static int fill_server(int port, unsigned long items, unsigned long size)
{
	int fd = connect_port(port);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + size + 128), reply[16];

	if (fd < 0 || !buf)
		return -1;
	for (unsigned long i = 0; i < items; i++) {
		len += (size_t)sprintf(buf + len, "ms key:%08lu %lu F%lu q\r\n", i, size, i);
		memset(buf + len, 'a' + (int)(i % 26), size);
		len += size;
		memcpy(buf + len, "\r\n", 2);
		len += 2;
		if (len >= cap || i + 1 == items) {
			if (i + 1 == items) {
				memcpy(buf + len, "mn\r\n", 4);
				len += 4;
			}
			for (size_t off = 0; off < len;) {
				ssize_t n = write(fd, buf + off, len - off);
				if (n <= 0)
					return -1;
				off += (size_t)n;
			}
			len = 0;
		}
	}
	if (read(fd, reply, sizeof reply) < 2 || memcmp(reply, "MN", 2) != 0)
		return -1;
	free(buf);
	close(fd);
	return 0;
}

static void report(const char *what, unsigned long items, double secs)
{
	if (secs < 0)
		printf("%-9s failed\n", what);
	else
		printf("%-9s %8.2f s  %10.0f items/s\n", what, secs, (double)items / secs);
}

int main(int argc, char **argv)
{
	unsigned long items = 1000000, size = 100;
	const char *memcached = "memcached";
	int keep = 0;
	char dir[256] = "", path[4][300], num[32], sz[32], servers[64];
	int c, port = 20000 + (int)(getpid() % 30000);
	struct stat sb;
	double t;

	while ((c = getopt(argc, argv, "n:s:m:d:")) != -1) {
		if (c == 'n')
			items = strtoul(optarg, NULL, 10);
		else if (c == 's')
			size = strtoul(optarg, NULL, 10);
		else if (c == 'm')
			memcached = optarg;
		else if (c == 'd')
			keep = snprintf(dir, sizeof dir, "%s", optarg) > 0;
		else
			return 2;
	}
	if (!*dir && !mkdtemp(strcpy(dir, "/tmp/backup_bench.XXXXXX")))
		return 1;
	snprintf(path[0], sizeof path[0], "%s/mirror", dir);
	snprintf(path[1], sizeof path[1], "%s/snap", dir);
	snprintf(path[2], sizeof path[2], "%s/dump", dir);
	snprintf(path[3], sizeof path[3], "%s/loaded", dir);
	snprintf(num, sizeof num, "%lu", items);
	snprintf(sz, sizeof sz, "%lu", size);
	printf("backup_bench: %lu items of %lu bytes in %s\n", items, size, dir);
	{
		char *mk[] = {MCM_MKMIRROR_PATH, path[0], "127.0.0.1:11211", num, sz, NULL};
		if ((t = timed(mk)) < 0)
			return 1;
		report("mkmirror", items, t);
	}
	{
		char *snap[] = {MCM_TOOL_PATH, "-q", "--mirror", path[0], "snapshot", path[1], NULL};
		char *dump[] = {MCM_TOOL_PATH, "-q", "--mirror", path[0], "dump", "--all", "-f", path[2], NULL};
		char *load[] = {MCM_TOOL_PATH, "-q", "--mirror", path[3], "load", path[2], NULL};
		char data[320];

		t = timed(snap);
		report("snapshot", items, t);
		snprintf(data, sizeof data, "%s/data.mdb", path[1]);
		if (t > 0 && stat(data, &sb) == 0)
			printf("          %.1f MB data.mdb, %.0f MB/s\n", (double)sb.st_size / 1e6,
			       (double)sb.st_size / 1e6 / t);
		report("dump", items, timed(dump));
		if (stat(path[2], &sb) == 0)
			printf("          %.1f MB dump\n", (double)sb.st_size / 1e6);
		report("load", items, timed(load));
	}
	{
		pid_t mc = start_memcached(memcached, port);
		char imported[300];
		char *imp[] = {MCM_TOOL_PATH, "-q", "--mirror", imported, "import", "--servers", servers, NULL};

		snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
		snprintf(imported, sizeof imported, "%s/imported", dir);
		if (mc < 0 || fill_server(port, items, size) != 0) {
			fprintf(stderr, "backup_bench: cannot fill memcached on %s\n", servers);
		} else {
			report("import", items, timed(imp));
		}
		if (mc > 0) {
			kill(mc, SIGKILL);
			waitpid(mc, NULL, 0);
		}
	}
	printf("command: backup_bench -n %lu -s %lu\n", items, size);
	if (!keep) {
		char *rm[] = {"rm", "-rf", dir, NULL};
		timed(rm);
	}
	return 0;
}
