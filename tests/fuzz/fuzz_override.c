/* fuzz_override.c -- libFuzzer target: override payloads ("ON", "off 15m", "AUTO") */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 100 years, the longest duration_parse accepts. */
#define DURATION_MAX_MS (36525LL * 24 * 3600 * 1000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum override_cmd cmd = OVERRIDE_AUTO;
	int64_t ms = 0;
	int r;

	r = override_parse(data, size, &cmd, &ms);
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0) {
		if (cmd != OVERRIDE_AUTO && cmd != OVERRIDE_ON && cmd != OVERRIDE_OFF)
			abort();
		if (ms != -1 && (ms < 0 || ms > DURATION_MAX_MS))
			abort();
		if (cmd == OVERRIDE_AUTO && ms != -1)
			abort();
	}
	return 0;
}
