/* shim_answers.c - the shim driver's cases of definite answers that are not successes: each one
 * tells what the server holds, so the mirror must follow it exactly and drop nothing.
 *
 *   absent      NOT_FOUND / NOT_STORED to replace, append, prepend, cas, incr, decr, touch (and
 *               incr with an initial value that may not create): the key is absent
 *   not numbers incr/decr of values memcached's safe_strtoull refuses (ascii CLIENT_ERROR, binary
 *               a read failure): the value is unchanged
 *   numbers     values safe_strtoull accepts although they are not plain digits ("5\0", " 9", "+9",
 *               "5 abc"): the reply carries the new number
 *   too large   a value over the server's item size: a set unlinks the old item, add, replace,
 *               append and cas leave it
 *   held        decr to fewer digits while another connection holds the item (a large get it
 *               does not read): memcached stores the digits alone, not padded in place; the
 *               client cannot tell, so the mirror may only drop the key
 * Keys are named after the case; the server's state is changed behind the shim's back
 * (raw_delete) to make the mirror hold keys the server lost.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_drive.h"
#include "shim_raw.h"

#define TTL 300
#define TOO_LARGE (2 * 1024 * 1024) /* over memcached's default item size (1 MB) */
#define HELD_VALUES 12              /* 1 MB values in the unread reply: more than the socket buffers */

static memcached_return_t by_proto(const struct drv *d, memcached_return_t ascii, memcached_return_t binary)
{
	return d->binary ? binary : ascii;
}

static void put_bytes(const struct drv *d, const char *key, const char *value, size_t len, uint32_t flags)
{
	drv_check(memcached_set(d->mc, key, strlen(key), value, len, TTL, flags), MEMCACHED_SUCCESS, "set", key);
}

static void put(const struct drv *d, const char *key, const char *value, uint32_t flags)
{
	put_bytes(d, key, value, strlen(value), flags);
}

static void exact(const struct drv *d, const char *key, char server)
{
	expect_note(d, key, server, MIR_EXACT, GROUP_ANY);
}


/* Mirrored, then deleted behind the shim's back: the mirror holds what the server lost. */
static void lost(const struct drv *d, const char *key)
{
	put(d, key, "5", 1);
	raw_delete(d, key);
}

static void case_absent(const struct drv *d)
{
	uint64_t v, cas;

	lost(d, "ans-replace");
	drv_check(memcached_replace(d->mc, "ans-replace", 11, "x", 1, 0, 0),
		  by_proto(d, MEMCACHED_NOTSTORED, MEMCACHED_NOTFOUND), "replace", "ans-replace");
	exact(d, "ans-replace", SRV_ABSENT);
	lost(d, "ans-append");
	drv_check(memcached_append(d->mc, "ans-append", 10, "x", 1, 0, 0), MEMCACHED_NOTSTORED, "append",
		  "ans-append");
	exact(d, "ans-append", SRV_ABSENT);
	lost(d, "ans-prepend");
	drv_check(memcached_prepend_by_key(d->mc, "g", 1, "ans-prepend", 11, "x", 1, 0, 0), MEMCACHED_NOTSTORED,
		  "prepend_by_key", "ans-prepend");
	exact(d, "ans-prepend", SRV_ABSENT);
	put(d, "ans-cas", "5", 1);
	cas = drv_cas(d, "ans-cas");
	raw_delete(d, "ans-cas");
	drv_check(memcached_cas(d->mc, "ans-cas", 7, "x", 1, 0, 0, cas), MEMCACHED_NOTFOUND, "cas", "ans-cas");
	exact(d, "ans-cas", SRV_ABSENT);
	lost(d, "ans-incr");
	drv_check(memcached_increment(d->mc, "ans-incr", 8, 1, &v), MEMCACHED_NOTFOUND, "incr", "ans-incr");
	exact(d, "ans-incr", SRV_ABSENT);
	lost(d, "ans-decr");
	drv_check(memcached_decrement_by_key(d->mc, "g", 1, "ans-decr", 8, 1, &v), MEMCACHED_NOTFOUND,
		  "decr_by_key", "ans-decr");
	exact(d, "ans-decr", SRV_ABSENT);
	lost(d, "ans-touch");
	drv_check(memcached_touch(d->mc, "ans-touch", 9, 600), MEMCACHED_NOTFOUND, "touch", "ans-touch");
	exact(d, "ans-touch", SRV_ABSENT);
	if (d->binary) {
		lost(d, "ans-notadd");
		drv_check(memcached_increment_with_initial(d->mc, "ans-notadd", 10, 1, 5, MEMCACHED_EXPIRATION_NOT_ADD,
							   &v),
			  MEMCACHED_NOTFOUND, "incr_with_initial", "ans-notadd");
		exact(d, "ans-notadd", SRV_ABSENT);
	}
}

/* incr/decr of a value that is not a number: refused, the value stays. */
static void not_number(const struct drv *d, const char *key, const char *value, size_t len, int incr)
{
	uint64_t v;
	memcached_return_t rc;

	put_bytes(d, key, value, len, 7);
	rc = incr ? memcached_increment(d->mc, key, strlen(key), 1, &v)
		  : memcached_decrement(d->mc, key, strlen(key), 1, &v);
	drv_check_failed(rc, incr ? "incr" : "decr", key);
	exact(d, key, SRV_PRESENT);
}

