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

#include "cluster.h"
#include "decide.h"
#include "discovery.h"
#include "entities.h"
#include "log.h"
#include "monotonic.h"
#include "number.h"
#include "reading.h"
#include "zones.h"

#define WARN_INTERVAL_MS 10000
/* Retained messages have arrived by then: clear the ghost configs, stop adopting. */
#define SETTLE_AFTER_MS 2000
#define NEVER_SEEN INT64_MIN

/* The latest accepted reading of one listed sensor. */
struct sensor_value {
	double lux;
	int64_t at;        /* NEVER_SEEN until its first reading */
	struct zone *zone; /* its zone once found (zones live as long as the table) */
};

/* A topic on which a lamp reports its state, and the zones it concerns (via fb_next). */
struct fb_topic {
	UT_hash_handle hh;
	struct zone *first;
	char topic[];
};

static void feedback_clear(struct control *c);

/* The fresh sensors of a zone, gathered for one decision. */
struct fresh {
	unsigned n;           /* how many are fresh */
	int64_t since;        /* the zone is fresh while its min_sensors-th freshest sensor is */
	double lux[SENSORS_MAX];
};

struct control {
	pthread_mutex_t lock; /* guards everything below: one reading, one table */
	const struct config *cfg;
	struct thresholds *t;
	struct zones *zones;
	struct control_out out;
	struct control_stats st;
	struct sensor_value *sensors; /* by the thresholds' sensor numbers */
	size_t readings_len, override_len;
	int64_t armed;           /* the deadline last handed to out.wake */
	int64_t anon_warned_at;  /* rate limit for input that names no existing zone */
	uint32_t anon_suppressed;
	char *topic;             /* scratch for "orders/ZONE" */
	size_t topic_cap;
	struct discovery *disc;  /* Home Assistant discovery; NULL when off */
	struct entities *ent;    /* its zones' lux and forgetting; NULL when off */
	struct fb_topic *fb_topics; /* lamp feedback topics, each with the zones it reports on */
	int64_t settle_at;       /* when the retained messages of a connect are in; or NEVER */
	struct cluster *cl;      /* the other instances; NULL alone */
	size_t status_len, orders_len, zone_state_len;
	bool adopting;           /* retained explanations are taken in (after a connect) */
	bool connected;          /* between control_connected and control_disconnected */
	char *node_needle;       /* "\"node\":\"NODE\"": this instance's explanations hold it */
	size_t owned;            /* zones with `mine` set */
	size_t logged_live, logged_owned; /* what the last cluster log line said */
	int64_t beat;            /* when this process was last seen running (cluster) */
	int64_t beat_every;      /* half the keepalive, in ms; 0: not watched */
	int64_t expire_at;       /* when the next silent instance is given up; or NEVER */
};

/* Values for every sensor `t` lists, kept from `old` (numbered by `old_t`) where listed there. */
static struct sensor_value *sensors_new(const struct thresholds *t,
					const struct sensor_value *old,
					const struct thresholds *old_t)
{
	unsigned n = thresholds_sensor_count(t);
	struct sensor_value *v = malloc((n ? n : 1) * sizeof(*v));
	const char *zone;

	if (!v)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		int was = old_t ? thresholds_sensor(old_t, thresholds_sensor_name(t, i), &zone) : -1;

		v[i] = was >= 0 ? old[was] : (struct sensor_value){ .at = NEVER_SEEN };
		v[i].zone = NULL; /* the sensor may belong to another zone now */
	}
	return v;
}

int control_new(const struct config *cfg, struct thresholds *t, const struct control_out *out,
		struct control **ctl)
{
	struct control *c = calloc(1, sizeof(*c));

	if (!c || zones_new(&c->zones) < 0 || !(c->sensors = sensors_new(t, NULL, NULL)) ||
	    (cfg->homeassistant_discovery &&
	     (discovery_new(cfg, &c->disc) < 0 ||
	      entities_new(cfg->homeassistant_lux_interval, cfg->homeassistant_forget_after,
			   &c->ent) < 0)) ||
	    (cfg->cluster_node[0] &&
	     (cluster_new(cfg->cluster_node, &c->cl) < 0 ||
	      asprintf(&c->node_needle, "\"node\":\"%s\"", cfg->cluster_node) < 0))) {
		if (c) {
			zones_free(c->zones);
			free(c->sensors);
			discovery_free(c->disc);
			entities_free(c->ent);
			cluster_free(c->cl);
		}
		free(c);
		return -ENOMEM;
	}
	c->settle_at = DECIDE_NEVER;
	pthread_mutex_init(&c->lock, NULL);
	c->cfg = cfg;
	c->t = t;
	c->out = *out;
	c->armed = DECIDE_NEVER;
	c->anon_warned_at = INT64_MIN / 2;
	c->readings_len = strlen(cfg->topics_readings);
	c->override_len = strlen(cfg->topics_override);
	c->status_len = strlen(cfg->topics_status);
	c->orders_len = strlen(cfg->topics_orders);
	c->zone_state_len = strlen(cfg->topics_zone_state);
	c->beat_every = c->cl ? cfg->mqtt_keepalive * 500LL : 0;
	c->expire_at = DECIDE_NEVER;
	*ctl = c;
	return 0;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	zones_free(c->zones);
	thresholds_free(c->t);
	discovery_free(c->disc);
	entities_free(c->ent);
	feedback_clear(c);
	cluster_free(c->cl);
	free(c->node_needle);
	free(c->sensors);
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

