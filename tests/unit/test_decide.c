/* test_decide.c -- unit tests of the decision engine: hysteresis, smoothing, dwell, overrides */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decide.h"
#include "schedule.h"

#define S 1000 /* one second in the engine's milliseconds */

struct fixture {
	struct zone_params p;
	struct zone_state z;
	struct decision d;
	double buf[SMOOTHING_MAX];
};

static struct fixture *fixture_new(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->p.on_below = 300;
	f->p.off_above = 400;
	f->p.override_for = 3600 * S;
	f->p.smoothing = 1;
	f->p.failsafe = FAILSAFE_HOLD;
	f->z.window = f->buf;
	f->z.wcap = SMOOTHING_MAX;
	return f;
}

static void reading(struct fixture *f, double lux, int64_t now)
{
	decide_reading(&f->z, &f->p, lux, now, &f->d);
}

static void tick(struct fixture *f, int64_t now)
{
	decide_tick(&f->z, &f->p, now, &f->d);
}

/* The decision's reason as text; valid until the next call. */
static const char *why(const struct decision *d)
{
	static char buf[DECIDE_REASON_MAX];

	decide_reason(d, buf, sizeof(buf));
	return buf;
}

static void override(struct fixture *f, enum override_cmd cmd, int64_t duration, int64_t now)
{
	decide_override(&f->z, &f->p, cmd, duration, now, &f->d);
}

static void test_first_decision(void **state)
{
	struct fixture f;

	(void)state;
	reading(fixture_new(&f), 299, 0);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_string_equal(why(&f.d), "first reading 299 < on_below 300");
	assert_int_equal(f.z.switches, 1);

	reading(fixture_new(&f), 300, 0);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.light, LIGHT_OFF);
	assert_string_equal(why(&f.d), "first reading 300 >= on_below 300");
}

static void test_first_decision_has_no_dwell(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.min_on = 60 * S;
	f.p.min_off = 60 * S;
	reading(&f, 10, 5 * S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.z.changed_at, 5 * S);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
}

