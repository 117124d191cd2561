/* test_dim.c -- unit tests of the dimming controller, and a simulated room around it */
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

#include "dim.h"

/* A desk zone: 500 lux wanted on the desk, the lamp gives 600 there at full power. */
static struct zone_params desk(void)
{
	struct zone_params p;

	memset(&p, 0, sizeof(p));
	p.target_lux = 500;
	p.lamp_lux = 600;
	p.level_min = 10;
	p.max_step = 20;
	p.deadband = 2;
	return p;
}

static struct dim_result step(const struct zone_params *p, int level, double lux)
{
	struct dim_result r;

	dim_step(p, level, dim_daylight(p, level, lux), /* may_switch = */ true, &r);
	return r;
}

static void test_daylight_takes_away_the_lamp_share(void **state)
{
	struct zone_params p = desk();

	(void)state;
	assert_true(dim_daylight(&p, 50, 500) == 200);
	assert_true(dim_daylight(&p, 0, 500) == 500);
	assert_true(dim_daylight(&p, DIM_UNKNOWN, 500) == 500);
	assert_true(dim_daylight(&p, 100, 500) == -100); /* the lamp is weaker than configured */
}

/* At the level that makes up the difference exactly, nothing moves. */
static void test_fixed_point(void **state)
{
	struct zone_params p = desk();
	struct dim_result r;

	(void)state;
	/* daylight 200 + 600 * 50 % = 500 */
	r = step(&p, 50, 500);
	assert_false(r.publish);
	assert_false(r.edge);
	assert_int_equal(r.level, 50);
	assert_true(fabs(r.wanted - 50) < 1e-9);
	assert_true(fabs(r.daylight - 200) < 1e-9);
	/* the first step from an unknown level publishes, even when it stays OFF */
	r = step(&p, DIM_UNKNOWN, 800);
	assert_true(r.publish);
	assert_true(r.edge);
	assert_int_equal(r.level, 0);
}

static void test_step_limit(void **state)
{
	struct zone_params p = desk();
	struct dim_result r;

	(void)state;
	r = step(&p, DIM_UNKNOWN, 0); /* dark: wants 83 % */
	assert_int_equal(r.level, 20);
	assert_true(r.publish && r.edge);
	r = step(&p, 20, 120);
	assert_int_equal(r.level, 40);
	assert_false(r.edge);
	r = step(&p, 90, 540 + 400); /* daylight 400: wants 16.7 %, from 90 */
	assert_int_equal(r.level, 70);
	p.max_step = 100;
	r = step(&p, 90, 540 + 400);
	assert_int_equal(r.level, 17); /* truncated toward the level in force */
}

static void test_deadband(void **state)
{
	struct zone_params p = desk();
	struct dim_result r;

	(void)state;
	/* wants 51.67 (daylight 190): one point is inside the deadband of 2 */
	r = step(&p, 50, 490);
	assert_false(r.publish);
	assert_int_equal(r.level, 50);
	/* wants 53.3 (daylight 180): a change of 3 is published */
	r = step(&p, 50, 480);
	assert_true(r.publish);
	assert_int_equal(r.level, 53);
	/* a drift inside the deadband is measured from the level in force, so it adds up */
	r = step(&p, 50, 488.5); /* wants 51.9 */
	assert_false(r.publish);
	r = step(&p, 50, 486); /* wants 52.3 */
	assert_true(r.publish);
	assert_int_equal(r.level, 52);
	/* deadband 0 still needs a whole point: the payload has no finer one */
	p.deadband = 0;
	r = step(&p, 50, 497); /* wants 50.5 */
	assert_false(r.publish);
	/* a deadband above max_step would freeze the lamp: a full step always goes out */
	p.deadband = 30;
	r = step(&p, 50, 380); /* wants 70 */
	assert_true(r.publish);
	assert_int_equal(r.level, 70);
}

static void test_level_min(void **state)
{
	struct zone_params p = desk();
	struct dim_result r;

	(void)state;
	/* ON at 30, daylight 470: wants 5 %, raised to level_min 10 */
	r = step(&p, 30, 470 + 180);
	assert_int_equal(r.level, 10);
	assert_true(fabs(r.wanted - 10) < 1e-9);
	/* from OFF the lamp comes on only when level_min gets nearer the target than darkness */
	r = step(&p, 0, 485); /* wants 2.5 %: 485 is nearer 500 than 545 */
	assert_int_equal(r.level, 0);
	assert_false(r.publish);
	r = step(&p, 0, 460); /* wants 6.7 %: 520 is nearer than 460 */
	assert_int_equal(r.level, 10);
	assert_true(r.publish && r.edge);
	/* a step never lands between 0 and level_min: with max_step 4 it goes to 10 at once */
	p.max_step = 4;
	r = step(&p, 0, 300);
	assert_int_equal(r.level, 10);
	/* and on the way down it goes through to 0 */
	p.max_step = 20;
	r = step(&p, 15, 520 + 90); /* daylight 520 */
	assert_int_equal(r.level, 0);
	assert_true(r.edge);
}

