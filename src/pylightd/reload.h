/* reload.h -- ref.txt at run time: its folder watched, saves debounced, reloads reported */
#ifndef PYLIGHT_RELOAD_H
#define PYLIGHT_RELOAD_H

#include <stdint.h>

#include "config.h"
#include "control.h"
#include "loop.h"
#include "status.h"

struct reload;

/*
 * Watches the folder of cfg->thresholds_file (lent to `loop` as EV_WATCH) and puts
 * "thresholds: SUMMARY" in the status. Returns 0 or -errno (the folder cannot be watched).
 */
int reload_new(const struct config *cfg, struct control *ctl, struct loop *loop,
	       struct status *st, const char *summary, struct reload **out);
void reload_free(struct reload *r);

/* Reloads ref.txt now; `why` ("SIGHUP", "file changed") goes into the log. */
void reload_run(struct reload *r, const char *why);
/* Reloads tried (a missing file is no try) and, of those, failed, since the start. */
void reload_counts(const struct reload *r, uint64_t *tried, uint64_t *failed);
/* EV_WATCH: reads the folder's events and arms, holds back or cancels a reload. */
void reload_watch(struct reload *r);
/* EV_WATCH_RETRY: watches the folder again if it has come back, and reloads. */
void reload_watch_retry(struct reload *r);

#endif
