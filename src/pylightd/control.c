/* control.c -- turns messages and timers into decisions and publishes; one lock for all */
#include "control_impl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "decide.h"
#include "discovery.h"
#include "entities.h"
#include "explain.h"
#include "feedback.h"
#include "log.h"
#include "monotonic.h"
#include "reading.h"
#include "sensors.h"
#include "takeover.h"
#include "topic.h"
#include "zones.h"

#define WARN_INTERVAL_MS 10000
/* Retained messages have arrived by then: clear the ghost configs, stop adopting. */
#define SETTLE_AFTER_MS 2000

int control_new(const struct config *cfg, struct thresholds *t, const struct control_out *out,
		struct control **ctl)
{
	struct control *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->settle_at = DECIDE_NEVER;
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
	if (zones_new(&c->zones) < 0 || !(c->sensors = sensors_new(t, NULL, NULL)) ||
	    (cfg->homeassistant_discovery &&
	     (discovery_new(cfg, &c->disc) < 0 ||
	      entities_new(cfg->homeassistant_lux_interval, cfg->homeassistant_forget_after,
			   &c->ent) < 0)) ||
	    (cfg->cluster_node[0] &&
	     (cluster_new(cfg->cluster_node, &c->cl) < 0 ||
	      asprintf(&c->node_needle, "\"node\":\"%s\"", cfg->cluster_node) < 0)) ||
	    control_time_new(c) < 0) {
		/* control_free takes a partial object (glibc's asprintf leaves node_needle NULL) */
		c->t = NULL; /* the caller keeps its table when this fails */
		control_free(c);
		return -ENOMEM;
	}
	takeover_init(&c->tk, c->cl ? cfg->mqtt_keepalive : 0);
	*ctl = c;
	return 0;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	zones_free(c->zones);
	control_time_free(c);
	thresholds_free(c->t);
	discovery_free(c->disc);
	entities_free(c->ent);
	feedback_unlink_all(&c->fb_topics);
	cluster_free(c->cl);
	free(c->node_needle);
	sensors_free(c->sensors);
	free(c->topic);
	explain_done(&c->expl);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* "base" for the default zone, "base/ZONE" otherwise, in c's scratch; NULL: no memory. */
const char *control_zone_topic(struct control *c, const char *base, const char *zone)
{
	return topic_of_zone(base, zone, &c->topic, &c->topic_cap);
}

/* Logs a rejected input at most once per WARN_INTERVAL_MS per zone, counting the rest. */
void control_warn(struct control *c, struct zone *z, const char *zone, int64_t now, const char *fmt,
		  ...)
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
void control_preview(const void *payload, size_t len, char *buf, size_t cap)
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

/* Hands the earliest deadline of all, the zones' and the cluster's, to out.wake. */
void control_rearm(struct control *c)
{
	int64_t when = zones_next_wake(c->zones);
	int64_t cluster = takeover_next(&c->tk);

	if (c->settle_at < when)
		when = c->settle_at;
	if (cluster < when)
		when = cluster;
	if (c->ent && entities_next(c->ent) < when)
		when = entities_next(c->ent);
	if (orderlog_next(&c->olog) < when)
		when = orderlog_next(&c->olog);
	if (when != c->armed) {
		c->armed = when;
		c->out.wake(c->out.ctx, when);
	}
}

void control_schedule(struct control *c, struct zone *z, int64_t wake)
{
	if (zones_schedule(c->zones, z, wake) < 0)
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its timer", z->name);
}

/*
 * The count of the order lines a flood left out, once their window is over: from the timer
 * at its end, or before the next order's line if that comes first.
 */
static void log_unlogged(struct control *c, int64_t now)
{
	uint64_t skipped = orderlog_due(&c->olog, now);

	if (skipped)
		log_msg(LOG_INFO, "%" PRIu64 " more order%s in the last %d s not logged: at most %d "
			"lines per %d s (each is in its zone's explanation)", skipped,
			skipped == 1 ? "" : "s", ORDERLOG_WINDOW_MS / 1000, ORDERLOG_LINES,
			ORDERLOG_WINDOW_MS / 1000);
}

/* Publishes the zone's explanation; `why` is decide_reason()'s text for its decision. */
static void explain(struct control *c, struct zone *z, const char *why)
{
	const char *topic = control_zone_topic(c, c->cfg->topics_zone_state, z->name);
	struct explain_ctx x = { .sensors = c->sensors, .t = c->t,
				 .node = c->cl ? cluster_self(c->cl) : NULL,
				 .now = monotonic_ms(), .wall_ms = wall_ms() };

	if (!topic || !z->own.mine || explain_build(z, why, &x, &c->expl) < 0)
		return;
	if (c->out.publish_state)
		c->out.publish_state(c->out.ctx, topic, c->expl.text, c->expl.len);
	else
		c->out.publish(c->out.ctx, topic, c->expl.text, c->expl.len, /* retain = */ true);
}

/* Publishes the zone's order, when this instance owns the zone. Returns whether it did. */
static bool publish_order(struct control *c, struct zone *z, enum light light)
{
	const struct config *cfg = c->cfg;
	const char *payload = light == LIGHT_ON ? cfg->orders_on_payload : cfg->orders_off_payload;
	const char *topic;

	if (!z->own.mine || !(topic = control_zone_topic(c, cfg->topics_orders, z->name)))
		return false;
	c->out.publish(c->out.ctx, topic, payload, strlen(payload), cfg->orders_retain);
	c->st.orders++;
	z->own.order_seen = (uint8_t)light;
	return true;
}

/*
 * Carries out what lamp feedback asks for. Every lamp counter changes here, and only here.
 */
static void feedback_apply(struct control *c, struct zone *z, const struct feedback_action *a)
{
	c->st.confirmations += a->confirmed;
	c->st.manual += a->manual;
	if (a->unconfirmed < 0)
		c->st.unconfirmed -= (uint64_t)-a->unconfirmed;
	else
		c->st.unconfirmed += (uint64_t)a->unconfirmed;
	if (a->notice && a->quiet)
		log_zone(LOG_NOTICE, z->name, "zone '%s': lamp switched %s by hand, %s (%u more since)",
			 z->name, light_name((enum light)z->fb.lamp), manual_name(z->p->manual),
			 a->quiet);
	else if (a->notice)
		log_zone(LOG_NOTICE, z->name, "zone '%s': lamp switched %s by hand, %s", z->name,
			 light_name((enum light)z->fb.lamp), manual_name(z->p->manual));
	/* A shadow does not publish, nor count a retry. */
	if (a->publish && publish_order(c, z, z->st.light) && a->retry)
		c->st.retries++;
	if (a->gave_up)
		log_zone(LOG_WARNING, z->name,
			 "zone '%s': its lamp did not confirm %s after %u retr%s", z->name,
			 light_name(z->st.light), z->fb.retries, z->fb.retries == 1 ? "y" : "ies");
}

/*
 * Carries out a decision of any state machine, the one place where that happens: publishes
 * the order (and waits for the lamp to confirm it), logs, publishes the explanation and files
 * the zone's next deadline. `news` asks for the explanation even when the decision changed
 * nothing (the lamp's state did, or the zone changed hands).
 */
void control_apply(struct control *c, struct zone *z, const struct decision *d, int64_t now,
		   bool news)
{
	const struct config *cfg = c->cfg;
	bool logged = false;
	bool explained = (d->changed || news) && cfg->topics_zone_state[0] && z->own.mine;
	int64_t wake = d->wake;
	char why[DECIDE_REASON_MAX];

	if (d->order && z->own.mine && log_level_enabled(LOG_INFO)) {
		log_unlogged(c, now);
		logged = orderlog_take(&c->olog, now);
	}
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
		if (z->p->feedback[0]) {
			struct feedback_action a = { 0 };

			feedback_wait(&z->fb, z->p, now, &a);
			feedback_apply(c, z, &a);
		}
		if (logged)
			log_zone(LOG_INFO, z->name, "zone '%s': %s (%s)", z->name,
				 light_name(d->light), why);
	}
	if (d->level_order)
		control_dim_publish(c, z);
	if (explained)
		explain(c, z, why);
	if (z->fb.deadline < wake)
		wake = z->fb.deadline;
	if (z->vacant_at < wake)
		wake = z->vacant_at;
	control_schedule(c, z, wake);
}

