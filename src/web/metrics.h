/* metrics.h -- /metrics: pylightd's published counters and the zones, for Prometheus */
#ifndef PYLIGHT_WEB_METRICS_H
#define PYLIGHT_WEB_METRICS_H

#include <stddef.h>

#include "bus.h"
#include "config.h"

struct metrics;

/*
 * Listens (through `bus`, before bus_start) to [topics] stats and status, per instance, and
 * to the zones' explanations for pylight_zone_on while there are at most [web]
 * metrics_zones zones. Returns 0 or -errno. The configuration must outlive the metrics.
 */
int metrics_new(const struct config *cfg, struct bus *bus, struct metrics **out);
void metrics_free(struct metrics *m);

/*
 * The Prometheus text exposition (format 0.0.4), malloc'd, *len bytes; NULL when out of
 * memory. Thread-safe.
 */
char *metrics_text(struct metrics *m, size_t *len);

#endif
