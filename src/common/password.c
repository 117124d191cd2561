/* password.c -- a password kept in a file of its own, as both programs read it */
#include "password.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

void password_mode_warn(struct errlist *warns, const char *path, int fd, const char *what)
{
	struct stat st;

	if (!fstat(fd, &st) && (st.st_mode & 077))
		errlist_add(warns, path, 0, "%s is readable by other users (mode %04o)", what,
			    (unsigned)(st.st_mode & 07777));
}

/* The first line, so that an editor's final newline (and a CR before it) does not count. */
int password_load(const char *file, const char *cfg_path, unsigned line, char **out,
		  struct errlist *errs, struct errlist *warns)
{
	char *pw = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;
	FILE *f;

	*out = NULL;
	f = fopen(file, "re");
	if (!f) {
		r = -errno;
		errlist_add(errs, cfg_path, line, "cannot read password_file %s: %s", file,
			    strerror(-r));
		return r;
	}
	errno = 0;
	len = getline(&pw, &cap, f);
	if (len < 0 && ferror(f)) {
		r = errno ? -errno : -EIO;
		if (r != -ENOMEM)
			errlist_add(errs, cfg_path, line, "cannot read password_file %s: %s", file,
				    strerror(-r));
	} else {
		if (len > 0 && pw[len - 1] == '\n') {
			pw[--len] = '\0';
			if (len > 0 && pw[len - 1] == '\r')
				pw[--len] = '\0';
		}
		if (len <= 0) {
			r = -ENODATA;
			errlist_add(errs, cfg_path, line, "password_file %s is empty", file);
		} else {
			*out = pw;
			pw = NULL;
			password_mode_warn(warns, file, fileno(f), "password file");
		}
	}
	free(pw);
	fclose(f);
	return r;
}
