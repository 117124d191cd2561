/* test_explain.c -- unit tests of explanations: the exact JSON, reading others', news, adoption */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <math.h>

#include "explain.h"
#include "number.h"

#define S 1000
#define NEEDLE "\"node\":\"a\""

struct fixture {
	struct thresholds *t;
	struct zones *zs;
	struct zone *z;
	struct sensor_value *v;
	struct decision d;
	char why[DECIDE_REASON_MAX];
};

static int setup(void **state)
{
	const char *ref = "on_below = 300\noff_above = 400\n[zone room]\nsensors = room/a room/b\n"
			  "min_sensors = 1\nstale_after = 10s\nfeedback = lamp/room\n"
			  "[zone desk]\ntarget_lux = 500\nlamp_lux = 500\n";
	struct errlist errs = { 0 };
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(thresholds_parse("ref.txt", ref, strlen(ref), &(struct thresholds_opts){ .site = false }, &f->t,
					  &errs),
			 0);
	assert_int_equal(zones_new(&f->zs), 0);
	f->v = sensors_new(f->t, NULL, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sensors_free(f->v);
	zones_free(f->zs);
	thresholds_free(f->t);
	free(f);
	return 0;
}

static struct zone *zone(struct fixture *f, const char *name)
{
	struct zone *z = zones_add(f->zs, name, thresholds_get(f->t, name));

	assert_non_null(z);
	feedback_init(&z->fb);
	z->own = (struct ownership){ .mine = true, .order_seen = LIGHT_UNKNOWN };
	return z;
}

static void expect(struct zone *z, const char *why, const struct explain_ctx *x,
		   const char *json)
{
	struct explanation e = { 0 };

	assert_int_equal(explain_build(z, why, x, &e), 0);
	assert_int_equal(e.len, strlen(json));
	assert_memory_equal(e.text, json, e.len);
	explain_done(&e);
	explain_done(&e);
}

static void test_plain_zone_bytes(void **state)
{
	struct fixture *f = *state;
	struct zone *z = zone(f, "floor1/hall");
	struct explain_ctx x = { .sensors = f->v, .t = f->t, .now = 5 * S };

	decide_reading(&z->st, z->p, 0.1, 5 * S, &f->d);
	z->since_wall = 1700000000;
	decide_reason(&f->d, f->why, sizeof(f->why));
	expect(z, f->why, &x,
	       "{\"zone\":\"floor1/hall\",\"state\":\"ON\",\"mode\":\"auto\",\"lux\":0.1,"
	       "\"smoothed\":0.1,\"on_below\":300,\"off_above\":400,"
	       "\"reason\":\"first reading 0.1 < on_below 300\",\"since\":1700000000,"
	       "\"switches\":1}");
	/* In a cluster it names the instance, and an override its end. */
	x.node = "a";
	x.wall_ms = 1700000000000;
	decide_override(&z->st, z->p, OVERRIDE_OFF, 60 * S, 5 * S, &f->d);
	decide_reason(&f->d, f->why, sizeof(f->why));
	{
		struct explanation e = { 0 };

		assert_int_equal(explain_build(z, f->why, &x, &e), 0);
		assert_non_null(strstr(e.text, "\"node\":\"a\",\"until\":1700000060}"));
		assert_non_null(strstr(e.text, "\"mode\":\"override\""));
		explain_done(&e);
	}
}

static void test_sensors_and_lamp_bytes(void **state)
{
	struct fixture *f = *state;
	struct zone *z = zone(f, "room");
	struct explain_ctx x = { .sensors = f->v, .t = f->t, .now = 13 * S };
	const char *zn;

	sensors_reading(f->v, &z->st, z->p, (unsigned)thresholds_sensor(f->t, "room/a", &zn), 500,
			2 * S, &f->d);
	z->fb.lamp = LIGHT_OFF;
	z->fb.unconfirmed = true;
	z->fb.retries = 1;
	expect(z, "x", &x,
	       "{\"zone\":\"room\",\"state\":\"OFF\",\"mode\":\"auto\",\"lux\":500,"
	       "\"smoothed\":500,\"on_below\":300,\"off_above\":400,\"reason\":\"x\","
	       "\"since\":0,\"switches\":1,\"lamp\":\"OFF\",\"confirmed\":false,\"retries\":1,"
	       "\"aggregate\":\"median\",\"sensors\":{\"room/a\":{\"lux\":500,\"age\":11,"
	       "\"stale\":true},\"room/b\":{\"lux\":null,\"age\":null,\"stale\":true}}}");
}

/* A dimmed zone adds its level, target and daylight; a restarted instance takes the level. */
static void test_dimmed_zone_bytes(void **state)
{
	struct fixture *f = *state;
	struct zone *z = zone(f, "desk");
	struct explain_ctx x = { .sensors = f->v, .t = f->t, .now = 5 * S };
	struct explanation e = { 0 };
	struct explained ex;
	struct zone_state s = { 0 };
	int64_t since;

	decide_reading(&z->st, z->p, 200, 5 * S, &f->d);
	decide_reading(&z->st, z->p, 300, 6 * S, &f->d);
	decide_reason(&f->d, f->why, sizeof(f->why));
	expect(z, f->why, &x,
	       "{\"zone\":\"desk\",\"state\":\"ON\",\"mode\":\"auto\",\"lux\":300,"
	       "\"smoothed\":200,\"on_below\":300,\"off_above\":400,"
	       "\"reason\":\"daylight 200 < target_lux 500: level 40\",\"since\":0,"
	       "\"switches\":1,\"level\":40,\"target_lux\":500,\"daylight\":200}");
	assert_int_equal(explain_build(z, f->why, &x, &e), 0);
	explain_parse(e.text, e.len, &ex);
	explain_done(&e);
	assert_int_equal(ex.level, 40);
	explain_adopt(&s, &since, &ex, 50 * S, 1000, 1000 * S);
	assert_int_equal(decide_level(&s), 40);
	explain_parse("{\"state\":\"ON\"}", 14, &ex);
	assert_int_equal(ex.level, -1);
}

/*
 * A lamp weaker than lamp_lux: the reading is less than the lamp's share alone, and the
 * estimate goes negative. The controller keeps it ("smoothed"); "daylight" and the reason
 * show 0.
 */
static void test_dimmed_daylight_shown_at_least_0(void **state)
{
	struct fixture *f = *state;
	struct zone *z = zone(f, "desk");
	struct explain_ctx x = { .sensors = f->v, .t = f->t, .now = 7 * S };

	decide_reading(&z->st, z->p, 200, 5 * S, &f->d); /* level 20 */
	decide_reading(&z->st, z->p, 300, 6 * S, &f->d); /* level 40 */
	decide_reading(&z->st, z->p, 100, 7 * S, &f->d); /* 100 - 40 % of 500 = -100 */
	decide_reason(&f->d, f->why, sizeof(f->why));
	assert_string_equal(f->why, "daylight 0 < target_lux 500: level 60");
	expect(z, f->why, &x,
	       "{\"zone\":\"desk\",\"state\":\"ON\",\"mode\":\"auto\",\"lux\":100,"
	       "\"smoothed\":-100,\"on_below\":300,\"off_above\":400,"
	       "\"reason\":\"daylight 0 < target_lux 500: level 60\",\"since\":0,"
	       "\"switches\":1,\"level\":60,\"target_lux\":500,\"daylight\":0}");
}

/*
 * The oracle for the writer: the json-c DOM that explanations were built with before,
 * serialised as they were (plain, '/' unescaped), for a plain zone's fields.
 */
static json_object *oracle_number(double v)
{
	char text[32];

	if (fabs(v) <= 0x1p53 && v == (double)(int64_t)v && !(v == 0 && signbit(v)))
		return json_object_new_int64((int64_t)v);
	number_format(v, text, sizeof(text));
	return json_object_new_double_s(v, text);
}

static void expect_as_json_c(struct zone *z, const char *why, const struct explain_ctx *x)
{
	const struct zone_state *s = &z->st;
	json_object *o = json_object_new_object();
	struct explanation e = { 0 };
	const char *want;

	json_object_object_add(o, "zone", json_object_new_string(z->name));
	json_object_object_add(o, "state", json_object_new_string(light_name(s->light)));
	json_object_object_add(o, "mode", json_object_new_string(mode_name(s->mode)));
	json_object_object_add(o, "lux", s->has_reading ? oracle_number(s->lux) : NULL);
	json_object_object_add(o, "smoothed", s->has_reading ? oracle_number(s->smoothed) : NULL);
	json_object_object_add(o, "on_below", oracle_number(z->p->on_below));
	json_object_object_add(o, "off_above", oracle_number(z->p->off_above));
	json_object_object_add(o, "reason", json_object_new_string(why));
	json_object_object_add(o, "since", json_object_new_int64(z->since_wall));
	json_object_object_add(o, "switches", json_object_new_int64(s->switches));
	if (x->node)
		json_object_object_add(o, "node", json_object_new_string(x->node));
	want = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	assert_int_equal(explain_build(z, why, x, &e), 0);
	assert_string_equal(e.text, want);
	assert_int_equal(e.len, strlen(want));
	explain_done(&e);
	json_object_put(o);
}

/* Strings escaped as json-c does: quotes, backslash, control bytes; UTF-8 and '/' as they are. */
static void test_escaping_as_json_c(void **state)
{
	static const char *const names[] = {
		"", "hall", "floor1/hall", "say \"hi\"", "back\\slash", "tab\there",
		"nl\ncr\rbs\bff\f", "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x98\x80 \xf0\x9f\x92\xa1",
		"</script>", "\\u0041",
	};
	struct fixture *f = *state;
	struct explain_ctx x = { .sensors = f->v, .t = f->t, .now = 5 * S };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct zone *z = zone(f, names[i]);

		decide_reading(&z->st, z->p, 42, 5 * S, &f->d);
		z->since_wall = 1700000000;
		expect_as_json_c(z, names[i], &x);
		x.node = names[i];
		expect_as_json_c(z, "x", &x);
		x.node = NULL;
	}
}

