/* test_sun.c -- unit tests for sunrise and sunset against a table of NOAA-equation times */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "sun.h"

/*
 * Where the expected times come from. NOAA's solar calculator (gml.noaa.gov/grad/solcalc,
 * whose equations sun.c follows) cannot be reached from the build machine, and NOAA states
 * its results are within a minute of the true times below 72 degrees of latitude. So the
 * table holds the true times, from Debian 12's python3-ephem 4.1.4 (PyEphem, a full VSOP87
 * ephemeris): Observer at the site, elevation 0, pressure 0 (no refraction model of its own),
 * horizon -0:50 and use_center=True, i.e. the sun's centre at -0.833 degrees, NOAA's
 * definition; previous_rising and next_setting from the date's local solar noon. The test
 * holds sun.c to NOAA's claim: within 1 minute. (python3-astral 1.6.1, which evaluates
 * NOAA's spreadsheet at 00:00 UTC without refining at the event, is up to 3 minutes off at
 * the equinoxes, so it is not used.) Times are UTC.
 */
static const struct row {
	const char *site;
	double lat, lon;
	int y, m, d;
	const char *rise, *set; /* UTC */
} rows[] = {
	{ "Paris", 48.8566, 2.3522, 2024, 3, 21, "2024-03-21 05:50:37", "2024-03-21 18:05:31" },
	{ "Paris", 48.8566, 2.3522, 2024, 6, 21, "2024-06-21 03:47:03", "2024-06-21 19:57:57" },
	{ "Paris", 48.8566, 2.3522, 2024, 9, 22, "2024-09-22 05:37:38", "2024-09-22 17:47:42" },
	{ "Paris", 48.8566, 2.3522, 2024, 12, 21, "2024-12-21 07:41:30", "2024-12-21 15:56:16" },
	{ "Tromso", 69.6492, 18.9553, 2024, 3, 21, "2024-03-21 04:37:11", "2024-03-21 17:07:27" },
	{ "Tromso", 69.6492, 18.9553, 2024, 9, 22, "2024-09-22 04:25:48", "2024-09-22 16:45:29" },
	{ "Quito", -0.1807, -78.4678, 2024, 6, 21, "2024-06-21 11:12:29", "2024-06-21 23:19:12" },
	{ "Quito", -0.1807, -78.4678, 2024, 12, 21, "2024-12-21 11:08:13", "2024-12-21 23:16:20" },
	/* Southern winter: the local date's sunrise is the evening before in UTC. */
	{ "Sydney", -33.8688, 151.2093, 2024, 6, 21, "2024-06-20 21:00:04", "2024-06-21 06:53:55" },
	{ "Sydney", -33.8688, 151.2093, 2024, 12, 21, "2024-12-20 18:40:52", "2024-12-21 09:05:38" },
	/* West of Greenwich, the local date's sunset is after midnight UTC. */
	{ "New York", 40.7128, -74.006, 2024, 6, 21, "2024-06-21 09:25:08", "2024-06-22 00:30:50" },
	{ "New York", 40.7128, -74.006, 2024, 12, 21, "2024-12-21 12:16:49", "2024-12-21 21:32:02" },
};

static time_t utc(const char *s)
{
	struct tm tm = { 0 };

	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void test_noaa_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct sun_site site = { r->lat, r->lon };
		time_t rise = 0, set = 0;
		long dr, ds;

		if (sun_times(r->y, r->m, r->d, &site, &rise, &set) != SUN_NORMAL)
			fail_msg("%s %d-%d-%d: no sunrise", r->site, r->y, r->m, r->d);
		dr = labs((long)(rise - utc(r->rise)));
		ds = labs((long)(set - utc(r->set)));
		if (dr > 60 || ds > 60)
			fail_msg("%s %d-%02d-%02d: rise off by %lds, set off by %lds", r->site, r->y,
				 r->m, r->d, dr, ds);
	}
}

static void test_polar(void **state)
{
	struct sun_site tromso = { 69.6492, 18.9553 }, svalbard = { 78.2232, 15.6267 };
	struct sun_site mcmurdo = { -77.846, 166.676 };
	time_t rise = 1, set = 2;

	(void)state;
	assert_int_equal(sun_times(2024, 6, 21, &tromso, &rise, &set), SUN_POLAR_DAY);
	assert_int_equal(sun_times(2024, 12, 21, &tromso, &rise, &set), SUN_POLAR_NIGHT);
	assert_int_equal(sun_times(2024, 6, 21, &svalbard, &rise, &set), SUN_POLAR_DAY);
	assert_int_equal(sun_times(2024, 12, 21, &svalbard, &rise, &set), SUN_POLAR_NIGHT);
	/* The south has its polar day in December. */
	assert_int_equal(sun_times(2024, 12, 21, &mcmurdo, &rise, &set), SUN_POLAR_DAY);
	assert_int_equal(sun_times(2024, 6, 21, &mcmurdo, &rise, &set), SUN_POLAR_NIGHT);
	/* Left alone on a polar day. */
	assert_int_equal(rise, 1);
	assert_int_equal(set, 2);
	/* Svalbard in March has both again. */
	assert_int_equal(sun_times(2024, 3, 21, &svalbard, &rise, &set), SUN_NORMAL);
	assert_true(rise < set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noaa_table),
		cmocka_unit_test(test_polar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
