/* test_textproto.c - shim/textproto.c: what memcached 1.6.18's text protocol makes of a key and of a
 * data block read as command lines (its tokenizer splits on ' ', stops at a NUL, a line ends at '\n'). */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "shim.h"

/* Keys of every length around the eight-byte steps, with one bad byte at every position. */
static void test_key_positions(void **state)
{
	static const char bad[] = {' ', '\n', '\0'};
	char key[40];

	(void)state;
	for (size_t len = 1; len <= sizeof key; len++) {
		memset(key, 'k', len);
		assert_int_equal(mcm_text_key(key, len), 0);
		for (size_t at = 0; at < len; at++)
			for (size_t b = 0; b < sizeof bad; b++) {
				memset(key, 'k', len);
				key[at] = bad[b];
				assert_true(mcm_text_key(key, len) & MCM_TEXT_SPLIT);
				assert_int_equal(!!(mcm_text_key(key, len) & MCM_TEXT_NEWLINE), bad[b] == '\n');
			}
	}
}

/* Bytes below 0x21 other than the three, and high bytes, are carried. */
static void test_key_carried(void **state)
{
	char key[300];

	(void)state;
	assert_int_equal(mcm_text_key("a\tb\rc\x01\x1f!", 8), 0);
	assert_int_equal(mcm_text_key("\x80\xff\x7f" "abcdefgh", 11), 0);
	memset(key, 'x', sizeof key);
	assert_int_equal(mcm_text_key(key, 250), 0);
	assert_int_equal(mcm_text_key(key, 251), MCM_TEXT_TOO_LONG);
	key[260] = ' ';
	assert_int_equal(mcm_text_key(key, 300), MCM_TEXT_SPLIT); /* split: the first word counts */
}

static void test_first_token(void **state)
{
	size_t off = 99;

	(void)state;
	assert_int_equal(mcm_text_first_token("ab cd", 5, &off), 2);
	assert_int_equal(off, 0);
	assert_int_equal(mcm_text_first_token("  ab cd", 7, &off), 2);
	assert_int_equal(off, 2);
	assert_int_equal(mcm_text_first_token("ab\0cd", 5, &off), 2);
	assert_int_equal(mcm_text_first_token("\0ab", 3, &off), 0);
	assert_int_equal(mcm_text_first_token("   ", 3, &off), 0);
	assert_int_equal(mcm_text_first_token("a\rb c", 5, &off), 3); /* '\r' is part of the word */
}

static void test_value_inert(void **state)
{
	static const char *const inert[] = {
		"", "junk", "settle", "get x", "gets x y", "version", "mn", "stats", "quit", "a\0set x",
		"\0delete x", "x\r\ny\r\nz", "casval", "me x",
	};
	static const char *const writes[] = {
		"delete x", "  set x 0 0 1", "x\r\ndelete y", "x\ndelete y", "set\r\nz", "mg k T30", "ms k 2",
		"flush_all", "incr k 1", "touch k 10", "gat 10 k", "ma k", "md k", "cas k 0 0 1 5",
		"add k 0 0 1", "replace k 0 0 1", "append k 0 0 1", "prepend k 0 0 1", "decr k 1", "gats 1 k",
	};

	(void)state;
	for (size_t i = 0; i < sizeof inert / sizeof inert[0]; i++)
		assert_true(mcm_text_value_inert(inert[i], strlen(inert[i]) + (i == 9 || i == 10 ? 6 : 0)));
	for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
		assert_false(mcm_text_value_inert(writes[i], strlen(writes[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_positions), cmocka_unit_test(test_key_carried),
		cmocka_unit_test(test_first_token), cmocka_unit_test(test_value_inert),
	};

	return cmocka_run_group_tests_name("textproto", tests, NULL, NULL);
}
