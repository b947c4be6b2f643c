/* test_record.c - the record codec (store/record.c): item and pool records,
 * database keys, big-endian helpers. Expected bytes are written out by hand
 * from the layout in record.c / docs/FORMAT.md. */
#include <stdlib.h>
#include <string.h>

#include "mcm_crc.h"
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
	it.pool = 0x0102030405060708ULL;
	it.key = "ns:k";
	it.key_len = 4;
	return it;
}

/* The database key sample_item() is stored under: pool 0x0102030405060708, key "ns:k". */
static const unsigned char SAMPLE_DBKEY[12] = {1, 2, 3, 4, 5, 6, 7, 8, 'n', 's', ':', 'k'};

/* The encoded bytes of sample_item() (version 2): little-endian header, its
 * CRC at 40 (filled in by sample_bytes()), then group, value. */
static const unsigned char SAMPLE_HEAD[56] = {
	2, 1, 1, 0,                                     /* version, kind, group_mode, pad */
	0xEF, 0xBE, 0xAD, 0xDE,                         /* flags */
	0x00, 0xF1, 0x53, 0x65, 0, 0, 0, 0,             /* exptime */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* wtime_us */
	42, 0, 0, 0, 0, 0, 0, 0,                        /* seq */
	3, 0,                                           /* ns_len */
	3, 0,                                           /* group_len */
	5, 0, 0, 0,                                     /* value_len */
	0, 0, 0, 0,                                     /* CRC-32C */
	0, 0, 0, 0,                                     /* reserved */
	'g', 'r', 'p',
	0x00, 0x0D, 0x0A, 'A', 0xFF,
};
/* Its CRC-32C, computed once from the layout and kept as a constant: a change
 * of what the CRC covers changes it. */
#define SAMPLE_CRC 0x6edf1e4cu

/* SAMPLE_HEAD with its CRC: over the database key, bytes 0-39, then 44 on. */
static void sample_bytes(unsigned char out[56])
{
	uint32_t c;

	memcpy(out, SAMPLE_HEAD, 56);
	c = mcm_crc32c(0, SAMPLE_DBKEY, sizeof SAMPLE_DBKEY);
	c = mcm_crc32c(c, out, 40);
	c = mcm_crc32c(c, out + 44, 56 - 44);
	for (int i = 0; i < 4; i++)
		out[40 + i] = (unsigned char)(c >> (8 * i));
}

static void test_item_encode_bytes(void **state)
{
	struct mcm_item it = sample_item();
	unsigned char buf[64], expect[56];

	(void)state;
	sample_bytes(expect);
	assert_int_equal(mcm_item_size(&it), 56);
	memset(buf, 0xAA, sizeof buf);
	mcm_item_encode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, &it, buf);
	assert_memory_equal(buf, expect, sizeof expect);
	assert_int_equal(buf[56], 0xAA); /* nothing written past the record */
	assert_int_equal(buf[40] | buf[41] << 8 | buf[42] << 16 | (uint32_t)buf[43] << 24, SAMPLE_CRC);
}

static void test_item_round_trip(void **state)
{
	unsigned char buf[56];
	struct mcm_item out;

	(void)state;
	sample_bytes(buf);
	memset(&out, 0, sizeof out);
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, buf, sizeof buf, &out), 0);
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
	/* key and pool come from the database key */
	assert_true(out.pool == 0x0102030405060708ULL);
	assert_int_equal(out.key_len, 4);
	assert_memory_equal(out.key, "ns:k", 4);
}

/* Every single flipped bit, in the record or in the key it is stored under,
 * is caught: a damaged record never decodes. */
static void test_item_every_bit(void **state)
{
	unsigned char buf[56], key[sizeof SAMPLE_DBKEY];
	struct mcm_item out;

	(void)state;
	sample_bytes(buf);
	for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, buf, sizeof buf, &out),
				 MCM_EDAMAGED);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	memcpy(key, SAMPLE_DBKEY, sizeof key);
	for (size_t bit = 0; bit < sizeof key * 8; bit++) {
		key[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_equal(mcm_item_decode(key, sizeof key, buf, sizeof buf, &out), MCM_EDAMAGED);
		/* the damaged record is still named, with its (unverified) number */
		assert_int_equal(out.key_len, 4);
		assert_int_equal(out.seq, 42);
		key[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, buf, sizeof buf, &out), 0);
}