/* Numbers as before: whole ones as integers, others by number_format, negative zero as -0.0. */
static void test_numbers_as_json_c(void **state)
{
	static const double values[] = {
		0, 1, -1, 0.1, 12.5, -12.5, 1e21, 1e-7, 123456789012.0, -0.0, 0x1p53, -0x1p53,
		0x1p53 + 2, 1e300, 5e-324, 1.7976931348623157e308, 0.30000000000000004,
	};
	struct fixture *f = *state;
	struct explain_ctx x = { .sensors = f->v, .t = f->t, .now = 5 * S };
	struct zone *z = zone(f, "n");
	struct zone_params p = *z->p;

	z->p = &p;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		p.on_below = values[i];
		p.off_above = -values[i];
		z->st.has_reading = true;
		z->st.lux = values[i];
		z->st.smoothed = values[i] / 3;
		z->st.switches = UINT32_MAX;
		z->since_wall = i % 2 ? INT64_MAX : INT64_MIN;
		expect_as_json_c(z, "n", &x);
	}
}

/* A schedule and presence sensors add "schedule" and "occupied"; the mode says which rules. */
static void test_schedule_and_presence(void **state)
{
	const char *ref = "on_below = 300\n[zone office]\nschedule = Mon-Fri 07:00-19:00\n"
			  "occupancy = pir/1\nvacancy_after = 15m\n";
	struct errlist errs = { 0 };
	struct thresholds *t = NULL;
	struct zones *zs = NULL;
	struct zone *z;
	struct explain_ctx x = { .now = 5 * S };
	struct decision d;
	char why[DECIDE_REASON_MAX];

	(void)state;
	assert_int_equal(thresholds_parse("ref.txt", ref, strlen(ref), &(struct thresholds_opts){ 0 }, &t,
					  &errs), 0);
	assert_int_equal(zones_new(&zs), 0);
	z = zones_add(zs, "office", thresholds_get(t, "office"));
	assert_non_null(z);
	x.t = t;
	z->st.vacant = true;
	decide_reading(&z->st, z->p, 120, 5 * S, &d);
	decide_reason(&d, why, sizeof(why));
	expect(z, why, &x,
	       "{\"zone\":\"office\",\"state\":\"OFF\",\"mode\":\"vacant\",\"lux\":120,"
	       "\"smoothed\":120,\"on_below\":300,\"off_above\":300,"
	       "\"reason\":\"vacant for 15m: OFF\",\"since\":0,\"switches\":1,"
	       "\"schedule\":true,\"occupied\":false}");
	z->st.out_of_schedule = true;
	decide_tick(&z->st, z->p, 6 * S, &d);
	decide_reason(&d, why, sizeof(why));
	expect(z, why, &x,
	       "{\"zone\":\"office\",\"state\":\"OFF\",\"mode\":\"schedule\",\"lux\":120,"
	       "\"smoothed\":120,\"on_below\":300,\"off_above\":300,"
	       "\"reason\":\"outside schedule Mon-Fri 07:00-19:00: OFF\",\"since\":0,"
	       "\"switches\":1,\"schedule\":false,\"occupied\":false}");
	zones_free(zs);
	thresholds_free(t);
}

