/* replay_bench.c - how fast `mcmirror replay` warms memcached, next to a raw loader and a naive restore.
 *
 * usage: replay_bench [-n ITEMS] [-s VALUE_SIZE] [-r ROUNDS] [-k RTT_ITEMS] [-S HOST:PORT]
 *                     [-m MEMCACHED] [-t MCMIRROR] [-d DIR] [-- MEMCACHED_OPTIONS...]
 *
 * Builds a mirror of ITEMS items (default 1000000, values of VALUE_SIZE = 100 bytes) through the store
 * API, then, ROUNDS times (default 3), alternating, each time into an empty memcached:
 *   raw     a raw pipelined loader: the same items as `ms <key> <len> F<flags> q` + data, the whole
 *           stream prepared in memory before the clock starts (ITEMS * (VALUE_SIZE + 40) bytes), sent
 *           in 128 kB blocking writes, then `mn` and wait for MN: the network-and-server bound;
 *   replay  the real `mcmirror replay` process (its default add mode), timed from spawn to exit;
 *   rtt     one round trip per item (`ms` and wait for HD) on the first RTT_ITEMS items (default
 *           20000), extrapolated to items/s.
 * By default it starts its own throwaway memcached on 127.0.0.1 (a fresh one for every run, started
 * with -m 1024 plus MEMCACHED_OPTIONS); with -S it uses that server and empties it with flush_all.
 * After each raw and replay run it checks that the server holds ITEMS items.
 * Prints items/s per run, the median of each, and the ratios replay/raw and replay/rtt.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "mcm_pool.h"
#include "mcm_store.h"

#ifndef MCM_TOOL_PATH
#define MCM_TOOL_PATH "mcmirror"
#endif

#define MAX_ROUNDS 20
#define MAX_MC_ARGS 32
#define RAW_CHUNK (128u << 10) /* bytes per send of the raw loader */

struct bench {
	unsigned long items, value_size, rounds, rtt_items;
	const char *server;   /* -S: an existing server, or NULL */
	const char *memcached;
	const char *tool;
	char dir[256];        /* the mirror */
	char addr[64];        /* host:port in use */
	int port;
	pid_t mc_pid;
	char *mc_args[MAX_MC_ARGS];
	int n_mc_args;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "replay_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static size_t key_of(unsigned long i, char *buf)
{
	return (size_t)sprintf(buf, "bench:%08lu", i);
}

static void value_of(unsigned long i, char *buf, size_t size)
{
	for (size_t j = 0; j < size; j++)
		buf[j] = (char)('a' + (i + j) % 26);
}

static void build_mirror(struct bench *b)
{
	struct mcm_store *st;
	struct mcm_pool pool;
	struct mcm_mutation m[1000];
	char keys[1000][32], *values = malloc(1000 * (b->value_size + 1));
	double t0 = now_s();
	int rc;

	memset(&pool, 0, sizeof pool);
	snprintf(pool.servers, sizeof pool.servers, "%s", b->addr);
	pool.id = mcm_pool_id_of(pool.servers, strlen(pool.servers));
	if (!values || (rc = mcm_store_open(&st, b->dir, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0)) != 0) {
		fprintf(stderr, "replay_bench: cannot create the mirror in '%s'\n", b->dir);
		exit(1);
	}
	for (unsigned long i = 0; i < b->items;) {
		size_t n = 0;

		memset(m, 0, sizeof m);
		for (; n < 1000 && i < b->items; n++, i++) {
			m[n].op = MCM_OP_PUT;
			m[n].pool = &pool;
			m[n].key = keys[n];
			m[n].key_len = key_of(i, keys[n]);
			m[n].value = values + n * b->value_size;
			m[n].value_len = b->value_size;
			value_of(i, values + n * b->value_size, b->value_size);
			m[n].flags = (uint32_t)i;
		}
		if ((rc = mcm_store_apply(st, m, n)) != 0) {
			fprintf(stderr, "replay_bench: mirror write failed: %s\n", mcm_strerror(rc));
			exit(1);
		}
	}
	mcm_store_sync(st);
	mcm_store_close(st);
	free(values);
	fprintf(stderr, "replay_bench: mirror of %lu items of %lu bytes built in %.2f s\n", b->items, b->value_size,
		now_s() - t0);
}

static int dial(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send");
		buf += n;
		len -= (size_t)n;
	}
}

/* Read until the reply ends with end (e.g. "MN\r\n"); returns what was read in buf (size bytes max). */
static size_t read_until(int fd, const char *end, char *buf, size_t size)
{
	size_t len = 0, elen = strlen(end);

	for (;;) {
		ssize_t n = recv(fd, buf + len, size - len - 1, 0);

		if (n <= 0)
			die("recv");
		len += (size_t)n;
		buf[len] = '\0';
		if (len >= elen && memcmp(buf + len - elen, end, elen) == 0)
			return len;
		if (len >= size - 1)
			len = 0; /* only the end matters */
	}
}

