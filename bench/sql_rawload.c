/* sql_rawload.c - the raw pipelined loader sql_bench.sh compares `replay --from` with: the bound set
 * by the network and memcached for a given number and size of items.
 *
 * usage: sql_rawload HOST:PORT ITEMS VALUE_SIZE
 *   Builds, before the clock starts, the stream `ms key:%08u <size> F<flags> q` + value for ITEMS
 *   items (the shape mkmirror writes), then sends it in 128 kB blocking writes, then `mn`, and waits
 *   for MN. Prints "raw ITEMS items in S s (R items/s)". Exit 0, or 1 when memcached cannot be
 *   reached or answers something else than MN (an error line from a refused item).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128u << 10)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	unsigned long items, size;
	char host[64], *colon, *stream, *w, reply[4096];
	size_t len, got = 0;
	double t0;
	int fd, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: sql_rawload HOST:PORT ITEMS VALUE_SIZE\n");
		return 2;
	}
	snprintf(host, sizeof host, "%s", argv[1]);
	items = strtoul(argv[2], NULL, 10);
	size = strtoul(argv[3], NULL, 10);
	if (!(colon = strrchr(host, ':')))
		return 2;
	*colon = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (!(stream = malloc(items * (size + 64) + 16)) || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return 1;
	for (w = stream, len = 0; len < items; len++) {
		w += sprintf(w, "ms key:%08lu %lu F%lu q\r\n", (unsigned long)len, size, (unsigned long)(len * 2654435761u));
		for (unsigned long j = 0; j < size; j++)
			*w++ = (char)('a' + (len + j) % 26);
		*w++ = '\r';
		*w++ = '\n';
	}
	w += sprintf(w, "mn\r\n");
	len = (size_t)(w - stream);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("sql_rawload: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	t0 = now_s();
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, stream + off, len - off < CHUNK ? len - off : CHUNK);

		if (n <= 0) {
			perror("sql_rawload: write");
			return 1;
		}
		off += (size_t)n;
	}
	while (got < 4 || memcmp(reply + got - 4, "MN\r\n", 4) != 0) {
		ssize_t n = read(fd, reply + got, sizeof reply - 1 - got);

		if (n <= 0 || (got += (size_t)n) >= sizeof reply - 1) {
			fprintf(stderr, "sql_rawload: unexpected answer: %.*s\n", (int)got, reply);
			return 1;
		}
	}
	if (got != 4) {
		fprintf(stderr, "sql_rawload: refused items: %.*s\n", (int)got, reply);
		return 1;
	}
	t0 = now_s() - t0;
	printf("raw %lu items in %.3f s (%.0f items/s)\n", items, t0, (double)items / t0);
	close(fd);
	free(stream);
	return 0;
}
