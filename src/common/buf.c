/* buf.c -- growable memory: a byte buffer written piece by piece, and arrays that double */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A byte buffer's first size: most answers and uploads fit without a second allocation. */
#define BUF_FIRST 4096

int buf_grow(void *arrayp, size_t *cap, size_t need, size_t size)
{
	void **array = arrayp;
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > SIZE_MAX / size)
		return -ENOMEM;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (n > SIZE_MAX / size)
		n = need;
	p = realloc(*array, n * size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}

void buf_put(struct buf *b, const void *s, size_t n)
{
	size_t need = b->len + n + 1;

	if (b->nomem)
		return;
	if (need < b->len || buf_grow(&b->data, &b->cap, need < BUF_FIRST ? BUF_FIRST : need, 1) < 0 ||
	    !b->data) {
		b->nomem = true;
		return;
	}
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

char *buf_take(struct buf *b, size_t *len)
{
	char *p;

	if (!b->nomem && !b->data)
		buf_put(b, "", 0);
	if (b->nomem) {
		buf_clear(b);
		return NULL;
	}
	p = b->data;
	*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_clear(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->nomem = false;
}
