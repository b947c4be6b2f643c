/* replay_bench.c - how fast `mcmirror replay` warms memcached, next to raw loaders and a naive restore.
 *
 * usage: replay_bench [-n ITEMS] [-s VALUE_SIZE] [-r ROUNDS] [-k RTT_ITEMS] [-c CONNS[,CONNS...]]
 *                     [-C CONNS[,CONNS...]] [-S HOST:PORT] [-m MEMCACHED] [-t MCMIRROR] [-d DIR]
 *                     [-- MEMCACHED_OPTIONS...]
 *
 * Builds a mirror of ITEMS items (default 1000000, values of VALUE_SIZE = 100 bytes) through the store
 * API, then, ROUNDS times (default 3), alternating, each time into an empty memcached:
 *   raw/N   a raw pipelined loader over N connections (every N of -c, default 1,2,4): the same items
 *           as `ms <key> <len> F<flags> q` + data, split in N streams (item i on connection i % N),
 *           each prepared in memory before the clock starts (ITEMS * (VALUE_SIZE + 40) bytes in all)
 *           and sent by its own thread in 128 kB blocking writes, then `mn` and wait for MN: the
 *           network-and-server bound; the best of them is the physical limit of this server here;
 *   replay  the real `mcmirror replay` process (its default add mode), timed from spawn to exit: with
 *           its default connections (auto), or once for each of -C (e.g. -C auto,1,4);
 *   rtt     one round trip per item (`ms` and wait for HD) on the first RTT_ITEMS items (default
 *           20000), extrapolated to items/s.
 * By default it starts its own throwaway memcached on 127.0.0.1 (a fresh one for every run, started
 * with -m 1024 plus MEMCACHED_OPTIONS); with -S it uses that server and empties it with flush_all.
 * After each raw and replay run it checks that the server holds ITEMS items.
 * Prints items/s per run, the median of each, the load average before and after, and the ratios of
 * each replay to the first loader of -c, to the best loader and to rtt.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
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
#define MAX_RAW 8             /* loaders (connection counts) in -c */
#define MAX_CONNS 64
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
	unsigned raw_conns[MAX_RAW]; /* -c */
	int n_raw;
	char replay_conns[MAX_RAW][8]; /* -C: --connections of each replay arm; "" = the tool's default */
	int n_rep;
};

/* One connection's share of the raw stream. */
struct stream {
	char *buf;
	size_t len;
	int port, fd;
	double cpu;  /* seconds of CPU its thread used */
};

/* CPU seconds of the last run: the loader or replay process, and memcached (own server only). */
static double last_cpu, last_mc_cpu;

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

/* The raw loader's streams for conns connections, built once before any timing: `ms` + data per item
 * (item i in stream i % conns), then `mn`. */
static struct stream *raw_streams(struct bench *b, unsigned conns)
{
	struct stream *st = calloc(conns, sizeof *st);
	size_t cap = b->items / conns * (b->value_size + 64) + b->value_size + 128;

	if (!st)
		die("raw streams");
	for (unsigned c = 0; c < conns; c++)
		if (!(st[c].buf = malloc(cap)))
			die("raw stream");
	for (unsigned long i = 0; i < b->items; i++) {
		struct stream *t = &st[i % conns];
		char key[32];
		size_t klen = key_of(i, key);

		t->len += (size_t)sprintf(t->buf + t->len, "ms %.*s %lu F%lu q\r\n", (int)klen, key, b->value_size, i);
		value_of(i, t->buf + t->len, b->value_size);
		t->len += b->value_size;
		memcpy(t->buf + t->len, "\r\n", 2);
		t->len += 2;
	}
	for (unsigned c = 0; c < conns; c++) {
		memcpy(st[c].buf + st[c].len, "mn\r\n", 4);
		st[c].len += 4;
	}
	return st;
}

static double cpu_of(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
	       ru->ru_stime.tv_usec / 1e6;
}

/* memcached's CPU seconds so far (utime + stime of /proc/PID/stat), or 0. */
static double mc_cpu(const struct bench *b)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	if (b->mc_pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)b->mc_pid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void *send_stream(void *arg)
{
	struct stream *t = arg;
	struct rusage ru;
	char reply[64];

	for (size_t off = 0; off < t->len; off += RAW_CHUNK)
		send_all(t->fd, t->buf + off, t->len - off < RAW_CHUNK ? t->len - off : RAW_CHUNK);
	read_until(t->fd, "MN\r\n", reply, sizeof reply);
	t->cpu = getrusage(RUSAGE_THREAD, &ru) == 0 ? cpu_of(&ru) : 0;
	return NULL;
}

/* (a) the raw pipelined loader over conns connections, one thread each: only sending is timed.
 * @return items/s. */
