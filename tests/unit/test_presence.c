/* test_presence.c -- unit tests for the occupancy state machine and the zones by topic */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "errlist.h"
#include "presence.h"
#include "thresholds.h"

#define MIN (60 * 1000LL)
#define VACANCY (15 * MIN)

static bool occupied(const struct presence *p, unsigned n, int64_t now, int64_t *deadline)
{
	return presence_occupied(p, n, VACANCY, now, deadline);
}

static void test_unheard_sensors_count_as_present(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	assert_true(occupied(&p, 2, 1000 * MIN, &deadline));
	assert_int_equal(deadline, -1);
	/* One of two said absent: the other, silent, still counts as present. */
	presence_report(&p, 2, 0, false, 1000);
	assert_true(occupied(&p, 2, 1000 * MIN, &deadline));
	assert_int_equal(deadline, -1);
}

static void test_vacant_after_the_last_absence(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 2, 0, true, 0);
	presence_report(&p, 2, 1, false, 0);
	assert_true(occupied(&p, 2, 5 * MIN, &deadline));
	assert_int_equal(deadline, -1);
	/* Sensor 0 goes quiet at 10 min: vacant at 25 min, not before. */
	presence_report(&p, 2, 0, false, 10 * MIN);
	assert_true(occupied(&p, 2, 10 * MIN, &deadline));
	assert_int_equal(deadline, 25 * MIN);
	assert_true(occupied(&p, 2, 25 * MIN - 1, &deadline));
	assert_false(occupied(&p, 2, 25 * MIN, &deadline));
	assert_int_equal(deadline, -1);
}

static void test_repeated_absence_does_not_extend(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 1, 0, false, 0);
	/* A sensor that says "no one" every minute does not keep the room lit. */
	presence_report(&p, 1, 0, false, 5 * MIN);
	presence_report(&p, 1, 0, false, 10 * MIN);
	assert_true(occupied(&p, 1, 10 * MIN, &deadline));
	assert_int_equal(deadline, 15 * MIN);
	assert_false(occupied(&p, 1, 15 * MIN, &deadline));
}

static void test_presence_again_restarts(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 1, 0, false, 0);
	assert_false(occupied(&p, 1, 20 * MIN, &deadline));
	presence_report(&p, 1, 0, true, 30 * MIN);
	assert_true(occupied(&p, 1, 30 * MIN, &deadline));
	assert_int_equal(deadline, -1);
	/* A lasting presence is one report: still occupied an hour on. */
	assert_true(occupied(&p, 1, 90 * MIN, &deadline));
	presence_report(&p, 1, 0, false, 100 * MIN);
	assert_true(occupied(&p, 1, 110 * MIN, &deadline));
	assert_int_equal(deadline, 115 * MIN);
}

static void test_sixteen_sensors_and_out_of_range(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	for (unsigned i = 0; i < PRESENCE_SENSORS; i++)
		presence_report(&p, PRESENCE_SENSORS, i, false, (int64_t)i * MIN);
	/* The last of them, sensor 15 at 15 min, starts the vacancy time. */
	assert_true(occupied(&p, PRESENCE_SENSORS, 20 * MIN, &deadline));
	assert_int_equal(deadline, 30 * MIN);
	/* Reports beyond the zone's sensors are ignored. */
	presence_report(&p, PRESENCE_SENSORS, PRESENCE_SENSORS, true, 21 * MIN);
	assert_false(occupied(&p, PRESENCE_SENSORS, 30 * MIN, &deadline));
}

static void test_no_sensors(void **state)
{
	struct presence p = { 0 };
	int64_t deadline;

	(void)state;
	presence_report(&p, 0, 0, false, 0);
	assert_true(occupied(&p, 0, 100 * MIN, &deadline));
	assert_int_equal(deadline, -1);
}

/* --- the zones by topic ------------------------------------------------------------- */

/* Stand-ins for zones: the index only keeps and hands back their addresses. */
static int64_t zone_mem[5];
#define ZONE(i) ((struct zone *)&zone_mem[i])

static struct thresholds *parse(const char *text)
{
	struct errlist errs = { 0 };
	struct thresholds *t = NULL;

	assert_int_equal(thresholds_parse("ref.txt", text, strlen(text),
					  &(struct thresholds_opts){ 0 }, &t, &errs),
			 0);
	return t;
}

/* The zones a report on `topic` reaches, as a mask of their numbers; each seen once. */
static void seen(struct zone *z, void *ctx)
{
	unsigned *mask = ctx, bit = 1u << ((int64_t *)z - zone_mem);

	assert_false(*mask & bit);
	*mask |= bit;
}

static unsigned reached(const struct presence_index *ix, const char *topic)
{
	unsigned mask = 0;

	presence_index_foreach(ix, topic, seen, &mask);
	return mask;
}

/* Files zones z0 .. z4 with their parameters from `t`, as the daemon does after a reset. */
static void file_all(struct presence_index *ix, const struct thresholds *t)
{
	static const char *const names[] = { "z0", "z1", "z2", "z3", "z4" };

	assert_int_equal(presence_index_reset(ix, thresholds_global(t)->occupancy), 0);
	for (int i = 0; i < 5; i++) {
		const struct zone_params *p = thresholds_get(t, names[i]);

		assert_int_equal(presence_index_add(ix, p->occupancy, ZONE(i)), 0);
	}
}

