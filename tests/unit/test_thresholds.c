/* test_thresholds.c -- ref.txt: accepted forms, inheritance, every error with its line, scale */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "errlist.h"
#include "thresholds.h"

/* Parses a string literal (which may hold NULs) that must be valid. */
#define PARSE_OK(lit) parse_ok(lit, sizeof(lit) - 1)
/* Whether the next parse has a [site] (tests of sunrise/sunset without one clear it), and its
 * max_zones. */
static struct thresholds_opts opts = { .site = true };
static const struct thresholds_opts site_opts = { .site = true };

/* Parses a string literal that must be rejected with exactly these messages, in this order. */
#define PARSE_ERRORS(lit, ...)                                                      \
	do {                                                                        \
		const char *const want_[] = { __VA_ARGS__ };                        \
		parse_errors(lit, sizeof(lit) - 1, want_, sizeof(want_) / sizeof(want_[0])); \
	} while (0)

static struct thresholds *parse_ok(const char *text, size_t len)
{
	struct errlist errs = { 0 };
	struct thresholds *t = NULL;
	int r;

	r = thresholds_parse("ref.txt", text, len, &opts, &t, &errs);
	if (r != 0)
		fail_msg("rejected (%d): %s", r, errs.kept ? errs.msg[0] : "no message");
	assert_int_equal(errs.count, 0);
	assert_non_null(t);
	return t;
}

static void parse_errors(const char *text, size_t len, const char *const *want, size_t n)
{
	struct errlist errs = { 0 };
	struct thresholds *t = (struct thresholds *)&errs; /* must be reset to NULL */

	assert_int_equal(thresholds_parse("ref.txt", text, len, &opts, &t, &errs), -EINVAL);
	assert_null(t);
	for (size_t i = 0; i < errs.kept && i < n; i++)
		assert_string_equal(errs.msg[i], want[i]);
	assert_int_equal(errs.count, n);
	assert_int_equal(errs.kept, n);
	errlist_clear(&errs);
}

static char *dump(const struct thresholds *t)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	thresholds_dump(t, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_one_number(void **state)
{
	struct thresholds *t = PARSE_OK("300\n");
	const struct zone_params *p = thresholds_get(t, "");

	(void)state;
	assert_true(p->on_below == 300);
	assert_true(p->off_above == 300);
	assert_int_equal(p->smoothing, 1);
	assert_int_equal(p->min_on, 0);
	assert_int_equal(p->min_off, 0);
	assert_true(p->lamp_lux == 0);
	assert_int_equal(p->override_for, 3600 * 1000);
	assert_int_equal(p->stale_after, 0);
	assert_int_equal(p->failsafe, FAILSAFE_HOLD);
	assert_int_equal(thresholds_sections(t), 0);
	thresholds_free(t);
}

static void test_two_numbers(void **state)
{
	/* Comment, CRLF, no final newline, blank and comment lines around. */
	struct thresholds *t = PARSE_OK("# lux\r\n\r\n  300\t4e2 # on off\r\n# end");
	const struct zone_params *p = thresholds_get(t, "");

	(void)state;
	assert_true(p->on_below == 300);
	assert_true(p->off_above == 400);
	thresholds_free(t);
}

static void test_keys_all(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"off_above=400\n"
					"min_on = 30\n"
					"min_off = 2m\n"
					"smoothing = 5\n"
					"lamp_lux = 12.5\n"
					"override_for = 1.5h\n"
					"stale_after = 90s\n"
					"failsafe = off\n");
	const struct zone_params *p = thresholds_get(t, "any/zone");

	(void)state;
	assert_true(p->on_below == 300);
	assert_true(p->off_above == 400);
	assert_int_equal(p->min_on, 30000);
	assert_int_equal(p->min_off, 120000);
	assert_int_equal(p->smoothing, 5);
	assert_true(p->lamp_lux == 12.5);
	assert_int_equal(p->override_for, 5400000);
	assert_int_equal(p->stale_after, 90000);
	assert_int_equal(p->failsafe, FAILSAFE_OFF);
	thresholds_free(t);
}

static void test_keys_defaults(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 250\n");
	const struct zone_params *p = thresholds_get(t, "");

	(void)state;
	assert_true(p->off_above == 250);
	assert_int_equal(p->override_for, 3600000);
	assert_int_equal(p->smoothing, 1);
	assert_int_equal(p->failsafe, FAILSAFE_HOLD);
	thresholds_free(t);
}

static void test_failsafe_any_case(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 1\nfailsafe = ON\n[zone a]\nfailsafe = Hold\n");

	(void)state;
	assert_int_equal(thresholds_get(t, "")->failsafe, FAILSAFE_ON);
	assert_int_equal(thresholds_get(t, "a")->failsafe, FAILSAFE_HOLD);
	thresholds_free(t);
}

static void test_inheritance(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"off_above = 400\n"
					"min_on = 30s\n"
					"[zone hall]\n"
					"on_below = 100\n"
					"[zone yard]\n"
					"off_above = 500\n"
					"min_on = 0\n"
					"[zone porch]\n"
					"smoothing = 3\n");
	const struct zone_params *g = thresholds_get(t, "");
	const struct zone_params *hall = thresholds_get(t, "hall");
	const struct zone_params *yard = thresholds_get(t, "yard");
	const struct zone_params *porch = thresholds_get(t, "porch");

	(void)state;
	assert_int_equal(thresholds_sections(t), 3);
	/* The global off_above was written, so a zone setting only on_below keeps it. */
	assert_true(hall->on_below == 100);
	assert_true(hall->off_above == 400);
	assert_int_equal(hall->min_on, 30000);
	assert_true(yard->on_below == 300);
	assert_true(yard->off_above == 500);
	assert_int_equal(yard->min_on, 0);
	assert_true(porch->on_below == 300);
	assert_true(porch->off_above == 400);
	assert_int_equal(porch->smoothing, 3);
	assert_int_equal(g->smoothing, 1);
	/* A zone without a section, and the default zone, get the global parameters. */
	assert_ptr_equal(thresholds_get(t, "nowhere"), g);
	assert_ptr_equal(thresholds_get(t, "hall/x"), g);
	assert_true(g->on_below == 300 && g->off_above == 400);
	thresholds_free(t);
}

static void test_inheritance_off_above_defaulted(void **state)
{
	/* The global off_above was only defaulted: a zone's own on_below is its default. */
	struct thresholds *t = PARSE_OK("on_below = 300\n[zone hall]\non_below = 500\n");

	(void)state;
	assert_true(thresholds_get(t, "hall")->on_below == 500);
	assert_true(thresholds_get(t, "hall")->off_above == 500);
	assert_true(thresholds_get(t, "")->off_above == 300);
	thresholds_free(t);
}

static void test_zone_names(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 1\n"
					"[zone   floor1/main hall  ]   # comment\r\n"
					"on_below = 2\r\n"
					"[zone\tfloor2/hall]\n"
					"on_below = 3\n"
					"[ zone x ]\n"
					"on_below = 4\n");

	(void)state;
	assert_int_equal(thresholds_sections(t), 3);
	assert_true(thresholds_get(t, "floor1/main hall")->on_below == 2);
	assert_true(thresholds_get(t, "floor2/hall")->on_below == 3);
	assert_true(thresholds_get(t, "x")->on_below == 4);
	assert_true(thresholds_get(t, "floor1/main  hall")->on_below == 1);
	assert_true(thresholds_get(t, "floor1")->on_below == 1);
	thresholds_free(t);
}

