/* password.h -- a password kept in a file of its own, as both programs read it */
#ifndef PYLIGHT_PASSWORD_H
#define PYLIGHT_PASSWORD_H

#include "errlist.h"

/*
 * Reads the password in `file`: its first line without the line end ("\n", or "\r\n"; any
 * other byte, a space or a second "\r" included, belongs to the password). `cfg_path` and
 * `line` are where the configuration names the file: its errors are reported there, as
 * "cannot read password_file FILE: why" or "password_file FILE is empty". A file that its
 * group or others may read draws a warning in `warns`. Returns 0 with *out malloc'd, or
 * -errno (-ENODATA for an empty first line, -ENOMEM with nothing reported).
 */
int password_load(const char *file, const char *cfg_path, unsigned line, char **out,
		  struct errlist *errs, struct errlist *warns);

/*
 * Adds "PATH: WHAT is readable by other users (mode 0644)" to `warns` when the open file
 * `fd` grants its group or others anything.
 */
void password_mode_warn(struct errlist *warns, const char *path, int fd, const char *what);

#endif
