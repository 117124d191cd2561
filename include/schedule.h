/* schedule.h -- ref.txt's `schedule`: when daylight control may light a zone, in local time */
#ifndef PYLIGHT_SCHEDULE_H
#define PYLIGHT_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sun.h"

/* Windows in one schedule: a building's week needs a handful; more is a typing accident. */
#define SCHEDULE_WINDOWS 16
/* The largest sunrise/sunset offset, in seconds. */
#define SCHEDULE_OFFSET_MAX 43200L /* 12h */

enum schedule_edge_kind { EDGE_CLOCK, EDGE_SUNRISE, EDGE_SUNSET };

/* One end of a window: a wall-clock time, or the sun's event with an offset. */
struct schedule_edge {
	unsigned char kind; /* enum schedule_edge_kind */
	int sec; /* EDGE_CLOCK: seconds after midnight (a whole minute); else the offset */
};

struct schedule_window {
	unsigned char days; /* the days it starts on: bit 0 Sunday .. bit 6 Saturday (tm_wday) */
	struct schedule_edge start, end;
};

/* Sized to its windows: a million zone sections may each have one. */
struct schedule {
	unsigned n; /* 1..SCHEDULE_WINDOWS */
	struct schedule_window w[];
};

/*
 * Parses a schedule value (not NUL-terminated, `len` bytes). The grammar, white space
 * allowed around every `,` and `-`:
 *
 *   schedule = window { "," window }
 *   window   = [ days ] edge "-" edge          no days: daily
 *   days     = "daily" | item { "," item }     then white space before the first edge
 *   item     = DAY | DAY "-" DAY               Mon..Sun in any case; Fri-Mon wraps the week
 *   edge     = HH ":" MM | ("sunrise" | "sunset") [ ("+" | "-") NUMBER ("s" | "m" | "h") ]
 *
 * A `,` continues the list of days when it follows a day, and starts the next window when it
 * follows an edge: `Mon,Wed 07:00-09:00, Fri 08:00-12:00` is two windows. After a sun word,
 * `-` followed by a number with a unit is an offset and `-` followed by HH:MM or a word is
 * the range's dash: `sunset-30m-sunrise+15m`, `sunset-06:00`. A window starts on its days;
 * one whose END is not after its START ends on the next day (`Fri 22:00-06:00` runs into
 * Saturday morning). Returns 0, or -EINVAL with a one-line reason in `err` (an unknown day,
 * `25:00`, a bad offset, a bad list, ...) and *out NULL; -ENOMEM when out of memory.
 * The new schedule is the caller's to schedule_free().
 */
int schedule_parse(const char *s, size_t len, struct schedule **out, char *err, size_t errlen);
void schedule_free(struct schedule *s);

/* Whether any edge is a sunrise or a sunset: the schedule then needs a site. */
bool schedule_uses_sun(const struct schedule *s);

/* The schedule in its canonical spelling, e.g. "Mon-Fri 07:00-19:00, daily sunset-sunrise". */
void schedule_format(const struct schedule *s, char *buf, size_t size);

/*
 * Whether `now` is inside one of the windows; *next gets the next instant at which that may
 * change (a window's edge, strictly after `now`; a day or so ahead at most when none comes
 * within a week, e.g. in a polar night, so that the caller simply asks again then). `site`
 * may be NULL only when the schedule does not use the sun.
 *
 * Local time is the host's (TZ), through localtime_r and mktime: the caller's process must
 * have its time zone set (tzset) and nothing else is read. Pure otherwise: `now` is passed in.
 * Wall-clock rules on the days the clock changes:
 *  - an edge at a time the clock skips (02:30 when it jumps from 02:00 to 03:00) happens at
 *    the first instant after the gap (03:00 summer time);
 *  - an edge at a time the clock shows twice (02:30 when it goes back from 03:00 to 02:00)
 *    happens at its first occurrence (02:30 summer time).
 * A window needing a sunrise or sunset on a day without one (polar) is, for that day, all
 * day or none: a window about the night (from sunset, or ending at sunrise) is all day in a
 * polar night and none in a polar day, and a window about the day the other way round. The
 * last day of a polar night runs on to the window's end on the first morning with a sunrise.
 */
bool schedule_at(const struct schedule *s, const struct sun_site *site, time_t now, time_t *next);

/*
 * For the daemon (control.c), once this is wired in:
 *  - each zone's parameters point at their table's schedule (NULL: always inside), and zones
 *    that inherit it share one: cache (inside, next) per schedule pointer and recompute only
 *    when `now` reaches its `next` or the table is replaced on reload;
 *  - the loop keeps ONE realtime timerfd (CLOCK_REALTIME, TFD_TIMER_ABSTIME |
 *    TFD_TIMER_CANCEL_ON_SET) armed at the earliest `next` over all schedules in use; when it
 *    fires, or read() fails with ECANCELED (the wall clock was set: NTP step, date -s, resume),
 *    recompute every schedule at the new `now`, decide at once (no dwell) for each zone whose
 *    inside/outside changed, and re-arm at the new earliest `next`;
 *  - decisions stay pure: decide.c gets `inside` and `occupied` as inputs, never the clock.
 */

#endif