static double run_raw(struct bench *b, struct stream *st, unsigned conns)
{
	pthread_t th[MAX_CONNS];
	double t0, mc0 = mc_cpu(b);

	for (unsigned c = 0; c < conns; c++)
		if ((st[c].fd = dial(b->port)) < 0)
			die("raw loader connect");
	t0 = now_s();
	for (unsigned c = 0; c < conns; c++)
		if (pthread_create(&th[c], NULL, send_stream, &st[c]) != 0)
			die("pthread_create");
	for (unsigned c = 0; c < conns; c++)
		pthread_join(th[c], NULL);
	t0 = now_s() - t0;
	last_mc_cpu = mc_cpu(b) - mc0;
	last_cpu = 0;
	for (unsigned c = 0; c < conns; c++) {
		close(st[c].fd);
		last_cpu += st[c].cpu;
	}
	return (double)b->items / t0;
}

/* (b) the mcmirror replay process, with --connections conns unless it is "". @return items/s, or -1
 * when it failed. */
static double run_replay(struct bench *b, const char *conns)
{
	double t0 = now_s(), mc0 = mc_cpu(b);
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (*conns)
			execl(b->tool, b->tool, "-q", "--mirror", b->dir, "replay", "--servers", b->addr, "--connections",
			      conns, (char *)NULL);
		else
			execl(b->tool, b->tool, "-q", "--mirror", b->dir, "replay", "--servers", b->addr, (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4");
	t0 = now_s() - t0;
	last_cpu = cpu_of(&ru);
	last_mc_cpu = mc_cpu(b) - mc0;
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

/* "1,2,4": connection counts, into out (MAX_RAW at most). @return how many. */
static int parse_conns(const char *arg, unsigned *out)
{
	char *end;
	int n = 0;

	for (const char *p = arg; *p && n < MAX_RAW; p = *end ? end + 1 : end) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v < 1 || v > MAX_CONNS || (*end && *end != ',')) {
			fprintf(stderr, "replay_bench: bad connection counts '%s': want numbers from 1 to %d,"
				" comma-separated\n", arg, MAX_CONNS);
			exit(2);
		}
		out[n++] = (unsigned)v;
	}
	return n;
}

/* -C auto,1,4: the replay arms; "auto" (or "default") runs it without --connections. */
static void parse_replay_conns(struct bench *b, const char *arg)
{
	char buf[256], *save = NULL;
	unsigned c[1];

	snprintf(buf, sizeof buf, "%s", arg);
	b->n_rep = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok && b->n_rep < MAX_RAW; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "auto") == 0 || strcmp(tok, "default") == 0)
			b->replay_conns[b->n_rep][0] = '\0';
		else if (parse_conns(tok, c) == 1)
			snprintf(b->replay_conns[b->n_rep], sizeof b->replay_conns[b->n_rep], "%u", c[0]);
		b->n_rep++;
	}
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
	b->n_rep = 1;
	b->n_raw = 3;
	b->raw_conns[0] = 1;
	b->raw_conns[1] = 2;
	b->raw_conns[2] = 4;
	snprintf(b->dir, sizeof b->dir, "%s/mcm-replay-bench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	while ((c = getopt(argc, argv, "n:s:r:k:c:C:S:m:t:d:h")) != -1) {
		switch (c) {
		case 'n': b->items = strtoul(optarg, NULL, 10); break;
		case 's': b->value_size = strtoul(optarg, NULL, 10); break;
		case 'r': b->rounds = strtoul(optarg, NULL, 10); break;
		case 'k': b->rtt_items = strtoul(optarg, NULL, 10); break;
		case 'c': b->n_raw = parse_conns(optarg, b->raw_conns); break;
		case 'C': parse_replay_conns(b, optarg); break;
		case 'S': b->server = optarg; break;
		case 'm': b->memcached = optarg; break;
		case 't': b->tool = optarg; break;
		case 'd': snprintf(b->dir, sizeof b->dir, "%s/mcm-replay-bench.XXXXXX", optarg); break;
		default:
			fprintf(stderr, "usage: replay_bench [-n ITEMS] [-s VALUE_SIZE] [-r ROUNDS] [-k RTT_ITEMS]"
					" [-c CONNS[,CONNS...]] [-C CONNS[,CONNS...]] [-S HOST:PORT] [-m MEMCACHED]"
					" [-t MCMIRROR] [-d DIR] [-- MEMCACHED_OPTIONS...]\n");
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

static void loadavg(char *buf, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)size, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

/* The replay arm's name: "replay/auto" (the tool's default connections) or "replay/N". */
static const char *arm(const struct bench *b, int k, char *buf, size_t size)
{
	snprintf(buf, size, "replay/%s", b->replay_conns[k][0] ? b->replay_conns[k] : "auto");
	return buf;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	double raw[MAX_RAW][MAX_ROUNDS], rep[MAX_RAW][MAX_ROUNDS], rtt[MAX_ROUNDS], mraw[MAX_RAW], mrep[MAX_RAW];
	double raw_cpu[MAX_RAW][2] = {{0}}, rep_cpu[MAX_RAW][2] = {{0}}; /* loader or replay, memcached */
	double mrtt, best = 0;
	struct stream *streams[MAX_RAW];
	char cmd[600], load[128], name[32];
	int best_i = 0;

	parse(&b, argc, argv);
	set_address(&b);
	if (!mkdtemp(b.dir))
		die("mkdtemp");
	build_mirror(&b);
	for (int k = 0; k < b.n_raw; k++)
		streams[k] = raw_streams(&b, b.raw_conns[k]);
	loadavg(load, sizeof load);
	printf("items %lu, value %lu bytes, server %s%s, rounds %lu, rtt subset %lu\n", b.items, b.value_size, b.addr,
	       b.server ? " (given, flushed between runs)" : " (own memcached, fresh for each run)", b.rounds,
	       b.rtt_items);
	printf("load average before: %s\n", load);
	for (unsigned long r = 0; r < b.rounds; r++) {
		printf("round %lu:", r + 1);
		for (int k = 0; k < b.n_raw; k++) {
			empty_server(&b);
			raw[k][r] = run_raw(&b, streams[k], b.raw_conns[k]);
			raw_cpu[k][0] += last_cpu;
			raw_cpu[k][1] += last_mc_cpu;
			check_items(&b, "the raw loader");
			printf(" raw/%u %.0f,", b.raw_conns[k], raw[k][r]);
		}
		for (int k = 0; k < b.n_rep; k++) {
			empty_server(&b);
			rep[k][r] = run_replay(&b, b.replay_conns[k]);
			rep_cpu[k][0] += last_cpu;
			rep_cpu[k][1] += last_mc_cpu;
			check_items(&b, "mcmirror replay");
			printf(" %s %.0f,", arm(&b, k, name, sizeof name), rep[k][r]);
		}
		empty_server(&b);
		rtt[r] = run_rtt(&b);
		printf(" one-rtt %.0f items/s\n", rtt[r]);
		fflush(stdout);
	}
	stop_memcached(&b);
	loadavg(load, sizeof load);
	printf("load average after: %s\n", load);
	mrtt = median(rtt, b.rounds);
	printf("median:");
	for (int k = 0; k < b.n_raw; k++) {
		mraw[k] = median(raw[k], b.rounds);
		if (mraw[k] > best) {
			best = mraw[k];
			best_i = k;
		}
		printf(" raw/%u %.0f,", b.raw_conns[k], mraw[k]);
		for (unsigned c = 0; c < b.raw_conns[k]; c++)
			free(streams[k][c].buf);
		free(streams[k]);
	}
	for (int k = 0; k < b.n_rep; k++) {
		mrep[k] = median(rep[k], b.rounds);
		printf(" %s %.0f (%.2f s),", arm(&b, k, name, sizeof name), mrep[k],
		       mrep[k] > 0 ? (double)b.items / mrep[k] : 0.0);
	}
	printf(" one-rtt %.0f items/s\n", mrtt);
	printf("cpu per item (mean):");
	for (int k = 0; k < b.n_raw; k++)
		printf(" raw/%u %.2f us + memcached %.2f us,", b.raw_conns[k], raw_cpu[k][0] * 1e6 / b.rounds / b.items,
		       raw_cpu[k][1] * 1e6 / b.rounds / b.items);
	for (int k = 0; k < b.n_rep; k++)
		printf(" %s %.2f us + memcached %.2f us%s", arm(&b, k, name, sizeof name),
		       rep_cpu[k][0] * 1e6 / b.rounds / b.items, rep_cpu[k][1] * 1e6 / b.rounds / b.items,
		       k + 1 < b.n_rep ? "," : "\n");
	for (int k = 0; k < b.n_rep; k++) {
		double first[MAX_ROUNDS], top[MAX_ROUNDS];

		for (unsigned long r = 0; r < b.rounds; r++) { /* paired: each round's replay against its own loaders */
			double best_r = 0;

			for (int j = 0; j < b.n_raw; j++)
				best_r = raw[j][r] > best_r ? raw[j][r] : best_r;
			first[r] = rep[k][r] / raw[0][r];
			top[r] = rep[k][r] / best_r;
		}
		printf("ratio %s: /raw-%u %.2f, /best-raw %.2f (raw/%u), /one-rtt %.1f; median of the rounds' own ratios:"
		       " /raw-%u %.2f, /best-raw-of-round %.2f\n", arm(&b, k, name, sizeof name), b.raw_conns[0],
		       mrep[k] / mraw[0], mrep[k] / best, b.raw_conns[best_i], mrep[k] / mrtt, b.raw_conns[0],
		       median(first, b.rounds), median(top, b.rounds));
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "replay_bench: could not remove '%s'\n", b.dir);
	return 0;
}
