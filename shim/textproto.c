/* textproto.c - what memcached 1.6.18's text protocol makes of a call's key and value bytes.
 *
 * libmemcached sends keys unverified by default, and a value block right after its command
 * line. A key holding a space, a newline or a NUL is split or cut by the server's tokenizer
 * (proto_text.c: tokenize_command splits on ' ' and stops at a NUL; a line ends at '\n'), and
 * a key longer than 250 bytes is refused: the line then means something else than the call,
 * and when a storage command is refused before its data block (too long a key, "cas" without
 * a cas value), that block is read as command lines of its own. This file answers the
 * questions the classification (mirror.c) asks about such calls; the answers only depend on
 * the bytes, so they are cheap and the same in every process.
 */
#include <stdint.h>
#include <string.h>

#include "shim.h"

#define TEXT_KEY_MAX 250 /* KEY_MAX_LENGTH */

unsigned mcm_text_key_slow(const char *wire, size_t len)
{
	if (!memchr(wire, ' ', len) && !memchr(wire, '\n', len) && !memchr(wire, '\0', len))
		return len > TEXT_KEY_MAX ? MCM_TEXT_TOO_LONG : 0;
	return memchr(wire, '\n', len) ? MCM_TEXT_SPLIT | MCM_TEXT_NEWLINE : MCM_TEXT_SPLIT;
}

size_t mcm_text_first_token(const char *wire, size_t len, size_t *off)
{
	size_t i = 0, start;

	while (i < len && wire[i] == ' ')
		i++;
	start = i;
	while (i < len && wire[i] != ' ' && wire[i] != '\0')
		i++;
	*off = start;
	return i - start;
}

/* Is the command word w (n bytes) one that changes items or waits for a data block? */
static int is_writer(const char *w, size_t n)
{
	static const char *const writers[] = {
		"set", "add", "replace", "append", "prepend", "cas", "incr", "decr", "delete", "touch",
		"gat", "gats", "flush_all", "ms", "md", "ma", "mg",
	};

	for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
		if (strlen(writers[i]) == n && memcmp(writers[i], w, n) == 0)
			return 1;
	return 0;
}

int mcm_text_value_inert(const char *value, size_t len)
{
	const char *p = value, *end = value + len;

	while (p <= end) { /* each line: its first word decides what the server does */
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end, *w;

		while (p < eol && *p == ' ')
			p++;
		/* (a '\r' ends the word too: before a '\n' the server strips it) */
		for (w = p; p < eol && *p != ' ' && *p != '\0' && *p != '\r'; p++)
			;
		if (is_writer(w, (size_t)(p - w)))
			return 0;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 1;
}
