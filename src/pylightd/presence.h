/* presence.h -- whether a zone is occupied, and which zones a presence topic reaches */
#ifndef PYLIGHT_PRESENCE_H
#define PYLIGHT_PRESENCE_H

#include <stdbool.h>
#include <stdint.h>

/* A zone's presence sensors are bits of a 16-bit mask (ref.txt's `occupancy` allows 16). */
#define PRESENCE_SENSORS 16

/*
 * A zone's presence, 16 bytes. All zero is the state before any report: every sensor
 * counts as present until it says otherwise, so a dead sensor never leaves anyone in the dark.
 */
struct presence {
	uint16_t heard;      /* sensors that have reported, by bit */
	uint16_t present;    /* ... whose latest report was presence */
	int64_t absent_from; /* monotonic ms at which the last present sensor reported absence */
};

/*
 * Records a report of sensor `i` (0..n-1 of the zone's n sensors; others are ignored) at
 * `now` (monotonic ms). A repeated "absent" does not move the vacancy deadline: sensors that
 * report on a period would otherwise keep an empty room lit. Retained reports are ordinary ones.
 */
void presence_report(struct presence *p, unsigned n, unsigned i, bool present, int64_t now);

/*
 * Whether the zone is occupied at `now`: some sensor's latest report is presence (or it has
 * not reported), or `vacancy_after` ms have not passed since the last of them said absent.
 * *deadline is when it becomes vacant if no report comes, or -1 when that is not pending
 * (someone present, or already vacant). A zone without sensors (n = 0) is always occupied.
 */
bool presence_occupied(const struct presence *p, unsigned n, int64_t vacancy_after, int64_t now,
		       int64_t *deadline);

/* --- the zones by the presence topics they list ------------------------------------- */

struct zone;
struct occupancy;

/*
 * Which zones a report on a presence topic concerns, without a walk over every zone: each
 * topic's zones that list it themselves, and one set of the zones that inherit the global
 * `occupancy` (their list is the global one itself), reached from every global topic. A zone
 * without presence sensors costs nothing; one that inherits costs one pointer, whatever the
 * length of the global list.
 */
struct presence_index;

/* Returns 0 and an empty index in *out, or -ENOMEM. */
int presence_index_new(struct presence_index **out);
/* Frees the index (not the zones); NULL is a no-op. */
void presence_index_free(struct presence_index *ix);
/*
 * Forgets every zone, for a new table whose global list is `global` (NULL: none; the index
 * keeps the pointer, which must live until the next reset). Returns 0 or -ENOMEM.
 */
int presence_index_reset(struct presence_index *ix, const struct occupancy *global);
/*
 * Files `z`, whose list is `occ` (NULL: none, nothing to do), under each of its topics; once
 * per zone after each reset. Returns 0 or -ENOMEM (then filed under some of them).
 */
int presence_index_add(struct presence_index *ix, const struct occupancy *occ, struct zone *z);
/*
 * Calls fn once for every zone filed under `topic`, in no particular order. fn must not add
 * to or reset the index.
 */
void presence_index_foreach(const struct presence_index *ix, const char *topic,
			    void (*fn)(struct zone *z, void *ctx), void *ctx);

/*
 * For the daemon (control.c), once this is wired in:
 *  - one struct presence per zone with `occupancy` (reset to zero when a reload changes the
 *    zone's list of sensors), fed by presence_parse() on each of its topics; a topic may be
 *    listed by several zones and then feeds each of them;
 *  - after a report or at the zone's deadline, call presence_occupied(); a change decides at
 *    once from the last smoothed lux (no dwell), and the deadline goes on the zone deadline
 *    heap that already drives dwell and stale timers (monotonic: vacancy is a duration, so a
 *    wall-clock step must not move it);
 *  - in a cluster every instance subscribes to every presence topic and keeps every zone's
 *    presence, so the one that takes a zone over already knows it.
 */

#endif
