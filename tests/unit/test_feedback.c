/* test_feedback.c -- unit tests of lamp feedback: confirmation, retries, giving up, hand switches */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feedback.h"

#define S 1000

static struct zone_params params(enum manual manual)
{
	return (struct zone_params){ .feedback = "lamp/hall", .confirm_within = 2 * S,
				     .retries = 2, .manual = manual };
}

static void test_confirmation(void **state)
{
	struct zone_params p = params(MANUAL_IGNORE);
	struct feedback_state f;
	struct feedback_action a = { 0 };

	(void)state;
	feedback_init(&f);
	feedback_wait(&f, &p, 10 * S, &a);
	assert_true(f.unconfirmed);
	assert_int_equal(f.deadline, 12 * S);
	/* The other state while the order waits: neither confirmation nor a hand. */
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_ON, LIGHT_OFF, false, 11 * S, &a);
	assert_false(a.confirmed);
	assert_false(a.manual);
	assert_true(a.news); /* the lamp's state is new to the explanation */
	assert_true(f.unconfirmed);
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_ON, LIGHT_ON, false, 11 * S, &a);
	assert_true(a.confirmed);
	assert_true(a.news);
	assert_false(f.unconfirmed);
	assert_int_equal(f.deadline, DECIDE_NEVER);
	assert_int_equal(a.unconfirmed, 0);
}

static void test_retries_then_give_up(void **state)
{
	struct zone_params p = params(MANUAL_IGNORE);
	struct feedback_state f;
	struct feedback_action a = { 0 };

	(void)state;
	feedback_init(&f);
	feedback_wait(&f, &p, 0, &a);
	a = (struct feedback_action){ 0 };
	feedback_due(&f, &p, 2 * S, &a);
	assert_true(a.publish && a.retry);
	assert_int_equal(f.retries, 1);
	assert_int_equal(f.deadline, 6 * S); /* each wait twice the one before */
	a = (struct feedback_action){ 0 };
	feedback_due(&f, &p, 6 * S, &a);
	assert_true(a.publish);
	assert_int_equal(f.deadline, 14 * S);
	a = (struct feedback_action){ 0 };
	feedback_due(&f, &p, 14 * S, &a);
	assert_false(a.publish);
	assert_true(a.gave_up);
	assert_int_equal(a.unconfirmed, 1);
	assert_int_equal(f.deadline, DECIDE_NEVER);
	/* Once given up, nothing more until a confirmation, which takes it back. */
	a = (struct feedback_action){ 0 };
	feedback_due(&f, &p, 20 * S, &a);
	assert_false(a.publish || a.gave_up);
	feedback_report(&f, &p, LIGHT_ON, LIGHT_ON, false, 21 * S, &a);
	assert_int_equal(a.unconfirmed, -1);
	assert_true(a.confirmed);
}

static void test_new_order_takes_back_a_give_up(void **state)
{
	struct zone_params p = params(MANUAL_IGNORE);
	struct feedback_state f;
	struct feedback_action a = { 0 };

	(void)state;
	feedback_init(&f);
	p.retries = 0;
	feedback_wait(&f, &p, 0, &a);
	feedback_due(&f, &p, 2 * S, &a);
	assert_int_equal(a.unconfirmed, 1);
	a = (struct feedback_action){ 0 };
	feedback_wait(&f, &p, 3 * S, &a);
	assert_int_equal(a.unconfirmed, -1);
	assert_false(f.gave_up);
	assert_int_equal(f.retries, 0);
}

static void test_retained_is_never_a_hand(void **state)
{
	struct zone_params p = params(MANUAL_OVERRIDE);
	struct feedback_state f;
	struct feedback_action a = { 0 };

	(void)state;
	feedback_init(&f);
	feedback_report(&f, &p, LIGHT_ON, LIGHT_OFF, true, S, &a);
	assert_false(a.manual || a.override);
	assert_true(a.news);
	assert_int_equal(f.lamp, LIGHT_OFF);
	/* The same state again is no news. */
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_ON, LIGHT_OFF, true, S, &a);
	assert_false(a.news);
}

