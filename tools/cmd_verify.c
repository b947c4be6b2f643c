/* cmd_verify.c - `mcmirror verify`: compare the mirror's live items with what memcached holds.
 *
 * One walk over the mirror in key order. Each live item of the pool (or an
 * evenly spread sample) becomes `mg <key> v f t` on its server's connection;
 * the server answers every request, in order, so a ring of the requests in
 * flight (up to WINDOW per server) pairs each answer with its item. Only a
 * 64-bit hash of each mirrored value is kept, so memory does not grow with
 * the values or the mirror.
 *
 * With --from URL the items come from an external store (source.h) that
 * `follow --to` fed, instead of the mirror.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dumpfmt.h"
#include "mcm_store.h"
#include "json.h"
#include "mcmirror.h"
#include "meta.h"
#include "pipe.h"
#include "progress.h"
#include "source.h"
#include "target.h"

#define CMD "verify"
#define WINDOW 2048           /* requests in flight per server */
#define SEND_AT (64u << 10)   /* try to send once a server has this much queued */
#define TTL_SLACK 2           /* seconds of TTL difference tolerated */

enum diff {
	DIFF_MISSING = 0,
	DIFF_VALUE,
	DIFF_FLAGS,
	DIFF_TTL,
	DIFF_ERROR,   /* the server answered something else than a value or a miss */
	NDIFF
};

static const char *const diff_names[NDIFF] = {"missing", "value", "flags", "ttl", "error"};

struct verify_opts {
	struct mcm_target_opts t; /* servers, pool, only-server, prefix, timeout */
	long long sample;     /* 0 = every item */
	const char *from;     /* --from URL: an external store instead of the mirror */
};

/* A request in flight: what the mirror says about the key. */
struct pending {
	uint64_t value_hash;
	size_t value_len;
	uint32_t flags;
	int64_t exptime;
	uint16_t key_len;
	char key[MCM_KEY_MAX + MCM_NAMESPACE_MAX];
};

struct ring {
	struct pending *slot; /* WINDOW of them */
	unsigned head, count;
};

struct verify {
	const struct mcm_global *g;
	const struct verify_opts *o;
	struct mcm_target t;
	struct mcm_pool pool;
	struct mcm_pipe *pipes;
	struct ring *rings;
	const struct mcm_source_ops *src_ops; /* --from */
	struct mcm_source *src;
	int only;
	uint64_t live, pick_index; /* for --sample: live items of the pool, and how many seen */
	uint64_t scanned, checked, matching, expired, unsendable, diffs[NDIFF];
	double start;
	struct mcm_progress pg;
};

static void usage(FILE *out, const struct mcm_global *g)
{
	fprintf(out,
		"usage: mcmirror [--mirror DIR] [-q | -v] verify --servers SERVERS [options]\n"
		"       mcmirror [-q | -v] verify --from URL --servers SERVERS [options]\n"
		"\n"
		"Compare every live item of the mirror (or a sample) with what the servers\n"
		"hold: value bytes, flags and remaining time to live. Pipelined meta-protocol\n"
		"reads (mg), one connection per server; nothing is written anywhere.\n"
		"SERVERS, the placement of keys and the choice of pool work as for replay.\n"
		"\n"
		"options:\n"
		"  -s, --servers SERVERS    where to look (required)\n"
		"  -p, --pool ID            the mirrored pool (default: as replay chooses)\n"
		"  -o, --only-server H:P    only the keys that belong on this server\n"
		"  -S, --sample N           check N items spread evenly over the pool (default:\n"
		"                           every item)\n"
		"  -P, --prefix P           only keys (namespace included) starting with P\n"
		"  -t, --timeout SECS       give up on a server that answers nothing for SECS\n"
		"                           seconds (default: 5)\n"
		"  -f, --from URL           compare an external store that 'mcmirror follow\n"
		"                           --to' fed (postgresql://..., mysql://...,\n"
		"                           mariadb://...) instead of the mirror\n"
		MCM_PROTECT_HELP
		"  -h, --help               this help\n"
		"\n"
		"mirror: '%s' (--mirror, else $MCMIRROR_PATH, else %s)\n"
		"\n"
		"A summary goes to stderr:\n"
		"  mcmirror: verify: checked N: matching M, missing X, different value V,\n"
		"  different flags F, ttl off T, errors R, skipped expired E in S s\n"
		"'ttl off': the remaining lives differ by more than %d s. Records that expired\n"
		"in the mirror are skipped, not compared.\n"		"A SASL server (credentials with 'mechanism plain') speaks the binary\n"
		"protocol, which cannot tell an item's remaining life: there only the value\n"
		"bytes and flags are compared.\n"
		"With -v each difference is also printed on stdout, one line each:\n"
		"  missing KEY | value KEY | flags KEY MIRROR SERVER | ttl KEY MIRROR SERVER |\n"
		"  error KEY REPLY\n"
		"KEY escaped as in 'mcmirror dump' (bytes outside 0x21..0x7e and '\\' as \\xx);\n"
		"ttl -1 means never expires.\n"
		"\n"
		"exit status: 0 nothing differs; 1 a difference, an unreachable or failing\n"
		"server, or an interruption; 2 usage error\n",
		mcm_cli_mirror_path(g), MCM_DEFAULT_PATH, TTL_SLACK);
}

