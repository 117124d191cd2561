/* reffile.c -- ref.txt read whole, named by a hash of its bytes, replaced by one rename */
#include "reffile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

/* As thresholds_parse.c: anything bigger is a mistake, not a configuration. */
#define FILE_MAX ((size_t)16 << 20)

void reffile_etag(const char *text, size_t len, char etag[REFFILE_ETAG_SIZE])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ULL;
	}
	snprintf(etag, REFFILE_ETAG_SIZE, "%016llx", (unsigned long long)h);
}

int reffile_read(const char *path, char **text, size_t *len)
{
	int r = file_read(path, FILE_MAX, text, len);

	if (r != -ENOENT)
		return r;
	*text = strdup("");
	return *text ? 0 : -ENOMEM;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Flushes the folder, so that the rename itself survives a power cut. */
static void dir_sync(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The old owner and group where the process may set them (root, or a group it is in). */
static void owner_keep(int fd, const struct stat *st)
{
	if (fchown(fd, st->st_uid, st->st_gid) == 0)
		return;
	if (fchown(fd, (uid_t)-1, st->st_gid) == 0)
		return;
	/* neither: the new file is the process's own, with the old mode */
}

int reffile_save(const char *path, const char *text, size_t len)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	char *tmp;
	int fd, r;

	/* ".ref.txt.XXXXXX" beside ref.txt: the watcher of the folder filters it out by name */
	if (asprintf(&tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) : 0, path,
		     slash ? slash + 1 : path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = write_all(fd, text, len);
	if (r == 0 && stat(path, &st) == 0) {
		if (fchmod(fd, st.st_mode & 07777) < 0)
			r = -errno;
		else
			owner_keep(fd, &st);
	} else if (r == 0 && errno == ENOENT) {
		mode_t mask = umask(0);

		umask(mask);
		if (fchmod(fd, 0666 & ~mask) < 0)
			r = -errno;
	} else if (r == 0) {
		r = -errno;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	else
		dir_sync(path);
	free(tmp);
	return r;
}
