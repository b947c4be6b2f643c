/* shim_cases.c - the shim driver's single-connection cases: every intercepted write, with
 * a variety of arguments, each on keys of its own named after the case.
 *
 * Each case checks the return codes the server gives (so a case that did not
 * happen as planned fails here, not silently in mirror_check) and notes what
 * the server and the mirror must hold afterwards (shim_drive.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim_drive.h"
#include "shim_raw.h"

#define TTL 300      /* a relative expiry no case waits for */
#define BIG 300000   /* a value of many packets */

static memcached_return_t rc_of(memcached_return_t ascii, memcached_return_t binary, const struct drv *d)
{
	return d->binary ? binary : ascii;
}

static void present(const struct drv *d, const char *key)
{
	expect_note(d, key, SRV_PRESENT, MIR_EXACT, GROUP_ANY);
}

static void absent(const struct drv *d, const char *key)
{
	expect_note(d, key, SRV_ABSENT, MIR_EXACT, GROUP_ANY);
}

static void set_bytes(const struct drv *d, const char *key, const char *val, size_t len, time_t exp, uint32_t flags)
{
	drv_check(memcached_set(d->mc, key, strlen(key), val, len, exp, flags), MEMCACHED_SUCCESS, "set", key);
}

static void put(const struct drv *d, const char *key, const char *val, time_t exp, uint32_t flags)
{
	set_bytes(d, key, val, strlen(val), exp, flags);
}

/* The wire key of key on d, and the one server the raw helpers talk to. */
static void wire_of(const struct drv *d, const char *key, char *wire, size_t size)
{
	snprintf(wire, size, "%s%s", d->ns, key);
}

void raw_delete(const struct drv *d, const char *key)
{
	char wire[300], req[400], line[128];
	int n;

	wire_of(d, key, wire, sizeof wire);
	n = snprintf(req, sizeof req, "delete %s\r\n", wire);
	if (raw_request(d->servers, req, (size_t)n, line, sizeof line) != 0 || strcmp(line, "DELETED") != 0)
		drv_fail("raw delete '%s': got '%s'", wire, line);
}

void raw_set(const struct drv *d, const char *key, const char *value, uint32_t flags)
{
	char wire[300], req[600], line[128];
	int n;

	wire_of(d, key, wire, sizeof wire);
	n = snprintf(req, sizeof req, "set %s %" PRIu32 " 0 %zu\r\n%s\r\n", wire, flags, strlen(value), value);
	if (raw_request(d->servers, req, (size_t)n, line, sizeof line) != 0 || strcmp(line, "STORED") != 0)
		drv_fail("raw set '%s': got '%s'", wire, line);
}

/* set: expirations of every kind, flags, binary values, sizes. */
static void case_set(const struct drv *d)
{
	static const char nul[] = {'a', '\0', 'b', '\r', '\n', '\0'};
	static char big[BIG];
	time_t now = time(NULL);

	for (size_t i = 0; i < BIG; i++)
		big[i] = (char)(i * 7 % 251);
	put(d, "set-plain", "v1", 0, 0);
	expect_note(d, "set-plain", SRV_PRESENT, MIR_EXACT, GROUP_PLAIN);
	put(d, "set-flags", "v2", 0, 0xFFFFFFFFu);
	put(d, "set-rel", "v3", TTL, 7);
	put(d, "set-abs", "v4", now + 1000, 8);
	put(d, "set-30d", "v5", 2592000, 9);
	put(d, "set-twice", "first", 0, 1);
	put(d, "set-twice", "second", TTL, 2);
	set_bytes(d, "set-nul", nul, sizeof nul, 0, 10);
	set_bytes(d, "set-empty", "", 0, 0, 11);
	set_bytes(d, "set-big", big, BIG, TTL, 12);
	present(d, "set-flags");
	present(d, "set-rel");
	present(d, "set-abs");
	present(d, "set-30d");
	present(d, "set-twice");
	present(d, "set-nul");
	present(d, "set-empty");
	present(d, "set-big");
	/* 2592001 is an absolute time in 1970; -1 expires at once over ASCII, lives until 2106 over binary */
	put(d, "set-abs-past", "v6", 2592001, 0);
	absent(d, "set-abs-past");
	put(d, "set-neg", "v7", -1, 0);
	expect_note(d, "set-neg", d->binary ? SRV_PRESENT : SRV_ABSENT, MIR_EXACT, GROUP_ANY);
	put(d, "set-then-expire", "x", 0, 0);
	put(d, "set-then-expire", "y", 2592001, 0);
	absent(d, "set-then-expire");
	drv_check(memcached_set_by_key(d->mc, "grp-a", 5, "set-bykey", 9, "v8", 2, TTL, 13), MEMCACHED_SUCCESS,
		  "set_by_key", "set-bykey");
	expect_note(d, "set-bykey", SRV_PRESENT, MIR_EXACT, "grp-a");
	drv_check(memcached_set_by_key(d->mc, NULL, 0, "set-nogroup", 11, "v9", 2, 0, 14), MEMCACHED_SUCCESS,
		  "set_by_key", "set-nogroup");
	expect_note(d, "set-nogroup", SRV_PRESENT, MIR_EXACT, GROUP_ANY);
}

