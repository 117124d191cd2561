/* client.h -- what the bench clients share: the libmosquitto connection, cluster ownership */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <mosquitto.h>
#include <stdbool.h>

/*
 * A clean-session client "bench-PROG-PID" with TCP_NODELAY and the two callbacks, connected
 * to host:port (retried for 10 s: the broker may have just started). NULL after a message on
 * stderr.
 */
struct mosquitto *bench_connect(const char *prog, void *obj, const char *host, int port,
				void (*on_message)(struct mosquitto *, void *,
						   const struct mosquitto_message *),
				void (*on_subscribe)(struct mosquitto *, void *, int, int,
						     const int *));

/*
 * Whether node `a` owns `zone` in a cluster of the live nodes `a` and `b`: docs/cluster.md's
 * rendezvous hashing (the higher XXH64, seed 0, of NODE "/" ZONE; equal: the larger name),
 * worked out here apart from pylightd's own code so that the bench checks it.
 */
bool bench_owns(const char *a, const char *b, const char *zone);

#endif
