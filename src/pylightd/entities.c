/* entities.c -- when each zone's Home Assistant lux is published, and when a zone is forgotten */
#include "entities.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A failed allocation must not exit the daemon: entities_heard reports it. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "buf.h"
#include "hash.h"

#define NEVER INT64_MAX
#define NOWHERE SIZE_MAX /* heap_idx of a record with no lux waiting */

struct record {
	UT_hash_handle hh;
	char *zone;       /* NULL: known only from its retained configs */
	int64_t heard;    /* its last reading, or when it became known */
	int64_t pub_at;   /* when its lux was last published */
	int64_t due;      /* when the waiting lux may go out */
	double pub_lux, wait_lux;
	size_t heap_idx;  /* in the heap of waiting lux, or NOWHERE */
	bool published;
	char zid[];
};

struct entities {
	struct record *all;
	struct record **heap; /* waiting lux, earliest due first */
	size_t heap_len, heap_cap;
	int64_t interval, forget_after;
	int64_t forget_at; /* when some zone may be due to be forgotten; NEVER */
};

static void record_free(struct record *r)
{
	free(r->zone);
	free(r);
}

int entities_new(int64_t lux_interval, int64_t forget_after, struct entities **out)
{
	struct entities *e = malloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	*e = (struct entities){ .interval = lux_interval, .forget_after = forget_after,
				.forget_at = NEVER };
	*out = e;
	return 0;
}

void entities_free(struct entities *e)
{
	if (!e)
		return;
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
	HASH_FREE_ALL(e->all, record_free);
	free(e->heap);
	free(e);
}

static void heap_set(struct entities *e, size_t i, struct record *r)
{
	e->heap[i] = r;
	r->heap_idx = i;
}

static void heap_up(struct entities *e, size_t i)
{
	struct record *r = e->heap[i];

	while (i > 0 && e->heap[(i - 1) / 2]->due > r->due) {
		heap_set(e, i, e->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(e, i, r);
}

static void heap_down(struct entities *e, size_t i)
{
	struct record *r = e->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= e->heap_len)
			break;
		if (c + 1 < e->heap_len && e->heap[c + 1]->due < e->heap[c]->due)
			c++;
		if (e->heap[c]->due >= r->due)
			break;
		heap_set(e, i, e->heap[c]);
		i = c;
	}
	heap_set(e, i, r);
}

static int heap_push(struct entities *e, struct record *r)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	if (buf_grow(&e->heap, &e->heap_cap, e->heap_len + 1, sizeof(*e->heap)) < 0)
		return -ENOMEM;
	heap_set(e, e->heap_len++, r);
	heap_up(e, r->heap_idx);
	return 0;
}

static void heap_remove(struct entities *e, struct record *r)
{
	size_t i = r->heap_idx;

	if (i == NOWHERE)
		return;
	r->heap_idx = NOWHERE;
	if (i == --e->heap_len)
		return;
	heap_set(e, i, e->heap[e->heap_len]);
	heap_up(e, i);
	heap_down(e, e->heap[i]->heap_idx);
}

static struct record *find(const struct entities *e, const char *zid)
{
	struct record *r;

	HASH_FIND_STR(e->all, zid, r);
	return r;
}

int entities_heard(struct entities *e, const char *zid, const char *zone, int64_t now)
{
	struct record *r = find(e, zid);
	size_t len = strlen(zid);

	if (r) {
		r->heard = now;
		if (zone && !r->zone)
			r->zone = strdup(zone); /* NULL again when out of memory: it stays unnamed */
		return 0;
	}
	r = calloc(1, sizeof(*r) + len + 1);
	if (!r)
		return -ENOMEM;
	memcpy(r->zid, zid, len + 1);
	r->heard = now;
	r->heap_idx = NOWHERE;
	if (zone && !(r->zone = strdup(zone))) {
		free(r);
		return -ENOMEM;
	}
	HASH_ADD(hh, e->all, zid[0], len, r);
	if (!r->hh.tbl) {
		record_free(r);
		return -ENOMEM;
	}
	if (e->forget_after && now + e->forget_after < e->forget_at)
		e->forget_at = now + e->forget_after;
	return 1;
}

bool entities_known(const struct entities *e, const char *zid)
{
	return find(e, zid) != NULL;
}

static void drop(struct entities *e, struct record *r)
{
	heap_remove(e, r);
	/* The analyzer loses track of uthash's list links here. */
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference,clang-analyzer-unix.Malloc) */
	HASH_DEL(e->all, r);
	record_free(r);
}

void entities_drop(struct entities *e, const char *zid)
{
	struct record *r = find(e, zid);

	if (r)
		drop(e, r);
}

bool entities_lux(struct entities *e, const char *zid, double lux, int64_t now)
{
	struct record *r = find(e, zid);

	if (!r)
		return false;
	if (r->published && lux == r->pub_lux) {
		heap_remove(e, r); /* it came back before its turn: nothing to say */
		return false;
	}
	if (!r->published || now - r->pub_at >= e->interval) {
		heap_remove(e, r);
		r->published = true;
		r->pub_lux = lux;
		r->pub_at = now;
		return true;
	}
	r->wait_lux = lux;
	if (r->heap_idx == NOWHERE) {
		r->due = r->pub_at + e->interval;
		/* Out of memory, this change waits for the next one. */
		(void)heap_push(e, r);
	}
	return false;
}

bool entities_published(const struct entities *e, const char *zid, double *lux)
{
	const struct record *r = find(e, zid);

	if (!r || !r->published)
		return false;
	*lux = r->pub_lux;
	return true;
}

int64_t entities_next(const struct entities *e)
{
	int64_t lux = e->heap_len ? e->heap[0]->due : NEVER;

	return lux < e->forget_at ? lux : e->forget_at;
}

/* Forgets the zones silent for forget_after, and finds when the next one may be. */
static void forget_scan(struct entities *e, int64_t now, const struct entities_out *out)
{
	struct record *r, *tmp;

	e->forget_at = NEVER;
	HASH_ITER(hh, e->all, r, tmp) {
		int64_t at = r->heard + e->forget_after;

		if (out->sectioned(out->ctx, r->zone))
			continue;
		if (at > now) {
			if (at < e->forget_at)
				e->forget_at = at;
			continue;
		}
		out->forget(out->ctx, r->zid);
		drop(e, r);
	}
}

void entities_due(struct entities *e, int64_t now, const struct entities_out *out)
{
	while (e->heap_len && e->heap[0]->due <= now) {
		struct record *r = e->heap[0];

		heap_remove(e, r);
		r->pub_lux = r->wait_lux;
		r->pub_at = now;
		if (r->zone)
			out->lux(out->ctx, r->zone, r->wait_lux);
	}
	if (e->forget_after && e->forget_at <= now)
		forget_scan(e, now, out);
}

void entities_replan(struct entities *e, int64_t now, const struct entities_out *out)
{
	if (e->forget_after)
		forget_scan(e, now, out);
}
