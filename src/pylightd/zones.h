/* zones.h -- the zone table: O(1) lookup by name and a heap of the zones' next wake times */
#ifndef PYLIGHT_ZONES_H
#define PYLIGHT_ZONES_H

#include <stddef.h>
#include <stdint.h>

#include "decide.h"
#include "feedback.h"
#include "takeover.h"

/*
 * One zone. The caller reads name and p and owns st, since_wall, warned_at, suppressed, fb
 * and own; the fields marked "table" belong to zones.c and change only through zones_*.
 * A city has a million: no hash handle, no allocation of its own (see zones.c).
 */
struct zone {
	struct zone_state st;
	const struct zone_params *p; /* from the thresholds table in force */
	int64_t wake;                /* table: DECIDE_NEVER when not in the heap */
	int64_t since_wall;          /* wall-clock seconds of the last change, for explanations */
	int64_t warned_at;           /* rate limit of rejected-input warnings */
	uint32_t suppressed;         /* warnings not logged since warned_at */
	uint32_t heap_idx;           /* table */
	struct feedback_state fb;    /* its lamp's reports (feedback.c) */
	struct ownership own;        /* which instance orders it (takeover.c) */
	int64_t vacant_at;           /* when its presence runs out (control_time.c), or NEVER */
	double one;                  /* table: the window when smoothing is 1 */
	char name[];
};

struct zones;

/* Returns 0 and an empty table in *out, or -ENOMEM. */
int zones_new(struct zones **out);
/* Frees the table and every zone in it; NULL is a no-op. */
void zones_free(struct zones *zs);
size_t zones_count(const struct zones *zs);

/* Finds a zone; NULL if none. */
struct zone *zones_find(struct zones *zs, const char *name);
/* Adds a zone with parameters `p` (name not present yet). Returns NULL on allocation failure. */
struct zone *zones_add(struct zones *zs, const char *name, const struct zone_params *p);
/* Calls fn for every zone, in no particular order. fn may reschedule zones, not add or free. */
void zones_foreach(struct zones *zs, void (*fn)(struct zone *z, void *ctx), void *ctx);

/* Gives the zone new parameters, resizing its smoothing window. Returns 0 or -ENOMEM. */
int zones_set_params(struct zone *z, const struct zone_params *p);
/* Moves the zone in the heap to its new wake time (DECIDE_NEVER removes it). */
int zones_schedule(struct zones *zs, struct zone *z, int64_t wake);
/* The earliest wake time of all zones, DECIDE_NEVER if none is scheduled. */
int64_t zones_next_wake(const struct zones *zs);
/* The zone that must wake first if its wake time is <= now, else NULL. It stays scheduled. */
struct zone *zones_due(const struct zones *zs, int64_t now);

#endif
