/* stats.h -- the daemon's counters, published retained as JSON at most once every 10 s */
#ifndef PYLIGHT_STATS_H
#define PYLIGHT_STATS_H

#include <stdbool.h>

struct config;
struct control;
struct loop;
struct mqtt;
struct reload;
struct stats;

/*
 * Publishes on [topics] stats (with "/NODE" in a cluster); an empty topic makes every call a
 * no-op. Returns 0 or -ENOMEM. Everything passed in must outlive the stats.
 */
int stats_new(const struct config *cfg, struct loop *loop, struct mqtt *mqtt,
	      struct control *ctl, struct reload *reload, struct stats **out);
void stats_free(struct stats *s);

/* Some counter may have changed: arms EV_STATS, at most 10 s after the last publish. Any thread. */
void stats_soon(struct stats *s);
/* The broker connection came or went. Any thread. */
void stats_connected(struct stats *s, bool connected);
/* EV_STATS: publishes the counters if they differ from the last ones published. */
void stats_timer(struct stats *s);

#endif
