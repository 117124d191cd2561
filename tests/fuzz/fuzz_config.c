/* fuzz_config.c -- libFuzzer target: pylight.ini loading, every key type, password_file */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "errcheck.h"
#include "errlist.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * config_load takes a path, so each input is written over one file in a private folder made
 * at start (under $TMPDIR). Not a memfd: relative paths resolve against the ini's folder, and
 * /proc/self/fd would let `password_file = 0` read the fuzzer's stdin. The folder also holds
 * the password files an input may name.
 */
static char dir[PATH_MAX];
static char ini[PATH_MAX];
static int ini_fd = -1;
static FILE *devnull;

static const struct {
	const char *name;
	const char *text;
	mode_t mode;
} pw_files[] = {
	{ "pw", "secret\n", 0600 },
	{ "pw-open", "secret\r\nsecond line\n", 0644 }, /* draws the warning */
	{ "pw-empty", "", 0600 },
	{ "pw-blank", "\n", 0600 },
	{ "pw-nonl", "secret", 0600 },
};

static void cleanup(void)
{
	for (size_t i = 0; i < sizeof(pw_files) / sizeof(pw_files[0]); i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/%s", dir, pw_files[i].name);
		unlink(p);
	}
	unlink(ini);
	rmdir(dir);
}

static void file_put(const char *name, const char *text, mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) < 0)
		abort();
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	for (size_t i = 0; i < sizeof(pw_files) / sizeof(pw_files[0]); i++)
		file_put(pw_files[i].name, pw_files[i].text, pw_files[i].mode);
	snprintf(ini, sizeof(ini), "%s/pylight.ini", dir);
	/* group-readable, so that a password in the ini draws its warning too */
	ini_fd = open(ini, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	devnull = fopen("/dev/null", "we");
	if (ini_fd < 0 || fchmod(ini_fd, 0640) < 0 || !devnull)
		abort();
	return 0;
}

/*
 * password_file is the one key whose file config_load opens. A value with a '/' could name
 * /dev/zero or a FIFO and hang the run; without one it names a file of the private folder.
 * The key and its value are on one line (the reader strips indentation, so inih never sees
 * a continuation line).
 */
static int password_file_escapes(const uint8_t *data, size_t size)
{
	static const char key[] = "password_file";
	const uint8_t *p = data, *end = data + size;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);

		if (memmem(p, n, key, sizeof(key) - 1) && memchr(p, '/', n))
			return 1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist errs = { 0 }, warns = { 0 };
	struct config cfg;
	int r;

	if (password_file_escapes(data, size))
		return -1; /* not added to the corpus */
	if (ftruncate(ini_fd, 0) < 0 || pwrite(ini_fd, data, size, 0) != (ssize_t)size)
		abort();

	r = config_load(ini, &cfg, &errs, &warns);
	if (r == 0) {
		if (errs.count != 0 || !cfg.path || strcmp(cfg.path, ini) != 0 || !cfg.mqtt_host ||
		    !cfg.thresholds_file || cfg.mqtt_port < 1 || cfg.mqtt_port > 65535 ||
		    cfg.mqtt_reconnect_max < cfg.mqtt_reconnect_min ||
		    !strcmp(cfg.orders_on_payload, cfg.orders_off_payload))
			abort();
		config_dump(&cfg, devnull);
		config_free(&cfg);
	} else {
		/* Rejected: every error reported, and nothing left in cfg to free. */
		if ((r != -EINVAL && r != -ENOMEM) || (r == -EINVAL && errs.count == 0) ||
		    cfg.path || cfg.mqtt_host || cfg.mqtt_password)
			abort();
		errcheck(&errs, ini, text_lines(data, size));
	}
	errlist_clear(&errs);
	errlist_clear(&warns);
	return 0;
}
