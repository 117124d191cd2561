/* test_buf.c -- the growable byte buffer and doubling arrays */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_buf_puts_append_and_stay_terminated(void **state)
{
	struct buf b = { 0 };
	char big[10000];
	size_t len = 99;
	char *s;

	(void)state;
	buf_puts(&b, "ab");
	buf_put(&b, "cdef", 2);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "abcd");
	memset(big, 'x', sizeof(big));
	buf_put(&b, big, sizeof(big)); /* past the first allocation */
	assert_int_equal(b.len, 4 + sizeof(big));
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data + 4, big, sizeof(big));
	s = buf_take(&b, &len);
	assert_int_equal(len, 4 + sizeof(big));
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
}

static void test_buf_take_of_nothing_is_empty_string(void **state)
{
	struct buf b = { 0 };
	size_t len = 99;
	char *s;

	(void)state;
	s = buf_take(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	buf_clear(&b); /* a cleared buffer is empty and reusable */
	buf_clear(&b);
}

static void test_buf_nomem_is_sticky(void **state)
{
	struct buf b = { 0 };
	size_t len = 0;

	(void)state;
	buf_puts(&b, "abc");
	buf_put(&b, "x", SIZE_MAX - 1); /* cannot fit: fails without touching the bytes */
	assert_true(b.nomem);
	buf_puts(&b, "more");
	assert_int_equal(b.len, 3);
	assert_null(buf_take(&b, &len));
	assert_null(b.data);
	assert_false(b.nomem);
}

static void test_buf_grow_doubles_from_16(void **state)
{
	int *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(buf_grow(&a, &cap, 1, sizeof(*a)), 0);
	assert_int_equal(cap, 16);
	assert_int_equal(buf_grow(&a, &cap, 16, sizeof(*a)), 0);
	assert_int_equal(cap, 16);
	a[15] = 7;
	assert_int_equal(buf_grow(&a, &cap, 17, sizeof(*a)), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(a[15], 7);
	assert_int_equal(buf_grow(&a, &cap, 100, sizeof(*a)), 0);
	assert_int_equal(cap, 128);
	assert_int_equal(buf_grow(&a, &cap, SIZE_MAX / 2, sizeof(*a)), -ENOMEM);
	assert_int_equal(cap, 128);
	assert_int_equal(a[15], 7);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_puts_append_and_stay_terminated),
		cmocka_unit_test(test_buf_take_of_nothing_is_empty_string),
		cmocka_unit_test(test_buf_nomem_is_sticky),
		cmocka_unit_test(test_buf_grow_doubles_from_16),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
