/* fuzz_schedule.c -- libFuzzer target: the schedule syntax, its canonical spelling and windows */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sun_site sites[] = { { 48.8566, 2.3522 }, { 78.2232, 15.6267 } };
	struct schedule *s = NULL, *again = NULL;
	char err[160], text[SCHEDULE_WINDOWS * 48];
	time_t now, next;
	int r;

	setenv("TZ", "Europe/Paris", 1);
	r = schedule_parse((const char *)data, size, &s, err, sizeof(err));
	/* The contract: 0 with a schedule, or -EINVAL with a reason and nothing handed back. */
	if (r != 0) {
		if (r != -EINVAL || s || !err[0] || !memchr(err, '\0', sizeof(err)))
			abort();
		return 0;
	}
	if (!s || s->n < 1 || s->n > SCHEDULE_WINDOWS)
		abort();
	/* The canonical spelling (what -t shows) parses back to the same windows. */
	schedule_format(s, text, sizeof(text));
	if (schedule_parse(text, strlen(text), &again, err, sizeof(err)) != 0 ||
	    again->n != s->n || memcmp(again->w, s->w, s->n * sizeof(s->w[0])) != 0)
		abort();
	/* Around a DST change, near the pole and not: the next edge always lies ahead. */
	now = 1711846800 + (time_t)(size * 7919 % (400 * 86400)); /* 2024-03-31 01:00 UTC on */
	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		bool in = schedule_at(s, &sites[i], now, &next);

		if (next <= now || next > now + 10 * 86400)
			abort();
		/* Just before the edge nothing has changed yet. */
		if (next - 1 > now && schedule_at(s, &sites[i], next - 1, &next) != in)
			abort();
	}
	schedule_free(again);
	schedule_free(s);
	return 0;
}
