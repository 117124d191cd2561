/* errcheck.h -- the fuzz targets' check of an error list: "PATH: msg" or "PATH:LINE: msg" */
#ifndef PYLIGHT_FUZZ_ERRCHECK_H
#define PYLIGHT_FUZZ_ERRCHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errlist.h"

/* Lines as a line reader counts them: a last line without '\n' still counts. */
static unsigned long text_lines(const uint8_t *data, size_t size)
{
	unsigned long n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size > 0 && data[size - 1] != '\n');
}

/* Aborts unless every kept message names `path` and, if any, a line of the input. */
static void errcheck(const struct errlist *el, const char *path, unsigned long lines)
{
	size_t plen = strlen(path);

	if (el->kept > ERRLIST_KEEP || el->kept > el->count)
		abort();
	for (size_t i = 0; i < el->kept; i++) {
		const char *m = el->msg[i], *rest;
		unsigned long line;
		char *end;

		if (strncmp(m, path, plen) != 0 || m[plen] != ':') {
			fprintf(stderr, "message without its path: %s\n", m);
			abort();
		}
		rest = m + plen + 1;
		if (*rest == ' ')
			continue;
		line = strtoul(rest, &end, 10);
		if (end == rest || *end != ':' || line < 1 || line > lines) {
			fprintf(stderr, "message with a bad line (input has %lu): %s\n", lines, m);
			abort();
		}
	}
}

#endif
