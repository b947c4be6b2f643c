/* fuzz_record.c - libFuzzer target: the decoders of the mirror's LMDB records (store/record.c):
 * mcm_item_key_split, mcm_item_decode, mcm_pool_decode. Kept thin on purpose: the record
 * format is about to change (a CRC per item record, the key given to the decoder).
 *
 * Input: a 16-bit length L (little-endian, taken modulo MCM_ITEM_KEY_MAX + 2), then L bytes of an "items" database key (pool id + wire key), then
 * the bytes of a record, given to the item decoder and to the pool decoder.
 *
 * Invariants beyond "no crash":
 *  - a key that splits rebuilds to the same bytes (mcm_item_key), with 1..377 key bytes;
 *  - an item record that decodes has a known kind and group mode, no group key unless the
 *    mode is EXPLICIT, group key and value inside the record and adding up to its length, and
 *    re-encodes (mcm_item_encode) to the same bytes but for the reserved byte 3;
 *  - an item record is accepted for its key only when ns_len <= key_len (issue 17, defect 3:
 *    a record breaking it made replay crash; today's decoder does not see the key, so this
 *    fails until it does);
 *  - a pool record that decodes holds a server list without NUL bytes (else the list reads as
 *    a shorter one than stored), and re-encodes to the same bytes but for the reserved bytes
 *    3 and 44..47.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mcm_record.h"

static void check_key(const uint8_t *key, size_t len)
{
	unsigned char again[MCM_ITEM_KEY_MAX];
	mcm_pool_id pool;
	const char *k;
	size_t klen;

	if (mcm_item_key_split(key, len, &pool, &k, &klen) != 0)
		return;
	FUZZ_CHECK(klen >= 1 && klen <= MCM_KEY_MAX + MCM_NAMESPACE_MAX, "a split key of %zu bytes", klen);
	FUZZ_CHECK(k == (const char *)key + 8 && klen == len - 8, "the split key is not the bytes after the pool id");
	FUZZ_CHECK(mcm_item_key(pool, k, klen, again) == len && memcmp(again, key, len) == 0,
		   "a split key does not rebuild to the same bytes");
}

/* Compare, skipping the reserved bytes listed in skip (ascending, -1 ends). */
static int same_but(const unsigned char *a, const uint8_t *b, size_t len, const int *skip)
{
	for (size_t i = 0; i < len; i++) {
		if ((int)i == *skip) {
			skip++;
			continue;
		}
		if (a[i] != b[i])
			return 0;
	}
	return 1;
}

static void check_item(const uint8_t *key, size_t key_len, const uint8_t *rec, size_t len)
{
	static const int reserved[] = {3, -1};
	struct mcm_item it;
	unsigned char *again;
	mcm_pool_id pool;
	const char *k;
	size_t klen;

	memset(&it, 0, sizeof it);
	if (mcm_item_decode(rec, len, &it) != 0)
		return;
	FUZZ_CHECK(it.kind >= MCM_KIND_VALUE && it.kind <= MCM_KIND_DROPPED, "kind %u", it.kind);
	FUZZ_CHECK(it.group_mode == MCM_GROUP_KEY || it.group_mode == MCM_GROUP_EXPLICIT, "group mode %u",
		   it.group_mode);
	FUZZ_CHECK(it.group_mode == MCM_GROUP_EXPLICIT || it.group_len == 0, "a group key in KEY mode");
	FUZZ_CHECK(MCM_ITEM_HEADER + it.group_len + it.value_len == len, "lengths do not add up");
	FUZZ_CHECK(it.value == (const char *)rec + MCM_ITEM_HEADER + it.group_len, "value outside the record");
	FUZZ_CHECK(mcm_item_size(&it) == len, "mcm_item_size %zu for a record of %zu", mcm_item_size(&it), len);
	again = malloc(len);
	mcm_item_encode(&it, again);
	FUZZ_CHECK(same_but(again, rec, len, reserved), "a decoded item record does not re-encode to the same bytes");
	free(again);
	if (mcm_item_key_split(key, key_len, &pool, &k, &klen) == 0)
		FUZZ_CHECK(it.ns_len <= klen, "an item record with ns_len %u accepted for a key of %zu bytes", it.ns_len,
			   klen);
}

static void check_pool(const uint8_t *rec, size_t len)
{
	static const int reserved[] = {3, 44, 45, 46, 47, -1};
	static struct mcm_pool p;
	unsigned char *again;
	size_t slen;

	if (mcm_pool_decode(rec, len, &p) != 0)
		return;
	slen = strnlen(p.servers, sizeof p.servers);
	FUZZ_CHECK(slen < MCM_SERVERS_MAX, "server list not terminated");
	FUZZ_CHECK(MCM_POOL_HEADER + slen == len, "a pool record whose server list holds a NUL byte");
	FUZZ_CHECK(mcm_pool_size(&p) == len, "mcm_pool_size %zu for a record of %zu", mcm_pool_size(&p), len);
	again = malloc(len);
	mcm_pool_encode(&p, again);
	FUZZ_CHECK(same_but(again, rec, len, reserved), "a decoded pool record does not re-encode to the same bytes");
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	size_t key_len;
	const uint8_t *key = fuzz_bytes(&in, fuzz_u16(&in) % (MCM_ITEM_KEY_MAX + 2), &key_len);

	check_key(key, key_len);
	check_item(key, key_len, in.p, in.n);
	check_pool(in.p, in.n);
	return 0;
}
