/* sensors.h -- the zones' listed sensors: latest values, freshness, and the aggregate decided on */
#ifndef PYLIGHT_SENSORS_H
#define PYLIGHT_SENSORS_H

#include <stdbool.h>
#include <stdint.h>

#include "decide.h"
#include "thresholds.h"

#define SENSOR_NEVER_SEEN INT64_MIN

struct zone;

/* The latest accepted reading of one listed sensor. */
struct sensor_value {
	double lux;
	int64_t at;        /* SENSOR_NEVER_SEEN until its first reading */
	struct zone *zone; /* its zone once found (zones live as long as the table) */
};

/* The fresh sensors of a zone, gathered for one decision. */
struct fresh {
	unsigned n;    /* how many are fresh */
	int64_t since; /* the zone is fresh while its min_sensors-th freshest sensor is */
	double lux[SENSORS_MAX];
};

/*
 * Values for every sensor `t` lists (by its sensor numbers), kept from `old` (numbered by
 * `old_t`) where listed there; `old` NULL for none. NULL when out of memory. sensors_free.
 */
struct sensor_value *sensors_new(const struct thresholds *t, const struct sensor_value *old,
				 const struct thresholds *old_t);
/* NULL is a no-op. */
void sensors_free(struct sensor_value *v);

/* Whether sensor `i` of a zone with parameters `p` is silent or stale at `now`. */
bool sensors_stale(const struct sensor_value *v, const struct zone_params *p, unsigned i,
		   int64_t now);
/*
 * Gathers the zone's fresh sensors. Returns true when there are at least min_sensors of them:
 * then f->since is when the min_sensors-th freshest of them reported.
 */
bool sensors_fresh(const struct sensor_value *v, const struct zone_params *p, int64_t now,
		   struct fresh *f);
/*
 * Sensor `i` of the zone (state `s`) read `lux` at `now`: stores it and, when enough of the
 * zone's sensors are fresh, decides on their aggregate into *d. Returns whether it decided
 * (if not, the zone goes stale by its own timer, if it decided before).
 */
bool sensors_reading(struct sensor_value *v, struct zone_state *s, const struct zone_params *p,
		     unsigned i, double lux, int64_t now, struct decision *d);
/*
 * The zone has new parameters `p` (a reload): a zone with sensors whose aggregate changed
 * takes it as one new sample; its freshness is recounted against its (maybe new)
 * min_sensors. Then it decides into *d.
 */
void sensors_reload(const struct sensor_value *v, struct zone_state *s,
		    const struct zone_params *p, int64_t now, struct decision *d);

#endif
