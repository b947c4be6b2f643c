/* cmd_dump.c - `mcmirror dump`: write the mirror as a self-checking text backup (docs/FORMAT.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcm_crc.h"
#include "dumpfmt.h"
#include "fsutil.h"
#include "mcm_store.h"
#include "mcmirror.h"

#define CMD "dump"

struct dump_opts {
	const char *file; /* NULL or "-": stdout */
	int all;          /* --all: tombstones, expired and flushed records too */
	int have_pool;
	mcm_pool_id pool;
};

/* The output: a FILE, the CRC of everything written, the first error. */
struct out {
	FILE *f;
	const char *name;   /* for messages */
	struct mcm_output file; /* -f FILE (not stdout) */
	int is_file;
	uint32_t crc;
	int err;            /* errno of the first failed write */
};

/* The state of one dump. */
struct dump {
	const struct mcm_global *g;
	const struct dump_opts *o;
	struct mcm_store *st;
	struct mcm_pool *pools; /* the pools in the header */
	size_t npools;
	int64_t now;
	uint64_t records, orphans, total;
	char *line;             /* record line buffer */
	size_t line_size;
	struct out out;
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] dump [-f FILE | -] [--all] [--pool ID]\n"
		"\n"
		"Write the mirror's records as text, one per line in key order, between a\n"
		"header and a trailer that counts them and carries a CRC-32 of the file:\n"
		"a backup that 'mcmirror load' reads back byte for byte. Keys and values\n"
		"are binary-safe: bytes other than printable ASCII, and the backslash, are\n"
		"written as \\xx (two lower-case hex digits). Format: docs/FORMAT.md.\n"
		"\n"
		"options:\n"
		"  -f, --file FILE  write FILE (mode 0600) through a temporary file in the same\n"
		"                   directory, fsync'd and renamed: FILE is never left partial\n"
		"                   (a symbolic link is followed and kept). A device, a FIFO,\n"
		"                   /dev/stdout or /dev/fd/N is written in place, never\n"
		"                   replaced (default: '-', stdout; 'dump -' is the same)\n"
		"  -a, --all        also deleted, dropped, expired and flushed records, each\n"
		"                   marked (default: live records only)\n"
		"  -p, --pool ID    only this pool (its id as 'mcmirror stats' prints it, or a\n"
		"                   prefix only its id starts with)\n"
		"  -h, --help       this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"record line: STATUS POOL SEQ WTIME_US FLAGS EXPTIME NS_LEN GROUP KEY VALUE\n"
		"  STATUS   live, expired, flushed, deleted or dropped (at the time of the dump)\n"
		"  GROUP    '-' (the key's own hash) or '+' and the escaped group key\n"
		"trailer:   DATA=END records=N crc32=xxxxxxxx (of every byte before it)\n"
		"\n"
		"SIGINT, SIGTERM or SIGPIPE stop the dump: no FILE is left (what was written\n"
		"to stdout, a device or a FIFO has no trailer: load refuses it), exit status 1.\n"
		"exit status: 0 success, 1 failure, 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH);
}