/* Something the explanation shows changed, not the light: explain with the present reason. */
void control_reexplain(struct control *c, struct zone *z, int64_t now)
{
	struct decision d;

	decide_tick(&z->st, z->p, now, &d);
	control_apply(c, z, &d, now, true);
}

/* --- lamp feedback ------------------------------------------------------------------- */

/* Files the zone under its feedback topic, if it has one. */
static void link_feedback(struct control *c, struct zone *z)
{
	if (feedback_link(&c->fb_topics, z->p->feedback, z, &z->fb) < 0)
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its feedback", z->name);
}

/* One zone's lamp reported `lamp`; `retained` when the broker had kept the report. */
static void lamp_report(struct control *c, struct zone *z, enum light lamp, bool retained,
			int64_t now)
{
	struct feedback_action a = { 0 };
	struct decision d;

	feedback_report(&z->fb, z->p, z->st.light, lamp, retained, now, &a);
	feedback_apply(c, z, &a);
	if (a.override) {
		decide_manual(&z->st, z->p, lamp, now, &d);
		control_apply(c, z, &d, now, true);
	} else if (a.news && c->cfg->topics_zone_state[0]) {
		control_reexplain(c, z, now);
	} else if (a.news && z->fb.deadline < z->wake) {
		/* Nothing to explain: only a new wait needs the timer (one left early is harmless). */
		control_schedule(c, z, z->fb.deadline);
	}
}

