/* test_number.c -- the strict decimal and duration rules */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "number.h"

#define PARSE(lit, out) number_parse(lit, sizeof(lit) - 1, out)
#define DURATION(lit, out) duration_parse(lit, sizeof(lit) - 1, out)

static void accepts(const char *s, size_t len, double want)
{
	double v = -12345;

	assert_int_equal(number_parse(s, len, &v), 0);
	assert_true(v == want);
}

#define ACCEPTS(lit, want) accepts(lit, sizeof(lit) - 1, want)

static void test_number_accepts_decimals(void **state)
{
	(void)state;
	ACCEPTS("523", 523);
	ACCEPTS(" 12.5\n", 12.5);
	ACCEPTS("\t7\r\n", 7);
	ACCEPTS("1e3", 1000);
	ACCEPTS("1E3", 1000);
	ACCEPTS("2.5e-1", 0.25);
	ACCEPTS("1e+2", 100);
	ACCEPTS("+5", 5);
	ACCEPTS("-5", -5);
	ACCEPTS("5.", 5);
	ACCEPTS(".5", 0.5);
	ACCEPTS("007", 7);
	ACCEPTS("1e-400", 0); /* underflow is zero, not an error */
}

static void test_number_negative_zero_is_zero(void **state)
{
	double v = 1;

	(void)state;
	assert_int_equal(PARSE("-0", &v), 0);
	assert_true(v == 0);
	assert_false(signbit(v));
	assert_int_equal(PARSE("-0.0e5", &v), 0);
	assert_false(signbit(v));
}

/* Integers short enough to skip strtod read as strtod reads them; longer ones go through it. */
static void test_number_integers_as_strtod(void **state)
{
	static const char *const ints[] = {
		"0", "-0", "+0", "1", "-1", "000000000000042", "999999999999999", "-999999999999999",
		"1000000000000000", "9007199254740993", "-9007199254740993", "123456789012345678901",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		double want = strtod(ints[i], NULL);

		accepts(ints[i], strlen(ints[i]), want == 0 ? 0 : want);
	}
}

