/* fuzz_record.c - libFuzzer target: the decoders of the mirror's LMDB records (store/record.c):
 * mcm_item_key_split, mcm_item_decode, mcm_pool_decode, for both record versions; and the check
 * of a seq index bundle (store/seqidx.c, mcm_seqidx_check).
 *
 * Input: a 16-bit length L (little-endian, taken modulo MCM_ITEM_KEY_MAX + 2), then L bytes of an
 * "items" database key (pool id + wire key), then a mode byte, then the bytes of a record, given to
 * the item decoder (under that key) and to the pool decoder (as the record of the key's pool id, or
 * of pool 0 when the key is shorter than 8 bytes). Mode bit 0: before decoding, write the right
 * CRC-32C into a version 2 record (bytes 40-43), so that the fuzzer reaches the field checks
 * behind the checksum; without it the CRC must match by itself. The record's bytes are also
 * checked as a bundle of the seq index, under the key's first 8 bytes (big-endian) as its key.
 *
 * Invariants beyond "no crash":
 *  - a key that splits rebuilds to the same bytes (mcm_item_key), with 1..377 key bytes;
 *  - an item record that decodes is valid (mcm_item_valid: known kind and group mode, no group
 *    key unless EXPLICIT, no value on a tombstone, ns_len <= its key's length: issue 17 defect 3),
 *    its group key and value lie inside it and add up to its length, and it re-encodes
 *    (mcm_item_encode) to exactly the same bytes when it is version 2; a version 1 one re-encodes
 *    to a version 2 record that decodes to the same fields;
 *  - a damaged record (a CRC that does not match) never decodes;
 *  - a pool record that decodes is valid (mcm_pool_valid: flush_time >= 0, flags 0/1, a server
 *    list without NUL bytes) and a version 2 one re-encodes to exactly the same bytes;
 *  - a bundle that checks out holds as many entries as it says, each inside it, numbered above
 *    the one before, from 1 up to its key, each an entry mcm_seq_entry_decode accepts.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mcm_crc.h"
#include "mcm_record.h"
#include "mcm_seqidx.h"

#define CRC_AT 40 /* where a version 2 item or pool record keeps its CRC (docs/FORMAT.md) */

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

/* Write into rec (len bytes, version 2) the CRC-32C of dbkey and rec, its own field left out. */
static void fix_crc(const unsigned char *dbkey, size_t dbkey_len, unsigned char *rec, size_t len)
{
	uint32_t c;

	if (len < CRC_AT + 4 || rec[0] != 2)
		return;
	c = mcm_crc32c(0, dbkey, dbkey_len);
	c = mcm_crc32c(c, rec, CRC_AT);
	c = mcm_crc32c(c, rec + CRC_AT + 4, len - CRC_AT - 4);
	for (int b = 0; b < 4; b++)
		rec[CRC_AT + b] = (unsigned char)(c >> (8 * b));
}

static void same_fields(const struct mcm_item *a, const struct mcm_item *b)
{
	FUZZ_CHECK(a->kind == b->kind && a->group_mode == b->group_mode && a->flags == b->flags &&
			   a->exptime == b->exptime && a->wtime_us == b->wtime_us && a->seq == b->seq &&
			   a->ns_len == b->ns_len && a->group_len == b->group_len && a->value_len == b->value_len,
		   "a version 1 record re-encoded as version 2 decodes to other fields");
	FUZZ_CHECK(memcmp(a->group, b->group, a->group_len) == 0 && memcmp(a->value, b->value, a->value_len) == 0,
		   "a version 1 record re-encoded as version 2 decodes to other bytes");
}

