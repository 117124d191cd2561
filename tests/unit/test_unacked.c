/* test_unacked.c -- unit tests of the copies kept of QoS 0 messages until an ack proves them */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unacked.h"

/* What unacked_take handed out, as "topic=payload;" in order. */
struct taken {
	char text[4096];
	size_t n;
};

static void take_one(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct taken *t = ctx;

	t->n += (size_t)snprintf(t->text + t->n, sizeof(t->text) - t->n, "%s=%.*s;", topic,
				 (int)len, (const char *)payload);
}

static const char *take(struct unacked *u)
{
	static struct taken t;

	t.n = 0;
	t.text[0] = '\0';
	unacked_take(u, take_one, &t);
	return t.text;
}

static void keep(struct unacked *u, const char *topic, const char *payload)
{
	assert_int_equal(unacked_keep(u, topic, payload, strlen(payload)), 0);
}

static void test_ack_after_proves_what_came_before(void **state)
{
	struct unacked *u;

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	keep(u, "z/a", "1");
	keep(u, "z/b", "2");
	assert_int_equal(unacked_barrier(u, 10), 0);
	keep(u, "z/c", "3");
	assert_int_equal(unacked_count(u), 3);
	/* An unknown id (a QoS 0 message written) proves nothing. */
	unacked_acked(u, 11);
	assert_int_equal(unacked_count(u), 3);
	unacked_acked(u, 10);
	assert_int_equal(unacked_count(u), 1);
	assert_int_equal(unacked_barriers(u), 0);
	/* The copy kept after the barrier is what a new connection must publish again. */
	assert_string_equal(take(u), "z/c=3;");
	assert_int_equal(unacked_count(u), 0);
	unacked_free(u);
}

static void test_newest_per_topic_only(void **state)
{
	struct unacked *u;

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	keep(u, "z/a", "ON");
	keep(u, "z/b", "OFF");
	keep(u, "z/a", "OFF");
	assert_int_equal(unacked_count(u), 2);
	/* Oldest first: b was kept before a's newest. */
	assert_string_equal(take(u), "z/b=OFF;z/a=OFF;");
	/* A message longer than the room of the topic's copy replaces it all the same. */
	keep(u, "z/a", "ON");
	keep(u, "z/a", "a much longer explanation than the last one, by far");
	keep(u, "z/a", "short");
	assert_int_equal(unacked_count(u), 1);
	assert_string_equal(take(u), "z/a=short;");
	unacked_free(u);
}

static void test_lost_connection_voids_barriers(void **state)
{
	struct unacked *u;

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	keep(u, "z/a", "1");
	assert_int_equal(unacked_barrier(u, 5), 0);
	unacked_lost(u);
	assert_int_equal(unacked_barriers(u), 0);
	/* libmosquitto sends message 5 again on the next connection: its ack proves nothing of
	 * what was written to the old one. */
	unacked_acked(u, 5);
	assert_int_equal(unacked_count(u), 1);
	assert_string_equal(take(u), "z/a=1;");
	unacked_free(u);
}

static void test_barrier_without_copies_is_not_kept(void **state)
{
	struct unacked *u;

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	assert_int_equal(unacked_barrier(u, 1), 0);
	assert_int_equal(unacked_barriers(u), 0);
	keep(u, "z/a", "1");
	assert_int_equal(unacked_barrier(u, 2), 0);
	/* Nothing kept since: a second barrier would prove the same. */
	assert_int_equal(unacked_barrier(u, 3), 0);
	assert_int_equal(unacked_barriers(u), 1);
	unacked_free(u);
}

static void test_later_ack_proves_earlier_barriers(void **state)
{
	struct unacked *u;

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	keep(u, "z/a", "1");
	assert_int_equal(unacked_barrier(u, 20), 0);
	keep(u, "z/b", "2");
	assert_int_equal(unacked_barrier(u, 22), 0);
	keep(u, "z/c", "3");
	assert_int_equal(unacked_barrier(u, 25), 0);
	keep(u, "z/d", "4");
	/* Out of order (a QoS 2 exchange among QoS 1 ones): 22 read means 20 was read too. */
	unacked_acked(u, 22);
	assert_int_equal(unacked_barriers(u), 1);
	assert_int_equal(unacked_count(u), 2);
	unacked_acked(u, 20); /* gone already: nothing more */
	assert_int_equal(unacked_count(u), 2);
	unacked_acked(u, 25);
	assert_string_equal(take(u), "z/d=4;");
	unacked_free(u);
}

static void test_ids_wrap(void **state)
{
	struct unacked *u;

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	keep(u, "z/a", "1");
	assert_int_equal(unacked_barrier(u, 65534), 0);
	keep(u, "z/b", "2");
	assert_int_equal(unacked_barrier(u, 65535), 0);
	keep(u, "z/c", "3");
	assert_int_equal(unacked_barrier(u, 1), 0); /* libmosquitto skips 0 */
	keep(u, "z/d", "4");
	assert_int_equal(unacked_barrier(u, 3), 0);
	/* 2, a QoS 0 message between 1 and 3, is no barrier. */
	unacked_acked(u, 2);
	assert_int_equal(unacked_count(u), 4);
	unacked_acked(u, 1);
	assert_int_equal(unacked_barriers(u), 1);
	assert_string_equal(take(u), "z/d=4;");
	unacked_free(u);
}

static void test_many_barriers_grow_and_stay_ordered(void **state)
{
	struct unacked *u;
	char topic[32];

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(topic, sizeof(topic), "z/%d", i);
		keep(u, topic, "x");
		assert_int_equal(unacked_barrier(u, 100 + 2 * i), 0);
	}
	assert_int_equal(unacked_barriers(u), 1000);
	unacked_acked(u, 100 + 2 * 499);
	assert_int_equal(unacked_count(u), 500);
	assert_int_equal(unacked_barriers(u), 500);
	unacked_acked(u, 100 + 2 * 999);
	assert_int_equal(unacked_count(u), 0);
	unacked_free(u);
}

static void test_taken_copies_can_be_kept_again(void **state)
{
	struct unacked *u;

	(void)state;
	assert_int_equal(unacked_new(&u), 0);
	keep(u, "z/a", "");
	assert_int_equal(unacked_barrier(u, 7), 0);
	assert_string_equal(take(u), "z/a=;");
	/* Taking forgets the barriers too: they proved copies that are gone. */
	assert_int_equal(unacked_barriers(u), 0);
	keep(u, "z/a", "again");
	unacked_acked(u, 7);
	assert_int_equal(unacked_count(u), 1);
	unacked_free(u);
	unacked_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_after_proves_what_came_before),
		cmocka_unit_test(test_newest_per_topic_only),
		cmocka_unit_test(test_lost_connection_voids_barriers),
		cmocka_unit_test(test_barrier_without_copies_is_not_kept),
		cmocka_unit_test(test_later_ack_proves_earlier_barriers),
		cmocka_unit_test(test_ids_wrap),
		cmocka_unit_test(test_many_barriers_grow_and_stay_ordered),
		cmocka_unit_test(test_taken_copies_can_be_kept_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
