/* control_impl.h -- what control.c shares with the files that carry out its modules' actions */
#ifndef PYLIGHT_CONTROL_IMPL_H
#define PYLIGHT_CONTROL_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "decide.h"
#include "discovery.h"
#include "explain.h"
#include "feedback.h"
#include "orderlog.h"
#include "sensors.h"
#include "takeover.h"
#include "zones.h"

/*
 * The state machines are pure modules: decide.c (a zone's light), sensors.c (its listed
 * sensors), feedback.c (its lamp), takeover.c (the other instances) and explain.c (the
 * explanation). This file routes each message to them and carries out what they return:
 * decisions in apply(), lamp feedback in feedback_apply(), the cluster's in cluster_apply().
 */
struct control {
	pthread_mutex_t lock; /* guards everything below: one reading, one table */
	const struct config *cfg;
	struct thresholds *t;
	struct zones *zones;
	struct control_out out;
	struct control_stats st;
	struct sensor_value *sensors; /* by the thresholds' sensor numbers */
	size_t readings_len, override_len;
	int64_t armed;          /* the deadline last handed to out.wake */
	int64_t anon_warned_at; /* rate limit for input that names no existing zone */
	uint32_t anon_suppressed;
	char *topic; /* scratch for "orders/ZONE" */
	size_t topic_cap;
	struct discovery *disc;            /* Home Assistant discovery; NULL when off */
	struct entities *ent;              /* its zones' lux and forgetting; NULL when off */
	struct feedback_topics *fb_topics; /* the zones by the topic their lamp reports on */
	int64_t settle_at;  /* when the retained messages of a connect are in; or NEVER */
	struct cluster *cl; /* the other instances; NULL alone */
	struct takeover tk; /* heartbeats, expiry and adoption with them */
	size_t status_len, orders_len, zone_state_len;
	char *node_needle; /* "\"node\":\"NODE\"": this instance's explanations hold it */
	struct time_ctl *tm; /* schedules and presence sensors (control_time.c) */
	struct explanation expl; /* the last explanation written: its buffer is reused */
	struct orderlog olog;    /* how many order lines the journal still gets */
};

/* control.c's shell, for control_cluster.c. Every one is called with the lock held. */

/* Carries out a decision: order, lamp wait, log, explanation, next deadline. */
void control_apply(struct control *c, struct zone *z, const struct decision *d, int64_t now,
		   bool news);
/* Something the explanation shows changed, not the light: explain with the present reason. */
void control_reexplain(struct control *c, struct zone *z, int64_t now);
/* Files the zone's next deadline (DECIDE_NEVER: none). */
void control_schedule(struct control *c, struct zone *z, int64_t wake);
/* The zone for an accepted input, created on first use within max_zones; NULL if refused. */
struct zone *control_zone_get(struct control *c, const char *name, int64_t now);
/* Counts a refused input, in the total and under its reason. */
static inline void control_reject(struct control *c, enum reject_reason r)
{
	c->st.rejected++;
	c->st.rejected_by[r]++;
}
/* Logs a rejected input at most once per 10 s per zone (z NULL: for no zone yet). */
void control_warn(struct control *c, struct zone *z, const char *zone, int64_t now, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));
/* A printable preview of a payload for log messages, cut to fit `cap` with "...". */
void control_preview(const void *payload, size_t len, char *buf, size_t cap);
/* "base" for the default zone, "base/ZONE" otherwise, in a scratch buffer; NULL: no memory. */
const char *control_zone_topic(struct control *c, const char *base, const char *zone);

/* Hands the earliest deadline of all, the zones' and the cluster's, to out.wake. */
void control_rearm(struct control *c);

/* control_time.c: schedules and presence. */

/* Sets up c->tm for the table in force (c->cfg, c->t). Returns 0 or -ENOMEM. */
int control_time_new(struct control *c);
void control_time_free(struct control *c);
/*
 * A new table is in force: its presence topics are filed (those still listed keep their
 * last report) and every schedule is computed again on its zones' next look.
 */
int control_time_table(struct control *c);
/*
 * Files the zone under its presence topics for reports to find: a new zone, and every zone
 * again after control_time_table, once it has its parameters from the new table.
 */
void control_time_link(struct control *c, struct zone *z);
/* Appends the presence topics to v[0..n) (realloc'd); returns the new count. */
size_t control_time_topics(struct control *c, const char ***v, size_t n);
/*
 * Brings the zone's out_of_schedule, vacant and vacant_at up to date, before a decision.
 * Returns whether the first two changed.
 */
bool control_time_zone(struct control *c, struct zone *z, int64_t now);
/* A report on a presence topic (`retained`: kept by the broker). False for any other topic. */
bool control_on_presence(struct control *c, const char *topic, const void *payload, size_t len,
			 bool retained, int64_t now);

/* control_cluster.c: the cluster's topics and timers. */

/* The live instances changed: every zone goes to its owner among them. */
void control_reown(struct control *c, int64_t now);
/* Gives up the instances that have been silent too long. */
void control_expire(struct control *c, int64_t now);
/* Says online every half keepalive, and notices that this process stood still. */
void control_heartbeat(struct control *c, int64_t now);
/* Routes a status, an order seen or an explanation. Returns false for any other topic. */
bool control_on_cluster(struct control *c, const char *topic, const void *payload, size_t len,
			bool retained, int64_t now);

/* control_dim.c: a dimmed zone's level. */

/* Publishes the zone's level on the levels topic, when this instance owns the zone. */
void control_dim_publish(struct control *c, struct zone *z);
/* A level on a zone's levels topic, from whichever instance: a takeover compares against it. */
void control_dim_seen(struct control *c, const char *zone, const void *payload, size_t len);

/* control_ha.c: Home Assistant discovery, with discovery on (c->disc). */

/* Every zone of ref.txt and every zone alive, with their states: after a connect, or when
 * Home Assistant starts. */
void control_ha_announce_all(struct control *c);
/* A zone came into being or was heard from: one without entities (any more) gets them. */
void control_ha_heard(struct control *c, struct zone *z, int64_t now);
/* A reading was applied: the zone's lux state goes out, at most once per lux_interval. */
void control_ha_reading(struct control *c, struct zone *z, int64_t now);
/* Lux changes whose interval is over; zones silent for forget_after. */
void control_ha_due(struct control *c, int64_t now);
/* The retained messages of a connect are in: clears configs that are none of our zones'. */
void control_ha_sweep(struct control *c);
/* A message under Home Assistant's prefix. Returns false when it is none of discovery's. */
bool control_ha_message(struct control *c, const char *topic, const void *payload, size_t len,
			bool retained);
/* After a reload from `old`: new sections announced, removed ones cleared or forgotten. */
void control_ha_reloaded(struct control *c, const struct thresholds *old, int64_t now);

#endif