/* add: new keys, existing ones (the mirror keeps the old value), NULL values. */
static void case_add(const struct drv *d)
{
	drv_check(memcached_add(d->mc, "add-new", 7, "n", 1, TTL, 3), MEMCACHED_SUCCESS, "add", "add-new");
	present(d, "add-new");
	put(d, "add-exist", "old", 0, 4);
	drv_check(memcached_add(d->mc, "add-exist", 9, "new", 3, TTL, 5),
		  rc_of(MEMCACHED_NOTSTORED, MEMCACHED_DATA_EXISTS, d), "add", "add-exist");
	present(d, "add-exist");
	drv_check(memcached_add_by_key(d->mc, "grp-b", 5, "add-bykey", 9, "b", 1, 0, 6), MEMCACHED_SUCCESS,
		  "add_by_key", "add-bykey");
	expect_note(d, "add-bykey", SRV_PRESENT, MIR_EXACT, "grp-b");
	put(d, "add-bykey-exist", "old", 0, 7);
	drv_check(memcached_add_by_key(d->mc, "grp-b", 5, "add-bykey-exist", 15, "new", 3, 0, 8),
		  rc_of(MEMCACHED_NOTSTORED, MEMCACHED_DATA_EXISTS, d), "add_by_key", "add-bykey-exist");
	present(d, "add-bykey-exist");
	drv_check(memcached_add(d->mc, "add-null", 8, NULL, 0, 0, 9), MEMCACHED_SUCCESS, "add", "add-null");
	present(d, "add-null");
	put(d, "add-stale", "a", 0, 0);
	raw_delete(d, "add-stale");
	drv_check(memcached_add(d->mc, "add-stale", 9, "b", 1, 0, 10), MEMCACHED_SUCCESS, "add", "add-stale");
	present(d, "add-stale");
	if (!d->binary) { /* an item expired at once is gone: add succeeds */
		put(d, "add-expired", "x", -1, 0);
		drv_check(memcached_add(d->mc, "add-expired", 11, "fresh", 5, 0, 11), MEMCACHED_SUCCESS, "add",
			  "add-expired");
		present(d, "add-expired");
	}
}

/* replace: existing, missing, and missing behind the mirror's back. */
static void case_replace(const struct drv *d)
{
	memcached_return_t missing = rc_of(MEMCACHED_NOTSTORED, MEMCACHED_NOTFOUND, d);

	put(d, "repl", "a", 0, 1);
	drv_check(memcached_replace(d->mc, "repl", 4, "b", 1, TTL, 5), MEMCACHED_SUCCESS, "replace", "repl");
	present(d, "repl");
	drv_check(memcached_replace(d->mc, "repl-missing", 12, "b", 1, 0, 0), missing, "replace", "repl-missing");
	absent(d, "repl-missing");
	put(d, "repl-bykey", "a", 0, 1);
	drv_check(memcached_replace_by_key(d->mc, "grp-c", 5, "repl-bykey", 10, "c", 1, 0, 6), MEMCACHED_SUCCESS,
		  "replace_by_key", "repl-bykey");
	expect_note(d, "repl-bykey", SRV_PRESENT, MIR_EXACT, "grp-c");
	put(d, "repl-stale", "a", 0, 1);
	raw_delete(d, "repl-stale");
	drv_check(memcached_replace(d->mc, "repl-stale", 10, "b", 1, 0, 0), missing, "replace", "repl-stale");
	absent(d, "repl-stale");
}

