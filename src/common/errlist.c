/* errlist.c -- configuration errors collected for the caller to report; nothing is logged here */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errlist.h"

void errlist_add(struct errlist *el, const char *path, unsigned line, const char *fmt, ...)
{
	char *text, *msg;
	va_list ap;
	int r;

	/* Counted first: an error whose text is dropped (list full, no memory) still rejects. */
	el->count++;
	if (el->kept == ERRLIST_KEEP)
		return;

	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;

	if (line > 0)
		r = asprintf(&msg, "%s:%u: %s", path, line, text);
	else
		r = asprintf(&msg, "%s: %s", path, text);
	free(text);
	if (r < 0)
		return;
	el->msg[el->kept++] = msg;
}

void errlist_print(const struct errlist *el, void (*sink)(void *ctx, const char *line),
		   void *ctx)
{
	char more[64];

	for (size_t i = 0; i < el->kept; i++)
		sink(ctx, el->msg[i]);
	if (el->count > el->kept) {
		snprintf(more, sizeof(more), "... and %zu more errors", el->count - el->kept);
		sink(ctx, more);
	}
}

void errlist_clear(struct errlist *el)
{
	for (size_t i = 0; i < el->kept; i++)
		free(el->msg[i]);
	el->kept = 0;
	el->count = 0;
}
