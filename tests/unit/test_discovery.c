/* test_discovery.c -- Home Assistant's slug of a name, as entity ids are made of it */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "discovery.h"

/* Each expectation is what Home Assistant's slugify (python-slugify 4) makes of the name. */
static void test_slug_like_home_assistant(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "hall", "hall" },
		{ "Pylight", "pylight" },
		{ "floor1/hall", "floor1_hall" },
		{ "Floor 2 / Hall", "floor_2_hall" },
		{ "k\u00fcche", "kuche" },
		{ "Stra\u00dfe", "strasse" },
		{ "\u00c6r\u00f8", "aero" },
		{ "\u0142\u00f3d\u017a", "lodz" },
		{ "\u00c0\u00c9\u00ce\u00d5\u00dc \u00e7\u00f1", "aeiou_cn" },
		{ "u\u0308ber", "uber" }, /* a combining accent */
		{ "\u017f", "s" },
		{ "_x_", "x" },
		{ "a__b", "a_b" },
		{ "a-b", "a_b" },
		{ "--caf\u00e9--", "cafe" },
		{ "", "" },
		{ "///", "" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = discovery_slug(cases[i].in, buf, sizeof(buf));

		if (strcmp(buf, cases[i].out) != 0)
			fail_msg("slug of '%s' is '%s', expected '%s'", cases[i].in, buf,
				 cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
}

/* Scripts without a table here are separators: the zone's hash keeps the ids apart. */
static void test_slug_other_scripts_and_bad_bytes(void **state)
{
	char buf[64];

	(void)state;
	discovery_slug("a\u65e5\u672cb", buf, sizeof(buf));
	assert_string_equal(buf, "a_b");
	discovery_slug("a\xff\xc3(b", buf, sizeof(buf)); /* not UTF-8 */
	assert_string_equal(buf, "a_b");
	discovery_slug("a\xe2\x82", buf, sizeof(buf)); /* cut short */
	assert_string_equal(buf, "a");
}

/* Cut to fit, never with a '_' at the end. */
static void test_slug_cut(void **state)
{
	char buf[5];

	(void)state;
	assert_int_equal(discovery_slug("abc def", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(discovery_slug("abcdefgh", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "abcd");
	assert_int_equal(discovery_slug("ab cd", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "ab_c");
	assert_int_equal(discovery_slug("\u00df\u00df\u00df", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "ssss");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slug_like_home_assistant),
		cmocka_unit_test(test_slug_other_scripts_and_bad_bytes),
		cmocka_unit_test(test_slug_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
