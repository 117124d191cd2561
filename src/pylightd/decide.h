/* decide.h -- the decision engine: pure functions of a zone's state, its parameters and time */
#ifndef PYLIGHT_DECIDE_H
#define PYLIGHT_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"
#include "thresholds.h"

#define DECIDE_NEVER INT64_MAX

enum light { LIGHT_UNKNOWN, LIGHT_OFF, LIGHT_ON };
/* SCHEDULE: outside the zone's schedule; VACANT: nobody there (its presence sensors). */
enum zone_mode { MODE_AUTO, MODE_OVERRIDE, MODE_FAILSAFE, MODE_SCHEDULE, MODE_VACANT };

/*
 * A zone's runtime state. Times are milliseconds on one monotonic clock supplied by the
 * caller. The caller owns `window` and guarantees wcap >= the zone's smoothing before any
 * decide_* call (see decide_window_resize).
 */
struct zone_state {
	double lux;             /* latest accepted reading */
	double smoothed;        /* median of the window */
	double *window;         /* ring buffer of the last wlen readings */
	uint8_t wcap, wlen, wpos;
	bool has_reading;
	enum light light;       /* LIGHT_UNKNOWN until the first decision */
	enum zone_mode mode;
	int64_t changed_at;     /* when the order that started the current light was published */
	int64_t last_reading;   /* when the latest reading was accepted */
	int64_t override_until; /* end of the override, in MODE_OVERRIDE */
	uint32_t switches;      /* orders that changed the light */
	/* A dimmed zone (dim.c): its window holds daylight estimates, not raw readings. */
	uint8_t level;          /* the level in force while ON (the last published); 0: 100 */
	uint8_t hold;           /* an `ON 40%` override's level; 0: none (ON means 100) */
	bool restep;            /* a daylight not stepped on yet, or an edge the dwell held */
	/*
	 * Inputs the caller keeps up to date (control_time.c) before each decide_* call: the
	 * clock and the presence sensors stay outside the engine. Zero is "no schedule, no
	 * presence sensors": daylight alone decides.
	 */
	bool out_of_schedule;   /* the zone has a schedule and `now` is outside its windows */
	bool vacant;            /* the zone has presence sensors and nobody is there */
};

/*
 * Why a zone is in its state, kept as the facts behind it: most decisions are neither logged
 * nor explained, so the text is written only when decide_reason() is asked for it.
 */
enum reason_kind {
	REASON_NONE, REASON_NO_READING, REASON_LEVEL, REASON_STALE, REASON_OVERRIDE,
	REASON_DIM, REASON_SCHEDULE, REASON_VACANT,
};
enum level_cmp { CMP_BELOW, CMP_ABOVE, CMP_BETWEEN };

struct reason {
	enum reason_kind kind;
	bool first;             /* LEVEL: the zone's first decision */
	bool lamp;              /* LEVEL: lamp_lux was subtracted from the smoothed level */
	bool manual;            /* OVERRIDE: started by a lamp switched by hand */
	bool deferred;          /* LEVEL, DIM: a dwell holds `want` back for `seconds` */
	bool dim;               /* OVERRIDE: of a dimmed zone, at `level` */
	bool occupied;          /* LEVEL: decided the moment the zone became occupied again */
	bool entered;           /* LEVEL: decided the moment the zone entered its schedule */
	enum outside outside;   /* SCHEDULE: what the zone does outside its windows */
	const struct schedule *schedule; /* SCHEDULE: its windows, written out in the reason */
	int64_t vacancy_after;  /* VACANT: ms without presence that made the zone vacant */
	enum level_cmp cmp;     /* LEVEL: where the level lies against the thresholds */
	enum light held;        /* LEVEL: the light before; OVERRIDE: the light ordered */
	enum light want;        /* LEVEL: the light the level asks for */
	enum failsafe failsafe; /* STALE */
	unsigned min_sensors;   /* STALE: fresh sensors the zone needs; 0 without sensors */
	double smoothed, lamp_lux, on_below, off_above;
	double seconds;         /* LEVEL: dwell left; STALE: time since the last reading */
	double target_lux;      /* DIM: smoothed is the daylight, `level` the level in force */
	int level;
};

struct decision {
	bool order;     /* publish an order for `light` */
	bool changed;   /* light or mode changed: publish the explanation */
	bool went_stale; /* the zone became stale with this decision: its failsafe applied */
	bool level_order; /* a dimmed zone: publish its level (decide_level) */
	enum light light;
	int64_t wake;   /* when decide_tick must run for this zone next; DECIDE_NEVER if not */
	struct reason reason;
};

/*
 * The level in force of a dimmed zone: 0 while OFF, DIM_UNKNOWN (-1) before its first
 * decision. The light is ON exactly while it is > 0.
 */
int decide_level(const struct zone_state *z);

/*
 * Longest reason text decide_reason() writes, with its NUL; longer ones are truncated (a
 * schedule of many windows in "outside schedule ...: OFF" may be).
 */
#define DECIDE_REASON_MAX 96

/* Accepts a reading (pushes it into the window) and decides. */
void decide_reading(struct zone_state *z, const struct zone_params *p, double lux, int64_t now,
		    struct decision *d);
/*
 * As decide_reading, for a sample that counts as fresh from `fresh_from` rather than from
 * `now`: a zone with sensors decides on their aggregate, which stays fresh only as long as
 * its min_sensors-th freshest sensor does, so the zone goes stale when that one does.
 */
void decide_sample(struct zone_state *z, const struct zone_params *p, double lux,
		   int64_t fresh_from, int64_t now, struct decision *d);
/* The aggregate `a` of v[0..n), n >= 1 (v may be reordered). */
double decide_aggregate(enum aggregate a, double *v, unsigned n);
/*
 * Applies an override. `duration` < 0 means p->override_for. OVERRIDE_AUTO ends an
 * override (or is accepted without one) and re-evaluates at once. A dimmed zone's ON holds
 * z->hold (set by the caller: `ON 40%`) or 100.
 */
void decide_override(struct zone_state *z, const struct zone_params *p, enum override_cmd cmd,
		     int64_t duration, int64_t now, struct decision *d);
/*
 * A lamp switched by hand to `light`: an override to that state for p->override_for, with
 * no order (the lamp is there already) and no switch counted.
 */
void decide_manual(struct zone_state *z, const struct zone_params *p, enum light light,
		   int64_t now, struct decision *d);
/*
 * Re-evaluates without a new reading: the end of a dwell, the end of an override, a zone
 * gone stale, new parameters after a reload, or a change of `out_of_schedule` or `vacant`
 * (a window's edge, presence): such a change decides at once, without a dwell. Harmless to
 * call at any time.
 */
void decide_tick(struct zone_state *z, const struct zone_params *p, int64_t now,
		 struct decision *d);

/*
 * Moves the window into `buf` of capacity `cap` (1..SMOOTHING_MAX), keeping the newest
 * readings that fit. The caller frees the old window afterwards if it owned it.
 */
void decide_window_resize(struct zone_state *z, double *buf, uint8_t cap);

/* Writes why, e.g. "40 < on_below 300", into buf of capacity cap (truncating safely). */
void decide_reason(const struct decision *d, char *buf, size_t cap);

const char *light_name(enum light l);     /* "ON", "OFF", "UNKNOWN" */
/* "auto", "override", "failsafe", "schedule", "vacant" */
const char *mode_name(enum zone_mode m);

#endif
