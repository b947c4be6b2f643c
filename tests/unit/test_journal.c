/* test_journal.c - the shared write journal: appends, reads, wrap-around, a full ring, reopening, fork,
 * group sync, recovery after a restart of the machine, CRCs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "mcm_crc.h"
#include "mcm_journal.h"
#include "unit.h"

/* The inode of this process's pid namespace (what the append lock names). */
static uint32_t pid_ns(void)
{
	struct stat sb;

	assert_int_equal(stat("/proc/self/ns/pid", &sb), 0);
	return (uint32_t)sb.st_ino;
}

/* Append one record of len bytes, each byte fill; returns the append's code. */
static int append_fill(struct mcm_journal *j, uint64_t id, size_t len, int fill, unsigned wait_ms)
{
	unsigned char buf[8192];
	struct iovec iov = {buf, len};
	uint64_t end;

	assert_true(len <= sizeof buf);
	memset(buf, fill, len);
	return mcm_journal_append(j, MCM_J_OUTCOME, id, &iov, 1, wait_ms, &end);
}

/* Read the next record and check it is the one append_fill made. */
static void read_fill(struct mcm_journal *j, uint64_t *pos, uint64_t id, size_t len, int fill)
{
	const struct mcm_jrec *r;
	const unsigned char *p;
	size_t plen;

	assert_int_equal(mcm_journal_read(j, pos, &r, &p, &plen), 0);
	assert_int_equal(r->type, MCM_J_OUTCOME);
	assert_int_equal(r->id, id);
	assert_int_equal(plen, len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(p[i], (unsigned char)fill);
}

static void test_round_trip(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	const struct mcm_jrec *r;
	const unsigned char *p;
	size_t plen;
	uint64_t pos = 0, end;
	struct iovec iov[2] = {{"abc", 3}, {"defgh", 5}};
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 0), ENOENT); /* not created unless asked */
	assert_int_equal(mcm_journal_open(&j, dir, 64 << 10, 1), 0);
	assert_int_equal(mcm_journal_append(j, MCM_J_INTENT, 7, iov, 2, 0, &end), 0);
	assert_int_equal(end, 32); /* 24-byte header + 8 bytes */
	assert_int_equal(mcm_journal_tail(j), 32);
	assert_int_equal(append_fill(j, 8, 0, 0, 0), 0); /* an empty payload */
	assert_int_equal(mcm_journal_read(j, &pos, &r, &p, &plen), 0);
	assert_int_equal(r->type, MCM_J_INTENT);
	assert_int_equal(r->id, 7);
	assert_int_equal(plen, 8);
	assert_memory_equal(p, "abcdefgh", 8);
	read_fill(j, &pos, 8, 0, 0);
	assert_int_equal(mcm_journal_read(j, &pos, &r, &p, &plen), MCM_END);
	assert_int_equal(mcm_journal_head(j), 0);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* One record a write: a resolution says where the tail was when the call
 * returned; a drainer that comes first takes the record over, and the
 * writer's resolution then fails; so does one after more than 1 MiB was
 * appended, or one whose CRC is not the record's; a spare word scribbled on
 * reads as taken over, not as resolved. */
