/* test_takeover.c -- unit tests of the cluster's decisions: heartbeats, expiry, takeovers */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "takeover.h"

#define S 1000

struct fixture {
	struct cluster *cl;
	struct takeover tk;
	struct takeover_action a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(cluster_new("a", &f->cl), 0);
	takeover_init(&f->tk, 10); /* keepalive 10 s: a heartbeat every 5 s */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cluster_free(f->cl);
	free(f);
	return 0;
}

static struct takeover_action *none(struct fixture *f)
{
	f->a = (struct takeover_action){ 0 };
	return &f->a;
}

static void test_heartbeat(void **state)
{
	struct fixture *f = *state;

	/* Not connected: nothing to say, nothing to wake for. */
	takeover_heartbeat(&f->tk, f->cl, 100 * S, none(f));
	assert_false(f->a.online);
	assert_int_equal(takeover_next(&f->tk), DECIDE_NEVER);
	takeover_connected(&f->tk, f->cl, 100 * S);
	assert_int_equal(takeover_next(&f->tk), 105 * S);
	/* Not live yet (its own online has not come back): silent. */
	takeover_heartbeat(&f->tk, f->cl, 105 * S, none(f));
	assert_false(f->a.online);
	assert_true(takeover_status(&f->tk, f->cl, "a", true, false, 105 * S, none(f)));
	assert_true(f->a.reown);
	assert_true(cluster_self_live(f->cl));
	takeover_heartbeat(&f->tk, f->cl, 109 * S, none(f));
	assert_false(f->a.online); /* not due yet */
	takeover_heartbeat(&f->tk, f->cl, 110 * S, none(f));
	assert_true(f->a.online);
	assert_false(f->a.retain || f->a.stood_still);
	/* Stood still for far longer than a heartbeat: owns nothing until it is back. */
	takeover_heartbeat(&f->tk, f->cl, 130 * S, none(f));
	assert_true(f->a.online && f->a.retain && f->a.stood_still && f->a.reown);
	assert_int_equal(f->a.still, 20 * S);
	assert_false(cluster_self_live(f->cl));
}

static void test_status(void **state)
{
	struct fixture *f = *state;

	takeover_connected(&f->tk, f->cl, 0);
	/* Its own retained status, and names with '/', are none to count. */
	assert_false(takeover_status(&f->tk, f->cl, "a", true, true, 0, none(f)));
	assert_false(takeover_status(&f->tk, f->cl, "b/c", true, false, 0, none(f)));
	assert_true(takeover_status(&f->tk, f->cl, "b", true, true, 0, none(f)));
	assert_true(f->a.reown);
	assert_true(takeover_status(&f->tk, f->cl, "b", true, false, 0, none(f)));
	assert_false(f->a.reown); /* no change */
	/* A late Last Will of this instance is refuted. */
	assert_true(takeover_status(&f->tk, f->cl, "a", false, false, 0, none(f)));
	assert_true(f->a.refute && f->a.online && f->a.retain);
}

static void test_expire(void **state)
{
	struct fixture *f = *state;

	takeover_connected(&f->tk, f->cl, 0);
	takeover_status(&f->tk, f->cl, "b", true, false, 0, none(f));
	takeover_expire(&f->tk, f->cl, 1 * S, none(f));
	assert_false(f->a.expired);
	assert_int_equal(f->tk.expire_at, 15 * S); /* 1.5 x keepalive after its last word */
	assert_int_equal(takeover_next(&f->tk), 5 * S);
	takeover_expire(&f->tk, f->cl, 15 * S, none(f));
	assert_true(f->a.expired && f->a.reown);
	assert_int_equal(f->a.silent, 15 * S);
	assert_int_equal(cluster_live(f->cl), 0);
	takeover_disconnected(&f->tk, f->cl);
	takeover_expire(&f->tk, f->cl, 16 * S, none(f));
	assert_int_equal(f->tk.expire_at, DECIDE_NEVER);
}

