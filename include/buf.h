/* buf.h -- growable memory: a byte buffer written piece by piece, and arrays that double */
#ifndef PYLIGHT_BUF_H
#define PYLIGHT_BUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Bytes appended at the end, always NUL-terminated once anything was put. An allocation
 * failure is sticky: later puts do nothing, and buf_take hands back NULL. Zero-initialise.
 */
struct buf {
	char *data;
	size_t len, cap;
	bool nomem;
};

/*
 * Grows the array at *arrayp of `size`-byte items so that it holds at least `need`, doubling
 * from *cap (16 items when empty). Returns 0 or -ENOMEM (the array is then unchanged).
 */
int buf_grow(void *arrayp, size_t *cap, size_t need, size_t size);
/* Appends `n` bytes. */
void buf_put(struct buf *b, const void *s, size_t n);
/* Appends a string. */
void buf_puts(struct buf *b, const char *s);
/*
 * Hands the bytes over (malloc'd, NUL-terminated, *len long; "" when nothing was put) and
 * empties the buffer. NULL after an allocation failure, everything freed.
 */
char *buf_take(struct buf *b, size_t *len);
/* Frees the bytes and empties the buffer; the struct itself is the caller's. */
void buf_clear(struct buf *b);

#endif