static void test_resolve(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct mcm_jticket t[4];
	const struct mcm_jrec *r;
	const unsigned char *p;
	size_t plen;
	uint64_t pos = 0, at, close = 0, tail;
	struct iovec iov = {"abc", 3};
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 8 << 20, 1), 0);
	assert_int_equal(mcm_journal_features(j), 0); /* (no drainer said it reads them) */
	for (int i = 0; i < 4; i++)
		assert_int_equal(mcm_journal_append_write(j, (uint64_t)i, &iov, 1, 0, &t[i]), 0);
	assert_int_equal(t[1].pos, 32);
	assert_int_equal(append_fill(j, 9, 100, 1, 0), 0);
	tail = mcm_journal_tail(j);
	assert_int_equal(mcm_journal_resolve(j, &t[0]), 0);
	assert_int_equal(mcm_journal_resolve(j, &t[0]), EALREADY);
	at = pos;
	assert_int_equal(mcm_journal_read(j, &pos, &r, &p, &plen), 0);
	assert_int_equal(r->type, MCM_J_WRITE);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(mcm_journal_settle(j, r, at, &close), 1);
	assert_int_equal(close, tail);
	/* the drainer first */
	at = pos;
	assert_int_equal(mcm_journal_read(j, &pos, &r, &p, &plen), 0);
	assert_int_equal(mcm_journal_settle(j, r, at, &close), 0);
	assert_int_equal(mcm_journal_resolve(j, &t[1]), EALREADY);
	assert_int_equal(mcm_journal_settle(j, r, at, &close), 0);
	/* a CRC that is not the record's */
	t[2].crc ^= 0x100;
	assert_int_equal(mcm_journal_resolve(j, &t[2]), EALREADY);
	t[2].crc ^= 0x100;
	/* a scribble on the spare word: a resolution with the wrong tag */
	at = pos;
	assert_int_equal(mcm_journal_read(j, &pos, &r, &p, &plen), 0);
	((struct mcm_jrec *)r)->spare = 0x80000000u | (~r->crc >> 17) << 16 | 2;
	assert_int_equal(mcm_journal_settle(j, r, at, &close), 0);
	/* more than 1 MiB appended while the call was in flight */
	for (int i = 0; i < 140; i++)
		assert_int_equal(append_fill(j, 10, 8000, 2, 0), 0);
	assert_int_equal(mcm_journal_resolve(j, &t[3]), E2BIG);
	at = pos;
	assert_int_equal(mcm_journal_read(j, &pos, &r, &p, &plen), 0);
	assert_int_equal(r->id, 3);
	assert_int_equal(mcm_journal_settle(j, r, at, &close), 0);
	mcm_journal_add_features(j, MCM_JFEAT_WRITE);
	assert_int_equal(mcm_journal_features(j), MCM_JFEAT_WRITE);
	mcm_journal_close(j);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 0), 0);
	assert_int_equal(mcm_journal_features(j), MCM_JFEAT_WRITE); /* kept in the file */
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* Many laps of a small ring whose old payloads are all 0xff bytes: every
 * record reads back whole, PAD records at the end of the ring are skipped. */
static void test_wrap_around(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	uint64_t pos = 0;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 4096, 1), 0);
	for (uint64_t i = 0; i < 400; i++) {
		size_t len = 40 + (size_t)(i * 37) % 900;
		assert_int_equal(append_fill(j, i, len, 0xff, 0), 0);
		read_fill(j, &pos, i, len, 0xff);
		mcm_journal_set_reclaim(j, pos);
	}
	assert_true(mcm_journal_tail(j) > 10 * 4096); /* it did wrap, many times */
	assert_int_equal(mcm_journal_lost(j), 0);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

static void test_full_ring(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	uint64_t pos = 0;
	int n = 0, rc;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 4096, 1), 0);
	while ((rc = append_fill(j, (uint64_t)n, 500, n, 0)) == 0)
		n++;
	assert_int_equal(rc, ENOSPC);
	assert_int_equal(n, 4096 / 528); /* 24-byte header + 500, rounded up to 528 */
	assert_int_equal(mcm_journal_lost(j), 1);
	assert_int_equal(append_fill(j, 99, 500, 0, 3), ENOSPC); /* waited 3 ms, still full */
	assert_int_equal(mcm_journal_lost(j), 2);
	/* the records before are intact; consuming one makes room again */
	read_fill(j, &pos, 0, 500, 0);
	mcm_journal_set_head(j, pos);
	assert_int_equal(append_fill(j, 100, 500, 1, 0), ENOSPC); /* applied, but not yet on disk in LMDB */
	mcm_journal_set_reclaim(j, pos);
	assert_int_equal(append_fill(j, 100, 500, 1, 0), 0);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

static void test_too_large(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 16384, 1), 0);
	assert_int_equal(append_fill(j, 1, 4096, 0, 0), EMSGSIZE); /* with its header, over a quarter */
	assert_int_equal(append_fill(j, 1, 4096 - 24, 0, 0), 0);
	assert_int_equal(mcm_journal_lost(j), 0);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

