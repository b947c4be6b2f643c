/* fuzz_dumpfmt.c - libFuzzer target: the line decoders of the dump format (tools/dumpfmt.c).
 *
 * Input: any bytes, cut at '\n' into lines. Every line goes through the record-line decoder
 * (mcm_dumpfmt_record_decode), the pool-line decoder (mcm_dumpfmt_pool_decode) and the
 * unescaper. (The header lines are read by tools/cmd_load.c itself: fuzz_load drives them.)
 *
 * Invariants beyond "no crash":
 *  - canonical: a line that decodes re-encodes to exactly the same bytes (docs/FORMAT.md 2.4:
 *    "a line decodes exactly when re-encoding the decoded record gives back the same bytes"),
 *    for record lines and pool lines alike;
 *  - nothing decoded is out of range: a record's status is one of the five and its kind
 *    follows from it, its group mode is KEY (with no group key) or EXPLICIT, its key has
 *    1..377 bytes, ns_len <= key_len, its group key, key and value lie inside the scratch
 *    buffer the caller gave and fit it together; a pool's server list is shorter than
 *    MCM_SERVERS_MAX and holds no NUL;
 *  - escaping: unescape(escape(b)) == b for the bytes of every line, and a string that
 *    unescapes is the escape of what it unescapes to (one spelling per byte string).
 */
#include <stdlib.h>
#include <string.h>

#include "dumpfmt.h"
#include "fuzz.h"

static void check_escape(const char *line, size_t len)
{
	char *esc = malloc(MCM_DUMP_ESCAPED_MAX(len) + 1), *back = malloc(MCM_DUMP_ESCAPED_MAX(len) + 1);
	size_t elen = mcm_dumpfmt_escape(line, len, esc), blen = 0;

	FUZZ_CHECK(elen <= MCM_DUMP_ESCAPED_MAX(len), "escape wrote %zu bytes for %zu", elen, len);
	FUZZ_CHECK(mcm_dumpfmt_unescape(esc, elen, back, &blen) == 0, "an escaped string does not unescape");
	FUZZ_CHECK(blen == len && memcmp(back, line, len) == 0, "unescape(escape(x)) != x");
	if (mcm_dumpfmt_unescape(line, len, back, &blen) == 0) {
		FUZZ_CHECK(blen <= len, "unescape grew %zu bytes to %zu", len, blen);
		elen = mcm_dumpfmt_escape(back, blen, esc);
		FUZZ_CHECK(elen == len && memcmp(esc, line, len) == 0, "a string unescaped that is not canonical");
	}
	free(esc);
	free(back);
}

/* p lies inside [base, base + size) with its len bytes. */
static int inside(const char *p, size_t len, const char *base, size_t size)
{
	return p >= base && (size_t)(p - base) <= size && len <= size - (size_t)(p - base);
}

static void check_record(const char *line, size_t len)
{
	char *scratch = malloc(len ? len : 1), *again;
	enum mcm_dump_status status;
	struct mcm_item it;
	const char *why = NULL;
	size_t n;

	if (mcm_dumpfmt_record_decode(line, len, &it, &status, scratch, &why) != 0) {
		FUZZ_CHECK(why && *why, "a refused record line gives no reason");
		free(scratch);
		return;
	}
	FUZZ_CHECK((unsigned)status < MCM_DUMP_NSTATUS, "status %d", (int)status);
	FUZZ_CHECK(it.kind == (status == MCM_DUMP_DELETED   ? MCM_KIND_DELETED
			       : status == MCM_DUMP_DROPPED ? MCM_KIND_DROPPED
							    : MCM_KIND_VALUE),
		   "kind %u for status %d", it.kind, (int)status);
	FUZZ_CHECK(it.group_mode == MCM_GROUP_KEY || it.group_mode == MCM_GROUP_EXPLICIT, "group mode %u",
		   it.group_mode);
	FUZZ_CHECK(it.group_mode == MCM_GROUP_EXPLICIT || it.group_len == 0, "a group key in KEY mode");
	FUZZ_CHECK(it.key_len >= 1 && it.key_len <= MCM_KEY_MAX + MCM_NAMESPACE_MAX, "key of %zu bytes", it.key_len);
	FUZZ_CHECK(it.ns_len <= it.key_len, "ns_len %u > key_len %zu", it.ns_len, it.key_len);
	FUZZ_CHECK(it.group_len <= UINT16_MAX && it.value_len <= UINT32_MAX, "group or value too long");
	FUZZ_CHECK(it.group_len + it.key_len + it.value_len <= len, "decoded more bytes than the line has");
	FUZZ_CHECK(inside(it.key, it.key_len, scratch, len) && inside(it.value, it.value_len, scratch, len) &&
			   (it.group_len == 0 || inside(it.group, it.group_len, scratch, len)),
		   "decoded fields outside the scratch buffer");
	again = malloc(mcm_dumpfmt_record_max(&it));
	n = mcm_dumpfmt_record_encode(&it, status, again);
	FUZZ_CHECK(n <= mcm_dumpfmt_record_max(&it), "record line longer than its bound");
	/* the decoder takes the line with or without its '\n'; the encoder writes it */
	FUZZ_CHECK(n == len + (len == 0 || line[len - 1] != '\n') && memcmp(again, line, n - 1) == 0 &&
			   again[n - 1] == '\n',
		   "a decoded record line does not re-encode to the same bytes");
	free(again);
	free(scratch);
}

static void check_pool(const char *line, size_t len)
{
	static char again[MCM_DUMP_POOL_MAX];
	struct mcm_pool p;
	const char *why = NULL;
	size_t n, slen;

	if (mcm_dumpfmt_pool_decode(line, len, &p, &why) != 0) {
		FUZZ_CHECK(why && *why, "a refused pool line gives no reason");
		return;
	}
	slen = strnlen(p.servers, sizeof p.servers);
	FUZZ_CHECK(slen < MCM_SERVERS_MAX, "server list not terminated");
	n = mcm_dumpfmt_pool_encode(&p, again);
	FUZZ_CHECK(n <= MCM_DUMP_POOL_MAX, "pool line longer than its bound");
	FUZZ_CHECK(n == len + (len == 0 || line[len - 1] != '\n') && memcmp(again, line, n - 1) == 0,
		   "a decoded pool line does not re-encode to the same bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p); /* with its '\n' */

		check_escape(p, len);
		check_record(p, len);
		check_pool(p, len);
		p += len;
	}
	return 0;
}
