/* shim_concurrency.c - the shim driver's threads and forks: many handles writing at once.
 *
 * Keys of one writer are noted by that writer. Keys several writers share are
 * written under a lock the application holds around the call (the order of
 * the writes is then defined, and the mirror must follow it), or with equal
 * values, or are counters that may only be dropped.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork_quiet.h"
#include "shim_drive.h"

#define THREADS 8
#define PER_THREAD 300
#define SHARED 20
#define COUNTER_INCRS 100
#define CHILDREN 4
#define PER_CHILD 100
#define HANDOFF 10

static void put(const struct drv *d, const char *key, const char *val, time_t exp, uint32_t flags)
{
	drv_check(memcached_set(d->mc, key, strlen(key), val, strlen(val), exp, flags), MEMCACHED_SUCCESS, "set",
		  key);
}

/* One writer's own key: set, then one of delete, append, incr, touch, failed add. */
static void own_key(const struct drv *d, const char *key, int j)
{
	char value[64];
	uint64_t v;

	snprintf(value, sizeof value, j % 5 == 2 ? "%d" : "val-%d", j);
	put(d, key, value, j % 2 ? 300 : 0, (uint32_t)j);
	switch (j % 5) {
	case 0:
		drv_check(memcached_delete(d->mc, key, strlen(key), 0), MEMCACHED_SUCCESS, "delete", key);
		expect_note(d, key, SRV_ABSENT, MIR_EXACT, GROUP_ANY);
		return;
	case 1:
		drv_check(memcached_append(d->mc, key, strlen(key), "+a", 2, 0, 0), MEMCACHED_SUCCESS, "append", key);
		break;
	case 2:
		drv_check(memcached_increment(d->mc, key, strlen(key), 3, &v), MEMCACHED_SUCCESS, "incr", key);
		break;
	case 3:
		drv_check(memcached_touch(d->mc, key, strlen(key), 600), MEMCACHED_SUCCESS, "touch", key);
		break;
	default:
		drv_check2(memcached_add(d->mc, key, strlen(key), "x", 1, 0, 0), MEMCACHED_NOTSTORED,
			   MEMCACHED_DATA_EXISTS, "add", key);
		break;
	}
	expect_note(d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
}

/* ---- threads ---- */

struct worker {
	struct drv d;
	int id;
	pthread_t thread;
};

static pthread_mutex_t shared_locks[SHARED];

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char key[64], value[32];

	for (int j = 0; j < PER_THREAD; j++) {
		snprintf(key, sizeof key, "t%d-%d", w->id, j);
		own_key(&w->d, key, j);
		if (j % 15 == 0) { /* the same key, no lock: overlapping writes may be dropped */
			snprintf(key, sizeof key, "t-same-%d", j / 15);
			put(&w->d, key, "same", 0, 1);
			expect_note(&w->d, key, SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
		}
	}
	for (int j = 0; j < SHARED; j++) { /* different values, ordered by the application's lock */
		snprintf(key, sizeof key, "t-shared-%d", j);
		snprintf(value, sizeof value, "w%d", w->id);
		pthread_mutex_lock(&shared_locks[j]);
		put(&w->d, key, value, w->id % 2 ? 300 : 0, (uint32_t)w->id);
		expect_note(&w->d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
		pthread_mutex_unlock(&shared_locks[j]);
	}
	for (int j = 0; j < COUNTER_INCRS; j++)
		drv_check(memcached_increment(w->d.mc, "t-counter", 9, 1, NULL), MEMCACHED_SUCCESS, "incr", "t-counter");
	return NULL;
}

void concurrency_threads(struct drv *d)
{
	struct worker w[THREADS];
	char *v;
	size_t len;
	uint32_t flags;
	memcached_return_t rc;

	for (int i = 0; i < SHARED; i++)
		pthread_mutex_init(&shared_locks[i], NULL);
	put(d, "t-counter", "0", 0, 0);
	for (int i = 0; i < THREADS; i++) {
		w[i].d = *d;
		w[i].id = i;
		w[i].d.mc = memcached_clone(NULL, d->mc);
		w[i].d.binary = i % 2; /* odd threads speak binary */
		if (w[i].d.binary)
			memcached_behavior_set(w[i].d.mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			drv_fail("cannot start thread %d", i);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		memcached_free(w[i].d.mc);
	}
	/* concurrent increments may be recorded out of order: the counter may only be dropped */
	v = memcached_get(d->mc, "t-counter", 9, &len, &flags, &rc);
	if (!v || strtoul(v, NULL, 10) != THREADS * COUNTER_INCRS)
		drv_fail("t-counter is '%s', expected %d", v ? v : "(null)", THREADS * COUNTER_INCRS);
	free(v);
	expect_note(d, "t-counter", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
}

/* ---- forks ---- */

/* A handle of the child's own, made differently in each child. */
static memcached_st *child_handle(const struct drv *parent, int i)
{
	char config[300];
	memcached_st *mc;

	switch (i) {
	case 0:
		return memcached_clone(NULL, parent->mc);
	case 1:
		return drv_connect(parent->servers, 0, parent->ns);
	case 2:
		mc = memcached_clone(NULL, parent->mc);
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
		return mc;
	default:
		snprintf(config, sizeof config, "--SERVER=%s", parent->servers);
		if (!(mc = memcached(config, strlen(config)))) {
			fprintf(stderr, "drive: bad configuration '%s'\n", config);
			exit(1);
		}
		return mc;
	}
}

static void child_main(const struct drv *parent, int i, const char *out, const char *lock_path)
{
	struct drv d = *parent;
	char key[64], value[32];
	int lock_fd = open(lock_path, O_RDWR); /* its own: an inherited descriptor would share the lock */

	expect_reset();
	if (lock_fd < 0) {
		perror(lock_path);
		exit(1);
	}
	d.mc = child_handle(parent, i);
	d.binary = i == 2;
	for (int j = 0; j < PER_CHILD; j++) {
		snprintf(key, sizeof key, "f-c%d-%d", i, j);
		own_key(&d, key, j);
	}
	for (int j = 0; j < HANDOFF; j++) { /* keys the parent wrote before the fork */
		snprintf(key, sizeof key, "f-hand-%d-%d", i, j);
		if (j % 2) {
			put(&d, key, "child", 0, (uint32_t)i);
			expect_note(&d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
		} else {
			drv_check(memcached_delete(d.mc, key, strlen(key), 0), MEMCACHED_SUCCESS, "delete", key);
			expect_note(&d, key, SRV_ABSENT, MIR_EXACT, GROUP_ANY);
		}
	}
	for (int j = 0; j < SHARED; j++) {
		snprintf(key, sizeof key, "f-shared-%d", j);
		snprintf(value, sizeof value, "c%d", i);
		flock(lock_fd, LOCK_EX);
		put(&d, key, value, 0, (uint32_t)i);
		flock(lock_fd, LOCK_UN);
		expect_note(&d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
	}
	memcached_free(d.mc);
	close(lock_fd);
	if (expect_write(out) != 0)
		exit(1);
	exit(drv_failures() ? 1 : 0);
}

static void parent_before(const struct drv *d)
{
	char key[64];

	for (int j = 0; j < 50; j++) {
		snprintf(key, sizeof key, "f-parent-%d", j);
		put(d, key, key, j % 2 ? 300 : 0, (uint32_t)j);
		expect_note(d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
	}
	for (int i = 0; i < CHILDREN; i++)
		for (int j = 0; j < HANDOFF; j++) {
			snprintf(key, sizeof key, "f-hand-%d-%d", i, j);
			put(d, key, "parent", 0, 100); /* noted by the child that takes it over */
		}
}

static void parent_after(const struct drv *d)
{
	char key[64];

	for (int j = 0; j < 20; j++) {
		snprintf(key, sizeof key, "f-after-%d", j);
		put(d, key, key, 0, (uint32_t)j);
		expect_note(d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
	}
	for (int j = 0; j < 10; j++) {
		snprintf(key, sizeof key, "f-parent-%d", j);
		drv_check(memcached_delete(d->mc, key, strlen(key), 0), MEMCACHED_SUCCESS, "delete", key);
		expect_note(d, key, SRV_ABSENT, MIR_EXACT, GROUP_ANY);
	}
}

void concurrency_forks(struct drv *d, const char *out)
{
	char lock_path[4096];
	pid_t pids[CHILDREN];
	int lock_fd, status;

	snprintf(lock_path, sizeof lock_path, "%s.lock", out);
	if ((lock_fd = open(lock_path, O_RDWR | O_CREAT, 0600)) < 0) {
		perror(lock_path);
		exit(1);
	}
	close(lock_fd);
	parent_before(d);
	fflush(stdout);
	fork_quiet();
	for (int i = 0; i < CHILDREN; i++) {
		if ((pids[i] = fork()) < 0)
			drv_fail("fork failed");
		else if (pids[i] == 0)
			child_main(d, i, out, lock_path);
	}
	for (int i = 0; i < CHILDREN; i++) {
		if (pids[i] > 0 && (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
				    WEXITSTATUS(status) != 0))
			drv_fail("child %d failed (status %d)", i, status);
	}
	parent_after(d);
}