static void test_reopen(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct mcm_journal *j;
	uint64_t instance, pos = 0;
	FILE *f;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 8192, 1), 0);
	instance = mcm_journal_instance(j);
	for (int i = 0; i < 5; i++)
		assert_int_equal(append_fill(j, (uint64_t)i, 100, i, 0), 0);
	mcm_journal_set_head(j, 128);
	mcm_journal_close(j);
	assert_int_equal(mcm_journal_open(&j, dir, 1 << 20, 1), 0); /* the size applies at creation only */
	assert_int_equal(mcm_journal_instance(j), instance);
	assert_int_equal(mcm_journal_head(j), 128);
	for (int i = 0; i < 5; i++)
		read_fill(j, &pos, (uint64_t)i, 100, i);
	mcm_journal_close(j);
	/* a file that is not a journal */
	snprintf(path, sizeof path, "%s/journal", dir);
	assert_non_null(f = fopen(path, "w"));
	for (int i = 0; i < 9000; i++)
		fputc('x', f);
	fclose(f);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 1), MCM_EFORMAT);
	unit_rmtree(dir);
}

/* A journal of the first layout: replaced when everything in it was applied,
 * refused when not (its records cannot be read any more). */
/* A journal of an earlier layout (MCMJRNL1: no CRCs; MCMJRNL2: a robust mutex
 * for appends) is refused while it holds records to apply, replaced once
 * everything in it was applied. */
static void old_layout(uint64_t magic)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	uint64_t h[5] = {magic, 8192, 42, 4096, 4096};
	struct mcm_journal *j;
	int fd;

	unit_tmpdir(dir);
	snprintf(path, sizeof path, "%s/journal", dir);
	assert_true((fd = open(path, O_RDWR | O_CREAT, 0600)) >= 0);
	assert_int_equal(ftruncate(fd, 4096 + 8192), 0);
	h[4] = 2048; /* head behind tail: records to apply */
	assert_int_equal(pwrite(fd, h, sizeof h, 0), sizeof h);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 1), MCM_EFORMAT);
	h[4] = 4096;
	assert_int_equal(pwrite(fd, h, sizeof h, 0), sizeof h);
	close(fd);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 1), 0);
	assert_int_equal(mcm_journal_size(j), 8192); /* the old one's size */
	assert_int_equal(mcm_journal_tail(j), 0);
	assert_int_equal(append_fill(j, 1, 10, 'x', 0), 0);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

static void test_old_layout(void **state)
{
	(void)state;
	old_layout(0x314c4e524a4d434dULL); /* MCMJRNL1 */
	old_layout(0x324c4e524a4d434dULL); /* MCMJRNL2 */
}

/* A writer killed inside an append (here: a child that takes the append lock
 * by hand and exits holding it) leaves the lock naming a thread that is gone:
 * the next writer takes it over and appends, and what the dead one may have
 * written past the tail never shows. A lock naming a live thread of another
 * pid namespace is not taken (a writer cannot judge it): the append waits. */