static void test_hysteresis_edges(void **state)
{
	struct fixture f;

	(void)state;
	reading(fixture_new(&f), 350, 0);
	assert_int_equal(f.z.light, LIGHT_OFF);

	reading(&f, 300, S);
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_string_equal(why(&f.d), "300 between on_below 300 and off_above 400: stays OFF");

	reading(&f, 299.5, 2 * S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_string_equal(why(&f.d), "299.5 < on_below 300");

	reading(&f, 400, 3 * S);
	assert_false(f.d.order);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_string_equal(why(&f.d), "400 between on_below 300 and off_above 400: stays ON");

	reading(&f, 400.5, 4 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_string_equal(why(&f.d), "400.5 > off_above 400");
	assert_int_equal(f.z.changed_at, 4 * S);
	assert_int_equal(f.z.switches, 3);
}

static void test_single_threshold(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.off_above = 300;
	reading(&f, 200, 0);
	reading(&f, 300, S);
	assert_false(f.d.order);
	assert_int_equal(f.z.light, LIGHT_ON);
	reading(&f, 301, 2 * S);
	assert_true(f.d.order);
	assert_int_equal(f.z.light, LIGHT_OFF);
}

static void test_order_only_on_change(void **state)
{
	static const double lux[] = { 100, 50, 200, 350, 500, 600, 350, 250, 10 };
	static const bool order[] = { true, false, false, false, true, false, false, true, false };
	struct fixture f;

	(void)state;
	fixture_new(&f);
	for (size_t i = 0; i < sizeof(lux) / sizeof(lux[0]); i++) {
		reading(&f, lux[i], (int64_t)i * S);
		assert_int_equal(f.d.order, order[i]);
		assert_int_equal(f.d.changed, order[i]);
	}
	assert_int_equal(f.z.switches, 3);
	assert_int_equal(f.z.changed_at, 7 * S);
}

static void test_median(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.smoothing = 3;
	reading(&f, 100, 0);
	assert_true(f.z.smoothed == 100);
	reading(&f, 500, S);
	assert_true(f.z.smoothed == 300); /* partial, even: mean of the two middle values */
	assert_true(f.z.lux == 500);
	reading(&f, 200, 2 * S);
	assert_true(f.z.smoothed == 200);
	reading(&f, 1000, 3 * S); /* 100 leaves the window: median of 500 200 1000 */
	assert_true(f.z.smoothed == 500);
	assert_int_equal(f.z.wlen, 3);
	reading(&f, 900, 4 * S);
	assert_true(f.z.smoothed == 900);

	fixture_new(&f);
	f.p.smoothing = 4;
	reading(&f, 3, 0);
	reading(&f, 100, S);
	reading(&f, 1, 2 * S);
	reading(&f, 2, 3 * S);
	assert_true(f.z.smoothed == 2.5);
	assert_string_equal(why(&f.d), "2.5 < on_below 300");
}

static void test_median_decides(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.smoothing = 3;
	reading(&f, 500, 0);
	reading(&f, 500, S);
	reading(&f, 10, 2 * S); /* one dark outlier does not switch */
	assert_false(f.d.order);
	assert_int_equal(f.z.light, LIGHT_OFF);
	reading(&f, 10, 3 * S);
	assert_true(f.d.order);
	assert_int_equal(f.z.light, LIGHT_ON);
}

static void test_smoothing_lowered_uses_newest(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.smoothing = 4;
	reading(&f, 1000, 0);
	reading(&f, 2000, S);
	reading(&f, 10, 2 * S);
	reading(&f, 20, 3 * S);
	assert_true(f.z.smoothed == 510);
	assert_int_equal(f.z.light, LIGHT_OFF);
	f.p.smoothing = 2; /* a reload, before the window is resized */
	tick(&f, 4 * S);
	assert_true(f.z.smoothed == 15);
	assert_true(f.d.order);
	assert_int_equal(f.z.light, LIGHT_ON);
	reading(&f, 3000, 5 * S);
	assert_true(f.z.smoothed == 1510);
	assert_int_equal(f.z.wlen, 4);
}

static void test_window_resize(void **state)
{
	struct fixture f;
	double small[2], big[5];

	(void)state;
	fixture_new(&f);
	f.p.smoothing = 4;
	f.z.wcap = 4;
	for (int i = 1; i <= 5; i++)
		reading(&f, i * 10, i * S);
	assert_int_equal(f.z.wpos, 1); /* wrapped */

	decide_window_resize(&f.z, small, 2);
	assert_ptr_equal(f.z.window, small);
	assert_int_equal(f.z.wcap, 2);
	assert_int_equal(f.z.wlen, 2);
	assert_int_equal(f.z.wpos, 0);
	assert_true(small[0] == 40);
	assert_true(small[1] == 50);
	f.p.smoothing = 2;
	tick(&f, 6 * S);
	assert_true(f.z.smoothed == 45);
	reading(&f, 60, 7 * S);
	assert_true(f.z.smoothed == 55);

	decide_window_resize(&f.z, big, 5);
	assert_int_equal(f.z.wcap, 5);
	assert_int_equal(f.z.wlen, 2);
	assert_int_equal(f.z.wpos, 2);
	assert_true(big[0] == 50);
	assert_true(big[1] == 60);
	f.p.smoothing = 5;
	reading(&f, 10, 8 * S);
	assert_int_equal(f.z.wlen, 3);
	assert_true(f.z.smoothed == 50);

	fixture_new(&f);
	f.z.window = NULL;
	f.z.wcap = 0;
	decide_window_resize(&f.z, small, 1);
	assert_int_equal(f.z.wlen, 0);
	assert_int_equal(f.z.wpos, 0);
	reading(&f, 7, 0);
	assert_true(small[0] == 7);
	assert_true(f.z.smoothed == 7);
}

static void test_dwell(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.min_on = 30 * S;
	f.p.min_off = 10 * S;
	reading(&f, 100, 0);
	assert_int_equal(f.z.light, LIGHT_ON);

	reading(&f, 500, 5 * S);
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.d.wake, 30 * S);
	assert_string_equal(why(&f.d), "500 > off_above 400: OFF deferred by min_on until +25s");

	tick(&f, 30 * S - 1);
	assert_false(f.d.order);
	assert_int_equal(f.d.wake, 30 * S);
	assert_string_equal(why(&f.d), "500 > off_above 400: OFF deferred by min_on until +0.001s");

	tick(&f, 30 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
	assert_int_equal(f.z.changed_at, 30 * S);
	assert_int_equal(f.z.switches, 2);
	assert_string_equal(why(&f.d), "500 > off_above 400");

	reading(&f, 100, 31 * S);
	assert_false(f.d.order);
	assert_int_equal(f.d.wake, 40 * S);
	assert_string_equal(why(&f.d), "100 < on_below 300: ON deferred by min_off until +9s");

	/* The light came back before the dwell ended: nothing is pending any more. */
	reading(&f, 350, 32 * S);
	assert_false(f.d.order);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
	tick(&f, 40 * S);
	assert_false(f.d.order);
	assert_int_equal(f.z.light, LIGHT_OFF);

	reading(&f, 100, 41 * S);
	assert_true(f.d.order);
	assert_int_equal(f.z.light, LIGHT_ON);
}

static void test_override_when_already_on(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 100, 0);
	override(&f, OVERRIDE_ON, -1, 10 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.z.mode, MODE_OVERRIDE);
	assert_int_equal(f.z.override_until, 3610 * S);
	assert_int_equal(f.d.wake, 3610 * S);
	assert_int_equal(f.z.switches, 1);
	assert_int_equal(f.z.changed_at, 0);
	assert_string_equal(why(&f.d), "override ON");

	/* Repeated under override: ordered again, and the new end is worth publishing. */
	override(&f, OVERRIDE_ON, 60 * S, 20 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.z.override_until, 80 * S);
	assert_int_equal(f.z.switches, 1);
}

static void test_override_ignores_dwell(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.min_on = 60 * S;
	reading(&f, 100, 0);
	override(&f, OVERRIDE_OFF, 15 * 60 * S, 5 * S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.changed_at, 5 * S);
	assert_int_equal(f.z.switches, 2);
	assert_int_equal(f.z.override_until, 905 * S);
	assert_string_equal(why(&f.d), "override OFF");
}

static void test_override_freezes_readings(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.smoothing = 2;
	reading(&f, 500, 0);
	override(&f, OVERRIDE_OFF, 60 * S, S);
	reading(&f, 10, 2 * S);
	reading(&f, 20, 3 * S);
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.mode, MODE_OVERRIDE);
	assert_string_equal(why(&f.d), "override OFF");
	assert_int_equal(f.d.wake, 61 * S);
	assert_true(f.z.lux == 20);
	assert_true(f.z.smoothed == 15);
	assert_int_equal(f.z.last_reading, 3 * S);
}

