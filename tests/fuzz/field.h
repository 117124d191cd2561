/* field.h -- the fuzz inputs of the payload parsers that take a JSON field: FIELD NUL PAYLOAD */
#ifndef PYLIGHT_FUZZ_FIELD_H
#define PYLIGHT_FUZZ_FIELD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Input: the payload alone (*field NULL), or FIELD NUL PAYLOAD (*field a malloc'd copy of
 * FIELD, which may be empty). A payload with a NUL of its own is still reachable after the
 * first NUL. The payload is left where libFuzzer put it, at the end of its exactly sized
 * buffer, so that reading one byte past it is caught. Returns -1 when out of memory.
 */
static int field_split(const uint8_t *data, size_t size, char **field, const uint8_t **payload,
		       size_t *len)
{
	const uint8_t *nul = memchr(data, '\0', size);

	*field = NULL;
	*payload = data;
	*len = size;
	if (!nul)
		return 0;
	*field = strndup((const char *)data, (size_t)(nul - data));
	if (!*field)
		return -1;
	*payload = nul + 1;
	*len = size - (size_t)(*payload - data);
	return 0;
}

#endif
