/* fuzz_load.c - libFuzzer target: `mcmirror load` and `mcmirror dump` themselves (tools/cmd_load.c,
 * tools/load_merge.c, tools/cmd_dump.c and the store under them), called as functions on a real
 * mirror in a temporary directory.
 *
 * Input: one mode byte, then the dump file's bytes. Mode bit 0: the target ends the file with
 * a valid trailer of its own (the record count and CRC-32 of what precedes it), so that the
 * fuzzer reaches past the CRC check; without it the bytes are loaded as they are (a valid
 * trailer is then the fuzzer's business). Mode bit 1: after a successful load, the same file
 * is loaded a second time into the mirror the first load made (a merge by write time).
 *
 * Invariants beyond "no crash":
 *  - load exits 0 or 1, never anything else, for any file;
 *  - a refused file leaves nothing behind: no mirror directory, no DIR.load.<pid>;
 *  - a loaded dump dumps back to the same records: `dump --all` of the new mirror holds the
 *    input's record lines, field for field (pool, seq, write time, flags, expiry, namespace,
 *    group, key, value; the status of deleted and dropped records; live, expired and
 *    flushed may be reclassified at the time of the dump), and the same pool lines;
 *  - a merge of a file the mirror already holds changes nothing (docs: "a merge applied
 *    twice changes nothing"): the dump after it has the same record lines.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dumpfmt.h"
#include "fuzz.h"
#include "mcm_crc.h"
#include "mcmirror.h"

#define MODE_TRAILER 1
#define MODE_MERGE 2

/* Run a command of the tool as main.c does. (Its messages, a refusal for nearly every input, go
 * to stderr: fuzz with -close_fd_mask=3.) */
static int run(const struct mcm_cmd *cmd, const char *mirror, int argc, char **argv)
{
	struct mcm_global g = {.mirror = mirror, .quiet = 1};

	optind = 0;
	return cmd->run(&g, argc, argv);
}

/* The input with a trailer of the target's: a '\n' ends it if it lacks one, and the record
 * lines (those after a "HEADER=END" line) are counted. */
static char *with_trailer(const char *in, size_t len, size_t *out_len)
{
	char *out = malloc(len + 80);
	size_t n = len, records = 0;
	int in_records = 0;

	memcpy(out, in, len);
	if (n && out[n - 1] != '\n')
		out[n++] = '\n';
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(out + i, '\n', n - i);
		size_t l = (size_t)(nl - (out + i)) + 1;

		if (in_records)
			records++;
		else if (l == 11 && memcmp(out + i, "HEADER=END\n", 11) == 0)
			in_records = 1;
		i += l;
	}
	n += (size_t)sprintf(out + n, "DATA=END records=%zu crc32=%08" PRIx32 "\n", records, mcm_crc32(0, out, n));
	*out_len = n;
	return out;
}

/* The pool lines of a dump, "pools=N" included (from "\npools=" to "\nHEADER=END\n"). */
static const char *pools_of(const char *dump, size_t len, size_t *plen)
{
	const char *start = memmem(dump, len, "\npools=", 7), *end;

	if (!start || !(end = memmem(start, (size_t)(dump + len - start), "\nHEADER=END\n", 12)))
		return NULL;
	*plen = (size_t)(end - start);
	return start;
}

/* The record lines of a dump (from after "HEADER=END" to before "DATA=END"). */
static const char *records_of(const char *dump, size_t len, size_t *rlen)
{
	const char *start = memmem(dump, len, "\nHEADER=END\n", 12), *end;

	if (!start)
		return NULL;
	start += 12;
	end = start;
	while (end < dump + len && !(dump + len - end >= 9 && memcmp(end, "DATA=END ", 9) == 0)) {
		const char *nl = memchr(end, '\n', (size_t)(dump + len - end));
		if (!nl)
			return NULL;
		end = nl + 1;
	}
	*rlen = (size_t)(end - start);
	return start;
}

/* One record line with its status folded to what the dump cannot reclassify. */
static void fold_status(char *line, size_t len, char *out, size_t *out_len)
{
	const char *sp = memchr(line, ' ', len);
	size_t word = sp ? (size_t)(sp - line) : len;
	int value = (word == 4 && memcmp(line, "live", 4) == 0) || (word == 7 && memcmp(line, "expired", 7) == 0) ||
		    (word == 7 && memcmp(line, "flushed", 7) == 0);

	if (value) {
		memcpy(out, "value", 5);
		memcpy(out + 5, line + word, len - word);
		*out_len = 5 + len - word;
	} else {
		memcpy(out, line, len);
		*out_len = len;
	}
}

