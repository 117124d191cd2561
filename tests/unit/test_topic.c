/* test_topic.c -- the zone-topic rule both programs follow */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topic.h"

#define ZONE(topic, base) topic_zone(topic, base, strlen(base))

static void test_topic_zone_names(void **state)
{
	(void)state;
	assert_string_equal(ZONE("pylight/zone", "pylight/zone"), "");
	assert_string_equal(ZONE("pylight/zone/hall", "pylight/zone"), "hall");
	assert_string_equal(ZONE("pylight/zone/a/b", "pylight/zone"), "a/b");
	assert_string_equal(ZONE("pylight/zone//", "pylight/zone"), "/");
}

static void test_topic_zone_rejects(void **state)
{
	(void)state;
	assert_null(ZONE("pylight/zone/", "pylight/zone")); /* would be a second "" */
	assert_null(ZONE("pylight/zones", "pylight/zone"));
	assert_null(ZONE("pylight/zon", "pylight/zone"));
	assert_null(ZONE("other/zone/x", "pylight/zone"));
	assert_null(ZONE("", "pylight/zone"));
}

static void test_topic_of_zone(void **state)
{
	char *buf = NULL;
	size_t cap = 0;
	char long_zone[300];

	(void)state;
	assert_string_equal(topic_of_zone("value/light", "", &buf, &cap), "value/light");
	assert_null(buf); /* the bare topic needs no copy */
	assert_string_equal(topic_of_zone("value/light", "hall", &buf, &cap), "value/light/hall");
	memset(long_zone, 'z', sizeof(long_zone) - 1);
	long_zone[sizeof(long_zone) - 1] = '\0';
	assert_int_equal(strlen(topic_of_zone("b", long_zone, &buf, &cap)), 2 + 299);
	assert_true(cap >= 302);
	/* the two halves of the rule agree */
	assert_string_equal(ZONE(topic_of_zone("b", "x y", &buf, &cap), "b"), "x y");
	assert_string_equal(ZONE(topic_of_zone("b", "", &buf, &cap), "b"), "");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_zone_names),
		cmocka_unit_test(test_topic_zone_rejects),
		cmocka_unit_test(test_topic_of_zone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
