/* unacked.c -- retained QoS 0 messages the broker may not have yet, until an ack proves it has */
#include "unacked.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
/* uthash would exit() when out of memory; unacked_keep reports it instead. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/* Beyond this many unacknowledged barriers the oldest are dropped: newer ones prove more. */
#define BARRIERS_MAX 16384

struct copy {
	UT_hash_handle hh; /* by topic */
	struct copy *older, *newer;
	uint64_t seq; /* the how-manieth copy kept */
	size_t len;   /* the payload's */
	size_t cap;   /* bytes of data: the topic, its NUL and the payload */
	char *topic; /* in data, then the payload */
	char data[];
};

struct barrier {
	uint64_t seq; /* the copies it proves: those with seq <= this */
	uint16_t mid;
};

struct unacked {
	struct copy *by_topic;
	struct copy *oldest, *newest;
	size_t copies;
	uint64_t seq;
	struct barrier *ring; /* in the order published, which is the order of the ids */
	size_t head, nbar, cap;
};

int unacked_new(struct unacked **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

/* Out of the list, not of the table. */
static void unlist(struct unacked *u, struct copy *c)
{
	if (c->older)
		c->older->newer = c->newer;
	else
		u->oldest = c->newer;
	if (c->newer)
		c->newer->older = c->older;
	else
		u->newest = c->older;
	u->copies--;
}

static void unlink_copy(struct unacked *u, struct copy *c)
{
	/* clang-analyzer loses track of uthash's links (see hash.h). */
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	HASH_DEL(u->by_topic, c);
	unlist(u, c);
}

void unacked_free(struct unacked *u)
{
	struct copy *c, *next;

	if (!u)
		return;
	HASH_CLEAR(hh, u->by_topic); /* uthash's table hangs off the first element */
	for (c = u->oldest; c; c = next) {
		next = c->newer;
		free(c);
	}
	free(u->ring);
	free(u);
}

/* The newest end of the list, where each new copy goes. */
static void append(struct unacked *u, struct copy *c)
{
	c->newer = NULL;
	c->older = u->newest;
	if (u->newest)
		u->newest->newer = c;
	else
		u->oldest = c;
	u->newest = c;
	u->copies++;
}

/* The payload into the copy, which becomes the newest. */
static void refill(struct unacked *u, struct copy *c, size_t tlen, const void *payload,
		   size_t len)
{
	if (len)
		memcpy(c->data + tlen + 1, payload, len);
	c->len = len;
	c->seq = ++u->seq;
	append(u, c);
}

int unacked_keep(struct unacked *u, const char *topic, const void *payload, size_t len)
{
	size_t tlen = strlen(topic), need = tlen + 1 + len;
	struct copy *c;
	unsigned hash;

	HASH_VALUE(topic, tlen, hash);
	HASH_FIND_BYHASHVALUE(hh, u->by_topic, topic, tlen, hash, c);
	/* Retained: the topic's older message no longer counts. Its copy takes the new one
	 * when it fits (a zone's explanations are much alike), else goes. */
	if (c && c->cap >= need) {
		unlist(u, c);
		refill(u, c, tlen, payload, len);
		return 0;
	}
	if (c) {
		unlink_copy(u, c);
		free(c);
	}
	c = malloc(sizeof(*c) + need + need / 4); /* room for the zone's next one */
	if (!c)
		return -ENOMEM;
	c->cap = need + need / 4;
	c->topic = c->data;
	memcpy(c->data, topic, tlen + 1);
	HASH_ADD_KEYPTR_BYHASHVALUE(hh, u->by_topic, c->topic, tlen, hash, c);
	if (!c->hh.tbl) {
		free(c);
		return -ENOMEM;
	}
	refill(u, c, tlen, payload, len);
	return 0;
}

int unacked_barrier(struct unacked *u, int mid)
{
	struct barrier *b;

	/* Nothing kept, nothing to prove: orders-only traffic costs nothing here. */
	if (!u->newest ||
	    (u->nbar && u->ring[(u->head + u->nbar - 1) & (u->cap - 1)].seq == u->newest->seq))
		return 0;
	if (u->nbar == BARRIERS_MAX) {
		u->head = (u->head + 1) & (u->cap - 1);
		u->nbar--;
	}
	if (u->nbar == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct barrier *ring = malloc(cap * sizeof(*ring));

		if (!ring)
			return -ENOMEM;
		for (size_t i = 0; i < u->nbar; i++)
			ring[i] = u->ring[(u->head + i) & (u->cap - 1)];
		free(u->ring);
		u->ring = ring;
		u->cap = cap;
		u->head = 0;
	}
	b = &u->ring[(u->head + u->nbar) & (u->cap - 1)];
	b->seq = u->newest->seq;
	b->mid = (uint16_t)mid;
	u->nbar++;
	return 0;
}

/* How far `mid` comes after the oldest barrier's id, wrapping at 65536 as the ids do. */
static uint16_t distance(const struct unacked *u, uint16_t mid)
{
	return (uint16_t)(mid - u->ring[u->head].mid);
}

void unacked_acked(struct unacked *u, int mid)
{
	uint16_t want = (uint16_t)mid;
	size_t lo = 0, hi = u->nbar, i;
	uint64_t seq;

	if (!u->nbar)
		return;
	/* Usually the oldest: a broker acknowledges in the order it received. */
	if (u->ring[u->head].mid == want) {
		i = 0;
	} else {
		/* Ids grow with each publish; a QoS 0 message's id (acknowledged when written)
		 * falls between barriers and matches none. */
		while (lo < hi) {
			size_t m = lo + (hi - lo) / 2;

			if (distance(u, u->ring[(u->head + m) & (u->cap - 1)].mid) <
			    distance(u, want))
				lo = m + 1;
			else
				hi = m;
		}
		if (lo == u->nbar || u->ring[(u->head + lo) & (u->cap - 1)].mid != want)
			return;
		i = lo;
	}
	/* The barriers before it were published, and so read, before it. */
	seq = u->ring[(u->head + i) & (u->cap - 1)].seq;
	u->head = (u->head + i + 1) & (u->cap - 1);
	u->nbar -= i + 1;
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the list's links, lost track of as above */
	while (u->oldest && u->oldest->seq <= seq) {
		struct copy *c = u->oldest;

		unlink_copy(u, c);
		free(c);
	}
}

void unacked_lost(struct unacked *u)
{
	u->head = 0;
	u->nbar = 0;
}

size_t unacked_count(const struct unacked *u)
{
	return u->copies;
}

size_t unacked_barriers(const struct unacked *u)
{
	return u->nbar;
}

size_t unacked_take(struct unacked *u,
		    void (*fn)(void *ctx, const char *topic, const void *payload, size_t len),
		    void *ctx)
{
	struct copy *c = u->oldest, *next;
	size_t n = 0;

	HASH_CLEAR(hh, u->by_topic);
	u->oldest = u->newest = NULL;
	u->copies = 0;
	u->head = 0;
	u->nbar = 0;
	for (; c; c = next) {
		next = c->newer;
		fn(ctx, c->topic, c->data + strlen(c->topic) + 1, c->len);
		free(c);
		n++;
	}
	return n;
}