/* A message on a feedback topic: a report for every zone whose lamp talks there. */
static bool on_feedback(struct control *c, const char *topic, const void *payload, size_t len,
			bool retained, int64_t now)
{
	struct zone *z = feedback_first(c->fb_topics, topic);
	char shown[48];

	if (!z)
		return false;
	for (; z; z = z->fb.next) {
		bool big = len > (size_t)c->cfg->readings_max_payload;
		int on = big ? -EINVAL : lamp_parse(payload, len, z->p->feedback_field);

		if (on < 0) {
			control_reject(c, big ? REJECT_PAYLOAD_TOO_LARGE : REJECT_BAD_LAMP_REPORT);
			control_preview(payload, len, shown, sizeof(shown));
			control_warn(c, z, z->name, now, "bad lamp report '%s' on %s", shown,
				     topic);
			continue;
		}
		lamp_report(c, z, on ? LIGHT_ON : LIGHT_OFF, retained, now);
	}
	return true;
}

/* Hands the feedback and presence topics of the table in force to out.listen. Lock held. */
static void listen_feedback(struct control *c)
{
	const char **v;
	size_t n;

	if (!c->out.listen)
		return;
	n = feedback_list(c->t, &v);
	n = control_time_topics(c, &v, n);
	c->out.listen(c->out.ctx, v, n);
	free(v);
}

void control_listen(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	listen_feedback(c);
	pthread_mutex_unlock(&c->lock);
}

/* The zone for an accepted input, created on first use within max_zones. */
struct zone *control_zone_get(struct control *c, const char *name, int64_t now)
{
	struct zone *z = zones_find(c->zones, name);

	if (z)
		return z;
	if (zones_count(c->zones) >= (size_t)c->cfg->readings_max_zones) {
		control_reject(c, REJECT_MAX_ZONES);
		control_warn(c, NULL, name, now, "new zone beyond max_zones %d",
			     c->cfg->readings_max_zones);
		return NULL;
	}
	z = zones_add(c->zones, name, thresholds_get(c->t, name));
	if (!z) {
		control_reject(c, REJECT_OUT_OF_MEMORY);
		control_warn(c, NULL, name, now, "out of memory for a new zone");
		return NULL;
	}
	z->warned_at = INT64_MIN / 2;
	feedback_init(&z->fb);
	z->own = (struct ownership){ .mine = !c->cl || cluster_owns(c->cl, name),
				     .order_seen = LIGHT_UNKNOWN, .level_seen = -1 };
	c->tk.owned += z->own.mine;
	z->vacant_at = DECIDE_NEVER;
	control_time_zone(c, z, now);
	link_feedback(c, z);
	control_time_link(c, z);
	if (c->disc)
		control_ha_heard(c, z, now);
	return z;
}

/* The retained messages of a connect are in: ghosts go, adoption ends. */
static void settle(struct control *c)
{
	c->settle_at = DECIDE_NEVER;
	if (c->disc)
		control_ha_sweep(c);
	if (c->cl && takeover_settle(&c->tk, c->cl))
		log_msg(LOG_WARNING, "cluster: node %s has not heard its own online on %s/%s "
			"yet: it publishes no order until it does (may it publish there?)",
			cluster_self(c->cl), c->cfg->topics_status, cluster_self(c->cl));
}

void control_connected(struct control *c)
{
	if (!c->disc && !c->cl)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->disc)
		control_ha_announce_all(c);
	if (c->cl) {
		/* Nobody is known live until the statuses come again, this instance included. */
		takeover_connected(&c->tk, c->cl, monotonic_ms());
		control_reown(c, monotonic_ms());
	}
	c->settle_at = monotonic_ms() + SETTLE_AFTER_MS;
	control_rearm(c);
	pthread_mutex_unlock(&c->lock);
}