	if (c->settle_at < when)
		when = c->settle_at;
	if (c->beat_every && c->connected && c->beat + c->beat_every < when)
		when = c->beat + c->beat_every;
	if (c->expire_at < when)
		when = c->expire_at;
	if (c->ent && entities_next(c->ent) < when)
		when = entities_next(c->ent);
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

/* "sensors": {"hall/east": {"lux": 120, "age": 3}, ...}, stale ones marked, silent ones null. */
static json_object *sensors_json(const struct control *c, const struct zone *z, int64_t now)
{
	const struct zone_params *p = z->p;
	json_object *all = json_object_new_object();

	for (unsigned i = p->sensor_first; all && i < p->sensor_first + p->sensors; i++) {
		const struct sensor_value *v = &c->sensors[i];
		bool seen = v->at != NEVER_SEEN;
		json_object *o = json_object_new_object();

		if (!o)
			break;
		json_object_object_add(o, "lux", seen ? json_number_new(v->lux) : NULL);
		json_object_object_add(o, "age",
				       seen ? json_object_new_int64((now - v->at) / 1000) : NULL);
		if (!seen || (p->stale_after && now - v->at >= p->stale_after))
			json_object_object_add(o, "stale", json_object_new_boolean(1));
		json_object_object_add(all, thresholds_sensor_name(c->t, i), o);
	}
	return all;
}

/* Publishes the zone's explanation; `why` is decide_reason()'s text for its decision. */
static void explain(struct control *c, struct zone *z, const char *why)
{
	const struct zone_state *s = &z->st;
	const char *topic = zone_topic(c, c->cfg->topics_zone_state, z->name);
	char reason[DECIDE_REASON_MAX + 16];
	time_t until = 0;
	json_object *o;
	const char *text;
	size_t len;

	if (!topic || !z->mine)
		return;
	snprintf(reason, sizeof(reason), "%s", why);
	if (s->mode == MODE_OVERRIDE) {
		size_t used = strlen(reason);
		struct tm tm;

		/* To the nearest second: adopted and published again, it stays that second. */
		until = (time_t)((wall_ms() + (s->override_until - monotonic_ms()) + 500) / 1000);
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
	if (z->p->feedback[0]) {
		json_object_object_add(o, "lamp", z->lamp == LIGHT_UNKNOWN ? NULL :
					json_object_new_string(light_name((enum light)z->lamp)));
		json_object_object_add(o, "confirmed", json_object_new_boolean(!z->unconfirmed));
		json_object_object_add(o, "retries", json_object_new_int(z->fb_retries));
	}
	if (z->p->sensors) {
		json_object_object_add(o, "aggregate",
				       json_object_new_string(aggregate_name(z->p->aggregate)));
		json_object_object_add(o, "sensors", sensors_json(c, z, monotonic_ms()));
	}
	if (c->cl) {
		json_object_object_add(o, "node", json_object_new_string(cluster_self(c->cl)));
		if (s->mode == MODE_OVERRIDE)
			json_object_object_add(o, "until", json_object_new_int64(until));
	}
	/* Zone and sensor names hold '/': JSON allows it unescaped, and people read these. */
	text = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	c->out.publish(c->out.ctx, topic, text, len, /* retain = */ true);
	json_object_put(o);
}

/* Publishes the zone's order, when this instance owns the zone. Returns whether it did. */
static bool publish_order(struct control *c, struct zone *z, enum light light)
{
	const struct config *cfg = c->cfg;
	const char *payload = light == LIGHT_ON ? cfg->orders_on_payload : cfg->orders_off_payload;
	const char *topic;

	if (!z->mine || !(topic = zone_topic(c, cfg->topics_orders, z->name)))
		return false;
	c->out.publish(c->out.ctx, topic, payload, strlen(payload), cfg->orders_retain);
	c->st.orders++;
	z->order_seen = (uint8_t)light;
	return true;
}

/* An order went out: the zone waits for its lamp to report that state. */
static void feedback_wait(struct control *c, struct zone *z, int64_t now)
{
	if (z->gave_up)
		c->st.unconfirmed--;
	z->unconfirmed = true;
	z->gave_up = false;
	z->fb_retries = 0;
	z->fb_deadline = now + z->p->confirm_within;
}

/*
 * Publishes what a decision asks for and files the zone's next deadline; `news` asks for
 * the explanation even when the decision changed nothing (the lamp's state did).
 */
static void apply_news(struct control *c, struct zone *z, const struct decision *d, int64_t now,
		       bool news)
{
	const struct config *cfg = c->cfg;
	bool logged = d->order && z->mine && log_level_enabled(LOG_INFO);
	bool explained = (d->changed || news) && cfg->topics_zone_state[0] && z->mine;
	int64_t wake = d->wake;
	char why[DECIDE_REASON_MAX];

	/* The reason's text, written once and only when someone reads it. */
	if (logged || explained || d->went_stale)
		decide_reason(d, why, sizeof(why));
	/* On its timer, by an AUTO or after a reload alike. */
	if (d->went_stale) {
		c->st.stale++;
		log_zone(LOG_WARNING, z->name, "zone '%s': %s", z->name, why);
	}
	if (z->st.changed_at == now && d->order)
		z->since_wall = (int64_t)time(NULL);
	if (d->order) {
		publish_order(c, z, d->light);
		if (z->p->feedback[0])
			feedback_wait(c, z, now);
		if (logged)
			log_zone(LOG_INFO, z->name, "zone '%s': %s (%s)", z->name,
				 light_name(d->light), why);
	}
	if (explained)
		explain(c, z, why);
	if (z->fb_deadline < wake)
		wake = z->fb_deadline;
	if (zones_schedule(c->zones, z, wake) < 0)
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its timer", z->name);
}

static void apply(struct control *c, struct zone *z, const struct decision *d, int64_t now)
{
	apply_news(c, z, d, now, false);
}

/* --- lamp feedback ------------------------------------------------------------------- */

/* Files the zone under its feedback topic, if it has one. */
static void feedback_link(struct control *c, struct zone *z)
{
	const char *topic = z->p->feedback;
	size_t len = strlen(topic);
	struct fb_topic *t;

	z->fb_next = NULL;
	if (!len)
		return;
	HASH_FIND(hh, c->fb_topics, topic, len, t);
	if (!t) {
		t = calloc(1, sizeof(*t) + len + 1);
		if (t) {
			memcpy(t->topic, topic, len + 1);
			HASH_ADD(hh, c->fb_topics, topic[0], len, t);
			if (!t->hh.tbl) {
				free(t);
				t = NULL;
			}
		}
		if (!t) {
			log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its feedback",
				 z->name);
			return;
		}
	}
	z->fb_next = t->first;
	t->first = z;
}

static void feedback_clear(struct control *c)
{
	struct fb_topic *t, *tmp;

	HASH_ITER(hh, c->fb_topics, t, tmp) {
		/* The analyzer loses track of uthash's list links here. */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		HASH_DEL(c->fb_topics, t);
		free(t);
	}
}

/* An unconfirmed order's wait is over: publish it again, or give up after the last retry. */
static void feedback_due(struct control *c, struct zone *z, int64_t now)
{
	z->fb_deadline = DECIDE_NEVER;
	if (!z->unconfirmed || z->gave_up)
		return;
	if (z->fb_retries < z->p->retries) {
		/* A shadow keeps the count, so that a takeover goes on where the owner was. */
		if (publish_order(c, z, z->st.light))
			c->st.retries++;
		z->fb_retries++;
		/* Each wait twice the one before: confirm_within, then 2x, 4x ... */
		z->fb_deadline = now + (z->p->confirm_within << z->fb_retries);
		return;
	}
	z->gave_up = true;
	c->st.unconfirmed++;
	log_zone(LOG_WARNING, z->name, "zone '%s': its lamp did not confirm %s after %u retr%s",
		 z->name, light_name(z->st.light), z->fb_retries, z->fb_retries == 1 ? "y" : "ies");
}

/* One zone's lamp reported `lamp`; `retained` when the broker had kept the report. */
static void feedback_report(struct control *c, struct zone *z, enum light lamp, bool retained,
			    int64_t now)
{
	bool news = z->lamp != lamp;
	struct decision d;

	z->lamp = lamp;
	if (retained) {
		/* A state kept from before: never a confirmation, never a hand. */
	} else if (z->unconfirmed) {
		/* The other state while an order waits is neither confirmation nor a hand. */
		if (lamp == z->st.light) {
			if (z->gave_up)
				c->st.unconfirmed--;
			z->unconfirmed = z->gave_up = false;
			z->fb_deadline = DECIDE_NEVER;
			c->st.confirmations++;
			news = true;
		}
	} else if (z->st.light != LIGHT_UNKNOWN && lamp != z->st.light) {
		c->st.manual++;
		/* A lamp flapping by hand (or a switch that bounces) must not flood the journal. */
		if (now - z->manual_at >= WARN_INTERVAL_MS) {
			if (z->manual_quiet)
				log_zone(LOG_NOTICE, z->name,
					 "zone '%s': lamp switched %s by hand, %s (%u more since)",
					 z->name, light_name(lamp), manual_name(z->p->manual),
					 z->manual_quiet);
			else
				log_zone(LOG_NOTICE, z->name, "zone '%s': lamp switched %s by hand, %s",
					 z->name, light_name(lamp), manual_name(z->p->manual));
			z->manual_at = now;
			z->manual_quiet = 0;
		} else {
			z->manual_quiet++;
		}
		switch (z->p->manual) {
		case MANUAL_OVERRIDE:
			decide_manual(&z->st, z->p, lamp, now, &d);
			apply_news(c, z, &d, now, true);
			return;
		case MANUAL_ENFORCE:
			publish_order(c, z, z->st.light);
			feedback_wait(c, z, now);
			news = true;
			break;
		case MANUAL_IGNORE:
			break;
		}
	}
	if (!news)
		return;
	if (!c->cfg->topics_zone_state[0]) {
		/* Nothing to explain: only a new wait needs the timer (one left early is harmless). */
		if (z->fb_deadline < z->wake && zones_schedule(c->zones, z, z->fb_deadline) < 0)
			log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its timer", z->name);
		return;
	}
	/* The explanation carries a reason: the zone's present one. */
	decide_tick(&z->st, z->p, now, &d);
	apply_news(c, z, &d, now, true);
}

/* A message on a feedback topic: a report for every zone whose lamp talks there. */
static bool on_feedback(struct control *c, const char *topic, const void *payload, size_t len,
			bool retained, int64_t now)
{
	struct fb_topic *t;
	char shown[48];

	HASH_FIND_STR(c->fb_topics, topic, t);
	if (!t)
		return false;
	for (struct zone *z = t->first; z; z = z->fb_next) {
		int on = len > (size_t)c->cfg->readings_max_payload ?
				 -EINVAL : lamp_parse(payload, len, z->p->feedback_field);

		if (on < 0) {
			c->st.rejected++;
			preview(payload, len, shown, sizeof(shown));
			warn_limited(c, z, z->name, now, "bad lamp report '%s' on %s", shown, topic);
			continue;
		}
		feedback_report(c, z, on ? LIGHT_ON : LIGHT_OFF, retained, now);
	}
	return true;
}

struct topics {
	const char **v;
	size_t n, cap;
};

static void topic_collect(const char *topic, void *ctx)
{
	struct topics *ts = ctx;

	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 8;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		const char **v = realloc(ts->v, cap * sizeof(*v));

		if (!v)
			return;
		ts->v = v;
		ts->cap = cap;
	}
	ts->v[ts->n++] = topic;
}

