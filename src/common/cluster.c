/* cluster.c -- several instances on one broker cluster: who is live, who owns which zone */
#include "cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

struct cluster {
	char self[CLUSTER_NAME_MAX + 1];
	size_t n;
	char *live[CLUSTER_NODES_MAX]; /* names of the live nodes, in no order */
	int64_t heard[CLUSTER_NODES_MAX]; /* when each last said online */
};

bool cluster_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CLUSTER_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '/' || *p == '+' || *p == '#')
			return false;
	return true;
}

int cluster_new(const char *self, struct cluster **out)
{
	struct cluster *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return -ENOMEM;
	snprintf(cl->self, sizeof(cl->self), "%s", self);
	*out = cl;
	return 0;
}

void cluster_reset(struct cluster *cl)
{
	for (size_t i = 0; i < cl->n; i++)
		free(cl->live[i]);
	cl->n = 0;
}

void cluster_free(struct cluster *cl)
{
	if (!cl)
		return;
	cluster_reset(cl);
	free(cl);
}

int cluster_status(struct cluster *cl, const char *name, bool online, int64_t now)
{
	size_t i;

	for (i = 0; i < cl->n && strcmp(cl->live[i], name) != 0; i++)
		;
	if (i < cl->n && online)
		cl->heard[i] = now;
	if ((i < cl->n) == online)
		return 0;
	if (online) {
		if (cl->n == CLUSTER_NODES_MAX)
			return -ENOSPC;
		if (!(cl->live[cl->n] = strdup(name)))
			return -ENOMEM;
		cl->heard[cl->n++] = now;
	} else {
		free(cl->live[i]);
		cl->n--;
		cl->live[i] = cl->live[cl->n];
		cl->heard[i] = cl->heard[cl->n];
	}
	return 1;
}

int64_t cluster_expire(struct cluster *cl, int64_t now, int64_t silent_ms, bool *changed)
{
	int64_t next = INT64_MAX;
	size_t i = 0;

	*changed = false;
	while (i < cl->n) {
		int64_t end = cl->heard[i] + silent_ms;

		if (!strcmp(cl->live[i], cl->self)) {
			i++;
		} else if (end <= now) {
			free(cl->live[i]);
			cl->n--;
			cl->live[i] = cl->live[cl->n];
			cl->heard[i] = cl->heard[cl->n];
			*changed = true;
		} else {
			next = end < next ? end : next;
			i++;
		}
	}
	return next;
}

/* The rendezvous weight of `node` for `zone`: XXH64, seed 0, of the bytes NODE "/" ZONE. */
static uint64_t weight(const char *node, const char *zone)
{
	XXH64_state_t st;

	XXH64_reset(&st, 0);
	XXH64_update(&st, node, strlen(node));
	XXH64_update(&st, "/", 1);
	XXH64_update(&st, zone, strlen(zone));
	return XXH64_digest(&st);
}

const char *cluster_owner(const struct cluster *cl, const char *zone)
{
	const char *best = "";
	uint64_t top = 0;

	for (size_t i = 0; i < cl->n; i++) {
		uint64_t w = weight(cl->live[i], zone);

		/* Equal weights are all but impossible; the larger name wins them, everywhere alike. */
		if (!best[0] || w > top || (w == top && strcmp(cl->live[i], best) > 0)) {
			best = cl->live[i];
			top = w;
		}
	}
	return best;
}

bool cluster_owns(const struct cluster *cl, const char *zone)
{
	return strcmp(cluster_owner(cl, zone), cl->self) == 0;
}

bool cluster_self_live(const struct cluster *cl)
{
	for (size_t i = 0; i < cl->n; i++)
		if (!strcmp(cl->live[i], cl->self))
			return true;
	return false;
}

const char *cluster_self(const struct cluster *cl)
{
	return cl->self;
}

size_t cluster_live(const struct cluster *cl)
{
	return cl->n;
}
