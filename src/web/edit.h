/* edit.h -- one key of one section of ref.txt set to a new value, every other byte kept */
#ifndef PYLIGHT_WEB_EDIT_H
#define PYLIGHT_WEB_EDIT_H

#include <stddef.h>

/*
 * Sets `key` to `value` in the section of `zone` ("" is the global section) of the `len`
 * bytes of `text`, and returns the new text in *out (malloc'd, *out_len bytes). The key's
 * line keeps its indentation, spacing and trailing comment; a missing key is added after the
 * last key line of its section; a zone without a section gets one appended at the end.
 * Returns 0, -ENOMEM, or -EINVAL with the reason in *why (a zone name that cannot be a
 * section header, a file in the number form). The result is not checked: parse it.
 */
int edit_set(const char *text, size_t len, const char *zone, const char *key, const char *value,
	     char **out, size_t *out_len, const char **why);

#endif
