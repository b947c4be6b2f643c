/* import_from.c - `mcmirror import --from URL`: make (or merge into) a mirror what an external store
 * holds (source.h), e.g. to give a new application host its pools back.
 *
 * Each pool of the store (or the --pool one) is written as a pool record
 * (MCM_OP_RESTORE_POOL), then its rows, oldest write first, as records with
 * their own write time, kind, flags, expiry, namespace and group key
 * (MCM_OP_RESTORE: the newer record wins against what the mirror holds, and
 * deletions and drops come as tombstones so that they keep winning over older
 * values). Batches of BATCH records or ARENA_SIZE bytes per transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dumpfmt.h"
#include "fsutil.h"
#include "json.h"
#include "mcm_drain.h"
#include "mcm_store.h"
#include "mcmirror.h"
#include "source.h"
#include "sqlbatch.h"

#define BATCH 1000
#define ARENA_SIZE ((size_t)8 << 20)

struct from {
	const struct mcm_global *g;
	const char *cmd;
	const struct mcm_source_ops *ops;
	struct mcm_source *src;
	struct mcm_store *st;
	struct mcm_cli_ids ids;
	struct mcm_pool pool;     /* the pool being imported, as the mirror has it */
	struct mcm_mutation m[BATCH];
	size_t nm;
	char *arena;
	size_t used, cap;
	uint64_t live, tombstones, pools, written;
	int had_data, had_dir;
	double start;
};

/* Write the batch. @return 0 or -1 after a message. */
static int flush_batch(struct from *f)
{
	const char *path = mcm_cli_mirror_path(f->g);
	int rc = f->nm ? mcm_store_apply(f->st, f->m, f->nm) : 0;

	if (rc != 0) {
		mcm_cli_error(f->cmd, "cannot write mirror '%s': %s", path, mcm_strerror(mcm_cli_write_error(path, rc)));
		return -1;
	}
	f->written += f->nm;
	f->nm = 0;
	f->used = 0;
	return 0;
}

/* Room for need more bytes in the arena (the batch is written first when they do not fit).
 * @return 0 or -1 after a message. */
static int reserve(struct from *f, size_t need)
{
	if (f->nm == BATCH || f->used + need > f->cap) {
		if (flush_batch(f) != 0)
			return -1;
		if (need > f->cap) { /* nothing points into the arena now */
			char *a = realloc(f->arena, need);
			if (!a) {
				mcm_cli_error(f->cmd, "out of memory for a record of %zu bytes", need);
				return -1;
			}
			f->arena = a;
			f->cap = need;
		}
	}
	return 0;
}

static const char *keep(struct from *f, const char *p, size_t len)
{
	char *dst = f->arena + f->used;

	if (len)
		memcpy(dst, p, len);
	f->used += len;
	return dst;
}

/* Queue one row. @return 0, 1 when it was skipped, or -1. */
static int add(struct from *f, const struct mcm_item *it)
{
	struct mcm_mutation *m;

	if (reserve(f, it->key_len + it->group_len + it->value_len) != 0)
		return -1;
	m = &f->m[f->nm++];
	memset(m, 0, sizeof *m);
	m->op = MCM_OP_RESTORE;
	m->pool = &f->pool;
	m->kind = it->kind;
	m->key = keep(f, it->key, it->key_len);
	m->key_len = it->key_len;
	m->ns_len = it->ns_len;
	m->group_mode = it->group_mode;
	m->group = keep(f, it->group ? it->group : "", it->group_len);
	m->group_len = it->group_len;
	if (it->kind == MCM_KIND_VALUE) {
		m->value = keep(f, it->value ? it->value : "", it->value_len);
		m->value_len = it->value_len;
		m->flags = it->flags;
		m->exptime = it->exptime;
	}
	m->wtime_us = it->wtime_us;
	if (!mcm_mutation_valid(m)) {
		char esc[MCM_DUMP_ESCAPED_MAX(MCM_KEY_MAX + MCM_NAMESPACE_MAX) + 1];
		size_t n = it->key_len > MCM_KEY_MAX + MCM_NAMESPACE_MAX ? MCM_KEY_MAX + MCM_NAMESPACE_MAX : it->key_len;

		esc[mcm_dumpfmt_escape(it->key, n, esc)] = '\0';
		mcm_cli_error(f->cmd, "%s: the row of key '%s' cannot be a record (a key of %zu bytes, namespace %u): "
			      "skipped", f->ops->describe(f->src), esc, it->key_len, (unsigned)it->ns_len);
		f->nm--;
		return 1;
	}
	if (it->kind == MCM_KIND_VALUE)
		f->live++;
	else
		f->tombstones++;
	return 0;
}

