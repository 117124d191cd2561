/* fuzz_thresholds.c -- libFuzzer target: ref.txt parsing, and the round trip through its dump */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcheck.h"
#include "errlist.h"
#include "thresholds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The dump as a malloc'd string: a memory stream, not /dev/null, so that it can be re-parsed. */
static char *dump(const struct thresholds *t, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	thresholds_dump(t, f);
	if (fclose(f) != 0)
		abort();
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist errs = { 0 };
	struct thresholds *t = NULL, *again = NULL;
	const struct zone_params *p;
	char *text, *text2, line[256];
	size_t len, len2;
	int r;

	r = thresholds_parse("ref.txt", (const char *)data, size, &(struct thresholds_opts){ .site = true }, &t, &errs);
	if (r < 0) {
		/* Rejected: reported, and nothing handed back. */
		if ((r != -EINVAL && r != -ENOMEM) || t || errs.count == 0)
			abort();
		errcheck(&errs, "ref.txt", text_lines(data, size));
		errlist_clear(&errs);
		return 0;
	}
	if (r != 0 || !t || errs.count != 0)
		abort();

	p = thresholds_get(t, "");
	if (p->off_above < p->on_below || p->smoothing < 1 || p->smoothing > SMOOTHING_MAX)
		abort();
	thresholds_describe(t, line, sizeof(line));
	/* Every listed sensor is found under its number, in the range of the zone that lists it. */
	for (unsigned i = 0; i < thresholds_sensor_count(t); i++) {
		const char *zone = NULL;
		const struct zone_params *zp;

		if (thresholds_sensor(t, thresholds_sensor_name(t, i), &zone) != (int)i || !zone)
			abort();
		zp = thresholds_get(t, zone);
		if (i < zp->sensor_first || i >= zp->sensor_first + zp->sensors ||
		    zp->min_sensors > zp->sensors)
			abort();
	}

	/* Round trip: `pylightd -t` output is itself a valid ref.txt meaning the same. */
	text = dump(t, &len);
	r = thresholds_parse("ref.txt", text, len, &(struct thresholds_opts){ .site = true }, &again, &errs);
	if (r != 0) {
		fprintf(stderr, "dump rejected: %s\n---\n%s---\n", errs.kept ? errs.msg[0] : "?",
			text);
		abort();
	}
	if (thresholds_sections(again) != thresholds_sections(t))
		abort();
	text2 = dump(again, &len2);
	if (len2 != len || memcmp(text, text2, len) != 0) {
		fprintf(stderr, "dump changed on re-parse:\n---\n%s---\n%s---\n", text, text2);
		abort();
	}
	free(text2);
	free(text);
	thresholds_free(again);
	thresholds_free(t);
	return 0;
}