/* Are the record lines of a and b the same, statuses folded? */
static int same_records(const char *a, size_t alen, const char *b, size_t blen)
{
	char *fa = malloc(alen + 8), *fb = malloc(blen + 8);
	int same = 1;

	while (same && alen && blen) {
		const char *na = memchr(a, '\n', alen), *nb = memchr(b, '\n', blen);
		size_t la = na ? (size_t)(na - a) + 1 : alen, lb = nb ? (size_t)(nb - b) + 1 : blen, fla, flb;

		fold_status((char *)a, la, fa, &fla);
		fold_status((char *)b, lb, fb, &flb);
		same = fla == flb && memcmp(fa, fb, fla) == 0;
		a += la;
		alen -= la;
		b += lb;
		blen -= lb;
	}
	free(fa);
	free(fb);
	return same && alen == 0 && blen == 0;
}

/* `dump --all -f FILE` of mirror; the file's bytes (aborts if the dump fails). */
static char *dump_all(const char *mirror, const char *file, size_t *len)
{
	char *argv[] = {"dump", "--all", "-f", (char *)file, NULL};
	char *out;
	int rc = run(&mcm_cmd_dump, mirror, 4, argv);

	FUZZ_CHECK(rc == 0, "dump of a freshly loaded mirror exits %d", rc);
	out = fuzz_read_file(file, len);
	FUZZ_CHECK(out != NULL, "dump wrote no file");
	return out;
}

static void check_loaded(const char *dir, const char *mirror, const char *file, const char *in, size_t in_len,
			 int merge)
{
	char path[4200];
	char *argv[] = {"load", (char *)file, NULL};
	size_t dlen, rlen, in_rlen, d2len, r2len, plen, in_plen;
	const char *rec, *in_rec, *rec2, *pools, *in_pools;
	char *d, *d2;
	int rc;

	snprintf(path, sizeof path, "%s/out.dump", dir);
	d = dump_all(mirror, path, &dlen);
	in_rec = records_of(in, in_len, &in_rlen);
	rec = records_of(d, dlen, &rlen);
	FUZZ_CHECK(in_rec && rec, "a loaded file or its dump has no header end");
	FUZZ_CHECK(same_records(in_rec, in_rlen, rec, rlen), "a loaded dump does not dump back to the same records");
	in_pools = pools_of(in, in_len, &in_plen);
	pools = pools_of(d, dlen, &plen);
	FUZZ_CHECK(in_pools && pools && in_plen == plen && memcmp(in_pools, pools, plen) == 0,
		   "a loaded dump does not dump back to the same pool lines");
	if (merge) {
		rc = run(&mcm_cmd_load, mirror, 2, argv);
		FUZZ_CHECK(rc == 0, "loading a file the mirror holds again exits %d", rc);
		snprintf(path, sizeof path, "%s/out2.dump", dir);
		d2 = dump_all(mirror, path, &d2len);
		rec2 = records_of(d2, d2len, &r2len);
		FUZZ_CHECK(rec2 && r2len == rlen && memcmp(rec, rec2, rlen) == 0,
			   "merging a file the mirror already holds changed its records");
		free(d2);
	}
	free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[4096], mirror[4200], file[4200];
	char *argv[] = {"load", file, NULL};
	const char *in;
	char *owned = NULL;
	size_t in_len;
	int mode, rc;
	struct stat sb;

	if (size < 1)
		return 0;
	mode = data[0];
	in = (const char *)data + 1;
	in_len = size - 1;
	if (mode & MODE_TRAILER)
		in = owned = with_trailer(in, in_len, &in_len);
	fuzz_tmpdir(dir, "load");
	snprintf(mirror, sizeof mirror, "%s/m", dir);
	snprintf(file, sizeof file, "%s/in.dump", dir);
	fuzz_write_file(file, in, in_len);
	rc = run(&mcm_cmd_load, mirror, 2, argv);
	FUZZ_CHECK(rc == 0 || rc == 1, "load exits %d", rc);
	if (rc == 0) {
		check_loaded(dir, mirror, file, in, in_len, mode & MODE_MERGE);
	} else {
		char tmp[4300];

		snprintf(tmp, sizeof tmp, "%s.load.%ld", mirror, (long)getpid());
		FUZZ_CHECK(stat(mirror, &sb) != 0 && stat(tmp, &sb) != 0, "a refused load left '%s' or '%s' behind",
			   mirror, tmp);
	}
	fuzz_rmtree(dir);
	free(owned);
	return 0;
}
