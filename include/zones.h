/* zones.h -- the zone table: O(1) lookup by name and a heap of the zones' next wake times */
#ifndef PYLIGHT_ZONES_H
#define PYLIGHT_ZONES_H

#include <stddef.h>
#include <stdint.h>
/* uthash would exit() when out of memory; zones_add reports it instead. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "decide.h"

struct zone {
	UT_hash_handle hh;
	struct zone_state st;
	const struct zone_params *p; /* from the thresholds table in force */
	int64_t wake;                /* DECIDE_NEVER when not in the heap */
	size_t heap_idx;
	int64_t since_wall;          /* wall-clock seconds of the last change, for explanations */
	int64_t warned_at;           /* rate limit of rejected-input warnings */
	uint32_t suppressed;         /* warnings not logged since warned_at */
	double one;                  /* the window when smoothing is 1 */
	char name[];
};

struct zones {
	struct zone *by_name;
	struct zone **heap;
	size_t nheap, heapcap;
	size_t count;
};

/* Finds a zone; NULL if none. */
struct zone *zones_find(struct zones *zs, const char *name);
/* Adds a zone with parameters `p` (name not present yet). Returns NULL on allocation failure. */
struct zone *zones_add(struct zones *zs, const char *name, const struct zone_params *p);
/* Gives the zone new parameters, resizing its smoothing window. Returns 0 or -ENOMEM. */
int zones_set_params(struct zone *z, const struct zone_params *p);
/* Moves the zone in the heap to its new wake time (DECIDE_NEVER removes it). */
int zones_schedule(struct zones *zs, struct zone *z, int64_t wake);
/* The zone that must wake first, or NULL. */
struct zone *zones_first(const struct zones *zs);
/* Frees every zone; the struct itself is the caller's. */
void zones_clear(struct zones *zs);

#endif
