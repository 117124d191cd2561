/* client.h -- the bench clients' libmosquitto connection (loadgen, failover) */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <mosquitto.h>

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

#endif
