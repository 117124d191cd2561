/* status.c -- the STATUS line systemd shows: connection, counters, the last reload */
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "notify.h"

#define STATUS_DELAY_MS 1000

struct status {
	struct loop *loop;
	struct mqtt *mqtt;
	struct control *ctl;
	atomic_bool armed; /* an update is due on EV_STATUS */
	char thresholds[256];
};

int status_new(struct loop *loop, struct mqtt *mqtt, struct control *ctl, struct status **out)
{
	struct status *st = malloc(sizeof(*st));

	*out = st;
	if (!st)
		return -ENOMEM;
	*st = (struct status){ .loop = loop, .mqtt = mqtt, .ctl = ctl };
	return 0;
}

void status_free(struct status *st)
{
	free(st);
}

void status_set_thresholds(struct status *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->thresholds, sizeof(st->thresholds), fmt, ap);
	va_end(ap);
}

static void status_text(struct status *st, char *buf, size_t cap)
{
	struct control_stats cs;
	char conn[160], lamps[160] = "", cluster[160] = "";

	mqtt_describe(st->mqtt, conn, sizeof(conn));
	control_stats(st->ctl, &cs);
	if (cs.feedback)
		snprintf(lamps, sizeof(lamps),
			 "; lamps: confirmed %llu, retries %llu, unconfirmed %llu, manual %llu",
			 (unsigned long long)cs.confirmations, (unsigned long long)cs.retries,
			 (unsigned long long)cs.unconfirmed, (unsigned long long)cs.manual);
	if (cs.node)
		snprintf(cluster, sizeof(cluster), "; cluster: node %s, %zu live, owns %zu",
			 cs.node, cs.live, cs.owned);
	snprintf(buf, cap,
		 "%s; %zu zones%s; readings %llu, orders %llu, rejected %llu, overrides %llu, "
		 "stale %llu%s; %s",
		 conn, cs.zones, cluster, (unsigned long long)cs.readings, (unsigned long long)cs.orders,
		 (unsigned long long)cs.rejected, (unsigned long long)cs.overrides,
		 (unsigned long long)cs.stale, lamps, st->thresholds);
}

void status_update(struct status *st)
{
	char text[640];

	status_text(st, text, sizeof(text));
	notify_status(text);
}

void status_soon(struct status *st)
{
	if (!atomic_exchange(&st->armed, true))
		loop_timer_in(st->loop, EV_STATUS, STATUS_DELAY_MS);
}

void status_timer(struct status *st)
{
	atomic_store(&st->armed, false);
	status_update(st);
}

static void zone_line(const char *text)
{
	log_msg(LOG_INFO, "%s", text);
}

void status_report(struct status *st)
{
	char text[640];

	status_text(st, text, sizeof(text));
	notify_status(text);
	log_msg(LOG_INFO, "status: %s", text);
	control_dump(st->ctl, zone_line);
}
