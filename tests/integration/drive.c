/* drive.c - drive every libmemcached write the shim intercepts, and list the keys touched.
 *
 * usage: shim_drive MODE OUT SERVER1 [SERVER2 SERVER3 | N TAG]
 *   ascii, binary  every single-connection case (shim_cases.c) with and without
 *                  a namespace on SERVER1, then the pool cases: SERVER1 and
 *                  SERVER2 as two pools with overlapping keys, SERVER1+SERVER3 as
 *                  a two-server pool, flush_all on SERVER2
 *   edge           binary writes on SERVER1 to keys the server holds and the
 *                  mirror never saw (written before the shim, or evicted)
 *   answers        definite answers that are not successes (shim_answers.c) on
 *                  SERVER1, over ascii and over binary with a namespace
 *   desync         text-protocol connections out of step (shim_desync.c): SERVER1,
 *                  SERVER1+SERVER2, SERVER3 (injected commands forget that pool);
 *                  with a 4th argument, the pid of SERVER1's memcached, stopped
 *                  a moment for a timeout
 *   desync-random  a seeded random ascii workload sprinkled with such calls, on
 *                  SERVER1, SERVER1+SERVER2 and SERVER3 with a namespace
 *                  (arguments: OUT SERVER1 SERVER2 SERVER3 SEED CALLS)
 *   threads        8 threads with clones of one handle on SERVER1
 *   forks          a parent and 4 forked children on SERVER1
 *   count          N sets of distinct keys TAG-<i>, then N more writes through
 *                  the calls that nest (delete, increment, touch); prints
 *                  "writes W" (arguments: OUT SERVER N TAG)
 * The keys touched are appended to OUT (format in shim_drive.h) for mirror_check.
 * Each call's return code is printed to stdout ("op key: CODE", the transcript
 * that must be the same with and without the shim) unless threads or forks run.
 * Exit 0 when every call returned what the server should say, 1 otherwise,
 * 2 on usage errors. Linked with libmemcached only: run it under the shim.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_drive.h"

int drv_quiet;
static int failures;

uint64_t drv_cas(const struct drv *d, const char *key)
{
	const char *keys[1] = {key};
	size_t lens[1] = {strlen(key)};
	memcached_return_t rc = memcached_mget(d->mc, keys, lens, 1);
	memcached_result_st *r;
	uint64_t cas = 0;

	if (rc != MEMCACHED_SUCCESS) {
		drv_fail("mget '%s': %s", key, memcached_strerror(d->mc, rc));
		return 0;
	}
	while ((r = memcached_fetch_result(d->mc, NULL, &rc))) {
		cas = memcached_result_cas(r);
		memcached_result_free(r);
	}
	return cas;
}

void drv_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("drive: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

int drv_failures(void)
{
	return __atomic_load_n(&failures, __ATOMIC_RELAXED);
}

static void transcript(memcached_return_t rc, const char *op, const char *key)
{
	if (!drv_quiet)
		printf("%s %s: %s\n", op, key, memcached_strerror(NULL, rc));
}

void drv_check(memcached_return_t rc, memcached_return_t want, const char *op, const char *key)
{
	transcript(rc, op, key);
	if (rc != want)
		drv_fail("%s '%s': got %s, expected %s", op, key, memcached_strerror(NULL, rc),
			 memcached_strerror(NULL, want));
}

void drv_check2(memcached_return_t rc, memcached_return_t a, memcached_return_t b, const char *op, const char *key)
{
	drv_check(rc, rc == b ? b : a, op, key);
}

void drv_check_failed(memcached_return_t rc, const char *op, const char *key)
{
	transcript(rc, op, key);
	if (memcached_success(rc))
		drv_fail("%s '%s': succeeded, expected a failure", op, key);
}

/* Add each "host:port" of the comma-separated list servers. */
static void add_servers(memcached_st *mc, const char *servers)
{
	char buf[1024], *save = NULL, *tok;

	snprintf(buf, sizeof buf, "%s", servers);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');

		if (!colon) {
			fprintf(stderr, "drive: bad server '%s'\n", tok);
			exit(2);
		}
		*colon = '\0';
		if (memcached_server_add(mc, tok, (in_port_t)atoi(colon + 1)) != MEMCACHED_SUCCESS) {
			fprintf(stderr, "drive: cannot add server '%s'\n", tok);
			exit(1);
		}
	}
}

memcached_st *drv_connect(const char *servers, int binary, const char *ns)
{
	memcached_st *mc = memcached_create(NULL);

	if (!mc) {
		fprintf(stderr, "drive: memcached_create failed\n");
		exit(1);
	}
	add_servers(mc, servers);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
	if (binary)
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	if (ns[0] && memcached_callback_set(mc, MEMCACHED_CALLBACK_PREFIX_KEY, ns) != MEMCACHED_SUCCESS) {
		fprintf(stderr, "drive: cannot set namespace '%s'\n", ns);
		exit(1);
	}
	return mc;
}

static struct drv handle(const char *servers, int binary, const char *ns)
{
	struct drv d = {drv_connect(servers, binary, ns), servers, ns, binary};

	return d;
}