/* Hands the feedback topics of the table in force to out.listen. Lock held. */
static void listen_feedback(struct control *c)
{
	struct topics ts = { 0 };

	if (!c->out.listen)
		return;
	thresholds_foreach_feedback(c->t, topic_collect, &ts);
	c->out.listen(c->out.ctx, ts.v, ts.n);
	free(ts.v);
}

void control_listen(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	listen_feedback(c);
	pthread_mutex_unlock(&c->lock);
}

/* --- Home Assistant discovery -------------------------------------------------------- */

static void publish_config(void *ctx, const char *topic, const char *payload)
{
	struct control *c = ctx;

	c->out.publish(c->out.ctx, topic, payload, strlen(payload), /* retain = */ true);
}

static void announce(struct control *c, const char *zone)
{
	if (discovery_announce(c->disc, zone, publish_config, c) < 0)
		log_zone(LOG_ERR, zone, "zone '%s': out of memory for its discovery", zone);
}

static void announce_section(void *ctx, const char *zone, const struct zone_params *p)
{
	(void)p;
	announce(ctx, zone);
}

/* Whether the zone still has entities: a zone forgotten for its silence has none. */
static bool ha_known(const struct control *c, const char *zone)
{
	char zid[512];

	discovery_zone_id(zone, zid, sizeof(zid));
	return entities_known(c->ent, zid);
}

/* The lux sensor's state, retained: Home Assistant reads it again when it restarts. */
static void publish_lux(struct control *c, const char *zone, double lux)
{
	char topic[1024], text[32];

	discovery_lux_topic(c->disc, zone, topic, sizeof(topic));
	number_format(lux, text, sizeof(text));
	c->out.publish(c->out.ctx, topic, text, strlen(text), /* retain = */ true);
}

