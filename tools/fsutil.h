/* fsutil.h - the file-system steps `snapshot` and `load` share: durable renames, removing a mirror directory.
 *
 * A backup is only worth something when it is complete under its final
 * name: these helpers fsync files and the directories that hold them, so a
 * rename survives a power loss, and remove the temporary directories a
 * failed or interrupted command leaves behind.
 */
#ifndef MCM_FSUTIL_H
#define MCM_FSUTIL_H

#include <stddef.h>

/** fsync the file at path (opened read-only). @return 0 or an errno value. */
int mcm_fsutil_sync_file(const char *path);

/** fsync the directory that holds path ("." for a bare name), so that a
 * rename or creation of path is durable. @return 0 or an errno value. */
int mcm_fsutil_sync_parent(const char *path);

/** fsync the directory dir itself. @return 0 or an errno value. */
int mcm_fsutil_sync_dir(const char *dir);

/** Remove the files a mirror or snapshot directory holds (data.mdb,
 * lock.mdb, CHECKSUM), then the directory. Files it does not know are left,
 * and so is the directory then.
 * @return 0, or the errno value of the first step that failed (ENOENT is
 *         not a failure). */
int mcm_fsutil_remove_mirror(const char *dir);

/** Does path exist (any type)? */
int mcm_fsutil_exists(const char *path);

/** Is there a file dir/name? */
int mcm_fsutil_has(const char *dir, const char *name);

/** A file the user named for output (dump -f FILE). */
struct mcm_output {
	int fd;            /**< write here */
	char *final;       /**< a regular file: the path it is renamed to at the end (symlinks followed) */
	char *tmp;         /**< a regular file: the temporary file written; NULL when writing through */
	int through;       /**< a device, FIFO, pipe or inherited descriptor: written in place */
};

/** Open path for output without damaging what is there:
 *   - "/dev/stdout", "/dev/stderr", "/dev/fd/N", "/proc/self/fd/N": the
 *     descriptor itself (duplicated: its offset and O_APPEND are kept);
 *   - a character or block device, a FIFO: opened and written in place;
 *   - a regular file, or no file: written to a temporary file in the
 *     directory of the final file (a symbolic link is followed, and stays a
 *     link), then renamed over it by mcm_fsutil_output_close; the file is
 *     0600 (it holds application data), and a file root replaces keeps its
 *     owner;
 *   - a directory or a socket: refused (EISDIR, ENXIO).
 * @return 0 or an errno value. */
int mcm_fsutil_output_open(struct mcm_output *o, const char *path);

/** Finish: with keep, fsync and (regular files) rename into place and sync
 * the directory; without, remove the temporary file (what was written
 * through stays). Closes o->fd. @return 0 or the errno of the first failed step. */
int mcm_fsutil_output_close(struct mcm_output *o, int keep);

/** A temporary directory a killed command left behind (DIR.load.PID, OUT.tmp.PID). */
struct mcm_stale {
	char *path;
	long pid;
	int alive;   /**< its process still runs (it was left alone) */
	int err;     /**< 0 removed, else why it could not be */
};

/** Is name one of the temporary directories a command makes, i.e.
 * "<head><digits>" where head is accepted by match? match returns the
 * length of the head, or 0. */
typedef size_t mcm_fsutil_match(const char *name, const void *ctx);

/** Find the entries of dir that match and whose process (the pid after the
 * head) is gone, and remove them as mcm_fsutil_remove_mirror does; entries
 * of a process that still runs as mcmirror are listed with alive set and
 * left. *out is malloc'd (free each path, then the array).
 * @return the number of entries listed. */
size_t mcm_fsutil_reap(const char *dir, mcm_fsutil_match *match, const void *ctx, struct mcm_stale **out);

/** Free what mcm_fsutil_reap returned. */
void mcm_fsutil_reap_free(struct mcm_stale *list, size_t n);

/** The directory part of path ("." for a bare name), malloc'd. */
char *mcm_fsutil_dirname(const char *path);

/** The last component of path (a pointer into it). */
const char *mcm_fsutil_basename(const char *path);

/** snprintf into a fresh malloc'd string; NULL when out of memory. */
char *mcm_fsutil_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
