/* test_record.c - the record codec (store/record.c): item and pool records,
 * database keys, big-endian helpers. Expected bytes are written out by hand
 * from the layout in record.c / docs/FORMAT.md. */
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "unit.h"

static const char BIN_VALUE[5] = {'\0', '\r', '\n', 'A', (char)0xff};

static struct mcm_item sample_item(void)
{
	struct mcm_item it;

	memset(&it, 0, sizeof it);
	it.kind = MCM_KIND_VALUE;
	it.group_mode = MCM_GROUP_EXPLICIT;
	it.ns_len = 3;
	it.flags = 0xDEADBEEFu;
	it.exptime = 1700000000; /* 0x6553f100 */
	it.wtime_us = 0x0102030405060708ULL;
	it.seq = 42;
	it.group = "grp";
	it.group_len = 3;
	it.value = BIN_VALUE;
	it.value_len = sizeof BIN_VALUE;
	return it;
}

/* The encoded bytes of sample_item(), little-endian header then group, value. */
static const unsigned char SAMPLE_BYTES[48] = {
	1, 1, 1, 0,                                     /* version, kind, group_mode, pad */
	0xEF, 0xBE, 0xAD, 0xDE,                         /* flags */
	0x00, 0xF1, 0x53, 0x65, 0, 0, 0, 0,             /* exptime */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* wtime_us */
	42, 0, 0, 0, 0, 0, 0, 0,                        /* seq */
	3, 0,                                           /* ns_len */
	3, 0,                                           /* group_len */
	5, 0, 0, 0,                                     /* value_len */
	'g', 'r', 'p',
	0x00, 0x0D, 0x0A, 'A', 0xFF,
};

static void test_item_encode_bytes(void **state)
{
	struct mcm_item it = sample_item();
	unsigned char buf[64];

	(void)state;
	assert_int_equal(mcm_item_size(&it), 48);
	memset(buf, 0xAA, sizeof buf);
	mcm_item_encode(&it, buf);
	assert_memory_equal(buf, SAMPLE_BYTES, sizeof SAMPLE_BYTES);
	assert_int_equal(buf[48], 0xAA); /* nothing written past the record */
}

static void test_item_round_trip(void **state)
{
	struct mcm_item out;

	(void)state;
	memset(&out, 0, sizeof out);
	out.pool = 77;
	out.key = "untouched";
	out.key_len = 9;
	assert_int_equal(mcm_item_decode(SAMPLE_BYTES, sizeof SAMPLE_BYTES, &out), 0);
	assert_int_equal(out.kind, MCM_KIND_VALUE);
	assert_int_equal(out.group_mode, MCM_GROUP_EXPLICIT);
	assert_int_equal(out.ns_len, 3);
	assert_int_equal(out.flags, 0xDEADBEEFu);
	assert_int_equal(out.exptime, 1700000000);
	assert_true(out.wtime_us == 0x0102030405060708ULL);
	assert_int_equal(out.seq, 42);
	assert_int_equal(out.group_len, 3);
	assert_memory_equal(out.group, "grp", 3);
	assert_int_equal(out.value_len, 5);
	assert_memory_equal(out.value, BIN_VALUE, 5);
	/* key and pool are not part of the record */
	assert_int_equal(out.pool, 77);
	assert_string_equal(out.key, "untouched");
}

