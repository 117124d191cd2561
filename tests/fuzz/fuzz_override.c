/* fuzz_override.c -- libFuzzer target: override payloads ("ON", "off 15m", "AUTO", "ON 40% 1h") */
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
	enum override_cmd cmd = OVERRIDE_AUTO, plain_cmd = OVERRIDE_AUTO;
	int64_t ms = 0, plain_ms = 0;
	int r, plain, level = -2;

	r = override_parse_level(data, size, &cmd, &ms, &level);
	if (r != 0 && r != -EINVAL)
		abort();
	/* the plain parser is the same one without levels */
	plain = override_parse(data, size, &plain_cmd, &plain_ms);
	if ((plain == 0) != (r == 0 && level == -1))
		abort();
	if (plain == 0 && (plain_cmd != cmd || plain_ms != ms))
		abort();
	if (r == 0) {
		if (level != -1 && (level < 1 || level > 100 || cmd != OVERRIDE_ON))
			abort();
		if (cmd != OVERRIDE_AUTO && cmd != OVERRIDE_ON && cmd != OVERRIDE_OFF)
			abort();
		if (ms != -1 && (ms < 0 || ms > DURATION_MAX_MS))
			abort();
		if (cmd == OVERRIDE_AUTO && ms != -1)
			abort();
	}
	return 0;
}
