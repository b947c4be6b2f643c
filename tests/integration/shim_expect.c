/* shim_expect.c - the shim driver's table of touched keys and what each must be (see shim_drive.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "shim_drive.h"

/* One note; the table only grows, and the last note of a key wins. */
struct note {
	char *servers;
	char *key;       /* wire key: namespace + key */
	size_t ns_len;
	char server, mirror;
	char *group;     /* "-", "=" or "g:<group>" */
};

static struct {
	pthread_mutex_t lock;
	struct note *v;
	size_t n, cap;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p) {
		perror("drive");
		exit(1);
	}
	return p;
}

static char *group_column(const char *group)
{
	char *s;

	if (group == GROUP_ANY)
		return xstrdup("-");
	if (group[0] == '\0')
		return xstrdup("=");
	if (!(s = malloc(strlen(group) + 3))) {
		perror("drive");
		exit(1);
	}
	sprintf(s, "g:%s", group);
	return s;
}

/* Append a note; the caller holds the lock. */
static void append(const char *servers, const char *wire, size_t ns_len, char server, char mirror, char *group)
{
	if (table.n == table.cap) {
		table.cap = table.cap ? table.cap * 2 : 256;
		if (!(table.v = realloc(table.v, table.cap * sizeof *table.v))) {
			perror("drive");
			exit(1);
		}
	}
	table.v[table.n++] = (struct note){xstrdup(servers), xstrdup(wire), ns_len, server, mirror, group};
}

void expect_note(const struct drv *d, const char *key, char server, char mirror, const char *group)
{
	char wire[512];

	snprintf(wire, sizeof wire, "%s%s", d->ns, key);
	pthread_mutex_lock(&table.lock);
	append(d->servers, wire, strlen(d->ns), server, mirror, group_column(group));
	pthread_mutex_unlock(&table.lock);
}

void expect_flush(const char *servers)
{
	size_t n;

	pthread_mutex_lock(&table.lock);
	n = table.n;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(table.v[i].servers, servers) != 0)
			continue;
		append(servers, table.v[i].key, table.v[i].ns_len, SRV_ABSENT, MIR_EXACT, xstrdup("-"));
	}
	pthread_mutex_unlock(&table.lock);
}

void expect_reset(void)
{
	pthread_mutex_lock(&table.lock);
	table.n = 0; /* the strings leak: a child exits soon */
	pthread_mutex_unlock(&table.lock);
}

int expect_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	FILE *f;
	int rc = 0;

	if (fd < 0 || !(f = fdopen(fd, "a"))) {
		fprintf(stderr, "drive: cannot open '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	flock(fd, LOCK_EX); /* forked children append at the same time */
	pthread_mutex_lock(&table.lock);
	for (size_t i = 0; i < table.n; i++) {
		const struct note *t = &table.v[i];

		fprintf(f, "%s\t%zu\t%s\t%c\t%c\t%s\n", t->servers, t->ns_len, t->key, t->server, t->mirror,
			t->group);
	}
	pthread_mutex_unlock(&table.lock);
	if (fflush(f) != 0) {
		fprintf(stderr, "drive: cannot write '%s': %s\n", path, strerror(errno));
		rc = -1;
	}
	flock(fd, LOCK_UN);
	fclose(f);
	return rc;
}