/* Fields at the ends of their ranges survive a round trip. */
static void test_item_extremes(void **state)
{
	struct mcm_item it, out;
	unsigned char *buf;
	char *value = malloc(1 << 20), group[250];

	(void)state;
	assert_non_null(value);
	for (size_t i = 0; i < (1 << 20); i++)
		value[i] = (char)(i * 7);
	memset(group, 'g', sizeof group);
	memset(&it, 0, sizeof it);
	it.kind = MCM_KIND_DROPPED;
	it.group_mode = MCM_GROUP_EXPLICIT;
	it.ns_len = 65535;
	it.flags = 0xFFFFFFFFu;
	it.exptime = -1;
	it.wtime_us = UINT64_MAX;
	it.seq = UINT64_MAX;
	it.group = group;
	it.group_len = sizeof group;
	it.value = value;
	it.value_len = 1 << 20;
	assert_int_equal(mcm_item_size(&it), 40 + 250 + (1 << 20));
	buf = malloc(mcm_item_size(&it));
	assert_non_null(buf);
	mcm_item_encode(&it, buf);
	assert_int_equal(mcm_item_decode(buf, mcm_item_size(&it), &out), 0);
	assert_int_equal(out.kind, MCM_KIND_DROPPED);
	assert_int_equal(out.ns_len, 65535);
	assert_int_equal(out.flags, 0xFFFFFFFFu);
	assert_int_equal(out.exptime, -1);
	assert_true(out.wtime_us == UINT64_MAX);
	assert_true(out.seq == UINT64_MAX);
	assert_int_equal(out.group_len, 250);
	assert_memory_equal(out.group, group, 250);
	assert_int_equal(out.value_len, 1 << 20);
	assert_memory_equal(out.value, value, 1 << 20);
	free(buf);
	free(value);
}

static void test_item_empty_value(void **state)
{
	struct mcm_item it = sample_item(), out;
	unsigned char buf[64];

	(void)state;
	it.value = "";
	it.value_len = 0;
	it.kind = MCM_KIND_DELETED;
	assert_int_equal(mcm_item_size(&it), 43);
	mcm_item_encode(&it, buf);
	assert_int_equal(buf[1], MCM_KIND_DELETED);
	assert_int_equal(buf[36], 0);
	assert_int_equal(mcm_item_decode(buf, 43, &out), 0);
	assert_int_equal(out.kind, MCM_KIND_DELETED);
	assert_int_equal(out.value_len, 0);
	assert_non_null(out.value);
}

/* An explicit empty group key is kept apart from "hash the key". */
static void test_item_group_modes(void **state)
{
	struct mcm_item it = sample_item(), out;
	unsigned char buf[64];

	(void)state;
	it.group = "";
	it.group_len = 0;
	assert_int_equal(mcm_item_size(&it), 45);
	mcm_item_encode(&it, buf);
	assert_int_equal(buf[2], MCM_GROUP_EXPLICIT);
	assert_int_equal(mcm_item_decode(buf, 45, &out), 0);
	assert_int_equal(out.group_mode, MCM_GROUP_EXPLICIT);
	assert_int_equal(out.group_len, 0);

	/* MCM_GROUP_KEY: whatever group was passed is not stored */
	it = sample_item();
	it.group_mode = MCM_GROUP_KEY;
	assert_int_equal(mcm_item_size(&it), 45);
	mcm_item_encode(&it, buf);
	assert_int_equal(buf[2], MCM_GROUP_KEY);
	assert_int_equal(buf[34], 0);
	assert_memory_equal(buf + 40, BIN_VALUE, 5);
	assert_int_equal(mcm_item_decode(buf, 45, &out), 0);
	assert_int_equal(out.group_mode, MCM_GROUP_KEY);
	assert_int_equal(out.group_len, 0);
	assert_memory_equal(out.value, BIN_VALUE, 5);
}