static unsigned long curr_items(int port)
{
	char buf[8192], *p;
	int fd = dial(port);

	if (fd < 0)
		die("connect for stats");
	send_all(fd, "stats\r\n", 7);
	read_until(fd, "END\r\n", buf, sizeof buf);
	close(fd);
	p = strstr(buf, "STAT curr_items ");
	return p ? strtoul(p + 16, NULL, 10) : 0;
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || getsockname(fd, (struct sockaddr *)&sa, &len))
		die("finding a free port");
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void stop_memcached(struct bench *b)
{
	if (b->mc_pid <= 0)
		return;
	kill(b->mc_pid, SIGKILL);
	waitpid(b->mc_pid, NULL, 0);
	b->mc_pid = 0;
}

/* An empty server: a fresh memcached of our own, or flush_all on -S. */
static void empty_server(struct bench *b)
{
	char port[16], *argv[MAX_MC_ARGS + 16];
	int argc = 0, fd = -1;
	char reply[64];

	if (b->server) {
		if ((fd = dial(b->port)) < 0)
			die("connect to -S server");
		send_all(fd, "flush_all\r\n", 11);
		read_until(fd, "OK\r\n", reply, sizeof reply);
		close(fd);
		return;
	}
	stop_memcached(b);
	snprintf(port, sizeof port, "%d", b->port);
	argv[argc++] = (char *)b->memcached;
	argv[argc++] = "-l";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "-p";
	argv[argc++] = port;
	argv[argc++] = "-U";
	argv[argc++] = "0";
	argv[argc++] = "-m";
	argv[argc++] = "1024";
	if (geteuid() == 0) {
		argv[argc++] = "-u";
		argv[argc++] = "root";
	}
	for (int i = 0; i < b->n_mc_args; i++)
		argv[argc++] = b->mc_args[i];
	argv[argc] = NULL;
	if ((b->mc_pid = fork()) < 0)
		die("fork");
	if (b->mc_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && (fd = dial(b->port)) < 0; i++)
		usleep(10000);
	if (fd < 0) {
		fprintf(stderr, "replay_bench: memcached '%s' did not start on port %d\n", b->memcached, b->port);
		exit(1);
	}
	close(fd);
}

/* The raw loader's whole stream, built once before any timing: `ms` + data per item, then `mn`. */
static char *raw_stream(struct bench *b, size_t *out_len)
{
	size_t cap = b->items * (b->value_size + 64) + 8, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		die("raw stream");
	for (unsigned long i = 0; i < b->items; i++) {
		char key[32];
		size_t klen = key_of(i, key);

		len += (size_t)sprintf(buf + len, "ms %.*s %lu F%lu q\r\n", (int)klen, key, b->value_size, i);
		value_of(i, buf + len, b->value_size);
		len += b->value_size;
		memcpy(buf + len, "\r\n", 2);
		len += 2;
	}
	memcpy(buf + len, "mn\r\n", 4);
	*out_len = len + 4;
	return buf;
}

/* (a) the raw pipelined loader: only sending the prepared stream is timed. @return items/s. */
static double run_raw(struct bench *b, const char *stream, size_t len)
{
	char reply[64];
	double t0 = now_s();
	int fd = dial(b->port);

	if (fd < 0)
		die("raw loader connect");
	for (size_t off = 0; off < len; off += RAW_CHUNK)
		send_all(fd, stream + off, len - off < RAW_CHUNK ? len - off : RAW_CHUNK);
	read_until(fd, "MN\r\n", reply, sizeof reply);
	t0 = now_s() - t0;
	close(fd);
	return (double)b->items / t0;
}

/* (b) the mcmirror replay process. @return items/s, or -1 when it failed. */
static double run_replay(struct bench *b)
{
	double t0 = now_s();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execl(b->tool, b->tool, "-q", "--mirror", b->dir, "replay", "--servers", b->addr, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	t0 = now_s() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "replay_bench: '%s replay' failed (status %d)\n", b->tool, status);
		return -1;
	}
	return (double)b->items / t0;
}

