/* control.c -- turns messages and timers into decisions and publishes; one lock for all */
#include "control.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decide.h"
#include "log.h"
#include "monotonic.h"
#include "number.h"
#include "reading.h"
#include "zones.h"

#define WARN_INTERVAL_MS 10000

struct control {
	pthread_mutex_t lock; /* guards everything below: one reading, one table */
	const struct config *cfg;
	struct thresholds *t;
	struct zones *zones;
	struct control_out out;
	struct control_stats st;
	size_t readings_len, override_len;
	int64_t armed;           /* the deadline last handed to out.wake */
	int64_t anon_warned_at;  /* rate limit for input that names no existing zone */
	uint32_t anon_suppressed;
	char *topic;             /* scratch for "orders/ZONE" */
	size_t topic_cap;
};

int control_new(const struct config *cfg, struct thresholds *t, const struct control_out *out,
		struct control **ctl)
{
	struct control *c = calloc(1, sizeof(*c));

	if (!c || zones_new(&c->zones) < 0) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->cfg = cfg;
	c->t = t;
	c->out = *out;
	c->armed = DECIDE_NEVER;
	c->anon_warned_at = INT64_MIN / 2;
	c->readings_len = strlen(cfg->topics_readings);
	c->override_len = strlen(cfg->topics_override);
	*ctl = c;
	return 0;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	zones_free(c->zones);
	thresholds_free(c->t);
	free(c->topic);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* "base" for the default zone, "base/ZONE" otherwise; NULL when out of memory. */
static const char *zone_topic(struct control *c, const char *base, const char *zone)
{
	size_t need = strlen(base) + strlen(zone) + 2;

	if (!zone[0])
		return base;
	if (need > c->topic_cap) {
		char *p = realloc(c->topic, need);

		if (!p)
			return NULL;
		c->topic = p;
		c->topic_cap = need;
	}
	snprintf(c->topic, need, "%s/%s", base, zone);
	return c->topic;
}

/* The zone named by `topic` below `base`: "" for base itself, NULL if it names none. */
static const char *topic_zone(const char *topic, const char *base, size_t blen)
{
	if (strncmp(topic, base, blen) != 0)
		return NULL;
	if (topic[blen] == '\0')
		return "";
	if (topic[blen] == '/' && topic[blen + 1] != '\0')
		return topic + blen + 1;
	return NULL;
}

/* Logs a rejected input at most once per WARN_INTERVAL_MS per zone, counting the rest. */
static void warn_limited(struct control *c, struct zone *z, const char *zone, int64_t now,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void warn_limited(struct control *c, struct zone *z, const char *zone, int64_t now,
			 const char *fmt, ...)
{
	int64_t *at = z ? &z->warned_at : &c->anon_warned_at;
	uint32_t *suppressed = z ? &z->suppressed : &c->anon_suppressed;
	char msg[256];
	va_list ap;

	if (now - *at < WARN_INTERVAL_MS) {
		(*suppressed)++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*suppressed)
		log_zone(LOG_WARNING, zone, "zone '%s': %s, ignoring (%u similar suppressed)", zone,
			 msg, *suppressed);
	else
		log_zone(LOG_WARNING, zone, "zone '%s': %s, ignoring", zone, msg);
	*at = now;
	*suppressed = 0;
}

/* A printable preview of a payload for log messages. */
static void preview(const void *payload, size_t len, char *buf, size_t cap)
{
	const unsigned char *p = payload;
	size_t i, n = 0;

	for (i = 0; i < len && n + 5 < cap; i++)
		buf[n++] = isprint(p[i]) ? (char)p[i] : '?';
	if (i < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

static void rearm(struct control *c)
{
	int64_t when = zones_next_wake(c->zones);

	if (when != c->armed) {
		c->armed = when;
		c->out.wake(c->out.ctx, when);
	}
}

/*
 * A JSON number as people write it: 42, 12.5, 0.1. json-c alone prints 42.0 and
 * 0.10000000000000001; the shortest text that reads back as the same double is kept instead.
 * Whole numbers, most readings and thresholds, are exact as integers and cost far less.
 */
static json_object *json_number_new(double v)
{
	char text[32];

	if (fabs(v) <= 0x1p53 && v == (double)(int64_t)v && !(v == 0 && signbit(v)))
		return json_object_new_int64((int64_t)v);
	number_format(v, text, sizeof(text));
	return json_object_new_double_s(v, text);
}

/* Publishes the zone's explanation; `why` is decide_reason()'s text for its decision. */
static void explain(struct control *c, struct zone *z, const char *why)
{
	const struct zone_state *s = &z->st;
	const char *topic = zone_topic(c, c->cfg->topics_zone_state, z->name);
	char reason[DECIDE_REASON_MAX + 16];
	json_object *o;
	const char *text;
	size_t len;

	if (!topic)
		return;
	snprintf(reason, sizeof(reason), "%s", why);
	if (s->mode == MODE_OVERRIDE) {
		time_t until = time(NULL) + (time_t)((s->override_until - monotonic_ms()) / 1000);
		size_t used = strlen(reason);
		struct tm tm;

		localtime_r(&until, &tm);
		strftime(reason + used, sizeof(reason) - used, " until %H:%M", &tm);
	}
	o = json_object_new_object();
	if (!o)
		return;
	json_object_object_add(o, "zone", json_object_new_string(z->name));
	json_object_object_add(o, "state", json_object_new_string(light_name(s->light)));
	json_object_object_add(o, "mode", json_object_new_string(mode_name(s->mode)));
	json_object_object_add(o, "lux", s->has_reading ? json_number_new(s->lux) : NULL);
	json_object_object_add(o, "smoothed",
			       s->has_reading ? json_number_new(s->smoothed) : NULL);
	json_object_object_add(o, "on_below", json_number_new(z->p->on_below));
	json_object_object_add(o, "off_above", json_number_new(z->p->off_above));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "since", json_object_new_int64(z->since_wall));
	json_object_object_add(o, "switches", json_object_new_int64(s->switches));
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	c->out.publish(c->out.ctx, topic, text, len, /* retain = */ true);
	json_object_put(o);
}

/* Publishes what a decision asks for and files the zone's next deadline. */
static void apply(struct control *c, struct zone *z, const struct decision *d, int64_t now)
{
	const struct config *cfg = c->cfg;
	bool logged = d->order && log_level_enabled(LOG_INFO);
	bool explained = d->changed && cfg->topics_zone_state[0];
	char why[DECIDE_REASON_MAX];

	/* The reason's text, written once and only when someone reads it. */
	if (logged || explained)
		decide_reason(d, why, sizeof(why));
	if (z->st.changed_at == now && d->order)
		z->since_wall = (int64_t)time(NULL);
	if (d->order) {
		const char *topic = zone_topic(c, cfg->topics_orders, z->name);
		const char *payload =
			d->light == LIGHT_ON ? cfg->orders_on_payload : cfg->orders_off_payload;

		if (topic) {
			c->out.publish(c->out.ctx, topic, payload, strlen(payload), cfg->orders_retain);
			c->st.orders++;
		}
		if (logged)
			log_zone(LOG_INFO, z->name, "zone '%s': %s (%s)", z->name,
				 light_name(d->light), why);
	}
	if (explained)
		explain(c, z, why);
	if (zones_schedule(c->zones, z, d->wake) < 0)
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its timer", z->name);
}

/* The zone for an accepted input, created on first use within max_zones. */
static struct zone *zone_get(struct control *c, const char *name, int64_t now)
{
	struct zone *z = zones_find(c->zones, name);

	if (z)
		return z;
	if (zones_count(c->zones) >= (size_t)c->cfg->readings_max_zones) {
		c->st.rejected++;
		warn_limited(c, NULL, name, now, "new zone beyond max_zones %d",
			     c->cfg->readings_max_zones);
		return NULL;
	}
	z = zones_add(c->zones, name, thresholds_get(c->t, name));
	if (!z) {
		c->st.rejected++;
		warn_limited(c, NULL, name, now, "out of memory for a new zone");
		return NULL;
	}
	z->warned_at = INT64_MIN / 2;
	return z;
}

static void on_reading(struct control *c, const char *name, const void *payload, size_t len,
		       int64_t now)
{
	struct zone *z = zones_find(c->zones, name);
	struct decision d;
	char shown[48];
	double lux;

	if (len > (size_t)c->cfg->readings_max_payload) {
		c->st.rejected++;
		warn_limited(c, z, name, now, "reading of %zu bytes exceeds max_payload %d", len,
			     c->cfg->readings_max_payload);
		return;
	}
	if (reading_parse(payload, len, c->cfg->readings_json_field, &lux) < 0) {
		c->st.rejected++;
		preview(payload, len, shown, sizeof(shown));
		warn_limited(c, z, name, now, "bad reading '%s'", shown);
		return;
	}
	z = zone_get(c, name, now);
	if (!z)
		return;
	c->st.readings++;
	decide_reading(&z->st, z->p, lux, now, &d);
	apply(c, z, &d, now);
}

static void on_override(struct control *c, const char *name, const void *payload, size_t len,
			int64_t now)
{
	struct zone *z = zones_find(c->zones, name);
	enum override_cmd cmd;
	struct decision d;
	int64_t duration;
	char shown[48];

	preview(payload, len, shown, sizeof(shown));
	if (len > (size_t)c->cfg->readings_max_payload ||
	    override_parse(payload, len, &cmd, &duration) < 0) {
		c->st.rejected++;
		warn_limited(c, z, name, now, "bad override '%s': expected ON, OFF or AUTO", shown);
		return;
	}
	z = zone_get(c, name, now);
	if (!z)
		return;
	c->st.overrides++;
	log_zone(LOG_NOTICE, name, "zone '%s': override %s", name, shown);
	decide_override(&z->st, z->p, cmd, duration, now, &d);
	apply(c, z, &d, now);
}

void control_message(struct control *c, const char *topic, const void *payload, size_t len)
{
	const char *zone;
	int64_t now = monotonic_ms();

	pthread_mutex_lock(&c->lock);
	if ((zone = topic_zone(topic, c->cfg->topics_readings, c->readings_len))) {
		on_reading(c, zone, payload, len, now);
	} else if ((zone = topic_zone(topic, c->cfg->topics_override, c->override_len))) {
		on_override(c, zone, payload, len, now);
	} else {
		/* "value/light/" and the like: under a subscription, yet naming no zone. */
		c->st.rejected++;
		warn_limited(c, NULL, topic, now, "topic names no zone");
	}
	rearm(c);
	pthread_mutex_unlock(&c->lock);
}

void control_timer(struct control *c)
{
	int64_t now = monotonic_ms();
	struct zone *z;
	struct decision d;

	pthread_mutex_lock(&c->lock);
	while ((z = zones_due(c->zones, now))) {
		enum zone_mode before = z->st.mode;

		zones_schedule(c->zones, z, DECIDE_NEVER);
		decide_tick(&z->st, z->p, now, &d);
		if (before != MODE_FAILSAFE && z->st.mode == MODE_FAILSAFE) {
			char why[DECIDE_REASON_MAX];

			c->st.stale++;
			decide_reason(&d, why, sizeof(why));
			log_zone(LOG_WARNING, z->name, "zone '%s': %s", z->name, why);
		}
		apply(c, z, &d, now);
	}
	rearm(c);
	pthread_mutex_unlock(&c->lock);
}

/* What control_reload hands to every zone. */
struct reload_ctx {
	struct control *c;
	int64_t now;
};

static void zone_reload(struct zone *z, void *arg)
{
	struct reload_ctx *r = arg;
	struct decision d;

	if (zones_set_params(z, thresholds_get(r->c->t, z->name)) < 0) {
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its window", z->name);
		return;
	}
	decide_tick(&z->st, z->p, r->now, &d);
	apply(r->c, z, &d, r->now);
}

void control_reload(struct control *c, struct thresholds *t)
{
	struct reload_ctx r = { .c = c, .now = monotonic_ms() };
	struct thresholds *old;

	pthread_mutex_lock(&c->lock);
	old = c->t;
	c->t = t;
	zones_foreach(c->zones, zone_reload, &r);
	rearm(c);
	pthread_mutex_unlock(&c->lock);
	thresholds_free(old);
}

void control_stats(struct control *c, struct control_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	st->zones = zones_count(c->zones);
	pthread_mutex_unlock(&c->lock);
}

/* What control_dump hands to every zone. */
struct dump_ctx {
	void (*line)(const char *text);
};

static void zone_dump(struct zone *z, void *arg)
{
	const struct dump_ctx *dc = arg;
	const struct zone_state *s = &z->st;
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "zone '%s': %s %s lux %g smoothed %g on_below %g off_above %g switches %u",
		 z->name, light_name(s->light), mode_name(s->mode), s->lux, s->smoothed,
		 z->p->on_below, z->p->off_above, s->switches);
	dc->line(buf);
}

void control_dump(struct control *c, void (*line)(const char *text))
{
	struct dump_ctx dc = { .line = line };

	pthread_mutex_lock(&c->lock);
	zones_foreach(c->zones, zone_dump, &dc);
	pthread_mutex_unlock(&c->lock);
}
