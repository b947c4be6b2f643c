/* log.c - the shim's messages: silent by default but for errors, once per cause,
 * to stderr or MCMIRROR_LOG_FILE, formatted on the stack and sent with one write(2). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define MAX_MESSAGES 100 /* per process: a broken setup must not flood the host's log */

static int logged[MCM_CAUSE_COUNT];
static unsigned messages;

static void vlog(const char *kind, const char *fmt, va_list ap)
{
	const struct mcm_config *cfg = mcm_config_peek();
	char buf[1024];
	int saved = errno, fd = STDERR_FILENO, n;

	if (__atomic_fetch_add(&messages, 1, __ATOMIC_RELAXED) >= MAX_MESSAGES)
		goto out;
	n = snprintf(buf, sizeof buf, "libmcmirror[%d]: %s", (int)getpid(), kind);
	if (n < 0 || (size_t)n >= sizeof buf)
		goto out;
	vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	if (cfg->log_file[0] && (fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		goto out;
	(void)!write(fd, buf, (size_t)n);
	if (fd != STDERR_FILENO)
		close(fd);
out:
	errno = saved;
}

void mcm_log(int level, const char *fmt, ...)
{
	static const char *const kinds[] = {"", "error: ", "warning: ", "debug: "};
	va_list ap;

	if (level < 1 || level > 3 || level > mcm_config_peek()->log_level)
		return;
	va_start(ap, fmt);
	vlog(kinds[level], fmt, ap);
	va_end(ap);
}

void mcm_log_once(enum mcm_cause cause, const char *fmt, ...)
{
	va_list ap;

	if (cause >= MCM_CAUSE_COUNT || __atomic_exchange_n(&logged[cause], 1, __ATOMIC_RELAXED))
		return;
	if (mcm_config_peek()->log_level < 1)
		return;
	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

void mcm_log_reset(void)
{
	for (int i = 0; i < MCM_CAUSE_COUNT; i++)
		__atomic_store_n(&logged[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&messages, 0, __ATOMIC_RELAXED);
}
