/* test_orderlog.c -- unit tests of the order lines' limit: all of them until a flood */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "orderlog.h"

static void test_a_building_logs_every_order(void **state)
{
	struct orderlog o = { 0 };

	(void)state;
	/* A few orders a minute, for hours: each logged, nothing ever counted. */
	for (int64_t t = 5000; t < 4 * 3600 * 1000; t += 20000) {
		assert_true(orderlog_take(&o, t));
		assert_int_equal(orderlog_next(&o), INT64_MAX);
		assert_int_equal(orderlog_due(&o, t), 0);
	}
}

static void test_a_flood_is_counted_and_said_once_per_window(void **state)
{
	struct orderlog o = { 0 };
	int logged = 0;

	(void)state;
	for (int i = 0; i < 1000; i++)
		logged += orderlog_take(&o, 1000 + i);
	assert_int_equal(logged, ORDERLOG_LINES);
	assert_int_equal(orderlog_next(&o), 1000 + ORDERLOG_WINDOW_MS);
	assert_int_equal(orderlog_due(&o, 1000 + ORDERLOG_WINDOW_MS - 1), 0);
	assert_int_equal(orderlog_due(&o, 1000 + ORDERLOG_WINDOW_MS), 1000 - ORDERLOG_LINES);
	assert_int_equal(orderlog_next(&o), INT64_MAX);
	/* The count took a line of the next window: 99 more orders are logged there. */
	logged = 0;
	for (int i = 0; i < 200; i++)
		logged += orderlog_take(&o, 1000 + ORDERLOG_WINDOW_MS + 1 + i);
	assert_int_equal(logged, ORDERLOG_LINES - 1);
	assert_int_equal(orderlog_due(&o, 1000 + 2 * ORDERLOG_WINDOW_MS), 200 - (ORDERLOG_LINES - 1));
}

static void test_orders_after_the_window_before_its_count_are_counted(void **state)
{
	struct orderlog o = { 0 };

	(void)state;
	for (int i = 0; i <= ORDERLOG_LINES; i++)
		orderlog_take(&o, 0);
	/* The timer runs late: orders in between are counted, not logged out of turn. */
	assert_false(orderlog_take(&o, ORDERLOG_WINDOW_MS + 5));
	assert_int_equal(orderlog_due(&o, ORDERLOG_WINDOW_MS + 10), 2);
}

static void test_a_quiet_window_ends_without_a_word(void **state)
{
	struct orderlog o = { 0 };

	(void)state;
	for (int i = 0; i < ORDERLOG_LINES; i++)
		assert_true(orderlog_take(&o, i));
	assert_int_equal(orderlog_next(&o), INT64_MAX);
	/* Right after the window, a fresh allowance. */
	assert_true(orderlog_take(&o, ORDERLOG_WINDOW_MS));
	assert_int_equal(orderlog_due(&o, 2 * ORDERLOG_WINDOW_MS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_building_logs_every_order),
		cmocka_unit_test(test_a_flood_is_counted_and_said_once_per_window),
		cmocka_unit_test(test_orders_after_the_window_before_its_count_are_counted),
		cmocka_unit_test(test_a_quiet_window_ends_without_a_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