static void test_auto_reevaluates(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 500, 0);
	override(&f, OVERRIDE_OFF, -1, S);
	reading(&f, 10, 2 * S);
	override(&f, OVERRIDE_AUTO, -1, 3 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_string_equal(why(&f.d), "10 < on_below 300");

	/* AUTO without an override: accepted, re-evaluates, nothing changes. */
	override(&f, OVERRIDE_AUTO, -1, 4 * S);
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_string_equal(why(&f.d), "10 < on_below 300");
}

static void test_auto_keeps_state_when_in_band(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 500, 0);
	override(&f, OVERRIDE_ON, -1, S);
	reading(&f, 350, 2 * S);
	override(&f, OVERRIDE_AUTO, -1, 3 * S);
	assert_false(f.d.order);
	assert_true(f.d.changed); /* the mode changed */
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_string_equal(why(&f.d), "350 between on_below 300 and off_above 400: stays ON");
}

static void test_auto_dwell_counts_from_override(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.min_on = 60 * S;
	reading(&f, 500, 0);
	override(&f, OVERRIDE_ON, -1, 10 * S);
	override(&f, OVERRIDE_AUTO, -1, 20 * S);
	assert_false(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.d.wake, 70 * S);
	assert_string_equal(why(&f.d), "500 > off_above 400: OFF deferred by min_on until +50s");
	tick(&f, 70 * S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_OFF);
}

static void test_override_without_reading(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.stale_after = 10 * S;
	override(&f, OVERRIDE_ON, -1, 0);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.z.switches, 1);
	override(&f, OVERRIDE_AUTO, -1, S);
	assert_false(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
	assert_string_equal(why(&f.d), "auto, no reading yet");
	tick(&f, 1000 * S); /* never stale without a reading */
	assert_false(f.d.changed);
	assert_int_equal(f.z.mode, MODE_AUTO);
}

static void test_override_expiry(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 100, 0);
	override(&f, OVERRIDE_ON, 60 * S, S);
	reading(&f, 500, 2 * S);
	tick(&f, 61 * S - 1);
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.z.mode, MODE_OVERRIDE);
	assert_int_equal(f.d.wake, 61 * S);
	assert_string_equal(why(&f.d), "override ON");
	tick(&f, 61 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
}

static void test_reading_after_expiry_resumes(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 100, 0);
	override(&f, OVERRIDE_ON, 60 * S, S);
	reading(&f, 500, 61 * S);
	assert_true(f.d.order);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_int_equal(f.d.light, LIGHT_OFF);
}

static void stale_case(enum failsafe fs, bool order, enum light light, const char *reason)
{
	struct fixture f;

	fixture_new(&f);
	f.p.stale_after = 120 * S;
	f.p.failsafe = fs;
	reading(&f, 350, 0); /* OFF */
	reading(&f, 350, 10 * S);
	assert_int_equal(f.d.wake, 130 * S);
	tick(&f, 130 * S - 1);
	assert_false(f.d.changed);
	assert_int_equal(f.z.mode, MODE_AUTO);

	tick(&f, 130 * S);
	assert_int_equal(f.d.order, order);
	assert_true(f.d.changed);
	assert_int_equal(f.z.mode, MODE_FAILSAFE);
	assert_int_equal(f.d.light, light);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
	assert_string_equal(why(&f.d), reason);

	tick(&f, 500 * S); /* once only */
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.z.mode, MODE_FAILSAFE);

	reading(&f, 500, 501 * S);
	assert_true(f.d.changed);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.d.order, light == LIGHT_ON);
	assert_int_equal(f.d.wake, 621 * S);
}

