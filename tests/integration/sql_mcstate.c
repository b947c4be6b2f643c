/* sql_mcstate.c - what a memcached pool holds for sql_writer's keys, to compare before and after a restore.
 *
 * usage: sql_mcstate SERVERS NKEYS
 *   Asks every server of SERVERS (host:port,...) for every key sql_writer
 *   writes ("k%05u" and "ns:k%05u", i < NKEYS) with pipelined quiet meta
 *   gets (mg KEY v f t k q, then mn) and prints one line per key a server
 *   holds, sorted by server then key:
 *     SERVER KEY FLAGS TTL VALUE_HEX      (TTL -1: no expiry)
 *   each server's lines after one "clock SERVER NOW": the Unix time the
 *   server's own clock said as it was read (a probe key set with an absolute
 *   expiry, its TTL read and the key deleted), so that its TTLs compare with
 *   absolute expiry times without its coarse, late-ticking clock in between.
 *   Exit 0, or 1 when a server cannot be read.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int connect_to(const char *host, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return -1;
	return fd;
}

/* Read until the buffer ends with "MN\r\n" at a reply boundary. @return bytes read or -1. */
static long read_all(int fd, char **buf)
{
	size_t cap = 1 << 20, len = 0;
	char *b = malloc(cap);

	while (b) {
		ssize_t n;

		if (len + 65536 > cap && !(b = realloc(b, cap *= 2)))
			break;
		if ((n = read(fd, b + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
		if (len >= 4 && memcmp(b + len - 4, "MN\r\n", 4) == 0 && (len == 4 || b[len - 5] == '\n')) {
			*buf = b;
			return (long)len;
		}
	}
	free(b);
	return -1;
}

/* The server's own "now" (see above) printed as a "clock" line. @return 0, or -1 on a bad reply. */
static int print_clock(int fd, const char *server)
{
	char req[128], buf[256];
	size_t len = 0;
	long exp = (long)time(NULL) + 100000, ttl;
	int lines = 0;
	char *hd;

	snprintf(req, sizeof req, "set mcstate:probe 0 %ld 1\r\nx\r\n"
		 "mg mcstate:probe t\r\ndelete mcstate:probe\r\n", exp);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -1;
	while (lines < 3) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);

		if (n <= 0)
			return -1;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[len + (size_t)i] == '\n';
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strncmp(buf, "STORED\r\n", 8) != 0 || !(hd = strstr(buf, "HD t")) || sscanf(hd, "HD t%ld", &ttl) != 1 ||
	    !strstr(buf, "DELETED\r\n"))
		return -1;
	printf("clock %s %ld\n", server, exp - ttl);
	return 0;
}

static int dump_server(const char *server, unsigned nkeys)
{
	char host[256], *colon, *buf, *p, *end, *req;
	size_t rlen = 0;
	long n;
	int fd;

	snprintf(host, sizeof host, "%s", server);
	if (!(colon = strrchr(host, ':')))
		return -1;
	*colon = '\0';
	if ((fd = connect_to(host, atoi(colon + 1))) < 0 || print_clock(fd, server) != 0 || !(req = malloc((size_t)nkeys * 2 * 40 + 8)))
		return -1;
	for (unsigned i = 0; i < nkeys; i++) {
		rlen += (size_t)sprintf(req + rlen, "mg k%05u v f t k q\r\n", i);
		rlen += (size_t)sprintf(req + rlen, "mg ns:k%05u v f t k q\r\n", i);
	}
	rlen += (size_t)sprintf(req + rlen, "mn\r\n");
	for (size_t off = 0; off < rlen;) {
		ssize_t w = write(fd, req + off, rlen - off);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	free(req);
	if ((n = read_all(fd, &buf)) < 0)
		return -1;
	close(fd);
	for (p = buf, end = buf + n; p < end;) {
		char *eol = memmem(p, (size_t)(end - p), "\r\n", 2), key[64] = "";
		long size, ttl = -1;
		unsigned long flags = 0;

		if (!eol)
			return -1;
		*eol = '\0';
		if (strcmp(p, "MN") == 0)
			break;
		if (sscanf(p, "VA %ld", &size) != 1)
			return -1;
		for (char *tok = strtok(p + 3, " "); tok; tok = strtok(NULL, " ")) {
			if (tok[0] == 'f')
				flags = strtoul(tok + 1, NULL, 10);
			else if (tok[0] == 't')
				ttl = strtol(tok + 1, NULL, 10);
			else if (tok[0] == 'k')
				snprintf(key, sizeof key, "%s", tok + 1);
		}
		p = eol + 2;
		printf("%s %s %lu %ld ", server, key, flags, ttl);
		for (long i = 0; i < size; i++)
			printf("%02x", (unsigned char)p[i]);
		printf("%s\n", size ? "" : "-");
		p += size + 2;
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	char *list, *s, *save = NULL;
	unsigned nkeys;

	if (argc != 3) {
		fprintf(stderr, "usage: sql_mcstate SERVERS NKEYS\n");
		return 2;
	}
	nkeys = (unsigned)strtoul(argv[2], NULL, 10);
	list = strdup(argv[1]);
	for (s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save))
		if (dump_server(s, nkeys) != 0) {
			fprintf(stderr, "sql_mcstate: cannot read '%s'\n", s);
			return 1;
		}
	free(list);
	return 0;
}