/* One pool: its record, then its rows. @return 0, or -1 after a message. */
static int import_pool(struct from *f, const struct mcm_pool *p)
{
	struct mcm_mutation m;
	struct mcm_item it;
	char why[1024];
	int rc, skipped = 0;

	memset(&m, 0, sizeof m);
	m.op = MCM_OP_RESTORE_POOL;
	m.pool = p;
	if ((rc = mcm_store_apply(f->st, &m, 1)) != 0 || (rc = mcm_store_pool(f->st, p->id, &f->pool)) != 0) {
		mcm_cli_error(f->cmd, "cannot write mirror '%s': %s", mcm_cli_mirror_path(f->g), mcm_strerror(rc));
		return -1;
	}
	if (f->ops->scan(f->src, p->id, 0, why, sizeof why) != 0) {
		mcm_cli_error(f->cmd, "%s", why);
		return -1;
	}
	while ((rc = f->ops->next(f->src, &it, NULL, why, sizeof why)) == 0) {
		if (mcm_cli_interrupted)
			break;
		if ((rc = add(f, &it)) < 0)
			break;
		skipped += rc;
	}
	if (rc == -1 && !mcm_cli_interrupted) {
		if (f->nm == 0 || why[0]) /* (an error of the mirror was reported already) */
			mcm_cli_error(f->cmd, "%s", why);
		return -1;
	}
	f->pools++;
	return flush_batch(f) != 0 || skipped ? -1 : 0;
}

static int open_mirror(struct from *f)
{
	const char *path = mcm_cli_mirror_path(f->g);
	int rc;

	f->had_dir = mcm_fsutil_exists(path);
	f->had_data = mcm_fsutil_has(path, "data.mdb");
	if (mcm_cli_mirror_owner(path, &f->ids) && mcm_cli_become(f->cmd, path, &f->ids) != 0)
		return -1;
	if ((rc = mcm_drain_catch_up(path, 5000)) != 0 && rc != ENOENT)
		mcm_cli_warn(f->cmd, "cannot apply the journal of '%s' first: %s", path, mcm_strerror(rc));
	rc = mcm_store_open(&f->st, path, MCM_STORE_CREATE | MCM_STORE_NOSYNC, 0);
	mcm_cli_become_self(&f->ids);
	if (rc != 0) {
		mcm_cli_error(f->cmd, "cannot open mirror '%s' for writing: %s", path,
			      mcm_strerror(mcm_cli_write_error(path, rc)));
		f->st = NULL;
		return -1;
	}
	return 0;
}

/* A failed import that wrote nothing leaves no mirror it created. */
static void remove_if_new(struct from *f)
{
	const char *path = mcm_cli_mirror_path(f->g);
	static const char *const files[] = {"data.mdb", "lock.mdb"};

	if (f->had_data || f->written || !mcm_fsutil_has(path, "data.mdb"))
		return;
	mcm_store_close(f->st);
	f->st = NULL;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *p = mcm_fsutil_path("%s/%s", path, files[i]);

		if (p)
			unlink(p);
		free(p);
	}
	if (!f->had_dir)
		rmdir(path);
}