static void test_stale(void **state)
{
	(void)state;
	stale_case(FAILSAFE_ON, true, LIGHT_ON, "stale 120s: failsafe on");
	stale_case(FAILSAFE_OFF, false, LIGHT_OFF, "stale 120s: failsafe off");
	stale_case(FAILSAFE_HOLD, false, LIGHT_OFF, "stale 120s: failsafe hold");
}

static void test_failsafe_ignores_dwell(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.stale_after = 10 * S;
	f.p.min_on = 3600 * S;
	f.p.failsafe = FAILSAFE_OFF;
	reading(&f, 100, 0);
	tick(&f, 10 * S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.changed_at, 10 * S);
}

static void test_stale_during_override(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.stale_after = 10 * S;
	f.p.failsafe = FAILSAFE_ON;
	reading(&f, 500, 0);
	override(&f, OVERRIDE_OFF, 60 * S, S);
	assert_int_equal(f.d.wake, 61 * S); /* no stale wake under override */
	tick(&f, 30 * S);
	assert_false(f.d.changed);
	assert_int_equal(f.z.mode, MODE_OVERRIDE);
	tick(&f, 61 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.z.mode, MODE_FAILSAFE);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_string_equal(why(&f.d), "stale 61s: failsafe on");
}

static void test_aggregate(void **state)
{
	double a[] = { 500, 100 }, b[] = { 100, 500 }, c[] = { 100, 500 }, d[] = { 500, 100 };
	double three[] = { 120, 900, 110 }, four[] = { 4, 1, 3, 2 }, one[] = { 7 };

	(void)state;
	assert_true(decide_aggregate(AGGREGATE_MIN, a, 2) == 100);
	assert_true(decide_aggregate(AGGREGATE_MAX, b, 2) == 500);
	assert_true(decide_aggregate(AGGREGATE_MEAN, c, 2) == 300);
	assert_true(decide_aggregate(AGGREGATE_MEDIAN, d, 2) == 300);
	/* The median of three ignores the one outlier. */
	assert_true(decide_aggregate(AGGREGATE_MEDIAN, three, 3) == 120);
	assert_true(decide_aggregate(AGGREGATE_MEDIAN, four, 4) == 2.5);
	for (int a_ = AGGREGATE_MEDIAN; a_ <= AGGREGATE_MAX; a_++) {
		one[0] = 7;
		assert_true(decide_aggregate((enum aggregate)a_, one, 1) == 7);
	}
}

/* A sample fresh from an earlier time goes stale that much sooner. */
static void test_sample_fresh_from(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.stale_after = 10 * S;
	f.p.failsafe = FAILSAFE_ON;
	f.p.sensors = 3;
	f.p.min_sensors = 2;
	decide_sample(&f.z, &f.p, 500, 4 * S, 7 * S, &f.d);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.d.wake, 14 * S);
	tick(&f, 14 * S);
	assert_int_equal(f.z.mode, MODE_FAILSAFE);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_true(f.d.order);
	assert_string_equal(why(&f.d), "fewer than 2 fresh sensors: failsafe on");
	/* A sample that brings enough sensors back resumes control. */
	decide_sample(&f.z, &f.p, 500, 15 * S, 16 * S, &f.d);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.d.wake, 25 * S);
	/* One sensor needed: the text says so in the singular. */
	f.p.min_sensors = 1;
	tick(&f, 25 * S);
	assert_string_equal(why(&f.d), "fewer than 1 fresh sensor: failsafe on");
}

/* went_stale marks the one decision that applies the failsafe, however it was reached. */
static void test_went_stale(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.stale_after = 10 * S;
	reading(&f, 500, 0);
	assert_false(f.d.went_stale);
	tick(&f, 10 * S);
	assert_true(f.d.went_stale);
	tick(&f, 20 * S);
	assert_false(f.d.went_stale);
	reading(&f, 500, 21 * S);
	override(&f, OVERRIDE_ON, 60 * S, 22 * S);
	assert_false(f.d.went_stale);
	override(&f, OVERRIDE_AUTO, -1, 40 * S);
	assert_true(f.d.went_stale);
	assert_int_equal(f.z.mode, MODE_FAILSAFE);
}

/* A lamp switched by hand: an override to its state, with no order and no switch counted. */
static void test_manual(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 500, 0); /* OFF */
	decide_manual(&f.z, &f.p, LIGHT_ON, 10 * S, &f.d);
	assert_false(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.z.light, LIGHT_ON);
	assert_int_equal(f.z.mode, MODE_OVERRIDE);
	assert_int_equal(f.z.switches, 1);
	assert_int_equal(f.d.wake, 10 * S + 3600 * S);
	assert_string_equal(why(&f.d), "manual override ON");
	/* It ends as an override does, and the readings take over again. */
	tick(&f, 3610 * S);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_OFF);
}

