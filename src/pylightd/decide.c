/* decide.c -- the decision engine: hysteresis, dwell, overrides and staleness as pure functions */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "dim.h"
#include "names.h"
#include "number.h"
#include "schedule.h"

/* Saturates so that a huge duration means "never" instead of a wrapped clock. */
static int64_t time_add(int64_t t, int64_t dt)
{
	int64_t r;

	if (__builtin_add_overflow(t, dt, &r))
		return DECIDE_NEVER;
	return r;
}

/* Slots wpos-wlen .. wpos-1 (mod wcap) hold the readings, oldest first. */
static double window_newest(const struct zone_state *z, unsigned i)
{
	return z->window[(z->wpos + z->wcap - 1 - i) % z->wcap];
}

/* Keeps up to `smoothing` readings; a longer window left by a reload just stops growing. */
static void window_push(struct zone_state *z, const struct zone_params *p, double lux)
{
	z->window[z->wpos] = lux;
	z->wpos = (uint8_t)((z->wpos + 1) % z->wcap);
	if (z->wlen < z->wcap && z->wlen < p->smoothing)
		z->wlen++;
}

static double window_median(const struct zone_state *z, const struct zone_params *p)
{
	double v[SMOOTHING_MAX];
	unsigned n = z->wlen < p->smoothing ? z->wlen : p->smoothing;

	for (unsigned i = 0; i < n; i++) {
		double x = window_newest(z, i);
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	/* n >= 1: only called once a reading is in the window. */
	/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void decide_window_resize(struct zone_state *z, double *buf, uint8_t cap)
{
	uint8_t keep = z->wlen < cap ? z->wlen : cap;

	for (unsigned i = 0; i < keep; i++)
		buf[keep - 1 - i] = window_newest(z, i);
	z->window = buf;
	z->wcap = cap;
	z->wlen = keep;
	/* cap >= 1: it is a smoothing. */
	/* NOLINTNEXTLINE(clang-analyzer-core.DivideZero) */
	z->wpos = keep % cap;
}

static bool zone_stale(const struct zone_state *z, const struct zone_params *p, int64_t now)
{
	return p->stale_after > 0 && z->has_reading &&
	       now >= time_add(z->last_reading, p->stale_after);
}

/* The order that changes the light restarts the dwell clock. */
static void zone_switch(struct zone_state *z, enum light light, int64_t now, struct decision *d)
{
	if (z->light == light)
		return;
	z->light = light;
	z->changed_at = now;
	z->switches++;
	d->order = true;
}

int decide_level(const struct zone_state *z)
{
	if (z->light == LIGHT_UNKNOWN)
		return DIM_UNKNOWN;
	if (z->light == LIGHT_OFF)
		return 0;
	/* ON without a level of its own: ordered ON before the zone dimmed (a reload). */
	return z->level ? z->level : 100;
}

/*
 * A dimmed zone in automatic control: dim.c moves the level, the light follows it, and the
 * dwell holds back only the ON/OFF edges. It steps once per daylight (a reading, a resume, a
 * reload) so that timers and feedback, which re-evaluate too, never add steps.
 */
static int64_t zone_dim(struct zone_state *z, const struct zone_params *p, enum zone_mode was,
			int64_t now, struct decision *d)
{
	struct reason *r = &d->reason;
	int64_t until = time_add(z->changed_at, z->light == LIGHT_ON ? p->min_on : p->min_off);
	struct dim_result res;

	r->kind = REASON_DIM;
	r->smoothed = z->smoothed;
	r->target_lux = p->target_lux;
	r->held = z->light;
	r->level = decide_level(z);
	if (!z->restep)
		return DECIDE_NEVER;
	/* Entering the schedule or becoming occupied is not held by the dwell either. */
	dim_step(p, decide_level(z), z->smoothed,
		 z->light == LIGHT_UNKNOWN || now >= until || was == MODE_SCHEDULE ||
			 was == MODE_VACANT,
		 &res);
	z->restep = res.held;
	r->first = z->light == LIGHT_UNKNOWN;
	if (res.publish) {
		d->level_order = true;
		z->level = (uint8_t)res.level;
		r->level = res.level;
	}
	if (res.edge)
		zone_switch(z, res.level > 0 ? LIGHT_ON : LIGHT_OFF, now, d);
	if (!res.held)
		return DECIDE_NEVER;
	r->deferred = true;
	r->want = z->light == LIGHT_ON ? LIGHT_OFF : LIGHT_ON;
	r->seconds = (double)(until - now) / 1000;
	return until;
}

/*
 * Outside automatic control a dimmed zone's level follows its light: OFF is 0, ON the
 * override's level or 100, and a failsafe or an `outside` that holds keeps the level too.
 * Publishes it when it changed or an order went out (an explicit override is obeyed even when
 * already there).
 */
static void zone_force_level(struct zone_state *z, const struct zone_params *p, int before,
			     struct decision *d)
{
	int level = decide_level(z);

	if (z->light == LIGHT_ON && !d->reason.manual &&
	    !(z->mode == MODE_FAILSAFE && p->failsafe == FAILSAFE_HOLD) &&
	    !(z->mode == MODE_SCHEDULE && p->outside == OUTSIDE_HOLD))
		level = z->hold && z->mode == MODE_OVERRIDE ? z->hold : 100;
	z->level = level > 0 ? (uint8_t)level : 0;
	d->level_order = z->light != LIGHT_UNKNOWN && !d->reason.manual &&
			 (d->order || level != before);
	d->reason.dim = true;
	d->reason.level = level;
}

/*
 * Hysteresis on the smoothed value; returns when a change its dwell forbids may happen. `was`
 * is the mode before: a zone just back in its schedule, or occupied again, decides at once.
 */
static int64_t zone_evaluate(struct zone_state *z, const struct zone_params *p,
			     enum zone_mode was, int64_t now, struct decision *d)
{
	struct reason *r = &d->reason;
	enum light want = z->light;
	double v = z->smoothed;
	int64_t until;

	if (p->target_lux > 0)
		return zone_dim(z, p, was, now, d);
	r->kind = REASON_LEVEL;
	r->held = z->light;
	r->smoothed = z->smoothed;
	r->occupied = was == MODE_VACANT;
	r->entered = was == MODE_SCHEDULE;
	r->on_below = p->on_below;
	r->off_above = p->off_above;
	if (z->light == LIGHT_ON && p->lamp_lux != 0) {
		v -= p->lamp_lux;
		r->lamp = true;
		r->lamp_lux = p->lamp_lux;
	}

	if (z->light == LIGHT_UNKNOWN) {
		r->first = true;
		r->want = v < p->on_below ? LIGHT_ON : LIGHT_OFF;
		zone_switch(z, r->want, now, d);
		return DECIDE_NEVER;
	}

	if (v < p->on_below) {
		want = LIGHT_ON;
		r->cmp = CMP_BELOW;
	} else if (v > p->off_above) {
		want = LIGHT_OFF;
		r->cmp = CMP_ABOVE;
	} else {
		r->cmp = CMP_BETWEEN;
	}
	r->want = want;

	until = time_add(z->changed_at, z->light == LIGHT_ON ? p->min_on : p->min_off);
	if (want != z->light && now < until && !r->occupied && !r->entered) {
		r->deferred = true;
		r->seconds = (double)(until - now) / 1000;
		return until;
	}
	zone_switch(z, want, now, d);
	return DECIDE_NEVER;
}

static void failsafe_reason(const struct zone_state *z, const struct zone_params *p, int64_t now,
			    struct decision *d)
{
	d->reason.kind = REASON_STALE;
	d->reason.failsafe = p->failsafe;
	d->reason.seconds = (double)(now - z->last_reading) / 1000;
	d->reason.min_sensors = p->sensors ? p->min_sensors : 0;
}

/* Applied once when the zone goes stale; no dwell, since the sensor can no longer be trusted. */
static void zone_failsafe(struct zone_state *z, const struct zone_params *p, int64_t now,
			  struct decision *d)
{
	d->went_stale = z->mode != MODE_FAILSAFE;
	z->mode = MODE_FAILSAFE;
	if (p->failsafe == FAILSAFE_ON)
		zone_switch(z, LIGHT_ON, now, d);
	else if (p->failsafe == FAILSAFE_OFF)
		zone_switch(z, LIGHT_OFF, now, d);
	failsafe_reason(z, p, now, d);
}

/*
 * Schedule and presence come before daylight: outside its windows the zone does what
 * `outside` says, vacant it is OFF, at once (no dwell: nobody is served by a light held on).
 * Returns whether they decided.
 */
static bool zone_gated(struct zone_state *z, const struct zone_params *p, int64_t now,
		       struct decision *d)
{
	struct reason *r = &d->reason;

	if (z->out_of_schedule) {
		z->mode = MODE_SCHEDULE;
		if (p->outside == OUTSIDE_ON)
			zone_switch(z, LIGHT_ON, now, d);
		else if (p->outside == OUTSIDE_OFF)
			zone_switch(z, LIGHT_OFF, now, d);
		r->kind = REASON_SCHEDULE;
		r->schedule = p->schedule;
		r->outside = p->outside;
		r->held = z->light;
		return true;
	}
	if (z->vacant) {
		z->mode = MODE_VACANT;
		zone_switch(z, LIGHT_OFF, now, d);
		r->kind = REASON_VACANT;
		r->vacancy_after = p->vacancy_after;
		return true;
	}
	return false;
}

/* Daylight decides a zone inside its schedule and occupied, from its smoothed level. */
static int64_t zone_daylight(struct zone_state *z, const struct zone_params *p, int64_t now,
			     struct decision *d)
{
	enum zone_mode was = z->mode;

	if (zone_gated(z, p, now, d))
		return DECIDE_NEVER;
	z->mode = MODE_AUTO;
	return zone_evaluate(z, p, was, now, d);
}

/* Automatic control, unless schedule or presence decide, or the zone is already stale. */
static int64_t zone_resume(struct zone_state *z, const struct zone_params *p, int64_t now,
			   struct decision *d)
{
	enum zone_mode was = z->mode;

	if (zone_gated(z, p, now, d))
		return DECIDE_NEVER;
	if (zone_stale(z, p, now)) {
		zone_failsafe(z, p, now, d);
		return DECIDE_NEVER;
	}
	/* Back from an override: step on from the level it held. */
	z->restep |= z->mode != MODE_AUTO;
	z->hold = 0;
	z->mode = MODE_AUTO;
	if (!z->has_reading) {
		d->reason.kind = REASON_NO_READING;
		return DECIDE_NEVER;
	}
	/* Parameters may have changed since the last reading (reload): recompute. */
	z->smoothed = window_median(z, p);
	return zone_evaluate(z, p, was, now, d);
}

static void override_reason(const struct zone_state *z, struct decision *d)
{
	d->reason.kind = REASON_OVERRIDE;
	d->reason.held = z->light;
}

static void decision_start(struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->wake = DECIDE_NEVER;
}

/* `deferred` is the end of a dwell that holds back a change, or DECIDE_NEVER. */
static void decision_finish(struct zone_state *z, const struct zone_params *p,
			    enum light old_light, enum zone_mode old_mode, int64_t deferred,
			    struct decision *d)
{
	int64_t wake = deferred;

	if (p->target_lux > 0 && z->mode != MODE_AUTO) {
		struct zone_state was = *z;

		was.light = old_light;
		zone_force_level(z, p, decide_level(&was), d);
	}

	if (z->mode == MODE_OVERRIDE && z->override_until < wake)
		wake = z->override_until;
	if (z->mode == MODE_AUTO && p->stale_after > 0 && z->has_reading) {
		int64_t stale = time_add(z->last_reading, p->stale_after);

		if (stale < wake)
			wake = stale;
	}
	d->wake = wake;
	d->light = z->light;
	/* A dimmed zone's explanation carries its level: what a restarted instance adopts. */
	if (z->light != old_light || z->mode != old_mode || d->level_order)
		d->changed = true;
}

/* Insertion sort: n is at most SENSORS_MAX, most often 2 to 5. */
static void sort_values(double *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		double x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

double decide_aggregate(enum aggregate a, double *v, unsigned n)
{
	double r = v[0];

	switch (a) {
	case AGGREGATE_MEDIAN:
		sort_values(v, n);
		return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	case AGGREGATE_MEAN:
		for (unsigned i = 1; i < n; i++)
			r += v[i];
		return r / n;
	case AGGREGATE_MIN:
		for (unsigned i = 1; i < n; i++)
			r = v[i] < r ? v[i] : r;
		return r;
	case AGGREGATE_MAX:
		for (unsigned i = 1; i < n; i++)
			r = v[i] > r ? v[i] : r;
		return r;
	}
	return r;
}

void decide_reading(struct zone_state *z, const struct zone_params *p, double lux, int64_t now,
		    struct decision *d)
{
	decide_sample(z, p, lux, now, now, d);
}

void decide_sample(struct zone_state *z, const struct zone_params *p, double lux,
		   int64_t fresh_from, int64_t now, struct decision *d)
{
	enum light old_light = z->light;
	enum zone_mode old_mode = z->mode;
	int64_t deferred = DECIDE_NEVER;

	decision_start(d);
	/* A dimmed zone smooths daylight: readings taken at different levels, each less its own. */
	window_push(z, p, p->target_lux > 0 ? dim_daylight(p, decide_level(z), lux) : lux);
	z->restep = true;
	z->lux = lux;
	z->last_reading = fresh_from;
	z->has_reading = true;
	z->smoothed = window_median(z, p);
	if (z->mode == MODE_OVERRIDE && now < z->override_until)
		override_reason(z, d);
	else
		deferred = zone_daylight(z, p, now, d);
	decision_finish(z, p, old_light, old_mode, deferred, d);
}

void decide_override(struct zone_state *z, const struct zone_params *p, enum override_cmd cmd,
		     int64_t duration, int64_t now, struct decision *d)
{
	enum light old_light = z->light;
	enum zone_mode old_mode = z->mode;
	int64_t deferred = DECIDE_NEVER;

	decision_start(d);
	if (cmd == OVERRIDE_AUTO) {
		deferred = zone_resume(z, p, now, d);
	} else {
		zone_switch(z, cmd == OVERRIDE_ON ? LIGHT_ON : LIGHT_OFF, now, d);
		/* An explicit command is obeyed even when the light is already in that state. */
		d->order = true;
		d->changed = true;
		z->mode = MODE_OVERRIDE;
		z->override_until = time_add(now, duration < 0 ? p->override_for : duration);
		override_reason(z, d);
	}
	decision_finish(z, p, old_light, old_mode, deferred, d);
}

void decide_manual(struct zone_state *z, const struct zone_params *p, enum light light,
		   int64_t now, struct decision *d)
{
	enum light old_light = z->light;
	enum zone_mode old_mode = z->mode;

	decision_start(d);
	if (z->light != light) {
		z->light = light;
		z->changed_at = now;
	}
	z->mode = MODE_OVERRIDE;
	z->override_until = time_add(now, p->override_for);
	override_reason(z, d);
	d->reason.manual = true;
	decision_finish(z, p, old_light, old_mode, DECIDE_NEVER, d);
	d->changed = true;
}

void decide_tick(struct zone_state *z, const struct zone_params *p, int64_t now,
		 struct decision *d)
{
	enum light old_light = z->light;
	enum zone_mode old_mode = z->mode;
	int64_t deferred = DECIDE_NEVER;

	decision_start(d);
	switch (z->mode) {
	case MODE_OVERRIDE:
		if (now >= z->override_until)
			deferred = zone_resume(z, p, now, d);
		else
			override_reason(z, d);
		break;
	case MODE_FAILSAFE:
		/* Only a new reading, or schedule and presence, end a failsafe; no order again. */
		if (z->out_of_schedule || z->vacant)
			deferred = zone_resume(z, p, now, d);
		else
			failsafe_reason(z, p, now, d);
		break;
	case MODE_AUTO:
	case MODE_SCHEDULE:
	case MODE_VACANT:
		deferred = zone_resume(z, p, now, d);
		break;
	}
	decision_finish(z, p, old_light, old_mode, deferred, d);
}

/* Appends to buf; vsnprintf truncates safely once it is full. */
__attribute__((format(printf, 3, 4)))
static void text_add(char *buf, size_t cap, const char *fmt, ...)
{
	size_t used = strnlen(buf, cap);
	va_list ap;

	if (used + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, cap - used, fmt, ap);
	va_end(ap);
}

/* Appends `s` as text_add(buf, cap, "%s", s) would, without a printf. */
static void str_add(char *buf, size_t cap, const char *s)
{
	size_t used = strnlen(buf, cap), n = strlen(s);

	if (used + 1 >= cap)
		return;
	if (n > cap - used - 1)
		n = cap - used - 1;
	memcpy(buf + used, s, n);
	buf[used + n] = '\0';
}

/*
 * Appends v as "%g" does. Readings and thresholds are mostly whole numbers of up to 6
 * digits, which %g prints as they are: written here without printf's floating-point path,
 * which cost more than the rest of a switch's explanation.
 */
static void g_add(char *buf, size_t cap, double v)
{
	char text[32];

	if (!(v > -1e6 && v < 1e6 && v == (double)(long)v) || (v == 0 && signbit(v)))
		snprintf(text, sizeof(text), "%g", v);
	else
		text[number_put_int(text, (int64_t)v)] = '\0';
	str_add(buf, cap, text);
}

static void level_reason(const struct reason *r, char *buf, size_t cap)
{
	double v = r->lamp ? r->smoothed - r->lamp_lux : r->smoothed;

	if (r->occupied)
		str_add(buf, cap, "occupied and ");
	else if (r->entered)
		str_add(buf, cap, "inside schedule and ");
	if (r->first)
		str_add(buf, cap, "first reading ");
	if (r->lamp) {
		g_add(buf, cap, r->smoothed);
		str_add(buf, cap, " - lamp_lux ");
		g_add(buf, cap, r->lamp_lux);
		str_add(buf, cap, " = ");
	}
	g_add(buf, cap, v);
	if (r->first) {
		str_add(buf, cap, r->want == LIGHT_ON ? " < on_below " : " >= on_below ");
		g_add(buf, cap, r->on_below);
		return;
	}
	switch (r->cmp) {
	case CMP_BELOW:
		str_add(buf, cap, " < on_below ");
		g_add(buf, cap, r->on_below);
		break;
	case CMP_ABOVE:
		str_add(buf, cap, " > off_above ");
		g_add(buf, cap, r->off_above);
		break;
	case CMP_BETWEEN:
		text_add(buf, cap, " between on_below %g and off_above %g: stays %s", r->on_below,
			 r->off_above, light_name(r->held));
		break;
	}
	if (r->deferred)
		text_add(buf, cap, ": %s deferred by %s until +%gs", light_name(r->want),
			 r->held == LIGHT_ON ? "min_on" : "min_off", r->seconds);
}

/* "daylight 120 < target_lux 500: level 76", with the deferred edge if any. */
static void dim_reason(const struct reason *r, char *buf, size_t cap)
{
	text_add(buf, cap, "%sdaylight %g %s target_lux %g: level %d", r->first ? "first reading " : "",
		 dim_daylight_shown(r->smoothed), r->smoothed < r->target_lux ? "<" : ">=",
		 r->target_lux, r->level < 0 ? 0 : r->level);
	if (r->deferred)
		text_add(buf, cap, ": %s deferred by %s until +%gs", light_name(r->want),
			 r->held == LIGHT_ON ? "min_on" : "min_off", r->seconds);
}

/* A duration as ref.txt takes it back: "15m", "1h", "90s", "1.5s". */
static void duration_add(char *buf, size_t cap, int64_t ms)
{
	if (ms > 0 && ms % 3600000 == 0)
		text_add(buf, cap, "%lldh", (long long)(ms / 3600000));
	else if (ms > 0 && ms % 60000 == 0)
		text_add(buf, cap, "%lldm", (long long)(ms / 60000));
	else
		text_add(buf, cap, "%gs", (double)ms / 1000);
}

static void schedule_reason(const struct reason *r, char *buf, size_t cap)
{
	char windows[DECIDE_REASON_MAX] = "";

	if (r->schedule)
		schedule_format(r->schedule, windows, sizeof(windows));
	text_add(buf, cap, "outside schedule %s: %s%s", windows,
		 r->outside == OUTSIDE_HOLD ? "hold " : "", light_name(r->held));
}

void decide_reason(const struct decision *d, char *buf, size_t cap)
{
	const struct reason *r = &d->reason;

	if (!cap)
		return;
	buf[0] = '\0';
	switch (r->kind) {
	case REASON_NONE:
		break;
	case REASON_NO_READING:
		text_add(buf, cap, "auto, no reading yet");
		break;
	case REASON_LEVEL:
		level_reason(r, buf, cap);
		break;
	case REASON_STALE:
		if (r->min_sensors)
			text_add(buf, cap, "fewer than %u fresh sensor%s: failsafe %s",
				 r->min_sensors, r->min_sensors == 1 ? "" : "s",
				 failsafe_name(r->failsafe));
		else
			text_add(buf, cap, "stale %gs: failsafe %s", r->seconds,
				 failsafe_name(r->failsafe));
		break;
	case REASON_OVERRIDE:
		text_add(buf, cap, "%soverride %s", r->manual ? "manual " : "", light_name(r->held));
		if (r->dim && r->held == LIGHT_ON && !r->manual)
			text_add(buf, cap, " %d%%", r->level);
		break;
	case REASON_DIM:
		dim_reason(r, buf, cap);
		break;
	case REASON_SCHEDULE:
		schedule_reason(r, buf, cap);
		break;
	case REASON_VACANT:
		text_add(buf, cap, "vacant for ");
		duration_add(buf, cap, r->vacancy_after);
		text_add(buf, cap, ": OFF");
		break;
	}
}

/* The words of the enums, indexed by them, as the state topics and explanations say them. */
static const char *const light_names[] = { "UNKNOWN", "OFF", "ON" };
static const char *const mode_names[] = { "auto", "override", "failsafe", "schedule", "vacant" };

const char *light_name(enum light l)
{
	return name_of(NAMES(light_names), l);
}

const char *mode_name(enum zone_mode m)
{
	return name_of(NAMES(mode_names), m);
}