static void mode_protocol(int binary, int argc, char **argv)
{
	char two[1024];
	struct drv d1, d1ns, d2, d3;

	if (argc < 6) {
		fprintf(stderr, "drive: %s needs three servers\n", argv[1]);
		exit(2);
	}
	snprintf(two, sizeof two, "%s,%s", argv[3], argv[5]);
	d1 = handle(argv[3], binary, "");
	d1ns = handle(argv[3], binary, "ns1:");
	d2 = handle(argv[4], binary, "");
	d3 = handle(two, binary, "");
	cases_run(&d1);
	cases_run(&d1ns);
	cases_pools(&d1, &d2, &d3);
	memcached_free(d1.mc);
	memcached_free(d1ns.mc);
	memcached_free(d2.mc);
	memcached_free(d3.mc);
}

/* N sets, then N writes through the calls that call their _by_key twin inside. */
static void mode_count(struct drv *d, long n, const char *tag)
{
	char key[64], value[32];
	long writes = 0;

	for (long j = 0; j < n; j++, writes++) {
		snprintf(key, sizeof key, "%s-%ld", tag, j);
		snprintf(value, sizeof value, "%ld", j);
		drv_check(memcached_set(d->mc, key, strlen(key), value, strlen(value), 0, 0), MEMCACHED_SUCCESS, "set",
			  key);
		expect_note(d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
	}
	for (long j = 0; j < n; j++, writes++) {
		snprintf(key, sizeof key, "%s-%ld", tag, j);
		if (j < n / 2) {
			drv_check(memcached_delete(d->mc, key, strlen(key), 0), MEMCACHED_SUCCESS, "delete", key);
			expect_note(d, key, SRV_ABSENT, MIR_EXACT, GROUP_ANY);
		} else if (j < 3 * n / 4) {
			drv_check(memcached_increment(d->mc, key, strlen(key), 1, NULL), MEMCACHED_SUCCESS, "incr", key);
		} else {
			drv_check(memcached_touch(d->mc, key, strlen(key), 600), MEMCACHED_SUCCESS, "touch", key);
		}
	}
	printf("writes %ld\n", writes);
}

static int usage(void)
{
	fprintf(stderr, "usage: shim_drive ascii|binary OUT SERVER1 SERVER2 SERVER3\n"
			"       shim_drive edge|answers|threads|forks OUT SERVER\n"
			"       shim_drive count OUT SERVER N TAG\n"
			"       shim_drive desync OUT SERVER1 SERVER2 SERVER3 [PID1]\n"
			"       shim_drive desync-random OUT SERVER1 SERVER2 SERVER3 SEED CALLS\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct drv d;

	if (argc < 4)
		return usage();
	if (strcmp(argv[1], "ascii") == 0 || strcmp(argv[1], "binary") == 0) {
		mode_protocol(strcmp(argv[1], "binary") == 0, argc, argv);
	} else if (strcmp(argv[1], "answers") == 0) {
		struct drv bin = handle(argv[3], 1, "nsb:");

		d = handle(argv[3], 0, "");
		cases_answers(&d);
		cases_answers(&bin);
		memcached_free(d.mc);
		memcached_free(bin.mc);
	} else if (strcmp(argv[1], "desync") == 0 && (argc == 6 || argc == 7)) {
		char two[1024];
		struct drv d2, dinj;

		snprintf(two, sizeof two, "%s,%s", argv[3], argv[4]);
		d = handle(argv[3], 0, "dns:");
		d2 = handle(two, 0, "");
		dinj = handle(argv[5], 0, "");
		cases_desync(&d, &d2, &dinj, argc == 7 ? (pid_t)atol(argv[6]) : 0);
		memcached_free(d.mc);
		memcached_free(d2.mc);
		memcached_free(dinj.mc);
	} else if (strcmp(argv[1], "desync-random") == 0 && argc == 8) {
		char two[1024];
		struct drv d2, d3;
		unsigned long seed = strtoul(argv[6], NULL, 0);

		drv_quiet = 1;
		printf("seed %lu\n", seed);
		snprintf(two, sizeof two, "%s,%s", argv[3], argv[4]);
		d = handle(argv[3], 0, "");
		d2 = handle(two, 0, "");
		d3 = handle(argv[5], 0, "rns:");
		desync_random(&d, &d2, &d3, seed, atol(argv[7]));
		memcached_free(d.mc);
		memcached_free(d2.mc);
		memcached_free(d3.mc);
	} else if (strcmp(argv[1], "edge") == 0) {
		d = handle(argv[3], 1, "");
		cases_edge(&d);
		memcached_free(d.mc);
	} else if (strcmp(argv[1], "threads") == 0 || strcmp(argv[1], "forks") == 0) {
		drv_quiet = 1;
		d = handle(argv[3], 0, "");
		if (argv[1][0] == 't')
			concurrency_threads(&d);
		else
			concurrency_forks(&d, argv[2]);
		memcached_free(d.mc);
	} else if (strcmp(argv[1], "count") == 0 && argc == 6) {
		drv_quiet = 1;
		d = handle(argv[3], 0, "");
		mode_count(&d, atol(argv[4]), argv[5]);
		memcached_free(d.mc);
	} else {
		return usage();
	}
	if (expect_write(argv[2]) != 0)
		return 1;
	if (drv_failures())
		fprintf(stderr, "drive: %s: %d unexpected results\n", argv[1], drv_failures());
	return drv_failures() ? 1 : 0;
}
