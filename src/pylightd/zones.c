/* zones.c -- the zone table: O(1) lookup by name and a heap of the zones' next wake times */
#include "zones.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h> /* HASH_VALUE only: the table is the open addressing below */

#include "buf.h"

/*
 * Zones are only ever added, and freed all together: they are cut one after the other from
 * blocks of this size, so that a city's million zones cost no allocation header each.
 */
#define BLOCK_SIZE ((size_t)64 * 1024)

struct block {
	struct block *next;
	size_t used, size;
	max_align_t data[];
};

struct zones {
	struct zone **slots; /* by name, open addressing, at most half full; mask + 1 slots */
	size_t mask;
	struct block *blocks; /* the newest first */
	struct zone **heap;   /* a binary min-heap on wake */
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

/* The slot of the zone `name`: the one that holds it, or the free one it would take. */
static struct zone **slot_of(const struct zones *zs, const char *name, size_t len)
{
	unsigned h;

	HASH_VALUE(name, len, h);
	for (;; h++) {
		struct zone **slot = &zs->slots[h & zs->mask];

		if (!*slot || (strncmp((*slot)->name, name, len) == 0 && (*slot)->name[len] == '\0'))
			return slot;
	}
}

/* Keeps the slots at most half full, for one more zone. Returns 0 or -ENOMEM. */
static int slots_grow(struct zones *zs)
{
	size_t n = zs->slots ? zs->mask + 1 : 0, old_n = n;
	struct zone **old = zs->slots;

	if (2 * (zs->count + 1) <= n)
		return 0;
	n = n ? 2 * n : 64;
	/* sizeof a pointer: the slots are an array of them. */
	/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
	zs->slots = calloc(n, sizeof(*zs->slots));
	if (!zs->slots) {
		zs->slots = old;
		return -ENOMEM;
	}
	zs->mask = n - 1;
	for (size_t i = 0; i < old_n; i++)
		if (old[i])
			*slot_of(zs, old[i]->name, strlen(old[i]->name)) = old[i];
	free(old);
	return 0;
}

/* The bytes a zone named with `len` bytes takes in its block. */
static size_t zone_size(size_t len)
{
	size_t size = offsetof(struct zone, name) + len + 1;

	return (size + _Alignof(struct zone) - 1) & ~(_Alignof(struct zone) - 1);
}

/* Zeroed room for a zone, from the newest block or a new one; NULL when out of memory. */
static struct zone *zone_alloc(struct zones *zs, size_t size)
{
	struct block *b = zs->blocks;
	struct zone *z;

	if (!b || b->size - b->used < size) {
		size_t cap = size > BLOCK_SIZE ? size : BLOCK_SIZE;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = cap;
		b->next = zs->blocks;
		zs->blocks = b;
	}
	z = (struct zone *)((char *)b->data + b->used);
	b->used += size;
	memset(z, 0, size);
	return z;
}

struct zone *zones_find(struct zones *zs, const char *name)
{
	return zs->slots ? *slot_of(zs, name, strlen(name)) : NULL;
}

struct zone *zones_add(struct zones *zs, const char *name, const struct zone_params *p)
{
	size_t len = strlen(name), size = zone_size(len);
	struct zone *z;

	if (slots_grow(zs) < 0)
		return NULL;
	z = zone_alloc(zs, size);
	if (!z)
		return NULL;
	memcpy(z->name, name, len + 1);
	z->wake = DECIDE_NEVER;
	z->st.window = &z->one;
	z->st.wcap = 1;
	if (zones_set_params(z, p) < 0) {
		/* the zone was the block's last piece: give it back */
		zs->blocks->used -= size;
		return NULL;
	}
	*slot_of(zs, name, len) = z;
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
	zs->heap[a]->heap_idx = (uint32_t)a;
	zs->heap[b]->heap_idx = (uint32_t)b;
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
		zs->heap[i]->heap_idx = (uint32_t)i;
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
		/* sizeof a pointer: the heap is an array of them. */
		/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
		if (buf_grow(&zs->heap, &zs->heapcap, zs->nheap + 1, sizeof(*zs->heap)) < 0)
			return -ENOMEM;
		z->heap_idx = (uint32_t)zs->nheap++;
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
	/* Block by block, each in the order its zones were cut: memory in order, which at a
	 * million zones is 3 x faster than through the slots. */
	for (const struct block *b = zs->blocks; b; b = b->next) {
		size_t at = 0;

		while (at < b->used) {
			struct zone *z = (struct zone *)((char *)b->data + at);

			at += zone_size(strlen(z->name));
			fn(z, ctx);
		}
	}
}

void zones_free(struct zones *zs)
{
	if (!zs)
		return;
	for (size_t i = 0; zs->slots && i <= zs->mask; i++) {
		struct zone *z = zs->slots[i];

		if (z && z->st.window != &z->one)
			free(z->st.window);
	}
	while (zs->blocks) {
		struct block *next = zs->blocks->next;

		free(zs->blocks);
		zs->blocks = next;
	}
	free(zs->slots);
	free(zs->heap);
	free(zs);
}