static void test_lock_owner_gone(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct mcm_jheader *h;
	uint64_t pos = 0, word, held;
	int status;
	pid_t pid;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 8192, 1), 0);
	assert_int_equal(append_fill(j, 1, 10, 'a', 0), 0);
	h = unit_jheader_map(dir);
	word = __atomic_load_n(&h->append_lock, __ATOMIC_ACQUIRE);
	assert_int_equal(word, 0);
	pid = fork();
	if (pid == 0) {
		/* the lock word a writer of this process would hold: its namespace, its id */
		uint64_t me = 0;

		if (append_fill(j, 2, 10, 'b', 0) != 0)
			_exit(1);
		me = (uint64_t)pid_ns() << 32 | (uint32_t)getpid();
		__atomic_store_n(&h->append_lock, me, __ATOMIC_RELEASE);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	held = __atomic_load_n(&h->append_lock, __ATOMIC_ACQUIRE);
	assert_true(held != 0);
	assert_int_equal(append_fill(j, 3, 10, 'c', 0), 0); /* taken over */
	assert_int_equal(__atomic_load_n(&h->append_lock, __ATOMIC_ACQUIRE), 0);
	read_fill(j, &pos, 1, 10, 'a');
	read_fill(j, &pos, 2, 10, 'b');
	read_fill(j, &pos, 3, 10, 'c');

	/* another namespace's owner (an id that names nobody here): not taken over */
	__atomic_store_n(&h->append_lock, (uint64_t)(pid_ns() + 1) << 32 | (uint32_t)pid, __ATOMIC_RELEASE);
	pid = fork();
	if (pid == 0)
		_exit(append_fill(j, 4, 10, 'd', 0) == 0 ? 0 : 1); /* blocks while the word is held */
	assert_true(pid > 0);
	usleep(100 * 1000);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still waiting */
	__atomic_store_n(&h->append_lock, 0, __ATOMIC_RELEASE); /* the owner "releases" */
	syscall(SYS_futex, (uint32_t *)&h->append_lock, FUTEX_WAKE, 1, NULL, NULL, 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	read_fill(j, &pos, 4, 10, 'd');
	unit_jheader_unmap(h);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* A child after fork() appends into the mapping it inherited; the parent reads it. */
static void test_fork_child_appends(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	uint64_t pos = 0;
	int status;
	pid_t pid;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 8192, 1), 0);
	assert_int_equal(append_fill(j, 1, 10, 'p', 0), 0);
	pid = fork();
	if (pid == 0)
		_exit(append_fill(j, 2, 20, 'c', 0) == 0 ? 0 : 1);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	read_fill(j, &pos, 1, 10, 'p');
	read_fill(j, &pos, 2, 20, 'c');
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* mcm_journal_sync from several processes at once: each returns only once
 * its own record is covered, and one sync serves several callers. */
static void test_group_sync(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct mcm_jheader *h;
	int status;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 1 << 20, 1), 0);
	assert_int_equal(mcm_journal_synced(j), 0);
	mcm_journal_writing(j, -1); /* never below 0: the syncs below do not wait for a writer */
	for (int c = 0; c < 4; c++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (int i = 0; i < 100; i++) {
				unsigned char buf[100];
				struct iovec iov = {buf, sizeof buf};
				uint64_t end;

				memset(buf, c, sizeof buf);
				if (mcm_journal_append(j, MCM_J_OUTCOME, (uint64_t)c, &iov, 1, 0, &end) != 0 ||
				    mcm_journal_sync(j, end, 5000) != 0 || mcm_journal_synced(j) < end)
					_exit(1);
			}
			_exit(0);
		}
		assert_true(pid > 0);
	}
	for (int c = 0; c < 4; c++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(mcm_journal_synced(j), mcm_journal_tail(j));
	assert_int_equal(mcm_journal_tail(j), 400 * 128);
	h = unit_jheader_map(dir);
	assert_int_equal(h->writing, 0);
	unit_jheader_unmap(h);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* What a power loss leaves behind: the boot id of an earlier boot, the append
 * mutex "held" by a thread that no longer exists, a record that never fully
 * reached the disk. The next open repairs it: the mutex is free, the records
 * before the torn one are kept (and no later one, though whole), the
 * instance changes and the old one is remembered. */
static void test_recover_after_restart(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct mcm_jheader *h;
	uint64_t pos = 0, torn, instance, prev, at;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 64 << 10, 1), 0);
	instance = mcm_journal_instance(j);
	assert_int_equal(mcm_journal_recovery(j, &prev, &at), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(append_fill(j, (uint64_t)i, 100, i, 0), 0);
	torn = mcm_journal_tail(j);
	for (int i = 3; i < 5; i++)
		assert_int_equal(append_fill(j, (uint64_t)i, 100, i, 0), 0);
	mcm_journal_close(j);

	/* the same boot: nothing changes, though a record is damaged */
	unit_journal_tear(dir, torn);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 0), 0);
	assert_int_equal(mcm_journal_instance(j), instance);
	assert_int_equal(mcm_journal_tail(j), 5 * 128);
	mcm_journal_close(j);

	h = unit_jheader_map(dir);
	strcpy(h->boot_id, "an-earlier-boot");
	h->append_lock = (uint64_t)12345 << 32 | 0x3ffff0; /* held by a thread of the old boot */
	unit_jheader_unmap(h);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 0), 0);
	h = unit_jheader_map(dir);
	assert_int_equal(h->append_lock, 0);
	assert_string_not_equal(h->boot_id, "an-earlier-boot");
	unit_jheader_unmap(h);
	assert_true(mcm_journal_instance(j) != instance);
	assert_int_equal(mcm_journal_recovery(j, &prev, &at), 1);
	assert_int_equal(prev, instance);
	assert_int_equal(at, torn);
	assert_int_equal(mcm_journal_tail(j), torn);
	for (int i = 0; i < 3; i++) /* read back: they carry the old instance, which is remembered */
		read_fill(j, &pos, (uint64_t)i, 100, i);
	assert_int_equal(append_fill(j, 5, 100, 5, 0), 0); /* appends work again */
	read_fill(j, &pos, 5, 100, 5);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* Two restarts of the machine with nothing drained in between: the records of
 * both earlier boots are kept (the first boot's are sealed again, so that two
 * instances suffice), and the lost record of the first boot stays lost. */