static void test_lamp_lux(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.lamp_lux = 100;
	reading(&f, 200, 0);
	assert_int_equal(f.z.light, LIGHT_ON);

	reading(&f, 450, S);
	assert_false(f.d.order);
	assert_int_equal(f.z.light, LIGHT_ON);
	assert_string_equal(why(&f.d),
			    "450 - lamp_lux 100 = 350 between on_below 300 and off_above 400: stays ON");

	reading(&f, 510, 2 * S);
	assert_true(f.d.order);
	assert_int_equal(f.z.light, LIGHT_OFF);
	assert_string_equal(why(&f.d), "510 - lamp_lux 100 = 410 > off_above 400");

	reading(&f, 350, 3 * S);
	assert_false(f.d.order);
	assert_string_equal(why(&f.d), "350 between on_below 300 and off_above 400: stays OFF");

	/* Without lamp_lux 450 switches off. */
	fixture_new(&f);
	reading(&f, 200, 0);
	reading(&f, 450, S);
	assert_true(f.d.order);
	assert_int_equal(f.z.light, LIGHT_OFF);
}

static void test_wake(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 100, 0);
	assert_int_equal(f.d.wake, DECIDE_NEVER);

	f.p.stale_after = 100 * S;
	f.p.min_on = 30 * S;
	reading(&f, 500, 10 * S);
	assert_int_equal(f.d.wake, 30 * S); /* dwell end before stale */
	f.p.min_on = 300 * S;
	reading(&f, 500, 20 * S);
	assert_int_equal(f.d.wake, 120 * S); /* stale before dwell end */
	reading(&f, 100, 30 * S);
	assert_int_equal(f.d.wake, 130 * S);

	override(&f, OVERRIDE_OFF, 500 * S, 40 * S);
	assert_int_equal(f.d.wake, 540 * S);

	/* A duration too large for the clock means never. */
	override(&f, OVERRIDE_OFF, INT64_MAX, 50 * S);
	assert_int_equal(f.z.override_until, DECIDE_NEVER);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
}

static void test_decision_filled(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	reading(&f, 100, 0);
	memset(&f.d, 0xa5, sizeof(f.d));
	tick(&f, S);
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.d.wake, DECIDE_NEVER);
	assert_string_equal(why(&f.d), "100 < on_below 300");
}

static void test_reason_truncated(void **state)
{
	static const char head[] =
		"1e+300 - lamp_lux 0.000123456 = 1e+300 > off_above 9.87654e+08: OFF deferred";
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.on_below = 123456789;
	f.p.off_above = 987654321;
	f.p.lamp_lux = 0.000123456;
	f.p.min_on = 1000000 * S;
	reading(&f, 1.5, 0);
	reading(&f, 1e300, S);
	assert_int_equal(strlen(why(&f.d)), DECIDE_REASON_MAX - 1);
	assert_memory_equal(why(&f.d), head, strlen(head));
}

/* Numbers in reasons read as %g prints them, whole ones written without printf included. */
static void test_reason_numbers_as_g(void **state)
{
	static const double values[] = { 0, 7, -7, 0.1, 12.5, 999999, -999999, 1e6, 1234567,
					 123456.5, -0.0, 1e-7, 9007199254740993.0, 1e300 };
	char want[DECIDE_REASON_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct fixture f;

		fixture_new(&f);
		f.p.on_below = values[i];
		f.p.off_above = values[i];
		reading(&f, values[i], 0);
		snprintf(want, sizeof(want), "first reading %g >= on_below %g", values[i],
			 values[i]);
		assert_string_equal(why(&f.d), want);
	}
}

/* --- schedule and presence ------------------------------------------------------------ */

static struct schedule *office(void)
{
	static const char text[] = "Mon-Fri 07:00-19:00";
	struct schedule *s = NULL;
	char err[128];

	assert_int_equal(schedule_parse(text, strlen(text), &s, err, sizeof(err)), 0);
	return s;
}

/* Outside its windows a zone does what `outside` says, whatever the daylight, at once. */
static void test_outside_schedule(void **state)
{
	struct schedule *sch = office();
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.schedule = sch;
	f.p.min_on = 600 * S;
	reading(&f, 100, 0);
	assert_int_equal(f.z.light, LIGHT_ON);
	f.z.out_of_schedule = true;
	tick(&f, S); /* the window's end: no min_on */
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.mode, MODE_SCHEDULE);
	assert_string_equal(why(&f.d), "outside schedule Mon-Fri 07:00-19:00: OFF");
	/* Readings outside the window decide nothing new, but keep the level. */
	reading(&f, 50, 2 * S);
	assert_false(f.d.order);
	assert_false(f.d.changed);
	assert_int_equal(f.z.smoothed, 50);
	assert_int_equal(f.z.mode, MODE_SCHEDULE);

	/* Back inside: decides at once from the last level, no min_off, said so. */
	f.p.min_off = 600 * S;
	f.z.out_of_schedule = false;
	tick(&f, 3 * S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_string_equal(why(&f.d), "inside schedule and 50 < on_below 300");

	f.p.outside = OUTSIDE_ON;
	f.z.out_of_schedule = true;
	reading(&f, 1000, 4 * S);
	assert_false(f.d.order); /* already ON */
	assert_int_equal(f.z.light, LIGHT_ON);
	assert_string_equal(why(&f.d), "outside schedule Mon-Fri 07:00-19:00: ON");

	f.p.outside = OUTSIDE_HOLD;
	f.z.light = LIGHT_OFF;
	tick(&f, 5 * S);
	assert_false(f.d.order);
	assert_int_equal(f.z.light, LIGHT_OFF);
	assert_string_equal(why(&f.d), "outside schedule Mon-Fri 07:00-19:00: hold OFF");
	schedule_free(sch);
}

