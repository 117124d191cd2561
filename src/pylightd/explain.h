/* explain.h -- a zone's explanation (docs/mqtt.md): written for it, and read from others */
#ifndef PYLIGHT_EXPLAIN_H
#define PYLIGHT_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensors.h"
#include "zones.h"

/*
 * An explanation's text (len bytes, NUL-terminated), in a buffer that explain_build reuses
 * from one explanation to the next: zero-initialise it, and free it with explain_done.
 */
struct explanation {
	char *text;
	size_t len, cap;
};

/* What an explanation says besides the zone itself. */
struct explain_ctx {
	const struct sensor_value *sensors; /* the values of the zone's listed sensors */
	const struct thresholds *t;         /* in force: names the sensors */
	const char *node;                   /* this instance in a cluster; NULL alone */
	int64_t now;                        /* monotonic milliseconds */
	int64_t wall_ms;                    /* the wall clock at `now`, in milliseconds */
};

/*
 * Writes zone `z`'s explanation into e (replacing what it held); `why` is decide_reason()'s
 * text. Returns 0 or -ENOMEM (e then holds what it held before).
 */
int explain_build(const struct zone *z, const char *why, const struct explain_ctx *x,
		  struct explanation *e);
/* Frees e's buffer; a zeroed or done one is a no-op. */
void explain_done(struct explanation *e);

/* What another instance's explanation says, as far as taking a zone's state from it goes. */
struct explained {
	enum light light;    /* LIGHT_UNKNOWN: its "state" is neither ON nor OFF: take nothing */
	int mode;            /* enum zone_mode, -1 when "mode" names none */
	bool has_switches, has_since;
	int64_t switches, since, until; /* 0 when missing */
	int64_t level;                  /* a dimmed zone's; -1 when missing */
	bool has_lux;                   /* "lux" is a number: the owner's latest reading */
	double lux;
};

/* Reads an explanation (any bytes: a bad one has light LIGHT_UNKNOWN). */
void explain_parse(const void *payload, size_t len, struct explained *e);
/*
 * Whether an explanation agrees with the zone's count of switches and last change, read
 * without parsing it: the steady state of a shadow hearing its owner, most of them.
 */
bool explain_agrees(const void *payload, size_t len, uint32_t switches, int64_t since_wall);

/*
 * What another instance's explanation is to a zone known here: NEWS when it was decided
 * after the zone's own state (more switches, or as many and a later last change; just after
 * a connect, `window`, a retained one that is not older), SAME when it says the zone's light
 * and mode, OLD otherwise. `since` is in seconds, stamped on each instance's own clock: a tie
 * is news only in the retained ones.
 */
enum explain_news { EXPLAIN_IGNORED, EXPLAIN_OLD, EXPLAIN_SAME, EXPLAIN_NEWS };
enum explain_news explain_news(const struct zone_state *s, int64_t since_wall,
			       const struct explained *e, bool window);
/*
 * Another instance's explanation of zone `z` (NULL: a zone unknown here); `needle` is
 * "\"node\":\"NODE\"" of this instance, `window` whether it came retained just after a
 * connect. A zone this instance knows nothing of takes its state from it (in the window,
 * from the retained ones: so a restart loses no override), and so does a zone whose
 * explanation is news: another instance decided it while this one was away, or from a
 * reading that came before this one's readings subscription; its own old readings would
 * undo that decision. A shadow that agrees takes the owner's count of switches and last
 * change here, so that the next comparison is like for like. Returns IGNORED for this
 * instance's own echo and for what needs no look (the steady state of a shadow hearing its
 * owner agree), NEWS when the caller must adopt *e (creating the zone if unknown).
 */
enum explain_news explain_heard(struct zone *z, const void *payload, size_t len,
				const char *needle, bool window, struct explained *e);
/*
 * Takes a zone's light, mode, switches, last change (*since_wall) and override end from an
 * explanation, at `now` (monotonic ms), `wall` (time(), seconds) and `wall_ms`. The zone's
 * readings are dropped (they may be older than the decision, and would undo it) unless its
 * latest is the owner's: a shadow a moment behind its owner keeps them.
 */
void explain_adopt(struct zone_state *s, int64_t *since_wall, const struct explained *e,
		   int64_t now, int64_t wall, int64_t wall_ms);

/*
 * One line of `pylightd` status for zone `z` into buf: state, mode, lux, thresholds,
 * counters, its sensors and lamp, and `owner` (NULL alone).
 */
void explain_line(const struct zone *z, const struct sensor_value *sensors, const char *owner,
		  int64_t now, char *buf, size_t cap);

#endif
