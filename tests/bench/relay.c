/* relay.c -- the bench's floor: a bare libmosquitto client that turns each reading into an order */
#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Same thread shape as pylightd (main thread asleep, libmosquitto's loop thread doing the
 * work, publishing from its message callback) and nothing else: no parsing beyond strtod,
 * no state, no logging. Whatever pylightd costs above this is pylightd's.
 *
 * With -s, readings come from a zone's sensors (value/light/ZONE/SENSOR) and each is answered
 * alone on the zone's topic (light/order/ZONE): no aggregate, the floor for that case.
 */

#define READINGS "value/light"
#define ORDERS "light/order"
#define THRESHOLD 300.0

struct relay {
	int qos;
	int sensors; /* -s: the last topic level names a sensor of the zone before it */
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct relay *r = obj;

	if (rc == 0)
		mosquitto_subscribe(mosq, NULL, READINGS "/#", r->qos);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	static const size_t base = sizeof(READINGS) - 1;
	struct relay *r = obj;
	char topic[512], num[64];
	size_t n;
	const char *order;

	if (strncmp(msg->topic, READINGS, base) != 0)
		return;
	/* "value/light" -> "light/order", "value/light/ZONE" -> "light/order/ZONE" */
	if (snprintf(topic, sizeof(topic), ORDERS "%s", msg->topic + base) >= (int)sizeof(topic))
		return;
	if (r->sensors) {
		char *slash = strrchr(topic, '/');

		if (slash)
			*slash = '\0';
	}
	n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	if (n >= sizeof(num))
		n = sizeof(num) - 1;
	memcpy(num, msg->payload, n);
	num[n] = '\0';
	order = strtod(num, NULL) < THRESHOLD ? "ON" : "OFF";
	mosquitto_publish(mosq, NULL, topic, (int)strlen(order), order, r->qos,
			  /* retain = */ false);
}

static void usage(void)
{
	fprintf(stderr, "usage: relay [-h HOST] -p PORT [-q QOS] [-s]\n");
}

int main(int argc, char **argv)
{
	struct relay r = { .qos = 1 };
	const char *host = "127.0.0.1";
	struct mosquitto *mosq;
	char id[64];
	sigset_t mask;
	int port = 0, c, sig;

	while ((c = getopt(argc, argv, "h:p:q:s")) != -1) {
		switch (c) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'q':
			r.qos = atoi(optarg);
			break;
		case 's':
			r.sensors = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (port <= 0 || r.qos < 0 || r.qos > 2) {
		usage();
		return 2;
	}
	/* Blocked before the loop thread exists, so that only sigwait below sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	mosquitto_lib_init();
	snprintf(id, sizeof(id), "bench-relay-%d", (int)getpid());
	mosq = mosquitto_new(id, /* clean_session = */ true, &r);
	if (!mosq) {
		fprintf(stderr, "relay: mosquitto_new: %s\n", strerror(errno));
		return 1;
	}
	mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_message_callback_set(mosq, on_message);
	/* loop_start before connect_async, as pylightd does (a broker down at start is retried). */
	if (mosquitto_loop_start(mosq) != MOSQ_ERR_SUCCESS ||
	    mosquitto_connect_async(mosq, host, port, 60) == MOSQ_ERR_INVAL) {
		fprintf(stderr, "relay: cannot start the MQTT loop\n");
		return 1;
	}
	while (sigwait(&mask, &sig) != 0)
		;
	mosquitto_disconnect(mosq);
	mosquitto_loop_stop(mosq, /* force = */ false);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return 0;
}
