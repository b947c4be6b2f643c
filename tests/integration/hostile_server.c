/* hostile_server.c - a fake memcached that sends what no real memcached can: reply lengths beyond any
 * item, listings with raw control bytes in a key, flags and ttls out of any memcached's range.
 *
 * usage: hostile_server PORTFILE SETTINGS VALUE_REPLY [LISTING]
 *   Listens on a free 127.0.0.1 port (written to PORTFILE once it listens), serves every
 *   connection in one poll loop, answers each request line:
 *     stats settings  SETTINGS as one STAT line then END ("STAT item_size_max 1048576"),
 *                     or ERROR when SETTINGS is "-" (a server that refuses the command)
 *     stats           "STAT evictions 0", END
 *     mg ...          VALUE_REPLY + "\r\n" (e.g. "VA 3000000000 f0 t-1"), then a few value
 *                     bytes, and nothing more: the length announced never arrives
 *                     (VALUE_REPLY "EN": a miss, "EN\r\n" alone; "VA 8 ...": the whole value,
 *                     "abcdefgh\r\n", for flags no memcached sends)
 *     lru_crawler metadump all   LISTING, or one key ("key=hostile:1 ..."), then END
 *     mn              MN; anything else: ERROR
 *   VALUE_REPLY "LONG" sends a 20,000-byte line without its end instead.
 * Only for the hostile-bytes cases of test_reply_bounds.sh: everything a real memcached can
 * answer is tested against a real memcached. Runs until killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLIENTS 16
#define LINE 4096

struct client {
	int fd;
	char buf[LINE];
	size_t len;
};

static const char *settings, *value_reply,
	*listing = "key=hostile:1 exp=-1 la=1 cas=1 fetch=no cls=1 size=64\r\n";

static void put(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void answer(int fd, const char *line)
{
	char out[LINE + 64];

	if (strcmp(line, "stats settings") == 0) {
		if (strcmp(settings, "-") == 0) {
			put(fd, "ERROR\r\n");
		} else {
			snprintf(out, sizeof out, "%s\r\nEND\r\n", settings);
			put(fd, out);
		}
	} else if (strcmp(line, "stats") == 0) {
		put(fd, "STAT evictions 0\r\nEND\r\n");
	} else if (strncmp(line, "mg ", 3) == 0) {
		if (strcmp(value_reply, "LONG") == 0) {
			char *long_line = malloc(20001);

			memset(long_line, 'x', 20000);
			long_line[20000] = '\0';
			put(fd, long_line);
			free(long_line);
			return;
		}
		snprintf(out, sizeof out, "%s\r\n%s", value_reply,
			 strcmp(value_reply, "EN") == 0 ? "" : strncmp(value_reply, "VA 8 ", 5) == 0 ? "abcdefgh\r\n" : "abcdefgh");
		put(fd, out);
	} else if (strcmp(line, "lru_crawler metadump all") == 0) {
		put(fd, listing);
		put(fd, "END\r\n");
	} else if (strcmp(line, "mn") == 0) {
		put(fd, "MN\r\n");
	} else {
		put(fd, "ERROR\r\n");
	}
}

/* Answer every complete line of c; @return -1 when the client is gone. */
static int serve(struct client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
	char *nl;

	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while ((nl = strstr(c->buf, "\r\n"))) {
		*nl = '\0';
		answer(c->fd, c->buf);
		c->len -= (size_t)(nl + 2 - c->buf);
		memmove(c->buf, nl + 2, c->len + 1);
	}
	if (c->len == sizeof c->buf - 1)
		c->len = 0; /* an overlong request: drop it */
	return 0;
}

static int listen_free(const char *portfile)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	FILE *f;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("hostile_server: listen");
		exit(1);
	}
	if (!(f = fopen(portfile, "w")) || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(f) != 0) {
		perror("hostile_server: port file");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct client clients[CLIENTS];
	struct pollfd pfd[CLIENTS + 1];
	int lfd;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: hostile_server PORTFILE SETTINGS VALUE_REPLY [LISTING]\n");
		return 2;
	}
	settings = argv[2];
	value_reply = argv[3];
	if (argc == 5)
		listing = argv[4];
	lfd = listen_free(argv[1]);
	for (int i = 0; i < CLIENTS; i++)
		clients[i].fd = -1;
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (int i = 0; i < CLIENTS; i++) {
			pfd[i + 1].fd = clients[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, CLIENTS + 1, -1) < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);

			for (int i = 0; fd >= 0 && i < CLIENTS; i++) {
				if (clients[i].fd < 0) {
					clients[i].fd = fd;
					clients[i].len = 0;
					fd = -1;
				}
			}
			if (fd >= 0)
				close(fd);
		}
		for (int i = 0; i < CLIENTS; i++) {
			if (clients[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    serve(&clients[i]) != 0) {
				close(clients[i].fd);
				clients[i].fd = -1;
			}
		}
	}
}
