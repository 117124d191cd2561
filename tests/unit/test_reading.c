/* test_reading.c -- unit tests for reading and override payload parsing */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "reading.h"

#define LEN(lit) (sizeof(lit) - 1)

static int parse(const char *s, const char *field, double *lux)
{
	return reading_parse(s, strlen(s), field, lux);
}

static void expect_lux(const char *s, const char *field, double want)
{
	double lux = -1;

	if (parse(s, field, &lux) != 0)
		fail_msg("rejected: \"%s\" (json_field \"%s\")", s, field);
	if (lux != want)
		fail_msg("\"%s\": got %.17g, want %.17g", s, lux, want);
}

static void expect_reject(const char *s, const char *field)
{
	double lux = 12345;

	if (parse(s, field, &lux) != -EINVAL)
		fail_msg("accepted or wrong error: \"%s\" (json_field \"%s\")", s, field);
	assert_true(lux == 12345);
}

static void test_plain_numbers(void **state)
{
	(void)state;
	expect_lux("523", "", 523);
	expect_lux(" 12.5\n", "", 12.5);
	expect_lux("0", "", 0);
	expect_lux("1e3", "", 1000);
	expect_lux("\t7\r\n", "", 7);
}

static void test_plain_minus_zero_becomes_zero(void **state)
{
	double lux = -1;

	(void)state;
	assert_int_equal(parse("-0", "", &lux), 0);
	assert_true(lux == 0);
	assert_false(signbit(lux));
	assert_int_equal(parse("-0.0", "", &lux), 0);
	assert_false(signbit(lux));
}

