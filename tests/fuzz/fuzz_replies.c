/* fuzz_replies.c - libFuzzer target: `mcmirror verify` and `mcmirror import` themselves (tools/
 * cmd_verify.c, tools/cmd_import.c, through tools/target.c and tools/pipe.c), called as functions
 * against a hostile server: a thread of this process listening on a unix socket answers them with
 * the input's bytes (a listener and a thread per run, stopped and joined before the run ends, so
 * that no run sees another's connections). Their reply handlers are static, bound to their command: this is how they
 * can be called without changing them.
 *
 * Input: a mode byte (bit 0: verify, else import), a 16-bit length L (little-endian), L bytes
 * that answer import's `lru_crawler metadump all` (its listing), then the bytes that answer the
 * `mg` requests (of import, or of verify). The server reads the first request line of each
 * connection, writes its answer, then half-closes (the client sees the end of it) and reads
 * until the client closes. verify checks a mirror of 8 items made once at start; import fills a
 * new mirror. A listing that starts with "BUSY" is skipped: import then retries for 10 s by
 * design.
 *
 * Invariants beyond "no crash":
 *  - verify and import exit 0 or 1, never anything else (the arguments are valid);
 *  - import invents nothing: after it, every record of the new mirror has a key the listing
 *    named (URL-decoded), its value is bytes the server sent in answer to the gets, and the
 *    mirror reads back whole (a walk ends in MCM_END);
 *  - bounded time: each run ends by itself (libFuzzer's -timeout catches a hang).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "mcm_pool.h"
#include "mcmirror.h"

#define ITEMS 8

/* One run's server: the answers of its connections, in order, and how to stop it. */
struct server {
	int listener;
	int stop[2];          /* a pipe: readable when the run is over */
	const char *answer[2];
	size_t len[2];
	unsigned next;        /* the connection to answer next */
};

static char base[4096], sock_path[4200], verify_mirror[4200];

/* Read until the first "\r\n" of a request (or the end). */
static void read_request(int fd)
{
	char buf[4096], last = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (last == '\r' && buf[i] == '\n')
				return;
			last = buf[i];
		}
	}
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return; /* the client went away */
		p += n;
		len -= (size_t)n;
	}
}

/* Serve the run's connections one after the other until it is over: read the request, answer,
 * half-close, read until the client closes. */