/* A version 1 record (no CRC, a 40-byte header) is still read. */
static void test_item_version1(void **state)
{
	unsigned char v1[48];
	struct mcm_item out;

	(void)state;
	memcpy(v1, SAMPLE_HEAD, 40);
	memcpy(v1 + 40, SAMPLE_HEAD + 48, 8);
	v1[0] = 1;
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, v1, sizeof v1, &out), 0);
	assert_int_equal(mcm_item_version(v1, sizeof v1), 1);
	assert_int_equal(out.seq, 42);
	assert_memory_equal(out.group, "grp", 3);
	assert_memory_equal(out.value, BIN_VALUE, 5);
	/* its fields are still range-checked: ns_len 5 > key_len 4 */
	v1[32] = 5;
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, v1, sizeof v1, &out), MCM_EDAMAGED);
	v1[32] = 3;
	v1[2] = 2; /* group mode 2 */
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, v1, sizeof v1, &out), MCM_EDAMAGED);
}

/* Encode it as given, decode it under dbkey (which names key_len bytes). The
 * decoded item points into the encoding: it stays until the next call. */
static int encode_decode(const struct mcm_item *it, struct mcm_item *out)
{
	static unsigned char *buf;
	unsigned char key[MCM_ITEM_KEY_MAX];
	size_t klen = mcm_item_key(it->pool, it->key, it->key_len, key);

	free(buf);
	buf = malloc(mcm_item_size(it));
	assert_non_null(buf);
	assert_true(klen > 0);
	mcm_item_encode(key, klen, it, buf);
	return mcm_item_decode(key, klen, buf, mcm_item_size(it), out);
}

/* Fields at the ends of their ranges survive a round trip. */
static void test_item_extremes(void **state)
{
	struct mcm_item it, out;
	char *value = malloc(1 << 20), group[250], key[377];
	unsigned char dbkey[MCM_ITEM_KEY_MAX], *buf;
	size_t klen;

	(void)state;
	assert_non_null(value);
	for (size_t i = 0; i < (1 << 20); i++)
		value[i] = (char)(i * 7);
	memset(group, 'g', sizeof group);
	memset(key, 'k', sizeof key);
	memset(&it, 0, sizeof it);
	it.pool = UINT64_MAX;
	it.key = key;
	it.key_len = sizeof key;
	it.kind = MCM_KIND_VALUE;
	it.group_mode = MCM_GROUP_EXPLICIT;
	it.ns_len = 127;
	it.flags = 0xFFFFFFFFu;
	it.exptime = -1;
	it.wtime_us = UINT64_MAX;
	it.seq = UINT64_MAX;
	it.group = group;
	it.group_len = sizeof group;
	it.value = value;
	it.value_len = 1 << 20;
	assert_int_equal(mcm_item_size(&it), 48 + 250 + (1 << 20));
	klen = mcm_item_key(it.pool, key, sizeof key, dbkey);
	buf = malloc(mcm_item_size(&it));
	assert_non_null(buf);
	mcm_item_encode(dbkey, klen, &it, buf);
	assert_int_equal(mcm_item_decode(dbkey, klen, buf, mcm_item_size(&it), &out), 0);
	assert_int_equal(out.kind, MCM_KIND_VALUE);
	assert_int_equal(out.ns_len, 127);
	assert_int_equal(out.flags, 0xFFFFFFFFu);
	assert_int_equal(out.exptime, -1);
	assert_true(out.wtime_us == UINT64_MAX);
	assert_true(out.seq == UINT64_MAX);
	assert_int_equal(out.group_len, 250);
	assert_memory_equal(out.group, group, 250);
	assert_int_equal(out.value_len, 1 << 20);
	assert_memory_equal(out.value, value, 1 << 20);
	assert_int_equal(out.key_len, 377);
	free(buf);
	free(value);
}

static void test_item_empty_value(void **state)
{
	struct mcm_item it = sample_item(), out;

	(void)state;
	it.pool = 1;
	it.key = "ns:k";
	it.key_len = 4;
	it.value = "";
	it.value_len = 0;
	it.kind = MCM_KIND_DELETED;
	assert_int_equal(mcm_item_size(&it), 51);
	assert_int_equal(encode_decode(&it, &out), 0);
	assert_int_equal(out.kind, MCM_KIND_DELETED);
	assert_int_equal(out.value_len, 0);
	assert_non_null(out.value);
}

