/* thresholds.h -- ref.txt: the thresholds operators edit, parsed into an immutable table */
#ifndef PYLIGHT_THRESHOLDS_H
#define PYLIGHT_THRESHOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errlist.h"

enum failsafe { FAILSAFE_HOLD, FAILSAFE_ON, FAILSAFE_OFF };
/* What a lamp state the daemon did not order means (lamp feedback). */
enum manual { MANUAL_OVERRIDE, MANUAL_ENFORCE, MANUAL_IGNORE };
const char *manual_name(enum manual m); /* "override", "enforce", "ignore" */
/* How the latest values of a zone's fresh sensors become the one value it decides on. */
enum aggregate { AGGREGATE_MEDIAN, AGGREGATE_MEAN, AGGREGATE_MIN, AGGREGATE_MAX };
const char *aggregate_name(enum aggregate a); /* "median", "mean", "min", "max" */

/* What a zone does outside its schedule. */
enum outside { OUTSIDE_OFF, OUTSIDE_ON, OUTSIDE_HOLD };
const char *outside_name(enum outside o); /* "off", "on", "hold" */

/* A zone's presence sensors: full MQTT topics. */
#define OCCUPANCY_MAX 16
struct occupancy {
	unsigned n; /* 1..OCCUPANCY_MAX */
	const char *topic[OCCUPANCY_MAX];
};

struct schedule;

/* "hold", "on", "off": as written in ref.txt and in reasons. */
const char *failsafe_name(enum failsafe f);

/* Effective parameters of one zone. Durations are milliseconds. */
struct zone_params {
	double on_below;
	double off_above;
	double lamp_lux;
	int64_t min_on;
	int64_t min_off;
	int64_t override_for;
	int64_t stale_after; /* 0 = never stale */
	unsigned smoothing;  /* 1..64 */
	enum failsafe failsafe;
	enum aggregate aggregate;
	unsigned min_sensors;  /* 1..64: fresh sensors a decision needs */
	unsigned sensors;      /* sensors the zone lists; 0: its own topic is its one sensor */
	unsigned sensor_first; /* index of the first of them, the others follow in order */
	const char *feedback;       /* topic of the lamp's state reports; "" for none */
	const char *feedback_field; /* dotted path of the state in a JSON report */
	int64_t confirm_within;     /* an order unconfirmed this long is published again */
	unsigned retries;           /* 0..10 re-publishes, each wait twice the one before */
	enum manual manual;
	/* Dimming: a zone with target_lux > 0 keeps that level with a dimmed lamp. */
	double target_lux; /* 0: an on/off zone */
	uint8_t level_min; /* percent 1..100: the lowest level while ON */
	uint8_t max_step;  /* percent 1..100: the largest change one reading causes */
	uint8_t deadband;  /* percent 0..50: smaller changes are not published */
	uint8_t zero;      /* always 0: the struct has no padding (see below) */
	/* Time and presence. The pointed-to values live as long as the table. */
	enum outside outside;              /* here, after the bytes: no padding before the pointers */
	const struct schedule *schedule;   /* NULL: no schedule, always inside */
	const struct occupancy *occupancy; /* NULL: no presence sensors */
	const char *occupancy_field;       /* dotted path of the presence in a JSON report */
	int64_t vacancy_after;
};

/*
 * A table shares one copy of equal parameters among its sections, found by comparing bytes:
 * that needs a struct without padding, whose bytes are all its members'.
 */
#define ZONE_PARAMS_MEMBERS_SIZE                                                               \
	(3 * sizeof(double) + 4 * sizeof(int64_t) + 6 * sizeof(unsigned) +                    \
	 2 * sizeof(const char *) + sizeof(int64_t) + 2 * sizeof(unsigned) + sizeof(double) + \
	 4 * sizeof(uint8_t) + sizeof(enum outside) + 2 * sizeof(void *) +                 \
	 sizeof(const char *) + sizeof(int64_t))
