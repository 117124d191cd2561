/* test_presence.c -- unit tests for the occupancy state machine */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "presence.h"

#define MIN (60 * 1000LL)
#define VACANCY (15 * MIN)

static bool occupied(const struct presence *p, unsigned n, int64_t now, int64_t *deadline)
{
	return presence_occupied(p, n, VACANCY, now, deadline);
}

static void test_unheard_sensors_count_as_present(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	assert_true(occupied(&p, 2, 1000 * MIN, &deadline));
	assert_int_equal(deadline, -1);
	/* One of two said absent: the other, silent, still counts as present. */
	presence_report(&p, 2, 0, false, 1000);
	assert_true(occupied(&p, 2, 1000 * MIN, &deadline));
	assert_int_equal(deadline, -1);
}

static void test_vacant_after_the_last_absence(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 2, 0, true, 0);
	presence_report(&p, 2, 1, false, 0);
	assert_true(occupied(&p, 2, 5 * MIN, &deadline));
	assert_int_equal(deadline, -1);
	/* Sensor 0 goes quiet at 10 min: vacant at 25 min, not before. */
	presence_report(&p, 2, 0, false, 10 * MIN);
	assert_true(occupied(&p, 2, 10 * MIN, &deadline));
	assert_int_equal(deadline, 25 * MIN);
	assert_true(occupied(&p, 2, 25 * MIN - 1, &deadline));
	assert_false(occupied(&p, 2, 25 * MIN, &deadline));
	assert_int_equal(deadline, -1);
}

static void test_repeated_absence_does_not_extend(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 1, 0, false, 0);
	/* A sensor that says "no one" every minute does not keep the room lit. */
	presence_report(&p, 1, 0, false, 5 * MIN);
	presence_report(&p, 1, 0, false, 10 * MIN);
	assert_true(occupied(&p, 1, 10 * MIN, &deadline));
	assert_int_equal(deadline, 15 * MIN);
	assert_false(occupied(&p, 1, 15 * MIN, &deadline));
}

static void test_presence_again_restarts(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 1, 0, false, 0);
	assert_false(occupied(&p, 1, 20 * MIN, &deadline));
	presence_report(&p, 1, 0, true, 30 * MIN);
	assert_true(occupied(&p, 1, 30 * MIN, &deadline));
	assert_int_equal(deadline, -1);
	/* A lasting presence is one report: still occupied an hour on. */
	assert_true(occupied(&p, 1, 90 * MIN, &deadline));
	presence_report(&p, 1, 0, false, 100 * MIN);
	assert_true(occupied(&p, 1, 110 * MIN, &deadline));
	assert_int_equal(deadline, 115 * MIN);
}

static void test_sixteen_sensors_and_out_of_range(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	for (unsigned i = 0; i < PRESENCE_SENSORS; i++)
		presence_report(&p, PRESENCE_SENSORS, i, false, (int64_t)i * MIN);
	/* The last of them, sensor 15 at 15 min, starts the vacancy time. */
	assert_true(occupied(&p, PRESENCE_SENSORS, 20 * MIN, &deadline));
	assert_int_equal(deadline, 30 * MIN);
	/* Reports beyond the zone's sensors are ignored. */
	presence_report(&p, PRESENCE_SENSORS, PRESENCE_SENSORS, true, 21 * MIN);
	assert_false(occupied(&p, PRESENCE_SENSORS, 30 * MIN, &deadline));
}

static void test_no_sensors(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 0, 0, false, 0);
	assert_true(occupied(&p, 0, 100 * MIN, &deadline));
	assert_int_equal(deadline, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unheard_sensors_count_as_present),
		cmocka_unit_test(test_vacant_after_the_last_absence),
		cmocka_unit_test(test_repeated_absence_does_not_extend),
		cmocka_unit_test(test_presence_again_restarts),
		cmocka_unit_test(test_sixteen_sensors_and_out_of_range),
		cmocka_unit_test(test_no_sensors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
