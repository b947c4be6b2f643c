/* record.c - encode and decode the mirror's records (layout: docs/FORMAT.md). */
#include <string.h>

#include "mcm_record.h"

static void put32(unsigned char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *b)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static uint64_t get64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

void mcm_put_be64(unsigned char *buf, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		buf[i] = (unsigned char)v;
		v >>= 8;
	}
}

uint64_t mcm_get_be64(const unsigned char *buf)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | buf[i];
	return v;
}

size_t mcm_item_size(const struct mcm_item *item)
{
	size_t group = item->group_mode == MCM_GROUP_EXPLICIT ? item->group_len : 0;
	return MCM_ITEM_HEADER + group + item->value_len;
}

/* Item header, little-endian:
 *  0 u8 version  1 u8 kind  2 u8 group_mode  3 u8 0
 *  4 u32 flags   8 i64 exptime  16 u64 wtime_us  24 u64 seq
 * 32 u16 ns_len 34 u16 group_len  36 u32 value_len
 * 40 group key bytes, then value bytes */
void mcm_item_encode(const struct mcm_item *item, unsigned char *buf)
{
	size_t group = item->group_mode == MCM_GROUP_EXPLICIT ? item->group_len : 0;

	buf[0] = MCM_FORMAT_VERSION;
	buf[1] = item->kind;
	buf[2] = item->group_mode;
	buf[3] = 0;
	put32(buf + 4, item->flags);
	put64(buf + 8, (uint64_t)item->exptime);
	put64(buf + 16, item->wtime_us);
	put64(buf + 24, item->seq);
	buf[32] = (unsigned char)item->ns_len;
	buf[33] = (unsigned char)(item->ns_len >> 8);
	buf[34] = (unsigned char)group;
	buf[35] = (unsigned char)(group >> 8);
	put32(buf + 36, (uint32_t)item->value_len);
	if (group)
		memcpy(buf + MCM_ITEM_HEADER, item->group, group);
	if (item->value_len)
		memcpy(buf + MCM_ITEM_HEADER + group, item->value, item->value_len);
}

int mcm_item_decode(const unsigned char *buf, size_t len, struct mcm_item *item)
{
	size_t group, value;

	if (len < MCM_ITEM_HEADER || buf[0] != MCM_FORMAT_VERSION)
		return MCM_EFORMAT;
	if (buf[1] < MCM_KIND_VALUE || buf[1] > MCM_KIND_DROPPED || buf[2] > MCM_GROUP_EXPLICIT)
		return MCM_EFORMAT;
	group = (size_t)buf[34] | (size_t)buf[35] << 8;
	value = get32(buf + 36);
	if (MCM_ITEM_HEADER + group + value != len)
		return MCM_EFORMAT;
	if (group && buf[2] != MCM_GROUP_EXPLICIT)
		return MCM_EFORMAT;
	item->kind = buf[1];
	item->group_mode = buf[2];
	item->flags = get32(buf + 4);
	item->exptime = (int64_t)get64(buf + 8);
	item->wtime_us = get64(buf + 16);
	item->seq = get64(buf + 24);
	item->ns_len = (uint16_t)(buf[32] | buf[33] << 8);
	item->group_len = group;
	item->group = group ? (const char *)buf + MCM_ITEM_HEADER : "";
	item->value_len = value;
	item->value = (const char *)buf + MCM_ITEM_HEADER + group;
	return 0;
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

size_t mcm_pool_size(const struct mcm_pool *p)
{
	return MCM_POOL_HEADER + strnlen(p->servers, MCM_SERVERS_MAX - 1);
}

/* Pool header, little-endian:
 *  0 u8 version  1 u8 hash_with_namespace  2 u8 encrypted  3 u8 0
 *  4 u32 distribution  8 u32 key_hash  12 u32 dist_hash
 * 16 u64 created_us  24 u64 flush_seq  32 i64 flush_time
 * 40 u32 servers_len  44 u32 0, then the server list bytes */
void mcm_pool_encode(const struct mcm_pool *p, unsigned char *buf)
{
	size_t n = strnlen(p->servers, MCM_SERVERS_MAX - 1);

	memset(buf, 0, MCM_POOL_HEADER);
	buf[0] = MCM_FORMAT_VERSION;
	buf[1] = p->hash_with_namespace;
	buf[2] = p->encrypted;
	put32(buf + 4, p->distribution);
	put32(buf + 8, p->key_hash);
	put32(buf + 12, p->dist_hash);
	put64(buf + 16, p->created_us);
	put64(buf + 24, p->flush_seq);
	put64(buf + 32, (uint64_t)p->flush_time);
	put32(buf + 40, (uint32_t)n);
	memcpy(buf + MCM_POOL_HEADER, p->servers, n);
}

int mcm_pool_decode(const unsigned char *buf, size_t len, struct mcm_pool *p)
{
	size_t n;

	if (len < MCM_POOL_HEADER || buf[0] != MCM_FORMAT_VERSION)
		return MCM_EFORMAT;
	n = get32(buf + 40);
	if (n != len - MCM_POOL_HEADER || n >= MCM_SERVERS_MAX)
		return MCM_EFORMAT;
	p->hash_with_namespace = buf[1];
	p->encrypted = buf[2];
	p->distribution = get32(buf + 4);
	p->key_hash = get32(buf + 8);
	p->dist_hash = get32(buf + 12);
	p->created_us = get64(buf + 16);
	p->flush_seq = get64(buf + 24);
	p->flush_time = (int64_t)get64(buf + 32);
	memcpy(p->servers, buf + MCM_POOL_HEADER, n);
	p->servers[n] = '\0';
	return 0;
}
