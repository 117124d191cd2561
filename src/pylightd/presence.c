/* presence.c -- occupancy: the pure state machine, and the zones by presence topic */
#include "presence.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
/* uthash would exit() when out of memory; the index reports it instead. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "hash.h"
#include "thresholds.h"

static uint16_t sensors_mask(unsigned n)
{
	return n >= PRESENCE_SENSORS ? 0xffff : (uint16_t)((1u << n) - 1);
}

void presence_report(struct presence *p, unsigned n, unsigned i, bool present, int64_t now)
{
	uint16_t all = sensors_mask(n), bit;
	bool was_occupied;

	if (i >= n || i >= PRESENCE_SENSORS)
		return;
	bit = (uint16_t)(1u << i);
	/* "Someone is there" by the sensors alone, before vacancy_after. */
	was_occupied = (p->heard & all) != all || (p->present & all);
	p->heard |= bit;
	if (present)
		p->present |= bit;
	else
		p->present &= (uint16_t)~bit;
	if (was_occupied && (p->heard & all) == all && !(p->present & all))
		p->absent_from = now;
}

bool presence_occupied(const struct presence *p, unsigned n, int64_t vacancy_after, int64_t now,
		       int64_t *deadline)
{
	uint16_t all = sensors_mask(n);

	*deadline = -1;
	if (n == 0 || (p->heard & all) != all || (p->present & all))
		return true;
	if (now - p->absent_from < vacancy_after) {
		*deadline = p->absent_from + vacancy_after;
		return true;
	}
	return false;
}

/* --- the zones by the presence topics they list ------------------------------------- */

/* Zones in an array grown by doubling: a pointer each, no node of their own. */
struct zone_set {
	struct zone **v;
	uint32_t n, cap;
};

struct presence_topic {
	UT_hash_handle hh;
	struct zone_set own; /* the zones that list it in a section of their own */
	bool global;         /* the global list has it: the inheriting zones hear it too */
	char topic[];
};

struct presence_index {
	struct presence_topic *topics;
	struct zone_set inherit;        /* the zones whose list is the global one */
	const struct occupancy *global; /* that list, told apart by its address */
};

static int set_add(struct zone_set *s, struct zone *z)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 1;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		struct zone **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = z;
	return 0;
}

static void topic_free(struct presence_topic *t)
{
	free(t->own.v);
	free(t);
}

/* The entry of `topic`, added empty if there is none; NULL when memory ran out. */
static struct presence_topic *topic_get(struct presence_index *ix, const char *topic)
{
	size_t len = strlen(topic);
	struct presence_topic *t;

	HASH_FIND(hh, ix->topics, topic, len, t);
	if (t)
		return t;
	t = calloc(1, sizeof(*t) + len + 1);
	if (!t)
		return NULL;
	memcpy(t->topic, topic, len + 1);
	HASH_ADD(hh, ix->topics, topic[0], len, t);
	if (!t->hh.tbl) {
		free(t);
		return NULL;
	}
	return t;
}

int presence_index_new(struct presence_index **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void index_clear(struct presence_index *ix)
{
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash frees its table last */
	HASH_FREE_ALL(ix->topics, topic_free);
	free(ix->inherit.v);
	ix->inherit = (struct zone_set){ 0 };
	ix->global = NULL;
}

void presence_index_free(struct presence_index *ix)
{
	if (!ix)
		return;
	index_clear(ix);
	free(ix);
}

int presence_index_reset(struct presence_index *ix, const struct occupancy *global)
{
	index_clear(ix);
	ix->global = global;
	for (unsigned i = 0; global && i < global->n; i++) {
		struct presence_topic *t = topic_get(ix, global->topic[i]);

		if (!t)
			return -ENOMEM;
		t->global = true;
	}
	return 0;
}

int presence_index_add(struct presence_index *ix, const struct occupancy *occ, struct zone *z)
{
	if (!occ)
		return 0;
	/* A section without `occupancy` shares the global list itself, not a copy of it. */
	if (occ == ix->global)
		return set_add(&ix->inherit, z);
	for (unsigned i = 0; i < occ->n; i++) {
		struct presence_topic *t = topic_get(ix, occ->topic[i]);

		if (!t || set_add(&t->own, z) < 0)
			return -ENOMEM;
	}
	return 0;
}

void presence_index_foreach(const struct presence_index *ix, const char *topic,
			    void (*fn)(struct zone *z, void *ctx), void *ctx)
{
	struct presence_topic *t;

	HASH_FIND_STR(ix->topics, topic, t);
	if (!t)
		return;
	for (uint32_t i = 0; i < t->own.n; i++)
		fn(t->own.v[i], ctx);
	for (uint32_t i = 0; t->global && i < ix->inherit.n; i++)
		fn(ix->inherit.v[i], ctx);
}
