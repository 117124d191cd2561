/* discovery.h -- Home Assistant MQTT discovery: each zone's entities, announced and cleaned */
#ifndef PYLIGHT_DISCOVERY_H
#define PYLIGHT_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct discovery;

/* Receives one retained config: its topic and payload ("" deletes the entity). */
typedef void discovery_emit(void *ctx, const char *topic, const char *payload);

/* Returns 0 and the discovery state in *out, or -ENOMEM. The config must outlive it. */
int discovery_new(const struct config *cfg, struct discovery **out);
void discovery_free(struct discovery *d);

/* The filters to subscribe to on every connect: Home Assistant's status, and our configs. */
const char *discovery_status_topic(const struct discovery *d);
const char *discovery_config_filter(const struct discovery *d);

/* Emits the configs of zone `zone` (binary_sensor, select, and sensor when explained). */
int discovery_announce(struct discovery *d, const char *zone, discovery_emit *emit, void *ctx);

/* A dimmed zone's level sensor, in percent: announced, and kept by a sweep, apart. */
int discovery_announce_level(struct discovery *d, const char *zone, discovery_emit *emit,
			     void *ctx);
void discovery_keep_level(struct discovery *d, const char *zone);
/* Emits the occupancy binary_sensor of a zone with presence sensors (state: its explanation). */
int discovery_announce_occupancy(struct discovery *d, const char *zone, discovery_emit *emit,
				 void *ctx);

/* Whether `topic` is one of our configs (it matches discovery_config_filter). */
bool discovery_owns(const struct discovery *d, const char *topic);

/*
 * The sweep after a connect: discovery_seen files every retained config of ours the broker
 * delivers (topic under discovery_config_filter), discovery_keep marks those of a zone in
 * ref.txt or alive. discovery_sweep hands the zone id of every other config of one of our
 * entities to `known` (a zone this process has not heard from yet: it keeps its entities),
 * emits an empty payload for the rest (not ours to keep) and forgets them all. Returns how
 * many it cleared. discovery_seen returns 0 or -ENOMEM.
 */
int discovery_seen(struct discovery *d, const char *topic);
void discovery_keep(struct discovery *d, const char *zone);
size_t discovery_sweep(struct discovery *d, discovery_emit *emit,
		       void (*known)(void *ctx, const char *zid), void *ctx);

/* The retained topic of the zone's lux state (the sensor's state_topic). */
void discovery_lux_topic(const struct discovery *d, const char *zone, char *buf, size_t cap);
/* Clears every entity of zone id `zid` and its lux state: Home Assistant deletes them. */
void discovery_forget(const struct discovery *d, const char *zid, discovery_emit *emit,
		      void *ctx);

/* The object id of a zone's entities without their suffix: "hall_1b2c3d4e", "default_...". */
void discovery_zone_id(const char *zone, char *buf, size_t cap);

/*
 * Home Assistant's slugify: letters of Latin scripts transliterated ("Küche" -> "kuche",
 * "Straße" -> "strasse"), lower case, every run of other characters one '_', none at either
 * end. Writes at most cap - 1 characters and a NUL; returns the length.
 */
size_t discovery_slug(const char *text, char *buf, size_t cap);

#endif
