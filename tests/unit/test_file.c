/* test_file.c -- whole files read into memory, under a cap */
#include <errno.h>
#include <fcntl.h>
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

#include "file.h"

static char dir[] = "/tmp/pylight-test-file-XXXXXX";
static char path[PATH_MAX];

static void write_file(const void *text, size_t len)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_file_read_whole_and_terminated(void **state)
{
	char *text = NULL;
	size_t len = 0;

	(void)state;
	write_file("a\0b\n", 4);
	assert_int_equal(file_read(path, 100, &text, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(text, "a\0b\n", 5); /* its own NUL kept, one added */
	free(text);

	write_file("", 0);
	assert_int_equal(file_read(path, 100, &text, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
}

static void test_file_read_cap(void **state)
{
	char big[9000], *text = (char *)1;
	size_t len = 1;

	(void)state;
	memset(big, 'x', sizeof(big));
	write_file(big, sizeof(big));
	assert_int_equal(file_read(path, sizeof(big), &text, &len), 0); /* at the cap: read */
	assert_int_equal(len, sizeof(big));
	assert_int_equal(text[len], '\0');
	free(text);
	assert_int_equal(file_read(path, sizeof(big) - 1, &text, &len), -EFBIG);
	assert_null(text);
	assert_int_equal(len, 0);
	assert_int_equal(file_read(path, 10, &text, &len), -EFBIG);
}

static void test_file_read_errors(void **state)
{
	char missing[PATH_MAX + 8], *text = (char *)1;
	size_t len = 1;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(file_read(missing, 100, &text, &len), -ENOENT);
	assert_null(text);
	assert_int_equal(len, 0);
	assert_int_equal(file_read(dir, 100, &text, &len), -EISDIR);
}

/* A pipe has no size to hint at: the reader grows as the bytes come. */
static void test_file_read_without_size(void **state)
{
	char fifo[PATH_MAX + 8], *text = NULL;
	size_t len = 0;
	pid_t pid;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(fifo, O_WRONLY);
		char chunk[5000];

		memset(chunk, 'y', sizeof(chunk));
		for (int i = 0; i < 4; i++)
			if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
				_exit(1);
		_exit(0);
	}
	assert_int_equal(file_read(fifo, 1 << 20, &text, &len), 0);
	assert_int_equal(len, 20000);
	assert_int_equal(text[0], 'y');
	assert_int_equal(text[19999], 'y');
	free(text);
	unlink(fifo);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/f", dir);
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
		cmocka_unit_test(test_file_read_whole_and_terminated),
		cmocka_unit_test(test_file_read_cap),
		cmocka_unit_test(test_file_read_errors),
		cmocka_unit_test(test_file_read_without_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
