/* test_schedule.c -- unit tests for the schedule syntax and its local-time window arithmetic */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "schedule.h"

static const struct sun_site paris = { 48.8566, 2.3522 };
static const struct sun_site svalbard = { 78.2232, 15.6267 };

/* Every test runs in Paris: CET/CEST, clocks forward on 2024-03-31, back on 2024-10-27. */
static int paris_tz(void **state)
{
	(void)state;
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	return 0;
}

/* "2024-03-31 01:00" in UTC, so that expectations do not depend on the code under test. */
static time_t utc(const char *s)
{
	struct tm tm = { 0 };

	if (sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min) != 5)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static struct schedule *parse(const char *text)
{
	struct schedule *s = NULL;
	char err[160];

	if (schedule_parse(text, strlen(text), &s, err, sizeof(err)) != 0)
		fail_msg("'%s' rejected: %s", text, err);
	return s;
}

static void expect_format(const char *text, const char *want)
{
	struct schedule *s = parse(text), *again;
	char buf[512];

	schedule_format(s, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("'%s' formats as '%s', want '%s'", text, buf, want);
	/* The canonical spelling parses back to the same windows. */
	again = parse(buf);
	assert_int_equal(again->n, s->n);
	assert_memory_equal(again->w, s->w, s->n * sizeof(s->w[0]));
	schedule_free(again);
	schedule_free(s);
}

static void expect_error(const char *text, const char *want)
{
	struct schedule *s = (struct schedule *)1;
	char err[160];

	if (schedule_parse(text, strlen(text), &s, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' accepted", text);
	assert_null(s);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' does not say '%s'", text, err, want);
}

static void test_parse_good(void **state)
{
	(void)state;
	expect_format("Mon-Fri 07:00-19:00", "Mon-Fri 07:00-19:00");
	expect_format("daily 22:00-06:00", "daily 22:00-06:00");
	expect_format("7:05-9:00", "daily 07:05-09:00");
	expect_format("Mon,Wed,Fri 08:00-12:00", "Mon,Wed,Fri 08:00-12:00");
	expect_format("mon , wed 08:00 - 12:00", "Mon,Wed 08:00-12:00");
	expect_format("Sat,Sun 09:00-12:00, Mon-Fri 07:00-19:00",
		      "Sat,Sun 09:00-12:00, Mon-Fri 07:00-19:00");
	/* A list's comma and the windows' comma, told apart by what comes before. */
	expect_format("Mon,Wed 07:00-09:00, Fri 08:00-12:00,Sat 10:00-11:00",
		      "Mon,Wed 07:00-09:00, Fri 08:00-12:00, Sat 10:00-11:00");
	expect_format("Fri-Mon 10:00-11:00", "Mon,Fri-Sun 10:00-11:00");
	expect_format("Mon-Wed,Fri 10:00-11:00", "Mon-Wed,Fri 10:00-11:00");
	expect_format("Mon-Sun 10:00-11:00", "daily 10:00-11:00");
	expect_format("sunset-sunrise", "daily sunset-sunrise");
	expect_format("daily sunset-30m-sunrise+15m", "daily sunset-30m-sunrise+15m");
	expect_format("Mon-Fri sunset-06:00", "Mon-Fri sunset-06:00");
	expect_format("sunrise+1h-sunset-90s", "daily sunrise+1h-sunset-90s");
	expect_format("06:00-sunrise+120m", "daily 06:00-sunrise+2h");
	expect_format("SUNSET-23:00", "daily sunset-23:00");
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_error("Mon-Fry 07:00-19:00", "unknown day 'Fry'");
	expect_error("Monday 07:00-19:00", "unknown day 'Monday'");
	expect_error("Mon 25:00-19:00", "bad time '25:00-19:00'");
	expect_error("Mon 07:60-19:00", "bad time");
	expect_error("Mon 07:00-1900", "bad time '1900'");
	expect_error("Mon 7-19", "bad time");
	expect_error("sunset-30x-sunrise", "bad offset '-30x-sunrise'");
	expect_error("sunset+sunrise", "bad offset");
	expect_error("sunset-6-sunrise", "bad offset");
	expect_error("sunset-13h-sunrise", "more than 12h");
	expect_error("Mon,,Wed 07:00-08:00", "bad list of days");
	expect_error("Mon, 07:00-08:00", "bad list of days");
	expect_error("daily,Mon 07:00-08:00", "'daily' cannot be part of a list");
	expect_error("Mon", "missing START-END");
	expect_error("Mon 07:00", "expected '-' between START and END");
	expect_error("Mon 07:00-", "missing time");
	expect_error("Mon 07:00-08:00,", "empty window");
	expect_error("Mon 07:00-08:00 Tue 09:00-10:00", "expected ',' between windows");
	expect_error("Mon07:00-08:00", "expected white space then START-END");
	expect_error("", "empty window");
	expect_error("1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,"
		     "1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,1:00-2:00,"
		     "1:00-2:00,1:00-2:00,1:00-2:00", "more than 16 windows");
}

static void test_uses_sun(void **state)
{
	struct schedule *a = parse("Mon-Fri 07:00-19:00"), *b = parse("07:00-sunrise");

	(void)state;
	assert_false(schedule_uses_sun(a));
	assert_true(schedule_uses_sun(b));
	schedule_free(a);
	schedule_free(b);
	schedule_free(NULL);
}

/* Inside or not at `when` (UTC), and the next edge (UTC). */
static void expect_at(const struct schedule *s, const struct sun_site *site, const char *when,
		      bool inside, const char *next)
{
	time_t n = 0;
	bool in = schedule_at(s, site, utc(when), &n);

	if (in != inside || n != utc(next)) {
		struct tm tm;
		char got[32];

		gmtime_r(&n, &tm);
		strftime(got, sizeof(got), "%Y-%m-%d %H:%M:%S", &tm);
		fail_msg("at %s UTC: %s, next %s UTC; want %s, next %s", when,
			 in ? "inside" : "outside", got, inside ? "inside" : "outside", next);
	}
}

static void test_office_week(void **state)
{
	struct schedule *s = parse("Mon-Fri 07:00-19:00");

	(void)state;
	/* Wednesday 2024-06-12, CEST (UTC+2). */
	expect_at(s, NULL, "2024-06-12 04:59", false, "2024-06-12 05:00");
	expect_at(s, NULL, "2024-06-12 05:00", true, "2024-06-12 17:00");
	expect_at(s, NULL, "2024-06-12 16:59", true, "2024-06-12 17:00");
	expect_at(s, NULL, "2024-06-12 17:00", false, "2024-06-13 05:00");
	/* Friday evening: the next edge is Monday morning. */
	expect_at(s, NULL, "2024-06-14 18:00", false, "2024-06-17 05:00");
	expect_at(s, NULL, "2024-06-15 10:00", false, "2024-06-17 05:00");
	schedule_free(s);
}

static void test_midnight_crossing(void **state)
{
	struct schedule *daily = parse("22:00-06:00"), *fri = parse("Fri 22:00-06:00");

	(void)state;
	expect_at(daily, NULL, "2024-06-12 21:00", true, "2024-06-13 04:00");
	expect_at(daily, NULL, "2024-06-12 03:59", true, "2024-06-12 04:00");
	expect_at(daily, NULL, "2024-06-12 04:00", false, "2024-06-12 20:00");
	/* Friday 2024-06-14 22:00 CEST into Saturday 06:00; not Thursday, not Saturday night. */
	expect_at(fri, NULL, "2024-06-13 21:00", false, "2024-06-14 20:00");
	expect_at(fri, NULL, "2024-06-14 20:00", true, "2024-06-15 04:00");
	expect_at(fri, NULL, "2024-06-15 01:00", true, "2024-06-15 04:00");
	expect_at(fri, NULL, "2024-06-15 04:00", false, "2024-06-21 20:00");
	expect_at(fri, NULL, "2024-06-15 21:00", false, "2024-06-21 20:00");
	schedule_free(daily);
	schedule_free(fri);
}

static void test_lists_and_overlaps(void **state)
{
	struct schedule *list = parse("Mon,Wed,Fri 08:00-09:00");
	struct schedule *wrap = parse("Sat-Mon 10:00-11:00");
	/* Touching and overlapping windows are one: no edge where they meet. */
	struct schedule *joined = parse("08:00-12:00, 12:00-14:00, 13:00-18:00");

	(void)state;
	/* Monday 2024-06-10. */
	expect_at(list, NULL, "2024-06-10 06:30", true, "2024-06-10 07:00");
	expect_at(list, NULL, "2024-06-10 07:00", false, "2024-06-12 06:00");
	expect_at(list, NULL, "2024-06-12 07:00", false, "2024-06-14 06:00");
	expect_at(wrap, NULL, "2024-06-11 09:00", false, "2024-06-15 08:00");
	expect_at(wrap, NULL, "2024-06-16 08:30", true, "2024-06-16 09:00");
	expect_at(wrap, NULL, "2024-06-16 09:00", false, "2024-06-17 08:00");
	expect_at(joined, NULL, "2024-06-10 09:00", true, "2024-06-10 16:00");
	schedule_free(list);
	schedule_free(wrap);
	schedule_free(joined);
}

/* 2024-03-31: Paris goes from 02:00 CET (01:00 UTC) straight to 03:00 CEST. */
static void test_dst_gap(void **state)
{
	struct schedule *in_gap = parse("02:30-05:00"), *ends_in_gap = parse("22:00-02:30");
	struct schedule *all_gap = parse("02:10-02:50"), *office = parse("07:00-19:00");

	(void)state;
	/* The skipped 02:30 happens at the first instant after the gap, 03:00 CEST. */
	expect_at(in_gap, NULL, "2024-03-31 00:59", false, "2024-03-31 01:00");
	expect_at(in_gap, NULL, "2024-03-31 01:00", true, "2024-03-31 03:00");
	/* The day before and after, 02:30 is an ordinary time. */
	expect_at(in_gap, NULL, "2024-03-30 00:00", false, "2024-03-30 01:30");
	expect_at(in_gap, NULL, "2024-04-01 00:00", false, "2024-04-01 00:30");
	expect_at(ends_in_gap, NULL, "2024-03-30 22:00", true, "2024-03-31 01:00");
	/* A window wholly in the gap is empty that day, not 24 hours long. */
	expect_at(all_gap, NULL, "2024-03-31 00:30", false, "2024-04-01 00:10");
	/* Wall-clock windows follow the clock across the change: 07:00 is 06:00 then 05:00 UTC. */
	expect_at(office, NULL, "2024-03-30 12:00", true, "2024-03-30 18:00");
	expect_at(office, NULL, "2024-03-30 18:00", false, "2024-03-31 05:00");
	expect_at(office, NULL, "2024-03-31 05:00", true, "2024-03-31 17:00");
	schedule_free(in_gap);
	schedule_free(ends_in_gap);
	schedule_free(all_gap);
	schedule_free(office);
}

/* 2024-10-27: Paris goes from 03:00 CEST (01:00 UTC) back to 02:00 CET: 02:xx happens twice. */
static void test_dst_repeat(void **state)
{
	struct schedule *starts = parse("02:30-04:00"), *ends = parse("22:00-02:30");
	struct schedule *office = parse("07:00-19:00");

	(void)state;
	/* The first 02:30 (CEST, 00:30 UTC) is the edge; the second changes nothing. */
	expect_at(starts, NULL, "2024-10-27 00:00", false, "2024-10-27 00:30");
	expect_at(starts, NULL, "2024-10-27 00:30", true, "2024-10-27 03:00");
	expect_at(starts, NULL, "2024-10-27 01:30", true, "2024-10-27 03:00");
	expect_at(ends, NULL, "2024-10-26 21:00", true, "2024-10-27 00:30");
	expect_at(ends, NULL, "2024-10-27 00:30", false, "2024-10-27 21:00");
	expect_at(ends, NULL, "2024-10-27 01:30", false, "2024-10-27 21:00");
	expect_at(office, NULL, "2024-10-26 12:00", true, "2024-10-26 17:00");
	expect_at(office, NULL, "2024-10-27 12:00", true, "2024-10-27 18:00");
	schedule_free(starts);
	schedule_free(ends);
	schedule_free(office);
}

static void test_sun_windows(void **state)
{
	struct schedule *night = parse("sunset-30m-sunrise+15m"), *evening = parse("sunset-23:00");
	time_t rise, set, rise2, set2, next;
	bool in;

	(void)state;
	assert_int_equal(sun_times(2024, 6, 21, &paris, &rise, &set), SUN_NORMAL);
	assert_int_equal(sun_times(2024, 6, 22, &paris, &rise2, &set2), SUN_NORMAL);
	/* Noon: outside until 30 minutes before sunset. */
	in = schedule_at(night, &paris, utc("2024-06-21 10:00"), &next);
	assert_false(in);
	assert_int_equal(next, set - 1800);
	in = schedule_at(night, &paris, set - 1800, &next);
	assert_true(in);
	assert_int_equal(next, rise2 + 900);
	in = schedule_at(night, &paris, rise2 + 900, &next);
	assert_false(in);
	assert_int_equal(next, set2 - 1800);
	/* Sunset (19:58 UTC) to 23:00 CEST (21:00 UTC). */
	in = schedule_at(evening, &paris, utc("2024-06-21 20:30"), &next);
	assert_true(in);
	assert_int_equal(next, utc("2024-06-21 21:00"));
	/* 2024-06-21 sunrise, NOAA: 03:47 UTC; the sun's 2024-06-22 one is a few s later. */
	assert_true(rise2 >= utc("2024-06-22 03:46") && rise2 <= utc("2024-06-22 03:48"));
	schedule_free(night);
	schedule_free(evening);
}

/* At 78 N, the sun does not set from late April to late August, nor rise from November. */
static void test_polar(void **state)
{
	struct schedule *night = parse("sunset-sunrise"), *day = parse("sunrise-sunset");
	struct schedule *early = parse("06:00-sunrise");
	time_t next;

	(void)state;
	/* June: a night window is none, a day window all day, with no edge for a week. */
	assert_false(schedule_at(night, &svalbard, utc("2024-06-21 12:00"), &next));
	assert_true(next > utc("2024-06-27 12:00"));
	assert_true(schedule_at(day, &svalbard, utc("2024-06-21 12:00"), &next));
	assert_true(next > utc("2024-06-27 12:00"));
	assert_false(schedule_at(early, &svalbard, utc("2024-06-21 05:00"), &next));
	/* December: the other way round. */
	assert_true(schedule_at(night, &svalbard, utc("2024-12-21 12:00"), &next));
	assert_true(next > utc("2024-12-27 12:00"));
	assert_false(schedule_at(day, &svalbard, utc("2024-12-21 12:00"), &next));
	assert_true(schedule_at(early, &svalbard, utc("2024-12-21 12:00"), &next));
	/* Asked again when nothing came: still the same answer. */
	assert_true(schedule_at(night, &svalbard, next, &next));
	schedule_free(night);
	schedule_free(day);
	schedule_free(early);
}

/* At the end of the polar night the window's days join up with the first sunrise. */
static void test_polar_edge(void **state)
{
	struct schedule *night = parse("sunset-sunrise");
	struct sun_site tromso = { 69.6492, 18.9553 };
	time_t next, rise, set;
	int y = 2024, m = 1, d = 1;

	(void)state;
	/* Find the first day of January 2024 in Tromsø with a sunrise. */
	while (sun_times(y, m, d, &tromso, &rise, &set) != SUN_NORMAL)
		d++;
	assert_true(d > 5 && d < 25);
	/* Two days before: inside all day, and the next edge is that first sunrise. */
	assert_true(schedule_at(night, &tromso, rise - 2 * 86400, &next));
	assert_int_equal(next, rise);
	schedule_free(night);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_uses_sun),
		cmocka_unit_test(test_office_week),
		cmocka_unit_test(test_midnight_crossing),
		cmocka_unit_test(test_lists_and_overlaps),
		cmocka_unit_test(test_dst_gap),
		cmocka_unit_test(test_dst_repeat),
		cmocka_unit_test(test_sun_windows),
		cmocka_unit_test(test_polar),
		cmocka_unit_test(test_polar_edge),
	};

	return cmocka_run_group_tests(tests, paris_tz, NULL);
}
