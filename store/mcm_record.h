/* mcm_record.h - byte layout of the records in the mirror store.
 *
 * Pure functions, no LMDB: encode and decode item records, pool records and
 * database keys. The layout is documented in docs/FORMAT.md; change both
 * together and bump MCM_FORMAT_VERSION.
 */
#ifndef MCM_RECORD_H
#define MCM_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "mcm_store.h"

/** Size of the fixed item header. */
#define MCM_ITEM_HEADER 40
/** Size of the fixed part of a pool record (the server list follows). */
#define MCM_POOL_HEADER 48
/** Size of an "items" database key: 8-byte pool id + wire key. */
#define MCM_ITEM_KEY_MAX (8 + MCM_KEY_MAX + MCM_NAMESPACE_MAX)

/** Bytes needed to encode item. */
size_t mcm_item_size(const struct mcm_item *item);

/** Encode item (kind, flags, times, seq, group key, value) into buf, which
 * holds mcm_item_size(item) bytes. The key and pool are not part of the
 * record: they form the database key (mcm_item_key). */
void mcm_item_encode(const struct mcm_item *item, unsigned char *buf);

/** Decode a record. key/pool of *item are left as they were.
 * @return 0, or MCM_EFORMAT when buf is not a well-formed record. */
int mcm_item_decode(const unsigned char *buf, size_t len, struct mcm_item *item);

/** Build the "items" key for (pool, key) into buf (MCM_ITEM_KEY_MAX bytes).
 * @return its length, or 0 when key_len is 0 or too long. */
size_t mcm_item_key(mcm_pool_id pool, const char *key, size_t key_len, unsigned char *buf);

/** Split an "items" key. @return 0 or MCM_EFORMAT. */
int mcm_item_key_split(const unsigned char *buf, size_t len, mcm_pool_id *pool,
		       const char **key, size_t *key_len);

/** Bytes needed for a pool record. */
size_t mcm_pool_size(const struct mcm_pool *p);
void mcm_pool_encode(const struct mcm_pool *p, unsigned char *buf);
/** @return 0 or MCM_EFORMAT. p->id is left as it was. */
int mcm_pool_decode(const unsigned char *buf, size_t len, struct mcm_pool *p);

/** Big-endian 64-bit helpers for database keys. */
void mcm_put_be64(unsigned char *buf, uint64_t v);
uint64_t mcm_get_be64(const unsigned char *buf);

#endif
