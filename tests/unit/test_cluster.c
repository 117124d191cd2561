/* test_cluster.c -- unit tests of cluster membership and rendezvous ownership */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"
#define XXH_INLINE_ALL
#include <xxhash.h>

#define ZONES 300

static struct cluster *view(const char *self)
{
	struct cluster *cl = NULL;

	assert_int_equal(cluster_new(self, &cl), 0);
	assert_non_null(cl);
	return cl;
}

/* The owner as the contract words it: the highest XXH64, seed 0, of the bytes NODE "/" ZONE. */
static const char *expected_owner(const char *const *nodes, size_t n, const char *zone)
{
	const char *best = NULL;
	uint64_t top = 0;
	char key[160];

	for (size_t i = 0; i < n; i++) {
		int len = snprintf(key, sizeof(key), "%s/%s", nodes[i], zone);
		uint64_t w = XXH64(key, (size_t)len, 0);

		if (!best || w > top) {
			best = nodes[i];
			top = w;
		}
	}
	return best;
}

static void test_names(void **state)
{
	char longest[CLUSTER_NAME_MAX + 2];

	(void)state;
	assert_true(cluster_name_valid("a"));
	assert_true(cluster_name_valid("host-2.example"));
	assert_false(cluster_name_valid(""));
	assert_false(cluster_name_valid("a/b"));
	assert_false(cluster_name_valid("a+"));
	assert_false(cluster_name_valid("#"));
	assert_false(cluster_name_valid("a b"));
	assert_false(cluster_name_valid("tab\there"));
	memset(longest, 'x', sizeof(longest) - 1);
	longest[CLUSTER_NAME_MAX] = '\0';
	assert_true(cluster_name_valid(longest));
	longest[CLUSTER_NAME_MAX] = 'x';
	longest[CLUSTER_NAME_MAX + 1] = '\0';
	assert_false(cluster_name_valid(longest));
}

static void test_owns_nothing_until_live(void **state)
{
	struct cluster *cl = view("a");

	(void)state;
	assert_false(cluster_owns(cl, "hall"));
	assert_string_equal(cluster_owner(cl, "hall"), "");
	assert_int_equal(cluster_status(cl, "b", true), 1);
	assert_false(cluster_owns(cl, "hall"));
	assert_string_equal(cluster_owner(cl, "hall"), "b");
	assert_false(cluster_self_live(cl));
	assert_int_equal(cluster_status(cl, "a", true), 1);
	assert_true(cluster_self_live(cl));
	assert_int_equal(cluster_status(cl, "a", true), 0); /* no change */
	assert_int_equal(cluster_live(cl), 2);
	cluster_reset(cl);
	assert_int_equal(cluster_live(cl), 0);
	assert_false(cluster_owns(cl, "hall"));
	assert_int_equal(cluster_status(cl, "a", true), 1);
	assert_true(cluster_owns(cl, "hall")); /* alone: everything */
	assert_true(cluster_owns(cl, ""));
	cluster_free(cl);
}

static void test_rendezvous(void **state)
{
	static const char *const nodes[] = { "a", "b", "c" };
	struct cluster *cl = view("a");
	unsigned per_node[3] = { 0 };
	char zone[32];

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(cluster_status(cl, nodes[i], true), 1);
	for (int i = 0; i < ZONES; i++) {
		const char *want;

		snprintf(zone, sizeof(zone), "floor%d/room%d", i / 10, i);
		want = expected_owner(nodes, 3, zone);
		assert_string_equal(cluster_owner(cl, zone), want);
		assert_int_equal(cluster_owns(cl, zone), strcmp(want, "a") == 0);
		per_node[want[0] - 'a']++;
	}
	/* Spread: each of three owns a fair share (a third is 100 of 300). */
	for (size_t i = 0; i < 3; i++)
		assert_in_range(per_node[i], 60, 140);
	assert_string_equal(cluster_owner(cl, ""), expected_owner(nodes, 3, ""));
	cluster_free(cl);
}

/* A departure moves only the departed node's zones; its return takes back exactly those. */
static void test_departure_moves_only_its_zones(void **state)
{
	struct cluster *cl = view("a");
	const char *before[ZONES];
	char zone[32];

	(void)state;
	cluster_status(cl, "a", true);
	cluster_status(cl, "b", true);
	cluster_status(cl, "c", true);
	for (int i = 0; i < ZONES; i++) {
		snprintf(zone, sizeof(zone), "z%d", i);
		before[i] = cluster_owner(cl, zone)[0] == 'a' ? "a" :
			    cluster_owner(cl, zone)[0] == 'b' ? "b" : "c";
	}
	assert_int_equal(cluster_status(cl, "c", false), 1);
	assert_int_equal(cluster_status(cl, "c", false), 0);
	for (int i = 0; i < ZONES; i++) {
		snprintf(zone, sizeof(zone), "z%d", i);
		if (strcmp(before[i], "c") != 0)
			assert_string_equal(cluster_owner(cl, zone), before[i]);
		else
			assert_string_not_equal(cluster_owner(cl, zone), "c");
	}
	cluster_status(cl, "c", true);
	for (int i = 0; i < ZONES; i++) {
		snprintf(zone, sizeof(zone), "z%d", i);
		assert_string_equal(cluster_owner(cl, zone), before[i]);
	}
	cluster_free(cl);
}

static void test_full(void **state)
{
	struct cluster *cl = view("a");
	char name[16];

	(void)state;
	for (int i = 0; i < CLUSTER_NODES_MAX; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(cluster_status(cl, name, true), 1);
	}
	assert_int_equal(cluster_status(cl, "one-too-many", true), -ENOSPC);
	assert_int_equal(cluster_status(cl, "n0", false), 1);
	assert_int_equal(cluster_status(cl, "one-too-many", true), 1);
	cluster_free(cl); /* the sanitizer build checks that the names are freed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_owns_nothing_until_live),
		cmocka_unit_test(test_rendezvous),
		cmocka_unit_test(test_departure_moves_only_its_zones),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