/*
 * Zones with no section of their own (those with one are announced by announce_section),
 * and the states of every zone this instance owns: a restarted Home Assistant or broker may
 * have lost them.
 */
static void announce_alive(struct zone *z, void *ctx)
{
	struct control *c = ctx;
	char zid[512];
	struct decision d;
	double lux;

	discovery_zone_id(z->name, zid, sizeof(zid));
	if (!entities_known(c->ent, zid))
		return;
	if (!thresholds_has_section(c->t, z->name))
		announce(c, z->name);
	if (!z->mine)
		return;
	if (entities_published(c->ent, zid, &lux))
		publish_lux(c, z->name, lux);
	if (c->cfg->topics_zone_state[0] && (z->st.has_reading || z->st.light != LIGHT_UNKNOWN)) {
		decide_tick(&z->st, z->p, monotonic_ms(), &d);
		apply_news(c, z, &d, monotonic_ms(), true);
	}
}

/* Every zone of ref.txt and every zone alive: after a connect, or when Home Assistant starts. */
static void announce_all(struct control *c)
{
	thresholds_foreach_section(c->t, announce_section, c);
	zones_foreach(c->zones, announce_alive, c);
}

/* A zone came into being or was heard from: one that has no entities (any more) gets them. */
static void ha_heard(struct control *c, struct zone *z, int64_t now)
{
	char zid[512];
	int rc;

	discovery_zone_id(z->name, zid, sizeof(zid));
	rc = entities_heard(c->ent, zid, z->name, now);
	if (rc < 0)
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its discovery", z->name);
	else if (rc > 0 && !thresholds_has_section(c->t, z->name))
		announce(c, z->name); /* zones of ref.txt were announced with it */
}

/* A reading was applied: the zone's decided lux goes out, at most once per lux_interval. */
static void ha_reading(struct control *c, struct zone *z, int64_t now)
{
	char zid[512];

	ha_heard(c, z, now);
	if (!z->mine || !z->st.has_reading)
		return;
	discovery_zone_id(z->name, zid, sizeof(zid));
	if (entities_lux(c->ent, zid, z->st.smoothed, now))
		publish_lux(c, z->name, z->st.smoothed);
}

static void ha_due_lux(void *ctx, const char *zone, double lux)
{
	struct control *c = ctx;
	struct zone *z = zones_find(c->zones, zone);

	if (z && z->mine)
		publish_lux(c, zone, lux);
}

static void ha_forget(void *ctx, const char *zid)
{
	struct control *c = ctx;
	char after[40];

	discovery_forget(c->disc, zid, publish_config, c);
	duration_format(c->cfg->homeassistant_forget_after, after, sizeof(after));
	log_msg(LOG_NOTICE, "homeassistant: cleared the entities of %s, without a reading for %s",
		zid, after);
}

static bool ha_sectioned(void *ctx, const char *zone)
{
	const struct control *c = ctx;

	return zone && thresholds_has_section(c->t, zone);
}

static struct entities_out ha_out(struct control *c)
{
	return (struct entities_out){ .lux = ha_due_lux, .forget = ha_forget,
				      .sectioned = ha_sectioned, .ctx = c };
}

/* Lux changes whose interval is over, zones silent for forget_after. */
static void ha_due(struct control *c, int64_t now)
{
	struct entities_out out = ha_out(c);

	entities_due(c->ent, now, &out);
}

static void keep_section(void *ctx, const char *zone, const struct zone_params *p)
{
	(void)p;
	discovery_keep(ctx, zone);
}

static void keep_alive(struct zone *z, void *ctx)
{
	struct control *c = ctx;

	if (ha_known(c, z->name))
		discovery_keep(c->disc, z->name);
}

/* A zone with entities that this process has not heard from: its forget clock starts now. */
static void keep_known(void *ctx, const char *zid)
{
	struct control *c = ctx;

	if (entities_heard(c->ent, zid, NULL, monotonic_ms()) < 0)
		log_msg(LOG_ERR, "homeassistant: out of memory for %s", zid);
}

/* Clears the retained configs that are not of one of our zones' entities. */
static void sweep(struct control *c)
{
	size_t n;

	thresholds_foreach_section(c->t, keep_section, c->disc);
	zones_foreach(c->zones, keep_alive, c);
	n = discovery_sweep(c->disc, publish_config, keep_known, c);
	if (c->out.unsubscribe)
		c->out.unsubscribe(c->out.ctx, discovery_config_filter(c->disc));
	if (n)
		log_msg(LOG_NOTICE, "homeassistant: cleared %zu config%s of zones that are gone", n,
			n == 1 ? "" : "s");
}

/* A message under Home Assistant's prefix. Returns false when it is none of discovery's. */
static bool on_discovery(struct control *c, const char *topic, const void *payload,
			 size_t len, bool retained)
{
	if (strcmp(topic, discovery_status_topic(c->disc)) == 0) {
		/* Home Assistant (re)started: it forgot what it was told. */
		if (len == 6 && memcmp(payload, "online", 6) == 0)
			announce_all(c);
		return true;
	}
	if (!discovery_owns(c->disc, topic))
		return false;
	/* Live copies of our own configs come back too; only retained ones can be ghosts. */
	if (retained && c->settle_at != DECIDE_NEVER && discovery_seen(c->disc, topic) < 0)
		log_msg(LOG_ERR, "homeassistant: out of memory for %s, not cleared", topic);
	return true;
}

/* What a reload hands to every section, new and old. */
struct reload_news {
	struct control *c;
	const struct thresholds *other; /* the table on the other side of the reload */
};

/* A reload announces the sections it adds: the others, and alive zones, are retained already. */
static void announce_new_section(void *ctx, const char *zone, const struct zone_params *p)
{
	const struct reload_news *n = ctx;

	(void)p;
	if (!thresholds_has_section(n->other, zone) && !zones_find(n->c->zones, zone))
		announce(n->c, zone);
}