static void test_comments(void **state)
{
	struct thresholds *t = PARSE_OK("# thresholds\n"
					"   # indented comment\n"
					"on_below = 300# no space\n"
					"off_above = 400 # = 5\n"
					"[zone a] # [zone b]\n"
					"min_on = 1m #\n");

	(void)state;
	assert_true(thresholds_get(t, "")->off_above == 400);
	assert_int_equal(thresholds_get(t, "a")->min_on, 60000);
	assert_int_equal(thresholds_sections(t), 1);
	thresholds_free(t);
}

static void test_describe(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\noff_above = 400\n[zone a]\n[zone b]\n");
	char buf[128];

	(void)state;
	thresholds_describe(t, buf, sizeof(buf));
	assert_string_equal(buf, "on_below 300 off_above 400, 2 zone sections");
	thresholds_free(t);

	t = PARSE_OK("12.5\n");
	thresholds_describe(t, buf, sizeof(buf));
	assert_string_equal(buf, "on_below 12.5 off_above 12.5, 0 zone sections");
	thresholds_free(t);

	t = PARSE_OK("on_below = 0.1\n[zone a]\n");
	thresholds_describe(t, buf, sizeof(buf));
	assert_string_equal(buf, "on_below 0.1 off_above 0.1, 1 zone section");
	thresholds_free(t);
}

static void test_dump(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"off_above = 4e2\n"
					"min_on = 1.5m\n"
					"override_for = 0.0016\n"
					"[zone z/last]\n"
					"failsafe = ON\n"
					"[zone a b]\n"
					"on_below = 100\n"
					"smoothing = 7\n"
					"stale_after = 2h\n"
					"lamp_lux = 0.1\n");
	char *text = dump(t);

	(void)state;
	/* Sorted zone names, every effective key, durations in seconds. */
	assert_string_equal(text, "on_below = 300\n"
				  "off_above = 400\n"
				  "min_on = 90s\n"
				  "min_off = 0s\n"
				  "smoothing = 1\n"
				  "lamp_lux = 0\n"
				  "override_for = 0.002s\n"
				  "stale_after = 0s\n"
				  "failsafe = hold\n"
				  "aggregate = median\n"
				  "min_sensors = 1\n"
				  "feedback =\n"
				  "feedback_field = state\n"
				  "confirm_within = 5s\n"
				  "retries = 3\n"
				  "manual = override\n"
				  "target_lux =\n"
				  "level_min = 10\n"
				  "max_step = 20\n"
				  "deadband = 2\n"
				  "schedule =\n"
				  "outside = off\n"
				  "occupancy =\n"
				  "occupancy_field = occupancy\n"
				  "vacancy_after = 900s\n"
				  "\n"
				  "[zone a b]\n"
				  "on_below = 100\n"
				  "off_above = 400\n"
				  "min_on = 90s\n"
				  "min_off = 0s\n"
				  "smoothing = 7\n"
				  "lamp_lux = 0.1\n"
				  "override_for = 0.002s\n"
				  "stale_after = 7200s\n"
				  "failsafe = hold\n"
				  "aggregate = median\n"
				  "min_sensors = 1\n"
				  "feedback =\n"
				  "feedback_field = state\n"
				  "confirm_within = 5s\n"
				  "retries = 3\n"
				  "manual = override\n"
				  "target_lux =\n"
				  "level_min = 10\n"
				  "max_step = 20\n"
				  "deadband = 2\n"
				  "schedule =\n"
				  "outside = off\n"
				  "occupancy =\n"
				  "occupancy_field = occupancy\n"
				  "vacancy_after = 900s\n"
				  "\n"
				  "[zone z/last]\n"
				  "on_below = 300\n"
				  "off_above = 400\n"
				  "min_on = 90s\n"
				  "min_off = 0s\n"
				  "smoothing = 1\n"
				  "lamp_lux = 0\n"
				  "override_for = 0.002s\n"
				  "stale_after = 0s\n"
				  "failsafe = on\n"
				  "aggregate = median\n"
				  "min_sensors = 1\n"
				  "feedback =\n"
				  "feedback_field = state\n"
				  "confirm_within = 5s\n"
				  "retries = 3\n"
				  "manual = override\n"
				  "target_lux =\n"
				  "level_min = 10\n"
				  "max_step = 20\n"
				  "deadband = 2\n"
				  "schedule =\n"
				  "outside = off\n"
				  "occupancy =\n"
				  "occupancy_field = occupancy\n"
				  "vacancy_after = 900s\n");
	thresholds_free(t);

	/* The dump reads back as the same table. */
	struct thresholds *again = parse_ok(text, strlen(text));
	char *text2 = dump(again);

	assert_string_equal(text2, text);
	free(text2);
	free(text);
	thresholds_free(again);
}

/* Whether `key_line` is among the lines of the section [zone NAME] in a dump. */
static bool section_says(const char *text, const char *name, const char *key_line)
{
	char head[64];
	const char *at, *end, *found;

	snprintf(head, sizeof(head), "[zone %s]\n", name);
	at = strstr(text, head);
	if (!at)
		return false;
	end = strstr(at + 1, "\n[zone ");
	found = strstr(at, key_line);
	return found && (!end || found < end);
}

/* Sections with equal effective parameters share one copy; -t still shows each its own. */
static void test_sections_share_params(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"[zone a]\nmin_on = 5s\n"
					"[zone b]\n"
					"[zone c]\nmin_on = 5\n"
					"[zone d]\nmin_on = 6s\n"
					"[zone e]\nmin_on = 5s\n");
	char *text = dump(t);

	(void)state;
	assert_ptr_equal(thresholds_get(t, "a"), thresholds_get(t, "c"));
	assert_ptr_equal(thresholds_get(t, "a"), thresholds_get(t, "e"));
	assert_ptr_not_equal(thresholds_get(t, "a"), thresholds_get(t, "b"));
	assert_ptr_not_equal(thresholds_get(t, "a"), thresholds_get(t, "d"));
	assert_int_equal(thresholds_get(t, "b")->min_on, 0);
	assert_int_equal(thresholds_get(t, "c")->min_on, 5000);
	assert_int_equal(thresholds_get(t, "d")->min_on, 6000);
	/* The dump's text of one set is reused only while the next section shares it. */
	assert_true(section_says(text, "a", "min_on = 5s\n"));
	assert_true(section_says(text, "b", "min_on = 0s\n"));
	assert_true(section_says(text, "c", "min_on = 5s\n"));
	assert_true(section_says(text, "d", "min_on = 6s\n"));
	assert_true(section_says(text, "e", "min_on = 5s\n"));
	free(text);
	thresholds_free(t);
}

/*
 * A file in name order (as a generator writes one) is indexed at its end; one that leaves that
 * order is indexed from there on. Either way every section is found, and dumped in order.
 */
