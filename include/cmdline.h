/* cmdline.h -- the command line both programs take: options, usage, and the frame of -t */
#ifndef PYLIGHT_CMDLINE_H
#define PYLIGHT_CMDLINE_H

#include "config.h"
#include "errlist.h"

/* The exit status of bad usage (an unknown option, a missing argument, an extra one). */
#define CMDLINE_EX_USAGE 2

/*
 * A program's own checks of a loaded configuration, for -t: adds errors (PATH:LINE) and
 * warnings, and returns 0 or -errno.
 */
typedef int cmdline_check_fn(const struct config *cfg, struct errlist *errs,
			     struct errlist *warns);

/*
 * -t: loads the configuration at `path`, runs `extra` (NULL for none) on it, then loads the
 * thresholds file it names. Prints the warnings and every error on stderr; without errors,
 * "configuration OK", the effective settings and the thresholds on stdout. Returns -t's
 * exit status: 0, or 1 after errors.
 */
int cmdline_check(const char *path, cmdline_check_fn *extra);

/*
 * A program's main: parses `argv` for the program `name`, then runs -t (cmdline_check with
 * `extra`) or `serve` on the configuration file. Returns the status to exit with: 0 after
 * printing the usage (-h) or the version (-v); CMDLINE_EX_USAGE after printing what was
 * wrong and the usage on stderr; else what -t or `serve` returned.
 */
int cmdline_main(const char *name, int argc, char **argv, cmdline_check_fn *extra,
		 int (*serve)(const char *path));

#endif
