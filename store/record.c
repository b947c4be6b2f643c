/* record.c - encode, check and decode the mirror's records (layout: docs/FORMAT.md). */
#include <string.h>

#include "mcm_crc.h"
#include "mcm_record.h"

#define CRC_AT 40 /* offset of the CRC in a version 2 item or pool record */

/* Little-endian fields, big-endian keys: a load or store and a byte swap
 * where needed (these run for every record and every seq entry). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE16(v) (v)
#define LE32(v) (v)
#define LE64(v) (v)
#else
#define LE16(v) __builtin_bswap16(v)
#define LE32(v) __builtin_bswap32(v)
#define LE64(v) __builtin_bswap64(v)
#endif

static void put16(unsigned char *b, uint16_t v)
{
	v = LE16(v);
	memcpy(b, &v, 2);
}

static void put32(unsigned char *b, uint32_t v)
{
	v = LE32(v);
	memcpy(b, &v, 4);
}

static void put64(unsigned char *b, uint64_t v)
{
	v = LE64(v);
	memcpy(b, &v, 8);
}

static uint16_t get16(const unsigned char *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return LE16(v);
}

static uint32_t get32(const unsigned char *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return LE32(v);
}

/* The CRC of a version 2 record of len bytes under the database key (its own
 * CRC field, bytes 40-43, left out). */
static uint32_t record_crc(const unsigned char *dbkey, size_t dbkey_len, const unsigned char *buf, size_t len)
{
	uint32_t c = mcm_crc32c(0, dbkey, dbkey_len);

	c = mcm_crc32c(c, buf, CRC_AT);
	return mcm_crc32c(c, buf + CRC_AT + 4, len - CRC_AT - 4);
}

size_t mcm_item_size(const struct mcm_item *item)
{
	size_t group = item->group_mode == MCM_GROUP_EXPLICIT ? item->group_len : 0;
	return MCM_ITEM_HEADER + group + item->value_len;
}

int mcm_item_valid(const struct mcm_item *it)
{
	if (it->kind < MCM_KIND_VALUE || it->kind > MCM_KIND_DROPPED || it->group_mode > MCM_GROUP_EXPLICIT)
		return 0;
	if (it->group_mode == MCM_GROUP_KEY && it->group_len != 0)
		return 0;
	if (it->key_len == 0 || it->key_len > MCM_ITEM_KEY_MAX - 8 || it->ns_len > it->key_len ||
	    it->ns_len > MCM_NAMESPACE_MAX)
		return 0;
	if (it->group_len > MCM_GROUP_MAX || it->value_len > UINT32_MAX)
		return 0;
	return it->kind == MCM_KIND_VALUE || it->value_len == 0;
}

unsigned mcm_item_version(const unsigned char *buf, size_t len)
{
	return len ? buf[0] : 0;
}

/* Item header, version 2, little-endian:
 *  0 u8 version  1 u8 kind  2 u8 group_mode  3 u8 0
 *  4 u32 flags   8 i64 exptime  16 u64 wtime_us  24 u64 seq
 * 32 u16 ns_len 34 u16 group_len  36 u32 value_len
 * 40 u32 CRC-32C  44 u32 0
 * 48 group key bytes, then value bytes */
void mcm_item_encode(const unsigned char *dbkey, size_t dbkey_len, const struct mcm_item *item,
		     unsigned char *buf)
{
	size_t group = item->group_mode == MCM_GROUP_EXPLICIT ? item->group_len : 0;

	buf[0] = MCM_RECORD_VERSION;
	buf[1] = item->kind;
	buf[2] = item->group_mode;
	buf[3] = 0;
	put32(buf + 4, item->flags);
	put64(buf + 8, (uint64_t)item->exptime);
	put64(buf + 16, item->wtime_us);
	put64(buf + 24, item->seq);
	put16(buf + 32, item->ns_len);
	put16(buf + 34, (uint16_t)group);
	put32(buf + 36, (uint32_t)item->value_len);
	put32(buf + 44, 0);
	if (group)
		memcpy(buf + MCM_ITEM_HEADER, item->group, group);
	if (item->value_len)
		memcpy(buf + MCM_ITEM_HEADER + group, item->value, item->value_len);
	put32(buf + CRC_AT, record_crc(dbkey, dbkey_len, buf, MCM_ITEM_HEADER + group + item->value_len));
}

int mcm_item_decode(const unsigned char *dbkey, size_t dbkey_len, const unsigned char *buf, size_t len,
		    struct mcm_item *item)
{
	size_t header, group, value;

	item->seq = len >= 32 ? mcm_get_le64(buf + 24) : 0;
	if (mcm_item_key_split(dbkey, dbkey_len, &item->pool, &item->key, &item->key_len) != 0)
		return MCM_EDAMAGED;
	if (len < MCM_ITEM_HEADER_V1 || (buf[0] != 1 && buf[0] != MCM_RECORD_VERSION))
		return MCM_EDAMAGED;
	header = buf[0] == 1 ? MCM_ITEM_HEADER_V1 : MCM_ITEM_HEADER;
	group = get16(buf + 34);
	value = get32(buf + 36);
	if (len < header || header + group + value != len)
		return MCM_EDAMAGED;
	if (buf[0] != 1 && (get32(buf + 44) != 0 || get32(buf + CRC_AT) != record_crc(dbkey, dbkey_len, buf, len)))
		return MCM_EDAMAGED;
	item->kind = buf[1];
	item->group_mode = buf[2];
	item->flags = get32(buf + 4);
	item->exptime = (int64_t)mcm_get_le64(buf + 8);
	item->wtime_us = mcm_get_le64(buf + 16);
	item->ns_len = get16(buf + 32);
	item->group_len = group;
	item->group = group ? (const char *)buf + header : "";
	item->value_len = value;
	item->value = (const char *)buf + header + group;
	return buf[3] == 0 && mcm_item_valid(item) ? 0 : MCM_EDAMAGED;
}