static void test_parse(void **state)
{
	const char *text = "{\"zone\":\"z\",\"state\":\"ON\",\"mode\":\"override\","
			   "\"since\":120,\"switches\":7,\"node\":\"b\",\"until\":900}";
	struct explained e;

	(void)state;
	explain_parse(text, strlen(text), &e);
	assert_int_equal(e.light, LIGHT_ON);
	assert_int_equal(e.mode, MODE_OVERRIDE);
	assert_true(e.has_switches && e.has_since);
	assert_int_equal(e.switches, 7);
	assert_int_equal(e.since, 120);
	assert_int_equal(e.until, 900);
	assert_false(e.has_lux);
	explain_parse("{\"state\":\"ON\",\"lux\":12.5}", 25, &e);
	assert_true(e.has_lux);
	assert_true(e.lux == 12.5);
	explain_parse("{\"state\":\"ON\",\"lux\":null}", 25, &e);
	assert_false(e.has_lux);
	explain_parse("{\"state\":\"DIM\",\"since\":1.5}", 27, &e);
	assert_int_equal(e.light, LIGHT_UNKNOWN);
	assert_int_equal(e.mode, -1);
	assert_false(e.has_since); /* only whole numbers count */
	explain_parse("not json", 8, &e);
	assert_int_equal(e.light, LIGHT_UNKNOWN);
	assert_true(explain_agrees("\"switches\":7,\"since\":120", 24, 7, 120));
	assert_false(explain_agrees("\"switches\":7,\"since\":120", 24, 7, 121));
	assert_false(explain_agrees("\"switches\":,\"since\":120", 23, 0, 120));
}