/* (c) one round trip per item, on the first rtt_items items. @return items/s. */
static double run_rtt(struct bench *b)
{
	unsigned long n = b->rtt_items < b->items ? b->rtt_items : b->items;
	char *buf = malloc(512 + b->value_size), reply[64];
	double t0 = now_s();
	int fd = dial(b->port);

	if (!buf || fd < 0)
		die("rtt setup");
	for (unsigned long i = 0; i < n; i++) {
		char key[32];
		size_t klen = key_of(i, key), len;

		len = (size_t)sprintf(buf, "ms %.*s %lu F%lu\r\n", (int)klen, key, b->value_size, i);
		value_of(i, buf + len, b->value_size);
		len += b->value_size;
		memcpy(buf + len, "\r\n", 2);
		send_all(fd, buf, len + 2);
		read_until(fd, "\r\n", reply, sizeof reply);
	}
	t0 = now_s() - t0;
	close(fd);
	free(buf);
	return (double)n / t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned long n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void check_items(struct bench *b, const char *what)
{
	unsigned long n = curr_items(b->port);

	if (n != b->items)
		fprintf(stderr, "replay_bench: warning: after %s the server holds %lu items, not %lu\n", what, n,
			b->items);
}

static void parse(struct bench *b, int argc, char **argv)
{
	int c;

	b->items = 1000000;
	b->value_size = 100;
	b->rounds = 3;
	b->rtt_items = 20000;
	b->memcached = "/usr/bin/memcached";
	b->tool = MCM_TOOL_PATH;
	snprintf(b->dir, sizeof b->dir, "%s/mcm-replay-bench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	while ((c = getopt(argc, argv, "n:s:r:k:S:m:t:d:h")) != -1) {
		switch (c) {
		case 'n': b->items = strtoul(optarg, NULL, 10); break;
		case 's': b->value_size = strtoul(optarg, NULL, 10); break;
		case 'r': b->rounds = strtoul(optarg, NULL, 10); break;
		case 'k': b->rtt_items = strtoul(optarg, NULL, 10); break;
		case 'S': b->server = optarg; break;
		case 'm': b->memcached = optarg; break;
		case 't': b->tool = optarg; break;
		case 'd': snprintf(b->dir, sizeof b->dir, "%s/mcm-replay-bench.XXXXXX", optarg); break;
		default:
			fprintf(stderr, "usage: replay_bench [-n ITEMS] [-s VALUE_SIZE] [-r ROUNDS] [-k RTT_ITEMS]"
					" [-S HOST:PORT] [-m MEMCACHED] [-t MCMIRROR] [-d DIR] [-- MEMCACHED_OPTIONS...]\n");
			exit(c == 'h' ? 0 : 2);
		}
	}
	for (; optind < argc && b->n_mc_args < MAX_MC_ARGS; optind++)
		b->mc_args[b->n_mc_args++] = argv[optind];
	if (b->rounds < 1 || b->rounds > MAX_ROUNDS || b->items == 0 || b->value_size == 0) {
		fprintf(stderr, "replay_bench: bad -n, -s or -r\n");
		exit(2);
	}
}

static void set_address(struct bench *b)
{
	const char *colon;

	if (b->server) {
		colon = strrchr(b->server, ':');
		if (!colon || strncmp(b->server, "127.0.0.1:", 10) != 0) {
			fprintf(stderr, "replay_bench: -S wants 127.0.0.1:PORT\n");
			exit(2);
		}
		b->port = atoi(colon + 1);
	} else {
		b->port = free_port();
	}
	snprintf(b->addr, sizeof b->addr, "127.0.0.1:%d", b->port);
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	double raw[MAX_ROUNDS], rep[MAX_ROUNDS], rtt[MAX_ROUNDS], mraw, mrep, mrtt;
	char cmd[600], *stream;
	size_t stream_len;

	parse(&b, argc, argv);
	set_address(&b);
	if (!mkdtemp(b.dir))
		die("mkdtemp");
	build_mirror(&b);
	stream = raw_stream(&b, &stream_len);
	printf("items %lu, value %lu bytes, server %s%s, rounds %lu, rtt subset %lu\n", b.items, b.value_size,
	       b.addr, b.server ? " (given, flushed between runs)" : " (own memcached, fresh for each run)",
	       b.rounds, b.rtt_items);
	for (unsigned long r = 0; r < b.rounds; r++) {
		empty_server(&b);
		raw[r] = run_raw(&b, stream, stream_len);
		check_items(&b, "the raw loader");
		empty_server(&b);
		rep[r] = run_replay(&b);
		check_items(&b, "mcmirror replay");
		empty_server(&b);
		rtt[r] = run_rtt(&b);
		printf("round %lu: raw %.0f items/s, replay %.0f items/s, one-rtt %.0f items/s\n", r + 1, raw[r], rep[r],
		       rtt[r]);
		fflush(stdout);
	}
	stop_memcached(&b);
	free(stream);
	mraw = median(raw, b.rounds);
	mrep = median(rep, b.rounds);
	mrtt = median(rtt, b.rounds);
	printf("median: raw %.0f items/s, replay %.0f items/s (%.2f s for %lu items), one-rtt %.0f items/s\n", mraw,
	       mrep, mrep > 0 ? (double)b.items / mrep : 0.0, b.items, mrtt);
	printf("ratio replay/raw %.2f, replay/one-rtt %.1f\n", mrep / mraw, mrep / mrtt);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "replay_bench: could not remove '%s'\n", b.dir);
	return 0;
}
