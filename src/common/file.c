/* file.c -- a whole file read into memory, with a cap on its size */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

int file_read(const char *path, size_t max, char **text, size_t *len)
{
	struct stat st;
	size_t cap = 0, n = 0;
	char *buf = NULL;
	int fd, r = 0;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * The size is only a hint: the file may grow while it is read. Its bytes, the NUL, and
	 * room for the read that finds the end: no second allocation when it does not grow.
	 */
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= max) {
		cap = (size_t)st.st_size + 2;
		buf = malloc(cap);
		if (!buf)
			r = -ENOMEM;
	}
	while (r == 0) {
		ssize_t got;

		/* one byte more than the cap, so that a file past it is told from one at it */
		if (n + 1 >= cap && (r = buf_grow(&buf, &cap, n + 2, 1)) < 0)
			break;
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : 0;
			break;
		}
		n += (size_t)got;
		if (n > max)
			r = -EFBIG;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}