static void test_sections_in_and_out_of_order(void **state)
{
	enum { N = 5000 };
	size_t cap = N * 48, n = 0;
	char *text = malloc(cap), name[32], *out;
	struct thresholds *t;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "on_below = 1\n");
	for (int i = 0; i < N; i++)
		n += (size_t)snprintf(text + n, cap - n, "[zone z%05d]\non_below = %d\n", i, i + 2);
	t = parse_ok(text, n);
	assert_int_equal(thresholds_sections(t), N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "z%05d", i);
		assert_true(thresholds_has_section(t, name));
		assert_true(thresholds_get(t, name)->on_below == i + 2);
	}
	assert_false(thresholds_has_section(t, "z5000"));
	assert_false(thresholds_has_section(t, "z0000"));
	/* Looked up together, as a reload does: zones with a section and zones without. */
	for (int i = 0; i < N; i += THRESHOLDS_GET_MANY / 2) {
		char names[THRESHOLDS_GET_MANY][16];
		const char *zones[THRESHOLDS_GET_MANY];
		const struct zone_params *p[THRESHOLDS_GET_MANY];

		for (int k = 0; k < THRESHOLDS_GET_MANY; k++) {
			snprintf(names[k], sizeof(names[k]), k % 2 ? "z%05d" : "y%d", i + k / 2);
			zones[k] = names[k];
		}
		thresholds_get_many(t, zones, THRESHOLDS_GET_MANY, p);
		for (int k = 0; k < THRESHOLDS_GET_MANY; k++)
			assert_ptr_equal(p[k], thresholds_get(t, zones[k]));
		assert_true(p[1]->on_below == i + 2);
		assert_true(p[0]->on_below == 1);
	}
	thresholds_free(t);

	t = PARSE_OK("on_below = 1\n[zone a]\nmin_on = 1\n[zone ab]\nmin_on = 2\n[zone c]\n"
		     "min_on = 3\n[zone b]\nmin_on = 4\n[zone aa]\nmin_on = 5\n[zone d]\nmin_on = 6\n");
	assert_int_equal(thresholds_get(t, "a")->min_on, 1000);
	assert_int_equal(thresholds_get(t, "ab")->min_on, 2000);
	assert_int_equal(thresholds_get(t, "c")->min_on, 3000);
	assert_int_equal(thresholds_get(t, "b")->min_on, 4000);
	assert_int_equal(thresholds_get(t, "aa")->min_on, 5000);
	assert_int_equal(thresholds_get(t, "d")->min_on, 6000);
	assert_false(thresholds_has_section(t, "e"));
	out = dump(t);
	assert_true(strstr(out, "[zone a]") < strstr(out, "[zone aa]"));
	assert_true(strstr(out, "[zone aa]") < strstr(out, "[zone ab]"));
	assert_true(strstr(out, "[zone ab]") < strstr(out, "[zone b]"));
	assert_true(strstr(out, "[zone b]") < strstr(out, "[zone c]"));
	assert_true(strstr(out, "[zone c]") < strstr(out, "[zone d]"));
	free(out);
	thresholds_free(t);
	free(text);
}

static void test_sensors(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"aggregate = max\n"
					"[zone hall]\n"
					"sensors = hall/east  hall/west\thall # the zone's own topic too\n"
					"min_sensors = 2\n"
					"[zone office]\n"
					"sensors = office/desk\n"
					"aggregate = MIN\n");
	const struct zone_params *hall = thresholds_get(t, "hall");
	const struct zone_params *office = thresholds_get(t, "office");
	const struct zone_params *other = thresholds_get(t, "other");
	const char *zone = NULL;
	char line[128];

	(void)state;
	assert_int_equal(thresholds_sensor_count(t), 4);
	assert_int_equal(hall->sensors, 3);
	assert_int_equal(hall->min_sensors, 2);
	assert_int_equal(hall->aggregate, AGGREGATE_MAX);
	assert_string_equal(thresholds_sensor_name(t, hall->sensor_first), "hall/east");
	assert_string_equal(thresholds_sensor_name(t, hall->sensor_first + 1), "hall/west");
	assert_string_equal(thresholds_sensor_name(t, hall->sensor_first + 2), "hall");
	assert_int_equal(office->sensors, 1);
	assert_int_equal(office->min_sensors, 1);
	assert_int_equal(office->aggregate, AGGREGATE_MIN);
	assert_string_equal(thresholds_sensor_name(t, office->sensor_first), "office/desk");
	/* A zone without a section has no sensors: its own topic is its one sensor. */
	assert_int_equal(other->sensors, 0);
	assert_int_equal(other->aggregate, AGGREGATE_MAX);

	assert_int_equal(thresholds_sensor(t, "hall/west", &zone), (int)hall->sensor_first + 1);
	assert_string_equal(zone, "hall");
	assert_int_equal(thresholds_sensor(t, "hall", &zone), (int)hall->sensor_first + 2);
	assert_string_equal(zone, "hall");
	assert_int_equal(thresholds_sensor(t, "office/desk", &zone), (int)office->sensor_first);
	assert_string_equal(zone, "office");
	assert_int_equal(thresholds_sensor(t, "office", &zone), -1);
	assert_int_equal(thresholds_sensor(t, "hall/", &zone), -1);
	thresholds_describe(t, line, sizeof(line));
	assert_string_equal(line, "on_below 300 off_above 300, 2 zone sections, 4 sensors");
	assert_string_equal(aggregate_name(AGGREGATE_MEDIAN), "median");
	assert_string_equal(aggregate_name(AGGREGATE_MEAN), "mean");
	thresholds_free(t);

	/* Without sensors the lookup finds nothing and nothing is counted. */
	t = PARSE_OK("on_below = 1\n");
	assert_int_equal(thresholds_sensor_count(t), 0);
	assert_int_equal(thresholds_sensor(t, "hall", &zone), -1);
	assert_int_equal(thresholds_get(t, "")->min_sensors, 1);
	assert_int_equal(thresholds_get(t, "")->aggregate, AGGREGATE_MEDIAN);
	thresholds_free(t);
}

