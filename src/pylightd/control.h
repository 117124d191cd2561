/* control.h -- turns messages and timers into decisions and publishes; one lock for all */
#ifndef PYLIGHT_CONTROL_H
#define PYLIGHT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "reject.h"
#include "thresholds.h"

struct control;

struct control_out {
	/* Publishes at the configured QoS. Called with the control lock held. */
	void (*publish)(void *ctx, const char *topic, const char *payload, size_t len, bool retain);
	/* Publishes a retained state, the broker's receipt proven later (mqtt_publish_state);
	 * NULL: publish, retained. Lock held. */
	void (*publish_state)(void *ctx, const char *topic, const char *payload, size_t len);
	/* The earliest zone deadline changed (monotonic_ms(), INT64_MAX = none). Lock held. */
	void (*wake)(void *ctx, int64_t when);
	/* Drops a subscription made at connect (may be NULL). Lock held. */
	void (*unsubscribe)(void *ctx, const char *filter);
	/*
	 * The next schedule edge changed: a wall-clock time (time()), 0 = none. The caller
	 * calls control_clock then, or at once when the clock is set. May be NULL. Lock held.
	 */
	void (*wall)(void *ctx, time_t when);
	/* The lamp feedback and presence topics to listen to from now on, on every connect
	 * (may be NULL). */
	void (*listen)(void *ctx, const char *const *topics, size_t n);
	void *ctx;
};

struct control_stats {
	uint64_t readings, orders, rejected, overrides, stale;
	uint64_t rejected_by[REJECT_REASONS]; /* `rejected` by reason: they add up to it */
	/* Lamp feedback: orders confirmed, orders published again, hand switches seen. */
	uint64_t confirmations, retries, manual;
	uint64_t unconfirmed; /* zones whose lamp never confirmed their order, retries spent */
	bool feedback;        /* some zone of the thresholds in force has feedback */
	size_t zones;
	/* With [cluster] node: the live instances (this one included once it is) and the zones
	 * this one owns; node NULL and owned == zones alone. */
	const char *node;
	size_t live, owned;
};

/* Takes ownership of `t`. The configuration must outlive the control. */
int control_new(const struct config *cfg, struct thresholds *t, const struct control_out *out,
		struct control **ctl);
void control_free(struct control *ctl);

/*
 * A message from the broker: a reading, an override, Home Assistant's, a lamp's or, in a
 * cluster, an instance's status, an order or a zone's explanation, by topic; `retained` when
 * the broker delivered it from its store on a new subscription. Thread-safe.
 */
void control_message(struct control *ctl, const char *topic, const void *payload, size_t len,
		     bool retained);
/*
 * The broker connection is (re)established: with discovery on, announces every zone and
 * clears ghost configs a little later (out.wake). Thread-safe.
 */
void control_connected(struct control *ctl);
/*
 * The connection is lost, or about to be closed on purpose: in a cluster, this instance owns
 * no zone until it is back.
 */
void control_disconnected(struct control *ctl);
/* Hands the feedback and presence topics in force to out.listen (reloads do it too). */
void control_listen(struct control *ctl);
/*
 * The wall clock reached the next schedule edge (out.wall), or was set (`stepped`: an NTP
 * step, date -s, a resume): the zones whose schedule changed decide at once. Thread-safe.
 */
void control_clock(struct control *ctl, bool stepped);
/* Runs every zone whose deadline has passed. Thread-safe. */
void control_timer(struct control *ctl);
/*
 * Swaps in new thresholds (ownership taken) and re-evaluates every zone with its latest
 * reading; a reading is decided entirely by the old table or entirely by the new one. The
 * sensors still listed keep their values. Returns 0, or -ENOMEM with the old table kept.
 */
int control_reload(struct control *ctl, struct thresholds *t);
void control_stats(struct control *ctl, struct control_stats *st);
/* Hands every zone's mode name ("auto", ...) to `count`, under the lock: the published
 * counters' zones by mode. */
void control_count_modes(struct control *ctl, void (*count)(void *arg, const char *mode),
			 void *arg);
/* One line per zone: state, mode, lux, thresholds, counters, and its owner in a cluster. */
void control_dump(struct control *ctl, void (*line)(const char *text));

#endif
