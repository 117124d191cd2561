/* orderlog.h -- a line per order in the journal, until a flood: then a count instead */
#ifndef PYLIGHT_ORDERLOG_H
#define PYLIGHT_ORDERLOG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A building's orders, a few a day per zone, each get their line at `info`. A city's dusk
 * switches tens of thousands of lamps within minutes: journald would drop lines beyond its own
 * rate limit (10,000 per 30 s for a service by default), warnings among them, and each line
 * is a write. So at most ORDERLOG_LINES order lines go out per ORDERLOG_WINDOW_MS; the others
 * are counted, and one line at the end of the window says how many. Every order is still in
 * its zone's explanation and in the page's history.
 *
 * Pure: time is passed in (monotonic ms).
 */
#define ORDERLOG_LINES 100
#define ORDERLOG_WINDOW_MS 10000

struct orderlog {
	int64_t window_end; /* the current window's end; 0 before the first order */
	uint32_t lines;     /* logged in the current window */
	uint64_t skipped;   /* orders not logged in the current window */
};

/* An order at `now`: true when its line is to be logged, false when it is only counted. */
bool orderlog_take(struct orderlog *o, int64_t now);
/* When the count of skipped lines is due (the window's end), INT64_MAX when none is. */
int64_t orderlog_next(const struct orderlog *o);
/* At `now`: the orders not logged in the window that ended, 0 when none or not yet ended. */
uint64_t orderlog_due(struct orderlog *o, int64_t now);

#endif
