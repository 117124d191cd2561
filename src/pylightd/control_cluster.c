/* control_cluster.c -- carries out what the other instances mean: takeovers and adoption */
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "control_impl.h"
#include "explain.h"
#include "log.h"
#include "monotonic.h"
#include "takeover.h"
#include "topic.h"

/* What a change of the live instances hands to every zone. */
struct reown_ctx {
	struct control *c;
	int64_t now;
};

/* A zone this instance took over says so in its explanation, and may need an order. */
static void zone_reown(struct zone *z, void *arg)
{
	struct reown_ctx *r = arg;
	struct decision d;

	if (!takeover_reown(&r->c->tk, &z->own, cluster_owns(r->c->cl, z->name)))
		return;
	takeover_decide(&z->st, z->p, (enum light)z->own.order_seen, r->now, &d);
	takeover_level(&z->st, z->p, z->own.level_seen, &d);
	control_apply(r->c, z, &d, r->now, true);
}

/* The live instances changed: every zone goes to its owner among them. */
void control_reown(struct control *c, int64_t now)
{
	struct reown_ctx r = { .c = c, .now = now };
	size_t live = cluster_live(c->cl);

	c->tk.owned = 0;
	zones_foreach(c->zones, zone_reown, &r);
	if (takeover_changed(&c->tk, live))
		log_msg(LOG_NOTICE, "cluster: %zu live instance%s; node %s owns %zu of %zu zones",
			live, live == 1 ? "" : "s", cluster_self(c->cl), c->tk.owned,
			zones_count(c->zones));
}

/* Carries out what the cluster asks for; `name` is the instance a status came from. */
static void cluster_apply(struct control *c, const char *name, const struct takeover_action *a,
			  int64_t now)
{
	const char *self = cluster_self(c->cl);
	const char *topic;

	if (a->refute)
		log_msg(LOG_WARNING, "cluster: the broker says node %s is gone; it is not", self);
	if (a->stood_still)
		log_msg(LOG_WARNING,
			"cluster: node %s stood still for %lld s: it owns no zone "
			"until the broker echoes its online",
			self, (long long)(a->still / 1000));
	if (a->full)
		control_warn(c, NULL, name, now, "more than %d instances: '%s' not counted",
			     CLUSTER_NODES_MAX, name);
	if (a->nomem)
		log_msg(LOG_ERR, "cluster: out of memory for instance '%s'", name);
	if (a->expired)
		log_msg(LOG_NOTICE, "cluster: an instance said nothing for %lld s: gone",
			(long long)(a->silent / 1000));
	if (a->online && (topic = control_zone_topic(c, c->cfg->topics_status, self)))
		c->out.publish(c->out.ctx, topic, "online", 6, a->retain);
	if (a->reown)
		control_reown(c, now);
}

void control_expire(struct control *c, int64_t now)
{
	struct takeover_action a = { 0 };

	takeover_expire(&c->tk, c->cl, now, &a);
	cluster_apply(c, NULL, &a, now);
}

void control_heartbeat(struct control *c, int64_t now)
{
	struct takeover_action a = { 0 };

	if (!c->cl)
		return;
	takeover_heartbeat(&c->tk, c->cl, now, &a);
	cluster_apply(c, NULL, &a, now);
}

/* STATUS/NAME: an instance says whether it is online. */
static void on_status(struct control *c, const char *name, const void *payload, size_t len,
		      bool retained, int64_t now)
{
	struct takeover_action a = { 0 };
	bool online = len == 6 && memcmp(payload, "online", 6) == 0;

	if (!takeover_status(&c->tk, c->cl, name, online, retained, now, &a))
		return;
	cluster_apply(c, name, &a, now);
	control_expire(c, now);
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
		takeover_order_seen(&c->tk, &z->own, &z->st, LIGHT_ON, now);
	else if (len == strlen(cfg->orders_off_payload) &&
		 !memcmp(payload, cfg->orders_off_payload, len))
		takeover_order_seen(&c->tk, &z->own, &z->st, LIGHT_OFF, now);
}

/* Takes the zone's state from another instance's explanation. */
static void adopt(struct control *c, struct zone *z, const struct explained *e, int64_t now)
{
	explain_adopt(&z->st, &z->since_wall, e, now, (int64_t)time(NULL), wall_ms());
	z->own.order_seen = (uint8_t)z->st.light;
	if (e->level >= 0) /* what the explanation says is in force, as for the order */
		z->own.level_seen = (int8_t)e->level;
	if (z->st.mode == MODE_OVERRIDE && z->st.override_until < z->wake)
		control_schedule(c, z, z->st.override_until);
	log_zone(LOG_INFO, z->name, "zone '%s': adopted %s %s from its explanation", z->name,
		 light_name(z->st.light), mode_name(z->st.mode));
}

/* A zone's explanation from another instance (or this one's own, echoed). */
static void on_explanation(struct control *c, const char *name, const void *payload, size_t len,
			   bool retained, int64_t now)
{
	struct zone *z = zones_find(c->zones, name);
	struct explained e;
	enum explain_news news =
		explain_heard(z, payload, len, c->node_needle, retained && c->tk.adopting, &e);

	if (news == EXPLAIN_NEWS && (z || (z = control_zone_get(c, name, now))))
		adopt(c, z, &e, now);
	/* An owner that takes news in, or sees its zone explained by another instance (one
	 * that took the zone over while views differed, its message arriving last), answers. */
	if (news != EXPLAIN_IGNORED && z && takeover_answer(&z->own, news == EXPLAIN_NEWS, now))
		control_reexplain(c, z, now);
}

/* Routes the cluster's own topics. Returns false when `topic` is none of them. */
bool control_on_cluster(struct control *c, const char *topic, const void *payload, size_t len,
			bool retained, int64_t now)
{
	const char *name;

	if ((name = topic_zone(topic, c->cfg->topics_status, c->status_len)) && name[0])
		on_status(c, name, payload, len, retained, now);
	else if ((name = topic_zone(topic, c->cfg->topics_orders, c->orders_len)))
		on_order_seen(c, name, payload, len, now);
	else if ((name = topic_zone(topic, c->cfg->topics_levels,
					    strlen(c->cfg->topics_levels))))
		control_dim_seen(c, name, payload, len);
	else if (c->zone_state_len &&
		 (name = topic_zone(topic, c->cfg->topics_zone_state, c->zone_state_len)))
		on_explanation(c, name, payload, len, retained, now);
	else
		return false;
	return true;
}
