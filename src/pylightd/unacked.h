/* unacked.h -- retained QoS 0 messages the broker may not have yet, until an ack proves it has */
#ifndef PYLIGHT_UNACKED_H
#define PYLIGHT_UNACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A retained message sent at QoS 0 costs one write; at QoS 1 it costs that, a PUBACK to read
 * and a message for libmosquitto to track. But a QoS 0 message is lost with the connection it
 * was written to, and the broker would keep an older retained one. This keeps a copy of each
 * such message (the newest per topic: a retained topic's older messages no longer matter)
 * until the broker acknowledges a QoS > 0 message published after it: the broker reads one
 * connection in order, so that acknowledgement proves it read the copy's message too. What is
 * still kept when a connection ends is published again on the next one.
 *
 * Pure: no locks, no I/O. The caller serialises the calls and passes message ids in the order
 * libmosquitto gave them.
 */
struct unacked;

/* Returns 0 and an empty set in *out, or -ENOMEM. */
int unacked_new(struct unacked **out);
/* Frees the set and every copy; NULL is a no-op. */
void unacked_free(struct unacked *u);

/* A retained QoS 0 message was published: keeps its copy. Returns 0 or -ENOMEM. */
int unacked_keep(struct unacked *u, const char *topic, const void *payload, size_t len);
/*
 * A QoS > 0 message with id `mid` was published on a live connection: once acknowledged, it
 * proves every copy kept before it. Returns 0 or -ENOMEM (then it proves nothing: the copies
 * wait for a later one).
 */
int unacked_barrier(struct unacked *u, int mid);
/* libmosquitto confirmed message `mid`: drops the copies it proves. Unknown ids are ignored. */
void unacked_acked(struct unacked *u, int mid);
/* The connection ended: acknowledgements on the next one prove nothing about this one. */
void unacked_lost(struct unacked *u);
/* Copies kept, and QoS > 0 messages waiting to prove some. */
size_t unacked_count(const struct unacked *u);
size_t unacked_barriers(const struct unacked *u);

/*
 * Hands every copy to `fn`, oldest first, and forgets them (fn may publish them again and so
 * keep new copies). Returns how many.
 */
size_t unacked_take(struct unacked *u,
		    void (*fn)(void *ctx, const char *topic, const void *payload, size_t len),
		    void *ctx);

#endif
