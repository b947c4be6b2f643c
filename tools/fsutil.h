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

/** snprintf into a fresh malloc'd string; NULL when out of memory. */
char *mcm_fsutil_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