/* The pools to import: the one asked for, or all. @return 0, or an exit code after a message. */
static int choose(struct from *f, const mcm_pool_id *want, struct mcm_pool **pools, size_t *n)
{
	char why[1024], id[17];

	if (f->ops->pools(f->src, pools, n, why, sizeof why) != 0) {
		mcm_cli_error(f->cmd, "%s", why);
		return MCM_EXIT_FAIL;
	}
	if (!want)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if ((*pools)[i].id == *want) {
			(*pools)[0] = (*pools)[i];
			*n = 1;
			return 0;
		}
	mcm_dumpfmt_pool_id(*want, id);
	mcm_cli_error(f->cmd, "%s holds no pool %s (%zu pools: 'mcmirror replay --from URL --dry-run -v' names them)",
		      f->ops->describe(f->src), id, *n);
	return MCM_EXIT_FAIL;
}

static void json_summary(const struct from *f, const char *url, int rc)
{
	struct mcm_json j;
	char shown[1024];

	mcm_sql_redact(url, shown, sizeof shown);
	mcm_cli_summary_begin(&j, f->cmd, rc);
	mcm_json_str(&j, "mirror", mcm_cli_mirror_path(f->g));
	mcm_json_str(&j, "from", shown);
	mcm_json_u64(&j, "pools", f->pools);
	mcm_json_u64(&j, "live", f->live);
	mcm_json_u64(&j, "tombstones", f->tombstones);
	mcm_json_u64(&j, "written", f->written);
	mcm_json_double(&j, "seconds", f->start ? mcm_cli_now() - f->start : 0, 3);
	mcm_json_finish(&j);
}

static int import_all(struct from *f, const char *url, const mcm_pool_id *want, int timeout_ms)
{
	struct mcm_pool *pools = NULL;
	size_t n = 0;
	int rc;

	if ((rc = mcm_source_connect(f->cmd, url, timeout_ms, &f->ops, &f->src)) != 0)
		return rc;
	if ((rc = choose(f, want, &pools, &n)) != 0)
		return rc;
	if (open_mirror(f) != 0 || !(f->arena = malloc(ARENA_SIZE))) {
		free(pools);
		return MCM_EXIT_FAIL;
	}
	f->cap = ARENA_SIZE;
	f->start = mcm_cli_now();
	for (size_t i = 0; rc == 0 && i < n && !mcm_cli_interrupted; i++)
		rc = import_pool(f, &pools[i]);
	free(pools);
	if (f->st && mcm_store_sync(f->st) != 0 && rc == 0) {
		mcm_cli_error(f->cmd, "cannot sync mirror '%s'", mcm_cli_mirror_path(f->g));
		rc = -1;
	}
	if (mcm_cli_interrupted)
		mcm_cli_error(f->cmd, "interrupted by signal %d: the import is incomplete (the %" PRIu64
			      " records imported so far stay in the mirror)", (int)mcm_cli_interrupted, f->written);
	if (!f->g->quiet || rc)
		mcm_cli_error(f->cmd, "imported %" PRIu64 " pools, %" PRIu64 " live items and %" PRIu64
			      " deletions from %s in %.2f s", f->pools, f->live, f->tombstones, f->ops->describe(f->src),
			      mcm_cli_now() - f->start);
	return rc || mcm_cli_interrupted ? MCM_EXIT_FAIL : MCM_EXIT_OK;
}

int mcm_import_from(const struct mcm_global *g, const char *cmd, const char *url, const mcm_pool_id *want,
		    int timeout_ms)
{
	struct from *f;
	int rc;

	if (!(f = calloc(1, sizeof *f))) {
		mcm_cli_error(cmd, "out of memory");
		return MCM_EXIT_FAIL;
	}
	f->g = g;
	f->cmd = cmd;
	mcm_cli_signals();
	rc = import_all(f, url, want, timeout_ms);
	if (rc != MCM_EXIT_OK && f->st)
		remove_if_new(f);
	if (g->json)
		json_summary(f, url, rc);
	if (f->src)
		f->ops->close(f->src);
	mcm_store_close(f->st);
	mcm_cli_ids_free(&f->ids);
	free(f->arena);
	free(f);
	return rc;
}
