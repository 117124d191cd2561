/* sensors.c -- the zones' listed sensors: latest values, freshness, and the aggregate decided on */
#include "sensors.h"

#include <stdlib.h>

struct sensor_value *sensors_new(const struct thresholds *t, const struct sensor_value *old,
				 const struct thresholds *old_t)
{
	unsigned n = thresholds_sensor_count(t);
	struct sensor_value *v = malloc((n ? n : 1) * sizeof(*v));
	const char *zone;

	if (!v)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		int was = old && old_t ?
				  thresholds_sensor(old_t, thresholds_sensor_name(t, i), &zone) : -1;

		v[i] = was >= 0 ? old[was] : (struct sensor_value){ .at = SENSOR_NEVER_SEEN };
		v[i].zone = NULL; /* the sensor may belong to another zone now */
	}
	return v;
}

void sensors_free(struct sensor_value *v)
{
	free(v);
}

bool sensors_stale(const struct sensor_value *v, const struct zone_params *p, unsigned i,
		   int64_t now)
{
	return v[i].at == SENSOR_NEVER_SEEN || (p->stale_after && now - v[i].at >= p->stale_after);
}

bool sensors_fresh(const struct sensor_value *v, const struct zone_params *p, int64_t now,
		   struct fresh *f)
{
	int64_t at[SENSORS_MAX];

	f->n = 0;
	for (unsigned i = p->sensor_first; i < p->sensor_first + p->sensors; i++) {
		unsigned j;

		if (sensors_stale(v, p, i, now))
			continue;
		/* Newest first: at[min_sensors - 1] is then the one that keeps the zone fresh. */
		for (j = f->n; j > 0 && at[j - 1] < v[i].at; j--)
			at[j] = at[j - 1];
		at[j] = v[i].at;
		f->lux[f->n++] = v[i].lux;
	}
	if (f->n < p->min_sensors)
		return false;
	/* min_sensors >= 1 and at most f->n here: that slot was written above. */
	/* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
	f->since = at[p->min_sensors - 1];
	return true;
}

bool sensors_reading(struct sensor_value *v, struct zone_state *s, const struct zone_params *p,
		     unsigned i, double lux, int64_t now, struct decision *d)
{
	struct fresh f;

	v[i].lux = lux;
	v[i].at = now;
	if (!sensors_fresh(v, p, now, &f))
		return false;
	decide_sample(s, p, decide_aggregate(p->aggregate, f.lux, f.n), f.since, now, d);
	return true;
}

void sensors_reload(const struct sensor_value *v, struct zone_state *s,
		    const struct zone_params *p, int64_t now, struct decision *d)
{
	struct fresh f;

	if (p->sensors && sensors_fresh(v, p, now, &f)) {
		double lux = decide_aggregate(p->aggregate, f.lux, f.n);

		if (!s->has_reading || lux != s->lux) {
			decide_sample(s, p, lux, f.since, now, d);
			return;
		}
		s->last_reading = f.since;
	} else if (p->sensors && s->has_reading && p->stale_after) {
		/* Too few fresh sensors under the new table: stale from now. */
		s->last_reading = now - p->stale_after;
	}
	decide_tick(s, p, now, d);
}
