/* fuzz_reading.c -- libFuzzer target: reading payloads, plain and JSON, with or without json_field
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: see field.h (json_field = FIELD). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload;
	size_t len;
	char *field;
	double lux = -1;
	int r;

	if (field_split(data, size, &field, &payload, &len) < 0)
		return 0;
	r = reading_parse(payload, len, field, &lux);
	/* The contract: 0 with a finite lux >= 0 (and never -0), else -EINVAL. */
	if (r == 0 && (!isfinite(lux) || lux < 0 || signbit(lux)))
		abort();
	if (r != 0 && r != -EINVAL)
		abort();
	free(field);
	return 0;
}
