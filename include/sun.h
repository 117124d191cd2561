/* sun.h -- sunrise and sunset for a date and a place: NOAA's solar position equations */
#ifndef PYLIGHT_SUN_H
#define PYLIGHT_SUN_H

#include <time.h>

/* A place on Earth in decimal degrees: latitude north positive, longitude east positive. */
struct sun_site {
	double lat; /* -90..90 */
	double lon; /* -180..180 */
};

/* What a day brings: a sunrise and a sunset, or the sun up (down) for all of it. */
enum sun_day { SUN_NORMAL, SUN_POLAR_DAY, SUN_POLAR_NIGHT };

/*
 * The sunrise and sunset of the calendar date year-month-day (month 1..12) at `site`, by
 * NOAA's solar calculator equations (the sun's upper limb at -0.833 degrees: 0.833 for
 * refraction and the sun's radius, no allowance for the observer's height). On SUN_NORMAL,
 * *rise and *set are instants (accurate to about a minute between 72 degrees north and
 * south); on a polar day or night they are left alone. Pure: no clock, no time zone. (Should
 * libm fail to load, every day is a polar night: lights scheduled for the night stay ON.)
 */
enum sun_day sun_times(int year, int month, int day, const struct sun_site *site, time_t *rise,
		       time_t *set);

#endif