static void test_plain_rejections(void **state)
{
	static const char *const bad[] = {
		"", "   ", "abc", "nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0.001", "0x1A",
		"12abc", "1e999", "\"12\"", "12 13", "[1]", "true", "null",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_reject(bad[i], "");
}

static void test_empty_null_payload(void **state)
{
	double lux;

	(void)state;
	assert_int_equal(reading_parse(NULL, 0, "", &lux), -EINVAL);
}

static void test_embedded_nul_rejected(void **state)
{
	double lux;

	(void)state;
	assert_int_equal(reading_parse("12\0", 3, "", &lux), -EINVAL);
	assert_int_equal(reading_parse("\0" "12", 3, "", &lux), -EINVAL);
	assert_int_equal(reading_parse("{\"lux\":1}\0", LEN("{\"lux\":1}\0"), "", &lux), -EINVAL);
	assert_int_equal(reading_parse("{\"lux\":1,\"x\":\"a\0b\"}",
				       LEN("{\"lux\":1,\"x\":\"a\0b\"}"), "", &lux), -EINVAL);
}

static void test_json_each_default_field(void **state)
{
	(void)state;
	expect_lux("{\"illuminance_lux\": 11}", "", 11);
	expect_lux("{\"illuminance\": 12.5}", "", 12.5);
	expect_lux("{\"lux\": 13}", "", 13);
	expect_lux("{\"value\": 14}", "", 14);
	expect_lux("  {\"lux\": 1, \"other\": \"x\"}\n", "", 1);
}

static void test_json_default_precedence(void **state)
{
	(void)state;
	expect_lux("{\"value\":4,\"lux\":3,\"illuminance\":2,\"illuminance_lux\":1}", "", 1);
	expect_lux("{\"value\":4,\"lux\":3,\"illuminance\":2}", "", 2);
	expect_lux("{\"value\":4,\"lux\":3}", "", 3);
	expect_lux("{\"value\":4,\"Lux\":3}", "", 4);
}

static void test_json_first_present_decides(void **state)
{
	(void)state;
	expect_reject("{\"illuminance\":\"dark\",\"lux\":5}", "");
	expect_reject("{\"illuminance_lux\":null,\"lux\":5}", "");
	expect_reject("{\"lux\":{\"v\":1},\"value\":5}", "");
}

static void test_json_no_field(void **state)
{
	(void)state;
	expect_reject("{}", "");
	expect_reject("{\"temperature\": 21}", "");
}

static void test_json_dotted_path(void **state)
{
	(void)state;
	expect_lux("{\"BH1750\":{\"Illuminance\":42}}", "BH1750.Illuminance", 42);
	expect_lux("{\"a\":{\"b\":{\"c\":7}},\"lux\":1}", "a.b.c", 7);
	expect_lux("{\"x\":3,\"lux\":1}", "x", 3);
	expect_lux("{\"ab\":1,\"a\":2}", "a", 2);
}

static void test_json_dotted_path_missing(void **state)
{
	(void)state;
	/* An explicit field never falls back to the default names. */
	expect_reject("{\"lux\":5}", "BH1750.Illuminance");
	expect_reject("{\"BH1750\":{}}", "BH1750.Illuminance");
	expect_reject("{\"BH1750\":{\"Illuminance\":null}}", "BH1750.Illuminance");
	expect_reject("{\"BH1750\":5}", "BH1750.Illuminance");
	expect_reject("{\"BH1750\":null}", "BH1750.Illuminance");
	expect_reject("{\"BH1750\":[{\"Illuminance\":1}]}", "BH1750.Illuminance");
	expect_reject("{\"a.b\":5}", "a.b");
	expect_reject("{\"lux\":5}", "lu");
	expect_reject("{\"lu\":5}", "lux");
	expect_reject("{\"a\":{\"b\":{\"c\":1}}}", "a.b");
}

static void test_json_null_field_means_default(void **state)
{
	(void)state;
	expect_lux("{\"lux\": 13}", NULL, 13);
}

static void test_json_non_numbers(void **state)
{
	(void)state;
	expect_reject("{\"lux\": true}", "");
	expect_reject("{\"lux\": false}", "");
	expect_reject("{\"lux\": \"12\"}", "");
	expect_reject("{\"lux\": null}", "");
	expect_reject("{\"lux\": [12]}", "");
	expect_reject("{\"lux\": NaN}", "");
	expect_reject("{\"lux\": Infinity}", "");
	expect_reject("{\"lux\": 1e999}", "");
}

static void test_json_negative(void **state)
{
	(void)state;
	expect_reject("{\"lux\": -1}", "");
	expect_reject("{\"lux\": -0.5}", "");
	expect_reject("{\"lux\": -1e300}", "");
}

static void test_json_minus_zero_becomes_zero(void **state)
{
	double lux = -1;

	(void)state;
	assert_int_equal(parse("{\"lux\": -0.0}", "", &lux), 0);
	assert_true(lux == 0);
	assert_false(signbit(lux));
	expect_lux("{\"lux\": -0}", "", 0);
}

static void test_json_integers(void **state)
{
	(void)state;
	expect_lux("{\"lux\": 0}", "", 0);
	expect_lux("{\"lux\": 100000}", "", 100000);
	expect_lux("{\"lux\": 1e3}", "", 1000);
	expect_lux("{\"lux\": 1.5E2}", "", 150);
}

static void test_json_huge_integers(void **state)
{
	(void)state;
	expect_lux("{\"lux\": 9223372036854775807}", "", 9223372036854775807.0);
	expect_lux("{\"lux\": 18446744073709551614}", "", 18446744073709551614.0);
	expect_lux("{\"lux\": 1e300}", "", 1e300);
	/* json-c saturates the second to 2^64-1, so that value itself cannot be trusted. */
	expect_reject("{\"lux\": 18446744073709551615}", "");
	expect_reject("{\"lux\": 99999999999999999999999}", "");
	expect_reject("{\"lux\": -9223372036854775808}", "");
	expect_reject("{\"lux\": -99999999999999999999999}", "");
}

static void test_json_not_an_object(void **state)
{
	(void)state;
	expect_reject("[{\"lux\": 1}]", "");
	expect_reject("[1]", "");
	expect_reject("\"12\"", "");
	expect_reject("null", "");
}

static void test_json_malformed(void **state)
{
	(void)state;
	expect_reject("{", "");
	expect_reject("{\"lux\": 1", "");
	expect_reject("{\"lux\": 1} x", "");
	expect_reject("{\"lux\": 1}{\"lux\": 2}", "");
	expect_reject("{\"lux\": 1}}", "");
	expect_reject("{\"lux\": 1,}", "");
	expect_reject("{lux: 1}", "");
	expect_reject("{\"lux\": 01}", "");
	expect_reject("{\"lux\": .5}", "");
	expect_reject("{\"lux\": +1}", "");
}

/* Every buffer below carries junk right after `len` that would change the answer if read. */
static void test_not_nul_terminated(void **state)
{
	static const char plain[] = "12.5999";
	static const char json[] = "{\"lux\":5}7";
	static const char json_cut[] = "{\"lux\":5}";
	static const char spaced[] = "  8  x";
	double lux = -1;

	(void)state;
	assert_int_equal(reading_parse(plain, 4, "", &lux), 0);
	assert_true(lux == 12.5);
	assert_int_equal(reading_parse(json, LEN(json) - 1, "", &lux), 0);
	assert_true(lux == 5);
	assert_int_equal(reading_parse(json_cut, LEN(json_cut) - 1, "", &lux), -EINVAL);
	assert_int_equal(reading_parse(spaced, 5, "", &lux), 0);
	assert_true(lux == 8);
	assert_int_equal(reading_parse("12", 1, "", &lux), 0);
	assert_true(lux == 1);
}

static void expect_override(const char *s, enum override_cmd want_cmd, int64_t want_ms)
{
	enum override_cmd cmd = OVERRIDE_AUTO;
	int64_t ms = -2;

	if (override_parse(s, strlen(s), &cmd, &ms) != 0)
		fail_msg("rejected override \"%s\"", s);
	if (cmd != want_cmd || ms != want_ms)
		fail_msg("\"%s\": got cmd %d ms %lld, want cmd %d ms %lld", s, (int)cmd,
			 (long long)ms, (int)want_cmd, (long long)want_ms);
}

static void test_override_words(void **state)
{
	(void)state;
	expect_override("ON", OVERRIDE_ON, -1);
	expect_override("OFF", OVERRIDE_OFF, -1);
	expect_override("AUTO", OVERRIDE_AUTO, -1);
	expect_override("on", OVERRIDE_ON, -1);
	expect_override("Off", OVERRIDE_OFF, -1);
	expect_override("aUtO", OVERRIDE_AUTO, -1);
	expect_override("  ON\n", OVERRIDE_ON, -1);
	expect_override("\tauto \r\n", OVERRIDE_AUTO, -1);
}

static void test_override_durations(void **state)
{
	(void)state;
	expect_override("ON 15m", OVERRIDE_ON, 15 * 60 * 1000);
	expect_override("off 90s", OVERRIDE_OFF, 90 * 1000);
	expect_override("On 2", OVERRIDE_ON, 2000);
	expect_override("OFF 1h", OVERRIDE_OFF, 3600 * 1000);
	expect_override("ON\t 1.5s \n", OVERRIDE_ON, 1500);
	expect_override(" on 0 ", OVERRIDE_ON, 0);
}

static void test_override_rejections(void **state)
{
	static const char *const bad[] = {
		"", "   ", "ONN", "O", "OF", "AUTOMATIC", "ON15m", "ON 15x", "ON -5m", "ON 1 2",
		"ON m", "OFF 1e999", "AUTO 5m", "auto 0", "ON OFF", "\"ON\"", "1", "yes",
	};
	enum override_cmd cmd = OVERRIDE_OFF;
	int64_t ms = 77;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (override_parse(bad[i], strlen(bad[i]), &cmd, &ms) != -EINVAL)
			fail_msg("accepted or wrong error: override \"%s\"", bad[i]);
		assert_int_equal(cmd, OVERRIDE_OFF);
		assert_int_equal(ms, 77);
	}
	assert_int_equal(override_parse(NULL, 0, &cmd, &ms), -EINVAL);
	assert_int_equal(override_parse("ON\0", 3, &cmd, &ms), -EINVAL);
	assert_int_equal(override_parse("ON 5\0", 5, &cmd, &ms), -EINVAL);
}

