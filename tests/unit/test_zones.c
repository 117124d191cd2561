/* test_zones.c -- unit tests of the zone table: lookup, iteration, the wake heap, windows */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decide.h"
#include "zones.h"

static struct zone_params params(unsigned smoothing)
{
	struct zone_params p = {
		.on_below = 300,
		.off_above = 400,
		.override_for = 3600 * 1000LL,
		.smoothing = smoothing,
		.failsafe = FAILSAFE_HOLD,
	};

	return p;
}

static struct zones *table(void)
{
	struct zones *zs = NULL;

	assert_int_equal(zones_new(&zs), 0);
	assert_non_null(zs);
	return zs;
}

static void test_add_find(void **state)
{
	struct zone_params p = params(1);
	struct zones *zs = table();
	struct zone *a, *b, *dflt;

	(void)state;
	assert_int_equal(zones_count(zs), 0);
	assert_null(zones_find(zs, "hall"));
	a = zones_add(zs, "hall", &p);
	b = zones_add(zs, "floor1/kitchen", &p);
	dflt = zones_add(zs, "", &p);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(dflt);
	assert_int_equal(zones_count(zs), 3);
	assert_ptr_equal(zones_find(zs, "hall"), a);
	assert_ptr_equal(zones_find(zs, "floor1/kitchen"), b);
	assert_ptr_equal(zones_find(zs, ""), dflt);
	assert_null(zones_find(zs, "hal"));
	assert_null(zones_find(zs, "floor1"));
	assert_string_equal(a->name, "hall");
	assert_ptr_equal(a->p, &p);
	assert_false(a->st.has_reading);
	assert_int_equal(a->st.light, LIGHT_UNKNOWN);
	assert_int_equal(a->st.wcap, 1);
	zones_free(zs);
	zones_free(NULL);
}

struct seen {
	char names[8][16];
	size_t n;
};

static void remember(struct zone *z, void *ctx)
{
	struct seen *s = ctx;

	assert_true(s->n < 8);
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", z->name);
}

static bool seen_has(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

static void test_foreach(void **state)
{
	struct zone_params p = params(1);
	struct zones *zs = table();
	struct seen s = { .n = 0 };

	(void)state;
	zones_foreach(zs, remember, &s);
	assert_int_equal(s.n, 0);
	assert_non_null(zones_add(zs, "a", &p));
	assert_non_null(zones_add(zs, "b", &p));
	assert_non_null(zones_add(zs, "c", &p));
	zones_foreach(zs, remember, &s);
	assert_int_equal(s.n, 3);
	assert_true(seen_has(&s, "a"));
	assert_true(seen_has(&s, "b"));
	assert_true(seen_has(&s, "c"));
	zones_free(zs);
}

/* Takes every due zone off the heap in the order the table gives them. */
static size_t drain(struct zones *zs, int64_t now, struct zone **out, size_t cap)
{
	struct zone *z;
	size_t n = 0;

	while ((z = zones_due(zs, now))) {
		assert_true(n < cap);
		out[n++] = z;
		assert_int_equal(zones_schedule(zs, z, DECIDE_NEVER), 0);
	}
	return n;
}

static void test_heap_order(void **state)
{
	static const int64_t wakes[] = { 500, 100, 900, 300, 700, 200, 800, 400, 600, 1000 };
	struct zone_params p = params(1);
	struct zones *zs = table();
	struct zone *z[10], *out[10];
	char name[8];
	size_t i, n;

	(void)state;
	assert_int_equal(zones_next_wake(zs), DECIDE_NEVER);
	assert_null(zones_due(zs, INT64_MAX - 1));
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "z%zu", i);
		z[i] = zones_add(zs, name, &p);
		assert_non_null(z[i]);
		assert_int_equal(zones_schedule(zs, z[i], wakes[i]), 0);
	}
	assert_int_equal(zones_next_wake(zs), 100);
	assert_null(zones_due(zs, 99));
	assert_ptr_equal(zones_due(zs, 100), z[1]);

	/* Only the zones due by 450 come out, earliest first; the rest stay scheduled. */
	n = drain(zs, 450, out, 10);
	assert_int_equal(n, 4);
	assert_ptr_equal(out[0], z[1]); /* 100 */
	assert_ptr_equal(out[1], z[5]); /* 200 */
	assert_ptr_equal(out[2], z[3]); /* 300 */
	assert_ptr_equal(out[3], z[7]); /* 400 */
	assert_int_equal(zones_next_wake(zs), 500);

	n = drain(zs, 10000, out, 10);
	assert_int_equal(n, 6);
	assert_ptr_equal(out[0], z[0]); /* 500 */
	assert_ptr_equal(out[1], z[8]); /* 600 */
	assert_ptr_equal(out[2], z[4]); /* 700 */
	assert_ptr_equal(out[3], z[6]); /* 800 */
	assert_ptr_equal(out[4], z[2]); /* 900 */
	assert_ptr_equal(out[5], z[9]); /* 1000 */
	assert_int_equal(zones_next_wake(zs), DECIDE_NEVER);
	zones_free(zs);
}

