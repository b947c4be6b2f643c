/* cmd_import.c - `mcmirror import`: fill the mirror from what live memcached servers hold now.
 *
 * For each server of --servers, one connection reads `lru_crawler
 * metadump all` (one line per item, keys URL-encoded; memcached >= 1.4.31)
 * into an unlinked spool file as fast as the server sends it: the crawler
 * skips items whose lock another connection holds, so nothing else of ours
 * runs meanwhile. Then a second connection fetches each listed key with a
 * pipelined meta get, `mg <key> [b] v f t u`: value, client flags and
 * remaining TTL, without bumping the item in the LRU. At most WINDOW keys
 * are in flight and records go to the store in batches, so memory does not
 * grow with the server's size (the spool, on disk, does: ~100 bytes a key).
 *
 * Records are written with MCM_OP_RESTORE into the pool --servers names,
 * stamped with the time their `mg` was sent: an application write mirrored
 * after that moment wins over the imported value, one mirrored before it
 * loses to it (the value read includes it). The walk is not a point in time:
 * keys written during it may be seen before or after the write.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "fsutil.h"
#include "json.h"
#include "mcm_drain.h"
#include "mcm_store.h"
#include "mcmirror.h"
#include "meta.h"
#include "pipe.h"
#include "progress.h"
#include "source.h"
#include "target.h"

#define CMD "import"
#define WINDOW 8192                 /* keys fetched and not yet answered, per server */
#define BATCH 1000                  /* records per transaction */
#define ARENA_SIZE ((size_t)8 << 20) /* key and value bytes per transaction */
#define ARENA_START ((size_t)64 << 10) /* the arena's first size */
#define DUMP_BUF (256u << 10)       /* metadump read buffer */
#define SEND_AT (64u << 10)
#define BUSY_TRIES 20               /* the crawler is busy: retry for about 10 s */
#define ERRORS_SHOWN 10

struct import_opts {
	struct mcm_target_opts t;
	int pool_from_servers;
	const char *from;          /* --from URL: an external store instead (import_from.c) */
};

/* A key whose `mg` is in flight. */
struct pending {
	uint64_t sent_us;
	uint16_t len;
	char key[MCM_PIPE_KEY_MAX];
};

/* The metadump connection's unparsed bytes. */
struct dumpbuf {
	char *buf;
	size_t off, len;
	int done;
};