static void *serve(void *arg)
{
	struct server *s = arg;
	char buf[4096];

	for (;;) {
		struct pollfd pfd[2] = {{s->listener, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
		int fd;

		if (poll(pfd, 2, -1) < 0 || pfd[1].revents)
			return NULL;
		if ((fd = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		read_request(fd);
		if (s->next < 2) {
			write_all(fd, s->answer[s->next], s->len[s->next]);
			s->next++;
		}
		shutdown(fd, SHUT_WR);
		while (read(fd, buf, sizeof buf) > 0)
			;
		close(fd);
	}
}

/* Listen on the socket and start the run's server thread. */
static void server_start(struct server *s, pthread_t *t)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	strcpy(sun.sun_path, sock_path);
	unlink(sock_path);
	s->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(s->listener >= 0 && bind(s->listener, (struct sockaddr *)&sun, sizeof sun) == 0 &&
			   listen(s->listener, 8) == 0 && pipe2(s->stop, O_CLOEXEC) == 0,
		   "cannot listen on %s: %s", sock_path, strerror(errno));
	FUZZ_CHECK(pthread_create(t, NULL, serve, s) == 0, "cannot start the server thread");
}

/* The run is over: stop the thread, drop connections never accepted. */
static void server_stop(struct server *s, pthread_t t)
{
	FUZZ_CHECK(write(s->stop[1], "", 1) == 1, "cannot stop the server thread");
	pthread_join(t, NULL);
	close(s->listener);
	close(s->stop[0]);
	close(s->stop[1]);
}

static void remove_base(void)
{
	fuzz_rmtree(base);
}

/* The mirror verify checks: ITEMS live items of the pool whose only server is the socket. */
static void make_verify_mirror(void)
{
	struct mcm_store *st;
	struct mcm_pool pool;
	struct mcm_mutation m[ITEMS];
	char keys[ITEMS][16], values[ITEMS][32];
	int rc;

	memset(&pool, 0, sizeof pool);
	snprintf(pool.servers, sizeof pool.servers, "%s", sock_path);
	pool.id = mcm_pool_id_of(pool.servers, strlen(pool.servers));
	memset(m, 0, sizeof m);
	for (int i = 0; i < ITEMS; i++) {
		snprintf(keys[i], sizeof keys[i], i == 7 ? "bin\x01key%d" : "k%d", i);
		snprintf(values[i], sizeof values[i], "value-%d", i);
		m[i].op = MCM_OP_PUT;
		m[i].pool = &pool;
		m[i].key = keys[i];
		m[i].key_len = strlen(keys[i]);
		m[i].group = "";
		m[i].value = values[i];
		m[i].value_len = strlen(values[i]);
		m[i].flags = (uint32_t)i;
		m[i].exptime = i == 3 ? 4102444800 : 0; /* 2100-01-01 */
	}
	FUZZ_CHECK((rc = mcm_store_open(&st, verify_mirror, MCM_STORE_CREATE, 0)) == 0, "cannot create a mirror: %s",
		   mcm_strerror(rc));
	FUZZ_CHECK((rc = mcm_store_apply(st, m, ITEMS)) == 0, "cannot fill the mirror: %s", mcm_strerror(rc));
	mcm_store_close(st);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sun;

	(void)argc;
	(void)argv;
	fuzz_tmpdir(base, "replies");
	atexit(remove_base);
	snprintf(sock_path, sizeof sock_path, "%s/mc.sock", base);
	snprintf(verify_mirror, sizeof verify_mirror, "%s/verify", base);
	FUZZ_CHECK(strlen(sock_path) < sizeof sun.sun_path, "socket path too long: %s", sock_path);
	make_verify_mirror();
	return 0;
}

/* Run a command of the tool as main.c does. (Its messages go to stderr: fuzz with
 * -close_fd_mask=3.) */
static int run(const struct mcm_cmd *cmd, const char *mirror, int argc, char **argv)
{
	struct mcm_global g = {.mirror = mirror, .quiet = 1};

	optind = 0;
	return cmd->run(&g, argc, argv);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Does the listing name key (a "key=" field, URL-decoded)? */
static int listed(const char *list, size_t len, const char *key, size_t klen)
{
	for (const char *p = list, *end = list + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
		char k[1024];
		size_t n = 0;

		if (eol - p > 4 && memcmp(p, "key=", 4) == 0) {
			for (const char *c = p + 4; c < eol && *c != ' ' && *c != '\r' && n < sizeof k; c++) {
				if (*c == '%' && eol - c > 2 && hexval(c[1]) >= 0 && hexval(c[2]) >= 0) {
					k[n++] = (char)(hexval(c[1]) << 4 | hexval(c[2]));
					c += 2;
				} else {
					k[n++] = *c;
				}
			}
			if (n == klen && memcmp(k, key, klen) == 0)
				return 1;
		}
		p = eol + 1;
	}
	return 0;
}

static void check_imported(const char *mirror, const char *list, size_t list_len, const char *gets, size_t gets_len)
{
	struct mcm_store *st;
	struct mcm_iter *it;
	struct mcm_item item;
	int rc;

	if (mcm_store_open(&st, mirror, MCM_STORE_RDONLY, 0) != 0)
		return; /* nothing was imported: no mirror */
	FUZZ_CHECK((rc = mcm_iter_open(st, MCM_ORDER_KEY, 0, &it)) == 0, "cannot walk the mirror: %s", mcm_strerror(rc));
	while ((rc = mcm_iter_next(it, &item)) == 0) {
		FUZZ_CHECK(listed(list, list_len, item.key, item.key_len), "import wrote a key the listing did not name");
		FUZZ_CHECK(item.kind == MCM_KIND_VALUE, "import wrote a record of kind %u", item.kind);
		FUZZ_CHECK(item.value_len == 0 || memmem(gets, gets_len, item.value, item.value_len),
			   "import wrote a value the server did not send");
	}
	mcm_iter_close(it);
	FUZZ_CHECK(rc == MCM_END, "the imported mirror does not read back: %s", mcm_strerror(rc));
	mcm_store_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	int verify = fuzz_u8(&in) & 1, rc;
	size_t list_len, gets_len;
	const char *list = (const char *)fuzz_bytes(&in, fuzz_u16(&in), &list_len), *gets;
	char dir[4096], mirror[4200];
	char *argv[] = {verify ? "verify" : "import", "--servers", sock_path, NULL};
	struct server s;
	pthread_t t;

	gets = (const char *)fuzz_bytes(&in, in.n, &gets_len);
	if (!verify && list_len >= 4 && memcmp(list, "BUSY", 4) == 0)
		return 0;
	memset(&s, 0, sizeof s);
	s.answer[0] = list;
	s.len[0] = list_len;
	s.answer[1] = gets;
	s.len[1] = gets_len;
	s.next = verify ? 1 : 0; /* verify opens one connection: the one of the gets */
	server_start(&s, &t);
	if (verify) {
		rc = run(&mcm_cmd_verify, verify_mirror, 3, argv);
		server_stop(&s, t);
		FUZZ_CHECK(rc == 0 || rc == 1, "verify exits %d", rc);
		return 0;
	}
	fuzz_tmpdir(dir, "import");
	snprintf(mirror, sizeof mirror, "%s/m", dir);
	rc = run(&mcm_cmd_import, mirror, 3, argv);
	server_stop(&s, t);
	FUZZ_CHECK(rc == 0 || rc == 1, "import exits %d", rc);
	check_imported(mirror, list, list_len, gets, gets_len);
	fuzz_rmtree(dir);
	return 0;
}
