/* fuzz.h - what the libFuzzer targets of tests/fuzz share: failing an invariant, temporary
 * directories, and reading a fuzz input as a stream of small values.
 *
 * Each target is one file fuzz_<name>.c defining LLVMFuzzerTestOneInput; its header comment says
 * which code it drives and which invariants it checks beyond "no crash". A broken invariant
 * aborts (libFuzzer then saves the input as crash-<sha1>), naming what broke.
 */
#ifndef MCM_FUZZ_H
#define MCM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/** Print "fuzz: invariant broken: <message>" to stderr (as it was when the target started, even
 * under -close_fd_mask=2) and abort(). */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Abort through fuzz_fail unless cond holds. */
#define FUZZ_CHECK(cond, ...)                 \
	do {                                  \
		if (!(cond))                  \
			fuzz_fail(__VA_ARGS__); \
	} while (0)

/** Make a fresh directory $TMPDIR/mcm-fuzz-<name>-XXXXXX into buf (4096 bytes); aborts on failure
 * (a target that cannot set up is broken, not the code under test). */
void fuzz_tmpdir(char *buf, const char *name);

/** Remove dir and everything below it. */
void fuzz_rmtree(const char *dir);

/** Write len bytes to path (created 0600, truncated); aborts on failure. */
void fuzz_write_file(const char *path, const void *buf, size_t len);

/** Read the whole file at path into a malloc'd buffer (NUL-terminated, *len without it);
 * NULL when it cannot be read. */
char *fuzz_read_file(const char *path, size_t *len);

/** An input consumed front to back; reads past its end give zeros (or fewer bytes). */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);

/** Up to want bytes of the input (*got of them; may be fewer at its end). */
const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got);

#endif
