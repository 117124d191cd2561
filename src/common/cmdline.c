/* cmdline.c -- the command line both programs take: options, usage, and the frame of -t */
#include "cmdline.h"

#include <getopt.h>
#include <stdio.h>

static void usage(const char *name, FILE *f)
{
	fprintf(f, "usage: %s [-c FILE] [-t] [-v] [-h]\n"
		   "  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		   "  -t, --check        validate the configuration and thresholds, print them\n"
		   "  -v, --version      print the version\n"
		   "  -h, --help         print this help\n",
		name);
}

int cmdline_parse(const char *name, int argc, char **argv, struct cmdline *out)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	out->config_path = CONFIG_DEFAULT_PATH;
	out->check = false;
	while ((c = getopt_long(argc, argv, "c:tvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			out->config_path = optarg;
			break;
		case 't':
			out->check = true;
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
	return -1;
}

/* A line sink for errlist_print: `prefix` (a string) then the line, on stderr. */
static void stderr_line(void *prefix, const char *text)
{
	fprintf(stderr, "%s%s\n", (const char *)prefix, text);
}

int cmdline_check_report(int loaded, const struct config *cfg, const struct thresholds *t,
			 const struct errlist *errs, const struct errlist *warns)
{
	errlist_print(warns, stderr_line, "warning: ");
	errlist_print(errs, stderr_line, "");
	if (loaded < 0 || errs->count)
		return 1;
	printf("configuration OK\n");
	config_dump(cfg, stdout);
	printf("\n# %s\n", cfg->thresholds_file);
	thresholds_dump(t, stdout);
	return 0;
}
