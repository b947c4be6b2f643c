/* upgrade.c - turn a version 1 mirror into a version 2 one, in the transaction that opens it.
 *
 * Version 1 (the first release) had records without checksums and "seq"
 * entries holding only the "items" key. The first writable open rewrites
 * every seq entry with its record's kind, expiry and write time, every item
 * and pool record with its CRC-32C, then marks meta/format 2: all in the
 * open's write transaction, so a crash leaves either the old mirror or the
 * new one. A version 1 record that fails its range checks is left as it is
 * (readers report it as damaged). Mirrors of the first release are small;
 * the whole upgrade is one transaction on purpose.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcm_record.h"
#include "store_internal.h"

/* Every seq entry in the version 2 layout (its record looked up). */
static int upgrade_seq(struct mcm_store *st, MDB_txn *txn)
{
	unsigned char buf[MCM_SEQ_VALUE_MAX];
	MDB_cursor *cur;
	MDB_val k, v, ik, iv;
	int rc;

	if ((rc = mdb_cursor_open(txn, st->seq, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct mcm_item item;

		ik = v;
		if (v.mv_size <= 8 || v.mv_size > MCM_ITEM_KEY_MAX || mdb_get(txn, st->items, &ik, &iv) != 0 ||
		    mcm_item_decode(ik.mv_data, ik.mv_size, iv.mv_data, iv.mv_size, &item) != 0) {
			/* stale, or its record is damaged (a walk by key still finds
			 * and reports it): not an entry of the new layout */
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			continue;
		}
		memcpy(buf + MCM_SEQ_HEADER, v.mv_data, v.mv_size); /* (v points into the map) */
		v.mv_size = mcm_seq_entry_encode(&item, buf + MCM_SEQ_HEADER, v.mv_size, buf);
		v.mv_data = buf;
		if ((rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	/* (EINVAL: the deletes emptied the index, which leaves the cursor unset) */
	return rc == MDB_NOTFOUND || rc == EINVAL ? 0 : rc;
}

/* Every version 1 item record again with its CRC. */
static int upgrade_items(struct mcm_store *st, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, st->items, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct mcm_item item;
		unsigned char key[MCM_ITEM_KEY_MAX];
		size_t klen = k.mv_size;

		if (mcm_item_version(v.mv_data, v.mv_size) != 1 ||
		    mcm_item_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &item) != 0) {
			st->txn_bytes += (int64_t)(k.mv_size + v.mv_size);
			continue;
		}
		st->txn_bytes += (int64_t)(k.mv_size + mcm_item_size(&item));
		memcpy(key, k.mv_data, klen);
		v.mv_size = mcm_item_size(&item);
		/* MDB_RESERVE: the old record's bytes (item's pointers) stay valid
		 * until the put, which copies nothing; so encode from a copy */
		{
			unsigned char *copy = malloc(item.group_len + item.value_len + 1);

			if (!copy) {
				rc = ENOMEM;
				break;
			}
			memcpy(copy, item.group, item.group_len);
			memcpy(copy + item.group_len, item.value, item.value_len);
			item.group = (const char *)copy;
			item.value = (const char *)copy + item.group_len;
			if ((rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT | MDB_RESERVE)) == 0)
				mcm_item_encode(key, klen, &item, v.mv_data);
			free(copy);
		}
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Every version 1 pool record again with its CRC. */
static int upgrade_pools(struct mcm_store *st, MDB_txn *txn)
{
	unsigned char buf[MCM_POOL_HEADER + MCM_SERVERS_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, st->pools, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct mcm_pool p;

		if (k.mv_size != 8 || v.mv_size == 0 || ((const unsigned char *)v.mv_data)[0] != 1 ||
		    mcm_pool_decode(mcm_get_be64(k.mv_data), v.mv_data, v.mv_size, &p) != 0)
			continue;
		mcm_pool_encode(&p, buf);
		v.mv_size = mcm_pool_size(&p);
		v.mv_data = buf;
		if ((rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int mcm_store_upgrade_v1(struct mcm_store *st, MDB_txn *txn)
{
	int rc;

	st->txn_bytes = 0;
	if ((rc = upgrade_seq(st, txn)) == 0 && (rc = upgrade_items(st, txn)) == 0 &&
	    (rc = upgrade_pools(st, txn)) == 0)
		rc = mcm_store_account(st, txn); /* the records' bytes, which the sweep's byte cap reads */
	return rc;
}