/* Vacant is OFF at once; occupied again decides from the last level without a dwell. */
static void test_vacant(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.vacancy_after = 15 * 60 * S;
	f.p.min_on = f.p.min_off = 600 * S;
	reading(&f, 120, 0);
	assert_int_equal(f.z.light, LIGHT_ON);
	f.z.vacant = true;
	tick(&f, S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.mode, MODE_VACANT);
	assert_string_equal(why(&f.d), "vacant for 15m: OFF");
	reading(&f, 120, 2 * S);
	assert_false(f.d.order);
	assert_int_equal(f.z.mode, MODE_VACANT);

	f.z.vacant = false;
	tick(&f, 3 * S);
	assert_true(f.d.order);
	assert_true(f.d.changed);
	assert_int_equal(f.d.light, LIGHT_ON);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_string_equal(why(&f.d), "occupied and 120 < on_below 300");
	/* The next reading is ordinary daylight control again, dwell included. */
	reading(&f, 1000, 4 * S);
	assert_false(f.d.order);
	assert_true(f.d.reason.deferred);

	f.z.vacant = true;
	f.p.vacancy_after = 2 * 3600 * S;
	tick(&f, 6 * S);
	assert_string_equal(why(&f.d), "vacant for 2h: OFF");
	f.p.vacancy_after = 90 * S;
	tick(&f, 7 * S);
	assert_string_equal(why(&f.d), "vacant for 90s: OFF");
}

/* Outside the schedule wins over vacant: the zone says why it is really dark. */
static void test_schedule_before_vacant(void **state)
{
	struct schedule *sch = office();
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.schedule = sch;
	f.z.out_of_schedule = f.z.vacant = true;
	reading(&f, 100, 0);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.mode, MODE_SCHEDULE);
	f.z.out_of_schedule = false;
	tick(&f, S);
	assert_int_equal(f.z.mode, MODE_VACANT);
	assert_false(f.d.order);
	assert_true(f.d.changed);
	schedule_free(sch);
}

/* An override beats schedule and presence for its duration; its end hands back to them. */
static void test_override_beats_schedule(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.z.vacant = true;
	reading(&f, 100, 0);
	assert_int_equal(f.z.light, LIGHT_OFF);
	override(&f, OVERRIDE_ON, 60 * S, S);
	assert_int_equal(f.z.light, LIGHT_ON);
	reading(&f, 100, 2 * S);
	assert_int_equal(f.z.mode, MODE_OVERRIDE);
	assert_int_equal(f.z.light, LIGHT_ON);
	tick(&f, 61 * S);
	assert_true(f.d.order);
	assert_int_equal(f.d.light, LIGHT_OFF);
	assert_int_equal(f.z.mode, MODE_VACANT);
}

/* Failsafe only inside the schedule and while occupied: a stale vacant zone stays OFF. */
static void test_failsafe_only_when_occupied(void **state)
{
	struct fixture f;

	(void)state;
	fixture_new(&f);
	f.p.stale_after = 10 * S;
	f.p.failsafe = FAILSAFE_ON;
	reading(&f, 1000, 0);
	f.z.vacant = true;
	tick(&f, 20 * S);
	assert_int_equal(f.z.mode, MODE_VACANT);
	assert_false(f.d.went_stale);
	assert_int_equal(f.z.light, LIGHT_OFF);
	/* Occupied again with a stale reading: now the failsafe applies. */
	f.z.vacant = false;
	tick(&f, 21 * S);
	assert_true(f.d.went_stale);
	assert_int_equal(f.z.mode, MODE_FAILSAFE);
	assert_int_equal(f.z.light, LIGHT_ON);
	/* A failsafe zone that goes vacant goes OFF. */
	f.z.vacant = true;
	tick(&f, 22 * S);
	assert_int_equal(f.z.mode, MODE_VACANT);
	assert_int_equal(f.z.light, LIGHT_OFF);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(light_name(LIGHT_ON), "ON");
	assert_string_equal(light_name(LIGHT_OFF), "OFF");
	assert_string_equal(light_name(LIGHT_UNKNOWN), "UNKNOWN");
	assert_string_equal(mode_name(MODE_AUTO), "auto");
	assert_string_equal(mode_name(MODE_OVERRIDE), "override");
	assert_string_equal(mode_name(MODE_FAILSAFE), "failsafe");
	assert_string_equal(mode_name(MODE_SCHEDULE), "schedule");
	assert_string_equal(mode_name(MODE_VACANT), "vacant");
}


