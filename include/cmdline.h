/* cmdline.h -- the command line both programs take: options, usage, and the frame of -t */
#ifndef PYLIGHT_CMDLINE_H
#define PYLIGHT_CMDLINE_H

#include <stdbool.h>

#include "config.h"
#include "errlist.h"
#include "thresholds.h"

/* The exit status of bad usage (an unknown option, a missing argument, an extra one). */
#define CMDLINE_EX_USAGE 2

struct cmdline {
	const char *config_path; /* -c, CONFIG_DEFAULT_PATH by default */
	bool check;              /* -t */
};

/*
 * Parses `argv` for the program `name`. Returns -1 when the program is to go on with *out,
 * or the status to exit with: 0 after printing the usage (-h) or the version (-v),
 * CMDLINE_EX_USAGE after printing what was wrong and the usage on stderr.
 */
int cmdline_parse(const char *name, int argc, char **argv, struct cmdline *out);

/*
 * The end of -t: prints the warnings and the errors on stderr, then, when the loading
 * returned `loaded` 0, "configuration OK", the effective settings and the thresholds on
 * stdout (`cfg` and `t` are read only then). Returns -t's exit status: 0, or 1 after errors.
 */
int cmdline_check_report(int loaded, const struct config *cfg, const struct thresholds *t,
			 const struct errlist *errs, const struct errlist *warns);

#endif
