/* load.h - what the two halves of `mcmirror load` share: reading and checking a
 * dump into a new environment (cmd_load.c), and putting it in place, by a
 * rename or a merge by write time (load_merge.c). Internal to the tool. */
#ifndef MCM_LOAD_H
#define MCM_LOAD_H

#include <stdint.h>
#include <stdio.h>

#include "mcm_store.h"
#include "mcmirror.h"

#define CMD "load"
#define BATCH 1024 /* records per transaction */

/* The input, read in blocks: memory stays bounded by the longest header
 * line and record head (MCM_DUMP_HEAD_MAX) plus the largest value, however
 * long a line is. */
struct reader {
	int fd;
	const char *name;  /* for messages: the file name, or "stdin" */
	char *buf;         /* READ_BUF bytes read ahead */
	size_t off, avail;
	int eof;
	char *line;        /* a header line, or the fields of a record before its value */
	size_t cap;
	size_t len;        /* of line, its '\n' (or the space before the value) included */
	char *value;       /* the unescaped value of the current record */
	size_t value_cap, value_len;
	uint64_t value_max; /* --max-value */
	uint64_t lineno;
	uint32_t crc;      /* of every line before the trailer */
	uint64_t bytes, size; /* read so far; the file's size (0: unknown) */
};

/* Records waiting for their transaction: mutations point into arena. */
struct batch {
	struct mcm_mutation m[BATCH];
	uint64_t line[BATCH];
	size_t n;
	char *arena;
	size_t used, cap;
};

struct load {
	const struct mcm_global *g;
	struct mcm_cli_ids ids; /* the mirror's owner, when root loads into a user's mirror */
	struct mcm_store *to;  /* where batches go: st while loading, the mirror while merging */
	const char *dir;     /* the mirror */
	char *tmp;           /* DIR.load.<pid> */
	struct mcm_store *st; /* the environment in tmp */
	struct reader r;
	struct mcm_pool *pools; /* the header's, in id order */
	size_t npools;
	uint64_t last_seq;   /* the header's, raised to every number seen */
	uint64_t records;
	uint64_t taken, kept, tombstoned; /* a merge's counts */
	int merged;          /* 1 merged into a mirror, 0 a new mirror */
	double start;
	mcm_pool_id prev_pool; /* order check */
	char *prev_key;
	size_t prev_len;
	char *scratch;
	size_t scratch_size;
	struct batch b;
	int show;
	double last_draw;
};

/** The header's pool record for id, or NULL. */
const struct mcm_pool *mcm_load_header_pool(const struct load *ld, mcm_pool_id id);

/** Queue a record, exactly as given, for the next transaction into ld->to,
 * pool record p (seq 0: the next number). @return 0, or -1 after a message. */
int mcm_load_queue(struct load *ld, const struct mcm_item *it, const struct mcm_pool *p, uint64_t seq);

/** Apply the queued records. @return 0, or -1 after a message. */
int mcm_load_flush(struct load *ld);

/** No mirror at ld->dir: move the loaded environment there.
 * @return 0, 1 when a mirror is there (merge instead), -1 after a message. */
int mcm_load_install(struct load *ld);

/** A mirror at ld->dir: merge the loaded records by write time.
 * @return 0 or -1 after a message. */
int mcm_load_merge(struct load *ld);

#endif
