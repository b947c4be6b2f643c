/* test_delta.c - incr/decr in the mirror (store/apply.c, apply_delta and parse_counter): the
 * number the server holds after each reply, by memcached 1.6.18's own rules (do_add_delta,
 * safe_strtoull), or a drop where the client cannot know, or the old value kept where the
 * server cannot have changed it. Through mcm_store_apply on a temp store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define T0 1800000000LL /* simulated "now" of the writes, Unix seconds (2027) */
#define US(s) ((uint64_t)(s) * 1000000u)

static struct mcm_pool pool;

static int setup(void **state)
{
	unit_pool(&pool, "127.0.0.1:11211");
	return unit_env_setup(state);
}

static struct mcm_store *store(void **state)
{
	return ((struct unit_env *)*state)->st;
}

/* A PUT of len bytes of value, flags 3, expiring at T0 + 500. */
static void put(struct mcm_store *st, const char *key, const char *value, size_t len)
{
	struct mcm_mutation m = unit_mut(MCM_OP_PUT, &pool, key);

	m.value = value;
	m.value_len = len;
	m.flags = 3;
	m.exptime = T0 + 500;
	m.wtime_us = US(T0);
	unit_apply(st, &m);
}

/* incr (or decr) by `by` that returned result; with_initial as the shim sets it. */
static void delta(struct mcm_store *st, const char *key, int incr, uint64_t by, uint64_t result,
		  uint8_t with_initial)
{
	struct mcm_mutation m = unit_mut(MCM_OP_DELTA, &pool, key);

	m.incr = (uint8_t)incr;
	m.delta = by;
	m.result = result;
	m.with_initial = with_initial;
	m.wtime_us = US(T0 + 1);
	unit_apply(st, &m);
}

static void check_value(struct mcm_store *st, const char *key, const char *value)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, &pool, key, &it), 0);
	assert_int_equal(it.kind, MCM_KIND_VALUE);
	assert_int_equal(it.value_len, strlen(value));
	assert_memory_equal(it.value, value, it.value_len);
	assert_int_equal(it.flags, 3);
	assert_int_equal(it.exptime, T0 + 500);
}

static void check_dropped(struct mcm_store *st, const char *key)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, &pool, key, &it), 0);
	assert_int_equal(it.kind, MCM_KIND_DROPPED);
}

/* The record is still the one put wrote: same bytes, same sequence number. */
static void check_kept(struct mcm_store *st, const char *key, const char *value, size_t len, uint64_t seq)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, &pool, key, &it), 0);
	assert_int_equal(it.kind, MCM_KIND_VALUE);
	assert_int_equal(it.value_len, len);
	assert_memory_equal(it.value, value, len);
	assert_int_equal(it.seq, seq);
}

static uint64_t seq_of(struct mcm_store *st, const char *key)
{
	struct mcm_item it;

	assert_int_equal(unit_get(st, &pool, key, &it), 0);
	return it.seq;
}

/* The digits alone when the result is as long as the old value or longer; flags and expiry kept. */
static void test_lengths(void **state)
{
	struct mcm_store *st = store(state);

	put(st, "a", "10", 2);
	delta(st, "a", 1, 5, 15, 0);
	check_value(st, "a", "15");
	delta(st, "a", 0, 5, 10, 0); /* as long: rewritten in place without padding, or a new item */
	check_value(st, "a", "10");
	put(st, "b", "99", 2);
	delta(st, "b", 1, 1, 100, 0);
	check_value(st, "b", "100");
	put(st, "c", "9223372036854775000", 19); /* below 2^63 */
	delta(st, "c", 1, 800, 9223372036854775800ULL, 0);
	check_value(st, "c", "9223372036854775800");
	put(st, "d", "3", 1);
	delta(st, "d", 0, 10, 0, 0); /* decr floors at 0 */
	check_value(st, "d", "0");
}

/* Fewer digits than the old value: padded in place, or the digits alone in a new item (when
 * another connection holds the item). The client cannot know: dropped. */
static void test_shorter(void **state)
{
	struct mcm_store *st = store(state);

	put(st, "a", "100", 3);
	delta(st, "a", 0, 1, 99, 0);
	check_dropped(st, "a");
	put(st, "b", "10", 2);
	delta(st, "b", 0, 1, 9, 0);
	check_dropped(st, "b");
	put(st, "c", "18446744073709551615", 20); /* incr wraps at 2^64 */
	delta(st, "c", 1, 2, 1, 0);
	check_dropped(st, "c");
	put(st, "d", "5  ", 3); /* a padded value: a 1-digit result may keep the padding or not */
	delta(st, "d", 1, 1, 6, 0);
	check_dropped(st, "d");
}

