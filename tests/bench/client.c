/* client.c -- the bench clients' libmosquitto connection (loadgen, failover) */
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

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
