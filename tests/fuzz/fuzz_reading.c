/* fuzz_reading.c -- libFuzzer target: reading payloads, plain and JSON, with or without json_field
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: the payload alone (no json_field), or FIELD NUL PAYLOAD (json_field = FIELD, which
 * may be empty). A payload with a NUL of its own is still reachable after the first NUL.
 * The payload is left where libFuzzer put it, at the end of its exactly sized buffer, so that
 * reading one byte past it is caught.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	const uint8_t *payload = data;
	size_t len = size;
	char *field = NULL;
	double lux = -1;
	int r;

	if (nul) {
		field = strndup((const char *)data, (size_t)(nul - data));
		if (!field)
			return 0;
		payload = nul + 1;
		len = size - (size_t)(payload - data);
	}
	r = reading_parse(payload, len, field, &lux);
	/* The contract: 0 with a finite lux >= 0 (and never -0), else -EINVAL. */
	if (r == 0 && (!isfinite(lux) || lux < 0 || signbit(lux)))
		abort();
	if (r != 0 && r != -EINVAL)
		abort();
	free(field);
	return 0;
}
