/* shim_raw.c - plain-socket memcached requests for the shim tests (see shim_raw.h). */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim_raw.h"

/* A connected socket to "host:port" (numeric IPv4), or -1. */
static int raw_connect(const char *server)
{
	char host[64];
	const char *colon = strrchr(server, ':');
	struct sockaddr_in sa;
	size_t n;
	int fd;

	if (!colon || (n = (size_t)(colon - server)) >= sizeof host) {
		fprintf(stderr, "raw: bad server '%s'\n", server);
		return -1;
	}
	memcpy(host, server, n);
	host[n] = '\0';
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "raw: bad address '%s'\n", host);
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "raw: cannot connect to '%s': %s\n", server, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes. */
static int recv_all(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one line ending in CRLF, byte by byte (replies are short). */
static int recv_line(int fd, char *line, size_t size)
{
	size_t used = 0;

	while (used + 1 < size) {
		if (recv_all(fd, line + used, 1) != 0)
			return -1;
		if (line[used] == '\n') {
			if (used > 0 && line[used - 1] == '\r')
				used--;
			line[used] = '\0';
			return 0;
		}
		used++;
	}
	return -1;
}

int raw_request(const char *server, const char *request, size_t len, char *line, size_t size)
{
	int fd = raw_connect(server), rc = -1;

	if (fd < 0)
		return -1;
	if (send_all(fd, request, len) == 0 && recv_line(fd, line, size) == 0)
		rc = 0;
	else
		fprintf(stderr, "raw: request to '%s' failed\n", server);
	close(fd);
	return rc;
}

/* Parse "VA <size> f<flags> t<ttl>" into item (value not yet read). */
static int parse_header(const char *line, struct raw_item *item, size_t *size)
{
	const char *p;
	unsigned long long flags = 0;
	long long ttl = 0;
	int have_f = 0, have_t = 0;

	if (sscanf(line, "VA %zu", size) != 1)
		return -1;
	for (p = strchr(line + 3, ' '); p; p = strchr(p + 1, ' ')) {
		if (p[1] == 'f')
			have_f = sscanf(p + 2, "%llu", &flags) == 1;
		else if (p[1] == 't')
			have_t = sscanf(p + 2, "%lld", &ttl) == 1;
	}
	if (!have_f || !have_t)
		return -1;
	item->flags = (uint32_t)flags;
	item->ttl = ttl;
	return 0;
}

int raw_get(const char *server, const char *key, struct raw_item *item)
{
	char req[400], line[512] = "", crlf[2];
	size_t size = 0;
	int fd, n, rc = -1;

	n = snprintf(req, sizeof req, "mg %s v f t\r\n", key);
	if (n < 0 || (size_t)n >= sizeof req || (fd = raw_connect(server)) < 0)
		return -1;
	memset(item, 0, sizeof *item);
	if (send_all(fd, req, (size_t)n) != 0 || recv_line(fd, line, sizeof line) != 0)
		goto out;
	if (strcmp(line, "EN") == 0) {
		rc = 0;
		goto out;
	}
	if (parse_header(line, item, &size) != 0 || !(item->value = malloc(size + 1)))
		goto out;
	if (recv_all(fd, item->value, size) != 0 || recv_all(fd, crlf, 2) != 0) {
		free(item->value);
		item->value = NULL;
		goto out;
	}
	item->value[size] = '\0';
	item->value_len = size;
	rc = 1;
out:
	if (rc < 0)
		fprintf(stderr, "raw: mg '%s' on '%s' failed (reply '%s')\n", key, server, line);
	close(fd);
	return rc;
}

int raw_hold(const char *server, const char *request, size_t len)
{
	int fd = raw_connect(server);
	char first;

	/* one byte of the reply: the server has run the request */
	if (fd >= 0 && (send_all(fd, request, len) != 0 || recv_all(fd, &first, 1) != 0)) {
		fprintf(stderr, "raw: request to '%s' failed\n", server);
		close(fd);
		fd = -1;
	}
	return fd;
}

void raw_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
