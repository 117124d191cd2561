/* errlist.h -- configuration errors collected as "PATH:LINE: message" */
#ifndef PYLIGHT_ERRLIST_H
#define PYLIGHT_ERRLIST_H

#include <stddef.h>

/* Keeps at most ERRLIST_KEEP messages; `count` still counts every error. */
#define ERRLIST_KEEP 100

struct errlist {
	char *msg[ERRLIST_KEEP];
	size_t kept;
	size_t count;
};

/* Records "PATH:LINE: message" (line 0 gives "PATH: message"). */
void errlist_add(struct errlist *el, const char *path, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * Hands each kept message to `sink`, then "... and N more errors" when some were not kept.
 * The list decides nothing about where the lines go: the log, stderr, a test.
 */
void errlist_print(const struct errlist *el, void (*sink)(void *ctx, const char *line),
		   void *ctx);
/* Frees the messages and empties the list; the list itself is caller-owned. */
void errlist_clear(struct errlist *el);

#endif
