/* takeover.h -- several instances: heartbeats, silent ones given up, zones taken over */
#ifndef PYLIGHT_TAKEOVER_H
#define PYLIGHT_TAKEOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "decide.h"

/* One zone's ownership among the instances. */
struct ownership {
	bool mine;              /* this instance publishes its orders (always, alone) */
	uint8_t order_seen;     /* enum light: the last order seen on its topic */
	int8_t level_seen;      /* a dimmed zone's last level seen on its topic; -1: none */
	int64_t reexplained_at; /* rate limit of answers to others' explanations */
};

/* This instance's view of the others over time; takeover_init sets it up. */
struct takeover {
	int64_t beat;       /* when this process was last seen running */
	int64_t beat_every; /* half the keepalive, in ms; 0: not watched */
	int64_t expire_at;  /* when the next silent instance is given up; or DECIDE_NEVER */
	bool adopting;      /* retained explanations are taken in (after a connect) */
	bool connected;     /* between a connect and a disconnect */
	size_t owned;       /* zones with `mine` set */
	size_t logged_live, logged_owned; /* what the last ownership log line said */
};

/* What a step of the cluster asks its caller to do; all false when nothing. */
struct takeover_action {
	bool online;      /* publish this instance's "online" ... */
	bool retain;      /* ... retained (else a heartbeat, not retained) */
	bool refute;      /* log: the broker fired an old Last Will of this instance */
	bool stood_still; /* log: this instance stood still for `still` ms, owns nothing now */
	int64_t still;
	bool full;        /* log: more than CLUSTER_NODES_MAX instances, this one not counted */
	bool nomem;       /* log: out of memory for an instance */
	bool expired;     /* log: an instance said nothing for `silent` ms, given up */
	int64_t silent;
	bool reown;       /* the live instances changed: every zone goes to its owner */
};

/* `keepalive` in seconds; 0 when this instance is alone (no heartbeat). */
void takeover_init(struct takeover *tk, int keepalive);
/* Connected at `now` (cl reset: nobody is live until the statuses come again). */
void takeover_connected(struct takeover *tk, struct cluster *cl, int64_t now);
/* Disconnected: orders queued now would be replayed after the others took the zones over. */
void takeover_disconnected(struct takeover *tk, struct cluster *cl);
/*
 * The retained messages of a connect are in: adoption ends. Returns true when this instance
 * has not heard its own online yet (worth a warning: it orders nothing until it does).
 */
bool takeover_settle(struct takeover *tk, const struct cluster *cl);
/* When takeover_heartbeat or takeover_expire must run next; DECIDE_NEVER if not. */
int64_t takeover_next(const struct takeover *tk);

/*
 * Every half keepalive: say online again, or notice that this instance stood still long
 * enough for the others to take its zones over (then it owns none until its online is back).
 */
void takeover_heartbeat(struct takeover *tk, struct cluster *cl, int64_t now,
			struct takeover_action *a);
/* Gives up the instances silent for 1.5 x keepalive. */
void takeover_expire(struct takeover *tk, struct cluster *cl, int64_t now,
		     struct takeover_action *a);
/*
 * Instance `name` said `online` (or anything else: gone) on its status topic. Returns false
 * when the status is none to count (a name with '/', or this one's own retained status).
 */
bool takeover_status(struct takeover *tk, struct cluster *cl, const char *name, bool online,
		     bool retained, int64_t now, struct takeover_action *a);
/*
 * Counts `mine` (the zone's ownership after a change of live instances). Returns true when
 * this instance took the zone over.
 */
bool takeover_reown(struct takeover *tk, struct ownership *o, bool mine);
/* After a change of live instances: true when the count of live and owned zones is new. */
bool takeover_changed(struct takeover *tk, size_t live);

/*
 * Whether this instance, the zone's owner, answers another's explanation of it with its own
 * at `now` (always for `news` it took in, else at most once a second): so that the retained
 * one names the owner and is the newest.
 */
bool takeover_answer(struct ownership *o, bool news, int64_t now);
/*
 * This instance became the zone's owner: decides into *d, ordering the zone's light when the
 * last order seen differs (the one before is still in force).
 */
void takeover_decide(struct zone_state *s, const struct zone_params *p, enum light order_seen,
		     int64_t now, struct decision *d);
/*
 * After takeover_decide, for a dimmed zone: without a reading of its own it takes the last
 * level seen, and it publishes its level only when that differs from the last level seen.
 */
void takeover_level(struct zone_state *s, const struct zone_params *p, int level_seen,
		    struct decision *d);
/* An order for `light` was seen on the zone's topic, from whichever instance. */
void takeover_order_seen(const struct takeover *tk, struct ownership *o, struct zone_state *s,
			 enum light light, int64_t now);

#endif
