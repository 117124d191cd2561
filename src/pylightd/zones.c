/* zones.c -- the zone table: O(1) lookup by name and a heap of the zones' next wake times */
#include "zones.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct zones {
	struct zone *by_name;
	struct zone **heap; /* a binary min-heap on wake */
	size_t nheap, heapcap;
	size_t count;
};

int zones_new(struct zones **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

size_t zones_count(const struct zones *zs)
{
	return zs->count;
}

struct zone *zones_find(struct zones *zs, const char *name)
{
	struct zone *z;

	HASH_FIND_STR(zs->by_name, name, z);
	return z;
}

struct zone *zones_add(struct zones *zs, const char *name, const struct zone_params *p)
{
	size_t len = strlen(name);
	struct zone *z = calloc(1, sizeof(*z) + len + 1);

	if (!z)
		return NULL;
	memcpy(z->name, name, len + 1);
	z->wake = DECIDE_NEVER;
	z->st.window = &z->one;
	z->st.wcap = 1;
	if (zones_set_params(z, p) < 0) {
		free(z);
		return NULL;
	}
	HASH_ADD(hh, zs->by_name, name[0], len, z);
	if (!z->hh.tbl) { /* the table could not grow: nothing was added */
		if (z->st.window != &z->one)
			free(z->st.window);
		free(z);
		return NULL;
	}
	zs->count++;
	return z;
}

int zones_set_params(struct zone *z, const struct zone_params *p)
{
	double *old = z->st.window, *buf;
	uint8_t cap = (uint8_t)p->smoothing;

	z->p = p;
	if (cap == z->st.wcap)
		return 0;
	buf = cap == 1 ? &z->one : malloc(cap * sizeof(double));
	if (!buf)
		return -ENOMEM;
	if (buf == &z->one) {
		/* Moving into the inline slot: go through a copy, `one` may hold the old window. */
		double tmp[SMOOTHING_MAX];
		struct zone_state s = z->st;

		decide_window_resize(&s, tmp, cap);
		z->one = tmp[0];
		s.window = &z->one;
		z->st = s;
	} else {
		decide_window_resize(&z->st, buf, cap);
	}
	if (old != &z->one)
		free(old);
	return 0;
}

static void heap_swap(struct zones *zs, size_t a, size_t b)
{
	struct zone *t = zs->heap[a];

	zs->heap[a] = zs->heap[b];
	zs->heap[b] = t;
	zs->heap[a]->heap_idx = a;
	zs->heap[b]->heap_idx = b;
}

static void heap_up(struct zones *zs, size_t i)
{
	while (i > 0 && zs->heap[(i - 1) / 2]->wake > zs->heap[i]->wake) {
		heap_swap(zs, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct zones *zs, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < zs->nheap && zs->heap[l]->wake < zs->heap[m]->wake)
			m = l;
		if (r < zs->nheap && zs->heap[r]->wake < zs->heap[m]->wake)
			m = r;
		if (m == i)
			return;
		heap_swap(zs, i, m);
		i = m;
	}
}

static void heap_remove(struct zones *zs, struct zone *z)
{
	size_t i = z->heap_idx;

	zs->nheap--;
	if (i != zs->nheap) {
		zs->heap[i] = zs->heap[zs->nheap];
		zs->heap[i]->heap_idx = i;
		heap_up(zs, i);
		heap_down(zs, zs->heap[i]->heap_idx);
	}
}

int zones_schedule(struct zones *zs, struct zone *z, int64_t wake)
{
	bool queued = z->wake != DECIDE_NEVER;

	if (wake == z->wake)
		return 0;
	if (wake == DECIDE_NEVER) {
		heap_remove(zs, z);
		z->wake = DECIDE_NEVER;
		return 0;
	}
	if (!queued) {
		if (zs->nheap == zs->heapcap) {
			size_t cap = zs->heapcap ? zs->heapcap * 2 : 16;
			/* sizeof a pointer: the heap is an array of them. */
			/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
			struct zone **h = realloc(zs->heap, cap * sizeof(*h));

			if (!h)
				return -ENOMEM;
			zs->heap = h;
			zs->heapcap = cap;
		}
		z->heap_idx = zs->nheap++;
		zs->heap[z->heap_idx] = z;
	}
	z->wake = wake;
	heap_up(zs, z->heap_idx);
	heap_down(zs, z->heap_idx);
	return 0;
}

int64_t zones_next_wake(const struct zones *zs)
{
	return zs->nheap ? zs->heap[0]->wake : DECIDE_NEVER;
}

struct zone *zones_due(const struct zones *zs, int64_t now)
{
	return zs->nheap && zs->heap[0]->wake <= now ? zs->heap[0] : NULL;
}

void zones_foreach(struct zones *zs, void (*fn)(struct zone *z, void *ctx), void *ctx)
{
	struct zone *z, *tmp;

	HASH_ITER(hh, zs->by_name, z, tmp)
		fn(z, ctx);
}

void zones_free(struct zones *zs)
{
	struct zone *z, *tmp;

	if (!zs)
		return;
	HASH_ITER(hh, zs->by_name, z, tmp) {
		/* The analyzer loses track of uthash's list links here. */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		HASH_DEL(zs->by_name, z);
		if (z->st.window != &z->one)
			free(z->st.window);
		free(z);
	}
	free(zs->heap);
	free(zs);
}
