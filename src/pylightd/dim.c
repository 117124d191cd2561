/* dim.c -- the dimming controller: add just the light that daylight lacks, without hunting */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dim.h"
#include "number.h"

double dim_daylight(const struct zone_params *p, int level, double lux)
{
	return level > 0 ? lux - p->lamp_lux * level / 100.0 : lux;
}

double dim_daylight_shown(double daylight)
{
	return daylight > 0 ? daylight : 0; /* -0 too: it would print as "-0" */
}

/*
 * The level that makes up the difference, from a zone that is at `level`. A want between 0
 * and level_min is raised to level_min while ON. From OFF it is rounded to the nearer of 0 and
 * level_min instead: the lamp comes on only when level_min brings the room nearer the target
 * than darkness does. Without that margin a lamp stronger than lamp_lux would flap: ON at
 * level_min, its extra light read as daylight at or above target, OFF, and again.
 */
static double dim_wanted(const struct zone_params *p, int level, double daylight)
{
	double w;

	if (daylight >= p->target_lux)
		return 0;
	w = (p->target_lux - daylight) / p->lamp_lux * 100;
	if (w > 100)
		return 100;
	if (w >= p->level_min)
		return w;
	if (level <= 0 && w < p->level_min / 2.0)
		return 0;
	return p->level_min;
}

void dim_step(const struct zone_params *p, int level, double daylight, bool may_switch,
	      struct dim_result *r)
{
	int from = level > 0 ? level : 0, step = p->max_step, band, next;
	double delta;

	/* A change of max_step is always published, or a deadband above it would freeze the lamp. */
	band = p->deadband < 1 ? 1 : p->deadband > step ? step : p->deadband;
	r->daylight = daylight;
	r->wanted = dim_wanted(p, level, daylight);
	r->held = false;

	/*
	 * Truncated toward the level in force, not rounded: with a lamp stronger than lamp_lux a
	 * full correction overshoots, and rounding can then bounce between two neighbouring
	 * levels for ever; truncated, every published change shrinks the error, so the levels
	 * settle (the lamp's gain error only has to stay under 100 %).
	 */
	delta = r->wanted - from;
	if (delta > step)
		delta = step;
	else if (delta < -step)
		delta = -step;
	next = from + (int)delta;
	/* Never between 0 and level_min: up to level_min, or down through it to OFF. */
	if (next > 0 && next < p->level_min)
		next = r->wanted > 0 ? p->level_min : 0;

	if ((next > 0) != (from > 0) && !may_switch && level != DIM_UNKNOWN) {
		r->held = true;
		next = from > 0 ? (from < p->level_min ? from : p->level_min) : 0;
	}
	r->edge = level == DIM_UNKNOWN || (next > 0) != (from > 0);
	r->publish = r->edge || abs(next - from) >= band;
	r->level = r->publish ? next : from;
}

/*
 * Written by hand, not by snprintf: a dimmed zone publishes a level on most readings, and
 * printf's machinery cost as much as the rest of deciding it (tests/unit/test_dim.c holds
 * these bytes to snprintf's for every level).
 */
int dim_payload(enum level_payload kind, int level, char *buf, size_t size)
{
	static const char off[] = "{\"state\":\"OFF\"}", on[] = "{\"state\":\"ON\",\"brightness\":";
	char text[sizeof(on) + NUMBER_INT_MAX];
	size_t n;

	if (level < 0)
		level = 0;
	else if (level > 100)
		level = 100;
	if (kind == LEVEL_PAYLOAD_PERCENT) {
		n = number_put_int(text, level);
	} else if (level == 0) {
		n = sizeof(off) - 1;
		memcpy(text, off, n);
	} else {
		unsigned brightness = (unsigned)(int)(level * 2.54 + 0.5);

		n = sizeof(on) - 1;
		memcpy(text, on, n);
		n += number_put_int(text + n, brightness);
		text[n++] = '}';
	}
	if (n >= size)
		return -ENOSPC;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return (int)n;
}
