/* fuzz.c - helpers shared by the libFuzzer targets (see fuzz.h). */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/* A copy of stderr taken before main(): libFuzzer's -close_fd_mask=2 (which keeps the code under
 * test quiet) sends fd 2 to /dev/null, not this. */
static int report_fd = STDERR_FILENO;

__attribute__((constructor)) static void keep_stderr(void)
{
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

	if (fd >= 0)
		report_fd = fd;
}

void fuzz_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n = snprintf(msg, sizeof msg, "fuzz: invariant broken: ");

	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof msg - 2)
		n = (int)sizeof msg - 2;
	msg[n++] = '\n';
	(void)!write(report_fd, msg, (size_t)n);
	abort();
}

void fuzz_tmpdir(char *buf, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, 4096, "%s/mcm-fuzz-%s-XXXXXX", base && *base ? base : "/tmp", name);
	if (!mkdtemp(buf)) {
		perror(buf);
		abort();
	}
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

void fuzz_rmtree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len) || close(fd) != 0) {
		perror(path);
		abort();
	}
}

char *fuzz_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) == (size_t)size) {
		buf[size] = '\0';
		*len = (size_t)size;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;

	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

static uint64_t take(struct fuzz_in *in, size_t size)
{
	size_t got;
	const uint8_t *p = fuzz_bytes(in, size, &got);
	uint64_t v = 0;

	for (size_t i = 0; i < got; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	return (uint8_t)take(in, 1);
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	return (uint16_t)take(in, 2);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	return (uint32_t)take(in, 4);
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	return take(in, 8);
}