/* A section the reload removed: a zone never heard from is gone with it. */
static void sweep_old_section(void *ctx, const char *zone, const struct zone_params *p)
{
	const struct reload_news *n = ctx;
	char zid[512];

	(void)p;
	if (thresholds_has_section(n->other, zone) || ha_known(n->c, zone))
		return;
	discovery_zone_id(zone, zid, sizeof(zid));
	discovery_forget(n->c->disc, zid, publish_config, n->c);
	log_msg(LOG_NOTICE, "homeassistant: cleared the entities of zone '%s', gone from %s",
		zone, n->c->cfg->thresholds_file);
}

/*
 * After a reload: new sections are announced, removed ones never heard from are cleared,
 * and zones that lost their section are forgotten after forget_after without a reading.
 */
static void ha_reloaded(struct control *c, const struct thresholds *old, int64_t now)
{
	struct entities_out out = ha_out(c);

	thresholds_foreach_section(c->t, announce_new_section, &(struct reload_news){ c, old });
	thresholds_foreach_section(old, sweep_old_section, &(struct reload_news){ c, c->t });
	entities_replan(c->ent, now, &out);
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
	z->manual_at = INT64_MIN / 2;
	z->fb_deadline = DECIDE_NEVER;
	z->order_seen = LIGHT_UNKNOWN;
	z->mine = !c->cl || cluster_owns(c->cl, name);
	c->owned += z->mine;
	feedback_link(c, z);
	if (c->disc)
		ha_heard(c, z, now);
	return z;
}

/* --- several instances --------------------------------------------------------------- */

/* What a change of the live instances hands to every zone. */
struct reown_ctx {
	struct control *c;
	int64_t now;
};

/*
 * This instance became the zone's owner: it says so in the explanation, and orders the
 * zone's light only when the last order seen differs (the one before is still in force).
 */
static void take_over(struct control *c, struct zone *z, int64_t now)
{
	struct decision d;

	/*
	 * Without a reading of its own (its state adopted, or none), this instance has nothing
	 * to set against the last order seen: a reading that came just before its readings
	 * subscription is known here only by the order it gave.
	 */
	if (!z->st.has_reading && z->order_seen != LIGHT_UNKNOWN &&
	    z->st.mode != MODE_OVERRIDE)
		z->st.light = (enum light)z->order_seen;
	decide_tick(&z->st, z->p, now, &d);
	if (!d.order && z->st.light != LIGHT_UNKNOWN && z->st.light != z->order_seen) {
		d.order = true;
		d.light = z->st.light;
	}
	apply_news(c, z, &d, now, true);
}

static void zone_reown(struct zone *z, void *arg)
{
	struct reown_ctx *r = arg;
	bool was = z->mine;

	z->mine = cluster_owns(r->c->cl, z->name);
	r->c->owned += z->mine;
	if (z->mine && !was)
		take_over(r->c, z, r->now);
}

/* The live instances changed: every zone goes to its owner among them. */
static void reown(struct control *c, int64_t now)
{
	struct reown_ctx r = { .c = c, .now = now };

	size_t live = cluster_live(c->cl);

	c->owned = 0;
	zones_foreach(c->zones, zone_reown, &r);
	if (live == c->logged_live && c->owned == c->logged_owned)
		return;
	c->logged_live = live;
	c->logged_owned = c->owned;
	log_msg(LOG_NOTICE, "cluster: %zu live instance%s; node %s owns %zu of %zu zones", live,
		live == 1 ? "" : "s", cluster_self(c->cl), c->owned, zones_count(c->zones));
}

/*
 * Gives up the instances that said nothing for 1.5 x keepalive (each says online every half
 * keepalive): a frozen host's Last Will comes only when the broker next checks, seconds
 * later with mosquitto. Their zones move at once.
 */
static void expire(struct control *c, int64_t now)
{
	bool changed;

	if (!c->beat_every || !c->connected) {
		c->expire_at = DECIDE_NEVER;
		return;
	}
	c->expire_at = cluster_expire(c->cl, now, 3 * c->beat_every, &changed);
	if (changed) {
		log_msg(LOG_NOTICE, "cluster: an instance said nothing for %lld s: gone",
			(long long)(3 * c->beat_every / 1000));
		reown(c, now);
	}
}

/*
 * STATUS/NAME: an instance is live while it says "online". This one counts itself only
 * when its own "online" of this connection comes back: it was published after the
 * subscription, so the others' retained statuses are in by then.
 */
static void on_status(struct control *c, const char *name, const void *payload, size_t len,
		      bool retained, int64_t now)
{
	bool online = len == 6 && memcmp(payload, "online", 6) == 0;
	const char *self = cluster_self(c->cl);
	const char *topic;
	int rc;

	if (strchr(name, '/') || (!strcmp(name, self) && retained))
		return;
	if (!strcmp(name, self) && !online && c->connected &&
	    (topic = zone_topic(c, c->cfg->topics_status, self))) {
		/* The Last Will of an earlier connection, fired late: this one is alive. */
		log_msg(LOG_WARNING, "cluster: the broker says node %s is gone; it is not", self);
		c->out.publish(c->out.ctx, topic, "online", 6, /* retain = */ true);
	}
	rc = cluster_status(c->cl, name, online, now);
	if (rc == -ENOSPC)
		warn_limited(c, NULL, name, now, "more than %d instances: '%s' not counted",
			     CLUSTER_NODES_MAX, name);
	else if (rc < 0)
		log_msg(LOG_ERR, "cluster: out of memory for instance '%s'", name);
	else if (rc > 0)
		reown(c, now);
	expire(c, now);
}

/* An order on a zone's topic, from whichever instance: a takeover compares against it. */
static void on_order_seen(struct control *c, const char *name, const void *payload, size_t len,
			  int64_t now)
{
	struct zone *z = zones_find(c->zones, name);
	const struct config *cfg = c->cfg;

	if (!z)
		return;
	if (len == strlen(cfg->orders_on_payload) && !memcmp(payload, cfg->orders_on_payload, len))
		z->order_seen = LIGHT_ON;
	else if (len == strlen(cfg->orders_off_payload) &&
		 !memcmp(payload, cfg->orders_off_payload, len))
		z->order_seen = LIGHT_OFF;
	else
		return;
	/*
	 * Just (re)connected, this instance may have missed the reading behind the order (it
	 * came before the readings subscription): the owner's order is the better word.
	 */
	if (c->adopting && !z->mine && z->st.mode == MODE_AUTO && z->st.light != z->order_seen) {
		z->st.light = (enum light)z->order_seen;
		z->st.changed_at = now;
	}
}