void control_disconnected(struct control *c)
{
	if (!c->cl)
		return;
	pthread_mutex_lock(&c->lock);
	takeover_disconnected(&c->tk, c->cl);
	control_reown(c, monotonic_ms());
	pthread_mutex_unlock(&c->lock);
}

/* --- readings and overrides ---------------------------------------------------------- */

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
		control_reject(c, REJECT_PAYLOAD_TOO_LARGE);
		control_warn(c, z, name, now, "reading of %zu bytes exceeds max_payload %d", len,
			     c->cfg->readings_max_payload);
		return;
	}
	if (reading_parse(payload, len, c->cfg->readings_json_field, &lux) < 0) {
		control_reject(c, REJECT_BAD_READING);
		control_preview(payload, len, shown, sizeof(shown));
		control_warn(c, z, name, now, "bad reading '%s'", shown);
		return;
	}
	if (sensor < 0 && (z ? z->p : thresholds_get(c->t, name))->sensors) {
		control_reject(c, REJECT_NOT_A_SENSOR);
		control_warn(c, z, name, now,
			     "a reading on the zone's own topic, which is not among its sensors");
		return;
	}
	z = z ? z : control_zone_get(c, name, now);
	if (!z)
		return;
	c->st.readings++;
	if (sensor < 0) {
		decide_reading(&z->st, z->p, lux, now, &d);
	} else {
		c->sensors[sensor].zone = z;
		if (!sensors_reading(c->sensors, &z->st, z->p, (unsigned)sensor, lux, now, &d))
			return;
	}
	if (c->disc)
		control_ha_reading(c, z, now);
	control_apply(c, z, &d, now, false);
}

static void on_override(struct control *c, const char *name, const void *payload, size_t len,
			int64_t now)
{
	struct zone *z = zones_find(c->zones, name);
	bool big = len > (size_t)c->cfg->readings_max_payload;
	enum override_cmd cmd;
	struct decision d;
	int64_t duration;
	int level;
	char shown[48];

	control_preview(payload, len, shown, sizeof(shown));
	if (big || override_parse_level(payload, len, &cmd, &duration, &level) < 0) {
		control_reject(c, big ? REJECT_PAYLOAD_TOO_LARGE : REJECT_BAD_OVERRIDE);
		control_warn(c, z, name, now, "bad override '%s': expected ON, OFF or AUTO", shown);
		return;
	}
	if (level > 0 && !(z ? z->p : thresholds_get(c->t, name))->target_lux) {
		control_reject(c, REJECT_NOT_DIMMABLE);
		control_warn(c, z, name, now, "override '%s' sets a level: the zone does not dim",
			     shown);
		return;
	}
	z = control_zone_get(c, name, now);
	if (!z)
		return;
	c->st.overrides++;
	log_zone(LOG_NOTICE, name, "zone '%s': override %s", name, shown);
	z->st.hold = level > 0 ? (uint8_t)level : 0;
	decide_override(&z->st, z->p, cmd, duration, now, &d);
	control_apply(c, z, &d, now, false);
}

void control_message(struct control *c, const char *topic, const void *payload, size_t len,
		     bool retained)
{
	const char *zone;
	int64_t now = monotonic_ms();

	pthread_mutex_lock(&c->lock);
	control_heartbeat(c, now);
	if ((zone = topic_zone(topic, c->cfg->topics_readings, c->readings_len))) {
		on_reading(c, zone, payload, len, now);
	} else if ((zone = topic_zone(topic, c->cfg->topics_override, c->override_len))) {
		on_override(c, zone, payload, len, now);
	} else if (control_on_presence(c, topic, payload, len, retained, now) ||
		   (c->cl && control_on_cluster(c, topic, payload, len, retained, now))) {
		/* handled */
	} else if (!(c->disc && control_ha_message(c, topic, payload, len, retained)) &&
		   !on_feedback(c, topic, payload, len, retained, now)) {
		/* "value/light/" and the like: under a subscription, yet naming no zone. */
		control_reject(c, REJECT_NO_ZONE);
		control_warn(c, NULL, topic, now, "topic names no zone");
	}
	control_rearm(c);
	pthread_mutex_unlock(&c->lock);
}

