/* bus.h -- pylight-web's broker connection: zones' explanations in, overrides out */
#ifndef PYLIGHT_WEB_BUS_H
#define PYLIGHT_WEB_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "zonecache.h"

struct bus;

/*
 * A libmosquitto client named CLIENT_ID-web that feeds the explanations retained on the
 * zone_state topics into `zc`. On error fills `err` and returns -errno.
 */
int bus_new(const struct config *cfg, struct zonecache *zc, struct bus **out, char *err,
	    size_t errlen);
/* Starts the loop thread, then connects asynchronously (a missing broker is retried). */
int bus_start(struct bus *b, char *err, size_t errlen);
/*
 * Called from the main thread every second or so: once the loop thread has ended (libmosquitto
 * gives up on some errors, such as an MQTT 5 refusal), restarts it and reconnects, after
 * reconnect_min seconds, doubling up to reconnect_max while it keeps ending without a
 * connection. Returns 1 after a restart, 0 when there was nothing to do, or -errno.
 */
int bus_supervise(struct bus *b);
bool bus_connected(struct bus *b);
/*
 * Publishes `payload` on the override topic of `zone` (the bare topic for ""), not retained.
 * Returns 0, -ENOTCONN while not connected (nothing is queued), or another -errno.
 */
int bus_override(struct bus *b, const char *zone, const char *payload);
/* A message for a tap: its topic and payload, on the loop thread (keep it short). */
typedef void (*bus_tap_fn)(void *ctx, const char *topic, const void *payload, size_t len);
/*
 * Hands every message matching `filter` to `cb` (history, metrics), subscribed at QoS 0 on
 * each connect. Before bus_start only; at most BUS_TAPS. Returns 0, -ENOMEM or -ENOSPC.
 */
#define BUS_TAPS 8
int bus_tap(struct bus *b, const char *filter, bus_tap_fn cb, void *ctx);
/* Disconnects and stops the loop thread. */
void bus_stop(struct bus *b);
void bus_free(struct bus *b);

#endif
