/* entities.h -- when each zone's Home Assistant lux is published, and when a zone is forgotten */
#ifndef PYLIGHT_ENTITIES_H
#define PYLIGHT_ENTITIES_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One record per zone that has entities, keyed by its zone id (discovery_zone_id). Pure:
 * time comes in, what to publish or clear goes out through the callbacks of entities_due.
 */
struct entities;

/* What entities_due hands back. */
struct entities_out {
	/* Publish `lux` as the zone's state (the record keeps it as published). */
	void (*lux)(void *ctx, const char *zone, double lux);
	/* Clear the zone's entities: it had no reading for forget_after. The record is gone. */
	void (*forget)(void *ctx, const char *zid);
	/* Whether a zone is in ref.txt: those are never forgotten. NULL zone: known only from the
	 * broker's retained configs (no section, since every section's zone is named). */
	bool (*sectioned)(void *ctx, const char *zone);
	void *ctx;
};

/* Returns 0 and the table in *out, or -ENOMEM. forget_after 0: never forget. */
int entities_new(int64_t lux_interval, int64_t forget_after, struct entities **out);
void entities_free(struct entities *e);

/*
 * The zone `zid` (named `zone`, or NULL when only its retained configs are known) was heard
 * from at `now`. Returns 1 when it had no record (announce it), 0, or -ENOMEM.
 */
int entities_heard(struct entities *e, const char *zid, const char *zone, int64_t now);
/* Whether the zone has a record. */
bool entities_known(const struct entities *e, const char *zid);
/* Drops the zone's record (its entities were cleared). */
void entities_drop(struct entities *e, const char *zid);

/*
 * The zone's decided lux at `now`. Returns true when it is to be published now (it differs
 * from the one published, and lux_interval has passed since); a change that comes sooner is
 * published when that interval is over (entities_next, entities_due).
 */
bool entities_lux(struct entities *e, const char *zid, double lux, int64_t now);
/* The lux published last for the zone, to publish again (a broker that lost it). */
bool entities_published(const struct entities *e, const char *zid, double *lux);

/* When entities_due has something to do next; INT64_MAX for never. */
int64_t entities_next(const struct entities *e);
/* Publishes the lux changes whose interval is over and forgets the zones silent too long. */
void entities_due(struct entities *e, int64_t now, const struct entities_out *out);
/* Sections came or went (a reload): looks again at what is to be forgotten, and when. */
void entities_replan(struct entities *e, int64_t now, const struct entities_out *out);

#endif
