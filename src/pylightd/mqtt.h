/* mqtt.h -- the broker connection: libmosquitto's loop thread, reconnects, will, shutdown */
#ifndef PYLIGHT_MQTT_H
#define PYLIGHT_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct mqtt;

/* Called on the loop thread. Keep them short: they stall network I/O. */
struct mqtt_events {
	void (*message)(void *ctx, const char *topic, const void *payload, size_t len,
			bool retained);
	/* The connection state changed; `why` says why when not connected. */
	void (*state)(void *ctx, bool connected, const char *why);
	void *ctx;
};

/* Creates the client from the configuration. On error fills `err` and returns -errno. */
int mqtt_new(const struct config *cfg, const struct mqtt_events *ev, struct mqtt **out, char *err,
	     size_t errlen);
/* Starts the loop thread, then connects asynchronously (a missing broker is retried). */
int mqtt_start(struct mqtt *m, char *err, size_t errlen);
/*
 * Queues a publish at the configured QoS; thread-safe. Returns 0, -ENOTCONN (queued all the
 * same at QoS > 0, lost at QoS 0) or another -errno.
 */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, bool retain);
/*
 * Publishes a retained state (a zone's explanation) at QoS 0: one write, no acknowledgement
 * to read. Unless the configured QoS is 0, a copy is kept until the acknowledgement of a later
 * QoS > 0 message proves the broker has it; what a lost connection may have swallowed, or
 * what could not be sent, is published again after the next connect. Thread-safe.
 */
int mqtt_publish_state(struct mqtt *m, const char *topic, const void *payload, size_t len);
/*
 * A file descriptor that becomes readable when the loop thread has ended (a fatal
 * libmosquitto error); -1 when the kernel cannot tell (then mqtt_check polls it).
 */
int mqtt_thread_fd(const struct mqtt *m);
/*
 * Health of the loop thread, for the watchdog: 0 when alive and not stuck, -EPIPE when it
 * has ended, -ETIMEDOUT when one callback has run for more than `stuck_ms` or the thread
 * is stopped or traced.
 */
int mqtt_check(struct mqtt *m, long long stuck_ms);
/* Restarts an ended loop thread (after a fatal error) and reconnects. */
int mqtt_restart(struct mqtt *m, char *err, size_t errlen);
/*
 * The extra topics to subscribe to (lamp feedback), on every connect from now on; those no
 * longer listed are dropped at once, new ones subscribed at once. Thread-safe.
 */
int mqtt_listen(struct mqtt *m, const char *const *topics, size_t n);
/* Drops a subscription until the next connect makes it again. Thread-safe. */
int mqtt_unsubscribe(struct mqtt *m, const char *filter);
/* Why the last connection attempt failed or the connection was lost, "" if connected. */
void mqtt_describe(struct mqtt *m, char *buf, size_t len);
/*
 * Publishes `offline` (retained) on the status topic, waits up to `timeout_ms` for in-flight
 * QoS messages, disconnects and stops the loop thread.
 */
void mqtt_shutdown(struct mqtt *m, int timeout_ms);
void mqtt_free(struct mqtt *m);

#endif
