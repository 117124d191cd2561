/* watch.c -- noticing every way an editor or a web form saves ref.txt (inotify on its folder) */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/*
 * The folder, not the file: a rename-save (sed -i, web apps, vim) replaces the inode and a
 * watch on the file dies with it. MODIFY never triggers a reload (a slow writer triggers it
 * on every write, and reading then would see half a file); it only says that a writer is at
 * work, so that a reload still pending from an earlier save waits for its close-write.
 */
#define DIR_EVENTS                                                                  \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |     \
	 IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct watch {
	int fd;
	int wd;
	char *dir;
	char *name;
};

int watch_new(const char *path, struct watch **out)
{
	struct watch *w = calloc(1, sizeof(*w));
	char *a = strdup(path), *b = strdup(path);
	int rc;

	if (!w || !a || !b) {
		free(w);
		free(a);
		free(b);
		return -ENOMEM;
	}
	w->dir = strdup(dirname(a));
	w->name = strdup(basename(b));
	free(a);
	free(b);
	w->wd = -1;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!w->dir || !w->name || w->fd < 0) {
		rc = w->fd < 0 ? -errno : -ENOMEM;
		watch_free(w);
		return rc;
	}
	rc = watch_rearm(w);
	if (rc < 0) {
		watch_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int watch_fd(const struct watch *w)
{
	return w->fd;
}

int watch_rearm(struct watch *w)
{
	int wd = inotify_add_watch(w->fd, w->dir, DIR_EVENTS);

	if (wd < 0)
		return -errno;
	w->wd = wd;
	return 0;
}

static enum watch_event classify(const struct watch *w, const struct inotify_event *e)
{
	if (e->mask & IN_Q_OVERFLOW)
		return WATCH_OVERFLOW;
	if (e->wd != w->wd)
		return WATCH_NONE;
	if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		return WATCH_LOST;
	if (!e->len || strcmp(e->name, w->name) != 0)
		return WATCH_NONE;
	if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
		return WATCH_CHANGED;
	if (e->mask & (IN_DELETE | IN_MOVED_FROM))
		return WATCH_REMOVED;
	if (e->mask & IN_MODIFY)
		return WATCH_WRITING;
	return WATCH_NONE; /* IN_CREATE: wait for the close-write that follows */
}

enum watch_event watch_read(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	enum watch_event worst = WATCH_NONE, ev;
	ssize_t n;
	char *p;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(struct inotify_event) +
					      ((struct inotify_event *)p)->len) {
			ev = classify(w, (const struct inotify_event *)p);
			/* Later events win, except that loss of the folder or events is sticky. */
			if (worst == WATCH_LOST || worst == WATCH_OVERFLOW)
				continue;
			if (ev != WATCH_NONE)
				worst = ev;
		}
	}
	if (worst == WATCH_LOST) {
		inotify_rm_watch(w->fd, w->wd);
		w->wd = -1;
	}
	return worst;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->dir);
	free(w->name);
	free(w);
}
