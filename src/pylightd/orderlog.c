/* orderlog.c -- a line per order in the journal, until a flood: then a count instead */
#include "orderlog.h"

bool orderlog_take(struct orderlog *o, int64_t now)
{
	if (now >= o->window_end && !o->skipped) {
		/* A new window opens with the first order after the last one closed. */
		o->window_end = now + ORDERLOG_WINDOW_MS;
		o->lines = 0;
	}
	if (o->lines < ORDERLOG_LINES && now < o->window_end) {
		o->lines++;
		return true;
	}
	o->skipped++;
	return false;
}

int64_t orderlog_next(const struct orderlog *o)
{
	return o->skipped ? o->window_end : INT64_MAX;
}

uint64_t orderlog_due(struct orderlog *o, int64_t now)
{
	uint64_t n = o->skipped;

	if (!n || now < o->window_end)
		return 0;
	/* The count is a line of the next window, so that a flood gets one line per window. */
	o->skipped = 0;
	o->window_end = now + ORDERLOG_WINDOW_MS;
	o->lines = 1;
	return n;
}
