/* auth.c - read the credentials file (mode checked, settings parsed), never echoing a secret. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"

#define FILE_MAX 65536

void mcm_auth_wipe(struct mcm_auth *a)
{
	explicit_bzero(a->user, sizeof a->user);
	explicit_bzero(a->password, sizeof a->password);
	a->user_len = a->password_len = 0;
}

const char *mcm_auth_mech_name(enum mcm_auth_mech m)
{
	return m == MCM_AUTH_PLAIN ? "plain" : "authfile";
}

/* Is path inside $CREDENTIALS_DIRECTORY (systemd keeps that private to the service)? */
static int systemd_credential(const char *path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	size_t len = dir ? strlen(dir) : 0;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return len > 1 && strncmp(path, dir, len) == 0 && path[len] == '/';
}

/* Open the file and check what it is and who may read it. @return the fd, or -1 with why set. */
static int open_private(const char *path, char *why, size_t why_size)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(why, why_size, "cannot open credentials file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, why_size, "credentials file '%s' is not a regular file", path);
	} else if ((sb.st_mode & 077) && !systemd_credential(path)) {
		snprintf(why, why_size, "credentials file '%s' is %s by its group or others (mode %04o): make it"
			 " private to its owner (chmod 600)", path, sb.st_mode & 044 ? "readable" : "accessible",
			 (unsigned)(sb.st_mode & 07777));
	} else if (sb.st_size > FILE_MAX) {
		snprintf(why, why_size, "credentials file '%s' is larger than %d bytes", path, FILE_MAX);
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* Store value (len bytes) in field. @return 0, or -1 with why set. */
static int take(char *field, size_t *field_len, const char *value, size_t len, int blanks_ok, const char *what,
		const char *path, unsigned line, char *why, size_t why_size)
{
	if (len == 0 || len > MCM_AUTH_FIELD_MAX) {
		snprintf(why, why_size, "credentials file '%s' line %u: the %s must be 1 to %d bytes", path, line, what,
			 MCM_AUTH_FIELD_MAX);
		return -1;
	}
	if (!blanks_ok && (memchr(value, ' ', len) || memchr(value, '\t', len))) {
		snprintf(why, why_size, "credentials file '%s' line %u: the %s holds a blank", path, line, what);
		return -1;
	}
	memcpy(field, value, len);
	field[len] = '\0';
	*field_len = len;
	return 0;
}

/* One line (without its '\n'). @return 0, or -1 with why set. */
static int setting(struct mcm_auth *a, char *s, size_t len, unsigned line, char *why, size_t why_size)
{
	size_t name_len = 0, at;

	if (len && s[len - 1] == '\r')
		len--;
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (len == 0 || *s == '#')
		return 0;
	while (name_len < len && s[name_len] != ' ' && s[name_len] != '\t')
		name_len++;
	for (at = name_len; at < len && (s[at] == ' ' || s[at] == '\t'); at++)
		;
	if (name_len == 4 && memcmp(s, "user", 4) == 0)
		return take(a->user, &a->user_len, s + at, len - at, 0, "user", a->path, line, why, why_size);
	if (name_len == 8 && memcmp(s, "password", 8) == 0)
		return take(a->password, &a->password_len, s + at, len - at, 1, "password", a->path, line, why, why_size);
	if (name_len == 9 && memcmp(s, "mechanism", 9) == 0) {
		if (len - at == 8 && strncasecmp(s + at, "authfile", 8) == 0)
			a->mech = MCM_AUTH_AUTHFILE;
		else if (len - at == 5 && strncasecmp(s + at, "plain", 5) == 0)
			a->mech = MCM_AUTH_PLAIN;
		else {
			snprintf(why, why_size, "credentials file '%s' line %u: unknown mechanism: want 'authfile'"
				 " (memcached -Y) or 'plain' (SASL, memcached -S)", a->path, line);
			return -1;
		}
		return 0;
	}
	/* the line is not echoed: it may be a secret written in another format */
	snprintf(why, why_size, "credentials file '%s' line %u: unknown setting: a line is 'mechanism ...', 'user ...'"
		 " or 'password ...'", a->path, line);
	return -1;
}

static int parse(struct mcm_auth *a, char *buf, size_t len, char *why, size_t why_size)
{
	unsigned line = 1;

	for (size_t off = 0; off < len; line++) {
		char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;

		if (memchr(buf + off, '\0', n)) {
			snprintf(why, why_size, "credentials file '%s' line %u: a NUL byte", a->path, line);
			return -1;
		}
		if (setting(a, buf + off, n, line, why, why_size) != 0)
			return -1;
		off += n + 1;
	}
	if (!a->mech || !a->user_len || !a->password_len) {
		snprintf(why, why_size, "credentials file '%s' has no '%s' line", a->path,
			 !a->mech ? "mechanism authfile|plain" : !a->user_len ? "user NAME" : "password SECRET");
		return -1;
	}
	if (a->mech == MCM_AUTH_AUTHFILE && (memchr(a->password, ' ', a->password_len) ||
					     memchr(a->password, '\t', a->password_len))) {
		snprintf(why, why_size, "credentials file '%s': the password holds a blank, which memcached's"
			 " text-protocol authentication (-Y, 'mechanism authfile') cannot take", a->path);
		return -1;
	}
	return 0;
}

int mcm_auth_load(struct mcm_auth *a, const char *path, char *why, size_t why_size)
{
	char *buf = malloc(FILE_MAX + 1);
	ssize_t n = 0, got;
	int fd, rc = -1;

	memset(a, 0, sizeof *a);
	snprintf(a->path, sizeof a->path, "%s", path);
	if (!buf) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	if ((fd = open_private(path, why, why_size)) < 0) {
		free(buf);
		return -1;
	}
	while (n <= FILE_MAX && (got = read(fd, buf + n, (size_t)(FILE_MAX + 1 - n))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(why, why_size, "cannot read credentials file '%s': %s", path, strerror(errno));
			n = -1;
			break;
		}
		n += got;
	}
	close(fd);
	if (n > FILE_MAX)
		snprintf(why, why_size, "credentials file '%s' is larger than %d bytes", path, FILE_MAX);
	else if (n >= 0)
		rc = parse(a, buf, (size_t)n, why, why_size);
	explicit_bzero(buf, FILE_MAX + 1);
	free(buf);
	if (rc != 0)
		mcm_auth_wipe(a);
	return rc;
}