_Static_assert(sizeof(struct zone_params) == ZONE_PARAMS_MEMBERS_SIZE,
	       "struct zone_params has padding; fill it with a member");

#define SMOOTHING_MAX 64
#define SENSORS_MAX 64
#define RETRIES_MAX 10
#define DEADBAND_MAX 50

struct thresholds;

/* What pylight.ini says about the ref.txt it may accept. */
struct thresholds_opts {
	bool site;        /* pylight.ini has a [site]: schedules may use sunrise and sunset */
	size_t max_zones; /* [readings] max_zones: at most this many [zone] sections; 0: no limit */
};

/*
 * Parses `len` bytes of `text` (ref.txt's content; `path` only names it in messages). Without
 * opts->site a schedule with sunrise or sunset is an error; a section beyond opts->max_zones
 * is one. On success returns 0 and a new table in *out. On any error every error is added
 * to `errs` as "PATH:LINE: message", *out is left NULL and -EINVAL is returned.
 */
int thresholds_parse(const char *path, const char *text, size_t len,
		     const struct thresholds_opts *opts, struct thresholds **out,
		     struct errlist *errs);
/*
 * Reads and parses the file at `path`; an unreadable file is one error "PATH: strerror", and
 * so is a file larger than thresholds_max_bytes(opts->max_zones) (-EFBIG).
 */
int thresholds_load(const char *path, const struct thresholds_opts *opts,
		    struct thresholds **out, struct errlist *errs);
/* The largest ref.txt that `max_zones` sections allow (0: no limit, still a bound). */
size_t thresholds_max_bytes(size_t max_zones);
void thresholds_free(struct thresholds *t);

/* Parameters for `zone`: its [zone NAME] section if any, else the global ones. Never NULL. */
const struct zone_params *thresholds_get(const struct thresholds *t, const char *zone);
/*
 * thresholds_get of each of `n` zones (at most THRESHOLDS_GET_MANY) into out[]. At a million
 * sections each lookup reads three places that are not in the cache: this reads them for all
 * n at once, so that their fetches overlap. A reload looks up every zone this way.
 */
#define THRESHOLDS_GET_MANY 64
void thresholds_get_many(const struct thresholds *t, const char *const *zones, size_t n,
			 const struct zone_params **out);
/*
 * The index of the sensor `name` (a readings-topic suffix that a zone lists in `sensors`),
 * with the name of that zone in *zone; -1 when no zone lists it.
 */
int thresholds_sensor(const struct thresholds *t, const char *name, const char **zone);
/* Every listed sensor has an index below this; a zone's are sensor_first onwards. */
unsigned thresholds_sensor_count(const struct thresholds *t);
const char *thresholds_sensor_name(const struct thresholds *t, unsigned index);
/* Calls fn once with every distinct non-empty feedback topic of the table. */
void thresholds_foreach_feedback(const struct thresholds *t,
				 void (*fn)(const char *topic, void *ctx), void *ctx);
/* The global parameters: those of every zone without a section of its own. */
const struct zone_params *thresholds_global(const struct thresholds *t);
/* Whether `zone` has a [zone NAME] section of its own. */
bool thresholds_has_section(const struct thresholds *t, const char *zone);
/* The number of [zone NAME] sections. */
size_t thresholds_sections(const struct thresholds *t);
/* Calls `fn` for each [zone NAME] section, in name order. */
void thresholds_foreach_section(const struct thresholds *t,
				void (*fn)(void *ctx, const char *zone, const struct zone_params *p),
				void *ctx);
/* A one-line summary for logs and STATUS, e.g. "on_below 300 off_above 400, 2 zone sections". */
void thresholds_describe(const struct thresholds *t, char *buf, size_t len);
/*
 * Writes the effective global parameters and each section's, in ref.txt syntax (for -t).
 * Returns 0, or -ENOMEM when the output stopped short for want of memory.
 */
int thresholds_dump(const struct thresholds *t, FILE *f);

#endif
