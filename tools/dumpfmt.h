/* dumpfmt.h - the text spelling of `mcmirror dump` files: escaping, record and pool lines, CRC-32.
 *
 * Pure functions, no I/O: `dump` encodes with them and `load` decodes with
 * them, so the two cannot drift apart. The format is specified in
 * docs/FORMAT.md ("The dump format"); change both together and bump
 * MCM_DUMP_VERSION. `stats` borrows the spellings (pool ids, times, names
 * of distributions and hashes) so both commands print the same words.
 *
 * Every decoder accepts exactly what the encoder writes: a line decodes only
 * when encoding the result gives the same bytes back (canonical numbers,
 * escapes only where required, lower-case hex).
 */
#ifndef MCM_DUMPFMT_H
#define MCM_DUMPFMT_H

#include <stddef.h>
#include <stdint.h>

#include "mcm_store.h"

/** The value of the first header line, "format=". */
#define MCM_DUMP_FORMAT "mcmirror-dump"
/** The dump format version written by this build ("version="). */
#define MCM_DUMP_VERSION 1

/** What a record was at the time of the dump. LIVE, EXPIRED and FLUSHED
 * records have kind MCM_KIND_VALUE; DELETED and DROPPED name their kind. */
enum mcm_dump_status {
	MCM_DUMP_LIVE = 0,
	MCM_DUMP_EXPIRED,  /**< its exptime has passed */
	MCM_DUMP_FLUSHED,  /**< a flush marker of its pool kills it (and it is not expired) */
	MCM_DUMP_DELETED,
	MCM_DUMP_DROPPED,
	MCM_DUMP_NSTATUS
};

/** Classify item at time now (Unix seconds) in pool p (may be NULL), in the
 * order of mcm_item_is_live(): kind, then expiry, then flush markers, so each
 * record falls in exactly one class. */
enum mcm_dump_status mcm_dumpfmt_status(const struct mcm_item *item, const struct mcm_pool *p, int64_t now);

/** "live", "expired", "flushed", "deleted", "dropped". */
const char *mcm_dumpfmt_status_name(enum mcm_dump_status s);

/** Bytes enough for the escaped form of len bytes (3 per byte). */
#define MCM_DUMP_ESCAPED_MAX(len) (3 * (size_t)(len))

/** Escape len bytes of src into dst: bytes 0x21..0x7e except '\\' as they
 * are, every other byte as '\\' and two lower-case hex digits.
 * @return the number of bytes written (no terminator). */
size_t mcm_dumpfmt_escape(const char *src, size_t len, char *dst);

/** Undo mcm_dumpfmt_escape. dst holds at least len bytes.
 * @return 0, or -1 when src is not the canonical escaped form of any bytes
 *         (a space or other raw byte outside 0x21..0x7e, a bad or upper-case
 *         escape, an escape of a byte that must be written as is). */
int mcm_dumpfmt_unescape(const char *src, size_t len, char *dst, size_t *out_len);

/** Upper bound of the length of item's record line, newline included. */
size_t mcm_dumpfmt_record_max(const struct mcm_item *item);

/** Write item's record line (ending in '\n', no terminator) into buf, which
 * holds mcm_dumpfmt_record_max(item) bytes:
 *   STATUS POOL SEQ WTIME_US FLAGS EXPTIME NS_LEN GROUP KEY VALUE
 * @return its length. */
size_t mcm_dumpfmt_record_encode(const struct mcm_item *item, enum mcm_dump_status status, char *buf);

/** Parse a record line.
 * @param[in] line the line, with or without its final '\n'
 * @param[in] len its length
 * @param[out] item every field; key, group and value point into scratch
 * @param[out] status the status word
 * @param[in] scratch len bytes for the unescaped key, group and value
 * @param[out] why on failure, a short lower-case reason (static text)
 * @return 0, or MCM_EFORMAT. */
