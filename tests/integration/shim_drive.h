/* shim_drive.h - what the parts of the shim driver (drive.c, shim_cases.c,
 * shim_concurrency.c, shim_expect.c) share.
 *
 * The driver runs under libmcmirror.so and calls every intercepted libmemcached
 * write. For each key it touches it notes what the server must now hold and
 * what the mirror is allowed to hold; mirror_check later compares both sides.
 * The driver is linked with libmemcached only: it must never open the mirror
 * itself (the shim in the same process does).
 */
#ifndef SHIM_DRIVE_H
#define SHIM_DRIVE_H

#include <sys/types.h>

#include <libmemcached/memcached.h>

/** One client handle and what the driver knows of it. */
struct drv {
	memcached_st *mc;
	const char *servers; /**< canonical server list: the shim's name for the pool */
	const char *ns;      /**< namespace set on mc, "" for none */
	int binary;          /**< binary protocol */
};

/** What the server must hold after the driver's writes (expectation column 4). */
#define SRV_PRESENT 'P'
#define SRV_ABSENT 'A'
#define SRV_ANY '?'

/** What the mirror may hold (column 5). */
#define MIR_EXACT 'M'   /**< exactly what the server holds: a miss is a failure */
#define MIR_DROP_OK 'D' /**< the server's state, or nothing (the outcome was unknown) */
#define MIR_DROPPED 'X' /**< nothing: the contract says the key is dropped */

/** Group check (column 6): NULL = do not check; "" = a plain call (no group
 * key); otherwise the group key of a *_by_key call. */
#define GROUP_ANY NULL
#define GROUP_PLAIN ""

/* ---- shim_expect.c: the table of touched keys ---- */

/** Note the state of d's key after the last write to it (the last note wins).
 * group: GROUP_ANY, GROUP_PLAIN, or the explicit group key. Thread-safe. */
void expect_note(const struct drv *d, const char *key, char server, char mirror, const char *group);

/** Every key noted for pool servers is now absent (flush_all). */
void expect_flush(const char *servers);

/** Forget the table (in a child after fork: the parent writes its own). */
void expect_reset(void);

/** Append the table to path, one tab-separated line per key:
 *   servers, namespace length, wire key, server state, mirror rule, group
 * (group is "-" unchecked, "=" plain, "g:<group key>" explicit).
 * @return 0, or -1 with a message. */
int expect_write(const char *path);

/* ---- drive.c: checking return codes ---- */

/** Nonzero: print no transcript (threads, forks). */
extern int drv_quiet;

/** Record the outcome of op on key: print "op key: RC" to stdout (the
 * transcript compared with and without the shim) and count a failure when rc
 * is not want. */
void drv_check(memcached_return_t rc, memcached_return_t want, const char *op, const char *key);

/** The same, when either of two codes is right (they differ by protocol). */
void drv_check2(memcached_return_t rc, memcached_return_t a, memcached_return_t b, const char *op,
		const char *key);

/** The same, when any failure is right (the exact code is not the point). */
void drv_check_failed(memcached_return_t rc, const char *op, const char *key);

/** Count a failure of the driver's own expectations, with a message. */
void drv_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Failures so far. */
int drv_failures(void);

/** The cas value of key on d, read with mget + fetch_result (0 when absent; a failed mget is
 * counted as a failure). */
uint64_t drv_cas(const struct drv *d, const char *key);

/** A handle on servers ("h:p,h:p"), with binary protocol and namespace ns ("" none).
 * Exits on failure. */
memcached_st *drv_connect(const char *servers, int binary, const char *ns);

/* ---- shim_cases.c: one connection, every call ---- */

/** Run every single-connection case on d (keys are named after the case). */
void cases_run(struct drv *d);

/** The cases of several pools: overlapping names with different values
 * (d1, d2), routing by group key in a two-server pool (d3), and flush_all
 * followed by new writes on d2. */
void cases_pools(struct drv *d1, struct drv *d2, struct drv *d3);

/** Binary protocol: writes to keys the server holds and the mirror never saw. */
void cases_edge(struct drv *d);

/** Server-side changes behind the shim's back: the mirror may only drop. */
void raw_delete(const struct drv *d, const char *key);
void raw_set(const struct drv *d, const char *key, const char *value, uint32_t flags);

/* ---- shim_answers.c ---- */

/** Definite answers that are not successes (absent keys, values that are not
 * numbers, values too large), numbers by memcached's own parse, and a decr
 * while another connection holds the item: the mirror follows them exactly. */
void cases_answers(struct drv *d);

/* ---- shim_desync.c ---- */

/** Text-protocol connections out of step, one case of each kind: d on one
 * server (whose process is server1, stopped a moment for a timeout; 0: no
 * timeout case), d2 a two-server pool, dinj a pool of its own (forgotten). */
void cases_desync(struct drv *d, struct drv *d2, struct drv *dinj, pid_t server1);

/** A seeded random workload of calls over three handles (keys r0-*, r1-*,
 * r2-*), sprinkled with calls that leave a connection out of step; only d3
 * (a server of its own) gets calls that run commands nobody meant. */
void desync_random(struct drv *d, struct drv *d2, struct drv *d3, unsigned long seed, long calls);

/* ---- shim_concurrency.c ---- */

/** 8 threads, each with its own clone of d's handle. */
void concurrency_threads(struct drv *d);

/** The parent writes, then 4 forked children write with handles of their
 * own, then the parent again. Children append their notes to out. */
void concurrency_forks(struct drv *d, const char *out);

#endif