static void test_item_decode_refuses(void **state)
{
	unsigned char buf[64];
	struct mcm_item out;

	(void)state;
	/* every truncation of a valid record, and one byte too many */
	for (size_t len = 0; len < sizeof SAMPLE_BYTES; len++)
		assert_int_equal(mcm_item_decode(SAMPLE_BYTES, len, &out), MCM_EFORMAT);
	memcpy(buf, SAMPLE_BYTES, sizeof SAMPLE_BYTES);
	buf[48] = 0;
	assert_int_equal(mcm_item_decode(buf, 49, &out), MCM_EFORMAT);

	/* version byte */
	buf[0] = 0;
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[0] = 2;
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[0] = 1;
	assert_int_equal(mcm_item_decode(buf, 48, &out), 0);

	/* kind outside 1..3 */
	buf[1] = 0;
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[1] = 4;
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[1] = 3;
	assert_int_equal(mcm_item_decode(buf, 48, &out), 0);

	/* group mode outside 0..1 */
	buf[2] = 2;
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	/* group bytes with mode "key" */
	buf[2] = MCM_GROUP_KEY;
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[2] = MCM_GROUP_EXPLICIT;

	/* lengths that disagree with the buffer */
	buf[36] = 6; /* value_len 6: one more than there is */
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[36] = 4;
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[36] = 5;
	buf[35] = 1; /* group_len 259 */
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
	buf[35] = 0;
	buf[39] = 0x80; /* value_len 2^31 + 5 */
	assert_int_equal(mcm_item_decode(buf, 48, &out), MCM_EFORMAT);
}

static void test_item_key(void **state)
{
	static const unsigned char expect[11] = {1, 2, 3, 4, 5, 6, 7, 8, 'a', 'b', 'c'};
	unsigned char buf[MCM_ITEM_KEY_MAX + 8];
	char longkey[MCM_ITEM_KEY_MAX];
	mcm_pool_id pool;
	const char *key;
	size_t key_len;

	(void)state;
	assert_int_equal(MCM_ITEM_KEY_MAX, 8 + 250 + 127);
	assert_int_equal(mcm_item_key(0x0102030405060708ULL, "abc", 3, buf), 11);
	assert_memory_equal(buf, expect, 11);
	assert_int_equal(mcm_item_key_split(buf, 11, &pool, &key, &key_len), 0);
	assert_true(pool == 0x0102030405060708ULL);
	assert_int_equal(key_len, 3);
	assert_ptr_equal(key, (const char *)buf + 8);

	/* empty and too-long keys */
	assert_int_equal(mcm_item_key(1, "", 0, buf), 0);
	memset(longkey, 'k', sizeof longkey);
	assert_int_equal(mcm_item_key(1, longkey, 377, buf), 385);
	assert_memory_equal(buf + 8, longkey, 377);
	assert_int_equal(mcm_item_key(1, longkey, 378, buf), 0);

	/* a split needs a pool id and at least one key byte, and no more than the max */
	assert_int_equal(mcm_item_key_split(buf, 385, &pool, &key, &key_len), 0);
	assert_int_equal(key_len, 377);
	assert_int_equal(mcm_item_key_split(buf, 386, &pool, &key, &key_len), MCM_EFORMAT);
	assert_int_equal(mcm_item_key_split(buf, 8, &pool, &key, &key_len), MCM_EFORMAT);
	assert_int_equal(mcm_item_key_split(buf, 0, &pool, &key, &key_len), MCM_EFORMAT);
}

static void test_pool_round_trip(void **state)
{
	static const unsigned char head[48] = {
		1, 1, 1, 0,
		2, 0, 0, 0,             /* distribution */
		3, 0, 0, 0,             /* key_hash */
		4, 0, 0, 0,             /* dist_hash */
		0x10, 0x0F, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, /* created_us */
		9, 0, 0, 0, 0, 0, 0, 0, /* flush_seq */
		0x00, 0x28, 0x6B, 0xEE, 0, 0, 0, 0, /* flush_time 4000000000 */
		15, 0, 0, 0,            /* servers_len */
		0, 0, 0, 0,
	};
	struct mcm_pool p, out;
	unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];

	(void)state;
	memset(&p, 0, sizeof p);
	strcpy(p.servers, "127.0.0.1:11211");
	p.id = 5;
	p.created_us = 0x090A0B0C0D0E0F10ULL;
	p.flush_seq = 9;
	p.flush_time = 4000000000LL;
	p.distribution = 2;
	p.key_hash = 3;
	p.dist_hash = 4;
	p.hash_with_namespace = 1;
	p.encrypted = 1;
	assert_int_equal(mcm_pool_size(&p), 48 + 15);
	mcm_pool_encode(&p, buf);
	assert_memory_equal(buf, head, sizeof head);
	assert_memory_equal(buf + 48, "127.0.0.1:11211", 15);

	memset(&out, 0x55, sizeof out);
	out.id = 99;
	assert_int_equal(mcm_pool_decode(buf, 63, &out), 0);
	assert_int_equal(out.id, 99); /* left as it was */
	assert_string_equal(out.servers, "127.0.0.1:11211");
	assert_true(out.created_us == p.created_us);
	assert_int_equal(out.flush_seq, 9);
	assert_int_equal(out.flush_time, 4000000000LL);
	assert_int_equal(out.distribution, 2);
	assert_int_equal(out.key_hash, 3);
	assert_int_equal(out.dist_hash, 4);
	assert_int_equal(out.hash_with_namespace, 1);
	assert_int_equal(out.encrypted, 1);
}