static int out_put(struct out *o, const char *buf, size_t len)
{
	if (o->err)
		return -1;
	o->crc = mcm_crc32(o->crc, buf, len);
	if (fwrite(buf, 1, len, o->f) != len) {
		o->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

static int out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int out_printf(struct out *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		o->err = EOVERFLOW;
		return -1;
	}
	return out_put(o, buf, (size_t)n);
}

/* Open the output: stdout, or FILE as mcm_fsutil_output_open does. */
static int out_open(struct out *o, const char *file)
{
	int rc;

	memset(o, 0, sizeof *o);
	if (!file || strcmp(file, "-") == 0) {
		o->f = stdout;
		o->name = "stdout";
		return 0;
	}
	o->name = file;
	if ((rc = mcm_fsutil_output_open(&o->file, file)) != 0)
		return rc;
	o->is_file = 1;
	if (!(o->f = fdopen(o->file.fd, "w"))) {
		rc = errno;
		mcm_fsutil_output_close(&o->file, 0);
		return rc;
	}
	return 0;
}

/* Finish the output: on success flush, sync and rename; else remove the temporary file. */
static int out_close(struct out *o, int ok)
{
	int err = o->err, keep, rc;

	if (!o->is_file) {
		if (fflush(stdout) != 0 && !err)
			err = errno ? errno : EIO;
		return ok ? err : 0;
	}
	if (fflush(o->f) != 0 && !err)
		err = errno ? errno : EIO;
	o->file.fd = dup(fileno(o->f)); /* fclose closes the FILE's descriptor: sync and close this one after */
	if (fclose(o->f) != 0 && !err)
		err = errno;
	if (o->file.fd < 0 && !err)
		err = errno;
	keep = ok && !err;
	rc = mcm_fsutil_output_close(&o->file, keep);
	if (keep)
		err = rc;
	return ok ? err : 0;
}

static int write_header(struct dump *d)
{
	struct mcm_store_info info;
	char when[32], pool[MCM_DUMP_POOL_MAX];
	const char *path = mcm_cli_mirror_path(d->g);
	char *esc;
	int rc;

	if ((rc = mcm_store_info(d->st, &info)) != 0)
		return rc;
	d->total = info.entries;
	if (!(esc = malloc(MCM_DUMP_ESCAPED_MAX(strlen(path)) + 1)))
		return ENOMEM;
	esc[mcm_dumpfmt_escape(path, strlen(path), esc)] = '\0';
	mcm_dumpfmt_time(d->now, when);
	out_printf(&d->out, "format=%s\nversion=%d\nrecord_format=%" PRIu32 "\ncreated=%s\n",
		   MCM_DUMP_FORMAT, MCM_DUMP_VERSION, info.format_version, when);
	out_put(&d->out, "mirror=", 7);
	out_put(&d->out, esc, strlen(esc));
	free(esc);
	out_printf(&d->out, "\nlast_seq=%" PRIu64 "\nscope=%s\npools=%zu\n", info.last_seq,
		   d->o->all ? "all" : "live", d->npools);
	for (size_t i = 0; i < d->npools; i++)
		out_put(&d->out, pool, mcm_dumpfmt_pool_encode(&d->pools[i], pool));
	out_put(&d->out, "HEADER=END\n", 11);
	return 0;
}

static const struct mcm_pool *header_pool(const struct dump *d, mcm_pool_id id)
{
	for (size_t i = 0; i < d->npools; i++)
		if (d->pools[i].id == id)
			return &d->pools[i];
	return NULL;
}

static int write_record(struct dump *d, const struct mcm_item *item)
{
	const struct mcm_pool *p = header_pool(d, item->pool);
	enum mcm_dump_status s;
	size_t need;

	if (!p) {
		if (!d->o->have_pool)
			d->orphans++; /* its pool record was written after the header */
		return 0;
	}
	s = mcm_dumpfmt_status(item, p, d->now);
	if (s != MCM_DUMP_LIVE && !d->o->all)
		return 0;
	need = mcm_dumpfmt_record_max(item);
	if (need > d->line_size) {
		char *l = realloc(d->line, need);
		if (!l)
			return ENOMEM;
		d->line = l;
		d->line_size = need;
	}
	d->records++;
	out_put(&d->out, d->line, mcm_dumpfmt_record_encode(item, s, d->line));
	return 0;
}

static void progress(const struct dump *d, uint64_t seen, double *last, int final)
{
	double now = mcm_cli_now();

	if (!final && now - *last < 0.25)
		return;
	*last = now;
	fprintf(stderr, "\rmcmirror: dump: %" PRIu64 "/%" PRIu64 " records read, %" PRIu64 " written%s", seen,
		d->total, d->records, final ? "\n" : "");
}

static int write_records(struct dump *d)
{
	int show = mcm_cli_progress_enabled(d->g);
	double last = mcm_cli_now();
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t seen = 0;
	int rc = mcm_iter_open(d->st, MCM_ORDER_KEY, 0, &it);

	while (rc == 0 && !d->out.err && !mcm_cli_interrupted &&
	       ((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED)) {
		if (rc == MCM_EDAMAGED) { /* never written out: a dump holds only records that check */
			mcm_cli_damaged(CMD, &item);
			rc = 0;
			continue;
		}
		rc = write_record(d, &item);
		if (show && (++seen & 1023) == 0)
			progress(d, seen, &last, 0);
	}
	mcm_iter_close(it);
	if (show)
		progress(d, seen, &last, 1);
	return rc == MCM_END ? 0 : rc;
}

static int read_pools(struct dump *d)
{
	char id[17];
	size_t n = 0;
	int rc = mcm_store_pools(d->st, &d->pools, &d->npools);

	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read the pools of mirror '%s': %s", mcm_cli_mirror_path(d->g),
			      mcm_strerror(rc));
		return -1;
	}
	if (!d->o->have_pool)
		return 0;
	for (size_t i = 0; i < d->npools; i++)
		if (d->pools[i].id == d->o->pool)
			d->pools[n++] = d->pools[i];
	d->npools = n;
	if (n == 0) {
		mcm_dumpfmt_pool_id(d->o->pool, id);
		mcm_cli_error(CMD, "no pool '%s' in mirror '%s'", id, mcm_cli_mirror_path(d->g));
		return -1;
	}
	return 0;
}