/* --- dimmed zones ------------------------------------------------------------------------ */

static void dimmed(struct fixture *f)
{
	fixture_new(f);
	f->p.target_lux = 500;
	f->p.lamp_lux = 500;
	f->p.level_min = 10;
	f->p.max_step = 20;
	f->p.deadband = 2;
}

static void test_dim_level_and_light(void **state)
{
	struct fixture f;

	(void)state;
	dimmed(&f);
	reading(&f, 200, 0);
	assert_true(f.d.order && f.d.level_order);
	assert_int_equal(f.z.light, LIGHT_ON);
	assert_int_equal(decide_level(&f.z), 20);
	assert_string_equal(why(&f.d), "first reading daylight 200 < target_lux 500: level 20");
	/* The lamp's share at 20 % is taken out: daylight is still 200, the level climbs. */
	reading(&f, 300, S);
	assert_false(f.d.order);
	assert_true(f.d.level_order);
	assert_int_equal(decide_level(&f.z), 40);
	assert_true(f.z.smoothed == 200);
	/* A timer, a lamp report: no new daylight, no new step. */
	tick(&f, 2 * S);
	assert_false(f.d.level_order);
	assert_int_equal(decide_level(&f.z), 40);
	/* Daylight alone at the target: down by max_step, then OFF at 0. */
	reading(&f, 700 + 200, 3 * S);
	assert_false(f.d.order);
	assert_int_equal(decide_level(&f.z), 20);
	reading(&f, 700 + 100, 4 * S);
	assert_true(f.d.order && f.d.level_order);
	assert_int_equal(f.z.light, LIGHT_OFF);
	assert_int_equal(decide_level(&f.z), 0);
}

static void test_dim_dwell_holds_edges_only(void **state)
{
	struct fixture f;

	(void)state;
	dimmed(&f);
	f.p.min_off = 60 * S;
	reading(&f, 700, 0);
	assert_int_equal(f.z.light, LIGHT_OFF);
	reading(&f, 100, S);
	assert_false(f.d.order || f.d.level_order);
	assert_true(f.d.reason.deferred);
	assert_true(f.d.wake == 60 * S);
	assert_string_equal(why(&f.d),
			    "daylight 100 < target_lux 500: level 0: ON deferred by min_off until +59s");
	/* The dwell's end steps with the same daylight, without a reading. */
	tick(&f, 60 * S);
	assert_true(f.d.order && f.d.level_order);
	assert_int_equal(decide_level(&f.z), 20);
	/* Inside ON, levels move freely: min_on does not hold them. */
	f.p.min_on = 3600 * S;
	reading(&f, 100 + 100, 61 * S);
	assert_int_equal(decide_level(&f.z), 40);
}

static void test_dim_overrides_force_levels(void **state)
{
	struct fixture f;

	(void)state;
	dimmed(&f);
	reading(&f, 200, 0);
	override(&f, OVERRIDE_ON, -1, S);
	assert_true(f.d.order && f.d.level_order);
	assert_int_equal(decide_level(&f.z), 100);
	assert_string_equal(why(&f.d), "override ON 100%");
	f.z.hold = 40;
	override(&f, OVERRIDE_ON, -1, 2 * S);
	assert_true(f.d.level_order);
	assert_int_equal(decide_level(&f.z), 40);
	/* Readings in an override move nothing, and are counted at the level held. */
	reading(&f, 200 + 200, 3 * S);
	assert_false(f.d.level_order);
	assert_true(f.z.smoothed == 200);
	override(&f, OVERRIDE_OFF, -1, 4 * S);
	assert_true(f.d.order && f.d.level_order);
	assert_int_equal(decide_level(&f.z), 0);
	/* AUTO steps on from the level held, by max_step at most. */
	f.z.hold = 40;
	override(&f, OVERRIDE_ON, 10 * S, 5 * S);
	tick(&f, 15 * S);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_true(f.d.level_order);
	assert_int_equal(decide_level(&f.z), 60);
	assert_int_equal(f.z.hold, 0);
}

static void test_dim_failsafe(void **state)
{
	struct fixture f;

	(void)state;
	dimmed(&f);
	f.p.stale_after = 10 * S;
	f.p.failsafe = FAILSAFE_ON;
	reading(&f, 200, 0);
	tick(&f, 10 * S);
	assert_int_equal(f.z.mode, MODE_FAILSAFE);
	assert_true(f.d.level_order);
	assert_int_equal(decide_level(&f.z), 100);
	/* A failsafe that holds keeps the level too. */
	dimmed(&f);
	f.p.stale_after = 10 * S;
	reading(&f, 200, 0);
	tick(&f, 10 * S);
	assert_false(f.d.level_order);
	assert_int_equal(decide_level(&f.z), 20);
}

