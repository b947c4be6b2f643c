/* config.c - the MCMIRROR_* environment variables, read once per process, when it loads the library.
 *
 *   MCMIRROR_PATH       mirror directory (default /var/lib/mcmirror)
 *   MCMIRROR_DISABLE    1/yes/true/on: pass every call through untouched
 *   MCMIRROR_ONLY_CMDS  comma-separated program names: mirror only these
 *   MCMIRROR_SKIP_CMDS  comma-separated program names: never mirror these
 *   MCMIRROR_SYNC       always | everysec (default) | none  (docs/DURABILITY.md)
 *   MCMIRROR_MAPSIZE    initial LMDB map size, bytes with optional K/M/G suffix
 *   MCMIRROR_JOURNAL_SIZE  size of the shared write journal when it is created (default 64M)
 *   MCMIRROR_LOG        0 silent, 1 errors (default), 2 warnings, 3 debug
 *   MCMIRROR_LOG_FILE   append messages to this file instead of stderr
 *   MCMIRROR_MAX_BYTES  cap on the mirror's records (K/M/G suffix; default none): the oldest go first
 *   MCMIRROR_TOMBSTONE_TTL  seconds a tombstone or expired record is kept for a follower that has
 *                       not passed it (default 86400)
 * A process named "mcmirror" (the tool) is never mirrored. An invalid value
 * is reported once and the default used: the host is never stopped.
 *
 * Everything is read from the library's constructor, before the program's
 * main(), and the strings are copied into this file's own buffers: programs
 * that set their process title write over the block that held argv and the
 * environment (PostgreSQL, php-fpm, nginx-style setproctitle), so a pointer
 * kept from getenv() would later point at the title. A value longer than its
 * buffer is refused, once, with a message.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcm_store.h"
#include "shim.h"

static struct mcm_config config;

/* Copy the value s of var into dst (size bytes); 0, or -1 (logged, with
 * what happens instead) when it does not fit. */
static int copy_value(char *dst, size_t size, const char *var, const char *s, const char *instead)
{
	size_t len = strlen(s);

	if (len >= size) {
		mcm_log_once(MCM_CAUSE_CONFIG, "refusing %s: %zu bytes, longer than the %zu this library keeps; %s",
			     var, len, size - 1, instead);
		return -1;
	}
	memcpy(dst, s, len + 1);
	return 0;
}
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/* 1 true, 0 false, -1 invalid */
static int parse_bool(const char *s)
{
	static const char *const yes[] = {"1", "yes", "true", "on"}, *const no[] = {"0", "no", "false", "off", ""};

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -1;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Is name one of the comma-separated words of list? */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len + (comma != NULL);
	}
	return 0;
}

static void bad_value(const char *var, const char *value, const char *fallback)
{
	mcm_log_once(MCM_CAUSE_CONFIG, "ignoring %s='%s': not a valid value; using %s", var, value, fallback);
}

static void read_sync(void)
{
	const char *s = getenv("MCMIRROR_SYNC");

	config.sync = MCM_SYNC_EVERYSEC;
	if (!s || !*s || strcasecmp(s, "everysec") == 0)
		return;
	if (strcasecmp(s, "always") == 0)
		config.sync = MCM_SYNC_ALWAYS;
	else if (strcasecmp(s, "none") == 0)
		config.sync = MCM_SYNC_NONE;
	else
		bad_value("MCMIRROR_SYNC", s, "everysec");
}

static void read_enabled(void)
{
	const char *s, *me = program_invocation_short_name;
	int b;

	config.enabled = strcmp(me, "mcmirror") != 0;
	if ((s = getenv("MCMIRROR_DISABLE")) && (b = parse_bool(s)) != 0) {
		if (b < 0)
			bad_value("MCMIRROR_DISABLE", s, "disabled (to be safe)");
		config.enabled = 0;
	}
	if ((s = getenv("MCMIRROR_ONLY_CMDS")) && *s && !in_list(s, me))
		config.enabled = 0;
	if ((s = getenv("MCMIRROR_SKIP_CMDS")) && *s && in_list(s, me))
		config.enabled = 0;
}

static void read_config(void)
{
	const char *s;

	config.log_level = 1;
	if ((s = getenv("MCMIRROR_LOG_FILE")) && *s)
		copy_value(config.log_file, sizeof config.log_file, "MCMIRROR_LOG_FILE", s,
			   "messages go to stderr");
	if ((s = getenv("MCMIRROR_LOG")) && *s) {
		if (strlen(s) == 1 && s[0] >= '0' && s[0] <= '3')
			config.log_level = s[0] - '0';
		else
			bad_value("MCMIRROR_LOG", s, "1");
	}
	if (copy_value(config.path, sizeof config.path, "MCMIRROR_PATH", mcm_store_default_path(),
		       "writes pass through unmirrored") != 0)
		config.path_refused = 1;
	if ((s = getenv("MCMIRROR_MAPSIZE")) && *s && parse_size(s, &config.mapsize) != 0) {
		config.mapsize = 0;
		bad_value("MCMIRROR_MAPSIZE", s, "the default");
	}
	if ((s = getenv("MCMIRROR_JOURNAL_SIZE")) && *s && parse_size(s, &config.journal_size) != 0) {
		config.journal_size = 0;
		bad_value("MCMIRROR_JOURNAL_SIZE", s, "the default");
	}
	if ((s = getenv("MCMIRROR_MAX_BYTES")) && *s && parse_size(s, &config.max_bytes) != 0) {
		config.max_bytes = 0;
		bad_value("MCMIRROR_MAX_BYTES", s, "no cap");
	}
	config.tombstone_ttl = MCM_TOMBSTONE_TTL_DEFAULT;
	if ((s = getenv("MCMIRROR_TOMBSTONE_TTL")) && *s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);

		if (*end || end == s || v < MCM_SWEEP_MIN_AGE || v > 10UL * 365 * 86400)
			bad_value("MCMIRROR_TOMBSTONE_TTL", s, "86400 (it must be 300 .. 315360000 seconds)");
		else
			config.tombstone_ttl = (unsigned)v;
	}
	if ((s = getenv("MCMIRROR_TEST_DRAIN_STEP")) && *s) /* (a test knob: no message) */
		config.drain_step = (unsigned)strtoul(s, NULL, 10);
	read_sync();
	read_enabled();
	if (config.path_refused)
		config.enabled = 0;
}

const struct mcm_config *mcm_config_peek(void)
{
	return &config;
}

const struct mcm_config *mcm_config_get(void)
{
	static int ready; /* after read_config: one load instead of pthread_once on every call */

	if (__builtin_expect(!__atomic_load_n(&ready, __ATOMIC_ACQUIRE), 0)) {
		pthread_once(&config_once, read_config);
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	return &config;
}

/* At load time, before the program can rewrite its environment block. */
__attribute__((constructor)) static void mcm_config_init(void)
{
	mcm_config_get();
}
