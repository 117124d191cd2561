/* test_reject.c -- unit tests for the names of the rejection reasons */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "reject.h"

/* Every reason has a name fit for a Prometheus label value and a JSON key, and no two match. */
static void test_every_reason_has_a_distinct_plain_name(void **state)
{
	(void)state;
	for (int i = 0; i < REJECT_REASONS; i++) {
		const char *n = reject_name((enum reject_reason)i);

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		assert_true(strlen(n) > 0);
		assert_int_equal(strspn(n, "abcdefghijklmnopqrstuvwxyz_"), strlen(n));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, reject_name((enum reject_reason)j));
	}
}

/* The names dashboards select on stay what they were. */
static void test_names_are_stable(void **state)
{
	(void)state;
	assert_string_equal(reject_name(REJECT_PAYLOAD_TOO_LARGE), "payload_too_large");
	assert_string_equal(reject_name(REJECT_BAD_READING), "bad_reading");
	assert_string_equal(reject_name(REJECT_NOT_A_SENSOR), "not_a_sensor");
	assert_string_equal(reject_name(REJECT_MAX_ZONES), "max_zones");
	assert_string_equal(reject_name(REJECT_OUT_OF_MEMORY), "out_of_memory");
	assert_string_equal(reject_name(REJECT_BAD_OVERRIDE), "bad_override");
	assert_string_equal(reject_name(REJECT_NOT_DIMMABLE), "not_dimmable");
	assert_string_equal(reject_name(REJECT_BAD_LAMP_REPORT), "bad_lamp_report");
	assert_string_equal(reject_name(REJECT_BAD_PRESENCE), "bad_presence");
	assert_string_equal(reject_name(REJECT_NO_ZONE), "no_zone");
}

static void test_out_of_range_is_unknown(void **state)
{
	(void)state;
	assert_string_equal(reject_name(REJECT_REASONS), "unknown");
	assert_string_equal(reject_name((enum reject_reason)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_reason_has_a_distinct_plain_name),
		cmocka_unit_test(test_names_are_stable),
		cmocka_unit_test(test_out_of_range_is_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
