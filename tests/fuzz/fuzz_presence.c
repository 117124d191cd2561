/* fuzz_presence.c -- libFuzzer target: presence payloads, plain and JSON, with or without a field */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: the payload alone (default field), or FIELD NUL PAYLOAD, as fuzz_reading.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	const uint8_t *payload = data;
	size_t len = size;
	char *field = NULL;
	int r;

	if (nul) {
		field = strndup((const char *)data, (size_t)(nul - data));
		if (!field)
			return 0;
		payload = nul + 1;
		len = size - (size_t)(payload - data);
	}
	r = presence_parse(payload, len, field);
	if (r != 1 && r != 0 && r != -EINVAL)
		abort();
	free(field);
	return 0;
}