static void check_item(const uint8_t *key, size_t key_len, unsigned char *rec, size_t len, int fix)
{
	struct mcm_item it, again_it;
	unsigned char *again;
	size_t header;

	memset(&it, 0, sizeof it);
	if (fix)
		fix_crc(key, key_len, rec, len);
	if (mcm_item_decode(key, key_len, rec, len, &it) != 0)
		return;
	header = rec[0] == 1 ? MCM_ITEM_HEADER_V1 : MCM_ITEM_HEADER;
	FUZZ_CHECK(mcm_item_valid(&it), "a record that decodes is not valid");
	FUZZ_CHECK(it.ns_len <= it.key_len, "ns_len %u accepted for a key of %zu bytes", it.ns_len, it.key_len);
	FUZZ_CHECK(header + it.group_len + it.value_len == len, "lengths do not add up");
	FUZZ_CHECK(it.value == (const char *)rec + header + it.group_len, "value outside the record");
	again = malloc(mcm_item_size(&it));
	mcm_item_encode(key, key_len, &it, again);
	if (rec[0] == 2) {
		FUZZ_CHECK(mcm_item_size(&it) == len, "mcm_item_size %zu for a record of %zu", mcm_item_size(&it), len);
		FUZZ_CHECK(memcmp(again, rec, len) == 0, "a decoded item record does not re-encode to the same bytes");
		rec[len - 1] ^= 0x20; /* one bit off: the CRC must catch it */
		FUZZ_CHECK(mcm_item_decode(key, key_len, rec, len, &again_it) != 0, "a record with a flipped bit decodes");
		rec[len - 1] ^= 0x20;
	} else {
		FUZZ_CHECK(mcm_item_decode(key, key_len, again, mcm_item_size(&it), &again_it) == 0,
			   "a version 1 record re-encoded as version 2 does not decode");
		same_fields(&it, &again_it);
	}
	free(again);
}

static void check_pool(mcm_pool_id id, unsigned char *rec, size_t len, int fix)
{
	static struct mcm_pool p;
	unsigned char *again, idb[8];

	if (fix) {
		mcm_put_be64(idb, id);
		fix_crc(idb, sizeof idb, rec, len);
	}
	if (mcm_pool_decode(id, rec, len, &p) != 0)
		return;
	FUZZ_CHECK(p.id == id, "the pool id is not the one given");
	FUZZ_CHECK(mcm_pool_valid(&p), "a pool record that decodes is not valid");
	FUZZ_CHECK(strnlen(p.servers, sizeof p.servers) == len - MCM_POOL_HEADER,
		   "a pool record whose server list holds a NUL byte");
	FUZZ_CHECK(mcm_pool_size(&p) == len, "mcm_pool_size %zu for a record of %zu", mcm_pool_size(&p), len);
	if (rec[0] != 2)
		return;
	again = malloc(len);
	mcm_pool_encode(&p, again);
	FUZZ_CHECK(memcmp(again, rec, len) == 0, "a decoded pool record does not re-encode to the same bytes");
	free(again);
}

static void check_bundle(uint64_t key, const unsigned char *val, size_t len)
{
	unsigned count = mcm_seqidx_check(val, len, key);
	size_t off = MCM_BUNDLE_HEADER;
	uint64_t prev = 0;

	if (count == 0)
		return;
	FUZZ_CHECK(count == val[1] && count <= MCM_BUNDLE_ENTRIES, "a bundle of %u entries checked out", count);
	for (unsigned i = 0; i < count; i++) {
		struct mcm_seq_entry e, d;
		uint64_t seq;

		FUZZ_CHECK(off + MCM_BUNDLE_ENTRY_HEADER <= len, "entry %u starts past the bundle", i);
		mcm_bundle_entry(val + off, &seq, &e);
		FUZZ_CHECK(seq > prev && seq <= key, "entry %u numbered %llu", i, (unsigned long long)seq);
		FUZZ_CHECK(e.ikey >= val && e.ikey + e.ikey_len <= val + len, "entry %u's key lies outside", i);
		FUZZ_CHECK(mcm_seq_entry_decode(val + off + MCM_BUNDLE_ENTRY_HEADER, MCM_SEQ_HEADER + e.ikey_len, 2,
						&d) == 0, "entry %u does not decode", i);
		prev = seq;
		off += MCM_BUNDLE_ENTRY_HEADER + mcm_bundle_get16(val + off + 8);
	}
	FUZZ_CHECK(off == len, "a bundle's entries end at %zu of %zu bytes", off, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	size_t key_len;
	const uint8_t *key = fuzz_bytes(&in, fuzz_u16(&in) % (MCM_ITEM_KEY_MAX + 2), &key_len);
	int fix = fuzz_u8(&in) & 1;
	unsigned char *rec = malloc(in.n ? in.n : 1);

	memcpy(rec, in.p, in.n);
	check_key(key, key_len);
	check_item(key, key_len, rec, in.n, fix);
	memcpy(rec, in.p, in.n);
	check_pool(key_len >= 8 ? mcm_get_be64(key) : 0, rec, in.n, fix);
	memcpy(rec, in.p, in.n);
	check_bundle(key_len >= 8 ? mcm_get_be64(key) : UINT64_MAX, rec, in.n);
	free(rec);
	return 0;
}
