/* zonecache.h -- the latest retained explanation of each zone, as pylightd published it */
#ifndef PYLIGHT_WEB_ZONECACHE_H
#define PYLIGHT_WEB_ZONECACHE_H

#include <stddef.h>

#include "thresholds.h"

struct zonecache;

struct zonecache *zonecache_new(void);
void zonecache_free(struct zonecache *zc);
/*
 * Records `len` bytes of JSON as the explanation of `zone`; an empty payload (a cleared
 * retained message) forgets the zone, and anything but a JSON object is ignored. Returns 0,
 * -EINVAL (ignored) or -ENOMEM. Thread-safe.
 */
int zonecache_put(struct zonecache *zc, const char *zone, const char *payload, size_t len);
/* Changes with every explanation recorded or forgotten. */
unsigned long zonecache_generation(struct zonecache *zc);
/*
 * The zone list as a JSON array (malloc'd, *len bytes) sorted by name: every zone with an
 * explanation, and every [zone NAME] section of `t` (state and mode null), each with the
 * explanation's fields and on_below/off_above in force from `t` (when not NULL). NULL when
 * out of memory. Thread-safe.
 */
char *zonecache_json(struct zonecache *zc, const struct thresholds *t, size_t *len);

#endif