void control_timer(struct control *c)
{
	int64_t now = monotonic_ms();
	struct zone *z;
	struct decision d;

	pthread_mutex_lock(&c->lock);
	control_heartbeat(c, now);
	while ((z = zones_due(c->zones, now))) {
		struct feedback_action a = { 0 };
		bool due;

		zones_schedule(c->zones, z, DECIDE_NEVER);
		control_time_zone(c, z, now); /* its vacancy may be due */
		decide_tick(&z->st, z->p, now, &d);
		/* A new order of the zone's own replaces the wait for the old one. */
		due = !d.order && z->fb.deadline <= now;
		if (due) {
			feedback_due(&z->fb, z->p, now, &a);
			feedback_apply(c, z, &a);
		}
		control_apply(c, z, &d, now, due);
	}
	if (c->settle_at <= now)
		settle(c);
	if (c->tk.expire_at <= now)
		control_expire(c, now);
	if (c->ent)
		control_ha_due(c, now);
	log_unlogged(c, now);
	control_rearm(c);
	pthread_mutex_unlock(&c->lock);
}

/* What control_reload hands to every zone: the zones whose parameters are looked up together. */
struct reload_ctx {
	struct control *c;
	int64_t now;
	struct zone *zone[THRESHOLDS_GET_MANY];
	size_t n;
};

/* New parameters, then a fresh look with the sensors' values and the (maybe new) lamp. */
static void zone_reload(struct reload_ctx *r, struct zone *z, const struct zone_params *p)
{
	const char *old_feedback = z->p->feedback; /* the old table is freed after the walk */
	double old_target = z->p->target_lux;
	struct feedback_action a = { 0 };
	struct decision d;

	if (zones_set_params(z, p) < 0) {
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its window", z->name);
		return;
	}
	/* A new target moves the level from where it is, by max_step at most. */
	z->st.restep |= z->p->target_lux != old_target;
	feedback_reparam(&z->fb, old_feedback, z->p, &a);
	feedback_apply(r->c, z, &a);
	link_feedback(r->c, z);
	control_time_link(r->c, z);
	control_time_zone(r->c, z, r->now);
	sensors_reload(r->c->sensors, &z->st, z->p, r->now, &d);
	control_apply(r->c, z, &d, r->now, false);
}

/* Reloads the zones gathered so far, their parameters looked up at once. */
static void reload_gathered(struct reload_ctx *r)
{
	const char *names[THRESHOLDS_GET_MANY];
	const struct zone_params *p[THRESHOLDS_GET_MANY];

	for (size_t i = 0; i < r->n; i++)
		names[i] = r->zone[i]->name;
	thresholds_get_many(r->c->t, names, r->n, p);
	for (size_t i = 0; i < r->n; i++)
		zone_reload(r, r->zone[i], p[i]);
	r->n = 0;
}

static void reload_gather(struct zone *z, void *arg)
{
	struct reload_ctx *r = arg;

	r->zone[r->n++] = z;
	if (r->n == THRESHOLDS_GET_MANY)
		reload_gathered(r);
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
	sensors_free(c->sensors);
	c->sensors = values;
	old = c->t;
	c->t = t;
	feedback_unlink_all(&c->fb_topics);
	if (control_time_table(c) < 0)
		log_msg(LOG_ERR, "reload: out of memory for the presence topics");
	zones_foreach(c->zones, reload_gather, &r);
	reload_gathered(&r);
	listen_feedback(c);
	if (c->disc)
		control_ha_reloaded(c, old, r.now);
	control_rearm(c);
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
	st->owned = c->cl ? c->tk.owned : st->zones;
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
	char buf[512];

	explain_line(z, dc->c->sensors, dc->c->cl ? cluster_owner(dc->c->cl, z->name) : NULL,
		     dc->now, buf, sizeof(buf));
	dc->line(buf);
}

void control_dump(struct control *c, void (*line)(const char *text))
{
	struct dump_ctx dc = { .c = c, .now = monotonic_ms(), .line = line };

	pthread_mutex_lock(&c->lock);
	zones_foreach(c->zones, zone_dump, &dc);
	pthread_mutex_unlock(&c->lock);
}

/* ---- hook for stats.c (published counters): zones by mode; nothing else of control.c ---- */
struct mode_count_ctx {
	void (*count)(void *arg, const char *mode);
	void *arg;
};

static void zone_mode_count(struct zone *z, void *arg)
{
	const struct mode_count_ctx *mc = arg;

	mc->count(mc->arg, mode_name(z->st.mode));
}

void control_count_modes(struct control *c, void (*count)(void *arg, const char *mode), void *arg)
{
	struct mode_count_ctx mc = { .count = count, .arg = arg };

	pthread_mutex_lock(&c->lock);
	zones_foreach(c->zones, zone_mode_count, &mc);
	pthread_mutex_unlock(&c->lock);
}
/* ---- end of the hook for stats.c ---- */