static void case_not_numbers(const struct drv *d)
{
	uint64_t v;

	not_number(d, "ans-nan-word", "abc", 3, 1);
	not_number(d, "ans-nan-neg", "-5", 2, 0);
	not_number(d, "ans-nan-empty", "", 0, 1);
	not_number(d, "ans-nan-hex", "0x10", 4, 1);
	not_number(d, "ans-nan-range", "18446744073709551616", 20, 0);
	not_number(d, "ans-nan-nul", "\0" "5", 2, 1);
	if (d->binary) {
		put(d, "ans-nan-initial", "xyz", 7);
		drv_check_failed(memcached_increment_with_initial(d->mc, "ans-nan-initial", 15, 1, 5, 0, &v),
				 "incr_with_initial", "ans-nan-initial");
		exact(d, "ans-nan-initial", SRV_PRESENT);
	}
}

/* incr/decr of a value safe_strtoull accepts: the new number, as long as the old value or longer. */
static void number(const struct drv *d, const char *key, const char *value, size_t len, uint64_t by,
		   uint64_t want)
{
	uint64_t v = 0;

	put_bytes(d, key, value, len, 9);
	drv_check(memcached_increment(d->mc, key, strlen(key), (uint32_t)by, &v), MEMCACHED_SUCCESS, "incr", key);
	if (v != want)
		drv_fail("incr '%s': got %" PRIu64 ", expected %" PRIu64, key, v, want);
	exact(d, key, SRV_PRESENT);
}

static void case_numbers(const struct drv *d)
{
	number(d, "ans-num-nul", "5\0", 2, 10, 15);
	number(d, "ans-num-space", " 9", 2, 1, 10);
	number(d, "ans-num-plus", "+9", 2, 1, 10);
	number(d, "ans-num-words", "5 abc", 5, 99995, 100000);
	number(d, "ans-num-tab", "\t7\n", 3, 993, 1000);
	number(d, "ans-num-minus0", "-0", 2, 10, 10);
}

static void case_too_large(const struct drv *d)
{
	char *big = malloc(TOO_LARGE);

	if (!big) {
		drv_fail("out of memory");
		return;
	}
	memset(big, 'b', TOO_LARGE);
	put(d, "ans-big-set", "old", 1);
	drv_check(memcached_set(d->mc, "ans-big-set", 11, big, TOO_LARGE, 0, 0), MEMCACHED_E2BIG, "set",
		  "ans-big-set");
	exact(d, "ans-big-set", SRV_ABSENT);
	put(d, "ans-big-add", "old", 2);
	drv_check(memcached_add(d->mc, "ans-big-add", 11, big, TOO_LARGE, 0, 0), MEMCACHED_E2BIG, "add",
		  "ans-big-add");
	exact(d, "ans-big-add", SRV_PRESENT);
	put(d, "ans-big-replace", "old", 3);
	drv_check(memcached_replace(d->mc, "ans-big-replace", 15, big, TOO_LARGE, 0, 0), MEMCACHED_E2BIG,
		  "replace", "ans-big-replace");
	exact(d, "ans-big-replace", SRV_PRESENT);
	put(d, "ans-big-append", "old", 4);
	drv_check(memcached_append(d->mc, "ans-big-append", 14, big, TOO_LARGE, 0, 0), MEMCACHED_E2BIG, "append",
		  "ans-big-append");
	exact(d, "ans-big-append", SRV_PRESENT);
	free(big);
}

/* decr to fewer digits while another connection holds the item: "99", not "99 ". */
static void case_held(const struct drv *d)
{
	static char mb[1000 * 1000];
	char req[1024], key[64], wire[300];
	struct raw_item it = {0};
	uint64_t v = 0;
	int n, fd;

	memset(mb, 'h', sizeof mb);
	n = snprintf(req, sizeof req, "get");
	for (int i = 0; i < HELD_VALUES; i++) {
		snprintf(key, sizeof key, "ans-held-big%d", i);
		put_bytes(d, key, mb, sizeof mb, 0);
		n += snprintf(req + n, sizeof req - (size_t)n, " %s%s", d->ns, key);
	}
	put(d, "ans-held", "100", 5);
	snprintf(wire, sizeof wire, "%sans-held", d->ns);
	n += snprintf(req + n, sizeof req - (size_t)n, " %s\r\n", wire);
	if ((fd = raw_hold(d->servers, req, (size_t)n)) < 0) {
		drv_fail("cannot hold the reply");
		return;
	}
	drv_check(memcached_decrement(d->mc, "ans-held", 8, 1, &v), MEMCACHED_SUCCESS, "decr", "ans-held");
	if (v != 99)
		drv_fail("decr 'ans-held': got %" PRIu64, v);
	raw_release(fd);
	if (raw_get(d->servers, wire, &it) != 1 || it.value_len != 2 || memcmp(it.value, "99", 2) != 0)
		drv_fail("'%s': the server did not store the digits alone (the held reply did not keep a "
			 "reference): '%.*s'", wire, (int)it.value_len, it.value ? it.value : "");
	free(it.value);
	expect_note(d, "ans-held", SRV_PRESENT, MIR_DROP_OK, GROUP_ANY);
	for (int i = 0; i < HELD_VALUES; i++) {
		snprintf(key, sizeof key, "ans-held-big%d", i);
		drv_check(memcached_delete(d->mc, key, strlen(key), 0), MEMCACHED_SUCCESS, "delete", key);
	}
}

void cases_answers(struct drv *d)
{
	case_absent(d);
	case_not_numbers(d);
	case_numbers(d);
	case_too_large(d);
	case_held(d);
}