static void test_hands(void **state)
{
	struct zone_params p = params(MANUAL_ENFORCE);
	struct feedback_state f;
	struct feedback_action a = { 0 };

	(void)state;
	feedback_init(&f);
	/* Before any decision there is nothing for a hand to go against. */
	feedback_report(&f, &p, LIGHT_UNKNOWN, LIGHT_ON, false, S, &a);
	assert_false(a.manual);
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_OFF, LIGHT_ON, false, 100 * S, &a);
	assert_true(a.manual && a.notice && a.publish && a.news);
	assert_int_equal(a.quiet, 0);
	assert_true(f.unconfirmed); /* the order published again waits for the lamp */
	assert_int_equal(f.deadline, 102 * S);

	p.manual = MANUAL_OVERRIDE;
	feedback_init(&f);
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_OFF, LIGHT_ON, false, 100 * S, &a);
	assert_true(a.override && a.notice);
	assert_false(a.publish);
	/* Flapping within FEEDBACK_NOTICE_MS: counted, told later with the count. */
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_ON, LIGHT_OFF, false, 101 * S, &a);
	assert_true(a.manual);
	assert_false(a.notice);
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_ON, LIGHT_OFF, false, 100 * S + FEEDBACK_NOTICE_MS, &a);
	assert_true(a.notice);
	assert_int_equal(a.quiet, 1);

	p.manual = MANUAL_IGNORE;
	a = (struct feedback_action){ 0 };
	feedback_report(&f, &p, LIGHT_ON, LIGHT_OFF, false, 200 * S, &a);
	assert_true(a.manual);
	assert_false(a.override || a.publish || a.news);
}

static void test_reparam(void **state)
{
	struct zone_params p = params(MANUAL_IGNORE), none = p;
	struct feedback_state f;
	struct feedback_action a = { 0 };

	(void)state;
	feedback_init(&f);
	p.retries = 0;
	feedback_report(&f, &p, LIGHT_ON, LIGHT_ON, true, 0, &a);
	feedback_wait(&f, &p, 0, &a);
	feedback_due(&f, &p, 2 * S, &a);
	/* The same lamp: what it said holds. */
	a = (struct feedback_action){ 0 };
	feedback_reparam(&f, "lamp/hall", &p, &a);
	assert_int_equal(f.lamp, LIGHT_ON);
	assert_int_equal(a.unconfirmed, 0);
	/* No lamp any more: forgotten, and the zone no longer counts as given up. */
	none.feedback = "";
	feedback_reparam(&f, "lamp/hall", &none, &a);
	assert_int_equal(f.lamp, LIGHT_UNKNOWN);
	assert_false(f.unconfirmed);
	assert_int_equal(f.deadline, DECIDE_NEVER);
	assert_int_equal(a.unconfirmed, -1);
}

static void test_topics(void **state)
{
	struct feedback_topics *ts = NULL;
	struct feedback_state fa, fb, fc;
	int za, zb, zc; /* stand-ins: the index only keeps the pointers */

	(void)state;
	assert_int_equal(feedback_link(&ts, "lamp/1", (struct zone *)&za, &fa), 0);
	assert_int_equal(feedback_link(&ts, "lamp/1", (struct zone *)&zb, &fb), 0);
	assert_int_equal(feedback_link(&ts, "", (struct zone *)&zc, &fc), 0);
	assert_ptr_equal(feedback_first(ts, "lamp/1"), &zb);
	assert_ptr_equal(fb.next, &za);
	assert_null(fa.next);
	assert_null(fc.next);
	assert_null(feedback_first(ts, "lamp/2"));
	assert_null(feedback_first(ts, ""));
	feedback_unlink_all(&ts);
	assert_null(ts);
	feedback_unlink_all(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confirmation),
		cmocka_unit_test(test_retries_then_give_up),
		cmocka_unit_test(test_new_order_takes_back_a_give_up),
		cmocka_unit_test(test_retained_is_never_a_hand),
		cmocka_unit_test(test_hands),
		cmocka_unit_test(test_reparam),
		cmocka_unit_test(test_topics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