static void expect_level(const char *s, enum override_cmd want_cmd, int64_t want_ms, int want_level)
{
	enum override_cmd cmd = OVERRIDE_AUTO;
	int64_t ms = -2;
	int level = -2;

	if (override_parse_level(s, strlen(s), &cmd, &ms, &level) != 0)
		fail_msg("rejected override \"%s\"", s);
	if (cmd != want_cmd || ms != want_ms || level != want_level)
		fail_msg("\"%s\": got cmd %d ms %lld level %d, want cmd %d ms %lld level %d", s,
			 (int)cmd, (long long)ms, level, (int)want_cmd, (long long)want_ms,
			 want_level);
}

static void test_override_levels(void **state)
{
	static const char *const bad[] = {
		"ON 0%", "ON 101%", "ON 40.5%", "ON -5%", "ON %", "ON 40 %", "ON 40%%", "ON 40%15m",
		"ON 15m 40%", "ON 40% 50%", "OFF 40%", "off 40% 15m", "AUTO 40%", "ON 0x10%",
		"ON 40% 15x", "ON 1e999%",
	};
	enum override_cmd cmd = OVERRIDE_OFF;
	int64_t ms = 77;
	int level = 5;

	(void)state;
	expect_level("ON 40%", OVERRIDE_ON, -1, 40);
	expect_level("on 1%", OVERRIDE_ON, -1, 1);
	expect_level("ON 100%", OVERRIDE_ON, -1, 100);
	expect_level(" ON\t40%  15m\n", OVERRIDE_ON, 15 * 60 * 1000, 40);
	expect_level("ON 4e1% 90", OVERRIDE_ON, 90 * 1000, 40);
	/* without a level: -1, and a bare number stays a duration in seconds */
	expect_level("ON", OVERRIDE_ON, -1, -1);
	expect_level("ON 40", OVERRIDE_ON, 40 * 1000, -1);
	expect_level("OFF 15m", OVERRIDE_OFF, 15 * 60 * 1000, -1);
	expect_level("AUTO", OVERRIDE_AUTO, -1, -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (override_parse_level(bad[i], strlen(bad[i]), &cmd, &ms, &level) != -EINVAL)
			fail_msg("accepted or wrong error: override \"%s\"", bad[i]);
		assert_int_equal(cmd, OVERRIDE_OFF);
		assert_int_equal(ms, 77);
		assert_int_equal(level, 5);
	}
	/* the level is not read past the payload's length */
	assert_int_equal(override_parse_level("ON 40%", 5, &cmd, &ms, &level), 0);
	assert_int_equal(ms, 40 * 1000);
	assert_int_equal(level, -1);
	/* override_parse, for callers that cannot hold a level, refuses one */
	assert_int_equal(override_parse("ON 40%", 6, &cmd, &ms), -EINVAL);
	assert_int_equal(override_parse("ON 40", 5, &cmd, &ms), 0);
}