static void test_index_by_own_lists(void **state)
{
	struct thresholds *t = parse("on_below = 300\n"
				     "[zone z0]\noccupancy = pir/a pir/b\n"
				     "[zone z1]\noccupancy = pir/b\n"
				     "[zone z2]\noccupancy = pir/c\n");
	struct presence_index *ix;

	(void)state;
	assert_int_equal(presence_index_new(&ix), 0);
	file_all(ix, t); /* z3 and z4 have no section, and there is no global list */
	assert_int_equal(reached(ix, "pir/a"), 1u << 0);
	assert_int_equal(reached(ix, "pir/b"), 1u << 0 | 1u << 1);
	assert_int_equal(reached(ix, "pir/c"), 1u << 2);
	assert_int_equal(reached(ix, "pir"), 0);
	assert_int_equal(reached(ix, "pir/a/x"), 0);
	assert_int_equal(reached(ix, ""), 0);
	presence_index_free(ix);
	thresholds_free(t);
	presence_index_free(NULL);
}

static void test_index_global_list_and_who_inherits_it(void **state)
{
	/*
	 * z0 lists its own (one shared with the global list), z1's section leaves occupancy
	 * alone and inherits, z2 turns it off, z3 and z4 have no section: they inherit too.
	 */
	struct thresholds *t = parse("on_below = 300\noccupancy = pir/g1 pir/g2\n"
				     "[zone z0]\noccupancy = pir/own pir/g2\n"
				     "[zone z1]\non_below = 200\n"
				     "[zone z2]\noccupancy =\n");
	struct presence_index *ix;
	unsigned inherit = 1u << 1 | 1u << 3 | 1u << 4;

	(void)state;
	assert_int_equal(presence_index_new(&ix), 0);
	file_all(ix, t);
	assert_int_equal(reached(ix, "pir/g1"), inherit);
	assert_int_equal(reached(ix, "pir/g2"), inherit | 1u << 0);
	assert_int_equal(reached(ix, "pir/own"), 1u << 0);
	assert_int_equal(reached(ix, "pir/other"), 0);
	presence_index_free(ix);
	thresholds_free(t);
}

static void test_index_reset_follows_a_sensor_that_moved(void **state)
{
	struct thresholds *before = parse("on_below = 300\noccupancy = pir/g\n"
					  "[zone z0]\noccupancy = pir/a pir/b\n"
					  "[zone z1]\noccupancy = pir/c\n"
					  "[zone z2]\noccupancy =\n"
					  "[zone z3]\noccupancy =\n"
					  "[zone z4]\noccupancy =\n");
	/* pir/b moves from z0 to z1, z0 loses its list, the global list goes, z2 gains one. */
	struct thresholds *after = parse("on_below = 300\n"
					 "[zone z1]\noccupancy = pir/c pir/b\n"
					 "[zone z2]\noccupancy = pir/a\n");
	struct presence_index *ix;

	(void)state;
	assert_int_equal(presence_index_new(&ix), 0);
	file_all(ix, before);
	assert_int_equal(reached(ix, "pir/b"), 1u << 0);
	assert_int_equal(reached(ix, "pir/g"), 0); /* every zone turned the global list off */
	file_all(ix, after);
	assert_int_equal(reached(ix, "pir/b"), 1u << 1);
	assert_int_equal(reached(ix, "pir/c"), 1u << 1);
	assert_int_equal(reached(ix, "pir/a"), 1u << 2);
	assert_int_equal(reached(ix, "pir/g"), 0);
	/* And back: nothing of the second table stays filed. */
	file_all(ix, before);
	assert_int_equal(reached(ix, "pir/a"), 1u << 0);
	assert_int_equal(reached(ix, "pir/b"), 1u << 0);
	assert_int_equal(reached(ix, "pir/c"), 1u << 1);
	presence_index_free(ix);
	thresholds_free(before);
	thresholds_free(after);
}

static int64_t many[1000];

struct count {
	int n;
	int64_t sum; /* of the zones' numbers: each zone once */
};

static void count_zone(struct zone *z, void *ctx)
{
	struct count *c = ctx;

	c->n++;
	c->sum += (int64_t *)z - many;
}

/* A hall sensor many zones list: the set grows as they are filed. */
static void test_index_many_zones_on_one_topic(void **state)
{
	struct occupancy occ = { .n = 1, .topic = { "pir/hall" } };
	struct presence_index *ix;
	struct count c = { 0 };

	(void)state;
	assert_int_equal(presence_index_new(&ix), 0);
	assert_int_equal(presence_index_reset(ix, NULL), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(presence_index_add(ix, &occ, (struct zone *)&many[i]), 0);
	presence_index_foreach(ix, "pir/hall", count_zone, &c);
	assert_int_equal(c.n, 1000);
	assert_int_equal(c.sum, 999 * 1000 / 2);
	presence_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unheard_sensors_count_as_present),
		cmocka_unit_test(test_vacant_after_the_last_absence),
		cmocka_unit_test(test_repeated_absence_does_not_extend),
		cmocka_unit_test(test_presence_again_restarts),
		cmocka_unit_test(test_sixteen_sensors_and_out_of_range),
		cmocka_unit_test(test_no_sensors),
		cmocka_unit_test(test_index_by_own_lists),
		cmocka_unit_test(test_index_global_list_and_who_inherits_it),
		cmocka_unit_test(test_index_reset_follows_a_sensor_that_moved),
		cmocka_unit_test(test_index_many_zones_on_one_topic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