static const char *json_string_field(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       "";
}

static int64_t json_int_field(json_object *o, const char *key, int64_t fallback)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ?
		       json_object_get_int64(v) :
		       fallback;
}

/* Takes a zone's light, mode, switches, last change and override end from its explanation. */
static void adopt(struct control *c, struct zone *z, json_object *o, int64_t now)
{
	const char *state = json_string_field(o, "state");
	const char *mode = json_string_field(o, "mode");
	time_t wall = time(NULL);
	int64_t until = json_int_field(o, "until", 0);

	/* Its readings are older than the owner's decision: they must not undo it. */
	z->st.has_reading = false;
	z->st.wlen = z->st.wpos = 0;
	z->st.light = state[1] == 'N' ? LIGHT_ON : LIGHT_OFF;
	z->order_seen = (uint8_t)z->st.light;
	z->st.switches = (uint32_t)json_int_field(o, "switches", 0);
	z->since_wall = json_int_field(o, "since", wall);
	if (z->since_wall > wall) /* another host's clock ahead of ours */
		z->since_wall = wall;
	/* The dwell clocks run from the change the owner made. */
	z->st.changed_at = now - 1000 * (wall - z->since_wall);
	z->st.mode = MODE_AUTO;
	if (!strcmp(mode, "override") && until > wall) {
		z->st.mode = MODE_OVERRIDE;
		z->st.override_until = now + (1000 * until - wall_ms());
		if (z->st.override_until < z->wake &&
		    zones_schedule(c->zones, z, z->st.override_until) < 0)
			log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its timer", z->name);
	} else if (!strcmp(mode, "failsafe")) {
		z->st.mode = MODE_FAILSAFE;
	}
	log_zone(LOG_INFO, z->name, "zone '%s': adopted %s %s from its explanation", z->name,
		 state, mode_name(z->st.mode));
}

/*
 * The whole number after `key` (`"since":`) in an explanation, or -1. Explanations are
 * pylightd's own JSON, whose strings hold no unescaped quote: the first match is the field.
 */
static int64_t peek_count(const char *p, size_t len, const char *key)
{
	const char *at = memmem(p, len, key, strlen(key));
	const char *end = p + len;
	int64_t v = 0;
	int digits = 0;

	if (!at)
		return -1;
	for (at += strlen(key); at < end && isdigit((unsigned char)*at); at++, digits++)
		v = digits < 18 ? v * 10 + (*at - '0') : -1;
	return digits ? v : -1;
}

/*
 * What another instance's explanation is to a zone known here: NEWS when it was decided
 * after the zone's own state (more switches, or as many and a later last change; just after
 * a connect, a retained one that is not older), SAME when it says the zone's light and mode,
 * OLD otherwise. `since` is in seconds, stamped on each instance's own clock: a tie is news
 * only in the retained ones.
 */
enum news { OLD, SAME, NEWS };

static enum news news_in(const struct zone *z, json_object *o, bool window)
{
	enum light light = json_string_field(o, "state")[1] == 'N' ? LIGHT_ON : LIGHT_OFF;
	int64_t switches = json_int_field(o, "switches", 0);
	int64_t since = json_int_field(o, "since", 0);
	bool same = light == z->st.light &&
		    !strcmp(json_string_field(o, "mode"), mode_name(z->st.mode));
	bool later = switches > z->st.switches;

	if (switches == z->st.switches)
		later = window ? since >= z->since_wall : since > z->since_wall;
	if (later && (window || !same))
		return NEWS;
	return same ? SAME : OLD;
}

/*
 * A zone's explanation. A zone this instance knows nothing of takes its state from it (for
 * two seconds after each connect, from the retained ones: so a restart loses no override),
 * and so does a zone whose explanation is news: another instance decided it while this one
 * was away, or from a reading that came before this one's readings subscription; its own
 * old readings would undo that decision. A shadow that agrees takes the owner's count of
 * switches and last change, so that the next comparison is like for like. An owner that
 * takes news in, or sees its zone explained by another instance (one that took the zone
 * over while views differed, its message arriving last), publishes its own explanation (an
 * answer at most once a second), so that the retained one names the owner and is the newest.
 */
static void on_explanation(struct control *c, const char *name, const void *payload,
			   size_t len, bool retained, int64_t now)
{
	struct zone *z = zones_find(c->zones, name);
	bool ours = memmem(payload, len, c->node_needle, strlen(c->node_needle)) != NULL;
	bool window = retained && c->adopting;
	bool fresh = !z || (!z->st.has_reading && z->st.light == LIGHT_UNKNOWN &&
			    z->st.mode == MODE_AUTO);
	enum news news = OLD;
	json_tokener *tok;
	json_object *o;
	const char *state;
	struct decision d;

	if ((ours && !(fresh && window)) || (!z && !window))
		return;
	/* The steady state, a shadow hearing the owner agree: nothing to parse for. */
	if (!window && !fresh && !z->mine &&
	    peek_count(payload, len, "\"switches\":") == z->st.switches &&
	    peek_count(payload, len, "\"since\":") == z->since_wall)
		return;
	tok = json_tokener_new();
	o = tok ? json_tokener_parse_ex(tok, payload, (int)len) : NULL;
	json_tokener_free(tok);
	state = json_string_field(o, "state");
	if (!strcmp(state, "ON") || !strcmp(state, "OFF"))
		news = fresh ? NEWS : news_in(z, o, window);
	if (news == NEWS && (z || (z = zone_get(c, name, now))))
		adopt(c, z, o, now);
	if (news == SAME && !z->mine) {
		z->st.switches = (uint32_t)json_int_field(o, "switches", z->st.switches);
		z->since_wall = json_int_field(o, "since", z->since_wall);
	}
	json_object_put(o);
	if (!z || !z->mine || (news != NEWS && now - z->reexplained_at < 1000))
		return;
	z->reexplained_at = now;
	decide_tick(&z->st, z->p, now, &d);
	apply_news(c, z, &d, now, true);
}