static void test_sensors_dump(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"min_sensors = 2\n"
					"[zone b]\n"
					"sensors = b/1 b/2 b/3\n"
					"aggregate = mean\n"
					"[zone a]\n"
					"on_below = 10\n");
	char *text = dump(t);

	(void)state;
	assert_string_equal(text, "on_below = 300\n"
				  "off_above = 300\n"
				  "min_on = 0s\n"
				  "min_off = 0s\n"
				  "smoothing = 1\n"
				  "lamp_lux = 0\n"
				  "override_for = 3600s\n"
				  "stale_after = 0s\n"
				  "failsafe = hold\n"
				  "aggregate = median\n"
				  "min_sensors = 2\n"
				  "feedback =\n"
				  "feedback_field = state\n"
				  "confirm_within = 5s\n"
				  "retries = 3\n"
				  "manual = override\n"
				  "target_lux =\n"
				  "level_min = 10\n"
				  "max_step = 20\n"
				  "deadband = 2\n"
				  "schedule =\n"
				  "outside = off\n"
				  "occupancy =\n"
				  "occupancy_field = occupancy\n"
				  "vacancy_after = 900s\n"
				  "\n"
				  "[zone a]\n"
				  "on_below = 10\n"
				  "off_above = 10\n"
				  "min_on = 0s\n"
				  "min_off = 0s\n"
				  "smoothing = 1\n"
				  "lamp_lux = 0\n"
				  "override_for = 3600s\n"
				  "stale_after = 0s\n"
				  "failsafe = hold\n"
				  "aggregate = median\n"
				  "min_sensors = 2\n"
				  "feedback =\n"
				  "feedback_field = state\n"
				  "confirm_within = 5s\n"
				  "retries = 3\n"
				  "manual = override\n"
				  "target_lux =\n"
				  "level_min = 10\n"
				  "max_step = 20\n"
				  "deadband = 2\n"
				  "schedule =\n"
				  "outside = off\n"
				  "occupancy =\n"
				  "occupancy_field = occupancy\n"
				  "vacancy_after = 900s\n"
				  "\n"
				  "[zone b]\n"
				  "on_below = 300\n"
				  "off_above = 300\n"
				  "min_on = 0s\n"
				  "min_off = 0s\n"
				  "smoothing = 1\n"
				  "lamp_lux = 0\n"
				  "override_for = 3600s\n"
				  "stale_after = 0s\n"
				  "failsafe = hold\n"
				  "sensors = b/1 b/2 b/3\n"
				  "aggregate = mean\n"
				  "min_sensors = 2\n"
				  "feedback =\n"
				  "feedback_field = state\n"
				  "confirm_within = 5s\n"
				  "retries = 3\n"
				  "manual = override\n"
				  "target_lux =\n"
				  "level_min = 10\n"
				  "max_step = 20\n"
				  "deadband = 2\n"
				  "schedule =\n"
				  "outside = off\n"
				  "occupancy =\n"
				  "occupancy_field = occupancy\n"
				  "vacancy_after = 900s\n");
	thresholds_free(t);
	/* The dump reads back as the same table. */
	t = parse_ok(text, strlen(text));
	char *text2 = dump(t);

	assert_string_equal(text2, text);
	free(text2);
	free(text);
	thresholds_free(t);
}

static void test_sensors_scale(void **state)
{
	size_t cap = 10000 * 64, n = 0;
	char *text = malloc(cap), name[32];
	struct thresholds *t;
	const char *zone;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "on_below = 1\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "[zone z%d]\nsensors = z%d/a z%d/b z%d/c\n", i, i, i, i);
	t = parse_ok(text, n);
	assert_int_equal(thresholds_sensor_count(t), 30000);
	for (int i = 0; i < 10000; i += 7) {
		const struct zone_params *p;

		snprintf(name, sizeof(name), "z%d/b", i);
		assert_true(thresholds_sensor(t, name, &zone) >= 0);
		snprintf(name, sizeof(name), "z%d", i);
		assert_string_equal(zone, name);
		p = thresholds_get(t, name);
		assert_int_equal(p->sensors, 3);
		snprintf(name, sizeof(name), "z%d/c", i);
		assert_int_equal(thresholds_sensor(t, name, &zone), (int)p->sensor_first + 2);
		snprintf(name, sizeof(name), "z%d/d", i);
		assert_int_equal(thresholds_sensor(t, name, &zone), -1);
	}
	thresholds_free(t);
	free(text);
}

static void test_error_sensors(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = 1\nsensors = a b\n",
		     "ref.txt:2: sensors can only be listed in a [zone NAME] section");
	PARSE_ERRORS("on_below = 1\n[zone a]\nsensors =\n",
		     "ref.txt:3: missing value for sensors in [zone a]");
	PARSE_ERRORS("on_below = 1\n[zone a]\nsensors = x y x\n",
		     "ref.txt:3: sensor 'x' listed twice in [zone a]");
	PARSE_ERRORS("on_below = 1\n[zone a]\nsensors = x y\n[zone b]\nsensors = z y\n",
		     "ref.txt:5: sensor 'y' in [zone b] is already listed in [zone a] at line 3");
	PARSE_ERRORS("on_below = 1\n[zone a]\nsensors = x b\n[zone b]\non_below = 2\n",
		     "ref.txt:3: sensor 'b' is named like the section [zone b] at line 4");
	PARSE_ERRORS("on_below = 1\n[zone a]\nsensors = x y\nmin_sensors = 3\n",
		     "ref.txt:4: min_sensors 3 is above the 2 sensors listed in [zone a]");
	PARSE_ERRORS("on_below = 1\nmin_sensors = 2\n[zone a]\nsensors = x\n",
		     "ref.txt:4: min_sensors 2 (global) is above the 1 sensor listed in [zone a]");
	PARSE_ERRORS("on_below = 1\nmin_sensors = 0\n",
		     "ref.txt:2: min_sensors '0' is not an integer from 1 to 64");
	PARSE_ERRORS("on_below = 1\n[zone a]\nmin_sensors = 1.5\n",
		     "ref.txt:3: min_sensors '1.5' is not an integer from 1 to 64 in [zone a]");
	PARSE_ERRORS("on_below = 1\nretries = 11\n",
		     "ref.txt:2: retries '11' is not an integer from 0 to 10");
	PARSE_ERRORS("on_below = 1\nmanual = maybe\n",
		     "ref.txt:2: bad manual 'maybe' (override, enforce or ignore)");
	PARSE_ERRORS("on_below = 1\n[zone a]\nfeedback = lamps/+/state\n",
		     "ref.txt:3: feedback 'lamps/+/state' is not a topic: no wildcards, no "
		     "trailing '/' in [zone a]");
	PARSE_ERRORS("on_below = 1\nfeedback = lamps/\n",
		     "ref.txt:2: feedback 'lamps/' is not a topic: no wildcards, no trailing '/'");
	PARSE_ERRORS("on_below = 1\nfeedback_field = a..b\n",
		     "ref.txt:2: feedback_field 'a..b' is not a dotted path like state or a.b");
	PARSE_ERRORS("on_below = 1\nfeedback_field =\n",
		     "ref.txt:2: missing value for feedback_field");
	PARSE_ERRORS("on_below = 1\nconfirm_within = -1s\n",
		     "ref.txt:2: negative duration '-1s' for confirm_within");
	PARSE_ERRORS("on_below = 1\naggregate = average\n",
		     "ref.txt:2: bad aggregate 'average' (median, mean, min or max)");
	PARSE_ERRORS("on_below = 1\n[zone a]\nsensors = a/+\n",
		     "ref.txt:3: sensor 'a/+' is not a topic: '+' is a wildcard in [zone a]");
	PARSE_ERRORS("on_below = 1\n[zone a+b]\non_below = 2\n",
		     "ref.txt:2: zone name 'a+b' is not a topic: '+' is a wildcard");
	PARSE_ERRORS("on_below = 1\n[zone a#b]\non_below = 2\n",
		     "ref.txt:2: missing ']' in section header");
	PARSE_ERRORS("on_below = 1\n[zone a]\nsensors = x\nsensors = y\n",
		     "ref.txt:4: duplicate key 'sensors' in [zone a]");
}

static void test_sensors_many(void **state)
{
	char text[2048] = "on_below = 1\n[zone a]\nsensors =";
	size_t n = strlen(text);
	struct thresholds *t;

	(void)state;
	for (int i = 0; i < SENSORS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " s%d", i);
	snprintf(text + n, sizeof(text) - n, "\nmin_sensors = 64\n");
	t = parse_ok(text, strlen(text));
	assert_int_equal(thresholds_get(t, "a")->sensors, SENSORS_MAX);
	thresholds_free(t);
	snprintf(text + n, sizeof(text) - n, " one-too-many\n");
	{
		const char *const want[] = { "ref.txt:3: more than 64 sensors in [zone a]" };

		parse_errors(text, strlen(text), want, 1);
	}
}