static void test_daylight_above_target_is_off(void **state)
{
	struct zone_params p = desk();
	struct dim_result r;

	(void)state;
	r = step(&p, 0, 650);
	assert_int_equal(r.level, 0);
	assert_false(r.publish);
	assert_true(r.wanted == 0);
	/* from high up, max_step still applies on the way down: no flash of darkness */
	r = step(&p, 80, 550 + 480);
	assert_int_equal(r.level, 60);
	r = step(&p, 10, 550 + 60);
	assert_int_equal(r.level, 0);
	assert_true(r.publish && r.edge);
}

static void test_dwell_holds_the_edges(void **state)
{
	struct zone_params p = desk();
	struct dim_result r;

	(void)state;
	dim_step(&p, 10, 600, /* may_switch = */ false, &r);
	assert_true(r.held);
	assert_int_equal(r.level, 10);
	assert_false(r.publish);
	dim_step(&p, 25, 600, /* may_switch = */ false, &r);
	assert_true(r.held);
	assert_int_equal(r.level, 10); /* down to level_min, not through it */
	assert_true(r.publish);
	assert_false(r.edge);
	dim_step(&p, 0, 100, /* may_switch = */ false, &r);
	assert_true(r.held);
	assert_int_equal(r.level, 0);
	assert_false(r.publish);
	/* the first decision has no dwell */
	dim_step(&p, DIM_UNKNOWN, 100, /* may_switch = */ false, &r);
	assert_false(r.held);
	assert_int_equal(r.level, 20);
}

