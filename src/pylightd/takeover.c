/* takeover.c -- several instances: heartbeats, silent ones given up, zones taken over */
#include "takeover.h"

#include <errno.h>
#include <string.h>

void takeover_init(struct takeover *tk, int keepalive)
{
	*tk = (struct takeover){ .beat_every = keepalive * 500LL, .expire_at = DECIDE_NEVER };
}

void takeover_connected(struct takeover *tk, struct cluster *cl, int64_t now)
{
	cluster_reset(cl);
	tk->adopting = true;
	tk->connected = true;
	tk->beat = now;
	tk->expire_at = DECIDE_NEVER;
}

void takeover_disconnected(struct takeover *tk, struct cluster *cl)
{
	tk->connected = false;
	tk->expire_at = DECIDE_NEVER;
	cluster_reset(cl);
}

bool takeover_settle(struct takeover *tk, const struct cluster *cl)
{
	tk->adopting = false;
	return tk->connected && !cluster_self_live(cl);
}

int64_t takeover_next(const struct takeover *tk)
{
	int64_t when = tk->expire_at;

	if (tk->beat_every && tk->connected && tk->beat + tk->beat_every < when)
		when = tk->beat + tk->beat_every;
	return when;
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
void takeover_heartbeat(struct takeover *tk, struct cluster *cl, int64_t now,
			struct takeover_action *a)
{
	int64_t still = now - tk->beat;

	if (!tk->beat_every || !tk->connected || still < tk->beat_every)
		return;
	tk->beat = now;
	if (!cluster_self_live(cl))
		return;
	a->online = true;
	if (still <= tk->beat_every * 3 / 2 + 1000)
		return;
	a->stood_still = a->retain = a->reown = true;
	a->still = still;
	cluster_status(cl, cluster_self(cl), false, now);
}

/*
 * Gives up the instances that said nothing for 1.5 x keepalive (each says online every half
 * keepalive): a frozen host's Last Will comes only when the broker next checks, seconds
 * later with mosquitto. Their zones move at once.
 */
void takeover_expire(struct takeover *tk, struct cluster *cl, int64_t now,
		     struct takeover_action *a)
{
	bool changed;

	if (!tk->beat_every || !tk->connected) {
		tk->expire_at = DECIDE_NEVER;
		return;
	}
	tk->expire_at = cluster_expire(cl, now, 3 * tk->beat_every, &changed);
	if (changed) {
		a->expired = a->reown = true;
		a->silent = 3 * tk->beat_every;
	}
}

/*
 * STATUS/NAME: an instance is live while it says "online". This one counts itself only
 * when its own "online" of this connection comes back: it was published after the
 * subscription, so the others' retained statuses are in by then.
 */
bool takeover_status(struct takeover *tk, struct cluster *cl, const char *name, bool online,
		     bool retained, int64_t now, struct takeover_action *a)
{
	bool self = !strcmp(name, cluster_self(cl));
	int rc;

	if (strchr(name, '/') || (self && retained))
		return false;
	if (self && !online && tk->connected) {
		/* The Last Will of an earlier connection, fired late: this one is alive. */
		a->refute = a->online = a->retain = true;
	}
	rc = cluster_status(cl, name, online, now);
	if (rc == -ENOSPC)
		a->full = true;
	else if (rc < 0)
		a->nomem = true;
	else if (rc > 0)
		a->reown = true;
	return true;
}

bool takeover_reown(struct takeover *tk, struct ownership *o, bool mine)
{
	bool was = o->mine;

	o->mine = mine;
	tk->owned += mine;
	return mine && !was;
}

bool takeover_changed(struct takeover *tk, size_t live)
{
	if (live == tk->logged_live && tk->owned == tk->logged_owned)
		return false;
	tk->logged_live = live;
	tk->logged_owned = tk->owned;
	return true;
}

bool takeover_answer(struct ownership *o, bool news, int64_t now)
{
	if (!o->mine || (!news && now - o->reexplained_at < 1000))
		return false;
	o->reexplained_at = now;
	return true;
}

void takeover_decide(struct zone_state *s, const struct zone_params *p, enum light order_seen,
		     int64_t now, struct decision *d)
{
	/*
	 * Without a reading of its own (its state adopted, or none), this instance has nothing
	 * to set against the last order seen: a reading that came just before its readings
	 * subscription is known here only by the order it gave.
	 */
	if (!s->has_reading && order_seen != LIGHT_UNKNOWN && s->mode != MODE_OVERRIDE)
		s->light = order_seen;
	decide_tick(s, p, now, d);
	if (!d->order && s->light != LIGHT_UNKNOWN && s->light != order_seen) {
		d->order = true;
		d->light = s->light;
	}
}

void takeover_level(struct zone_state *s, const struct zone_params *p, int level_seen,
		    struct decision *d)
{
	if (p->target_lux <= 0 || s->light == LIGHT_UNKNOWN)
		return;
	if (!s->has_reading && s->light == LIGHT_ON && level_seen > 0 && s->mode == MODE_AUTO)
		s->level = (uint8_t)level_seen;
	d->level_order |= decide_level(s) != level_seen;
}

void takeover_order_seen(const struct takeover *tk, struct ownership *o, struct zone_state *s,
			 enum light light, int64_t now)
{
	o->order_seen = (uint8_t)light;
	/*
	 * Just (re)connected, this instance may have missed the reading behind the order (it
	 * came before the readings subscription): the owner's order is the better word.
	 */
	if (tk->adopting && !o->mine && s->mode == MODE_AUTO && s->light != light) {
		s->light = light;
		s->changed_at = now;
	}
}