/* Header, records, trailer. @return 0, or an error already reported. */
static int write_dump(struct dump *d)
{
	int rc;

	if ((rc = write_header(d)) == 0 && !d->out.err && (rc = write_records(d)) == 0 && !d->out.err &&
	    !mcm_cli_interrupted)
		out_printf(&d->out, "DATA=END records=%" PRIu64 " crc32=%08" PRIx32 "\n", d->records, d->out.crc);
	if (mcm_cli_interrupted) {
		mcm_cli_error(CMD, "interrupted by signal %d: %s", (int)mcm_cli_interrupted,
			      d->out.file.tmp ? "no dump written" : "the output has no trailer and is incomplete");
		return -1;
	}
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", mcm_cli_mirror_path(d->g), mcm_strerror(rc));
		return -1;
	}
	return 0;
}

static int dump(struct dump *d)
{
	int rc, err;

	if (read_pools(d) != 0)
		return MCM_EXIT_FAIL;
	if ((err = out_open(&d->out, d->o->file)) != 0) {
		mcm_cli_error(CMD, "cannot create '%s': %s", d->o->file,
			      err == EISDIR ? "it is a directory" : err == ENXIO ? "it is a socket" : strerror(err));
		return MCM_EXIT_FAIL;
	}
	rc = write_dump(d);
	if ((err = out_close(&d->out, rc == 0)) != 0 && !mcm_cli_interrupted) {
		mcm_cli_error(CMD, "cannot write '%s': %s", d->out.name, strerror(err));
		rc = -1;
	}
	if (rc != 0)
		return MCM_EXIT_FAIL;
	if (d->orphans)
		mcm_cli_warn(CMD, "skipped %" PRIu64 " records of pools created after the dump began", d->orphans);
	if (d->g->verbose)
		mcm_cli_error(CMD, "wrote %" PRIu64 " records to '%s'", d->records, d->out.name);
	return MCM_EXIT_OK;
}

static int parse_args(int argc, char **argv, const struct mcm_global *g, struct dump_opts *o)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'}, {"all", no_argument, NULL, 'a'},
		{"pool", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:ap:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!*optarg)
				return mcm_cli_usage_error(CMD, "empty file name");
			o->file = optarg;
			break;
		case 'a':
			o->all = 1;
			break;
		case 'p':
			if (mcm_cli_parse_pool(CMD, optarg, &o->pool) != 0)
				return MCM_EXIT_USAGE;
			o->have_pool = 1;
			break;
		case 'h':
			usage(stdout, g);
			return -1;
		default:
			return mcm_cli_usage_error(CMD, "unknown option");
		}
	}
	if (optind < argc && strcmp(argv[optind], "-") == 0 && !o->file) /* 'dump -': stdout, as -f - */
		o->file = argv[optind++];
	if (optind < argc)
		return mcm_cli_usage_error(CMD, "unexpected argument '%s' (write a file with -f FILE)", argv[optind]);
	if (g->json)
		return mcm_cli_usage_error(CMD, "--json: a dump is its own format (docs/FORMAT.md)");
	return 0;
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	struct dump_opts o = {0};
	struct dump d;
	int rc;

	if ((rc = parse_args(argc, argv, g, &o)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	mcm_cli_signals();
	memset(&d, 0, sizeof d);
	d.g = g;
	d.o = &o;
	d.now = (int64_t)time(NULL);
	if (!(d.st = mcm_cli_open_mirror(g, CMD)))
		return MCM_EXIT_FAIL;
	rc = dump(&d);
	mcm_store_close(d.st);
	free(d.pools);
	free(d.line);
	return rc;
}

const struct mcm_cmd mcm_cmd_dump = {"dump", run, "write the mirror as a checked text backup (for load)"};