static void test_feedback_keys(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"feedback_field = POWER\n"
					"retries = 0\n"
					"[zone hall]\n"
					"feedback = zigbee2mqtt/hall lamp\n"
					"feedback_field = state\n"
					"confirm_within = 1.5s\n"
					"retries = 10\n"
					"manual = Enforce\n"
					"[zone office]\n"
					"feedback = stat/office/POWER\n"
					"[zone shared]\n"
					"feedback = stat/office/POWER\n"
					"[zone none]\n"
					"feedback =\n");
	const struct zone_params *hall = thresholds_get(t, "hall"), *office, *g;
	char *text;

	(void)state;
	assert_string_equal(hall->feedback, "zigbee2mqtt/hall lamp");
	assert_string_equal(hall->feedback_field, "state");
	assert_int_equal(hall->confirm_within, 1500);
	assert_int_equal(hall->retries, 10);
	assert_int_equal(hall->manual, MANUAL_ENFORCE);
	office = thresholds_get(t, "office");
	assert_string_equal(office->feedback, "stat/office/POWER");
	assert_string_equal(office->feedback_field, "POWER"); /* inherited */
	assert_int_equal(office->confirm_within, 5000);
	assert_int_equal(office->retries, 0);
	assert_int_equal(office->manual, MANUAL_OVERRIDE);
	g = thresholds_get(t, "");
	assert_string_equal(g->feedback, "");
	assert_string_equal(thresholds_get(t, "none")->feedback, "");
	assert_string_equal(manual_name(MANUAL_IGNORE), "ignore");
	/* The dump reads back as the same table. */
	text = dump(t);
	thresholds_free(t);
	t = parse_ok(text, strlen(text));
	assert_string_equal(thresholds_get(t, "hall")->feedback, "zigbee2mqtt/hall lamp");
	assert_string_equal(thresholds_get(t, "none")->feedback, "");
	free(text);
	thresholds_free(t);
}

static void count_topic(const char *topic, void *ctx)
{
	char *seen = ctx;

	strcat(seen, topic);
	strcat(seen, ";");
}

static void test_feedback_topics_once(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 1\nfeedback = all/lamps\n"
					"[zone a]\nfeedback = a/lamp\n"
					"[zone b]\nfeedback = a/lamp\n"
					"[zone c]\n"
					"[zone d]\nfeedback =\n");
	char seen[256] = "";

	(void)state;
	thresholds_foreach_feedback(t, count_topic, seen);
	assert_string_equal(seen, "all/lamps;a/lamp;");
	thresholds_free(t);
}

static void test_dimming_keys(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"lamp_lux = 400\n"
					"max_step = 30\n"
					"[zone desk]\n"
					"target_lux = 500\n"
					"level_min = 1\n"
					"deadband = 0\n"
					"[zone hall]\n"
					"lamp_lux = 80\n");
	const struct zone_params *g = thresholds_get(t, ""), *desk = thresholds_get(t, "desk");
	char *text;

	(void)state;
	assert_true(g->target_lux == 0); /* an on/off zone */
	assert_int_equal(g->level_min, 10);
	assert_int_equal(g->max_step, 30);
	assert_int_equal(g->deadband, 2);
	assert_true(desk->target_lux == 500);
	assert_true(desk->lamp_lux == 400); /* inherited */
	assert_int_equal(desk->level_min, 1);
	assert_int_equal(desk->max_step, 30);
	assert_int_equal(desk->deadband, 0);
	assert_true(thresholds_get(t, "hall")->target_lux == 0);
	text = dump(t);
	assert_non_null(strstr(text, "[zone desk]\non_below = 300\n"));
	assert_non_null(strstr(text, "target_lux = 500\nlevel_min = 1\nmax_step = 30\ndeadband = 0\n"));
	thresholds_free(t);
	/* The dump reads back as the same table. */
	t = parse_ok(text, strlen(text));
	assert_true(thresholds_get(t, "desk")->target_lux == 500);
	assert_int_equal(thresholds_get(t, "desk")->deadband, 0);
	free(text);
	thresholds_free(t);

	/* A global target dims every zone; `target_lux =` makes one an on/off zone again. */
	t = PARSE_OK("on_below = 300\nlamp_lux = 400\ntarget_lux = 450\n"
		     "[zone store]\ntarget_lux =\n[zone desk]\nlevel_min = 100\nmax_step = 100\n"
		     "deadband = 50\n");
	assert_true(thresholds_get(t, "")->target_lux == 450);
	assert_true(thresholds_get(t, "desk")->target_lux == 450);
	assert_int_equal(thresholds_get(t, "desk")->level_min, 100);
	assert_true(thresholds_get(t, "store")->target_lux == 0);
	thresholds_free(t);
}

static void test_error_dimming(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = 300\ntarget_lux = 500\n",
		     "ref.txt:2: target_lux 500 needs lamp_lux > 0 (the lamp's light at the sensor "
		     "at 100%)");
	/* in a zone: at the zone's own half of the pair, the inherited half marked (global) */
	PARSE_ERRORS("on_below = 300\n[zone desk]\ntarget_lux = 5e2\n",
		     "ref.txt:3: target_lux 500 needs lamp_lux > 0 (the lamp's light at the sensor "
		     "at 100%) in [zone desk]");
	PARSE_ERRORS("on_below = 300\nlamp_lux = 400\ntarget_lux = 500\n[zone desk]\n"
		     "lamp_lux = 0\n",
		     "ref.txt:5: target_lux 500 (global) needs lamp_lux > 0 (the lamp's light at the "
		     "sensor at 100%) in [zone desk]");
	PARSE_ERRORS("on_below = 300\n[zone desk]\nlamp_lux = 0\ntarget_lux = 500\n",
		     "ref.txt:4: target_lux 500 needs lamp_lux > 0 (the lamp's light at the sensor "
		     "at 100%) in [zone desk]");
	PARSE_ERRORS("on_below = 300\nlamp_lux = 400\n"
		     "target_lux = 0\n"
		     "target_lux = -5\n"
		     "[zone a]\n"
		     "target_lux = dim\n"
		     "level_min = 0\n"
		     "level_min = 101\n"
		     "[zone b]\n"
		     "max_step = 0\n"
		     "level_min = 2.5\n"
		     "deadband = 51\n"
		     "[zone c]\n"
		     "max_step = 101\n"
		     "deadband = -1\n"
		     "level_min =\n",
		     "ref.txt:3: bad target_lux '0': a number > 0, or empty for an on/off zone",
		     "ref.txt:4: duplicate key 'target_lux'",
		     "ref.txt:6: bad target_lux 'dim': a number > 0, or empty for an on/off zone in "
		     "[zone a]",
		     "ref.txt:7: level_min '0' is not an integer from 1 to 100 in [zone a]",
		     "ref.txt:8: duplicate key 'level_min' in [zone a]",
		     "ref.txt:10: max_step '0' is not an integer from 1 to 100 in [zone b]",
		     "ref.txt:11: level_min '2.5' is not an integer from 1 to 100 in [zone b]",
		     "ref.txt:12: deadband '51' is not an integer from 0 to 50 in [zone b]",
		     "ref.txt:14: max_step '101' is not an integer from 1 to 100 in [zone c]",
		     "ref.txt:15: deadband '-1' is not an integer from 0 to 50 in [zone c]",
		     "ref.txt:16: missing value for level_min in [zone c]");
}