static void test_number_rejects(void **state)
{
	static const char *const bad[] = {
		"0x10", "0X1A", "inf", "-inf", "nan", "NaN", "Infinity", "12abc", "", " ", "\n",
		"+", "-", "1e", "1e+", "e3", ".", "1..2", "1.2.3", "1 2", "1,5", "--1", "+-1",
		".e1", "1e3.5", "1e999", "-1e999", "abc",
	};
	double v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (number_parse(bad[i], strlen(bad[i]), &v) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
	assert_true(v == 42); /* untouched on error */
}

static void test_number_reads_only_len_bytes(void **state)
{
	double v;

	(void)state;
	/* Not NUL-terminated: the digits after len must not be read. */
	assert_int_equal(number_parse("123456", 3, &v), 0);
	assert_true(v == 123);
	/* A NUL inside the payload is not white space. */
	assert_int_equal(PARSE("12\0", &v), -EINVAL);
	assert_int_equal(PARSE("\0" "12", &v), -EINVAL);
	assert_int_equal(PARSE("1\0" "2", &v), -EINVAL);
}

static void test_number_rejects_overlong(void **state)
{
	char buf[80];
	double v;

	(void)state;
	memset(buf, '0', sizeof(buf));
	buf[63] = '1';
	assert_int_equal(number_parse(buf, 64, &v), 0);
	assert_true(v == 1);
	assert_int_equal(number_parse(buf, 65, &v), -EINVAL);
}

static void test_duration_units(void **state)
{
	int64_t ms = -1;

	(void)state;
	assert_int_equal(DURATION("90s", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(DURATION("15m", &ms), 0);
	assert_int_equal(ms, 15 * 60000);
	assert_int_equal(DURATION("1.5h", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(DURATION("7d", &ms), 0);
	assert_int_equal(ms, 7 * 86400000LL);
	assert_int_equal(DURATION("30", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(DURATION(" 2m \r\n", &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(DURATION("1e1s", &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(DURATION("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(DURATION("-0", &ms), 0);
	assert_int_equal(ms, 0);
}

static void test_duration_rounds_to_ms(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(DURATION("0.0016", &ms), 0);
	assert_int_equal(ms, 2);
	assert_int_equal(DURATION("0.0004s", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(DURATION("0.25", &ms), 0);
	assert_int_equal(ms, 250);
}

static void test_duration_rejects(void **state)
{
	static const char *const bad[] = {
		"15 m", "m", "s", "", " ", "5x", "5ms", "5M", "h5", "1e", "0x10s", "5s5", "inf",
		"nan",
	};
	int64_t ms = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (duration_parse(bad[i], strlen(bad[i]), &ms) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
	assert_int_equal(DURATION("5s\0", &ms), -EINVAL);
	assert_int_equal(ms, 7);
}

static void test_duration_range(void **state)
{
	int64_t ms = 7;

	(void)state;
	assert_int_equal(DURATION("-1", &ms), -ERANGE);
	assert_int_equal(DURATION("-5m", &ms), -ERANGE);
	assert_int_equal(DURATION("-0.001s", &ms), -ERANGE);
	assert_int_equal(ms, 7);
	/* 100 years of 365.25 days is the limit. */
	assert_int_equal(DURATION("876600h", &ms), 0);
	assert_int_equal(ms, INT64_C(3155760000000));
	assert_int_equal(DURATION("876601h", &ms), -ERANGE);
	assert_int_equal(DURATION("1e300", &ms), -ERANGE);
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t ms;
		const char *text;
	} cases[] = {
		{ 0, "0s" },	      { 10000, "10s" },	      { 90000, "90s" }, { 120000, "2m" },
		{ 5400000, "90m" },   { 7200000, "2h" },      { 604800000, "7d" },
		{ 1500, "1.5s" },     { 1, "0.001s" },
	};
	char buf[40];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t back = -1;

		duration_format(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
		/* What -t prints reads back as the same duration. */
		assert_int_equal(duration_parse(buf, strlen(buf), &back), 0);
		assert_int_equal(back, cases[i].ms);
	}
}

static void test_put_int_as_printf(void **state)
{
	static const int64_t v[] = { 0, 7, -7, 10, 99, -100, 254, 1795312345, INT64_MAX, INT64_MIN };
	char got[NUMBER_INT_MAX + 1], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = number_put_int(got, v[i]);

		got[n] = '\0';
		snprintf(want, sizeof(want), "%lld", (long long)v[i]);
		assert_string_equal(got, want);
		assert_true(n <= NUMBER_INT_MAX);
	}
	/* Every length and every pair of digits, each side of each power of ten. */
	for (int64_t i = -100000; i <= 100000; i++) {
		size_t n = number_put_int(got, i);

		got[n] = '\0';
		snprintf(want, sizeof(want), "%lld", (long long)i);
		assert_string_equal(got, want);
	}
	for (int64_t p = 10; p <= INT64_MAX / 10; p *= 10)
		for (int64_t d = -1; d <= 1; d++)
			for (int sign = -1; sign <= 1; sign += 2) {
				size_t n = number_put_int(got, sign * (p + d));

				got[n] = '\0';
				snprintf(want, sizeof(want), "%lld", (long long)(sign * (p + d)));
				assert_string_equal(got, want);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_accepts_decimals),
		cmocka_unit_test(test_number_negative_zero_is_zero),
		cmocka_unit_test(test_number_integers_as_strtod),
		cmocka_unit_test(test_number_rejects),
		cmocka_unit_test(test_number_reads_only_len_bytes),
		cmocka_unit_test(test_number_rejects_overlong),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_rounds_to_ms),
		cmocka_unit_test(test_duration_rejects),
		cmocka_unit_test(test_duration_range),
		cmocka_unit_test(test_put_int_as_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
