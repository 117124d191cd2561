/* client.c -- what the bench clients share: the libmosquitto connection, cluster ownership */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "client.h"

struct mosquitto *bench_connect(const char *prog, void *obj, const char *host, int port,
				void (*on_message)(struct mosquitto *, void *,
						   const struct mosquitto_message *),
				void (*on_subscribe)(struct mosquitto *, void *, int, int,
						     const int *))
{
	struct mosquitto *mosq;
	char id[64];
	int i, rc;

	mosquitto_lib_init();
	snprintf(id, sizeof(id), "bench-%s-%d", prog, (int)getpid());
	mosq = mosquitto_new(id, /* clean_session = */ true, obj);
	if (!mosq)
		return NULL;
	mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	for (i = 0; (rc = mosquitto_connect(mosq, host, port, 60)) != MOSQ_ERR_SUCCESS && i < 100;
	     i++)
		usleep(100000);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "%s: connect %s:%d: %s\n", prog, host, port, mosquitto_strerror(rc));
		mosquitto_destroy(mosq);
		return NULL;
	}
	return mosq;
}

static uint64_t weight(const char *node, const char *zone)
{
	char key[256];
	int n = snprintf(key, sizeof(key), "%s/%s", node, zone);

	return XXH64(key, n > 0 && (size_t)n < sizeof(key) ? (size_t)n : 0, 0);
}

bool bench_owns(const char *a, const char *b, const char *zone)
{
	uint64_t wa = weight(a, zone), wb = weight(b, zone);

	return wa > wb || (wa == wb && strcmp(a, b) > 0);
}
