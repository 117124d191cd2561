/* history.h -- each zone's lux by the minute and its orders, kept in SQLite for the plot */
#ifndef PYLIGHT_WEB_HISTORY_H
#define PYLIGHT_WEB_HISTORY_H

#include <stddef.h>

#include "bus.h"
#include "config.h"

struct history;

/*
 * Listens (through `bus`, before bus_start) to the readings, the orders and the zones'
 * explanations, and starts the writer thread that owns [web] history. Returns 0 with *out
 * NULL when [web] history is empty (off), 0 with a history, or -errno (out of memory, no
 * thread). A database that cannot be opened or written is no error here: the writer logs
 * it once and retries. The configuration must outlive the history.
 */
int history_new(const struct config *cfg, struct bus *bus, struct history **out);
/* Writes what is still pending (the current minutes too) and stops the writer. NULL: no-op. */
void history_free(struct history *h);

/*
 * The rows of `zone` for the last `hours` hours as a JSON object (malloc'd, *len bytes):
 * {"zone", "hours", "minutes": [{"t", "n", "min", "mean", "max", "light", "level"}...],
 * "orders": [{"t", "order"}...]}, oldest first, the minute in progress included. Returns 0,
 * or -errno (the database cannot be read) with *json NULL. One caller at a time.
 */
int history_query(struct history *h, const char *zone, int hours, char **json, size_t *len);

#endif