struct import {
	const struct mcm_global *g;
	const struct import_opts *o;
	struct mcm_target t;
	struct mcm_store *st;
	struct mcm_pool pool;      /* the descriptor records are written with */
	uint32_t server;           /* the server being walked */
	struct mcm_pipe a, b;      /* metadump, gets */
	struct dumpbuf d;          /* of the spool */
	int spool;                 /* the metadump, spooled: an unlinked temporary file */
	struct pending *fifo;      /* WINDOW entries, a ring */
	size_t head, count;
	struct mcm_mutation m[BATCH];
	size_t nm;
	char *arena;
	size_t used, cap;
	uint64_t listed, imported, gone, misplaced, failed, filtered;
	uint64_t errors_shown;
	int stop;                  /* a fatal error was reported */
	int write_failed;          /* the mirror refused a batch (reported once) */
	int had_data;              /* the mirror had a data.mdb before: a failed import removes only its own */
	int had_dir;
	struct mcm_cli_ids ids;    /* the mirror's owner, when root imports into a user's mirror */
	double start;
	struct mcm_progress pg;
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] [-q | -v] import --servers SERVERS [options]\n"
		"       mcmirror [--mirror DIR] [-q | -v] import --from URL [--pool ID]\n"
		"\n"
		"Fill the mirror from what live memcached servers hold: every item's key,\n"
		"value, flags and remaining time to live. Each server's keys are listed with\n"
		"'lru_crawler metadump all' (memcached >= 1.4.31, crawler enabled), spooled to\n"
		"a temporary file in $TMPDIR (about 100 bytes a key), then fetched with\n"
		"pipelined meta gets ('mg <key> v f t u'), a bounded window at a time.\n"
		"Records go into the pool SERVERS names (created if the mirror has none),\n"
		"stamped with the time they were read: a newer mirrored write wins over\n"
		"them. The walk is NOT a point-in-time snapshot: keys that change during it\n"
		"may be missing or out of step with each other, and memcached's crawler\n"
		"skips items that other clients hold locked as it passes. Namespaces and\n"
		"group keys cannot be seen on the server: records are plain keys.\n"
		"\n"
		"SERVERS is a list 'host:port[,host:port...]' (a bare host is port 11211,\n"
		"IPv6 is [::1]:11211 or ::1, an entry with a '/' is a unix socket), or a\n"
		"libmemcached configuration string ('--SERVER=a:11211\n"
		"--SERVER=b:11211 --DISTRIBUTION=consistent').\n"
		"\n"
		"options:\n"
		"  -s, --servers SERVERS    the servers to read (required)\n"
		"  -F, --pool-from-servers  take the pool's distribution and hashes from\n"
		"                           SERVERS, and record them (default: when the\n"
		"                           mirror already has this pool, place keys with\n"
		"                           the distribution and hashes it recorded)\n"
		"  -o, --only-server H:P    walk only this server of SERVERS\n"
		"  -P, --prefix P           only keys starting with P\n"
		"  -t, --timeout SECS       give up on a server that answers nothing for\n"
		"                           SECS seconds (default: 5)\n"
		"  -f, --from URL           read an external store that 'mcmirror follow --to'\n"
		"                           fed instead of memcached (postgresql://...,\n"
		"                           mysql://..., mariadb://...; docs/SQL.md): every\n"
		"                           pool, or the --pool ID one, with each key's newest\n"
		"                           write of any host, deletions included (a newer\n"
		"                           record of the mirror wins)\n"
		"  -p, --pool ID            with --from: only this pool\n"
		MCM_PROTECT_HELP
		"  -h, --help               this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s),\n"
		"created if missing\n"
		"\n"
		"With several servers, a key found on a server that the pool's hashing does\n"
		"not pick for it is skipped (counted 'misplaced'): the application's client\n"
		"would never read it there. At the end a summary goes to stderr:\n"
		"  mcmirror: import: imported N, gone G, misplaced M, failed F in S s\n"
		"'gone': listed, then deleted or expired before it was fetched; 'failed':\n"
		"refused by the server, unreadable, or not written (the mirror's disk is\n"
		"full). With --json, a JSON summary line on stdout. A failed import that\n"
		"wrote nothing leaves no mirror behind that it created. Run as root into a\n"
		"user's mirror, the files it creates are that user's.\n"
		"exit status: 0 every listed key was imported or legitimately gone or\n"
		"skipped; 1 a failure, a server that refuses the crawler, or an\n"
		"interruption (the records imported so far stay); 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

