/* feedback.c -- lamp feedback: an order waits for its lamp's report, is retried; hand switches */
#include "feedback.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
/* uthash would exit() when out of memory; feedback_link reports it instead. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "hash.h"

void feedback_init(struct feedback_state *f)
{
	*f = (struct feedback_state){ .deadline = DECIDE_NEVER, .manual_at = INT64_MIN / 2,
				      .lamp = LIGHT_UNKNOWN };
}

void feedback_wait(struct feedback_state *f, const struct zone_params *p, int64_t now,
		   struct feedback_action *a)
{
	if (f->gave_up)
		a->unconfirmed--;
	f->unconfirmed = true;
	f->gave_up = false;
	f->retries = 0;
	f->deadline = now + p->confirm_within;
}

void feedback_due(struct feedback_state *f, const struct zone_params *p, int64_t now,
		  struct feedback_action *a)
{
	f->deadline = DECIDE_NEVER;
	if (!f->unconfirmed || f->gave_up)
		return;
	if (f->retries < p->retries) {
		/* A shadow keeps the count too, so that a takeover goes on where the owner was. */
		a->publish = a->retry = true;
		f->retries++;
		/* Each wait twice the one before: confirm_within, then 2x, 4x ... */
		f->deadline = now + (p->confirm_within << f->retries);
		return;
	}
	f->gave_up = true;
	a->gave_up = true;
	a->unconfirmed++;
}

/* A hand switch: counted always, told at most once per FEEDBACK_NOTICE_MS. */
static void hand(struct feedback_state *f, int64_t now, struct feedback_action *a)
{
	a->manual = true;
	/* A lamp flapping by hand (or a switch that bounces) must not flood the journal. */
	if (now - f->manual_at >= FEEDBACK_NOTICE_MS) {
		a->notice = true;
		a->quiet = f->manual_quiet;
		f->manual_at = now;
		f->manual_quiet = 0;
	} else {
		f->manual_quiet++;
	}
}

void feedback_report(struct feedback_state *f, const struct zone_params *p, enum light light,
		     enum light lamp, bool retained, int64_t now, struct feedback_action *a)
{
	a->news = f->lamp != lamp;
	f->lamp = (uint8_t)lamp;
	if (retained)
		return; /* a state kept from before */
	if (f->unconfirmed) {
		/* The other state while an order waits is neither confirmation nor a hand. */
		if (lamp != light)
			return;
		if (f->gave_up)
			a->unconfirmed--;
		f->unconfirmed = f->gave_up = false;
		f->deadline = DECIDE_NEVER;
		a->confirmed = a->news = true;
		return;
	}
	if (light == LIGHT_UNKNOWN || lamp == light)
		return;
	hand(f, now, a);
	switch (p->manual) {
	case MANUAL_OVERRIDE:
		a->override = a->news = true;
		break;
	case MANUAL_ENFORCE:
		a->publish = a->news = true;
		feedback_wait(f, p, now, a);
		break;
	case MANUAL_IGNORE:
		break;
	}
}

void feedback_reparam(struct feedback_state *f, const char *old_topic,
		      const struct zone_params *p, struct feedback_action *a)
{
	/* Another lamp, or none: what the old one said no longer holds. */
	if (strcmp(old_topic, p->feedback) != 0)
		f->lamp = LIGHT_UNKNOWN;
	if (!p->feedback[0] && f->unconfirmed) {
		if (f->gave_up)
			a->unconfirmed--;
		f->unconfirmed = f->gave_up = false;
		f->retries = 0;
		f->deadline = DECIDE_NEVER;
	}
}

/* --- the zones by feedback topic ------------------------------------------------------ */

struct feedback_topics {
	UT_hash_handle hh;
	struct zone *first;
	char topic[];
};

int feedback_link(struct feedback_topics **ts, const char *topic, struct zone *z,
		  struct feedback_state *f)
{
	size_t len = strlen(topic);
	struct feedback_topics *t;

	f->next = NULL;
	if (!len)
		return 0;
	HASH_FIND(hh, *ts, topic, len, t);
	if (!t) {
		t = calloc(1, sizeof(*t) + len + 1);
		if (!t)
			return -ENOMEM;
		memcpy(t->topic, topic, len + 1);
		HASH_ADD(hh, *ts, topic[0], len, t);
		if (!t->hh.tbl) {
			free(t);
			return -ENOMEM;
		}
	}
	f->next = t->first;
	t->first = z;
	return 0;
}

struct zone *feedback_first(struct feedback_topics *ts, const char *topic)
{
	struct feedback_topics *t;

	HASH_FIND_STR(ts, topic, t);
	return t ? t->first : NULL;
}

void feedback_unlink_all(struct feedback_topics **ts)
{
	/* The analyzer loses track of uthash's list links here. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	HASH_FREE_ALL(*ts, free);
}

struct topic_list {
	const char **v;
	size_t n, cap;
};

static void topic_collect(const char *topic, void *ctx)
{
	struct topic_list *ts = ctx;

	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 8;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		const char **v = realloc(ts->v, cap * sizeof(*v));

		if (!v)
			return;
		ts->v = v;
		ts->cap = cap;
	}
	ts->v[ts->n++] = topic;
}

size_t feedback_list(const struct thresholds *t, const char ***v)
{
	struct topic_list ts = { 0 };

	thresholds_foreach_feedback(t, topic_collect, &ts);
	*v = ts.v;
	return ts.n;
}