static void test_reschedule_and_remove(void **state)
{
	struct zone_params p = params(1);
	struct zones *zs = table();
	struct zone *a, *b, *c, *out[3];

	(void)state;
	a = zones_add(zs, "a", &p);
	b = zones_add(zs, "b", &p);
	c = zones_add(zs, "c", &p);
	assert_int_equal(zones_schedule(zs, a, 100), 0);
	assert_int_equal(zones_schedule(zs, b, 200), 0);
	assert_int_equal(zones_schedule(zs, c, 300), 0);

	/* Later: a moves behind c. */
	assert_int_equal(zones_schedule(zs, a, 400), 0);
	assert_int_equal(zones_next_wake(zs), 200);
	/* Earlier: c moves to the front. */
	assert_int_equal(zones_schedule(zs, c, 50), 0);
	assert_ptr_equal(zones_due(zs, 50), c);
	/* The same wake again changes nothing. */
	assert_int_equal(zones_schedule(zs, c, 50), 0);
	/* Removed from the middle of the heap: never due again. */
	assert_int_equal(zones_schedule(zs, b, DECIDE_NEVER), 0);
	assert_int_equal(zones_schedule(zs, b, DECIDE_NEVER), 0);

	assert_int_equal(drain(zs, 1000, out, 3), 2);
	assert_ptr_equal(out[0], c);
	assert_ptr_equal(out[1], a);
	/* A removed zone is still in the table and can be scheduled again. */
	assert_ptr_equal(zones_find(zs, "b"), b);
	assert_int_equal(zones_schedule(zs, b, 10), 0);
	assert_ptr_equal(zones_due(zs, 10), b);
	zones_free(zs);
}

static void readings(struct zone *z, const double *lux, size_t n)
{
	struct decision d;

	for (size_t i = 0; i < n; i++)
		decide_reading(&z->st, z->p, lux[i], (int64_t)i * 1000, &d);
}

static void test_window_resize(void **state)
{
	static const double lux[] = { 10, 20, 30, 40, 50 };
	struct zone_params one = params(1), five = params(5), three = params(3);
	struct zones *zs = table();
	struct zone *z;

	(void)state;
	z = zones_add(zs, "hall", &five);
	assert_non_null(z);
	assert_int_equal(z->st.wcap, 5);
	readings(z, lux, 5);
	assert_int_equal(z->st.wlen, 5);
	assert_true(z->st.smoothed == 30);

	/* Shrinking keeps the newest readings: 30, 40, 50. */
	assert_int_equal(zones_set_params(z, &three), 0);
	assert_ptr_equal(z->p, &three);
	assert_int_equal(z->st.wcap, 3);
	assert_int_equal(z->st.wlen, 3);
	readings(z, (const double[]){ 45 }, 1); /* window 40, 50, 45 */
	assert_true(z->st.smoothed == 45);

	/* Down to one: the inline slot holds the newest reading. */
	assert_int_equal(zones_set_params(z, &one), 0);
	assert_int_equal(z->st.wcap, 1);
	assert_int_equal(z->st.wlen, 1);
	assert_ptr_equal(z->st.window, &z->one);
	assert_true(z->st.window[0] == 45);

	/* And up again: the one reading is kept, the rest fills as readings come. */
	assert_int_equal(zones_set_params(z, &five), 0);
	assert_int_equal(z->st.wcap, 5);
	assert_int_equal(z->st.wlen, 1);
	assert_ptr_not_equal(z->st.window, &z->one);
	readings(z, (const double[]){ 5, 1 }, 2); /* window 45, 5, 1 */
	assert_true(z->st.smoothed == 5);
	zones_free(zs); /* the sanitizer build checks that the windows are freed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_heap_order),
		cmocka_unit_test(test_reschedule_and_remove),
		cmocka_unit_test(test_window_resize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