static int parse_args(int argc, char **argv, const struct mcm_global *g, struct import_opts *o)
{
	static const struct option opts[] = {
		{"servers", required_argument, NULL, 's'}, {"pool-from-servers", no_argument, NULL, 'F'},
		{"only-server", required_argument, NULL, 'o'}, {"prefix", required_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		MCM_PROTECT_LONG_OPTIONS,
		{"from", required_argument, NULL, 'f'},    {"pool", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(o, 0, sizeof *o);
	mcm_target_opts_init(&o->t);
	while ((c = getopt_long(argc, argv, "s:Fo:P:t:hf:p:", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, g);
			return -1;
		}
		if (c == 'F') {
			o->pool_from_servers = 1;
			continue;
		}
		if (c == 'f') {
			o->from = optarg;
			continue;
		}
		rc = mcm_target_option(CMD, c, optarg, &o->t);
		if (rc != 0)
			return rc == 1 ? mcm_cli_usage_error(CMD, "unknown option") : rc;
	}
	if (o->from) {
		if (o->t.servers || o->t.only || o->t.prefix || o->pool_from_servers)
			return mcm_cli_usage_error(CMD, "--from reads an external store: --servers, --only-server, "
						   "--prefix and --pool-from-servers do not go with it");
		if (optind < argc)
			return mcm_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
		return 0;
	}
	if (o->t.have_pool)
		return mcm_cli_usage_error(CMD, "--pool goes with --from (with --servers the pool is SERVERS)");
	if ((rc = mcm_target_opts_check(CMD, argc, argv, &o->t)) != 0)
		return rc;
	if (o->t.guard && o->t.guard->auth && o->t.guard->auth->mech == MCM_AUTH_PLAIN)
		return mcm_cli_usage_error(CMD, "cannot import from a SASL server ('mechanism plain' in '%s'): listing"
					   " its keys needs the text protocol (lru_crawler metadump), which memcached"
					   " turns off with -S", o->t.guard->auth->path);
	return 0;
}

/* --- writing records ---------------------------------------------------- */

static int flush_records(struct import *im)
{
	const char *path = mcm_cli_mirror_path(im->g);
	int rc;

	if (im->write_failed) { /* said once: what would have gone in the batch counts as failed */
		im->failed += im->nm;
		im->nm = 0;
		im->used = 0;
		return -1;
	}
	if ((rc = im->nm ? mcm_store_apply(im->st, im->m, im->nm) : 0) != 0) {
		mcm_progress_clear(&im->pg);
		mcm_cli_error(CMD, "cannot write mirror '%s': %s", path, mcm_strerror(mcm_cli_write_error(path, rc)));
		im->stop = im->write_failed = 1;
		im->failed += im->nm;
		im->nm = 0;
		im->used = 0;
		return -1;
	}
	im->imported += im->nm;
	im->nm = 0;
	im->used = 0;
	return 0;
}

/* Room for need bytes of the next record: write the batch first when full (the
 * arena grows then, mcm_cli_arena_next). */
static char *arena_take(struct import *im, size_t need)
{
	if (im->nm == BATCH || im->used + need > im->cap) {
		size_t want = mcm_cli_arena_next(im->cap, need, ARENA_SIZE);

		if (flush_records(im) != 0)
			return NULL;
		if (want > im->cap) { /* the batch is empty: nothing points into the arena */
			char *a = realloc(im->arena, want);
			if (!a) {
				mcm_cli_error(CMD, "out of memory for a value of %zu bytes", need);
				im->stop = 1;
				return NULL;
			}
			im->arena = a;
			im->cap = want;
		}
	}
	im->used += need;
	return im->arena + im->used - need;
}

/* "VA <len> f<flags> t<ttl>": the value of key k. @return 0, or -1 when the reply lacks
 * the flags or the ttl asked for, or holds one no memcached sends (nothing is written:
 * a value with the wrong flags would be a wrong value). */
static int add_record(struct import *im, const struct pending *k, const struct mcm_reply *r)
{
	long long flags, ttl;
	struct mcm_mutation *m;
	char *a;

	if (mcm_reply_flag(r, 'f', 0, MCM_REPLY_FLAGS_MAX, &flags) != 0 ||
	    mcm_reply_flag(r, 't', -1, MCM_REPLY_TTL_MAX, &ttl) != 0)
		return -1;
	if (!(a = arena_take(im, k->len + r->data_len + 1))) {
		im->failed++; /* not written (reported once) */
		return 0;
	}
	m = &im->m[im->nm++];
	memset(m, 0, sizeof *m);
	m->op = MCM_OP_RESTORE;
	m->kind = MCM_KIND_VALUE;
	m->pool = &im->pool;
	m->key = memcpy(a, k->key, k->len);
	m->key_len = k->len;
	m->group = "";
	m->value = a + k->len;
	if (r->data_len)
		memcpy(a + k->len, r->data, r->data_len);
	m->value_len = r->data_len;
	m->flags = (uint32_t)flags;
	m->exptime = ttl < 0 ? 0 : (int64_t)time(NULL) + ttl;
	m->wtime_us = k->sent_us;
	return 0;
}

static void on_reply(struct mcm_pipe *p, const struct mcm_reply *r, void *ctx)
{
	struct import *im = ctx;
	const struct pending *k;

	if (im->count == 0) {
		mcm_cli_warn(CMD, "'%s' answered a get that was not sent: %s", p->name, mcm_cli_shown(r->line, r->len, 80));
		return;
	}
	k = &im->fifo[im->head];
	im->head = (im->head + 1) % WINDOW;
	im->count--;
	p->expect--;
	if (r->data && add_record(im, k, r) == 0)
		return;
	if (!r->data && r->len == 2 && memcmp(r->line, "EN", 2) == 0) {
		im->gone++;
		return;
	}
	im->failed++;
	if (im->errors_shown++ < ERRORS_SHOWN || im->g->verbose) {
		mcm_progress_clear(&im->pg);
		mcm_cli_error(CMD, "'%s' %s a get of '%s': %s", p->name,
			      r->data ? "answered without valid flags and ttl" : "refused",
			      mcm_cli_shown(k->key, k->len, 200), mcm_cli_shown(r->line, r->len, 200));
	}
}

/* --- fetching keys ------------------------------------------------------ */

static int pump(struct import *im, int wait_ms)
{
	int rc = mcm_pipe_pump(&im->b, 1, wait_ms, im->o->t.timeout_ms, on_reply, im);

	if (rc == 0 && !im->b.err)
		return im->stop ? -1 : 0;
	mcm_progress_clear(&im->pg);
	mcm_cli_error(CMD, "lost '%s': %s", im->b.name, rc ? strerror(rc) : im->b.why);
	im->stop = 1;
	return -1;
}

/* Queue `mg <key> [b] v f t` for a listed key. */
static int fetch(struct import *im, const char *key, size_t len)
{
	struct pending *k;
	int b64;

	if (mcm_pipe_key_size(key, len, &b64) == 0) {
		im->failed++;
		mcm_cli_error(CMD, "cannot fetch a key of %zu bytes from '%s': too long for the meta protocol", len,
			      im->b.name);
		return 0;
	}
	while (im->count == WINDOW)
		if (pump(im, 100) != 0)
			return -1;
	k = &im->fifo[(im->head + im->count) % WINDOW];
	k->sent_us = mcm_now_us();
	if (mcm_meta_get(&im->b, key, len, b64, "v f t u") != 0) {
		mcm_cli_error(CMD, "out of memory");
		im->stop = 1;
		return -1;
	}
	im->count++;
	k->len = (uint16_t)len;
	memcpy(k->key, key, len);
	im->b.expect++;
	if (mcm_pipe_unsent(&im->b) >= SEND_AT)
		return pump(im, 0);
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo the metadump's URL encoding (%XX) into out (MCM_PIPE_KEY_MAX bytes). memcached encodes
 * every byte that is not a letter, a digit or one of "-._~": a raw control byte or space is not
 * its listing (a key made of it would be invented). @return the length, or -1. */
static long url_decode(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (n == MCM_PIPE_KEY_MAX || (unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return -1;
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len || (hi = hex_digit(s[i + 1])) < 0 || (lo = hex_digit(s[i + 2])) < 0)
			return -1;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	return n > 0 ? (long)n : -1;
}

/* One metadump line "key=K exp=... la=... ..." (without its '\n'). @return 0 or -1 to stop. */
static int listed_line(struct import *im, const char *line, size_t len)
{
	const char *end = memchr(line, ' ', len);
	char key[MCM_PIPE_KEY_MAX];
	struct mcm_item item;
	long klen;

	if (len < 5 || memcmp(line, "key=", 4) != 0 ||
	    (klen = url_decode(line + 4, (size_t)((end ? end : line + len) - line - 4), key)) < 0) {
		im->failed++;
		mcm_cli_error(CMD, "'%s': cannot read the metadump line '%s'", im->a.name, mcm_cli_shown(line, len, 120));
		return 0;
	}
	im->listed++;
	if (!mcm_target_wants(&im->o->t, key, (size_t)klen)) {
		im->filtered++;
		return 0;
	}
	memset(&item, 0, sizeof item);
	item.key = key;
	item.key_len = (size_t)klen;
	if (mcm_target_server_of(&im->t, &item) != im->server) {
		im->misplaced++;
		return 0;
	}
	return fetch(im, key, (size_t)klen);
}

/* The first line tells whether the server runs the metadump. @return 0, 1 busy, -1 refused. */
static int first_line(struct import *im, const char *line, size_t len)
{
	if (len >= 4 && memcmp(line, "BUSY", 4) == 0)
		return 1;
	if (len >= 4 && memcmp(line, "key=", 4) == 0)
		return 0;
	if (len >= 3 && memcmp(line, "END", 3) == 0)
		return 0;
	mcm_progress_clear(&im->pg);
	im->stop = 1;
	if (len == 28 && memcmp(line, "CLIENT_ERROR unauthenticated", 28) == 0) {
		mcm_cli_error(CMD, "'%s': server requires authentication: give --auth-file", im->a.name);
		return -1;
	}
	mcm_cli_error(CMD, "'%s' refuses 'lru_crawler metadump all': %s (import needs memcached 1.4.31 or later "
		      "with its LRU crawler enabled, i.e. not started with '-o no_lru_crawler')",
		      im->a.name, mcm_cli_shown(line, len, 200));
	return -1;
}

/* Parse the complete lines buffered. @return 0, 1 busy, -1 to stop. */
static int parse_dump(struct import *im)
{
	struct dumpbuf *d = &im->d;

	while (!d->done && im->count < WINDOW) {
		char *line = d->buf + d->off, *nl = memchr(line, '\n', d->len - d->off);
		size_t len;
		int rc = 0;

		if (!nl)
			break;
		len = (size_t)(nl - line);
		d->off += len + 1;
		if (len && line[len - 1] == '\r')
			len--;
		if (im->listed + im->failed == 0 && (rc = first_line(im, line, len)) != 0)
			return rc;
		if (len == 3 && memcmp(line, "END", 3) == 0)
			d->done = 1;
		else if (listed_line(im, line, len) != 0)
			return -1;
	}
	memmove(d->buf, d->buf + d->off, d->len - d->off);
	d->len -= d->off;
	d->off = 0;
	return 0;
}

/* Read more of the spooled metadump. @return 0 or -1. */
static int read_dump(struct import *im)
{
	struct dumpbuf *d = &im->d;
	ssize_t n;

	if (d->len == DUMP_BUF) {
		mcm_cli_error(CMD, "'%s' sent a metadump line longer than %u bytes", im->a.name, DUMP_BUF);
		return -1;
	}
	do
		n = read(im->spool, d->buf + d->len, DUMP_BUF - d->len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		d->len += (size_t)n;
		return 0;
	}
	mcm_progress_clear(&im->pg);
	mcm_cli_error(CMD, "cannot read the spooled metadump of '%s': %s", im->a.name,
		      n == 0 ? "it ends without END" : strerror(errno));
	return -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Has the whole answer arrived? A listing ends with "END\r\n"; anything
 * else (an error, BUSY) is one line. */
static int spool_done(const char *head, size_t nhead, const char *tail)
{
	if (nhead >= 4 && memcmp(head, "key=", 4) == 0)
		return memcmp(tail, "END\r\n", 5) == 0;
	return memcmp(tail + 3, "\r\n", 2) == 0;
}

/* Phase 1: the whole metadump into the spool file, read as fast as the
 * server sends it. memcached's crawler skips items whose lock another
 * connection holds, so no gets run meanwhile. @return 0 or -1. */
static int spool(struct import *im)
{
	char head[4], tail[5] = {0};
	size_t nhead = 0;
	double last = mcm_cli_now();
	int rc;

	while (!mcm_cli_interrupted) {
		struct pollfd pfd = {im->a.fd, POLLIN, 0};
		ssize_t n;

		if (!mcm_pipe_pending(&im->a) && poll(&pfd, 1, 100) < 0 && errno != EINTR)
			return -1;
		n = mcm_pipe_read_raw(&im->a, im->d.buf, DUMP_BUF); /* plain, or TLS */
		if (n > 0) {
			if ((rc = write_all(im->spool, im->d.buf, (size_t)n)) != 0) {
				mcm_cli_error(CMD, "cannot spool the metadump: %s", strerror(rc));
				return -1;
			}
			for (ssize_t i = 0; i < n; i++) {
				memmove(tail, tail + 1, 4);
				tail[4] = im->d.buf[i];
				if (nhead < 4)
					head[nhead++] = im->d.buf[i];
			}
			last = mcm_cli_now();
			if (spool_done(head, nhead, tail))
				return lseek(im->spool, 0, SEEK_SET) == 0 ? 0 : -1;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR) && mcm_cli_now() - last < im->o->t.timeout_ms / 1000.0)
			continue;
		mcm_progress_clear(&im->pg);
		mcm_cli_error(CMD, "lost the metadump of '%s': %s", im->a.name,
			      n == 0 ? "connection closed by the server before END" : n < 0 && errno != EAGAIN ?
			      im->a.why : "no answer");
		return -1;
	}
	return -1;
}

/* A fresh, already unlinked, spool file in $TMPDIR. @return 0 or -1. */
static int open_spool(struct import *im)
{
	const char *dir = getenv("TMPDIR");
	char *path = mcm_fsutil_path("%s/mcmirror-import.XXXXXX", dir && *dir ? dir : "/tmp");

	if (!path || (im->spool = mkstemp(path)) < 0) {
		mcm_cli_error(CMD, "cannot create a spool file in '%s': %s", dir && *dir ? dir : "/tmp", strerror(errno));
		free(path);
		im->spool = -1;
		return -1;
	}
	unlink(path);
	free(path);
	return 0;
}

/* List and fetch one server's keys. @return 0, 1 busy (nothing done), -1 to stop. */
static int walk(struct import *im)
{
	static const char cmd[] = "lru_crawler metadump all\r\n";
	int rc = 0;

	/* alone on its connection: memcached refuses other commands pipelined before it */
	if (mcm_pipe_send_now(&im->a, cmd, sizeof cmd - 1, im->o->t.timeout_ms) != 0) {
		mcm_cli_error(CMD, "cannot send to '%s': %s", im->a.name, im->a.why);
		return -1;
	}
	if (open_spool(im) != 0 || spool(im) != 0)
		return -1;
	mcm_pipe_close(&im->a); /* keep its name for messages */
	while (rc == 0 && !mcm_cli_interrupted && (rc = parse_dump(im)) == 0 && !im->d.done) {
		if (im->count == WINDOW) /* wait for answers before listing more */
			rc = pump(im, 100);
		else if ((rc = read_dump(im)) == 0 && mcm_pipe_unsent(&im->b)) /* no complete line was buffered */
			rc = pump(im, 0);
		mcm_progress_update(&im->pg, im->listed, im->imported + im->nm);
	}
	while (rc == 0 && !mcm_cli_interrupted && im->count)
		rc = pump(im, 100);
	return rc;
}

/* Connect both connections to server i, walk, retry while the crawler is busy. */
static int import_server(struct import *im, uint32_t i)
{
	int rc = 1;

	im->server = i;
	for (int tries = 0; rc == 1 && tries < BUSY_TRIES && !mcm_cli_interrupted; tries++) {
		if (tries)
			usleep(500000);
		if (mcm_target_connect(&im->t, i, &im->a, im->o->t.timeout_ms) != 0 ||
		    mcm_target_connect(&im->t, i, &im->b, im->o->t.timeout_ms) != 0 ||
		    mcm_meta_stats(&im->b, "settings") != 0) { /* values are bounded by its item_size_max */
			mcm_cli_error(CMD, "cannot connect to '%s': %s", im->a.fd < 0 ? im->a.name : im->b.name,
				      im->a.fd < 0 ? im->a.why : im->b.why);
			mcm_pipe_close(&im->a);
			return -1;
		}
		im->d.len = im->d.off = 0;
		im->d.done = 0;
		rc = walk(im);
		if (im->spool >= 0)
			close(im->spool);
		im->spool = -1;
		mcm_pipe_close(&im->a);
		mcm_pipe_close(&im->b);
		im->head = im->count = 0;
	}
	if (rc == 1)
		mcm_cli_error(CMD, "'%s' stayed busy with another LRU crawl: try again later", im->a.name);
	return rc == 0 ? flush_records(im) : -1;
}

/* --- the command -------------------------------------------------------- */

/* The pool records go into: the mirror's record of it (placement as it
 * recorded), else SERVERS's own settings. */
static int choose_pool(struct import *im)
{
	struct mcm_pool have;
	int rc = mcm_store_pool(im->st, im->t.described.id, &have);

	im->pool = im->t.described;
	if (rc == 0 && !im->o->pool_from_servers) {
		mcm_target_adopt(&im->t, &have, CMD);
		im->pool = have;
	} else if (rc != 0 && rc != MCM_ENOTFOUND) {
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", mcm_cli_mirror_path(im->g), mcm_strerror(rc));
		return -1;
	}
	if (im->pool.encrypted)
		mcm_cli_warn(CMD, "the pool's application used an encoding key: imported values are encrypted bytes");
	return 0;
}

/* Open (or create) the mirror, as its owner when root imports into a user's mirror. */
static int open_mirror(struct import *im)
{
	const char *path = mcm_cli_mirror_path(im->g);
	int rc;

	im->had_dir = mcm_fsutil_exists(path);
	im->had_data = mcm_fsutil_has(path, "data.mdb");
	if (mcm_cli_mirror_owner(path, &im->ids) && mcm_cli_become(CMD, path, &im->ids) != 0)
		return -1;
	if ((rc = mcm_drain_catch_up(path, 5000)) != 0 && rc != ENOENT)
		mcm_cli_warn(CMD, "cannot apply the journal of '%s' first: %s", path, mcm_strerror(rc));
	rc = mcm_store_open(&im->st, path, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0);
	mcm_cli_become_self(&im->ids);
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot open mirror '%s' for writing: %s", path,
			      mcm_strerror(mcm_cli_write_error(path, rc)));
		im->st = NULL;
		return -1;
	}
	return 0;
}

/* A failed import that wrote nothing leaves no mirror it created. */
static void remove_if_new(struct import *im)
{
	const char *path = mcm_cli_mirror_path(im->g);
	static const char *const files[] = {"data.mdb", "lock.mdb"};

	if (im->had_data || im->imported || !mcm_fsutil_has(path, "data.mdb"))
		return;
	if (im->st)
		mcm_store_close(im->st);
	im->st = NULL;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *f = mcm_fsutil_path("%s/%s", path, files[i]);

		if (f)
			unlink(f);
		free(f);
	}
	if (!im->had_dir)
		rmdir(path);
}

static int summary(struct import *im, int rc)
{
	double secs = mcm_cli_now() - im->start;

	mcm_progress_clear(&im->pg);
	if (im->st && mcm_store_sync(im->st) != 0 && rc == 0) {
		mcm_cli_error(CMD, "cannot sync mirror '%s'", mcm_cli_mirror_path(im->g));
		rc = -1;
	}
	if (mcm_cli_interrupted)
		mcm_cli_error(CMD, "interrupted by signal %d: the import is incomplete (the %" PRIu64
			      " records imported so far stay in the mirror)", (int)mcm_cli_interrupted, im->imported);
	if (!im->g->quiet || rc || im->failed)
		mcm_cli_error(CMD, "imported %" PRIu64 ", gone %" PRIu64 ", misplaced %" PRIu64 ", failed %" PRIu64
			      " of %" PRIu64 " keys listed%s in %.2f s (%.0f keys/s)",
			      im->imported, im->gone, im->misplaced, im->failed, im->listed,
			      im->filtered ? " (others filtered by --prefix)" : "", secs,
			      secs > 0 ? (double)im->listed / secs : 0.0);
	if (im->misplaced)
		mcm_cli_warn(CMD, "%" PRIu64 " keys were on a server the pool's hashing does not pick for them: skipped "
			     "(if the application places keys otherwise, give SERVERS as a configuration string "
			     "with its --DISTRIBUTION and --pool-from-servers)", im->misplaced);
	if (!im->g->quiet && im->imported)
		mcm_cli_warn(CMD, "this is not a point-in-time snapshot: keys written during the walk may be missing "
			     "or out of step with each other");
	return rc || im->failed || mcm_cli_interrupted ? MCM_EXIT_FAIL : MCM_EXIT_OK;
}

static void json_summary(const struct import *im, int rc)
{
	struct mcm_json j;

	mcm_cli_summary_begin(&j, CMD, rc);
	mcm_json_str(&j, "mirror", mcm_cli_mirror_path(im->g));
	mcm_json_str(&j, "servers", im->t.described.servers);
	mcm_json_u64(&j, "listed", im->listed);
	mcm_json_u64(&j, "imported", im->imported);
	mcm_json_u64(&j, "gone", im->gone);
	mcm_json_u64(&j, "misplaced", im->misplaced);
	mcm_json_u64(&j, "filtered", im->filtered);
	mcm_json_u64(&j, "failed", im->failed);
	mcm_json_double(&j, "seconds", im->start ? mcm_cli_now() - im->start : 0, 3);
	mcm_json_finish(&j);
}

static int import(struct import *im)
{
	int only = im->o->t.only ? mcm_target_find_server(&im->t, im->o->t.only) : -1;
	int rc = 0;

	if (im->o->t.only && only < 0)
		return mcm_cli_usage_error(CMD, "--only-server '%s' is not one of the servers '%s'", im->o->t.only,
					   im->t.described.servers);
	if (open_mirror(im) != 0 || choose_pool(im) != 0)
		return MCM_EXIT_FAIL;
	im->fifo = malloc(WINDOW * sizeof *im->fifo);
	im->d.buf = malloc(DUMP_BUF);
	im->arena = malloc(ARENA_START);
	im->cap = ARENA_START;
	if (!im->fifo || !im->d.buf || !im->arena) {
		mcm_cli_error(CMD, "out of memory");
		return MCM_EXIT_FAIL;
	}
	mcm_progress_init(&im->pg, mcm_cli_progress_enabled(im->g), CMD, "keys", 0);
	im->start = mcm_cli_now();
	for (uint32_t i = 0; rc == 0 && i < im->t.count && !mcm_cli_interrupted; i++)
		if (only < 0 || i == (uint32_t)only)
			rc = import_server(im, i);
	if (rc == 0 && !mcm_cli_interrupted)
		rc = flush_records(im);
	return summary(im, rc);
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	struct import_opts o;
	struct import *im;
	char why[600];
	int rc;

	if ((rc = parse_args(argc, argv, g, &o)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	if (o.from)
		return mcm_import_from(g, CMD, o.from, o.t.have_pool ? &o.t.pool : NULL, o.t.timeout_ms);
	if (!(im = calloc(1, sizeof *im))) {
		mcm_cli_error(CMD, "out of memory");
		return MCM_EXIT_FAIL;
	}
	im->g = g;
	im->o = &o;
	im->a.fd = im->b.fd = im->spool = -1;
	if (mcm_target_open(&im->t, o.t.servers, why, sizeof why) != 0) {
		free(im);
		return mcm_cli_usage_error(CMD, "%s", why);
	}
	im->t.guard = o.t.guard;
	mcm_cli_signals();
	rc = import(im);
	if (rc != MCM_EXIT_OK)
		remove_if_new(im);
	if (g->json)
		json_summary(im, rc);
	mcm_store_close(im->st);
	mcm_cli_ids_free(&im->ids);
	mcm_target_close(&im->t);
	free(im->fifo);
	free(im->d.buf);
	free(im->arena);
	free(im);
	return rc;
}

const struct mcm_cmd mcm_cmd_import = {"import", run, "fill the mirror from live memcached servers (metadump + mg)"};
