/* test_expiry.c - memcached's expiration rules (store/expiry.c): what absolute
 * expiry the server gives an exptime over ASCII and binary, and the TTL to
 * send back. Expected values follow mcm_expiry.h and the API doc section 4. */
#include "mcm_expiry.h"
#include "unit.h"

#define NOW 1700000000LL /* a fixed "now", 2023-11-14 */

static void test_never(void **state)
{
	(void)state;
	assert_int_equal(mcm_expiry_absolute(0, 0, NOW), 0);
	assert_int_equal(mcm_expiry_absolute(0, 1, NOW), 0);
}

static void test_relative(void **state)
{
	(void)state;
	assert_int_equal(mcm_expiry_absolute(1, 0, NOW), NOW + 1);
	assert_int_equal(mcm_expiry_absolute(1, 1, NOW), NOW + 1);
	assert_int_equal(mcm_expiry_absolute(3600, 0, NOW), NOW + 3600);
	/* 30 days is still relative ... */
	assert_int_equal(mcm_expiry_absolute(2592000, 0, NOW), NOW + 2592000);
	assert_int_equal(mcm_expiry_absolute(2592000, 1, NOW), NOW + 2592000);
	/* ... one second more is an absolute time in January 1970: expired at once */
	assert_int_equal(mcm_expiry_absolute(2592001, 0, NOW), MCM_EXPIRED_AT_ONCE);
	assert_int_equal(mcm_expiry_absolute(2592001, 1, NOW), MCM_EXPIRED_AT_ONCE);
}

static void test_absolute(void **state)
{
	(void)state;
	/* a future absolute time stays as it is */
	assert_int_equal(mcm_expiry_absolute(1800000000, 0, NOW), 1800000000);
	assert_int_equal(mcm_expiry_absolute(1800000000, 1, NOW), 1800000000);
	/* now itself and one second before are gone */
	assert_int_equal(mcm_expiry_absolute(NOW, 0, NOW), MCM_EXPIRED_AT_ONCE);
	assert_int_equal(mcm_expiry_absolute(NOW - 1, 1, NOW), MCM_EXPIRED_AT_ONCE);
	assert_int_equal(mcm_expiry_absolute(NOW + 1, 0, NOW), NOW + 1);
}

static void test_ascii_wraps(void **state)
{
	(void)state;
	/* negative: expired at once */
	assert_int_equal(mcm_expiry_absolute(-1, 0, NOW), MCM_EXPIRED_AT_ONCE);
	assert_int_equal(mcm_expiry_absolute(-2592000, 0, NOW), MCM_EXPIRED_AT_ONCE);
	/* 2^31 parses as INT32_MIN: negative */
	assert_int_equal(mcm_expiry_absolute(2147483648LL, 0, NOW), MCM_EXPIRED_AT_ONCE);
	/* 2^31 - 1 stays positive: year 2038, in the future of NOW */
	assert_int_equal(mcm_expiry_absolute(2147483647LL, 0, NOW), 2147483647LL);
	/* 2^32 - 1 is -1 in 32 bits */
	assert_int_equal(mcm_expiry_absolute(4294967295LL, 0, NOW), MCM_EXPIRED_AT_ONCE);
	/* 2^32 is 0 in 32 bits: never */
	assert_int_equal(mcm_expiry_absolute(4294967296LL, 0, NOW), 0);
	/* 2^32 + 60 is 60 seconds */
	assert_int_equal(mcm_expiry_absolute(4294967356LL, 0, NOW), NOW + 60);
}

static void test_binary_unsigned(void **state)
{
	(void)state;
	/* the header field is uint32: -1 is 4294967295, February 2106 */
	assert_int_equal(mcm_expiry_absolute(-1, 1, NOW), 4294967295LL);
	assert_int_equal(mcm_expiry_absolute(2147483648LL, 1, NOW), 2147483648LL);
	assert_int_equal(mcm_expiry_absolute(4294967295LL, 1, NOW), 4294967295LL);
	assert_int_equal(mcm_expiry_absolute(4294967296LL, 1, NOW), 0);
	/* -4294967236 is 60 in 32 bits */
	assert_int_equal(mcm_expiry_absolute(-4294967236LL, 1, NOW), NOW + 60);
}

static void test_passed(void **state)
{
	(void)state;
	assert_false(mcm_expiry_passed(0, NOW));
	assert_true(mcm_expiry_passed(MCM_EXPIRED_AT_ONCE, NOW));
	assert_true(mcm_expiry_passed(NOW, NOW));
	assert_true(mcm_expiry_passed(NOW - 1, NOW));
	assert_false(mcm_expiry_passed(NOW + 1, NOW));
}

static void test_ttl(void **state)
{
	(void)state;
	assert_int_equal(mcm_expiry_ttl(0, NOW), 0);
	assert_int_equal(mcm_expiry_ttl(MCM_EXPIRED_AT_ONCE, NOW), -1);
	assert_int_equal(mcm_expiry_ttl(NOW, NOW), -1);
	assert_int_equal(mcm_expiry_ttl(NOW + 1, NOW), 1);
	assert_int_equal(mcm_expiry_ttl(NOW + 3600, NOW), 3600);
	/* up to 30 days: relative */
	assert_int_equal(mcm_expiry_ttl(NOW + 2592000, NOW), 2592000);
	/* longer: the absolute time, which the server reads as such */
	assert_int_equal(mcm_expiry_ttl(NOW + 2592001, NOW), NOW + 2592001);
	assert_int_equal(mcm_expiry_ttl(4294967295LL, NOW), 4294967295LL);
}

/* What the server gets from the TTL means the same absolute expiry again. */
static void test_ttl_round_trip(void **state)
{
	static const int64_t abs[] = {NOW + 1, NOW + 59, NOW + 2592000, NOW + 2592001, 2000000000LL};

	(void)state;
	for (size_t i = 0; i < sizeof abs / sizeof abs[0]; i++) {
		int64_t ttl = mcm_expiry_ttl(abs[i], NOW);

		assert_true(ttl >= 1);
		assert_int_equal(mcm_expiry_absolute(ttl, 0, NOW), abs[i]);
		assert_int_equal(mcm_expiry_absolute(ttl, 1, NOW), abs[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_ascii_wraps),
		cmocka_unit_test(test_binary_unsigned),
		cmocka_unit_test(test_passed),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_ttl_round_trip),
	};

	return cmocka_run_group_tests_name("expiry", tests, NULL, NULL);
}
