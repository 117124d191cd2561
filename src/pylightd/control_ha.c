/* control_ha.c -- carries out Home Assistant discovery: configs, states, lux, forgetting */
#include <string.h>

#include "control_impl.h"
#include "discovery.h"
#include "entities.h"
#include "log.h"
#include "monotonic.h"
#include "number.h"

static void publish_config(void *ctx, const char *topic, const char *payload)
{
	struct control *c = ctx;

	c->out.publish(c->out.ctx, topic, payload, strlen(payload), /* retain = */ true);
}

static void announce(struct control *c, const char *zone)
{
	const struct zone_params *p = thresholds_get(c->t, zone);

	if (discovery_announce(c->disc, zone, publish_config, c) < 0 ||
	    (p->target_lux > 0 && discovery_announce_level(c->disc, zone, publish_config, c) < 0) ||
	    (p->occupancy && discovery_announce_occupancy(c->disc, zone, publish_config, c) < 0))
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
	if (!z->own.mine)
		return;
	if (entities_published(c->ent, zid, &lux))
		publish_lux(c, z->name, lux);
	if (c->cfg->topics_zone_state[0] && (z->st.has_reading || z->st.light != LIGHT_UNKNOWN)) {
		decide_tick(&z->st, z->p, monotonic_ms(), &d);
		control_apply(c, z, &d, monotonic_ms(), true);
	}
}

/* Every zone of ref.txt and every zone alive: after a connect, or when Home Assistant starts. */
void control_ha_announce_all(struct control *c)
{
	thresholds_foreach_section(c->t, announce_section, c);
	zones_foreach(c->zones, announce_alive, c);
}

/* The zone `zid` was heard from: one that has no entities (any more) gets them. */
static void heard(struct control *c, struct zone *z, const char *zid, int64_t now)
{
	int rc = entities_heard(c->ent, zid, z->name, now);

	if (rc < 0)
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its discovery", z->name);
	else if (rc > 0 && !thresholds_has_section(c->t, z->name))
		announce(c, z->name); /* zones of ref.txt were announced with it */
}

void control_ha_heard(struct control *c, struct zone *z, int64_t now)
{
	char zid[512];

	discovery_zone_id(z->name, zid, sizeof(zid));
	heard(c, z, zid, now);
}

/*
 * A reading was applied: the zone is heard from, and its decided lux goes out, at most once
 * per lux_interval. Its id is worked out once per reading.
 */
void control_ha_reading(struct control *c, struct zone *z, int64_t now)
{
	char zid[512];

	discovery_zone_id(z->name, zid, sizeof(zid));
	heard(c, z, zid, now);
	if (z->own.mine && z->st.has_reading && entities_lux(c->ent, zid, z->st.smoothed, now))
		publish_lux(c, z->name, z->st.smoothed);
}

static void ha_due_lux(void *ctx, const char *zone, double lux)
{
	struct control *c = ctx;
	struct zone *z = zones_find(c->zones, zone);

	if (z && z->own.mine)
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
void control_ha_due(struct control *c, int64_t now)
{
	struct entities_out out = ha_out(c);

	entities_due(c->ent, now, &out);
}

static void keep_section(void *ctx, const char *zone, const struct zone_params *p)
{
	discovery_keep(ctx, zone);
	if (p->target_lux > 0)
		discovery_keep_level(ctx, zone);
}

static void keep_alive(struct zone *z, void *ctx)
{
	struct control *c = ctx;

	if (!ha_known(c, z->name))
		return;
	discovery_keep(c->disc, z->name);
	if (z->p->target_lux > 0)
		discovery_keep_level(c->disc, z->name);
}

/* A zone with entities that this process has not heard from: its forget clock starts now. */
static void keep_known(void *ctx, const char *zid)
{
	struct control *c = ctx;

	if (entities_heard(c->ent, zid, NULL, monotonic_ms()) < 0)
		log_msg(LOG_ERR, "homeassistant: out of memory for %s", zid);
}

/* Clears the retained configs that are not of one of our zones' entities. */
void control_ha_sweep(struct control *c)
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
bool control_ha_message(struct control *c, const char *topic, const void *payload, size_t len,
			bool retained)
{
	if (strcmp(topic, discovery_status_topic(c->disc)) == 0) {
		/* Home Assistant (re)started: it forgot what it was told. */
		if (len == 6 && memcmp(payload, "online", 6) == 0)
			control_ha_announce_all(c);
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
void control_ha_reloaded(struct control *c, const struct thresholds *old, int64_t now)
{
	struct entities_out out = ha_out(c);

	thresholds_foreach_section(c->t, announce_new_section, &(struct reload_news){ c, old });
	thresholds_foreach_section(old, sweep_old_section, &(struct reload_news){ c, c->t });
	entities_replan(c->ent, now, &out);
}
