/* reffile.h -- ref.txt read whole, named by a hash of its bytes, replaced by one rename */
#ifndef PYLIGHT_WEB_REFFILE_H
#define PYLIGHT_WEB_REFFILE_H

#include <stddef.h>

/* An etag: 16 hex digits of the 64-bit FNV-1a hash of the bytes. */
#define REFFILE_ETAG_SIZE 17
void reffile_etag(const char *text, size_t len, char etag[REFFILE_ETAG_SIZE]);

/*
 * Reads the whole file into *text (malloc'd, NUL-terminated, *len bytes). A missing file
 * reads as empty text. Returns 0, -EFBIG (over 16 MiB) or another -errno.
 */
int reffile_read(const char *path, char **text, size_t *len);

/*
 * Replaces the file by `text`: written to a temporary file in the same folder, flushed to
 * disk, given the old file's mode (and owner and group where permitted), renamed over
 * `path`, and the folder flushed. A watcher sees one rename of a whole file. Returns 0 or
 * -errno; on error the old file is untouched and no temporary file is left.
 */
int reffile_save(const char *path, const char *text, size_t len);

#endif
