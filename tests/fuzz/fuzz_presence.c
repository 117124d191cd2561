/* fuzz_presence.c -- libFuzzer target: the two-state reports, presence and lamp, plain and JSON */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "field.h"
#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: see field.h (the JSON field; none: each parser's default). Presence and lamp reports
 * share their parser and differ in words: both answer 1, 0 or -EINVAL.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload;
	size_t len;
	char *field;
	int r;

	if (field_split(data, size, &field, &payload, &len) < 0)
		return 0;
	r = presence_parse(payload, len, field);
	if (r != 1 && r != 0 && r != -EINVAL)
		abort();
	r = lamp_parse(payload, len, field ? field : "state");
	if (r != 1 && r != 0 && r != -EINVAL)
		abort();
	free(field);
	return 0;
}