/* safe_strtoull's forms: leading white space, a sign, digits ending at white space or a NUL. */
static void test_forms(void **state)
{
	struct mcm_store *st = store(state);

	put(st, "nul", "5\0", 2);
	delta(st, "nul", 1, 10, 15, 0);
	check_value(st, "nul", "15");
	put(st, "space", " 9", 2);
	delta(st, "space", 1, 1, 10, 0);
	check_value(st, "space", "10");
	put(st, "plus", "+9", 2);
	delta(st, "plus", 1, 1, 10, 0);
	check_value(st, "plus", "10");
	put(st, "words", "5 abc", 5);
	delta(st, "words", 1, 99995, 100000, 0);
	check_value(st, "words", "100000");
	put(st, "tab", "\t7\n", 3);
	delta(st, "tab", 1, 993, 1000, 0);
	check_value(st, "tab", "1000");
	put(st, "minus0", "-0", 2); /* strtoull("-0") is 0, not negative: a number */
	delta(st, "minus0", 1, 10, 10, 0);
	check_value(st, "minus0", "10");
	put(st, "wrapneg", "-18446744073709551615", 21); /* strtoull negates: 1 */
	delta(st, "wrapneg", 1, 9, 10, 0);
	check_dropped(st, "wrapneg"); /* 10 is shorter than 21 bytes */
	put(st, "big", "9223372036854775808", 19); /* 2^63: accepted when no '-' is found */
	delta(st, "big", 1, 1, 9223372036854775809ULL, 0);
	check_value(st, "big", "9223372036854775809");
	/* a result the old value does not explain: the mirror missed a write */
	put(st, "missed", "10", 2);
	delta(st, "missed", 1, 1, 50, 0);
	check_dropped(st, "missed");
}

/* Values memcached refuses as non-numeric: a reply with a number means the mirror was wrong
 * (dropped); a reply without one leaves them exactly as they were (kept). */
static void test_not_numbers(void **state)
{
	static const struct {
		const char *v;
		size_t len;
	} nots[] = {
		{"abc", 3}, {"", 0}, {"5x", 2}, {"-5", 2}, {"+", 1}, {"- 5", 3}, {"0x10", 4},
		{"18446744073709551616", 20}, /* ERANGE */
		{"-9223372036854775808", 20}, /* negative as a signed number, with its '-' */
		{"\0" "5", 2},
	};
	struct mcm_store *st = store(state);
	char key[16];

	for (size_t i = 0; i < sizeof nots / sizeof nots[0]; i++) {
		uint64_t seq;

		snprintf(key, sizeof key, "not%zu", i);
		put(st, key, nots[i].v, nots[i].len);
		seq = seq_of(st, key);
		delta(st, key, (int)(i % 2), 1, UINT64_MAX, MCM_DELTA_UNKNOWN);
		check_kept(st, key, nots[i].v, nots[i].len, seq);
		delta(st, key, 1, 1, 1, 0);
		check_dropped(st, key);
	}
}

/* No number in the reply: a value the server could have changed is dropped. */
static void test_unknown(void **state)
{
	static const struct {
		const char *v;
		size_t len;
	} maybe[] = {
		{"10", 2}, {"5 abc", 5}, {" 5", 2}, {"-0", 2},
		{"   ", 3},                   /* strtoull reads past the value */
		{"9223372036854775808", 19}, /* strchr looks for a '-' past the value */
	};
	struct mcm_store *st = store(state);
	char key[16];
	struct mcm_item it;

	for (size_t i = 0; i < sizeof maybe / sizeof maybe[0]; i++) {
		snprintf(key, sizeof key, "maybe%zu", i);
		put(st, key, maybe[i].v, maybe[i].len);
		delta(st, key, 1, 1, UINT64_MAX, MCM_DELTA_UNKNOWN);
		check_dropped(st, key);
	}
	/* white space only, with a reply: whatever strtoull read past the value, unknown */
	put(st, "spaces", "  ", 2);
	delta(st, "spaces", 1, 1, 1, 0);
	check_dropped(st, "spaces");
	/* nothing mirrored: nothing written */
	delta(st, "none", 1, 1, UINT64_MAX, MCM_DELTA_UNKNOWN);
	assert_int_equal(unit_get(st, &pool, "none", &it), MCM_ENOTFOUND);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, unit_env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_lengths), T(test_shorter), T(test_forms), T(test_not_numbers), T(test_unknown),
	};
#undef T

	return cmocka_run_group_tests_name("delta", tests, NULL, NULL);
}
