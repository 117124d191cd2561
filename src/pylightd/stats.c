/* stats.c -- the daemon's counters, published retained as JSON at most once every 10 s */
#include "stats.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "loop.h"
#include "monotonic.h"
#include "mqtt.h"
#include "reject.h"
#include "reload.h"

#define STATS_EVERY_MS 10000
#define STATS_MODES 16 /* distinct mode names; decide.c has fewer */

struct stats {
	struct loop *loop;
	struct mqtt *mqtt;
	struct control *ctl;
	struct reload *reload;
	char *topic;              /* NULL: not published */
	atomic_bool armed;        /* EV_STATS is set */
	atomic_bool connected;
	atomic_bool fresh;        /* just connected: publish even what was published before */
	_Atomic int64_t last_at;  /* monotonic_ms() of the last publish */
	char last[2048];          /* what was published last; main thread */
};

/* Zones by mode, in the order the modes were first seen. */
struct mode_counts {
	const char *name[STATS_MODES];
	size_t n[STATS_MODES];
	size_t len;
};

int stats_new(const struct config *cfg, struct loop *loop, struct mqtt *mqtt,
	      struct control *ctl, struct reload *reload, struct stats **out)
{
	struct stats *s = calloc(1, sizeof(*s));
	const char *node = cfg->cluster_node;

	/* stats_free takes a partial object (glibc's asprintf leaves topic NULL) */
	if (!s || (cfg->topics_stats[0] &&
		   asprintf(&s->topic, "%s%s%s", cfg->topics_stats, node[0] ? "/" : "", node) < 0)) {
		stats_free(s);
		*out = NULL;
		return -ENOMEM;
	}
	s->loop = loop;
	s->mqtt = mqtt;
	s->ctl = ctl;
	s->reload = reload;
	atomic_store(&s->last_at, INT64_MIN / 2);
	*out = s;
	return 0;
}

void stats_free(struct stats *s)
{
	if (!s)
		return;
	free(s->topic);
	free(s);
}

void stats_soon(struct stats *s)
{
	int64_t at;

	if (!s->topic || atomic_exchange(&s->armed, true))
		return;
	at = atomic_load(&s->last_at) + STATS_EVERY_MS;
	loop_timer_at(s->loop, EV_STATS, at);
}

void stats_connected(struct stats *s, bool connected)
{
	atomic_store(&s->connected, connected);
	/* A broker restarted without persistence lost the retained counters. */
	if (connected)
		atomic_store(&s->fresh, true);
	stats_soon(s);
}

static void mode_count(void *arg, const char *mode)
{
	struct mode_counts *mc = arg;
	size_t i;

	for (i = 0; i < mc->len; i++)
		if (mc->name[i] == mode || strcmp(mc->name[i], mode) == 0)
			break;
	if (i == mc->len) {
		if (mc->len == STATS_MODES)
			return;
		mc->name[mc->len] = mode;
		mc->n[mc->len++] = 0;
	}
	mc->n[i]++;
}

/* The counters as one JSON object; returns its length (truncated text is never sent). */
static int stats_json(struct stats *s, char *buf, size_t cap)
{
	struct control_stats cs;
	struct mode_counts mc = { .len = 0 };
	uint64_t tried, failed;
	int n;

	control_stats(s->ctl, &cs);
	control_count_modes(s->ctl, mode_count, &mc);
	reload_counts(s->reload, &tried, &failed);
	n = snprintf(buf, cap,
		     "{\"readings\":%llu,\"orders\":%llu,\"rejected\":%llu,\"overrides\":%llu,"
		     "\"stale\":%llu,\"reloads\":%llu,\"reload_failures\":%llu,"
		     "\"mqtt_connected\":%s,\"zones\":%zu,\"modes\":{",
		     (unsigned long long)cs.readings, (unsigned long long)cs.orders,
		     (unsigned long long)cs.rejected, (unsigned long long)cs.overrides,
		     (unsigned long long)cs.stale, (unsigned long long)tried,
		     (unsigned long long)failed, atomic_load(&s->connected) ? "true" : "false",
		     cs.zones);
	for (size_t i = 0; i < mc.len && n > 0 && (size_t)n < cap; i++)
		n += snprintf(buf + n, cap - (size_t)n, "%s\"%s\":%zu", i ? "," : "", mc.name[i],
			      mc.n[i]);
	if (n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, "},\"rejected_by\":{");
	/* Every reason, 0 included: a dashboard's series exist before the first rejection. */
	for (int r = 0; r < REJECT_REASONS && n > 0 && (size_t)n < cap; r++)
		n += snprintf(buf + n, cap - (size_t)n, "%s\"%s\":%llu", r ? "," : "",
			      reject_name((enum reject_reason)r),
			      (unsigned long long)cs.rejected_by[r]);
	if (n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, "}}");
	return n > 0 && (size_t)n < cap ? n : -ENOBUFS;
}

void stats_timer(struct stats *s)
{
	char json[sizeof(s->last)];
	int n;

	atomic_store(&s->armed, false);
	/* Offline, a retained publish would only queue an old picture: the connect re-arms. */
	if (!s->topic || !atomic_load(&s->connected))
		return;
	n = stats_json(s, json, sizeof(json));
	if (n < 0 || (!atomic_exchange(&s->fresh, false) && strcmp(json, s->last) == 0))
		return;
	mqtt_publish(s->mqtt, s->topic, json, (size_t)n, /* retain = */ true);
	memcpy(s->last, json, (size_t)n + 1);
	atomic_store(&s->last_at, monotonic_ms());
}