/* append/prepend: extend a mirrored value (flags and expiry kept), or drop. */
static void case_concat(const struct drv *d)
{
	put(d, "app", "mid", TTL, 6);
	drv_check(memcached_append(d->mc, "app", 3, "-end", 4, 0, 0), MEMCACHED_SUCCESS, "append", "app");
	drv_check(memcached_prepend(d->mc, "app", 3, "start-", 6, 0, 0), MEMCACHED_SUCCESS, "prepend", "app");
	present(d, "app");
	drv_check(memcached_append(d->mc, "app-missing", 11, "x", 1, 0, 0), MEMCACHED_NOTSTORED, "append",
		  "app-missing");
	absent(d, "app-missing");
	drv_check(memcached_prepend(d->mc, "pre-missing", 11, "x", 1, 0, 0), MEMCACHED_NOTSTORED, "prepend",
		  "pre-missing");
	absent(d, "pre-missing");
	put(d, "app-bykey", "x", 0, 3);
	drv_check(memcached_append_by_key(d->mc, "grp-d", 5, "app-bykey", 9, "y", 1, 0, 0), MEMCACHED_SUCCESS,
		  "append_by_key", "app-bykey");
	drv_check(memcached_prepend_by_key(d->mc, "grp-d", 5, "app-bykey", 9, "w", 1, 0, 0), MEMCACHED_SUCCESS,
		  "prepend_by_key", "app-bykey");
	present(d, "app-bykey");
	set_bytes(d, "app-nul", "a\0", 2, 0, 4);
	drv_check(memcached_append(d->mc, "app-nul", 7, "\0b", 2, 0, 0), MEMCACHED_SUCCESS, "append", "app-nul");
	present(d, "app-nul");
	put(d, "app-stale", "a", 0, 0);
	raw_delete(d, "app-stale");
	drv_check(memcached_append(d->mc, "app-stale", 9, "b", 1, 0, 0), MEMCACHED_NOTSTORED, "append", "app-stale");
	absent(d, "app-stale");
	/* the server has a value the mirror never saw: nothing to extend */
	raw_set(d, "app-unseen", "raw", 3);
	drv_check(memcached_append(d->mc, "app-unseen", 10, "+more", 5, 0, 0), MEMCACHED_SUCCESS, "append",
		  "app-unseen");
	expect_note(d, "app-unseen", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
}

/* The cas of key, which must have one. */
static uint64_t get_cas(const struct drv *d, const char *key)
{
	uint64_t cas = drv_cas(d, key);

	if (cas == 0)
		drv_fail("no cas for '%s'", key);
	return cas;
}

/* cas: good, stale, missing, and missing behind the mirror's back. */
static void case_cas(const struct drv *d)
{
	uint64_t cas;

	put(d, "cas-good", "v1", 0, 1);
	cas = get_cas(d, "cas-good");
	drv_check(memcached_cas(d->mc, "cas-good", 8, "v2", 2, TTL, 2, cas), MEMCACHED_SUCCESS, "cas", "cas-good");
	present(d, "cas-good");
	put(d, "cas-bad", "v1", 0, 1);
	cas = get_cas(d, "cas-bad");
	put(d, "cas-bad", "v2", 0, 3);
	drv_check(memcached_cas(d->mc, "cas-bad", 7, "v3", 2, 0, 4, cas), MEMCACHED_DATA_EXISTS, "cas", "cas-bad");
	present(d, "cas-bad");
	drv_check(memcached_cas(d->mc, "cas-missing", 11, "v", 1, 0, 0, cas), MEMCACHED_NOTFOUND, "cas",
		  "cas-missing");
	absent(d, "cas-missing");
	put(d, "cas-bykey", "v1", 0, 1);
	cas = get_cas(d, "cas-bykey");
	drv_check(memcached_cas_by_key(d->mc, "grp-e", 5, "cas-bykey", 9, "v2", 2, 0, 5, cas), MEMCACHED_SUCCESS,
		  "cas_by_key", "cas-bykey");
	expect_note(d, "cas-bykey", SRV_PRESENT, MIR_EXACT, "grp-e");
	put(d, "cas-stale", "v1", 0, 1);
	cas = get_cas(d, "cas-stale");
	raw_delete(d, "cas-stale");
	drv_check(memcached_cas(d->mc, "cas-stale", 9, "v2", 2, 0, 0, cas), MEMCACHED_NOTFOUND, "cas", "cas-stale");
	absent(d, "cas-stale");
}

/* One increment/decrement (plain form, 32-bit offset), checking the new value. */
static void delta(const struct drv *d, int incr, const char *key, uint32_t off, memcached_return_t want,
		  uint64_t expect_value)
{
	uint64_t v = 0;
	memcached_return_t rc = incr ? memcached_increment(d->mc, key, strlen(key), off, &v)
				     : memcached_decrement(d->mc, key, strlen(key), off, &v);

	drv_check(rc, want, incr ? "incr" : "decr", key);
	if (rc == MEMCACHED_SUCCESS && v != expect_value)
		drv_fail("%s '%s': got %" PRIu64 ", expected %" PRIu64, incr ? "incr" : "decr", key, v, expect_value);
}

/* incr/decr: the new number as text, flags and expiry kept, padding, long numbers, failures. */
static void case_delta(const struct drv *d)
{
	uint64_t v = 0;

	put(d, "incr", "10", TTL, 7);
	delta(d, 1, "incr", 5, MEMCACHED_SUCCESS, 15);
	present(d, "incr");
	/* "5  " rewritten in place, or "5" when another connection holds the item: dropped */
	put(d, "decr-short", "100", 0, 1);
	delta(d, 0, "decr-short", 95, MEMCACHED_SUCCESS, 5);
	expect_note(d, "decr-short", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	put(d, "decr-floor", "3", 0, 0);
	delta(d, 0, "decr-floor", 10, MEMCACHED_SUCCESS, 0);
	present(d, "decr-floor");
	put(d, "incr-longer", "99", TTL, 2);
	delta(d, 1, "incr-longer", 1, MEMCACHED_SUCCESS, 100);
	present(d, "incr-longer");
	/* a long number, below 2^63: memcached 1.6.18 looks for a '-' with strchr()
	 * past larger numbers, into the unterminated item data, and fails at random */
	put(d, "incr-long", "9223372036854775000", 0, 3);
	delta(d, 1, "incr-long", 800, MEMCACHED_SUCCESS, 9223372036854775800ULL);
	present(d, "incr-long");
	put(d, "incr-padded", "1000", 0, 4); /* dropped at the decr: the padding is unknown */
	delta(d, 0, "incr-padded", 999, MEMCACHED_SUCCESS, 1);
	delta(d, 1, "incr-padded", 5, MEMCACHED_SUCCESS, 6);
	expect_note(d, "incr-padded", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	put(d, "decr-same", "15", TTL, 4); /* as many digits: the digits alone either way */
	delta(d, 0, "decr-same", 5, MEMCACHED_SUCCESS, 10);
	present(d, "decr-same");
	delta(d, 1, "incr-missing", 1, MEMCACHED_NOTFOUND, 0);
	absent(d, "incr-missing");
	put(d, "incr-nan", "abc", 0, 5);
	drv_check_failed(memcached_increment(d->mc, "incr-nan", 8, 1, &v), "incr", "incr-nan");
	expect_note(d, "incr-nan", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	put(d, "incr-bykey", "1", 0, 6);
	drv_check(memcached_increment_by_key(d->mc, "grp-f", 5, "incr-bykey", 10, 5000000000ULL, &v),
		  MEMCACHED_SUCCESS, "incr_by_key", "incr-bykey");
	if (v != 5000000001ULL)
		drv_fail("incr_by_key: got %" PRIu64, v);
	drv_check(memcached_decrement_by_key(d->mc, "grp-f", 5, "incr-bykey", 10, 1, &v), MEMCACHED_SUCCESS,
		  "decr_by_key", "incr-bykey");
	present(d, "incr-bykey");
	put(d, "incr-nullout", "1", 0, 0);
	drv_check(memcached_increment(d->mc, "incr-nullout", 12, 1, NULL), MEMCACHED_SUCCESS, "incr", "incr-nullout");
	present(d, "incr-nullout");
	put(d, "incr-stale", "7", 0, 0);
	raw_delete(d, "incr-stale");
	delta(d, 1, "incr-stale", 1, MEMCACHED_NOTFOUND, 0);
	absent(d, "incr-stale");
	raw_set(d, "incr-unseen", "40", 9);
	delta(d, 1, "incr-unseen", 2, MEMCACHED_SUCCESS, 42);
	expect_note(d, "incr-unseen", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
}

/* One *_with_initial call, checking the result. */
static void with_initial(const struct drv *d, int incr, const char *group, const char *key, uint64_t off,
			 uint64_t initial, time_t exp, memcached_return_t want, uint64_t expect_value)
{
	uint64_t v = 0;
	size_t kl = strlen(key), gl = group ? strlen(group) : 0;
	memcached_return_t rc;

	if (group && incr)
		rc = memcached_increment_with_initial_by_key(d->mc, group, gl, key, kl, off, initial, exp, &v);
	else if (group)
		rc = memcached_decrement_with_initial_by_key(d->mc, group, gl, key, kl, off, initial, exp, &v);
	else if (incr)
		rc = memcached_increment_with_initial(d->mc, key, kl, off, initial, exp, &v);
	else
		rc = memcached_decrement_with_initial(d->mc, key, kl, off, initial, exp, &v);
	drv_check(rc, want, incr ? "incr_with_initial" : "decr_with_initial", key);
	if (rc == MEMCACHED_SUCCESS && v != expect_value)
		drv_fail("with_initial '%s': got %" PRIu64 ", expected %" PRIu64, key, v, expect_value);
}

/* *_with_initial: binary only (ASCII refuses before sending anything). A result
 * equal to the initial value is ambiguous (created with flags 0, or incremented
 * to it): the mirror drops the key; a result that is not the initial value
 * proves an increment, mirrored exactly when the mirror held the old value. */
static void may_drop(const struct drv *d, const char *key)
{
	expect_note(d, key, SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
}

static void case_initial(const struct drv *d)
{
	time_t now = time(NULL);

	if (!d->binary) {
		with_initial(d, 1, NULL, "wi-ascii", 1, 5, 0, MEMCACHED_INVALID_ARGUMENTS, 0);
		absent(d, "wi-ascii");
		return;
	}
	with_initial(d, 1, NULL, "wi-create", 5, 42, TTL, MEMCACHED_SUCCESS, 42);
	with_initial(d, 1, NULL, "wi-create", 5, 42, TTL, MEMCACHED_SUCCESS, 47);
	may_drop(d, "wi-create");
	with_initial(d, 0, NULL, "wd-create", 1, 10, 0, MEMCACHED_SUCCESS, 10);
	may_drop(d, "wd-create");
	put(d, "wi-exist", "5", 2 * TTL, 3);
	with_initial(d, 1, NULL, "wi-exist", 2, 42, TTL, MEMCACHED_SUCCESS, 7);
	present(d, "wi-exist");
	with_initial(d, 1, "grp-g", "wi-bykey", 1, 100, now + 1000, MEMCACHED_SUCCESS, 100);
	with_initial(d, 0, "grp-g", "wi-bykey", 50, 100, now + 1000, MEMCACHED_SUCCESS, 50);
	may_drop(d, "wi-bykey");
	with_initial(d, 1, NULL, "wi-notadd", 1, 5, MEMCACHED_EXPIRATION_NOT_ADD, MEMCACHED_NOTFOUND, 0);
	absent(d, "wi-notadd");
	put(d, "wi-stale", "3", 0, 5); /* gone behind the mirror's back: the server creates it anew */
	raw_delete(d, "wi-stale");
	with_initial(d, 1, NULL, "wi-stale", 1, 8, 0, MEMCACHED_SUCCESS, 8);
	may_drop(d, "wi-stale");
}

/* touch: new expiry for existing keys; missing ones are absent. */
static void case_touch(const struct drv *d)
{
	time_t now = time(NULL);

	put(d, "touch", "v", 0, 2);
	drv_check(memcached_touch(d->mc, "touch", 5, 600), MEMCACHED_SUCCESS, "touch", "touch");
	present(d, "touch");
	drv_check(memcached_touch(d->mc, "touch-missing", 13, 600), MEMCACHED_NOTFOUND, "touch", "touch-missing");
	absent(d, "touch-missing");
	put(d, "touch-neg", "v", 0, 3);
	drv_check(memcached_touch(d->mc, "touch-neg", 9, -1), MEMCACHED_SUCCESS, "touch", "touch-neg");
	expect_note(d, "touch-neg", d->binary ? SRV_PRESENT : SRV_ABSENT, MIR_EXACT, GROUP_ANY);
	put(d, "touch-abs", "v", TTL, 4);
	drv_check(memcached_touch(d->mc, "touch-abs", 9, now + 5000), MEMCACHED_SUCCESS, "touch", "touch-abs");
	present(d, "touch-abs");
	put(d, "touch-zero", "v", TTL, 5);
	drv_check(memcached_touch(d->mc, "touch-zero", 10, 0), MEMCACHED_SUCCESS, "touch", "touch-zero");
	present(d, "touch-zero");
	put(d, "touch-bykey", "v", 0, 6);
	drv_check(memcached_touch_by_key(d->mc, "grp-h", 5, "touch-bykey", 11, 700), MEMCACHED_SUCCESS,
		  "touch_by_key", "touch-bykey");
	present(d, "touch-bykey");
	put(d, "touch-stale", "v", 0, 7);
	raw_delete(d, "touch-stale");
	drv_check(memcached_touch(d->mc, "touch-stale", 11, 600), MEMCACHED_NOTFOUND, "touch", "touch-stale");
	absent(d, "touch-stale");
}

/* delete: existing, missing, by key; an expiration is refused before sending. */
static void case_delete(const struct drv *d)
{
	put(d, "del", "v", 0, 0);
	drv_check(memcached_delete(d->mc, "del", 3, 0), MEMCACHED_SUCCESS, "delete", "del");
	absent(d, "del");
	drv_check(memcached_delete(d->mc, "del-missing", 11, 0), MEMCACHED_NOTFOUND, "delete", "del-missing");
	absent(d, "del-missing");
	put(d, "del-bykey", "v", 0, 0);
	drv_check(memcached_delete_by_key(d->mc, "grp-i", 5, "del-bykey", 9, 0), MEMCACHED_SUCCESS, "delete_by_key",
		  "del-bykey");
	absent(d, "del-bykey");
	put(d, "del-exp", "v", 0, 1);
	drv_check(memcached_delete(d->mc, "del-exp", 7, 10), MEMCACHED_INVALID_ARGUMENTS, "delete", "del-exp");
	present(d, "del-exp");
	put(d, "del-stale", "v", 0, 0);
	raw_delete(d, "del-stale");
	drv_check(memcached_delete(d->mc, "del-stale", 9, 0), MEMCACHED_NOTFOUND, "delete", "del-stale");
	absent(d, "del-stale");
}

/* exist sends an expired add on the wire, but changes nothing. */
static void case_exist(const struct drv *d)
{
	put(d, "exist", "v", TTL, 1);
	drv_check(memcached_exist(d->mc, "exist", 5), MEMCACHED_SUCCESS, "exist", "exist");
	present(d, "exist");
	drv_check(memcached_exist(d->mc, "exist-missing", 13), MEMCACHED_NOTFOUND, "exist", "exist-missing");
	absent(d, "exist-missing");
}

/* GET_FAILURE callbacks: the value for a missing key, stored by the library. */
static memcached_return_t rt_fill(const memcached_st *mc, const char *key, size_t key_len, memcached_result_st *r)
{
	char buf[300];
	int n = snprintf(buf, sizeof buf, "rt:%.*s", (int)key_len, key);

	(void)mc;
	memcached_result_set_value(r, buf, (size_t)n);
	memcached_result_set_flags(r, 77);
	return MEMCACHED_SUCCESS;
}

static memcached_return_t rt_fill_buffered(const memcached_st *mc, const char *key, size_t key_len,
					   memcached_result_st *r)
{
	rt_fill(mc, key, key_len, r);
	return MEMCACHED_BUFFERED;
}

static void read_through(const struct drv *d, const char *key, memcached_return_t want, const char *value)
{
	size_t len = 0;
	uint32_t flags = 0;
	memcached_return_t rc;
	char *v = memcached_get(d->mc, key, strlen(key), &len, &flags, &rc);

	drv_check(rc, want, "get", key);
	if (!v || len != strlen(value) || memcmp(v, value, len) != 0)
		drv_fail("get '%s': got '%.*s', expected '%s'", key, v ? (int)len : 6, v ? v : "(null)", value);
	free(v);
	present(d, key);
}

static void case_read_through(const struct drv *d)
{
	put(d, "rt-exist", "orig", 0, 1);
	memcached_callback_set(d->mc, MEMCACHED_CALLBACK_GET_FAILURE, (void *)rt_fill);
	read_through(d, "rt-missing", MEMCACHED_SUCCESS, "rt:rt-missing");
	read_through(d, "rt-exist", MEMCACHED_SUCCESS, "orig");
	memcached_callback_set(d->mc, MEMCACHED_CALLBACK_GET_FAILURE, (void *)rt_fill_buffered);
	read_through(d, "rt-buffered", MEMCACHED_BUFFERED, "rt:rt-buffered");
	memcached_callback_set(d->mc, MEMCACHED_CALLBACK_GET_FAILURE, NULL);
}

/* Wait until the server has executed everything sent on mc (one round trip). */
static void sync_handle(memcached_st *mc)
{
	size_t len;
	uint32_t flags;
	memcached_return_t rc;

	free(memcached_get(mc, "sync-probe", 10, &len, &flags, &rc));
}

/* NOREPLY: unconditional set and delete are recorded as sent; anything else is dropped. */
static void case_noreply(const struct drv *d)
{
	struct drv nr = *d;

	nr.mc = memcached_clone(NULL, d->mc);
	memcached_behavior_set(nr.mc, MEMCACHED_BEHAVIOR_NOREPLY, 1);
	put(&nr, "nr-set", "a", TTL, 1);
	present(&nr, "nr-set");
	drv_check(memcached_add(nr.mc, "nr-add-new", 10, "a", 1, 0, 2), MEMCACHED_SUCCESS, "add", "nr-add-new");
	expect_note(d, "nr-add-new", SRV_PRESENT, MIR_DROPPED, GROUP_ANY);
	put(d, "nr-add-exist", "old", 0, 3);
	drv_check(memcached_add(nr.mc, "nr-add-exist", 12, "new", 3, 0, 4), MEMCACHED_SUCCESS, "add", "nr-add-exist");
	expect_note(d, "nr-add-exist", SRV_PRESENT, MIR_DROPPED, GROUP_ANY);
	put(d, "nr-del", "v", 0, 0);
	drv_check(memcached_delete(nr.mc, "nr-del", 6, 0), MEMCACHED_SUCCESS, "delete", "nr-del");
	absent(d, "nr-del");
	if (!d->binary) { /* binary quiet errors would desynchronise the replies (upstream #142) */
		put(d, "nr-repl", "a", 0, 0);
		drv_check(memcached_replace(nr.mc, "nr-repl", 7, "b", 1, 0, 5), MEMCACHED_SUCCESS, "replace", "nr-repl");
		expect_note(d, "nr-repl", SRV_PRESENT, MIR_DROPPED, GROUP_ANY);
		put(d, "nr-incr", "5", 0, 0);
		drv_check(memcached_increment(nr.mc, "nr-incr", 7, 1, NULL), MEMCACHED_SUCCESS, "incr", "nr-incr");
		expect_note(d, "nr-incr", SRV_PRESENT, MIR_DROPPED, GROUP_ANY);
		put(d, "nr-app", "a", 0, 0);
		drv_check(memcached_append(nr.mc, "nr-app", 6, "b", 1, 0, 0), MEMCACHED_SUCCESS, "append", "nr-app");
		expect_note(d, "nr-app", SRV_PRESENT, MIR_DROPPED, GROUP_ANY);
	}
	sync_handle(nr.mc);
	memcached_free(nr.mc);
}

/* BUFFER_REQUESTS: buffered set/delete are recorded as sent; binary replies are stale. */
static void case_buffered(const struct drv *d)
{
	struct drv bf = *d;
	memcached_return_t rc;

	bf.mc = memcached_clone(NULL, d->mc);
	memcached_behavior_set(bf.mc, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1);
	drv_check(memcached_set(bf.mc, "bf-set", 6, "a", 1, TTL, 1), MEMCACHED_BUFFERED, "set", "bf-set");
	present(d, "bf-set");
	put(d, "bf-del", "v", 0, 0);
	drv_check(memcached_delete(bf.mc, "bf-del", 6, 0), MEMCACHED_BUFFERED, "delete", "bf-del");
	absent(d, "bf-del");
	rc = memcached_add(bf.mc, "bf-add", 6, "b", 1, 0, 2);
	if (d->binary) { /* the reply read is an earlier command's */
		expect_note(d, "bf-add", SRV_PRESENT, MIR_DROPPED, GROUP_ANY);
	} else {
		drv_check(rc, MEMCACHED_SUCCESS, "add", "bf-add");
		present(d, "bf-add");
	}
	memcached_flush_buffers(bf.mc);
	if (!d->binary)
		sync_handle(bf.mc);
	memcached_free(bf.mc);
}

void cases_run(struct drv *d)
{
	case_set(d);
	case_add(d);
	case_replace(d);
	case_concat(d);
	case_cas(d);
	case_delta(d);
	case_initial(d);
	case_touch(d);
	case_delete(d);
	case_exist(d);
	case_read_through(d);
	case_noreply(d);
	case_buffered(d);
}

/* Keys in a two-server pool, placed by explicit group keys. */
static void pool_routed(const struct drv *d3)
{
	char key[32], group[32];

	for (int i = 0; i < 24; i++) {
		snprintf(key, sizeof key, "p3-k%d", i);
		snprintf(group, sizeof group, "grp%d", i);
		drv_check(memcached_set_by_key(d3->mc, group, strlen(group), key, strlen(key), key, strlen(key), 0,
					       (uint32_t)i),
			  MEMCACHED_SUCCESS, "set_by_key", key);
		expect_note(d3, key, SRV_PRESENT, MIR_EXACT, group);
		if (i % 4 == 0) {
			drv_check(memcached_delete_by_key(d3->mc, group, strlen(group), key, strlen(key), 0),
				  MEMCACHED_SUCCESS, "delete_by_key", key);
			absent(d3, key);
		} else if (i % 4 == 1) {
			drv_check(memcached_append_by_key(d3->mc, group, strlen(group), key, strlen(key), "+", 1, 0, 0),
				  MEMCACHED_SUCCESS, "append_by_key", key);
		}
		snprintf(key, sizeof key, "p3-plain%d", i);
		put(d3, key, key, TTL, (uint32_t)i);
		expect_note(d3, key, SRV_PRESENT, MIR_EXACT, GROUP_PLAIN);
	}
}

void cases_pools(struct drv *d1, struct drv *d2, struct drv *d3)
{
	put(d1, "pool-shared", "one", 0, 1);
	put(d2, "pool-shared", "two", TTL, 2);
	put(d1, "pool-del", "x", 0, 0);
	put(d2, "pool-del", "y", 0, 0);
	drv_check(memcached_delete(d2->mc, "pool-del", 8, 0), MEMCACHED_SUCCESS, "delete", "pool-del");
	put(d1, "pool-ctr", "1", 0, 0);
	put(d2, "pool-ctr", "100", 0, 0);
	delta(d1, 1, "pool-ctr", 1, MEMCACHED_SUCCESS, 2);
	delta(d2, 0, "pool-ctr", 1, MEMCACHED_SUCCESS, 99);
	present(d1, "pool-shared");
	present(d2, "pool-shared");
	present(d1, "pool-del");
	absent(d2, "pool-del");
	present(d1, "pool-ctr");
	present(d2, "pool-ctr");
	pool_routed(d3);
	/* flush_all, then new writes: only these survive in the flushed pool */
	drv_check(memcached_flush(d2->mc, 0), MEMCACHED_SUCCESS, "flush", d2->servers);
	expect_flush(d2->servers);
	put(d2, "after-flush", "new", TTL, 3);
	present(d2, "after-flush");
	drv_check(memcached_append(d2->mc, "pool-shared", 11, "x", 1, 0, 0), MEMCACHED_NOTSTORED, "append",
		  "pool-shared");
	delta(d2, 1, "pool-ctr", 1, MEMCACHED_NOTFOUND, 0);
	drv_check(memcached_add(d2->mc, "pool-del", 8, "z", 1, 0, 4), MEMCACHED_SUCCESS, "add", "pool-del");
	present(d2, "pool-del");
	drv_check(memcached_touch(d2->mc, "after-flush", 11, 600), MEMCACHED_SUCCESS, "touch", "after-flush");
}

/* Writes to keys the server holds but the mirror never saw (written before the
 * shim ran, or evicted since): the mirror may miss them, never hold another value. */
void cases_edge(struct drv *d)
{
	raw_set(d, "edge-wi-unseen", "40", 9); /* incremented to 42 == initial: not created */
	with_initial(d, 1, NULL, "edge-wi-unseen", 2, 42, TTL, MEMCACHED_SUCCESS, 42);
	expect_note(d, "edge-wi-unseen", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	put(d, "edge-wi-evicted", "7", 0, 5); /* created anew as 8 == 7 + 1: flags 0, new expiry */
	raw_delete(d, "edge-wi-evicted");
	with_initial(d, 1, NULL, "edge-wi-evicted", 1, 8, TTL, MEMCACHED_SUCCESS, 8);
	expect_note(d, "edge-wi-evicted", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	raw_set(d, "edge-add-unseen", "x", 3);
	drv_check(memcached_add(d->mc, "edge-add-unseen", 15, "y", 1, 0, 0), MEMCACHED_DATA_EXISTS, "add",
		  "edge-add-unseen");
	expect_note(d, "edge-add-unseen", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	raw_set(d, "edge-touch-unseen", "x", 4);
	drv_check(memcached_touch(d->mc, "edge-touch-unseen", 17, 600), MEMCACHED_SUCCESS, "touch",
		  "edge-touch-unseen");
	expect_note(d, "edge-touch-unseen", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	raw_set(d, "edge-del-unseen", "x", 0);
	drv_check(memcached_delete(d->mc, "edge-del-unseen", 15, 0), MEMCACHED_SUCCESS, "delete", "edge-del-unseen");
	absent(d, "edge-del-unseen");
	raw_set(d, "edge-set-unseen", "x", 0);
	put(d, "edge-set-unseen", "y", TTL, 6);
	present(d, "edge-set-unseen");
}