/* Schedule and presence force a dimmed zone's level like any other mode, without dwell. */
static void test_dim_schedule_and_presence(void **state)
{
	struct fixture f;

	(void)state;
	dimmed(&f);
	f.p.min_on = f.p.min_off = 3600 * S;
	f.p.vacancy_after = 15 * 60 * S;
	reading(&f, 200, 0);
	assert_int_equal(decide_level(&f.z), 20);
	/* Out of its window (outside = off): level 0 at once, whatever min_on says. */
	f.z.out_of_schedule = true;
	tick(&f, S);
	assert_int_equal(f.z.mode, MODE_SCHEDULE);
	assert_true(f.d.order && f.d.level_order);
	assert_int_equal(decide_level(&f.z), 0);
	/* Back in its window: the level steps at once from the last daylight, min_off or not. */
	f.z.out_of_schedule = false;
	tick(&f, 2 * S);
	assert_int_equal(f.z.mode, MODE_AUTO);
	assert_true(f.d.order && f.d.level_order);
	assert_int_equal(decide_level(&f.z), 20);
	/* Vacant: OFF at 0; occupied again: ON at once. */
	f.z.vacant = true;
	tick(&f, 3 * S);
	assert_int_equal(f.z.mode, MODE_VACANT);
	assert_int_equal(decide_level(&f.z), 0);
	f.z.vacant = false;
	tick(&f, 4 * S);
	assert_int_equal(decide_level(&f.z), 20);
	/* outside = hold keeps the level the zone had. */
	reading(&f, 200 + 100, 5 * S);
	assert_int_equal(decide_level(&f.z), 40);
	f.p.outside = OUTSIDE_HOLD;
	f.z.out_of_schedule = true;
	tick(&f, 6 * S);
	assert_int_equal(f.z.mode, MODE_SCHEDULE);
	assert_false(f.d.order || f.d.level_order);
	assert_int_equal(decide_level(&f.z), 40);
	/* outside = on is full light. */
	f.p.outside = OUTSIDE_ON;
	tick(&f, 7 * S);
	assert_true(f.d.level_order);
	assert_int_equal(decide_level(&f.z), 100);
}

static void test_dim_manual_publishes_no_level(void **state)
{
	struct fixture f;

	(void)state;
	dimmed(&f);
	reading(&f, 700, 0);
	decide_manual(&f.z, &f.p, LIGHT_ON, S, &f.d);
	assert_false(f.d.order || f.d.level_order);
	assert_int_equal(decide_level(&f.z), 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_decision),
		cmocka_unit_test(test_first_decision_has_no_dwell),
		cmocka_unit_test(test_hysteresis_edges),
		cmocka_unit_test(test_single_threshold),
		cmocka_unit_test(test_order_only_on_change),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_median_decides),
		cmocka_unit_test(test_smoothing_lowered_uses_newest),
		cmocka_unit_test(test_window_resize),
		cmocka_unit_test(test_dwell),
		cmocka_unit_test(test_override_when_already_on),
		cmocka_unit_test(test_override_ignores_dwell),
		cmocka_unit_test(test_override_freezes_readings),
		cmocka_unit_test(test_auto_reevaluates),
		cmocka_unit_test(test_auto_keeps_state_when_in_band),
		cmocka_unit_test(test_auto_dwell_counts_from_override),
		cmocka_unit_test(test_override_without_reading),
		cmocka_unit_test(test_override_expiry),
		cmocka_unit_test(test_reading_after_expiry_resumes),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_went_stale),
		cmocka_unit_test(test_manual),
		cmocka_unit_test(test_sample_fresh_from),
		cmocka_unit_test(test_failsafe_ignores_dwell),
		cmocka_unit_test(test_stale_during_override),
		cmocka_unit_test(test_lamp_lux),
		cmocka_unit_test(test_wake),
		cmocka_unit_test(test_decision_filled),
		cmocka_unit_test(test_reason_truncated),
		cmocka_unit_test(test_reason_numbers_as_g),
		cmocka_unit_test(test_outside_schedule),
		cmocka_unit_test(test_vacant),
		cmocka_unit_test(test_schedule_before_vacant),
		cmocka_unit_test(test_override_beats_schedule),
		cmocka_unit_test(test_failsafe_only_when_occupied),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dim_level_and_light),
		cmocka_unit_test(test_dim_dwell_holds_edges_only),
		cmocka_unit_test(test_dim_overrides_force_levels),
		cmocka_unit_test(test_dim_failsafe),
		cmocka_unit_test(test_dim_schedule_and_presence),
		cmocka_unit_test(test_dim_manual_publishes_no_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