static void test_pool_limits(void **state)
{
	static struct mcm_pool p, out;
	static unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX + 1];

	(void)state;
	memset(&p, 0, sizeof p);
	memset(p.servers, 's', MCM_SERVERS_MAX - 1);
	p.servers[MCM_SERVERS_MAX - 1] = '\0';
	assert_int_equal(mcm_pool_size(&p), 48 + 2047);
	mcm_pool_encode(&p, buf);
	assert_int_equal(mcm_pool_decode(buf, 48 + 2047, &out), 0);
	assert_int_equal(strlen(out.servers), 2047);

	/* refusals: truncated, one byte more, wrong version, a list too long */
	assert_int_equal(mcm_pool_decode(buf, 47, &out), MCM_EFORMAT);
	assert_int_equal(mcm_pool_decode(buf, 48 + 2046, &out), MCM_EFORMAT);
	assert_int_equal(mcm_pool_decode(buf, 48 + 2048, &out), MCM_EFORMAT);
	buf[40] = 0x00; /* servers_len 2048 = 0x800 */
	buf[41] = 0x08;
	assert_int_equal(mcm_pool_decode(buf, 48 + 2048, &out), MCM_EFORMAT);
	buf[40] = 0xFF; /* back to 2047 = 0x7ff */
	buf[41] = 0x07;
	buf[0] = 2;
	assert_int_equal(mcm_pool_decode(buf, 48 + 2047, &out), MCM_EFORMAT);
}

static void test_be64(void **state)
{
	static const uint64_t ordered[] = {
		0, 1, 2, 255, 256, 65535, 65536, 4294967295ULL, 4294967296ULL,
		72057594037927935ULL, 72057594037927936ULL, 9223372036854775807ULL,
		9223372036854775808ULL, UINT64_MAX,
	};
	static const unsigned char expect[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
	unsigned char a[8], b[8];
	size_t n = sizeof ordered / sizeof ordered[0];

	(void)state;
	mcm_put_be64(a, 0x0123456789ABCDEFULL);
	assert_memory_equal(a, expect, 8);
	assert_true(mcm_get_be64(expect) == 0x0123456789ABCDEFULL);
	/* byte order sorts numerically: memcmp agrees with < for every pair */
	for (size_t i = 0; i < n; i++) {
		mcm_put_be64(a, ordered[i]);
		assert_true(mcm_get_be64(a) == ordered[i]);
		for (size_t j = 0; j < n; j++) {
			int c;

			mcm_put_be64(b, ordered[j]);
			c = memcmp(a, b, 8);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_item_encode_bytes),
		cmocka_unit_test(test_item_round_trip),
		cmocka_unit_test(test_item_extremes),
		cmocka_unit_test(test_item_empty_value),
		cmocka_unit_test(test_item_group_modes),
		cmocka_unit_test(test_item_decode_refuses),
		cmocka_unit_test(test_item_key),
		cmocka_unit_test(test_pool_round_trip),
		cmocka_unit_test(test_pool_limits),
		cmocka_unit_test(test_be64),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