static void test_error_keys(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = 1\nfoo = 2\n", "ref.txt:2: unknown key 'foo'");
	PARSE_ERRORS("on_below = 1\nOn_Below = 2\n", "ref.txt:2: unknown key 'On_Below'");
	PARSE_ERRORS("on_below = 1\n= 2\n", "ref.txt:2: missing key before '='");
	PARSE_ERRORS("on_below =\n", "ref.txt:1: missing value for on_below");
	/* ... and on_below counts as written: no "missing on_below" as well. */
	PARSE_ERRORS("on_below 300\n", "ref.txt:1: missing '=' after 'on_below'");
	PARSE_ERRORS("on_below = 1\n[zone a]\nmin_on\n",
		     "ref.txt:3: missing '=' after 'min_on' in [zone a]");
	PARSE_ERRORS("on_below = 1\non_below = 1\n", "ref.txt:2: duplicate key 'on_below'");
	PARSE_ERRORS("on_below = 1\n[zone hall]\nmin_on = 1\nmin_on = 2\n",
		     "ref.txt:4: duplicate key 'min_on' in [zone hall]");
	/* A bad value still counts as written: a second one is a duplicate. */
	PARSE_ERRORS("on_below = x\non_below = 1\n", "ref.txt:1: bad number 'x' for on_below",
		     "ref.txt:2: duplicate key 'on_below'");
}

static void test_error_values(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = abc\n", "ref.txt:1: bad number 'abc' for on_below");
	PARSE_ERRORS("on_below = 0x10\n", "ref.txt:1: bad number '0x10' for on_below");
	PARSE_ERRORS("on_below = 1e3\noff_above = inf\n",
		     "ref.txt:2: bad number 'inf' for off_above");
	PARSE_ERRORS("on_below = -5\n", "ref.txt:1: negative value '-5' for on_below");
	PARSE_ERRORS("on_below = 1\nlamp_lux = -0.5\n",
		     "ref.txt:2: negative value '-0.5' for lamp_lux");
	PARSE_ERRORS("on_below = 1\nmin_on = 5x\n", "ref.txt:2: bad duration '5x' for min_on");
	PARSE_ERRORS("on_below = 1\nmin_off = 15 m\n",
		     "ref.txt:2: bad duration '15 m' for min_off");
	PARSE_ERRORS("on_below = 1\nmin_on = -5s\n",
		     "ref.txt:2: negative duration '-5s' for min_on");
	PARSE_ERRORS("on_below = 1\nstale_after = 1e9h\n",
		     "ref.txt:2: duration '1e9h' for stale_after is over 100 years");
	PARSE_ERRORS("on_below = 1\nsmoothing = 0\n",
		     "ref.txt:2: smoothing '0' is not an integer from 1 to 64");
	PARSE_ERRORS("on_below = 1\nsmoothing = 65\n",
		     "ref.txt:2: smoothing '65' is not an integer from 1 to 64");
	PARSE_ERRORS("on_below = 1\nsmoothing = 2.5\n",
		     "ref.txt:2: smoothing '2.5' is not an integer from 1 to 64");
	PARSE_ERRORS("on_below = 1\nfailsafe = maybe\n",
		     "ref.txt:2: bad failsafe 'maybe' (hold, on or off)");
	PARSE_ERRORS("on_below = 1\n[zone a]\nlamp_lux = x\n",
		     "ref.txt:3: bad number 'x' for lamp_lux in [zone a]");
}

static void test_smoothing_bounds(void **state)
{
	struct thresholds *t = PARSE_OK("on_below = 1\nsmoothing = 64\n"
					"[zone a]\nsmoothing = 1e0\n");

	(void)state;
	assert_int_equal(thresholds_get(t, "")->smoothing, 64);
	assert_int_equal(thresholds_get(t, "a")->smoothing, 1);
	thresholds_free(t);
}

static void test_error_pair(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = 200\noff_above = 100\n",
		     "ref.txt:2: off_above 100 is below on_below 200");
	/* Reported where the pair is complete, whichever key comes last. */
	PARSE_ERRORS("off_above = 100\n\non_below = 200\n",
		     "ref.txt:3: off_above 100 is below on_below 200");
	PARSE_ERRORS("200 100\n", "ref.txt:1: off_above 100 is below on_below 200");
	PARSE_ERRORS("on_below = 1\n[zone hall]\non_below = 200\noff_above = 100\n",
		     "ref.txt:4: off_above 100 is below on_below 200 in [zone hall]");
	/* Effective values: half of the pair inherited, reported at the zone's own key. */
	PARSE_ERRORS("on_below = 300\noff_above = 400\n[zone hall]\n\non_below = 500\nmin_on = 1\n",
		     "ref.txt:5: off_above 400 (global) is below on_below 500 in [zone hall]");
	PARSE_ERRORS("on_below = 300\n[zone hall]\noff_above = 100\n",
		     "ref.txt:3: off_above 100 is below on_below 300 (global) in [zone hall]");
	/* The zone's own on_below replaces the global one before the check. */
	struct thresholds *t = PARSE_OK("on_below = 300\n"
					"[zone hall]\noff_above = 100\non_below = 50\n");

	assert_true(thresholds_get(t, "hall")->off_above == 100);
	thresholds_free(t);
}

static void test_error_missing_on_below(void **state)
{
	(void)state;
	PARSE_ERRORS("off_above = 5\n", "ref.txt: missing on_below in the global section");
	/* A zone's on_below does not stand in for the global one. */
	PARSE_ERRORS("[zone a]\non_below = 5\n", "ref.txt: missing on_below in the global section");
}

static void test_error_empty(void **state)
{
	(void)state;
	PARSE_ERRORS("", "ref.txt: no thresholds (the file is empty)");
	PARSE_ERRORS("# nothing\n\n  \r\n", "ref.txt: no thresholds (the file is empty)");
}

static void test_error_legacy(void **state)
{
	(void)state;
	PARSE_ERRORS("300\non_below = 3\n",
		     "ref.txt:2: numbers cannot be mixed with 'key = value' lines");
	PARSE_ERRORS("on_below = 3\n\n300\n",
		     "ref.txt:3: numbers cannot be mixed with 'key = value' lines");
	PARSE_ERRORS("300\n[zone a]\n",
		     "ref.txt:2: numbers cannot be mixed with 'key = value' lines");
	PARSE_ERRORS("300\n400\n", "ref.txt:2: more than one line of numbers, first at line 1");
	PARSE_ERRORS("1 2 3\n", "ref.txt:1: more than two numbers");
	PARSE_ERRORS("300 abc\n", "ref.txt:1: bad number 'abc' for off_above");
	PARSE_ERRORS("-1\n", "ref.txt:1: negative value '-1' for on_below");
}