static int lamp(const char *payload, const char *field)
{
	return lamp_parse(payload, strlen(payload), field);
}

static void test_lamp_reports(void **state)
{
	(void)state;
	/* Plain payloads, as Tasmota's stat/T/POWER and most switches send them. */
	assert_int_equal(lamp("ON", "state"), 1);
	assert_int_equal(lamp("off", "state"), 0);
	assert_int_equal(lamp(" 1\n", "state"), 1);
	assert_int_equal(lamp("0", "state"), 0);
	assert_int_equal(lamp("true", "state"), 1);
	assert_int_equal(lamp("false", "state"), 0);
	/* JSON, as Zigbee2MQTT, Tasmota's RESULT and Shelly send it. */
	assert_int_equal(lamp("{\"state\":\"ON\",\"brightness\":254}", "state"), 1);
	assert_int_equal(lamp("{\"POWER\":\"OFF\"}", "POWER"), 0);
	assert_int_equal(lamp("{\"id\":0,\"output\":true}", "output"), 1);
	assert_int_equal(lamp("{\"a\":{\"b\":0}}", "a.b"), 0);
	/* Anything else is refused. */
	assert_int_equal(lamp("", "state"), -EINVAL);
	assert_int_equal(lamp("On", "state"), -EINVAL);
	assert_int_equal(lamp("TOGGLE", "state"), -EINVAL);
	assert_int_equal(lamp("2", "state"), -EINVAL);
	assert_int_equal(lamp("{\"state\":\"DIM\"}", "state"), -EINVAL);
	assert_int_equal(lamp("{\"state\":2}", "state"), -EINVAL);
	assert_int_equal(lamp("{\"state\":null}", "state"), -EINVAL);
	assert_int_equal(lamp("{\"POWER\":\"ON\"}", "state"), -EINVAL);
	assert_int_equal(lamp("{\"state\":\"ON\"", "state"), -EINVAL);
	assert_int_equal(lamp_parse("ON\0", 3, "state"), -EINVAL);
	assert_int_equal(lamp_parse("ONE", 2, "state"), 1); /* only len bytes are read */
}

