/* mcm_record.h - byte layout of the records in the mirror store.
 *
 * Pure functions, no LMDB: encode, check and decode item records, pool
 * records and database keys. The layout is documented in docs/FORMAT.md;
 * change both together and bump MCM_RECORD_VERSION (and MCM_FORMAT_VERSION).
 *
 * Version 2 records carry a CRC-32C over the database key and the record, so
 * a flipped bit anywhere (in the value, a header field, or the key the record
 * is stored under) is detected and the record is never used. Version 1
 * records (no CRC) are still read: their fields are range-checked only.
 */
#ifndef MCM_RECORD_H
#define MCM_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcm_store.h"

/** Size of the fixed item header (version 2; version 1 had 40 bytes). */
#define MCM_ITEM_HEADER 48
#define MCM_ITEM_HEADER_V1 40
/** Size of the fixed part of a pool record (the server list follows). */
#define MCM_POOL_HEADER 48
/** Size of an "items" database key: 8-byte pool id + wire key. */
#define MCM_ITEM_KEY_MAX (8 + MCM_KEY_MAX + MCM_NAMESPACE_MAX)
/** Longest group key kept (its length is a u16 in the record). */
#define MCM_GROUP_MAX 65535

/** Bytes needed to encode item. */
size_t mcm_item_size(const struct mcm_item *item);

/** Is item a record the store may hold? Checks everything but the CRC:
 * a known kind and group mode, no group key in MCM_GROUP_KEY mode, a key of
 * 1..MCM_ITEM_KEY_MAX - 8 bytes, ns_len <= key_len and <= MCM_NAMESPACE_MAX,
 * group_len <= MCM_GROUP_MAX, value_len < 4 GiB, no value on a tombstone.
 * @return 1 or 0. */
int mcm_item_valid(const struct mcm_item *item);

/** Encode item (a valid one, mcm_item_valid) as a version 2 record into buf,
 * which holds mcm_item_size(item) bytes. Its CRC covers dbkey, the database
 * key it is stored under (mcm_item_key of item->pool and item->key). */
void mcm_item_encode(const unsigned char *dbkey, size_t dbkey_len, const struct mcm_item *item,
		     unsigned char *buf);

/** Decode the record buf stored under dbkey into *item, every field
 * included (pool, key and key_len come from dbkey; the pointers point into
 * dbkey and buf).
 * @return 0, or MCM_EDAMAGED when the record is not whole and right: an
 *         unknown version, a length that does not add up, a CRC that does not
 *         match, or a field out of range (mcm_item_valid). Then pool, key and
 *         key_len are still set (when dbkey splits), and seq holds the
 *         record's unverified sequence field (0 when too short), so the
 *         caller can name what it skips. */
int mcm_item_decode(const unsigned char *dbkey, size_t dbkey_len, const unsigned char *buf, size_t len,
		    struct mcm_item *item);

/** The record format version of an encoded item (its first byte), 0 if empty. */
unsigned mcm_item_version(const unsigned char *buf, size_t len);

/** Build the "items" key for (pool, key) into buf (MCM_ITEM_KEY_MAX bytes).
 * @return its length, or 0 when key_len is 0 or too long. */
size_t mcm_item_key(mcm_pool_id pool, const char *key, size_t key_len, unsigned char *buf);

/** Split an "items" key. @return 0 or MCM_EFORMAT. */
int mcm_item_key_split(const unsigned char *buf, size_t len, mcm_pool_id *pool,
		       const char **key, size_t *key_len);

/** A "seq" entry's value (version 2): the kind, expiry and write time of the
 * record it indexes, then that record's "items" key. The sweep decides from
 * these whether the record may be removable without reading it; a version 1
 * entry is the "items" key alone. */
#define MCM_SEQ_HEADER 24
#define MCM_SEQ_VALUE_MAX (MCM_SEQ_HEADER + MCM_ITEM_KEY_MAX)
struct mcm_seq_entry {
	uint8_t kind;       /**< enum mcm_kind (0 in a version 1 entry: unknown) */
	int64_t exptime;
	uint64_t wtime_us;
	const unsigned char *ikey; /**< the "items" key */
	size_t ikey_len;
};

/** Encode the entry of item, filed under the "items" key ikey, into buf
 * (MCM_SEQ_VALUE_MAX bytes). @return its length. */
size_t mcm_seq_entry_encode(const struct mcm_item *item, const unsigned char *ikey, size_t ikey_len,
			    unsigned char *buf);

/** A little-endian 64-bit field of a record or entry (inline: the sweep
 * reads some for every entry it passes). */
static inline uint64_t mcm_get_le64(const unsigned char *b)
{
	uint64_t v;

	memcpy(&v, b, 8);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/** Decode an entry of a mirror of record format version (1 or 2).
 * @return 0, or MCM_EDAMAGED when it cannot be one. */
static inline int mcm_seq_entry_decode(const unsigned char *buf, size_t len, unsigned version,
				       struct mcm_seq_entry *e)
{
	size_t head = version == 1 ? 0 : MCM_SEQ_HEADER;

	if (len <= head + 8 || len > head + MCM_ITEM_KEY_MAX)
		return MCM_EDAMAGED;
	e->kind = version != 1 ? buf[0] : 0;
	e->exptime = version != 1 ? (int64_t)mcm_get_le64(buf + 8) : 0;
	e->wtime_us = version != 1 ? mcm_get_le64(buf + 16) : 0;
	e->ikey = buf + head;
	e->ikey_len = len - head;
	return 0;
}

/** Bytes needed for a pool record. */
size_t mcm_pool_size(const struct mcm_pool *p);

/** Is p a pool record the store may hold (flags 0 or 1, flush_time >= 0, a
 * server list shorter than MCM_SERVERS_MAX)? Distribution and hash numbers
 * are not checked: a newer libmemcached may have more. @return 1 or 0. */
int mcm_pool_valid(const struct mcm_pool *p);

/** Encode p (a version 2 record, its CRC over p->id too) into buf, which
 * holds mcm_pool_size(p) bytes. */
void mcm_pool_encode(const struct mcm_pool *p, unsigned char *buf);

/** Decode the record of pool id. @return 0 (p->id set to id), or
 * MCM_EDAMAGED (unknown version, bad length, CRC, or mcm_pool_valid). */
int mcm_pool_decode(mcm_pool_id id, const unsigned char *buf, size_t len, struct mcm_pool *p);

/** Big-endian 64-bit helpers for database keys (inline: they run for every
 * key of every walk). */
static inline void mcm_put_be64(unsigned char *buf, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(buf, &v, 8);
}

static inline uint64_t mcm_get_be64(const unsigned char *buf)
{
	uint64_t v;

	memcpy(&v, buf, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#endif