size_t mcm_item_key(mcm_pool_id pool, const char *key, size_t key_len, unsigned char *buf)
{
	if (key_len == 0 || key_len > MCM_ITEM_KEY_MAX - 8)
		return 0;
	mcm_put_be64(buf, pool);
	memcpy(buf + 8, key, key_len);
	return 8 + key_len;
}

int mcm_item_key_split(const unsigned char *buf, size_t len, mcm_pool_id *pool,
		       const char **key, size_t *key_len)
{
	if (len <= 8 || len > MCM_ITEM_KEY_MAX)
		return MCM_EFORMAT;
	*pool = mcm_get_be64(buf);
	*key = (const char *)buf + 8;
	*key_len = len - 8;
	return 0;
}

/* Seq entry value, version 2, little-endian:
 *  0 u8 kind  1-7 0  8 i64 exptime  16 u64 wtime_us  24 the "items" key */
size_t mcm_seq_entry_encode(const struct mcm_item *item, const unsigned char *ikey, size_t ikey_len,
			    unsigned char *buf)
{
	memset(buf, 0, 8);
	buf[0] = item->kind;
	put64(buf + 8, (uint64_t)item->exptime);
	put64(buf + 16, item->wtime_us);
	memcpy(buf + MCM_SEQ_HEADER, ikey, ikey_len);
	return MCM_SEQ_HEADER + ikey_len;
}

size_t mcm_pool_size(const struct mcm_pool *p)
{
	return MCM_POOL_HEADER + strnlen(p->servers, MCM_SERVERS_MAX - 1);
}

int mcm_pool_valid(const struct mcm_pool *p)
{
	/* (distribution and hash numbers are kept as the client had them: a newer
	 * libmemcached may have more; replay refuses what it does not know) */
	return p->hash_with_namespace <= 1 && p->encrypted <= 1 && p->sasl <= 1 && p->flush_time >= 0 &&
	       strnlen(p->servers, MCM_SERVERS_MAX) < MCM_SERVERS_MAX;
}

/* Pool header, version 2, little-endian:
 *  0 u8 version  1 u8 hash_with_namespace  2 u8 encrypted  3 u8 sasl (version 1: 0)
 *  4 u32 distribution  8 u32 key_hash  12 u32 dist_hash
 * 16 u64 created_us  24 u64 flush_seq  32 i64 flush_time
 * 40 u32 CRC-32C (over the pool id, big-endian, and the record)
 * 44 u32 servers_len, then the server list bytes.
 * (Version 1: 40 u32 servers_len, 44 u32 0, no CRC.) */
void mcm_pool_encode(const struct mcm_pool *p, unsigned char *buf)
{
	size_t n = strnlen(p->servers, MCM_SERVERS_MAX - 1);
	unsigned char id[8];

	memset(buf, 0, MCM_POOL_HEADER);
	buf[0] = MCM_RECORD_VERSION;
	buf[1] = p->hash_with_namespace;
	buf[2] = p->encrypted;
	buf[3] = p->sasl;
	put32(buf + 4, p->distribution);
	put32(buf + 8, p->key_hash);
	put32(buf + 12, p->dist_hash);
	put64(buf + 16, p->created_us);
	put64(buf + 24, p->flush_seq);
	put64(buf + 32, (uint64_t)p->flush_time);
	put32(buf + 44, (uint32_t)n);
	memcpy(buf + MCM_POOL_HEADER, p->servers, n);
	mcm_put_be64(id, p->id);
	put32(buf + CRC_AT, record_crc(id, sizeof id, buf, MCM_POOL_HEADER + n));
}

int mcm_pool_decode(mcm_pool_id id, const unsigned char *buf, size_t len, struct mcm_pool *p)
{
	unsigned char idb[8];
	size_t n;

	if (len < MCM_POOL_HEADER || (buf[0] != 1 && buf[0] != MCM_RECORD_VERSION) || (buf[0] == 1 && buf[3] != 0))
		return MCM_EDAMAGED;
	n = get32(buf + (buf[0] == 1 ? 40 : 44));
	if (n != len - MCM_POOL_HEADER || n >= MCM_SERVERS_MAX || memchr(buf + MCM_POOL_HEADER, 0, n))
		return MCM_EDAMAGED;
	mcm_put_be64(idb, id);
	if (buf[0] == 1 ? get32(buf + 44) != 0 : get32(buf + CRC_AT) != record_crc(idb, sizeof idb, buf, len))
		return MCM_EDAMAGED;
	p->id = id;
	p->hash_with_namespace = buf[1];
	p->encrypted = buf[2];
	p->sasl = buf[3];
	p->distribution = get32(buf + 4);
	p->key_hash = get32(buf + 8);
	p->dist_hash = get32(buf + 12);
	p->created_us = mcm_get_le64(buf + 16);
	p->flush_seq = mcm_get_le64(buf + 24);
	p->flush_time = (int64_t)mcm_get_le64(buf + 32);
	memcpy(p->servers, buf + MCM_POOL_HEADER, n);
	p->servers[n] = '\0';
	return mcm_pool_valid(p) ? 0 : MCM_EDAMAGED;
}
