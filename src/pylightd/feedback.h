/* feedback.h -- lamp feedback: an order waits for its lamp's report, is retried; hand switches */
#ifndef PYLIGHT_FEEDBACK_H
#define PYLIGHT_FEEDBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decide.h"

/* The hand-switching notice is logged at most once per this many milliseconds per zone. */
#define FEEDBACK_NOTICE_MS 10000

struct zone;

/* One zone's lamp feedback; feedback_init sets it up, it needs no freeing. */
struct feedback_state {
	int64_t deadline;      /* re-publish an unconfirmed order then; DECIDE_NEVER: none */
	int64_t manual_at;     /* rate limit of the hand-switching notice */
	uint32_t manual_quiet; /* hand switches not logged since manual_at */
	uint8_t lamp;          /* enum light: what the lamp last reported */
	uint8_t retries;       /* re-publishes of the current order */
	bool unconfirmed;      /* the lamp has not reported the current order yet */
	bool gave_up;          /* ... and its retries are spent */
	struct zone *next;     /* the next zone whose lamp reports on the same topic */
};

/* What a feedback step asks its caller to do; all false/0 when nothing. */
struct feedback_action {
	bool publish;     /* publish the zone's current order again */
	bool retry;       /* ... as a retry: count it when it went out */
	bool manual;      /* a hand switch: count it */
	bool notice;      /* ... and log it, with `quiet` more since the last notice */
	uint32_t quiet;
	bool override;    /* ... and the zone follows the hand (decide_manual) */
	bool confirmed;   /* count a confirmation */
	bool gave_up;     /* log that the lamp did not confirm after `retries` re-publishes */
	bool news;        /* the explanation changed: publish it again */
	int unconfirmed;  /* -1, 0 or +1: the change in zones whose retries are spent */
};

void feedback_init(struct feedback_state *f);
/* The zone's order went out at `now`: wait for the lamp to report that state. */
void feedback_wait(struct feedback_state *f, const struct zone_params *p, int64_t now,
		   struct feedback_action *a);
/* The wait is over (f->deadline <= now): publish the order again, or give up after the last. */
void feedback_due(struct feedback_state *f, const struct zone_params *p, int64_t now,
		  struct feedback_action *a);
/*
 * The lamp reported `lamp` while the zone's light is `light`; `retained` when the broker had
 * kept the report (never a confirmation, never a hand).
 */
void feedback_report(struct feedback_state *f, const struct zone_params *p, enum light light,
		     enum light lamp, bool retained, int64_t now, struct feedback_action *a);
/* New parameters (`old_topic` was the lamp's topic before): another lamp or none. */
void feedback_reparam(struct feedback_state *f, const char *old_topic,
		      const struct zone_params *p, struct feedback_action *a);

/* The zones by the topic their lamp reports on, each topic's zones linked through `next`. */
struct feedback_topics;

/* Files `z` (whose feedback state is `f`) under `topic`. Returns 0 or -ENOMEM. */
int feedback_link(struct feedback_topics **ts, const char *topic, struct zone *z,
		  struct feedback_state *f);
/* The first zone whose lamp reports on `topic`, NULL if none; the others follow by `next`. */
struct zone *feedback_first(struct feedback_topics *ts, const char *topic);
/* Forgets every topic (sets *ts to NULL); an empty index is a no-op. */
void feedback_unlink_all(struct feedback_topics **ts);
/*
 * The distinct feedback topics of `t` in *v, to be freed by the caller (the strings belong to
 * `t`). Returns how many; out of memory, those listed so far.
 */
size_t feedback_list(const struct thresholds *t, const char ***v);

#endif
