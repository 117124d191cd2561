/* watch.h -- noticing every way an editor or a web form saves ref.txt (inotify on its folder) */
#ifndef PYLIGHT_WATCH_H
#define PYLIGHT_WATCH_H

struct watch;

enum watch_event {
	WATCH_NONE,    /* nothing that concerns the file */
	WATCH_CHANGED, /* the file was written and closed, moved in or recreated */
	WATCH_REMOVED, /* the file was deleted or moved away */
	WATCH_LOST,    /* the folder itself went away: watch_rearm until it returns */
	WATCH_OVERFLOW, /* events were lost: treat as changed */
	WATCH_WRITING   /* a writer has the file open: nothing to read before it closes it */
};

/* Watches the folder of `path` for its last component. Returns 0 or -errno. */
int watch_new(const char *path, struct watch **out);
int watch_fd(const struct watch *w);
/* Drains pending events and returns the most significant one. */
enum watch_event watch_read(struct watch *w);
/* Re-adds the folder watch after WATCH_LOST. Returns 0 or -errno (still missing). */
int watch_rearm(struct watch *w);
void watch_free(struct watch *w);

#endif
