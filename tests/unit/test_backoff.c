/* test_backoff.c -- restart waits: doubled from the shortest, capped, started over */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void test_backoff_doubles_up_to_max(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 1, 10);
	assert_int_equal(backoff_peek(&b), 1);
	assert_int_equal(backoff_next(&b), 1);
	assert_int_equal(backoff_next(&b), 2);
	assert_int_equal(backoff_next(&b), 4);
	assert_int_equal(backoff_next(&b), 8);
	assert_int_equal(backoff_peek(&b), 10);
	assert_int_equal(backoff_next(&b), 10);
	assert_int_equal(backoff_next(&b), 10);
}

static void test_backoff_reset_starts_over(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 3, 3600);
	backoff_next(&b);
	backoff_next(&b);
	assert_int_equal(backoff_peek(&b), 12);
	backoff_reset(&b);
	assert_int_equal(backoff_next(&b), 3);
	assert_int_equal(backoff_next(&b), 6);
}

static void test_backoff_min_equal_max_and_no_overflow(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 5, 5);
	assert_int_equal(backoff_next(&b), 5);
	assert_int_equal(backoff_next(&b), 5);
	backoff_init(&b, 1, 2147483647);
	for (int i = 0; i < 40; i++)
		assert_true(backoff_next(&b) > 0);
	assert_int_equal(backoff_peek(&b), 2147483647);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_up_to_max),
		cmocka_unit_test(test_backoff_reset_starts_over),
		cmocka_unit_test(test_backoff_min_equal_max_and_no_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
