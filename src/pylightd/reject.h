/* reject.h -- why pylightd refused an input: a small fixed set of reasons and their names */
#ifndef PYLIGHT_REJECT_H
#define PYLIGHT_REJECT_H

/*
 * Each refused input counts once in `rejected` and once under its reason. The names go into
 * the published counters ("rejected_by") and from there into Prometheus labels: lower case
 * and underscores, never renamed (dashboards select on them); a new reason goes at the end.
 */
enum reject_reason {
	REJECT_PAYLOAD_TOO_LARGE, /* any input over [readings] max_payload, not parsed */
	REJECT_BAD_READING,       /* a reading that is no number (or no JSON field holding one) */
	REJECT_NOT_A_SENSOR,      /* a reading on a zone's own topic, the zone has sensors */
	REJECT_MAX_ZONES,         /* a new zone beyond [readings] max_zones */
	REJECT_OUT_OF_MEMORY,     /* a new zone that could not be allocated */
	REJECT_BAD_OVERRIDE,      /* an override that is not ON, OFF, AUTO (with duration, level) */
	REJECT_NOT_DIMMABLE,      /* an override with a level, for a zone that does not dim */
	REJECT_BAD_LAMP_REPORT,   /* a lamp's feedback that says neither ON nor OFF */
	REJECT_BAD_PRESENCE,      /* a presence report that says neither present nor absent */
	REJECT_NO_ZONE,           /* a topic under a subscription that names no zone */
	REJECT_REASONS            /* how many there are */
};

/* The reason's name ("bad_reading"); "unknown" for a value out of range. */
const char *reject_name(enum reject_reason r);

#endif