static void test_recover_twice(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct mcm_jheader *h;
	uint64_t pos = 0, first;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 64 << 10, 1), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(append_fill(j, (uint64_t)i, 100, i, 0), 0);
	first = mcm_journal_tail(j);
	assert_int_equal(append_fill(j, 9, 100, 9, 0), 0);
	mcm_journal_close(j);
	unit_journal_tear(dir, first);
	for (int boot = 0; boot < 2; boot++) {
		h = unit_jheader_map(dir);
		strcpy(h->boot_id, "an-earlier-boot");
		unit_jheader_unmap(h);
		assert_int_equal(mcm_journal_open(&j, dir, 0, 0), 0);
		if (boot == 0) {
			assert_int_equal(mcm_journal_tail(j), first);
			for (int i = 3; i < 5; i++)
				assert_int_equal(append_fill(j, (uint64_t)i, 100, i, 0), 0);
		}
		if (boot == 1)
			assert_int_equal(mcm_journal_tail(j), 5 * 128);
		mcm_journal_close(j);
	}
	assert_int_equal(mcm_journal_open(&j, dir, 0, 0), 0);
	for (int i = 0; i < 5; i++)
		read_fill(j, &pos, (uint64_t)i, 100, i);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* After many laps the ring holds old records past the tail; recovery stops
 * exactly at the tail (an old record's CRC names another position). */
static void test_recover_stops_at_tail(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct mcm_jheader *h;
	uint64_t pos = 0, tail, ends[200];
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 4096, 1), 0);
	for (uint64_t i = 0; i < 200; i++) {
		size_t len = 40 + (size_t)(i * 37) % 900;
		assert_int_equal(append_fill(j, i, len, (int)i, 0), 0);
		read_fill(j, &pos, i, len, (int)i);
		ends[i] = pos;
		if (i >= 2) /* LMDB holds all but the last two */
			mcm_journal_set_reclaim(j, ends[i - 2]);
	}
	tail = mcm_journal_tail(j);
	assert_true(tail > 10 * 4096);
	mcm_journal_close(j);
	h = unit_jheader_map(dir);
	strcpy(h->boot_id, "an-earlier-boot");
	h->tail = ends[198]; /* the header on disk may be older than the records */
	unit_jheader_unmap(h);
	assert_int_equal(mcm_journal_open(&j, dir, 0, 0), 0);
	assert_int_equal(mcm_journal_tail(j), tail);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* A record changed after it was appended (the application wrote into the
 * map) is refused, not applied. */