/*
 * Every half keepalive, a live instance says online again (not retained: the retained one
 * stays) so that the others can tell it from a frozen one. It also checks that it did not
 * stand still itself (stopped, its host paused or swapping) for long enough that the others
 * may have taken its zones over: then the messages it still finds in its socket and the
 * timers due meanwhile are old news, and an order decided on them would reach the broker
 * after the others' newer ones (libmosquitto resends unacknowledged publishes after a
 * reconnect). It then owns nothing until its own online comes back through the connection.
 */
static void heartbeat(struct control *c, int64_t now)
{
	int64_t still = now - c->beat;
	const char *self = c->cl ? cluster_self(c->cl) : "";
	const char *topic;

	if (!c->beat_every || !c->connected || still < c->beat_every)
		return;
	c->beat = now;
	if (!cluster_self_live(c->cl) || !(topic = zone_topic(c, c->cfg->topics_status, self)))
		return;
	if (still <= c->beat_every * 3 / 2 + 1000) {
		c->out.publish(c->out.ctx, topic, "online", 6, /* retain = */ false);
		return;
	}
	log_msg(LOG_WARNING, "cluster: node %s stood still for %lld s: it owns no zone until "
		"the broker echoes its online", self, (long long)(still / 1000));
	cluster_status(c->cl, self, false, now);
	reown(c, now);
	c->out.publish(c->out.ctx, topic, "online", 6, /* retain = */ true);
}

/* Routes the cluster's own topics. Returns false when `topic` is none of them. */
static bool on_cluster(struct control *c, const char *topic, const void *payload, size_t len,
		       bool retained, int64_t now)
{
	const char *name;

	if ((name = topic_zone(topic, c->cfg->topics_status, c->status_len)) && name[0])
		on_status(c, name, payload, len, retained, now);
	else if ((name = topic_zone(topic, c->cfg->topics_orders, c->orders_len)))
		on_order_seen(c, name, payload, len, now);
	else if (c->zone_state_len &&
		 (name = topic_zone(topic, c->cfg->topics_zone_state, c->zone_state_len)))
		on_explanation(c, name, payload, len, retained, now);
	else
		return false;
	return true;
}

/* The retained messages of a connect are in: ghosts go, adoption ends. */
static void settle(struct control *c)
{
	c->settle_at = DECIDE_NEVER;
	if (c->disc)
		sweep(c);
	if (c->cl) {
		c->adopting = false;
		if (c->connected && !cluster_self_live(c->cl))
			log_msg(LOG_WARNING, "cluster: node %s has not heard its own online on %s/%s "
				"yet: it publishes no order until it does (may it publish there?)",
				cluster_self(c->cl), c->cfg->topics_status, cluster_self(c->cl));
	}
}

void control_connected(struct control *c)
{
	if (!c->disc && !c->cl)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->disc)
		announce_all(c);
	if (c->cl) {
		/* Nobody is known live until the statuses come again, this instance included. */
		cluster_reset(c->cl);
		reown(c, monotonic_ms());
		c->adopting = true;
		c->connected = true;
		c->beat = monotonic_ms();
		c->expire_at = DECIDE_NEVER;
	}
	c->settle_at = monotonic_ms() + SETTLE_AFTER_MS;
	rearm(c);
	pthread_mutex_unlock(&c->lock);
}

void control_disconnected(struct control *c)
{
	if (!c->cl)
		return;
	pthread_mutex_lock(&c->lock);
	/* Orders queued now would be replayed after the others took the zones over. */
	c->connected = false;
	c->expire_at = DECIDE_NEVER;
	cluster_reset(c->cl);
	reown(c, monotonic_ms());
	pthread_mutex_unlock(&c->lock);
}

/*
 * Gathers the zone's fresh sensors. Returns true when there are at least min_sensors of them:
 * then f->since is when the min_sensors-th freshest of them reported.
 */
static bool sensors_fresh(const struct control *c, const struct zone_params *p, int64_t now,
			  struct fresh *f)
{
	int64_t at[SENSORS_MAX];

