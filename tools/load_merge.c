/* load_merge.c - `mcmirror load`, second half: put a checked, loaded dump in place.
 * A new mirror gets the loaded environment renamed into place; an existing one
 * takes the loaded records by write time (the later wtime_us wins, a tie keeps
 * the mirror's), through MCM_OP_RESTORE in batches. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dumpfmt.h"
#include "fsutil.h"
#include "load.h"
#include "mcm_drain.h"
#include "mcm_store.h"
#include "mcmirror.h"

static int merge(struct load *ld);

/* No mirror at DIR: move the loaded environment there (the directory when
 * DIR does not exist, else data.mdb, never over one). @return 0, 1 when a
 * mirror is there (merge instead), -1 after a message. */
int mcm_load_install(struct load *ld)
{
	char *from = mcm_fsutil_path("%s/data.mdb", ld->tmp), *to = mcm_fsutil_path("%s/data.mdb", ld->dir);
	char *lock = mcm_fsutil_path("%s/lock.mdb", ld->tmp);
	int rc = 0;

	if (!from || !to || !lock) {
		rc = ENOMEM;
	} else if (mcm_fsutil_exists(to)) {
		rc = EEXIST;
	} else {
		mcm_store_close(ld->st);
		ld->st = ld->to = NULL;
		unlink(lock);
		if ((rc = mcm_cli_give_to_owner(&ld->ids, from)) == 0 && (rc = mcm_fsutil_sync_file(from)) == 0 &&
		    !mcm_fsutil_exists(ld->dir))
			rc = rename(ld->tmp, ld->dir) != 0 ? errno : 0;
		else if (rc == 0)
			rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) != 0 ? errno : 0;
		if (rc == 0 && (rc = mcm_fsutil_sync_dir(ld->dir)) == 0)
			rc = mcm_fsutil_sync_parent(ld->dir);
	}
	free(from);
	free(to);
	free(lock);
	if (rc == EEXIST)
		return 1;
	if (rc != 0) {
		mcm_cli_error(CMD, "cannot move the loaded mirror to '%s': %s", ld->dir, strerror(rc));
		return -1;
	}
	return 0;
}

/* The merge: where, and the pools records are written with. */
struct merge {
	struct mcm_store *dst;
	struct mcm_pool *pools; /* dst's records of the loaded pools, in ld->pools order */
};

/* Each loaded pool into the mirror (new ones exactly), then read back as
 * the mirror now has them: records are applied with those, so a merge never
 * changes a pool's recorded distribution or hashes. */
static int merge_pools(struct load *ld, struct merge *mg)
{
	int rc = 0;

	if (!(mg->pools = calloc(ld->npools ? ld->npools : 1, sizeof *mg->pools)))
		return ENOMEM;
	for (size_t i = 0; rc == 0 && i < ld->npools; i++) {
		struct mcm_mutation m;

		memset(&m, 0, sizeof m);
		m.op = MCM_OP_RESTORE_POOL;
		m.pool = &ld->pools[i];
		if ((rc = mcm_store_apply(mg->dst, &m, 1)) == 0)
			rc = mcm_store_pool(mg->dst, ld->pools[i].id, &mg->pools[i]);
	}
	return rc;
}

/* Queue one loaded record unless the mirror's is as recent. */
static int merge_one(struct load *ld, struct merge *mg, struct mcm_item *it, int64_t now)
{
	const struct mcm_pool *lp = mcm_load_header_pool(ld, it->pool);
	struct mcm_item old;
	int rc;

	if (!lp)
		return 0;
	rc = mcm_store_get(mg->dst, it->pool, it->key, it->key_len, &old);
	if (rc != 0 && rc != MCM_ENOTFOUND && rc != MCM_EDAMAGED)
		return rc;
	if (rc == MCM_EDAMAGED) /* the mirror's record is damaged: the loaded one replaces it */
		rc = MCM_ENOTFOUND;
	if (rc == 0 && old.wtime_us >= it->wtime_us) {
		ld->kept++;
		return 0;
	}
	if (mcm_dumpfmt_status(it, lp, now) == MCM_DUMP_FLUSHED) {
		/* killed by a flush the mirror's numbers cannot express: absent */
		it->kind = MCM_KIND_DELETED;
		it->flags = 0;
		it->exptime = 0;
		it->value_len = 0;
		ld->tombstoned++;
	}
	ld->taken++;
	return mcm_load_queue(ld, it, &mg->pools[lp - ld->pools], 0) == 0 ? 0 : -1;
}

