/* cmdline.c -- the command line both programs take: options, usage, and the frame of -t */
#include "cmdline.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "sun.h"
#include "thresholds.h"

static void usage(const char *name, FILE *f)
{
	fprintf(f, "usage: %s [-c FILE] [-t] [-v] [-h]\n"
		   "  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		   "  -t, --check        validate the configuration and thresholds, print them\n"
		   "  -v, --version      print the version\n"
		   "  -h, --help         print this help\n",
		name);
}

/* A line sink for errlist_print: `prefix` (a string) then the line, on stderr. */
static void stderr_line(void *prefix, const char *text)
{
	fprintf(stderr, "%s%s\n", (const char *)prefix, text);
}

/*
 * "site: sunrise 05:47 sunset 21:58" for today in local time, or "site: polar day" / "site:
 * polar night"; nothing without a [site], whose empty keys the dump already shows.
 */
static void site_print(const struct config *cfg)
{
	struct sun_site site = { cfg->site_latitude, cfg->site_longitude };
	time_t now = time(NULL), rise, set;
	char r[8], s[8];
	struct tm tm;

	if (!config_has_site(cfg))
		return;
	localtime_r(&now, &tm);
	switch (sun_times(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &site, &rise, &set)) {
	case SUN_POLAR_DAY:
		printf("site: polar day\n");
		return;
	case SUN_POLAR_NIGHT:
		printf("site: polar night\n");
		return;
	case SUN_NORMAL:
		break;
	}
	strftime(r, sizeof(r), "%H:%M", localtime_r(&rise, &tm));
	strftime(s, sizeof(s), "%H:%M", localtime_r(&set, &tm));
	printf("site: sunrise %s sunset %s\n", r, s);
}

int cmdline_check(const char *path, cmdline_check_fn *extra)
{
	struct errlist errs = { 0 }, warns = { 0 };
	struct thresholds *t = NULL;
	struct config cfg;
	int rc = config_load(path, &cfg, &errs, &warns);

	if (rc == 0 && extra)
		rc = extra(&cfg, &errs, &warns);
	if (rc == 0)
		rc = thresholds_load(cfg.thresholds_file,
				     &(struct thresholds_opts){
					     .site = config_has_site(&cfg),
					     .max_zones = (size_t)cfg.readings_max_zones },
				     &t, &errs);
	errlist_print(&warns, stderr_line, "warning: ");
	errlist_print(&errs, stderr_line, "");
	if (rc == 0 && !errs.count) {
		printf("configuration OK\n");
		site_print(&cfg);
		config_dump(&cfg, stdout);
		printf("\n# %s\n", cfg.thresholds_file);
		if (thresholds_dump(t, stdout) < 0) {
			fprintf(stderr, "%s: out of memory\n", cfg.thresholds_file);
			rc = -ENOMEM;
		}
	}
	config_free(&cfg); /* after a failed load it holds nothing, and this is a no-op */
	thresholds_free(t);
	errlist_clear(&errs);
	errlist_clear(&warns);
	return rc == 0 && !errs.count ? 0 : 1;
}

int cmdline_main(const char *name, int argc, char **argv, cmdline_check_fn *extra,
		 int (*serve)(const char *path))
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:tvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'v':
			printf("%s %s\n", name, PYLIGHT_VERSION);
			return 0;
		case 'h':
			usage(name, stdout);
			return 0;
		default: /* getopt has said what was wrong */
			usage(name, stderr);
			return CMDLINE_EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
		usage(name, stderr);
		return CMDLINE_EX_USAGE;
	}
	return check ? cmdline_check(path, extra) : serve(path);
}