/* An explicit empty group key is kept apart from "hash the key". */
static void test_item_group_modes(void **state)
{
	struct mcm_item it = sample_item(), out;

	(void)state;
	it.pool = 1;
	it.key = "ns:k";
	it.key_len = 4;
	it.group = "";
	it.group_len = 0;
	assert_int_equal(mcm_item_size(&it), 53);
	assert_int_equal(encode_decode(&it, &out), 0);
	assert_int_equal(out.group_mode, MCM_GROUP_EXPLICIT);
	assert_int_equal(out.group_len, 0);

	/* MCM_GROUP_KEY: no group key is stored */
	it.group_mode = MCM_GROUP_KEY;
	assert_int_equal(mcm_item_size(&it), 53);
	assert_int_equal(encode_decode(&it, &out), 0);
	assert_int_equal(out.group_mode, MCM_GROUP_KEY);
	assert_int_equal(out.group_len, 0);
	assert_memory_equal(out.value, BIN_VALUE, 5);
}

/* What mcm_item_valid refuses, and that the decoder refuses it too even with
 * a CRC that matches (a record written by something else than this store). */
static void test_item_invalid(void **state)
{
	struct mcm_item it, out;

	(void)state;
	it = sample_item();
	it.pool = 1;
	it.key = "ns:k";
	it.key_len = 4;
	assert_true(mcm_item_valid(&it));
	it.ns_len = 5; /* more namespace than key */
	assert_false(mcm_item_valid(&it));
	assert_int_equal(encode_decode(&it, &out), MCM_EDAMAGED);
	it.ns_len = 4; /* all namespace: allowed (a dump may hold it) */
	assert_true(mcm_item_valid(&it));
	it.ns_len = 3;
	it.kind = 0;
	assert_false(mcm_item_valid(&it));
	assert_int_equal(encode_decode(&it, &out), MCM_EDAMAGED);
	it.kind = 4;
	assert_false(mcm_item_valid(&it));
	it.kind = MCM_KIND_DELETED; /* a tombstone with a value */
	assert_false(mcm_item_valid(&it));
	assert_int_equal(encode_decode(&it, &out), MCM_EDAMAGED);
	it.kind = MCM_KIND_VALUE;
	it.group_mode = 2;
	assert_false(mcm_item_valid(&it));
	it.group_mode = MCM_GROUP_KEY; /* a group key in KEY mode */
	assert_false(mcm_item_valid(&it));
	it.group_len = 0;
	assert_true(mcm_item_valid(&it));
	it.key_len = 0;
	assert_false(mcm_item_valid(&it));
}

