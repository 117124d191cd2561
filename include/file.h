/* file.h -- a whole file read into memory, with a cap on its size */
#ifndef PYLIGHT_FILE_H
#define PYLIGHT_FILE_H

#include <stddef.h>

/*
 * Reads the whole of `path` into *text (malloc'd, NUL-terminated after its *len bytes; the
 * file may hold NULs of its own). Returns 0, -EFBIG when it holds more than `max` bytes, or
 * another -errno (-ENOENT for a missing file); on error *text is NULL and *len 0.
 */
int file_read(const char *path, size_t max, char **text, size_t *len);

#endif