	f->n = 0;
	for (unsigned i = p->sensor_first; i < p->sensor_first + p->sensors; i++) {
		const struct sensor_value *v = &c->sensors[i];
		unsigned j;

		if (v->at == NEVER_SEEN || (p->stale_after && now - v->at >= p->stale_after))
			continue;
		/* Newest first: at[min_sensors - 1] is then the one that keeps the zone fresh. */
		for (j = f->n; j > 0 && at[j - 1] < v->at; j--)
			at[j] = at[j - 1];
		at[j] = v->at;
		f->lux[f->n++] = v->lux;
	}
	if (f->n < p->min_sensors)
		return false;
	/* min_sensors >= 1 and at most f->n here: that slot was written above. */
	/* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
	f->since = at[p->min_sensors - 1];
	return true;
}

/* A reading of one of a zone's sensors: decides when enough of them are fresh. */
static bool sensor_reading(struct control *c, struct zone *z, int sensor, double lux,
			   int64_t now, struct decision *d)
{
	struct fresh f;

	c->sensors[sensor].lux = lux;
	c->sensors[sensor].at = now;
	if (!sensors_fresh(c, z->p, now, &f))
		return false; /* stored; the zone goes stale by its own timer, if it decided before */
	decide_sample(&z->st, z->p, decide_aggregate(z->p->aggregate, f.lux, f.n), f.since, now,
		      d);
	return true;
}

static void on_reading(struct control *c, const char *suffix, const void *payload,
		       size_t len, int64_t now)
{
	const char *owner;
	int sensor = thresholds_sensor(c->t, suffix, &owner);
	const char *name = sensor >= 0 ? owner : suffix;
	struct zone *z = sensor >= 0 && c->sensors[sensor].zone ? c->sensors[sensor].zone
								: zones_find(c->zones, name);
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
	if (sensor < 0 && (z ? z->p : thresholds_get(c->t, name))->sensors) {
		c->st.rejected++;
		warn_limited(c, z, name, now,
			     "a reading on the zone's own topic, which is not among its sensors");
		return;
	}
	z = z ? z : zone_get(c, name, now);
	if (!z)
		return;
	c->st.readings++;
	if (sensor < 0) {
		decide_reading(&z->st, z->p, lux, now, &d);
	} else {
		c->sensors[sensor].zone = z;
		if (!sensor_reading(c, z, sensor, lux, now, &d))
			return;
	}
	if (c->disc)
		ha_reading(c, z, now);
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

void control_message(struct control *c, const char *topic, const void *payload, size_t len,
		     bool retained)
{
	const char *zone;
	int64_t now = monotonic_ms();

	pthread_mutex_lock(&c->lock);
	heartbeat(c, now);
	if ((zone = topic_zone(topic, c->cfg->topics_readings, c->readings_len))) {
		on_reading(c, zone, payload, len, now);
	} else if ((zone = topic_zone(topic, c->cfg->topics_override, c->override_len))) {
		on_override(c, zone, payload, len, now);
	} else if (c->cl && on_cluster(c, topic, payload, len, retained, now)) {
		/* handled */
	} else if (!(c->disc && on_discovery(c, topic, payload, len, retained)) &&
		   !on_feedback(c, topic, payload, len, retained, now)) {
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
	heartbeat(c, now);
	while ((z = zones_due(c->zones, now))) {
		bool due;

		zones_schedule(c->zones, z, DECIDE_NEVER);
		decide_tick(&z->st, z->p, now, &d);
		/* A new order of the zone's own replaces the wait for the old one. */
		due = !d.order && z->fb_deadline <= now;
		if (due)
			feedback_due(c, z, now);
		apply_news(c, z, &d, now, due);
	}
	if (c->settle_at <= now)
		settle(c);
	if (c->expire_at <= now)
		expire(c, now);
	if (c->ent)
		ha_due(c, now);
	rearm(c);
	pthread_mutex_unlock(&c->lock);
}

/* What control_reload hands to every zone. */
struct reload_ctx {
	struct control *c;
	int64_t now;
};

/*
 * New parameters, then a fresh look. A zone with sensors whose aggregate changed takes it as
 * one new sample; its freshness is recounted against its (maybe new) min_sensors.
 */
static void zone_reload(struct zone *z, void *arg)
{
	struct reload_ctx *r = arg;
	struct zone_state *s = &z->st;
	const char *old_feedback = z->p->feedback; /* the old table is freed after the walk */
	struct decision d;
	struct fresh f;

	if (zones_set_params(z, thresholds_get(r->c->t, z->name)) < 0) {
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its window", z->name);
		return;
	}
	/* Another lamp, or none: what the old one said no longer holds. */
	if (strcmp(old_feedback, z->p->feedback) != 0)
		z->lamp = LIGHT_UNKNOWN;
	if (!z->p->feedback[0] && z->unconfirmed) {
		if (z->gave_up)
			r->c->st.unconfirmed--;
		z->unconfirmed = z->gave_up = false;
		z->fb_retries = 0;
		z->fb_deadline = DECIDE_NEVER;
	}
	feedback_link(r->c, z);
	if (z->p->sensors && sensors_fresh(r->c, z->p, r->now, &f)) {
		double v = decide_aggregate(z->p->aggregate, f.lux, f.n);

		if (!s->has_reading || v != s->lux) {
			decide_sample(s, z->p, v, f.since, r->now, &d);
			apply(r->c, z, &d, r->now);
			return;
		}
		s->last_reading = f.since;
	} else if (z->p->sensors && s->has_reading && z->p->stale_after) {
		/* Too few fresh sensors under the new table: stale from now. */
		s->last_reading = r->now - z->p->stale_after;
	}
	decide_tick(s, z->p, r->now, &d);
	apply(r->c, z, &d, r->now);
}

int control_reload(struct control *c, struct thresholds *t)
{
	struct reload_ctx r = { .c = c, .now = monotonic_ms() };
	struct sensor_value *values;
	struct thresholds *old;

	pthread_mutex_lock(&c->lock);
	values = sensors_new(t, c->sensors, c->t);
	if (!values) {
		pthread_mutex_unlock(&c->lock);
		thresholds_free(t);
		return -ENOMEM;
	}
	free(c->sensors);
	c->sensors = values;
	old = c->t;
	c->t = t;
	feedback_clear(c);
	zones_foreach(c->zones, zone_reload, &r);
	listen_feedback(c);
	if (c->disc)
		ha_reloaded(c, old, r.now);
	rearm(c);
	pthread_mutex_unlock(&c->lock);
	thresholds_free(old);
	return 0;
}

void control_stats(struct control *c, struct control_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	st->zones = zones_count(c->zones);
	st->feedback = c->fb_topics != NULL;
	st->node = c->cl ? cluster_self(c->cl) : NULL;
	st->live = c->cl ? cluster_live(c->cl) : 1;
	st->owned = c->cl ? c->owned : st->zones;
	pthread_mutex_unlock(&c->lock);
}

/* What control_dump hands to every zone. */
struct dump_ctx {
	const struct control *c;
	int64_t now;
	void (*line)(const char *text);
};

static void zone_dump(struct zone *z, void *arg)
{
	const struct dump_ctx *dc = arg;
	const struct zone_state *s = &z->st;
	char buf[512];

	int n = snprintf(buf, sizeof(buf),
			 "zone '%s': %s %s lux %g smoothed %g on_below %g off_above %g switches %u",
			 z->name, light_name(s->light), mode_name(s->mode), s->lux, s->smoothed,
			 z->p->on_below, z->p->off_above, s->switches);

	if (z->p->sensors && n > 0 && (size_t)n < sizeof(buf)) {
		struct fresh f;

		sensors_fresh(dc->c, z->p, dc->now, &f);
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " sensors %u/%u fresh (%s)", f.n,
			      z->p->sensors, aggregate_name(z->p->aggregate));
	}
	if (z->p->feedback[0] && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " lamp %s %s retries %u",
			      z->lamp == LIGHT_UNKNOWN ? "unknown" :
							 light_name((enum light)z->lamp),
			      z->unconfirmed ? "unconfirmed" : "confirmed", z->fb_retries);
	if (dc->c->cl && n > 0 && (size_t)n < sizeof(buf)) {
		const char *owner = cluster_owner(dc->c->cl, z->name);

		snprintf(buf + n, sizeof(buf) - (size_t)n, " owner %s", owner[0] ? owner : "none");
	}
	dc->line(buf);
}

void control_dump(struct control *c, void (*line)(const char *text))
{
	struct dump_ctx dc = { .c = c, .now = monotonic_ms(), .line = line };

	pthread_mutex_lock(&c->lock);
	zones_foreach(c->zones, zone_dump, &dc);
	pthread_mutex_unlock(&c->lock);
}