int mcm_dumpfmt_record_decode(const char *line, size_t len, struct mcm_item *item,
			      enum mcm_dump_status *status, char *scratch, const char **why);

/** The largest time a dump holds (Unix seconds): the end of the year 9999,
 * the last an ISO 8601 date spells. exptime and flush_time are 0 or up to
 * this, wtime_us up to this many seconds; sequence numbers are at most
 * INT64_MAX, flags and markers as the store keeps them: a decoder refuses
 * anything else (arithmetic on a value out of range is undefined). */
#define MCM_DUMP_TIME_MAX INT64_C(253402300799)

/** Upper bound of the length of a record's fields before its value
 * (STATUS .. KEY and the space after KEY). */
#define MCM_DUMP_HEAD_MAX (200 + MCM_DUMP_ESCAPED_MAX(UINT16_MAX) + \
			   MCM_DUMP_ESCAPED_MAX(MCM_KEY_MAX + MCM_NAMESPACE_MAX))

/** Parse the fields of a record line before its value:
 *   STATUS POOL SEQ WTIME_US FLAGS EXPTIME NS_LEN GROUP KEY
 * (len bytes, no space after KEY). Every field is checked as
 * mcm_dumpfmt_record_decode checks it; item->value is left empty.
 * @param[in] scratch len bytes for the unescaped group and key
 * @return 0, or MCM_EFORMAT with *why set. */
int mcm_dumpfmt_record_decode_head(const char *head, size_t len, struct mcm_item *item,
				   enum mcm_dump_status *status, char *scratch, const char **why);

/** Undo mcm_dumpfmt_escape piece by piece (a value read in chunks: an
 * escape may straddle two). Start with the struct zeroed. */
struct mcm_dumpfmt_unescaper {
	int state; /* 0 plain, 1 after '\\', 2 after one hex digit */
	int hi;
};

/** Unescape the next len bytes of src into dst (room for len bytes).
 * @return the bytes written, or -1 when src is not canonical escaped text. */
long mcm_dumpfmt_unescape_more(struct mcm_dumpfmt_unescaper *u, const char *src, size_t len, char *dst);

/** At the end of the text: 0, or -1 when it ends inside an escape. */
int mcm_dumpfmt_unescape_end(const struct mcm_dumpfmt_unescaper *u);

/** Upper bound of the length of a pool line, newline included. */
#define MCM_DUMP_POOL_MAX (400 + MCM_DUMP_ESCAPED_MAX(MCM_SERVERS_MAX))

/** Write p's header line "pool=ID servers=... encrypted=N\n" into buf
 * (MCM_DUMP_POOL_MAX bytes). @return its length. */
size_t mcm_dumpfmt_pool_encode(const struct mcm_pool *p, char *buf);

/** Parse a pool line (with or without its '\n') into *p, every field set.
 * @return 0, or MCM_EFORMAT with *why set. */
int mcm_dumpfmt_pool_decode(const char *line, size_t len, struct mcm_pool *p, const char **why);

/** Pool ids are written as 16 lower-case hex digits: buf holds 17 bytes. */
void mcm_dumpfmt_pool_id(mcm_pool_id id, char buf[17]);

/** Parse a pool id given by a user: 1 to 16 hex digits, either case.
 * @return 0, or -1 on anything else. */
int mcm_dumpfmt_parse_pool_id(const char *s, mcm_pool_id *id);

/** Format Unix seconds as ISO 8601 UTC, "2024-05-01T12:00:00Z" (buf: 32 bytes). */
void mcm_dumpfmt_time(int64_t secs, char buf[32]);

/** Names of libmemcached's distributions (memcached_server_distribution_t)
 * and hashes (memcached_hash_t), e.g. "consistent_ketama", "fnv1a_64";
 * NULL for a number libmemcached 1.1 does not define. */
const char *mcm_dumpfmt_distribution_name(uint32_t d);
const char *mcm_dumpfmt_hash_name(uint32_t h);

#endif