static void test_error_sections(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = 1\n[zone]\n", "ref.txt:2: missing zone name in [zone]");
	PARSE_ERRORS("on_below = 1\n[zone   ]\n", "ref.txt:2: missing zone name in [zone]");
	PARSE_ERRORS("on_below = 1\n[global]\n", "ref.txt:2: unknown section [global]");
	PARSE_ERRORS("on_below = 1\n[zonehall]\n", "ref.txt:2: unknown section [zonehall]");
	PARSE_ERRORS("on_below = 1\n[zone a\n", "ref.txt:2: missing ']' in section header");
	PARSE_ERRORS("on_below = 1\n[zone a] b\n", "ref.txt:2: text after ']' in section header");
	PARSE_ERRORS("on_below = 1\n[zone a]\n[zone b]\n[zone  a ]\n",
		     "ref.txt:4: duplicate section [zone a], first at line 2");
	/* Keys under a bad header are checked against that section, not the previous one. */
	PARSE_ERRORS("on_below = 1\n[zone a]\nmin_on = 1\n[global]\nmin_on = 1\nmin_on = x\n",
		     "ref.txt:4: unknown section [global]",
		     "ref.txt:6: duplicate key 'min_on' in [global]");
	/* A file in name order, then out of it: a duplicate is found either way. */
	PARSE_ERRORS("on_below = 1\n[zone a]\n[zone b]\n[zone c]\n[zone bb]\n[zone d]\n[zone c]\n",
		     "ref.txt:7: duplicate section [zone c], first at line 4");
	PARSE_ERRORS("on_below = 1\n[zone a]\n[zone ab]\n[zone ab]\n",
		     "ref.txt:4: duplicate section [zone ab], first at line 3");
	PARSE_ERRORS("on_below = 1\n[zone a]\n[zone a]\nmin_on = x\n",
		     "ref.txt:3: duplicate section [zone a], first at line 2",
		     "ref.txt:4: bad duration 'x' for min_on in [zone a]");
}

static void test_error_nul(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = 1\nmin_on = 1\0\n", "ref.txt:2: NUL byte in line");
	/* Even in a comment; and the file is not also called empty. */
	PARSE_ERRORS("# \0\n", "ref.txt:1: NUL byte in line");
}

static void test_many_errors_all_reported(void **state)
{
	(void)state;
	PARSE_ERRORS("# every line is wrong\r\n"
		     "on_below = 200\r\n"
		     "off_above = 100\r\n"
		     "foo = 1\r\n"
		     "min_on = -1\r\n"
		     "smoothing = 99\r\n"
		     "[zone hall]\r\n"
		     "on_below = abc\r\n"
		     "on_below = 1\r\n"
		     "[zone hall]\r\n"
		     "[oops]\r\n"
		     "42\r\n",
		     "ref.txt:3: off_above 100 is below on_below 200",
		     "ref.txt:4: unknown key 'foo'",
		     "ref.txt:5: negative duration '-1' for min_on",
		     "ref.txt:6: smoothing '99' is not an integer from 1 to 64",
		     "ref.txt:8: bad number 'abc' for on_below in [zone hall]",
		     "ref.txt:9: duplicate key 'on_below' in [zone hall]",
		     "ref.txt:10: duplicate section [zone hall], first at line 7",
		     "ref.txt:11: unknown section [oops]",
		     "ref.txt:12: numbers cannot be mixed with 'key = value' lines");
}

static void test_errlist_keeps_first(void **state)
{
	struct errlist errs = { 0 };
	struct thresholds *t;
	char text[4096];
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "on_below = 1\n");
	for (int i = 0; i < ERRLIST_KEEP + 20; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "k%d = 1\n", i);
	assert_int_equal(thresholds_parse("ref.txt", text, (size_t)n, &site_opts, &t, &errs), -EINVAL);
	assert_int_equal(errs.count, ERRLIST_KEEP + 20);
	assert_int_equal(errs.kept, ERRLIST_KEEP);
	assert_string_equal(errs.msg[0], "ref.txt:2: unknown key 'k0'");
	assert_string_equal(errs.msg[ERRLIST_KEEP - 1], "ref.txt:101: unknown key 'k99'");
	errlist_clear(&errs);
	assert_int_equal(errs.count, 0);
	assert_int_equal(errs.kept, 0);
}

static void test_ten_thousand_zones(void **state)
{
	size_t cap = 1 << 20, len;
	char *text = malloc(cap);
	struct thresholds *t;
	struct timespec a, b;
	FILE *f;

	(void)state;
	assert_non_null(text);
	f = fmemopen(text, cap, "w");
	assert_non_null(f);
	fprintf(f, "on_below = 300\noff_above = 400\n");
	for (int i = 0; i < 10000; i++)
		fprintf(f, "[zone floor%d/room %d]\non_below = %d\nmin_on = 5m\n", i % 10, i,
			i % 300);
	len = (size_t)ftell(f);
	assert_int_equal(fclose(f), 0);

	clock_gettime(CLOCK_MONOTONIC, &a);
	t = parse_ok(text, len);
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("10000 zones parsed in %.1f ms\n",
		      (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);

	assert_int_equal(thresholds_sections(t), 10000);
	assert_true(thresholds_get(t, "floor7/room 9997")->on_below == 9997 % 300);
	assert_int_equal(thresholds_get(t, "floor0/room 0")->min_on, 300000);
	assert_true(thresholds_get(t, "floor0/room 10000")->on_below == 300);
	thresholds_free(t);
	free(text);
}

static void test_load(void **state)
{
	char path[] = "/tmp/test_thresholds.XXXXXX";
	struct errlist errs = { 0 };
	struct thresholds *t;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "250 300\n", 8), 8);

	assert_int_equal(thresholds_load(path, &site_opts, &t, &errs), 0);
	assert_true(thresholds_get(t, "")->off_above == 300);
	thresholds_free(t);

	/* The bound is 16 MiB and 1 KiB per zone of max_zones. Sparse, so the test stays cheap. */
	assert_int_equal(thresholds_max_bytes(4), (16 << 20) + 4096);
	assert_int_equal(ftruncate(fd, (16 << 20) + 4096 + 1), 0);
	assert_int_equal(thresholds_load(path, &(struct thresholds_opts){ .max_zones = 4 }, &t,
					 &errs), -EFBIG);
	assert_null(t);
	assert_int_equal(errs.count, 1);
	assert_true(strstr(errs.msg[0], ": file is larger than 16 MiB (16 MiB and 1024 bytes per "
					"zone of [readings] max_zones 4)") != NULL);
	errlist_clear(&errs);
	close(fd);
	unlink(path);

	assert_int_equal(thresholds_load("/nonexistent/ref.txt", &site_opts, &t, &errs), -ENOENT);
	assert_null(t);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0], "/nonexistent/ref.txt: No such file or directory");
	errlist_clear(&errs);
}

/* A city's file: larger than 16 MiB, within the bound its max_zones gives. */
static void test_load_large(void **state)
{
	char path[] = "/tmp/test_thresholds.XXXXXX";
	struct errlist errs = { 0 };
	struct thresholds *t;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "on_below = 300\n");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "[zone street/%07d]\non_below = %d\n# %0900d\n", i, i % 100, 0);
	assert_int_equal(fclose(f), 0);

	assert_int_equal(thresholds_load(path, &(struct thresholds_opts){ .max_zones = 20000 }, &t,
					 &errs), 0);
	assert_int_equal(thresholds_sections(t), 20000);
	assert_true(thresholds_get(t, "street/0019999")->on_below == 99);
	thresholds_free(t);
	unlink(path);
}

