/* follower.c - the "followers" database: who consumes the change stream, and how far.
 *
 * Record layout (docs/FORMAT.md section 1.12), little-endian:
 *  0 u8 version (2)  1 u8 0  2 u16 target_len  4 u32 CRC-32C (over the name,
 *  bytes 0-3, and bytes 8 to the end)  8 u64 position  16 u64 registered_us
 *  24 u64 contact_us  32 u64 applied_us  40 u64 resyncs  48 u64 errors
 *  56 i64 flush_time  64 the target's description (target_len bytes)
 * The key is the follower's name. Written by `mcmirror follow` in its own
 * transactions; read by the drainer's sweep (the oldest position) and stats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_crc.h"
#include "mcm_record.h"
#include "store_internal.h"

#define FOLLOWER_HEADER 64
#define FOLLOWER_VERSION 2

static const char META_PURGED[] = "purged";

int mcm_follower_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MCM_FOLLOWER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

static void put64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static uint32_t follower_crc(const char *name, const unsigned char *buf, size_t len)
{
	uint32_t c = mcm_crc32c(0, name, strlen(name));

	c = mcm_crc32c(c, buf, 4);
	return mcm_crc32c(c, buf + 8, len - 8);
}

static size_t encode(const struct mcm_follower *f, unsigned char *buf)
{
	size_t tlen = strnlen(f->target, sizeof f->target - 1);
	uint32_t crc;

	memset(buf, 0, FOLLOWER_HEADER);
	buf[0] = FOLLOWER_VERSION;
	buf[2] = (unsigned char)tlen;
	buf[3] = (unsigned char)(tlen >> 8);
	put64(buf + 8, f->position);
	put64(buf + 16, f->registered_us);
	put64(buf + 24, f->contact_us);
	put64(buf + 32, f->applied_us);
	put64(buf + 40, f->resyncs);
	put64(buf + 48, f->errors);
	put64(buf + 56, (uint64_t)f->flush_time);
	memcpy(buf + FOLLOWER_HEADER, f->target, tlen);
	crc = follower_crc(f->name, buf, FOLLOWER_HEADER + tlen);
	memcpy(buf + 4, &crc, 4);
	return FOLLOWER_HEADER + tlen;
}

/* Decode the record of follower name (len bytes at buf). */
static int decode(const char *name, size_t name_len, const unsigned char *buf, size_t len, struct mcm_follower *f)
{
	size_t tlen;
	uint32_t crc;

	memset(f, 0, sizeof *f);
	if (name_len == 0 || name_len > MCM_FOLLOWER_NAME_MAX)
		return MCM_EDAMAGED;
	memcpy(f->name, name, name_len);
	if (len < FOLLOWER_HEADER || buf[0] != FOLLOWER_VERSION || buf[1] != 0)
		return MCM_EDAMAGED;
	tlen = (size_t)buf[2] | (size_t)buf[3] << 8;
	memcpy(&crc, buf + 4, 4);
	if (tlen != len - FOLLOWER_HEADER || tlen >= sizeof f->target || crc != follower_crc(f->name, buf, len) ||
	    !mcm_follower_name_ok(f->name))
		return MCM_EDAMAGED;
	f->position = get64(buf + 8);
	f->registered_us = get64(buf + 16);
	f->contact_us = get64(buf + 24);
	f->applied_us = get64(buf + 32);
	f->resyncs = get64(buf + 40);
	f->errors = get64(buf + 48);
	f->flush_time = (int64_t)get64(buf + 56);
	memcpy(f->target, buf + FOLLOWER_HEADER, tlen);
	return 0;
}

int mcm_follower_put(struct mcm_store *st, const struct mcm_follower *f)
{
	unsigned char buf[FOLLOWER_HEADER + sizeof f->target];
	MDB_val k = {strlen(f->name), (void *)f->name}, v = {0, buf};
	MDB_txn *txn;
	int rc;

	if (!mcm_follower_name_ok(f->name))
		return EINVAL;
	if ((st->flags & MCM_STORE_RDONLY) || !st->have_followers_db)
		return EROFS;
	v.mv_size = encode(f, buf);
	for (int tries = 0; tries < 16; tries++) {
		pthread_rwlock_rdlock(&st->resize);
		if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0) {
			if ((rc = mdb_put(txn, st->followers, &k, &v, 0)) == 0)
				rc = mdb_txn_commit(txn);
			else
				mdb_txn_abort(txn);
		}
		pthread_rwlock_unlock(&st->resize);
		if (rc != MDB_MAP_RESIZED && rc != MDB_MAP_FULL)
			break;
		if ((rc = mcm_store_resize(st, rc == MDB_MAP_FULL)) != 0)
			break;
	}
	return rc;
}

int mcm_follower_get(struct mcm_store *st, const char *name, struct mcm_follower *f)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	MDB_txn *txn;
	int rc;

	if (!st->have_followers_db)
		return MCM_ENOTFOUND;
	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, st->followers, &k, &v);
	if (rc == 0)
		rc = decode(name, k.mv_size, v.mv_data, v.mv_size, f);
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? MCM_ENOTFOUND : rc;
}

int mcm_follower_list(struct mcm_store *st, struct mcm_follower **list, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_stat ms;
	MDB_val k, v;
	struct mcm_follower *arr;
	size_t count = 0;
	int rc;

	*list = NULL;
	*n = 0;
	if (!st->have_followers_db)
		return 0;
	if ((rc = mcm_store_begin_read(st, &txn)) != 0)
		return rc;
	if ((rc = mdb_stat(txn, st->followers, &ms)) != 0 || (rc = mdb_cursor_open(txn, st->followers, &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if (!(arr = calloc(ms.ms_entries ? ms.ms_entries : 1, sizeof *arr))) {
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		return ENOMEM;
	}
	/* a damaged record keeps its name, position 0: the sweep then keeps
	 * everything for it, and stats shows it */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && count < ms.ms_entries;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &arr[count]) == 0 || arr[count].name[0])
			count++;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(arr);
		return rc;
	}
	*list = arr;
	*n = count;
	return 0;
}

int mcm_follower_delete(struct mcm_store *st, const char *name)
{
	MDB_val k = {strlen(name), (void *)name};
	MDB_txn *txn;
	int rc;

	if ((st->flags & MCM_STORE_RDONLY) || !st->have_followers_db)
		return EROFS;
	pthread_rwlock_rdlock(&st->resize);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_del(txn, st->followers, &k, NULL)) == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&st->resize);
	return rc == MDB_NOTFOUND ? MCM_ENOTFOUND : rc;
}

int mcm_store_purge_horizon(struct mcm_store *st, uint64_t *horizon)
{
	size_t len;
	int rc = mcm_store_meta_get(st, META_PURGED, horizon, sizeof *horizon, &len);

	if (rc == MCM_ENOTFOUND || (rc == 0 && len != sizeof *horizon)) {
		*horizon = 0;
		return 0;
	}
	return rc;
}
