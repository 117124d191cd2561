/* topic.h -- the zone-topic rule: `base` names the default zone "", `base/ZONE` names ZONE */
#ifndef PYLIGHT_TOPIC_H
#define PYLIGHT_TOPIC_H

#include <stddef.h>

/*
 * The zone that `topic` names below `base` (`blen` = strlen(base)): "" for `base` itself,
 * ZONE (a pointer into `topic`) for `base/ZONE`, NULL for anything else, `base/` included.
 */
const char *topic_zone(const char *topic, const char *base, size_t blen);

/*
 * The topic of `zone` below `base`: `base` itself for "", else "base/zone" written in *buf,
 * a malloc'd buffer of *cap bytes grown as needed (start with NULL and 0; free it when
 * done). NULL when out of memory.
 */
const char *topic_of_zone(const char *base, const char *zone, char **buf, size_t *cap);

#endif