static void test_news(void **state)
{
	struct zone_state s = { .light = LIGHT_ON, .mode = MODE_AUTO, .switches = 3 };
	struct explained e = { .light = LIGHT_OFF, .mode = MODE_AUTO, .switches = 4, .since = 10 };

	(void)state;
	assert_int_equal(explain_news(&s, 10, &e, false), EXPLAIN_NEWS);
	e.switches = 3;
	/* A tie of the last change is news only in the retained ones after a connect. */
	assert_int_equal(explain_news(&s, 10, &e, false), EXPLAIN_OLD);
	assert_int_equal(explain_news(&s, 10, &e, true), EXPLAIN_NEWS);
	e.light = LIGHT_ON;
	assert_int_equal(explain_news(&s, 10, &e, false), EXPLAIN_SAME);
	e.since = 11;
	assert_int_equal(explain_news(&s, 10, &e, false), EXPLAIN_SAME);
	e.switches = 2;
	e.light = LIGHT_OFF;
	assert_int_equal(explain_news(&s, 10, &e, true), EXPLAIN_OLD);
}

static void test_adopt(void **state)
{
	struct zone_state s = { .has_reading = true, .wlen = 3 };
	struct explained e = { .light = LIGHT_ON, .mode = MODE_OVERRIDE, .switches = 5,
			       .has_since = true, .since = 990, .until = 1100 };
	int64_t since;

	(void)state;
	explain_adopt(&s, &since, &e, 50 * S, 1000, 1000 * S + 250);
	assert_false(s.has_reading);
	assert_int_equal(s.wlen, 0);
	assert_int_equal(s.light, LIGHT_ON);
	assert_int_equal(s.switches, 5);
	assert_int_equal(since, 990);
	assert_int_equal(s.changed_at, 40 * S);
	assert_int_equal(s.mode, MODE_OVERRIDE);
	assert_int_equal(s.override_until, 50 * S + 100 * S - 250);
	/* Another host's clock ahead, an override over: now, and auto. */
	e.since = 2000;
	e.until = 900;
	explain_adopt(&s, &since, &e, 50 * S, 1000, 1000 * S);
	assert_int_equal(since, 1000);
	assert_int_equal(s.mode, MODE_AUTO);
	e.has_since = false;
	e.mode = MODE_FAILSAFE;
	explain_adopt(&s, &since, &e, 50 * S, 1000, 1000 * S);
	assert_int_equal(since, 1000);
	assert_int_equal(s.mode, MODE_FAILSAFE);
	/* A shadow whose latest reading is the owner's keeps its readings; one behind does not. */
	s = (struct zone_state){ .has_reading = true, .wlen = 3, .wpos = 1, .lux = 100 };
	e = (struct explained){ .light = LIGHT_OFF, .mode = MODE_VACANT, .switches = 2,
				.has_lux = true, .lux = 100 };
	explain_adopt(&s, &since, &e, 50 * S, 1000, 1000 * S);
	assert_true(s.has_reading);
	assert_int_equal(s.wlen, 3);
	assert_int_equal(s.light, LIGHT_OFF);
	e.lux = 120;
	explain_adopt(&s, &since, &e, 50 * S, 1000, 1000 * S);
	assert_false(s.has_reading);
	assert_int_equal(s.wlen, 0);
}

