/* json.h - a small JSON writer for the tool's machine-readable output (stats --json, summary lines).
 *
 * Writes one value (an object) to a FILE as it goes, with no whitespace, so
 * that a summary is exactly one line. Strings are written as UTF-8: valid
 * UTF-8 passes through, control characters, '"' and '\\' are escaped, and
 * each byte that is not part of valid UTF-8 is written as \u00XX (the
 * character of that code, as Latin-1 would read it). Numbers are integers
 * (int64 or uint64) or fixed-point decimals. Errors of the FILE stay in it
 * (ferror): check the stream once at the end.
 */
#ifndef MCM_JSON_H
#define MCM_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MCM_JSON_DEPTH 8

struct mcm_json {
	FILE *f;
	int depth;
	int count[MCM_JSON_DEPTH]; /**< members written at each level */
};

/** Start the top-level object. */
void mcm_json_begin(struct mcm_json *j, FILE *f);

/** Close the top-level object and end the line. */
void mcm_json_finish(struct mcm_json *j);

/** Open a nested object or array as member key (NULL inside an array). */
void mcm_json_object(struct mcm_json *j, const char *key);
void mcm_json_array(struct mcm_json *j, const char *key);

/** Close the innermost object or array. */
void mcm_json_close_object(struct mcm_json *j);
void mcm_json_close_array(struct mcm_json *j);

/** Members (key NULL inside an array). */
void mcm_json_u64(struct mcm_json *j, const char *key, uint64_t v);
void mcm_json_i64(struct mcm_json *j, const char *key, int64_t v);
void mcm_json_double(struct mcm_json *j, const char *key, double v, int decimals);
void mcm_json_bool(struct mcm_json *j, const char *key, int v);
void mcm_json_null(struct mcm_json *j, const char *key);
void mcm_json_str(struct mcm_json *j, const char *key, const char *s);
void mcm_json_strn(struct mcm_json *j, const char *key, const char *s, size_t len);

/** Unix seconds as an ISO 8601 UTC string, or null for 0. */
void mcm_json_time(struct mcm_json *j, const char *key, int64_t secs);

#endif
