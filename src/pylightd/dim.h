/* dim.h -- the dimming controller: a dimmed zone's lamp level from its daylight, pure */
#ifndef PYLIGHT_DIM_H
#define PYLIGHT_DIM_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "thresholds.h"

/* The level in force of a zone that has not published one yet (its first decision). */
#define DIM_UNKNOWN (-1)

/*
 * What one step decided. The level in force is always the level last published: the lamp
 * does only what it was told, so the daylight estimate must take away the share of that
 * level, never of a level the deadband kept back (that would let an unpublished error build
 * up and come out as a limit cycle of twice the deadband).
 */
struct dim_result {
	int level;       /* the level in force after the step, 0..100 */
	bool publish;    /* publish `level` on the levels topic */
	bool edge;       /* the level became or left 0 (or it is the first): publish ON/OFF */
	bool held;       /* the step wanted an ON/OFF edge that may_switch refused */
	double daylight; /* as passed in: for the explanation */
	double wanted;   /* the level that would make up what daylight lacks, 0..100 */
};

/*
 * The daylight in a reading: `lux` less the lamp's share at `level`, the level in force when
 * the reading was taken (DIM_UNKNOWN counts as 0). A zone that smooths its readings smooths
 * these estimates, not the raw lux: a window of readings taken at different levels would
 * otherwise charge all of them to the latest level.
 */
double dim_daylight(const struct zone_params *p, int level, double lux);

/*
 * The daylight estimate as the explanation and its reason show it: never below 0. A lamp
 * weaker than lamp_lux gives less than its share, so the estimate can go negative; the
 * controller keeps that figure (it is what raises the level), but no room has -9 lux of
 * daylight, and an operator should not be shown any.
 */
double dim_daylight_shown(double daylight);

/*
 * One step of a dimmed zone (p->target_lux > 0, p->lamp_lux > 0) from the level in force
 * `level` (0..100 or DIM_UNKNOWN) and the (smoothed) daylight estimate. `may_switch` says
 * whether an ON/OFF edge is allowed now (min_on/min_off); a refused edge leaves the level at
 * 0, or at level_min when it wanted to go OFF, with `held` set. The first step (DIM_UNKNOWN)
 * always publishes.
 */
void dim_step(const struct zone_params *p, int level, double daylight, bool may_switch,
	      struct dim_result *r);

/*
 * Writes the levels-topic payload for `level` (0..100) into buf: "40" (percent), or
 * {"state":"ON","brightness":102} / {"state":"OFF"} (z2m). Returns its length, or -ENOSPC.
 */
int dim_payload(enum level_payload kind, int level, char *buf, size_t size);

/*
 * Integration: decide.c calls dim_daylight on every sample and dim_step once per daylight in
 * automatic control (zone_dim), and forces the level from the light in every other mode
 * (zone_force_level); control_dim.c publishes the level, takeover.c compares it with the
 * last level seen on the levels topic, explain.c carries it (docs/decisions.md).
 */

#endif