static void test_heard(void **state)
{
	struct fixture *f = *state;
	const char *ours = "{\"state\":\"ON\",\"mode\":\"auto\",\"since\":5,\"switches\":2,"
			   "\"node\":\"a\"}";
	const char *theirs = "{\"state\":\"ON\",\"mode\":\"auto\",\"since\":5,\"switches\":2,"
			     "\"node\":\"b\"}";
	struct explained e;
	struct zone *z;

	/* Unknown zones: taken in only in the window after a connect, even this one's own. */
	assert_int_equal(explain_heard(NULL, theirs, strlen(theirs), NEEDLE, false, &e),
			 EXPLAIN_IGNORED);
	assert_int_equal(explain_heard(NULL, ours, strlen(ours), NEEDLE, true, &e), EXPLAIN_NEWS);
	z = zone(f, "z");
	z->st.light = LIGHT_ON;
	z->st.has_reading = true;
	z->st.switches = 1;
	/* This instance's own echo is never looked at. */
	assert_int_equal(explain_heard(z, ours, strlen(ours), NEEDLE, false, &e), EXPLAIN_IGNORED);
	/* A shadow that agrees takes the owner's counts. */
	z->own.mine = false;
	assert_int_equal(explain_heard(z, theirs, strlen(theirs), NEEDLE, false, &e),
			 EXPLAIN_SAME);
	assert_int_equal(z->st.switches, 2);
	assert_int_equal(z->since_wall, 5);
	/* ... and then skips the parse. */
	assert_int_equal(explain_heard(z, theirs, strlen(theirs), NEEDLE, false, &e),
			 EXPLAIN_IGNORED);
}

static void test_line(void **state)
{
	struct fixture *f = *state;
	struct zone *z = zone(f, "room");
	char buf[512];

	explain_line(z, f->v, "b", 0, buf, sizeof(buf));
	assert_string_equal(buf, "zone 'room': UNKNOWN auto lux 0 smoothed 0 on_below 300 "
				 "off_above 400 switches 0 sensors 0/2 fresh (median) lamp unknown "
				 "confirmed retries 0 owner b");
	explain_line(z, f->v, "", 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, " owner none"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_zone_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sensors_and_lamp_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dimmed_zone_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dimmed_daylight_shown_at_least_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping_as_json_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers_as_json_c, setup, teardown),
		cmocka_unit_test(test_schedule_and_presence),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_news),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test_setup_teardown(test_heard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
