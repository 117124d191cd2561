/* test_entities.c -- when a zone's lux goes out, and when a silent zone is forgotten */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "entities.h"

#define S 1000

/* What entities_due handed back, as text: "lux hall 250;forget b;". */
struct seen {
	char log[256];
	const char *section; /* the one zone with a section */
};

static void on_lux(void *ctx, const char *zone, double lux)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof(s->log) - n, "lux %s %g;", zone, lux);
}

static void on_forget(void *ctx, const char *zid)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof(s->log) - n, "forget %s;", zid);
}

static bool on_sectioned(void *ctx, const char *zone)
{
	const struct seen *s = ctx;

	return zone && s->section && strcmp(zone, s->section) == 0;
}

static struct entities_out out_of(struct seen *s)
{
	return (struct entities_out){ on_lux, on_forget, on_sectioned, s };
}

static void test_lux_rate_limited_and_only_changes(void **state)
{
	struct entities *e;
	struct seen s = { 0 };
	struct entities_out out = out_of(&s);
	double lux = 0;

	(void)state;
	assert_int_equal(entities_new(10 * S, 0, &e), 0);
	assert_false(entities_lux(e, "z", 1, 0)); /* no record: never heard of */
	assert_int_equal(entities_heard(e, "z", "hall", 0), 1);
	assert_int_equal(entities_heard(e, "z", "hall", 0), 0);
	assert_int_equal(entities_next(e), INT64_MAX); /* nothing wakes */
	assert_true(entities_lux(e, "z", 150, 0));
	assert_false(entities_lux(e, "z", 150, 1 * S)); /* unchanged */
	assert_int_equal(entities_next(e), INT64_MAX);
	assert_false(entities_lux(e, "z", 250, 2 * S));
	assert_false(entities_lux(e, "z", 350, 3 * S));
	assert_int_equal(entities_next(e), 10 * S);
	entities_due(e, 10 * S - 1, &out);
	assert_string_equal(s.log, "");
	entities_due(e, 10 * S, &out);
	assert_string_equal(s.log, "lux hall 350;");
	assert_int_equal(entities_next(e), INT64_MAX);
	/* Back to the published value before its turn: nothing to say. */
	assert_false(entities_lux(e, "z", 400, 11 * S));
	assert_false(entities_lux(e, "z", 350, 12 * S));
	assert_int_equal(entities_next(e), INT64_MAX);
	/* After the interval, at once. */
	assert_true(entities_lux(e, "z", 360, 20 * S));
	assert_true(entities_published(e, "z", &lux));
	assert_true(lux == 360);
	entities_free(e);
	entities_free(NULL);
}

static void test_many_zones_due_in_order(void **state)
{
	struct entities *e;
	struct seen s = { 0 };
	struct entities_out out = out_of(&s);
	char zid[8];

	(void)state;
	assert_int_equal(entities_new(10 * S, 0, &e), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(zid, sizeof(zid), "z%d", i);
		assert_int_equal(entities_heard(e, zid, zid, 0), 1);
		assert_true(entities_lux(e, zid, 1, (4 - i) * S));
	}
	/* Changes in another order than the publishes: each waits for its own interval. */
	for (int i = 0; i < 5; i++) {
		snprintf(zid, sizeof(zid), "z%d", i);
		assert_false(entities_lux(e, zid, 2, 5 * S));
	}
	assert_int_equal(entities_next(e), 10 * S);
	entities_due(e, 12 * S, &out);
	assert_string_equal(s.log, "lux z4 2;lux z3 2;lux z2 2;");
	assert_int_equal(entities_next(e), 13 * S);
	entities_drop(e, "z1");
	entities_due(e, 20 * S, &out);
	assert_string_equal(s.log, "lux z4 2;lux z3 2;lux z2 2;lux z0 2;");
	entities_free(e);
}

static void test_forget_silent_zones_without_section(void **state)
{
	struct entities *e;
	struct seen s = { .section = "hall" };
	struct entities_out out = out_of(&s);

	(void)state;
	assert_int_equal(entities_new(10 * S, 100 * S, &e), 0);
	assert_int_equal(entities_heard(e, "h", "hall", 0), 1);
	assert_int_equal(entities_heard(e, "a", "attic", 0), 1);
	assert_int_equal(entities_heard(e, "q", NULL, 50 * S), 1); /* known from the broker */
	assert_int_equal(entities_next(e), 100 * S);
	assert_int_equal(entities_heard(e, "a", "attic", 90 * S), 0);
	entities_due(e, 100 * S, &out); /* early: attic was heard since */
	assert_string_equal(s.log, "");
	assert_int_equal(entities_next(e), 150 * S);
	entities_due(e, 150 * S, &out);
	assert_string_equal(s.log, "forget q;");
	assert_false(entities_known(e, "q"));
	entities_due(e, 190 * S, &out);
	assert_string_equal(s.log, "forget q;forget a;");
	/* The zone of ref.txt stays; nothing wakes for it. */
	assert_true(entities_known(e, "h"));
	assert_int_equal(entities_next(e), INT64_MAX);
	/* A reload that removes its section: it goes forget_after after its last reading. */
	s.section = NULL;
	entities_replan(e, 200 * S, &out);
	assert_string_equal(s.log, "forget q;forget a;forget h;");
	/* Heard again: a new record, to announce. */
	assert_int_equal(entities_heard(e, "a", "attic", 300 * S), 1);
	entities_free(e);
}

static void test_forget_after_zero_never_forgets(void **state)
{
	struct entities *e;
	struct seen s = { 0 };
	struct entities_out out = out_of(&s);

	(void)state;
	assert_int_equal(entities_new(10 * S, 0, &e), 0);
	assert_int_equal(entities_heard(e, "a", "attic", 0), 1);
	assert_int_equal(entities_next(e), INT64_MAX);
	entities_due(e, INT64_MAX / 2, &out);
	entities_replan(e, INT64_MAX / 2, &out);
	assert_string_equal(s.log, "");
	assert_true(entities_known(e, "a"));
	entities_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lux_rate_limited_and_only_changes),
		cmocka_unit_test(test_many_zones_due_in_order),
		cmocka_unit_test(test_forget_silent_zones_without_section),
		cmocka_unit_test(test_forget_after_zero_never_forgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
