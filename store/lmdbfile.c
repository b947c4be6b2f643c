/* lmdbfile.c - is a data.mdb shorter than its last page only by free pages?
 *
 * LMDB maps data.mdb and reads pages up to the last one its meta page names;
 * in a file cut short those reads fault (SIGBUS), so the store checks before
 * any page is read through the map. A file may legitimately end before the
 * last page: a page allocated and freed within one transaction ("loose") is
 * never written, yet counts. So when the file is short, every page past its
 * end must be on LMDB's freelist. The freelist is read here with pread(),
 * never through the map: a truly truncated file gets MCM_ETRUNCATED, not a
 * signal. This reads LMDB's on-disk layout (data version 1, 64-bit pgno_t,
 * LMDB 0.9.x: mdb.c's MDB_page, MDB_node, MDB_meta and MDB_db).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

#define PAGEHDRSZ 16        /* pgno, pad, flags, lower/upper (or overflow page count) */
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define F_BIGDATA 0x01      /* a leaf node whose data sits in overflow pages */
#define NODESIZE 8          /* lo, hi, flags, ksize */
#define META_MAGIC 0xBEEFC0DEu
#define META_FREE_ROOT (16 + 24 + 40) /* page header, magic..mapsize, mm_dbs[FREE_DBI].md_root */
#define META_TXNID (16 + 128)
#define P_INVALID UINT64_MAX
#define MAX_DEPTH 16

struct freecheck {
	int fd;
	size_t psize;
	uint64_t file_pages;        /* pages the file holds */
	uint64_t first, last;       /* the pages past its end: [first, last] */
	unsigned char *seen;        /* one byte per such page: found on the freelist */
};

static uint16_t u16(const unsigned char *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

static uint64_t u64(const unsigned char *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

/* Read len bytes at page pgno, offset off: only pages the file holds. */
static int read_at(struct freecheck *c, uint64_t pgno, size_t off, void *buf, size_t len)
{
	if (pgno >= c->file_pages || off + len > (c->file_pages - pgno) * c->psize)
		return MCM_ETRUNCATED;
	if (pread(c->fd, buf, len, (off_t)(pgno * c->psize + off)) != (ssize_t)len)
		return errno ? errno : MCM_ETRUNCATED;
	return 0;
}

/* Mark the page numbers of one freelist entry (an IDL: a count, then ids). */
static int mark_idl(struct freecheck *c, const unsigned char *data, size_t len)
{
	uint64_t n;

	if (len < 8 || (n = u64(data)) > (len - 8) / 8)
		return MCM_ETRUNCATED;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pg = u64(data + 8 + 8 * i);
		if (pg >= c->first && pg <= c->last)
			c->seen[pg - c->first] = 1;
	}
	return 0;
}

/* The data of a leaf node kept in overflow pages starting at pgno. */
static int mark_overflow(struct freecheck *c, uint64_t pgno, size_t len)
{
	unsigned char *buf;
	int rc;

	if (len > (c->file_pages + 1) * 8 + 8) /* an IDL never lists more pages than the file has */
		return MCM_ETRUNCATED;
	if (!(buf = malloc(len ? len : 1)))
		return ENOMEM;
	rc = read_at(c, pgno, PAGEHDRSZ, buf, len);
	if (rc == 0)
		rc = mark_idl(c, buf, len);
	free(buf);
	return rc;
}

static int walk(struct freecheck *c, uint64_t pgno, int depth);

/* Each node of the page now in c->page (a copy: walking children reuses it). */
static int walk_nodes(struct freecheck *c, const unsigned char *p, int depth)
{
	uint16_t flags = u16(p + 10), lower = u16(p + 12);
	size_t n = lower >= PAGEHDRSZ ? (size_t)(lower - PAGEHDRSZ) / 2 : 0;
	int rc = 0;

	if (!(flags & (P_BRANCH | P_LEAF)) || lower > c->psize)
		return MCM_ETRUNCATED;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t at = u16(p + PAGEHDRSZ + 2 * i), ksize, dsize;
		const unsigned char *node = p + at;

		if (at + NODESIZE > c->psize)
			return MCM_ETRUNCATED;
		ksize = u16(node + 6);
		dsize = (size_t)u16(node) | (size_t)u16(node + 2) << 16;
		if (flags & P_BRANCH) {
			uint64_t child = dsize | (uint64_t)u16(node + 4) << 32;
			rc = walk(c, child, depth + 1);
		} else if (u16(node + 4) & F_BIGDATA) {
			if (at + NODESIZE + ksize + 8 > c->psize)
				return MCM_ETRUNCATED;
			rc = mark_overflow(c, u64(node + NODESIZE + ksize), dsize);
		} else {
			if (at + NODESIZE + ksize + dsize > c->psize)
				return MCM_ETRUNCATED;
			rc = mark_idl(c, node + NODESIZE + ksize, dsize);
		}
	}
	return rc;
}

static int walk(struct freecheck *c, uint64_t pgno, int depth)
{
	unsigned char *p;
	int rc;

	if (depth > MAX_DEPTH)
		return MCM_ETRUNCATED;
	if (!(p = malloc(c->psize)))
		return ENOMEM;
	if ((rc = read_at(c, pgno, 0, p, c->psize)) == 0)
		rc = u64(p) == pgno ? walk_nodes(c, p, depth) : MCM_ETRUNCATED;
	free(p);
	return rc;
}

/* The freelist's root in the meta page of transaction txnid. */
static int free_root(struct freecheck *c, uint64_t txnid, uint64_t *root)
{
	unsigned char m[256];

	for (uint64_t pg = 0; pg < 2; pg++) {
		int rc = read_at(c, pg, 0, m, sizeof m);

		if (rc != 0)
			return rc;
		if (u64(m + META_TXNID) == txnid && memcmp(m + 16, &(uint32_t){META_MAGIC}, 4) == 0) {
			*root = u64(m + META_FREE_ROOT);
			return 0;
		}
	}
	return MCM_ETRUNCATED;
}

int mcm_lmdb_check_length(const char *file, size_t psize, uint64_t last_pgno, uint64_t txnid)
{
	struct freecheck c = {.psize = psize};
	off_t size;
	uint64_t root;
	int rc;

	if ((c.fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	if ((size = lseek(c.fd, 0, SEEK_END)) < 0) {
		rc = errno;
		close(c.fd);
		return rc;
	}
	c.file_pages = (uint64_t)size / psize;
	if (c.file_pages > last_pgno) {
		close(c.fd);
		return 0;
	}
	c.first = c.file_pages;
	c.last = last_pgno;
	/* a gap of more than a few thousand pages is not left by loose pages */
	if (c.file_pages < 2 || c.last - c.first >= 65536 || !(c.seen = calloc(c.last - c.first + 1, 1))) {
		close(c.fd);
		return c.seen || c.file_pages < 2 || c.last - c.first >= 65536 ? MCM_ETRUNCATED : ENOMEM;
	}
	rc = free_root(&c, txnid, &root);
	if (rc == 0 && root != P_INVALID)
		rc = walk(&c, root, 0);
	for (uint64_t i = 0; rc == 0 && i <= c.last - c.first; i++)
		if (!c.seen[i])
			rc = MCM_ETRUNCATED; /* a page in use past the end of the file */
	free(c.seen);
	close(c.fd);
	return rc;
}