/* Each section is a zone: one beyond max_zones is an error at its line, reported once. */
static void test_sections_beyond_max_zones(void **state)
{
	struct thresholds *t;

	(void)state;
	opts.max_zones = 2;
	t = PARSE_OK("on_below = 1\n[zone a]\n[zone b]\n");
	assert_int_equal(thresholds_sections(t), 2);
	thresholds_free(t);
	PARSE_ERRORS("on_below = 1\n[zone a]\n[zone b]\n[zone c]\non_below = 2\n[zone d]\n",
		     "ref.txt:4: section [zone c] is one more than [readings] max_zones 2 allows");
	opts.max_zones = 0;
}

static void test_time_and_presence_keys(void **state)
{
	static const char text[] = "on_below = 100\n"
				   "schedule = Mon-Fri 07:00-19:00\n"
				   "occupancy = zigbee2mqtt/pir1 zigbee2mqtt/pir2\n"
				   "vacancy_after = 10m\n"
				   "[zone street]\n"
				   "schedule = sunset-30m-sunrise\n"
				   "outside = HOLD\n"
				   "occupancy =\n"
				   "[zone hall]\n"
				   "occupancy_field = state.presence\n";
	struct thresholds *t = parse_ok(text, sizeof(text) - 1);
	const struct zone_params *g = thresholds_get(t, ""), *street = thresholds_get(t, "street");
	const struct zone_params *hall = thresholds_get(t, "hall");
	char *out;

	(void)state;
	assert_non_null(g->schedule);
	assert_int_equal(g->outside, OUTSIDE_OFF);
	assert_int_equal(g->occupancy->n, 2);
	assert_string_equal(g->occupancy->topic[1], "zigbee2mqtt/pir2");
	assert_string_equal(g->occupancy_field, "occupancy");
	assert_int_equal(g->vacancy_after, 600000);
	assert_int_equal(street->outside, OUTSIDE_HOLD);
	assert_null(street->occupancy);
	assert_true(street->schedule != g->schedule);
	/* Inherited: the same schedule and sensors, the zone's own field. */
	assert_ptr_equal(hall->schedule, g->schedule);
	assert_ptr_equal(hall->occupancy, g->occupancy);
	assert_string_equal(hall->occupancy_field, "state.presence");
	out = dump(t);
	assert_non_null(strstr(out, "schedule = Mon-Fri 07:00-19:00\n"));
	assert_non_null(strstr(out, "[zone street]\n"));
	assert_non_null(strstr(out, "schedule = daily sunset-30m-sunrise\noutside = hold\n"
				    "occupancy =\n"));
	assert_non_null(strstr(out, "occupancy = zigbee2mqtt/pir1 zigbee2mqtt/pir2\n"));
	assert_non_null(strstr(out, "vacancy_after = 600s\n"));
	free(out);
	thresholds_free(t);
}

static void test_time_and_presence_errors(void **state)
{
	(void)state;
	PARSE_ERRORS("on_below = 1\nschedule = Mon-Fry 07:00-19:00\n",
		     "ref.txt:2: bad schedule: bad day range: unknown day 'Fry' after '-'");
	PARSE_ERRORS("on_below = 1\n[zone a]\nschedule = 25:00-06:00\noutside = dim\n",
		     "ref.txt:3: bad schedule: bad time '25:00-06:00' (HH:MM from 00:00 to "
		     "23:59, or sunrise/sunset) in [zone a]",
		     "ref.txt:4: bad outside 'dim' (off, on or hold) in [zone a]");
	PARSE_ERRORS("on_below = 1\nschedule = sunset-3O-sunrise\n",
		     "ref.txt:2: bad schedule: bad offset '-3O-sunrise' (a whole number with s, "
		     "m or h: sunset-30m, sunrise+1h)");
	PARSE_ERRORS("on_below = 1\nschedule = Mon,,Tue 07:00-08:00\n",
		     "ref.txt:2: bad schedule: bad list of days: expected a day after ','");
	PARSE_ERRORS("on_below = 1\noccupancy = a/+/b\noccupancy_field = .x\n"
		     "vacancy_after = -1\n",
		     "ref.txt:2: occupancy 'a/+/b' is not a topic: no wildcards, no trailing '/'",
		     "ref.txt:3: occupancy_field '.x' is not a dotted path like state or a.b",
		     "ref.txt:4: negative duration '-1' for vacancy_after");
	PARSE_ERRORS("on_below = 1\n[zone a]\noccupancy = p p\n",
		     "ref.txt:3: occupancy sensor 'p' listed twice in [zone a]");
	PARSE_ERRORS("on_below = 1\noccupancy = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
		     "ref.txt:2: more than 16 occupancy sensors");
}

static void test_sun_needs_site(void **state)
{
	static const char text[] = "on_below = 1\n[zone street]\nschedule = sunset-sunrise\n"
				   "[zone office]\nschedule = Mon-Fri 07:00-19:00\n";

	(void)state;
	opts.site = false;
	PARSE_ERRORS("on_below = 1\n[zone street]\nschedule = sunset-sunrise\n"
		     "[zone office]\nschedule = Mon-Fri 07:00-19:00\n",
		     "ref.txt:3: schedule uses sunrise or sunset: set [site] latitude and "
		     "longitude in pylight.ini in [zone street]");
	opts.site = true;
	thresholds_free(parse_ok(text, sizeof(text) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_number),
		cmocka_unit_test(test_time_and_presence_keys),
		cmocka_unit_test(test_time_and_presence_errors),
		cmocka_unit_test(test_sun_needs_site),
		cmocka_unit_test(test_load_large),
		cmocka_unit_test(test_sections_beyond_max_zones),
		cmocka_unit_test(test_two_numbers),
		cmocka_unit_test(test_keys_all),
		cmocka_unit_test(test_keys_defaults),
		cmocka_unit_test(test_failsafe_any_case),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_inheritance_off_above_defaulted),
		cmocka_unit_test(test_zone_names),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_sections_share_params),
		cmocka_unit_test(test_sections_in_and_out_of_order),
		cmocka_unit_test(test_error_keys),
		cmocka_unit_test(test_error_values),
		cmocka_unit_test(test_smoothing_bounds),
		cmocka_unit_test(test_error_pair),
		cmocka_unit_test(test_error_missing_on_below),
		cmocka_unit_test(test_error_empty),
		cmocka_unit_test(test_error_legacy),
		cmocka_unit_test(test_error_sections),
		cmocka_unit_test(test_error_nul),
		cmocka_unit_test(test_many_errors_all_reported),
		cmocka_unit_test(test_errlist_keeps_first),
		cmocka_unit_test(test_ten_thousand_zones),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_sensors),
		cmocka_unit_test(test_sensors_dump),
		cmocka_unit_test(test_error_sensors),
		cmocka_unit_test(test_sensors_many),
		cmocka_unit_test(test_sensors_scale),
		cmocka_unit_test(test_feedback_keys),
		cmocka_unit_test(test_feedback_topics_once),
		cmocka_unit_test(test_dimming_keys),
		cmocka_unit_test(test_error_dimming),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
