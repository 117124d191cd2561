/* zonecache.h -- every zone the page lists: explanations, sections, in name order, changes */
#ifndef PYLIGHT_WEB_ZONECACHE_H
#define PYLIGHT_WEB_ZONECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thresholds.h"

struct zonecache;

/*
 * `epoch` tells this run's tokens from an earlier run's (the caller passes the start time in
 * microseconds): a page left open across a restart gets "unknown token", not a wrong delta.
 */
struct zonecache *zonecache_new(uint64_t epoch);
void zonecache_free(struct zonecache *zc);
/*
 * Records `len` bytes of JSON as the explanation of `zone`; an empty payload (a cleared
 * retained message) forgets the explanation, and anything but a JSON object is ignored.
 * Returns 0, -EINVAL (ignored) or -ENOMEM. Thread-safe, as every function here.
 */
int zonecache_put(struct zonecache *zc, const char *zone, const char *payload, size_t len);
/*
 * The thresholds in force (NULL: none yet): every [zone NAME] section is listed, and each
 * zone carries its on_below/off_above (and target_lux) from `t`. `t` is borrowed until the
 * next call, which the caller makes (with NULL at the end) before it frees `t`. Zones whose
 * thresholds changed count as changed. Returns 0 or -ENOMEM (some zones then keep the old).
 */
int zonecache_thresholds(struct zonecache *zc, const struct thresholds *t);

/* Which zones a page or a delta holds. */
struct zonecache_filter {
	const char *q;     /* a substring of the name, bytes as they are; NULL or "": any */
	bool by_state;     /* then only zones whose state is `state` (NULL: null) */
	const char *state;
	bool by_mode;      /* likewise for the mode */
	const char *mode;
};

/*
 * Every zone as a JSON array sorted by name (malloc'd, *len bytes), each zone an object with
 * "zone", the explanation's members (state and mode null without one) and the thresholds in
 * force. NULL when out of memory.
 */
char *zonecache_json(struct zonecache *zc, size_t *len);
/*
 * {"token": T, "total": N, "counts": {"state": {...}, "mode": {...}}, "zones": [...]}: the
 * zones that pass `f`, from the offset-th (0 first) for at most `limit`, N of them in all;
 * counts are of every zone, by state and by mode. NULL when out of memory.
 */
char *zonecache_page(struct zonecache *zc, const struct zonecache_filter *f, size_t offset,
		     size_t limit, size_t *len);
/*
 * {"token", "total", "counts", "zones": [...], "removed": [names]}: the zones passing `f`
 * that changed since the answer that gave `token`, and the names (matching f->q) of those
 * gone since, or whose state or mode changed so that they no longer pass. Returns 0 with
 * *out, -EINVAL for text that is no token, -ESTALE for a token of another run, a future one
 * or one older than the oldest change kept, -E2BIG when more than `limit` names would be
 * listed, -ENOMEM.
 */
int zonecache_since(struct zonecache *zc, const struct zonecache_filter *f, const char *token,
		    size_t limit, char **out, size_t *len);

#endif
