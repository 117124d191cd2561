/* reload.c -- ref.txt at run time: its folder watched, saves debounced, reloads reported */
#include "reload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "thresholds.h"
#include "watch.h"

#define DEBOUNCE_MS 100
#define WATCH_RETRY_MS 2000

struct reload {
	const char *path;
	struct thresholds_opts opts; /* [site] and max_zones, as at start */
	struct control *ctl;
	struct loop *loop;
	struct status *st;
	struct watch *watch;
	uint64_t tried, failed; /* main thread only */
};

int reload_new(const struct config *cfg, struct control *ctl, struct loop *loop,
	       struct status *st, const char *summary, struct reload **out)
{
	struct reload *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->path = cfg->thresholds_file;
	r->opts = (struct thresholds_opts){ .site = config_has_site(cfg),
					    .max_zones = (size_t)cfg->readings_max_zones };
	r->ctl = ctl;
	r->loop = loop;
	r->st = st;
	rc = watch_new(r->path, &r->watch);
	if (rc == 0)
		rc = loop_borrow(loop, EV_WATCH, watch_fd(r->watch));
	if (rc < 0) {
		reload_free(r);
		return rc;
	}
	status_set_thresholds(st, "thresholds: %s", summary);
	*out = r;
	return 0;
}

void reload_free(struct reload *r)
{
	if (!r)
		return;
	if (r->watch)
		loop_release(r->loop, EV_WATCH);
	watch_free(r->watch);
	free(r);
}

void reload_run(struct reload *r, const char *why)
{
	struct errlist errs = { 0 };
	struct thresholds *t = NULL;
	char summary[160], when[16];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (access(r->path, F_OK) < 0 && errno == ENOENT) {
		log_msg(LOG_WARNING, "%s: missing, keeping the current thresholds until it returns",
			r->path);
		status_set_thresholds(r->st, "thresholds: %s missing since %s, current kept",
				      r->path, when);
		status_update(r->st);
		return;
	}
	notify_reloading();
	r->tried++;
	if (thresholds_load(r->path, &r->opts, &t, &errs) < 0) {
		r->failed++;
		log_errlist(LOG_ERR, &errs);
		log_msg(LOG_ERR, "%s: %zu error(s), keeping the previous thresholds", r->path,
			errs.count);
		status_set_thresholds(r->st, "thresholds: reload at %s failed, previous kept: %s",
				      when, errs.kept ? errs.msg[0] : "error");
	} else {
		int rc;

		thresholds_describe(t, summary, sizeof(summary));
		rc = control_reload(r->ctl, t);
		if (rc < 0) {
			r->failed++;
			log_msg(LOG_ERR, "%s: %s, keeping the previous thresholds", r->path,
				strerror(-rc));
			status_set_thresholds(r->st,
					      "thresholds: reload at %s failed, previous kept: %s",
					      when, strerror(-rc));
		} else {
			log_msg(LOG_NOTICE, "%s: reloaded (%s): %s", r->path, why, summary);
			status_set_thresholds(r->st, "thresholds: %s (reloaded %s)", summary,
					      when);
		}
	}
	errlist_clear(&errs);
	status_update(r->st);
	notify_ready();
}

void reload_counts(const struct reload *r, uint64_t *tried, uint64_t *failed)
{
	*tried = r->tried;
	*failed = r->failed;
}

void reload_watch(struct reload *r)
{
	switch (watch_read(r->watch)) {
	case WATCH_NONE:
		break;
	case WATCH_CHANGED:
	case WATCH_OVERFLOW:
		/* Wait for the writer to settle: several saves in a row give one reload. */
		loop_timer_in(r->loop, EV_DEBOUNCE, DEBOUNCE_MS);
		break;
	case WATCH_WRITING:
		/* A writer is mid-file: a reload pending from an earlier save would read half of
		 * it. Its close-write arms the debounce again. */
		loop_timer_in(r->loop, EV_DEBOUNCE, 0);
		break;
	case WATCH_REMOVED:
		loop_timer_in(r->loop, EV_DEBOUNCE, 0);
		log_msg(LOG_WARNING, "%s: removed, keeping the current thresholds until it returns",
			r->path);
		status_set_thresholds(r->st, "thresholds: %s removed, current kept", r->path);
		status_update(r->st);
		break;
	case WATCH_LOST:
		log_msg(LOG_ERR, "%s: its folder went away, watching again once it returns",
			r->path);
		loop_timer_in(r->loop, EV_WATCH_RETRY, WATCH_RETRY_MS);
		break;
	}
}

void reload_watch_retry(struct reload *r)
{
	if (watch_rearm(r->watch) < 0) {
		loop_timer_in(r->loop, EV_WATCH_RETRY, WATCH_RETRY_MS);
		return;
	}
	log_msg(LOG_NOTICE, "%s: folder is back, watching it again", r->path);
	reload_run(r, "folder returned");
}