static void test_reown_and_answer(void **state)
{
	struct fixture *f = *state;
	struct ownership o = { .order_seen = LIGHT_UNKNOWN };

	f->tk.owned = 0;
	assert_true(takeover_reown(&f->tk, &o, true));
	assert_false(takeover_reown(&f->tk, &o, true)); /* already its own */
	assert_int_equal(f->tk.owned, 2);
	assert_true(takeover_changed(&f->tk, 1));
	assert_false(takeover_changed(&f->tk, 1));
	/* Answers others' explanations at most once a second, news always. */
	assert_true(takeover_answer(&o, false, 10 * S));
	assert_false(takeover_answer(&o, false, 10 * S + 999));
	assert_true(takeover_answer(&o, true, 10 * S + 999));
	assert_true(takeover_answer(&o, false, 12 * S));
	o.mine = false;
	assert_false(takeover_answer(&o, true, 20 * S));
	assert_true(takeover_settle(&f->tk, f->cl) == false); /* not connected */
	takeover_connected(&f->tk, f->cl, 0);
	assert_true(f->tk.adopting);
	assert_true(takeover_settle(&f->tk, f->cl)); /* connected, its online not back */
	assert_false(f->tk.adopting);
}

static void test_decide_and_orders_seen(void **state)
{
	struct fixture *f = *state;
	struct zone_params p = { .on_below = 300, .off_above = 400, .smoothing = 1 };
	double buf[SMOOTHING_MAX];
	struct zone_state s = { .light = LIGHT_UNKNOWN, .window = buf, .wcap = SMOOTHING_MAX };
	struct ownership o = { .order_seen = LIGHT_UNKNOWN };
	struct decision d;

	/* No reading of its own: the last order seen stands, nothing to order. */
	takeover_decide(&s, &p, LIGHT_ON, 5 * S, &d);
	assert_int_equal(s.light, LIGHT_ON);
	assert_false(d.order);
	/* Its view differs from the last order seen: it orders its own. */
	decide_reading(&s, &p, 500, 5 * S, &d);
	s.light = LIGHT_OFF;
	takeover_decide(&s, &p, LIGHT_ON, 5 * S, &d);
	assert_true(d.order);
	assert_int_equal(d.light, LIGHT_OFF);

	/* Just after a connect a shadow takes the owner's order as its light. */
	takeover_connected(&f->tk, f->cl, 0);
	takeover_order_seen(&f->tk, &o, &s, LIGHT_ON, 7 * S);
	assert_int_equal(o.order_seen, LIGHT_ON);
	assert_int_equal(s.light, LIGHT_ON);
	assert_int_equal(s.changed_at, 7 * S);
	takeover_settle(&f->tk, f->cl);
	takeover_order_seen(&f->tk, &o, &s, LIGHT_OFF, 8 * S);
	assert_int_equal(o.order_seen, LIGHT_OFF);
	assert_int_equal(s.light, LIGHT_ON);
}

/* A new owner of a dimmed zone publishes its level only when it differs from the last seen. */
static void test_level(void **state)
{
	struct zone_params p = { .target_lux = 500, .lamp_lux = 500 };
	struct zone_state s = { .light = LIGHT_ON, .level = 40, .has_reading = true };
	struct decision d = { 0 };

	(void)state;
	takeover_level(&s, &p, 40, &d);
	assert_false(d.level_order);
	takeover_level(&s, &p, 60, &d);
	assert_true(d.level_order);
	/* Without a reading of its own it takes the level seen. */
	d.level_order = false;
	s.has_reading = false;
	takeover_level(&s, &p, 60, &d);
	assert_false(d.level_order);
	assert_int_equal(s.level, 60);
	/* An on/off zone has no level. */
	p.target_lux = 0;
	takeover_level(&s, &p, -1, &d);
	assert_false(d.level_order);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reown_and_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decide_and_orders_seen, setup, teardown),
		cmocka_unit_test(test_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