static int merge_records(struct load *ld, struct merge *mg)
{
	int64_t now = (int64_t)time(NULL);
	struct mcm_iter *it;
	struct mcm_item item;
	uint64_t seen = 0;
	int rc = mcm_iter_open(ld->st, MCM_ORDER_KEY, 0, &it);

	ld->to = mg->dst;
	while (rc == 0 && !mcm_cli_interrupted && ((rc = mcm_iter_next(it, &item)) == 0 || rc == MCM_EDAMAGED)) {
		if (rc == MCM_EDAMAGED) { /* (the loaded copy was checked whole: only a disk fault here) */
			mcm_cli_damaged(CMD, &item);
			rc = 0;
			continue;
		}
		if ((rc = merge_one(ld, mg, &item, now)) != 0)
			break;
		if ((++seen & 4095) == 0 && ld->show)
			fprintf(stderr, "\rmcmirror: load: merged %" PRIu64 " of %" PRIu64 " records", seen, ld->records);
	}
	mcm_iter_close(it);
	if (ld->show)
		fputc('\n', stderr);
	if (rc == MCM_END)
		rc = 0;
	if (rc > 0 || rc < -1)
		mcm_cli_error(CMD, "cannot merge into mirror '%s': %s", ld->dir, mcm_strerror(mcm_cli_write_error(ld->dir, rc)));
	if (rc == 0 && mcm_load_flush(ld) != 0)
		rc = -1;
	return rc;
}

/* A mirror at DIR: merge by write time, as the mirror's owner. @return 0 or -1 after a message. */
int mcm_load_merge(struct load *ld)
{
	int rc;

	if (mcm_cli_become(CMD, ld->dir, &ld->ids) != 0)
		return -1;
	rc = merge(ld);
	mcm_cli_become_self(&ld->ids);
	return rc;
}

static int merge(struct load *ld)
{
	struct merge mg = {0};
	int rc = mcm_drain_catch_up(ld->dir, 5000);

	if (rc != 0 && rc != ENOENT)
		mcm_cli_warn(CMD, "cannot apply the journal of '%s' first: %s", ld->dir, mcm_strerror(rc));
	if ((rc = mcm_store_open(&mg.dst, ld->dir, MCM_STORE_NOSYNC, 0)) != 0) {
		mcm_cli_error(CMD, "cannot open mirror '%s' to merge into it: %s", ld->dir,
			      mcm_strerror(mcm_cli_write_error(ld->dir, rc)));
		return -1;
	}
	if ((rc = merge_pools(ld, &mg)) != 0)
		mcm_cli_error(CMD, "cannot merge the pools into mirror '%s': %s", ld->dir,
			      mcm_strerror(mcm_cli_write_error(ld->dir, rc)));
	else if ((rc = merge_records(ld, &mg)) == 0 && (rc = mcm_store_sync(mg.dst)) != 0)
		mcm_cli_error(CMD, "cannot sync mirror '%s': %s", ld->dir, mcm_strerror(mcm_cli_write_error(ld->dir, rc)));
	if (rc == 0 && mcm_cli_interrupted) {
		mcm_cli_error(CMD, "interrupted by signal %d: mirror '%s' holds %" PRIu64 " of the dump's records "
			      "merged so far; load the file again to complete the merge", (int)mcm_cli_interrupted,
			      ld->dir, ld->taken);
		rc = -1;
	}
	if (rc == 0 && !ld->g->quiet)
		mcm_cli_error(CMD, "merged '%s' into mirror '%s': %" PRIu64 " records taken from the dump (%" PRIu64
			      " of them values it lists as flushed, taken as deletions), %" PRIu64
			      " kept from the mirror (written at the same time or later)",
			      ld->r.name, ld->dir, ld->taken, ld->tombstoned, ld->kept);
	mcm_store_close(mg.dst);
	free(mg.pools);
	return rc ? -1 : 0;
}
