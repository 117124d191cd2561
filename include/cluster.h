/* cluster.h -- several instances on one broker cluster: who is live, who owns which zone */
#ifndef PYLIGHT_CLUSTER_H
#define PYLIGHT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many instances are tracked; statuses beyond it are ignored (and logged). */
#define CLUSTER_NODES_MAX 64
/* The longest node name: it becomes a topic level and part of the client id. */
#define CLUSTER_NAME_MAX 64

struct cluster;

/* An empty view: this instance, `self`, is not live until its own status says so. */
int cluster_new(const char *self, struct cluster **out);
void cluster_free(struct cluster *cl);

/*
 * Node `name` said `online` (or anything else: gone). Returns 1 when the live set changed,
 * 0 when not, -ENOSPC when it is full (the node is not counted), -ENOMEM.
 */
int cluster_status(struct cluster *cl, const char *name, bool online);
/* Forgets every node, this one too: nothing is owned until the statuses come again. */
void cluster_reset(struct cluster *cl);

/* Whether this instance is live and the rendezvous owner of `zone`. */
bool cluster_owns(const struct cluster *cl, const char *zone);
/* Whether this instance counts itself live (its own online came back). */
bool cluster_self_live(const struct cluster *cl);
/* The live node that owns `zone` ("" when none is live). */
const char *cluster_owner(const struct cluster *cl, const char *zone);
const char *cluster_self(const struct cluster *cl);
size_t cluster_live(const struct cluster *cl);
/* Whether `name` can be a node name: 1..CLUSTER_NAME_MAX printable bytes, no '/', '+', '#'. */
bool cluster_name_valid(const char *name);

#endif
