/* test_sensors.c -- unit tests of listed sensors: values kept over reloads, freshness, aggregate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sensors.h"

#define S 1000

static struct thresholds *parse(const char *text)
{
	struct errlist errs = { 0 };
	struct thresholds *t = NULL;

	assert_int_equal(thresholds_parse("ref.txt", text, strlen(text), &(struct thresholds_opts){ .site = false }, &t,
					  &errs),
			 0);
	return t;
}

struct fixture {
	struct thresholds *t;
	const struct zone_params *p;
	struct sensor_value *v;
	struct zone_state s;
	struct decision d;
	double buf[SMOOTHING_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->t = parse("on_below = 300\noff_above = 400\n[zone room]\nsensors = a b c\n"
		     "min_sensors = 2\naggregate = max\nstale_after = 10s\n");
	f->p = thresholds_get(f->t, "room");
	f->v = sensors_new(f->t, NULL, NULL);
	assert_non_null(f->v);
	f->s.window = f->buf;
	f->s.wcap = SMOOTHING_MAX;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sensors_free(f->v);
	thresholds_free(f->t);
	free(f);
	return 0;
}

static unsigned sensor(const struct fixture *f, const char *name)
{
	const char *zone;
	int i = thresholds_sensor(f->t, name, &zone);

	assert_true(i >= 0);
	return (unsigned)i;
}

static void test_enough_fresh_sensors_decide(void **state)
{
	struct fixture *f = *state;
	struct fresh fr;

	assert_true(sensors_stale(f->v, f->p, sensor(f, "a"), 0)); /* never seen */
	assert_false(sensors_reading(f->v, &f->s, f->p, sensor(f, "a"), 500, 1 * S, &f->d));
	assert_true(sensors_reading(f->v, &f->s, f->p, sensor(f, "b"), 100, 2 * S, &f->d));
	/* The maximum of the fresh ones, 500: above off_above. */
	assert_true(f->d.order);
	assert_int_equal(f->d.light, LIGHT_OFF);
	assert_true(f->s.lux == 500);
	/* Fresh while the min_sensors-th freshest is: a, read at 1 s, goes stale at 11 s. */
	assert_true(sensors_fresh(f->v, f->p, 10 * S, &fr));
	assert_int_equal(fr.n, 2);
	assert_int_equal(fr.since, 1 * S);
	assert_false(sensors_fresh(f->v, f->p, 11 * S, &fr));
	assert_int_equal(fr.n, 1);
	assert_true(sensors_stale(f->v, f->p, sensor(f, "a"), 11 * S));
	assert_false(sensors_stale(f->v, f->p, sensor(f, "b"), 11 * S));
}

static void test_values_survive_a_reload(void **state)
{
	struct fixture *f = *state;
	struct thresholds *t = parse("on_below = 300\noff_above = 400\n"
				     "[zone room]\nsensors = c a\n[zone other]\nsensors = b\n");
	struct sensor_value *v;
	const char *zone;

	f->v[sensor(f, "a")].lux = 42;
	f->v[sensor(f, "a")].at = 5 * S;
	f->v[sensor(f, "a")].zone = (struct zone *)f; /* any pointer: it must be forgotten */
	v = sensors_new(t, f->v, f->t);
	assert_non_null(v);
	assert_true(v[thresholds_sensor(t, "a", &zone)].lux == 42);
	assert_int_equal(v[thresholds_sensor(t, "a", &zone)].at, 5 * S);
	assert_null(v[thresholds_sensor(t, "a", &zone)].zone);
	assert_int_equal(v[thresholds_sensor(t, "b", &zone)].at, SENSOR_NEVER_SEEN);
	sensors_free(v);
	thresholds_free(t);
	sensors_free(NULL);
}

static void test_reload_takes_a_new_aggregate(void **state)
{
	struct fixture *f = *state;
	struct thresholds *t = parse("on_below = 300\noff_above = 400\n[zone room]\n"
				     "sensors = a b c\nmin_sensors = 2\naggregate = min\n");

	sensors_reading(f->v, &f->s, f->p, sensor(f, "a"), 500, 1 * S, &f->d);
	sensors_reading(f->v, &f->s, f->p, sensor(f, "b"), 100, 1 * S, &f->d);
	assert_int_equal(f->s.light, LIGHT_OFF);
	/* The minimum, 100, is one new sample: dark. */
	sensors_reload(f->v, &f->s, thresholds_get(t, "room"), 2 * S, &f->d);
	assert_true(f->s.lux == 100);
	assert_true(f->d.order);
	assert_int_equal(f->d.light, LIGHT_ON);
	thresholds_free(t);
}

static void test_reload_with_too_few_fresh_is_stale(void **state)
{
	struct fixture *f = *state;
	struct thresholds *t = parse("on_below = 300\noff_above = 400\n[zone room]\n"
				     "sensors = a b c\nmin_sensors = 3\nstale_after = 10s\n"
				     "failsafe = on\n");

	sensors_reading(f->v, &f->s, f->p, sensor(f, "a"), 500, 1 * S, &f->d);
	sensors_reading(f->v, &f->s, f->p, sensor(f, "b"), 500, 1 * S, &f->d);
	sensors_reload(f->v, &f->s, thresholds_get(t, "room"), 2 * S, &f->d);
	assert_true(f->d.went_stale);
	assert_int_equal(f->d.light, LIGHT_ON);
	thresholds_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enough_fresh_sensors_decide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_survive_a_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_takes_a_new_aggregate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_with_too_few_fresh_is_stale, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