static void test_damaged_record(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	const struct mcm_jrec *r;
	const unsigned char *p;
	uint64_t pos = 0;
	size_t plen;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 8192, 1), 0);
	assert_int_equal(append_fill(j, 1, 100, 'a', 0), 0);
	assert_int_equal(append_fill(j, 2, 100, 'b', 0), 0);
	read_fill(j, &pos, 1, 100, 'a');
	unit_journal_tear(dir, pos);
	assert_int_equal(mcm_journal_read(j, &pos, &r, &p, &plen), MCM_EFORMAT);
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* Bit by bit, the definition, to check the table and the SSE4.2 paths. */
static uint32_t crc_reference(uint32_t poly, const unsigned char *b, size_t len)
{
	uint32_t c = ~0u;

	for (size_t i = 0; i < len; i++) {
		c ^= b[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? poly ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

static void test_crcs(void **state)
{
	unsigned char buf[300];
	(void)state;

	assert_int_equal(mcm_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(mcm_crc32(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(mcm_crc32c(mcm_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof buf - 8; len++) { /* every length and tail, at every alignment */
		assert_int_equal(mcm_crc32c(0, buf, len), crc_reference(0x82f63b78u, buf, len));
		assert_int_equal(mcm_crc32(0, buf, len), crc_reference(0xedb88320u, buf, len));
		for (size_t at = 1; at < 8; at++)
			assert_int_equal(mcm_crc32c(0, buf + at, len), crc_reference(0x82f63b78u, buf + at, len));
	}
	/* in parts: a, b and a word, as the journal's records are checksummed */
	for (size_t len = 0; len <= 100; len++)
		for (size_t a = 0; a <= len; a += 3) {
			uint64_t word = 0x0123456789abcdefULL + len;
			unsigned char whole[108];

			memcpy(whole, buf, len);
			memcpy(whole + len, &word, 8);
			assert_int_equal(mcm_crc32c_parts(0, buf, a, buf + a, len - a, word),
					 crc_reference(0x82f63b78u, whole, len + 8));
		}
}

/* A reader waiting for the drainer to apply more wakes as soon as the head
 * moves (not at its timeout), and at once when it already moved. */
static void *move_head_later(void *arg)
{
	struct timespec ts = {0, 50 * 1000000L};

	nanosleep(&ts, NULL);
	mcm_journal_set_head(arg, 0);
	return NULL;
}

static void test_wait_applied(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct timespec t0, t1;
	pthread_t t;
	uint32_t seen;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 1 << 20, 1), 0);
	seen = mcm_journal_applied(j);
	mcm_journal_set_head(j, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mcm_journal_wait_applied(j, seen, 5000); /* already moved: returns at once */
	seen = mcm_journal_applied(j);
	assert_int_equal(pthread_create(&t, NULL, move_head_later, j), 0);
	mcm_journal_wait_applied(j, seen, 5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(t, NULL);
	assert_true(mcm_journal_applied(j) != seen);
	assert_true(t1.tv_sec - t0.tv_sec < 4); /* woken, not timed out */
	mcm_journal_close(j);
	unit_rmtree(dir);
}

/* The drainer's waits tell whether a wake ended them: what lets it stop
 * letting a burst pass (mcm_drain_pace) when a process exits or a tool waits. */
static void test_wait_records_woken(void **state)
{
	char dir[PATH_MAX];
	struct mcm_journal *j;
	struct timespec t0, t1;
	(void)state;

	unit_tmpdir(dir);
	assert_int_equal(mcm_journal_open(&j, dir, 1 << 20, 1), 0);
	assert_int_equal(mcm_journal_wait_records(j, 0, 5), 0); /* a nap that timed out */
	mcm_journal_wake_drainer(j);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mcm_journal_wait_records(j, 0, 50), 1); /* woken before it began: at once */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	assert_int_equal(mcm_journal_wait_records(j, 0, 5), 0); /* that wake is spent */
	assert_int_equal(append_fill(j, 1, 100, 'a', 0), 0);
	/* an idle wait that the tail ended (it had moved past seen_tail): no wake, not a nap */
	assert_int_equal(mcm_journal_wait_records(j, 0, 1000), 0);
	mcm_journal_wake_drainer(j);
	assert_int_equal(mcm_journal_wait_records(j, 0, 1000), 0); /* a wake ends an idle wait: not reported */
	mcm_journal_close(j);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crcs),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_full_ring),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_fork_child_appends),
		cmocka_unit_test(test_old_layout),
		cmocka_unit_test(test_lock_owner_gone),
		cmocka_unit_test(test_group_sync),
		cmocka_unit_test(test_recover_after_restart),
		cmocka_unit_test(test_recover_stops_at_tail),
		cmocka_unit_test(test_recover_twice),
		cmocka_unit_test(test_damaged_record),
		cmocka_unit_test(test_wait_applied),
		cmocka_unit_test(test_wait_records_woken),
	};

	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