static void expect_payload(enum level_payload kind, int level, const char *want)
{
	char buf[64];
	int n = dim_payload(kind, level, buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_payloads(void **state)
{
	char small[8];

	(void)state;
	expect_payload(LEVEL_PAYLOAD_PERCENT, 0, "0");
	expect_payload(LEVEL_PAYLOAD_PERCENT, 40, "40");
	expect_payload(LEVEL_PAYLOAD_PERCENT, 100, "100");
	expect_payload(LEVEL_PAYLOAD_Z2M, 0, "{\"state\":\"OFF\"}");
	expect_payload(LEVEL_PAYLOAD_Z2M, 1, "{\"state\":\"ON\",\"brightness\":3}");
	expect_payload(LEVEL_PAYLOAD_Z2M, 40, "{\"state\":\"ON\",\"brightness\":102}");
	expect_payload(LEVEL_PAYLOAD_Z2M, 50, "{\"state\":\"ON\",\"brightness\":127}");
	expect_payload(LEVEL_PAYLOAD_Z2M, 100, "{\"state\":\"ON\",\"brightness\":254}");
	assert_int_equal(dim_payload(LEVEL_PAYLOAD_Z2M, 40, small, sizeof(small)), -ENOSPC);
	assert_int_equal(dim_payload(LEVEL_PAYLOAD_PERCENT, 100, small, 3), -ENOSPC);
	expect_payload(LEVEL_PAYLOAD_PERCENT, -5, "0");
	expect_payload(LEVEL_PAYLOAD_PERCENT, 150, "100");
}

/* The hand-written payloads are, byte for byte, what snprintf wrote before them. */
static void test_payloads_as_snprintf(void **state)
{
	char want[64];

	(void)state;
	for (int level = 0; level <= 100; level++) {
		snprintf(want, sizeof(want), "%d", level);
		expect_payload(LEVEL_PAYLOAD_PERCENT, level, want);
		if (level == 0)
			snprintf(want, sizeof(want), "{\"state\":\"OFF\"}");
		else
			snprintf(want, sizeof(want), "{\"state\":\"ON\",\"brightness\":%d}",
				 (int)(level * 2.54 + 0.5));
		expect_payload(LEVEL_PAYLOAD_Z2M, level, want);
	}
}

/*
 * The simulated room: what the sensor reads is the daylight plus the lamp's true share
 * (`gain` times lamp_lux) at the level last published. Each call is one reading.
 */
struct room {
	struct zone_params p;
	double gain, daylight;
	int level;                    /* last published, DIM_UNKNOWN before the first */
	int last_change, flips;       /* sign of the last published change; reversals > deadband */
	int prev_delta;
};

static double room_reading(struct room *rm)
{
	struct dim_result r;
	double lux = rm->daylight + rm->gain * rm->p.lamp_lux * (rm->level > 0 ? rm->level : 0) / 100;

	dim_step(&rm->p, rm->level, dim_daylight(&rm->p, rm->level, lux), true, &r);
	if (r.publish && rm->level != DIM_UNKNOWN && r.level != rm->level) {
		int delta = r.level - rm->level;

		if (rm->prev_delta && (delta > 0) != (rm->prev_delta > 0) &&
		    (abs(delta) > rm->p.deadband || abs(rm->prev_delta) > rm->p.deadband))
			rm->flips++;
		rm->prev_delta = delta;
	}
	rm->level = r.level;
	return lux;
}

/* Whether some level (0, or `from`..100) puts the room within `tol` of the target. */
static bool reachable(const struct room *rm, double tol, int from)
{
	for (int l = 0; l <= 100; l = l ? l + 1 : from) {
		double lux = rm->daylight + rm->gain * rm->p.lamp_lux * l / 100;

		if (fabs(lux - rm->p.target_lux) <= tol * rm->p.target_lux)
			return true;
	}
	return false;
}

struct phase_figures {
	int settle;       /* the reading from which the room stays within ±5 % */
	double overshoot; /* the largest excursion past the target, percent of it */
};

/*
 * Runs `n` readings at the room's daylight. Readings count from 1, the first one that sees
 * the new daylight; the level must not reverse by more than the deadband once settled.
 */
static struct phase_figures room_phase(struct room *rm, int n)
{
	struct phase_figures f = { .settle = 0, .overshoot = 0 };
	double target = rm->p.target_lux, first = 0;

	rm->flips = 0;
	rm->prev_delta = 0;
	for (int i = 1; i <= n; i++) {
		double lux = room_reading(rm), err = (lux - target) / target;

		if (i == 1)
			first = err;
		if (fabs(err) > 0.05)
			f.settle = 0;
		else if (!f.settle)
			f.settle = i;
		if (first < 0 && err > f.overshoot / 100)
			f.overshoot = err * 100;
		if (first > 0 && -err > f.overshoot / 100)
			f.overshoot = -err * 100;
		if (i == 8)
			rm->flips = 0; /* counted from the 8th reading on */
	}
	return f;
}

static struct room room_new(double gain, double daylight)
{
	struct room rm = { .p = desk(), .gain = gain, .daylight = daylight, .level = DIM_UNKNOWN };

	return rm;
}

static const double gains[] = { 0.7, 1.0, 1.3 };

/*
 * Start-up in a dim room, then clouds: daylight drops and rises by 40 % of the target.
 * Every phase is reachable for every gain; each must settle within 8 readings and stay.
 */
static void test_room_converges(void **state)
{
	/* daylight of each phase: start 150, cloud -200, clear +200, +200, -200 */
	static const double phases[] = { 150, 350, 150, 350, 300, 100, 300 };

	(void)state;
	for (size_t g = 0; g < sizeof(gains) / sizeof(gains[0]); g++) {
		struct room rm = room_new(gains[g], phases[0]);
		int worst = 0;
		double over = 0;

		for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
			struct phase_figures f;

			rm.daylight = phases[i];
			assert_true(reachable(&rm, 0.05, rm.p.level_min));
			f = room_phase(&rm, 30);
			if (f.settle == 0 || f.settle > 8)
				fail_msg("gain %.1f phase %zu (daylight %g): settled at reading %d",
					 gains[g], i, phases[i], f.settle);
			if (rm.flips)
				fail_msg("gain %.1f phase %zu: the level went back and forth", gains[g],
					 i);
			worst = f.settle > worst ? f.settle : worst;
			over = f.overshoot > over ? f.overshoot : over;
		}
		/* The figures docs/decisions.md quotes. */
		print_message("lamp %3.0f%% of lamp_lux: settles within %d readings, overshoot %.1f%%\n",
			      gains[g] * 100, worst, over);
	}
}

/* Daylight above the target: the zone goes OFF (level 0) and stays there. */
static void test_room_daylight_enough(void **state)
{
	(void)state;
	for (size_t g = 0; g < sizeof(gains) / sizeof(gains[0]); g++) {
		struct room rm = room_new(gains[g], 250);

		room_phase(&rm, 10);
		assert_true(rm.level > 0);
		rm.daylight = 650;
		room_phase(&rm, 8);
		assert_int_equal(rm.level, 0);
		room_phase(&rm, 20);
		assert_int_equal(rm.level, 0);
	}
}

/*
 * Daylight ramps from night to a bright noon and back, 5 lux a reading, with a cloud on the
 * way. Wherever a dimmed level within ±2 % existed for the last 8 readings, the room is within
 * ±5 %, and where daylight alone is enough (with the margin a lamp 30 % weaker than
 * configured needs, see docs/decisions.md) it is OFF. The ON/OFF edge is crossed once each
 * way, never back and forth. Next to the edge, where only level_min or darkness would do, the
 * lamp's unknown strength decides which of the two is nearer: that band is left out.
 */
static void test_room_daylight_ramp(void **state)
{
	(void)state;
	for (size_t g = 0; g < sizeof(gains) / sizeof(gains[0]); g++) {
		struct room rm = room_new(gains[g], 0);
		int since_reachable = 0, since_enough = 0, edges = 0, misses = 0, was_on = -1;
		double off_margin = 0.3 * rm.p.lamp_lux * rm.p.level_min / 100;

		for (int i = 0; i < 300; i++) {
			double lux;

			rm.daylight = i < 150 ? i * 5.0 : (300 - i) * 5.0;
			if (i >= 60 && i < 80) /* a cloud: 40 % of the target less */
				rm.daylight -= 200;
			if (rm.daylight < 0)
				rm.daylight = 0;
			lux = room_reading(&rm);
			if (i == 60 || i == 80) /* the cloud's edges: 8 readings to settle again */
				since_reachable = since_enough = 0;
			since_reachable = reachable(&rm, 0.02, 2 * rm.p.level_min) ? since_reachable + 1 : 0;
			since_enough = rm.daylight >= rm.p.target_lux + off_margin ? since_enough + 1 : 0;
			if (since_reachable > 8 && fabs(lux - rm.p.target_lux) > 0.05 * rm.p.target_lux)
				misses++;
			if (since_enough > 8 && rm.level != 0)
				misses++;
			if (was_on >= 0 && was_on != (rm.level > 0))
				edges++;
			was_on = rm.level > 0;
		}
		if (misses)
			fail_msg("gain %.1f: %d reachable readings off by more than 5 %%", gains[g],
				 misses);
		/* ON from the start, OFF at noon, ON again in the afternoon */
		if (edges != 2)
			fail_msg("gain %.1f: %d ON/OFF edges, want 2", gains[g], edges);
	}
}

/* Out of reach (too dark for the lamp): full power, steady, no hunting. */
static void test_room_out_of_reach(void **state)
{
	(void)state;
	for (size_t g = 0; g < sizeof(gains) / sizeof(gains[0]); g++) {
		struct room rm = room_new(gains[g] * 0.5, 0);

		room_phase(&rm, 12);
		assert_int_equal(rm.level, 100);
		room_phase(&rm, 12);
		assert_int_equal(rm.level, 100);
		assert_int_equal(rm.flips, 0);
	}
}

/*
 * Near the target with daylight alone, a lamp stronger than configured must not flap:
 * ON at level_min reads as daylight above the target, OFF, ON again, and so on.
 */
static void test_room_no_flapping_at_the_edge(void **state)
{
	(void)state;
	for (double d = 440; d <= 510; d += 1) {
		struct room rm = room_new(1.4, d);
		int edges = 0, was_on;

		room_phase(&rm, 10);
		was_on = rm.level > 0;
		for (int i = 0; i < 30; i++) {
			room_reading(&rm);
			edges += was_on != (rm.level > 0);
			was_on = rm.level > 0;
		}
		if (edges)
			fail_msg("daylight %g: %d ON/OFF edges in a steady room", d, edges);
	}
}

/*
 * With deadband 0 every whole point goes out. A lamp stronger than configured overshoots
 * each correction; rounded to the nearest point that can bounce between two levels for
 * ever. Truncated toward the level in force, it settles.
 */
static void test_room_no_bouncing_without_deadband(void **state)
{
	(void)state;
	for (double d = 0; d <= 440; d += 3) {
		struct room rm = room_new(1.3, d);

		rm.p.deadband = 0;
		room_phase(&rm, 40);
		if (rm.flips)
			fail_msg("daylight %g: the level went back and forth %d times", d, rm.flips);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daylight_takes_away_the_lamp_share),
		cmocka_unit_test(test_fixed_point),
		cmocka_unit_test(test_step_limit),
		cmocka_unit_test(test_deadband),
		cmocka_unit_test(test_level_min),
		cmocka_unit_test(test_daylight_above_target_is_off),
		cmocka_unit_test(test_dwell_holds_the_edges),
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_payloads_as_snprintf),
		cmocka_unit_test(test_room_converges),
		cmocka_unit_test(test_room_daylight_enough),
		cmocka_unit_test(test_room_daylight_ramp),
		cmocka_unit_test(test_room_out_of_reach),
		cmocka_unit_test(test_room_no_flapping_at_the_edge),
		cmocka_unit_test(test_room_no_bouncing_without_deadband),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
