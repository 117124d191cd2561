/* test_password.c -- the password file: its first line, its line end, its mode */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "password.h"

static char dir[] = "/tmp/pylight-test-password-XXXXXX";
static char path[PATH_MAX];

struct result {
	int rc;
	char *pw;
	struct errlist errs, warns;
};

static void load(struct result *r, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0 || !*text, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	memset(r, 0, sizeof(*r));
	r->rc = password_load(path, "pylight.ini", 7, &r->pw, &r->errs, &r->warns);
}

static void done(struct result *r)
{
	free(r->pw);
	errlist_clear(&r->errs);
	errlist_clear(&r->warns);
}

static void accepts(const char *text, const char *want)
{
	struct result r;

	load(&r, text, 0600);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.pw, want);
	assert_int_equal(r.errs.count + r.warns.count, 0);
	done(&r);
}

static void test_password_is_first_line_without_its_end(void **state)
{
	(void)state;
	accepts("s3cret\n", "s3cret");
	accepts("s3cret\r\n", "s3cret");
	accepts("s3cret", "s3cret");
	accepts("top secret\nsecond line\n", "top secret");
	/* only one line end is taken off: what else the line holds is the password */
	accepts("s3cret\r\r\n", "s3cret\r");
	accepts("s3cret \n", "s3cret ");
	accepts(" s3cret\n", " s3cret");
	accepts("s3cret\r", "s3cret\r");
}

static void test_password_empty_is_an_error(void **state)
{
	const char *empty[] = { "", "\n", "\r\n", "\nsecond\n" };
	char want[PATH_MAX + 64];
	struct result r;

	(void)state;
	snprintf(want, sizeof(want), "pylight.ini:7: password_file %s is empty", path);
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		load(&r, empty[i], 0600);
		assert_int_equal(r.rc, -ENODATA);
		assert_null(r.pw);
		assert_int_equal(r.errs.count, 1);
		assert_string_equal(r.errs.msg[0], want);
		done(&r);
	}
}

static void test_password_readable_by_others_warns(void **state)
{
	const mode_t modes[] = { 0640, 0604, 0620, 0644 };
	char want[PATH_MAX + 80];
	struct result r;

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		load(&r, "pw\n", modes[i]);
		assert_int_equal(r.rc, 0);
		assert_string_equal(r.pw, "pw");
		assert_int_equal(r.errs.count, 0);
		assert_int_equal(r.warns.count, 1);
		snprintf(want, sizeof(want),
			 "%s: password file is readable by other users (mode %04o)", path,
			 (unsigned)modes[i]);
		assert_string_equal(r.warns.msg[0], want);
		done(&r);
	}
	load(&r, "pw\n", 0400);
	assert_int_equal(r.warns.count, 0);
	done(&r);
}

static void test_password_unreadable(void **state)
{
	char missing[PATH_MAX + 8], want[2 * PATH_MAX];
	struct errlist errs = { 0 }, warns = { 0 };
	char *pw = (char *)1;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(password_load(missing, "w.ini", 3, &pw, &errs, &warns), -ENOENT);
	assert_null(pw);
	snprintf(want, sizeof(want), "w.ini:3: cannot read password_file %s: %s", missing,
		 strerror(ENOENT));
	assert_string_equal(errs.msg[0], want);
	assert_int_equal(password_load(dir, "w.ini", 3, &pw, &errs, &warns), -EISDIR);
	assert_int_equal(errs.count, 2);
	assert_int_equal(warns.count, 0);
	errlist_clear(&errs);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/pw", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_is_first_line_without_its_end),
		cmocka_unit_test(test_password_empty_is_an_error),
		cmocka_unit_test(test_password_readable_by_others_warns),
		cmocka_unit_test(test_password_unreadable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