static void test_override_not_nul_terminated(void **state)
{
	enum override_cmd cmd;
	int64_t ms;

	(void)state;
	assert_int_equal(override_parse("OFFICE", 3, &cmd, &ms), 0);
	assert_int_equal(cmd, OVERRIDE_OFF);
	assert_int_equal(ms, -1);
	assert_int_equal(override_parse("ON 15mX", 6, &cmd, &ms), 0);
	assert_int_equal(cmd, OVERRIDE_ON);
	assert_int_equal(ms, 15 * 60 * 1000);
	assert_int_equal(override_parse("ON 1 2", 4, &cmd, &ms), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(override_parse("AUTO 5m", 4, &cmd, &ms), 0);
	assert_int_equal(cmd, OVERRIDE_AUTO);
}

static int presence(const char *s, const char *field)
{
	return presence_parse(s, strlen(s), field);
}

static void test_presence_words(void **state)
{
	(void)state;
	assert_int_equal(presence("true", NULL), 1);
	assert_int_equal(presence("FALSE", NULL), 0);
	assert_int_equal(presence("1", NULL), 1);
	assert_int_equal(presence(" 0\n", NULL), 0);
	assert_int_equal(presence("On", NULL), 1);
	assert_int_equal(presence("off", NULL), 0);
	assert_int_equal(presence("Occupied", NULL), 1);
	assert_int_equal(presence("UNOCCUPIED", NULL), 0);
	assert_int_equal(presence("", NULL), -EINVAL);
	assert_int_equal(presence("yes", NULL), -EINVAL);
	assert_int_equal(presence("2", NULL), -EINVAL);
	assert_int_equal(presence("occupiedx", NULL), -EINVAL);
	assert_int_equal(presence_parse("true\0", 5, NULL), -EINVAL);
	/* Not NUL-terminated: only `len` bytes count. */
	assert_int_equal(presence_parse("offline", 3, NULL), 0);
}

static void test_presence_json(void **state)
{
	(void)state;
	/* Zigbee2MQTT's report, at the default field. */
	assert_int_equal(presence("{\"occupancy\": true, \"battery\": 97}", NULL), 1);
	assert_int_equal(presence("{\"occupancy\": false}", ""), 0);
	assert_int_equal(presence("{\"occupancy\": \"Occupied\"}", NULL), 1);
	assert_int_equal(presence("{\"occupancy\": 0}", NULL), 0);
	assert_int_equal(presence("{\"a\": {\"presence\": \"ON\"}}", "a.presence"), 1);
	assert_int_equal(presence("{\"a\": {\"presence\": 1}}", "a.presence"), 1);
	assert_int_equal(presence("{\"occupancy\": 2}", NULL), -EINVAL);
	assert_int_equal(presence("{\"occupancy\": null}", NULL), -EINVAL);
	assert_int_equal(presence("{\"occupancy\": \"maybe\"}", NULL), -EINVAL);
	assert_int_equal(presence("{\"presence\": true}", NULL), -EINVAL);
	assert_int_equal(presence("{\"occupancy\": true", NULL), -EINVAL);
	assert_int_equal(presence("{\"occupancy\": true} x", NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_numbers),
		cmocka_unit_test(test_plain_minus_zero_becomes_zero),
		cmocka_unit_test(test_plain_rejections),
		cmocka_unit_test(test_empty_null_payload),
		cmocka_unit_test(test_embedded_nul_rejected),
		cmocka_unit_test(test_json_each_default_field),
		cmocka_unit_test(test_json_default_precedence),
		cmocka_unit_test(test_json_first_present_decides),
		cmocka_unit_test(test_json_no_field),
		cmocka_unit_test(test_json_dotted_path),
		cmocka_unit_test(test_json_dotted_path_missing),
		cmocka_unit_test(test_json_null_field_means_default),
		cmocka_unit_test(test_json_non_numbers),
		cmocka_unit_test(test_json_negative),
		cmocka_unit_test(test_json_minus_zero_becomes_zero),
		cmocka_unit_test(test_json_integers),
		cmocka_unit_test(test_json_huge_integers),
		cmocka_unit_test(test_json_not_an_object),
		cmocka_unit_test(test_json_malformed),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_override_words),
		cmocka_unit_test(test_override_durations),
		cmocka_unit_test(test_override_rejections),
		cmocka_unit_test(test_override_levels),
		cmocka_unit_test(test_override_not_nul_terminated),
		cmocka_unit_test(test_lamp_reports),
		cmocka_unit_test(test_presence_words),
		cmocka_unit_test(test_presence_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