static void test_item_decode_refuses(void **state)
{
	unsigned char buf[64];
	struct mcm_item out;

	(void)state;
	sample_bytes(buf);
	/* every truncation of a valid record, and one byte too many */
	for (size_t len = 0; len < 56; len++)
		assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, buf, len, &out), MCM_EDAMAGED);
	buf[56] = 0;
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, buf, 57, &out), MCM_EDAMAGED);
	/* unknown versions */
	buf[0] = 0;
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, buf, 56, &out), MCM_EDAMAGED);
	buf[0] = 3;
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, sizeof SAMPLE_DBKEY, buf, 56, &out), MCM_EDAMAGED);
	/* a database key that is not one */
	sample_bytes(buf);
	assert_int_equal(mcm_item_decode(SAMPLE_DBKEY, 8, buf, 56, &out), MCM_EDAMAGED);
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
		2, 1, 1, 0,
		2, 0, 0, 0,             /* distribution */
		3, 0, 0, 0,             /* key_hash */
		4, 0, 0, 0,             /* dist_hash */
		0x10, 0x0F, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, /* created_us */
		9, 0, 0, 0, 0, 0, 0, 0, /* flush_seq */
		0x00, 0x28, 0x6B, 0xEE, 0, 0, 0, 0, /* flush_time 4000000000 */
		0, 0, 0, 0,             /* CRC-32C */
		15, 0, 0, 0,            /* servers_len */
	};
	static const unsigned char id5[8] = {0, 0, 0, 0, 0, 0, 0, 5};
	struct mcm_pool p, out;
	unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	uint32_t c;

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
	assert_memory_equal(buf, head, 40);
	assert_memory_equal(buf + 44, head + 44, 4);
	assert_memory_equal(buf + 48, "127.0.0.1:11211", 15);
	c = mcm_crc32c(mcm_crc32c(mcm_crc32c(0, id5, 8), buf, 40), buf + 44, 63 - 44);
	assert_int_equal(buf[40] | buf[41] << 8 | buf[42] << 16 | (uint32_t)buf[43] << 24, c);

	memset(&out, 0x55, sizeof out);
	assert_int_equal(mcm_pool_decode(5, buf, 63, &out), 0);
	assert_int_equal(out.id, 5);
	assert_string_equal(out.servers, "127.0.0.1:11211");
	assert_true(out.created_us == p.created_us);
	assert_int_equal(out.flush_seq, 9);
	assert_int_equal(out.flush_time, 4000000000LL);
	assert_int_equal(out.distribution, 2);
	assert_int_equal(out.key_hash, 3);
	assert_int_equal(out.dist_hash, 4);
	assert_int_equal(out.hash_with_namespace, 1);
	assert_int_equal(out.encrypted, 1);
	/* under another id, or with any bit flipped, it does not decode */
	assert_int_equal(mcm_pool_decode(6, buf, 63, &out), MCM_EDAMAGED);
	for (size_t bit = 0; bit < 63 * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_equal(mcm_pool_decode(5, buf, 63, &out), MCM_EDAMAGED);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	/* a version 1 record: no CRC, the list's length at 40 */
	buf[0] = 1;
	memcpy(buf + 40, head + 44, 4);
	memset(buf + 44, 0, 4);
	assert_int_equal(mcm_pool_decode(7, buf, 63, &out), 0);
	assert_int_equal(out.id, 7);
	assert_string_equal(out.servers, "127.0.0.1:11211");
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
	assert_int_equal(mcm_pool_decode(0, buf, 48 + 2047, &out), 0);
	assert_int_equal(strlen(out.servers), 2047);

	/* refusals: truncated, one byte more, wrong version, a list too long */
	assert_int_equal(mcm_pool_decode(0, buf, 47, &out), MCM_EDAMAGED);
	assert_int_equal(mcm_pool_decode(0, buf, 48 + 2046, &out), MCM_EDAMAGED);
	assert_int_equal(mcm_pool_decode(0, buf, 48 + 2048, &out), MCM_EDAMAGED);
	buf[44] = 0x00; /* servers_len 2048 = 0x800 */
	buf[45] = 0x08;
	assert_int_equal(mcm_pool_decode(0, buf, 48 + 2048, &out), MCM_EDAMAGED);
	buf[44] = 0xFF; /* back to 2047 = 0x7ff */
	buf[45] = 0x07;
	assert_int_equal(mcm_pool_decode(0, buf, 48 + 2047, &out), 0);
	buf[0] = 3;
	assert_int_equal(mcm_pool_decode(0, buf, 48 + 2047, &out), MCM_EDAMAGED);

	/* fields out of range, even with a CRC that matches */
	memset(&p, 0, sizeof p);
	strcpy(p.servers, "a:1");
	assert_true(mcm_pool_valid(&p));
	p.distribution = 99; /* numbers a newer libmemcached may have are kept */
	p.key_hash = 42;
	assert_true(mcm_pool_valid(&p));
	p.flush_time = INT64_MIN;
	assert_false(mcm_pool_valid(&p));
	mcm_pool_encode(&p, buf);
	assert_int_equal(mcm_pool_decode(0, buf, mcm_pool_size(&p), &out), MCM_EDAMAGED);
	p.flush_time = 0;
	p.hash_with_namespace = 2;
	assert_false(mcm_pool_valid(&p));
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
		cmocka_unit_test(test_item_every_bit),
		cmocka_unit_test(test_item_version1),
		cmocka_unit_test(test_item_invalid),
		cmocka_unit_test(test_item_decode_refuses),
		cmocka_unit_test(test_item_key),
		cmocka_unit_test(test_pool_round_trip),
		cmocka_unit_test(test_pool_limits),
		cmocka_unit_test(test_be64),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
