/* json.c - write JSON objects for the tool's machine-readable output (API: json.h). */
#include <stdio.h>
#include <string.h>

#include "dumpfmt.h"
#include "json.h"

void mcm_json_begin(struct mcm_json *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	fputc('{', f);
}

void mcm_json_finish(struct mcm_json *j)
{
	fputs("}\n", j->f);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void put_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);

		if (n == 1 && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			fputc(p[i], f);
		} else if (n == 1 && (p[i] == '"' || p[i] == '\\')) {
			fputc('\\', f);
			fputc(p[i], f);
		} else if (n > 1) {
			fwrite(p + i, 1, n, f);
		} else {
			fprintf(f, "\\u%04x", p[i]);
			n = 1;
		}
		i += n;
	}
	fputc('"', f);
}

/* The separator and the key of the next member. */
static void member(struct mcm_json *j, const char *key)
{
	if (j->count[j->depth]++)
		fputc(',', j->f);
	if (key) {
		put_string(j->f, key, strlen(key));
		fputc(':', j->f);
	}
}

static void open_level(struct mcm_json *j, const char *key, int c)
{
	member(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < MCM_JSON_DEPTH)
		j->count[++j->depth] = 0;
}

void mcm_json_object(struct mcm_json *j, const char *key)
{
	open_level(j, key, '{');
}

void mcm_json_array(struct mcm_json *j, const char *key)
{
	open_level(j, key, '[');
}

void mcm_json_close_object(struct mcm_json *j)
{
	fputc('}', j->f);
	if (j->depth > 0)
		j->depth--;
}

void mcm_json_close_array(struct mcm_json *j)
{
	fputc(']', j->f);
	if (j->depth > 0)
		j->depth--;
}

void mcm_json_u64(struct mcm_json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void mcm_json_i64(struct mcm_json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void mcm_json_double(struct mcm_json *j, const char *key, double v, int decimals)
{
	member(j, key);
	if (v != v || v > 1e300 || v < -1e300) /* NaN or infinite: JSON has neither */
		fputs("null", j->f);
	else
		fprintf(j->f, "%.*f", decimals, v);
}

void mcm_json_bool(struct mcm_json *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void mcm_json_null(struct mcm_json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

void mcm_json_str(struct mcm_json *j, const char *key, const char *s)
{
	if (!s) {
		mcm_json_null(j, key);
		return;
	}
	mcm_json_strn(j, key, s, strlen(s));
}

void mcm_json_strn(struct mcm_json *j, const char *key, const char *s, size_t len)
{
	member(j, key);
	put_string(j->f, s, len);
}

void mcm_json_time(struct mcm_json *j, const char *key, int64_t secs)
{
	char buf[32];

	if (secs == 0) {
		mcm_json_null(j, key);
		return;
	}
	mcm_dumpfmt_time(secs, buf);
	mcm_json_str(j, key, buf);
}