static int parse_option(int c, struct verify_opts *o)
{
	int rc;

	switch (c) {
	case 'S':
		if ((o->sample = mcm_cli_parse_count(optarg)) <= 0)
			return mcm_cli_usage_error(CMD, "bad sample size '%s': want a positive number", optarg);
		return 0;
	default:
		rc = mcm_target_option(CMD, c, optarg, &o->t);
		return rc == 1 ? mcm_cli_usage_error(CMD, "unknown option") : rc;
	}
}

/* @return 0 to go on, -1 after --help, or MCM_EXIT_USAGE. */
static int parse_args(int argc, char **argv, const struct mcm_global *g, struct verify_opts *o)
{
	static const struct option opts[] = {
		{"servers", required_argument, NULL, 's'}, {"pool", required_argument, NULL, 'p'},
		{"only-server", required_argument, NULL, 'o'}, {"sample", required_argument, NULL, 'S'},
		{"prefix", required_argument, NULL, 'P'},  {"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},          {"from", required_argument, NULL, 'f'},
		MCM_PROTECT_LONG_OPTIONS,          {NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(o, 0, sizeof *o);
	mcm_target_opts_init(&o->t);
	while ((c = getopt_long(argc, argv, "s:p:o:S:P:t:hf:", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, g);
			return -1;
		}
		if (c == 'f') {
			o->from = optarg;
			continue;
		}
		if ((rc = parse_option(c, o)) != 0)
			return rc;
	}
	return mcm_target_opts_check(CMD, argc, argv, &o->t);
}

/* FNV-1a, 64 bits: values are compared by hash, so no copy of them is kept. */
static uint64_t value_hash(const char *v, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)v[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Print one difference on stdout (with -v). extra: "MIRROR SERVER" or a reply, may be NULL. */
static void print_diff(struct verify *v, enum diff d, const struct pending *pd, const char *extra)
{
	char esc[MCM_DUMP_ESCAPED_MAX(sizeof pd->key) + 1];

	v->diffs[d]++;
	if (!v->g->verbose)
		return;
	esc[mcm_dumpfmt_escape(pd->key, pd->key_len, esc)] = '\0';
	mcm_progress_clear(&v->pg);
	printf("%s %s%s%s\n", diff_names[d], esc, extra ? " " : "", extra ? extra : "");
}

static void compare_ttl(struct verify *v, const struct pending *pd, long long server_ttl)
{
	long long mine = pd->exptime == 0 ? -1 : (long long)(pd->exptime - (int64_t)time(NULL));
	char extra[64];

	if (mine != -1 && mine < 0)
		mine = 0;
	if ((mine == -1) == (server_ttl == -1) && (mine == -1 || llabs(mine - server_ttl) <= TTL_SLACK))
		return;
	snprintf(extra, sizeof extra, "%lld %lld", mine, server_ttl);
	print_diff(v, DIFF_TTL, pd, extra);
}

/* Compare one VA reply with the item it answers. @return 1 when they match. */
static int compare_value(struct verify *v, const struct mcm_pipe *p, const struct pending *pd,
			 const struct mcm_reply *r)
{
	uint64_t before = v->diffs[DIFF_VALUE] + v->diffs[DIFF_FLAGS] + v->diffs[DIFF_TTL] + v->diffs[DIFF_ERROR];
	long long flags, ttl = -1;
	char extra[64];

	if (r->data_len != pd->value_len || value_hash(r->data, r->data_len) != pd->value_hash)
		print_diff(v, DIFF_VALUE, pd, NULL);
	/* the binary protocol (a SASL server) has no ttl to give */
	if (mcm_reply_flag(r, 'f', 0, MCM_REPLY_FLAGS_MAX, &flags) != 0 ||
	    (p->proto != MCM_PIPE_BINARY && mcm_reply_flag(r, 't', -1, MCM_REPLY_TTL_MAX, &ttl) != 0)) {
		print_diff(v, DIFF_ERROR, pd, "no valid flags or ttl in the reply");
		return 0;
	}
	if ((uint64_t)flags != pd->flags) {
		snprintf(extra, sizeof extra, "%" PRIu32 " %lld", pd->flags, flags);
		print_diff(v, DIFF_FLAGS, pd, extra);
	}
	if (p->proto != MCM_PIPE_BINARY)
		compare_ttl(v, pd, ttl);
	return before == v->diffs[DIFF_VALUE] + v->diffs[DIFF_FLAGS] + v->diffs[DIFF_TTL] + v->diffs[DIFF_ERROR];
}

static void on_reply(struct mcm_pipe *p, const struct mcm_reply *r, void *ctx)
{
	struct verify *v = ctx;
	struct ring *ring = p->user;
	const struct pending *pd;
	char extra[128];

	if (ring->count == 0) {
		snprintf(extra, sizeof extra, "unexpected reply '%s'", mcm_cli_shown(r->line, r->len, 60));
		mcm_cli_warn(CMD, "'%s': %s", p->name, extra);
		return;
	}
	pd = &ring->slot[ring->head];
	ring->head = (ring->head + 1) % WINDOW;
	ring->count--;
	p->expect--;
	v->checked++;
	if (r->len == 2 && memcmp(r->line, "EN", 2) == 0) {
		print_diff(v, DIFF_MISSING, pd, NULL);
	} else if (r->data) {
		v->matching += compare_value(v, p, pd, r);
	} else {
		snprintf(extra, sizeof extra, "%s", mcm_cli_shown(r->line, r->len, 100));
		for (char *c = extra; *c; c++)
			if (*c == ' ')
				*c = '_';
		print_diff(v, DIFF_ERROR, pd, extra);
	}
}

static int pump(struct verify *v, int wait_ms)
{
	return mcm_target_pump(CMD, v->pipes, v->t.count, wait_ms, v->o->t.timeout_ms, on_reply, v);
}

/* Queue `mg <key> v f t [b]` and remember the item. @return 0, or -1 to stop. */
static int ask(struct verify *v, const struct mcm_item *item, uint32_t idx)
{
	struct mcm_pipe *p = &v->pipes[idx];
	struct ring *ring = &v->rings[idx];
	struct pending *pd;
	int b64;

	if (mcm_pipe_key_size(item->key, item->key_len, &b64) == 0) {
		v->unsendable++;
		return 0;
	}
	while (ring->count == WINDOW)
		if (mcm_cli_interrupted || pump(v, 100) != 0)
			return -1;
	if (mcm_meta_get(p, item->key, item->key_len, b64, "v f t") != 0)
		return -1;
	pd = &ring->slot[(ring->head + ring->count++) % WINDOW];
	pd->value_hash = value_hash(item->value, item->value_len);
	pd->value_len = item->value_len;
	pd->flags = item->flags;
	pd->exptime = item->exptime;
	pd->key_len = (uint16_t)item->key_len;
	memcpy(pd->key, item->key, item->key_len);
	p->expect++;
	if (mcm_pipe_unsent(p) >= SEND_AT)
		return pump(v, 0);
	return 0;
}

/* Is the item of the pool, the prefix and the server? *idx: its server. */
static int wanted(struct verify *v, const struct mcm_item *item, uint32_t *idx)
{
	if (item->pool != v->pool.id)
		return 0;
	if (!mcm_target_wants(&v->o->t, item->key, item->key_len))
		return 0;
	*idx = mcm_target_server_of(&v->t, item);
	return v->only < 0 || *idx == (uint32_t)v->only;
}

/* Is the next live item part of the sample? Picks exactly sample of live, evenly. */
static int sampled(struct verify *v)
{
	uint64_t i = v->pick_index++;

	if (!v->o->sample || (uint64_t)v->o->sample >= v->live)
		return 1;
	return (unsigned __int128)i * (uint64_t)v->o->sample % v->live < (uint64_t)v->o->sample;
}

static int consider(struct verify *v, const struct mcm_item *item, int count_only)
{
	int64_t now = (int64_t)time(NULL);
	uint32_t idx;

	if (!wanted(v, item, &idx))
		return 0;
	switch (mcm_dumpfmt_status(item, &v->pool, now)) {
	case MCM_DUMP_LIVE:
		break;
	case MCM_DUMP_EXPIRED:
		v->expired += !count_only;
		return 0;
	default:
		return 0;
	}
	if (count_only) {
		v->live++;
		return 0;
	}
	return sampled(v) ? ask(v, item, idx) : 0;
}

/* One walk in key order; count_only: just count the live items (for --sample). */
static int walk(struct verify *v, struct mcm_store *st, int count_only)
{
	struct mcm_iter *it;
	struct mcm_item item;
	int rc = mcm_iter_open(st, MCM_ORDER_KEY, 0, &it);

	while (rc == 0 && ((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED)) {
		if (mcm_cli_interrupted)
			break;
		if (rc == MCM_EDAMAGED) { /* nothing to compare: the mirror cannot vouch for it */
			if (!count_only)
				mcm_cli_damaged(CMD, &item);
			rc = 0;
			continue;
		}
		if (!count_only && (++v->scanned & 4095) == 0)
			mcm_progress_update(&v->pg, v->scanned, v->checked);
		if (consider(v, &item, count_only) != 0)
			break;
	}
	mcm_iter_close(it);
	return rc == MCM_END ? 0 : rc;
}

/* --from: the same walk over the store's live rows of the pool. @return 0, or -1 after a message. */
static int walk_source(struct verify *v, int count_only)
{
	struct mcm_item item;
	char why[1024];
	int rc;

	if (v->src_ops->scan(v->src, v->pool.id, MCM_SOURCE_LIVE | MCM_SOURCE_ANY_ORDER, why, sizeof why) != 0) {
		mcm_cli_error(CMD, "%s", why);
		return -1;
	}
	while ((rc = v->src_ops->next(v->src, &item, NULL, why, sizeof why)) == 0) {
		if (mcm_cli_interrupted)
			break;
		if (!count_only && (++v->scanned & 4095) == 0)
			mcm_progress_update(&v->pg, v->scanned, v->checked);
		if (consider(v, &item, count_only) != 0)
			break;
	}
	if (rc == MCM_END || rc == 0)
		return rc == 0 ? -1 : 0;
	mcm_progress_clear(&v->pg);
	mcm_cli_error(CMD, "%s", why);
	return -1;
}

/* Wait for the answers still in flight. */
static void finish(struct verify *v)
{
	for (;;) {
		int waiting = 0;

		for (uint32_t i = 0; i < v->t.count; i++)
			if (v->pipes[i].fd >= 0 && !v->pipes[i].err && v->pipes[i].expect)
				waiting = 1;
		if (!waiting || pump(v, 100) != 0)
			return;
		mcm_progress_update(&v->pg, v->scanned, v->checked);
	}
}

static int connect_all(struct verify *v)
{
	if (mcm_target_connect_all(&v->t, v->pipes, v->only, v->o->t.timeout_ms, CMD) != 0)
		return -1;
	for (uint32_t i = 0; i < v->t.count; i++) {
		if (v->pipes[i].fd < 0)
			continue;
		if (!(v->rings[i].slot = malloc(WINDOW * sizeof *v->rings[i].slot))) {
			mcm_cli_error(CMD, "out of memory");
			return -1;
		}
		v->pipes[i].user = &v->rings[i];
	}
	return 0;
}

static int outcome(struct verify *v, int walk_rc)
{
	uint64_t differ = 0;
	int broken = 0;

	mcm_progress_clear(&v->pg);
	fflush(stdout);
	for (uint32_t i = 0; i < v->t.count; i++) {
		if (v->pipes[i].fd >= 0 && v->pipes[i].err) {
			broken++;
			mcm_cli_error(CMD, "lost '%s': %s; %lu items were not checked", v->pipes[i].name,
				      v->pipes[i].why, v->pipes[i].expect);
		}
	}
	if (walk_rc != 0 && !v->src) /* (the source's error was said) */
		mcm_cli_error(CMD, "cannot read mirror '%s': %s", mcm_cli_mirror_path(v->g), mcm_strerror(walk_rc));
	if (mcm_cli_interrupted)
		mcm_cli_error(CMD, "interrupted by signal %d: the check is incomplete", (int)mcm_cli_interrupted);
	if (v->unsendable)
		mcm_cli_error(CMD, "%" PRIu64 " keys cannot be sent over the text protocol and were not checked",
			      v->unsendable);
	for (int d = 0; d < NDIFF; d++)
		differ += v->diffs[d];
	if (!v->g->quiet || differ || broken)
		mcm_cli_error(CMD, "checked %" PRIu64 ": matching %" PRIu64 ", missing %" PRIu64 ", different value %"
			      PRIu64 ", different flags %" PRIu64 ", ttl off %" PRIu64 ", errors %" PRIu64
			      ", skipped expired %" PRIu64 " in %.2f s", v->checked, v->matching,
			      v->diffs[DIFF_MISSING], v->diffs[DIFF_VALUE], v->diffs[DIFF_FLAGS], v->diffs[DIFF_TTL],
			      v->diffs[DIFF_ERROR], v->expired, mcm_cli_now() - v->start);
	return differ || broken || walk_rc || v->unsendable || mcm_cli_interrupted ? MCM_EXIT_FAIL : MCM_EXIT_OK;
}

/* Choose pool and servers, connect. @return 0, -1 (nothing to check) or an exit code. */
static int prepare(struct verify *v, struct mcm_store *st)
{
	const mcm_pool_id *want = v->o->t.have_pool ? &v->o->t.pool : NULL;
	int rc = v->src ? mcm_source_pick_pool(CMD, v->src_ops, v->src, &v->t, want, &v->pool)
			: mcm_target_pick_pool(&v->t, st, CMD, want, &v->pool);

	if (rc == MCM_TARGET_NO_POOL) {
		if (v->src)
			mcm_cli_warn(CMD, "%s holds no pool: nothing to check", v->src_ops->describe(v->src));
		else
			mcm_cli_warn(CMD, "mirror '%s' holds no pool: nothing to check", mcm_cli_mirror_path(v->g));
		return -1;
	}
	if (rc != 0)
		return rc;
	mcm_target_adopt(&v->t, &v->pool, CMD);
	v->only = -1;
	if (v->o->t.only && (v->only = mcm_target_find_server(&v->t, v->o->t.only)) < 0)
		return mcm_cli_usage_error(CMD, "--only-server '%s' is not one of the servers '%s'", v->o->t.only,
					   v->t.described.servers);
	v->pipes = calloc(v->t.count, sizeof *v->pipes);
	v->rings = calloc(v->t.count, sizeof *v->rings);
	if (!v->pipes || !v->rings) {
		mcm_cli_error(CMD, "out of memory");
		return MCM_EXIT_FAIL;
	}
	for (uint32_t i = 0; i < v->t.count; i++)
		v->pipes[i].fd = -1;
	return connect_all(v) == 0 ? 0 : MCM_EXIT_FAIL;
}

static int verify(struct verify *v, struct mcm_store *st)
{
	struct mcm_store_info info;
	int rc = prepare(v, st);

	if (rc != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	v->start = mcm_cli_now();
	if (v->o->sample && (rc = v->src ? walk_source(v, 1) : walk(v, st, 1)) != 0)
		return outcome(v, rc);
	if (v->src)
		info.entries = v->src_ops->rows(v->src);
	else if (mcm_store_info(st, &info) != 0)
		info.entries = 0;
	mcm_progress_init(&v->pg, mcm_cli_progress_enabled(v->g), CMD, "checked", info.entries);
	rc = v->src ? walk_source(v, 0) : walk(v, st, 0);
	finish(v);
	return outcome(v, rc);
}

/* --json: the summary as one JSON line, the last of stdout (docs/mcmirror.1, JSON OUTPUT). */
static void json_summary(const struct verify *v, int rc)
{
	struct mcm_json j;

	mcm_cli_summary_begin(&j, CMD, rc);
	mcm_json_str(&j, "servers", v->t.described.servers);
	if (v->src)
		mcm_json_str(&j, "from", v->src_ops->describe(v->src));
	mcm_json_u64(&j, "checked", v->checked);
	mcm_json_u64(&j, "matching", v->matching);
	mcm_json_u64(&j, "missing", v->diffs[DIFF_MISSING]);
	mcm_json_u64(&j, "different_value", v->diffs[DIFF_VALUE]);
	mcm_json_u64(&j, "different_flags", v->diffs[DIFF_FLAGS]);
	mcm_json_u64(&j, "ttl_off", v->diffs[DIFF_TTL]);
	mcm_json_u64(&j, "errors", v->diffs[DIFF_ERROR]);
	mcm_json_u64(&j, "skipped_expired", v->expired);
	mcm_json_u64(&j, "unsendable", v->unsendable);
	mcm_json_double(&j, "seconds", v->start ? mcm_cli_now() - v->start : 0, 3);
	mcm_json_finish(&j);
}

static int run(const struct mcm_global *g, int argc, char **argv)
{
	struct verify_opts o;
	struct verify v;
	struct mcm_store *st;
	char why[600];
	int rc;

	if ((rc = parse_args(argc, argv, g, &o)) != 0)
		return rc < 0 ? MCM_EXIT_OK : rc;
	memset(&v, 0, sizeof v);
	v.g = g;
	v.o = &o;
	if (mcm_target_open(&v.t, o.t.servers, why, sizeof why) != 0)
		return mcm_cli_usage_error(CMD, "%s", why);
	v.t.guard = o.t.guard;
	mcm_cli_signals();
	st = NULL;
	if (o.from && (rc = mcm_source_connect(CMD, o.from, o.t.timeout_ms, &v.src_ops, &v.src)) != 0) {
		if (g->json)
			json_summary(&v, rc);
		mcm_target_close(&v.t);
		return rc;
	}
	if (!o.from && !(st = mcm_cli_open_mirror(g, CMD))) {
		if (g->json)
			json_summary(&v, MCM_EXIT_FAIL);
		mcm_target_close(&v.t);
		return MCM_EXIT_FAIL;
	}
	rc = verify(&v, st);
	if (g->json)
		json_summary(&v, rc);
	for (uint32_t i = 0; v.pipes && i < v.t.count; i++) {
		mcm_pipe_close(&v.pipes[i]);
		free(v.rings[i].slot);
	}
	free(v.pipes);
	free(v.rings);
	if (v.src)
		v.src_ops->close(v.src);
	mcm_store_close(st);
	mcm_target_close(&v.t);
	if (fflush(stdout) != 0 && rc == MCM_EXIT_OK) {
		mcm_cli_error(CMD, "cannot write to stdout: %s", strerror(errno));
		return MCM_EXIT_FAIL;
	}
	return rc;
}

const struct mcm_cmd mcm_cmd_verify = {"verify", run, "compare the mirror with what memcached holds"};
