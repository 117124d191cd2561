/* bus.c -- pylight-web's broker connection: zones' explanations in, overrides out */
#include "bus.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "log.h"
#include "monotonic.h"
#include "mosq.h"
#include "topic.h"

struct bus {
	struct mosquitto *mosq;
	const struct config *cfg;
	struct zonecache *zc;
	char *sub_all; /* "pylight/zone/#" also matches "pylight/zone" */
	size_t zone_state_len;
	atomic_bool connected;
	/* The loop thread, watched from the main thread (bus_supervise): libmosquitto ends it
	 * for good on some errors (an MQTT 5 CONNACK refusal), and nothing else restarts it. */
	pid_t loop_tid;         /* 0: not found, not watched */
	int64_t ended_at;       /* when it was found ended, or 0 */
	int wait_s;             /* from then until the restart */
	struct backoff restart; /* a connection resets it */
	struct { char *filter; bus_tap_fn cb; void *ctx; } taps[BUS_TAPS]; /* see bus_tap */
	size_t ntaps;
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct bus *b = obj;
	const struct config *c = b->cfg;

	if (rc != 0) {
		log_msg(LOG_WARNING, "mqtt: refused by %s:%d: %s", c->mqtt_host, c->mqtt_port,
			mosq_refusal(c, rc));
		return;
	}
	if (b->sub_all)
		mosquitto_subscribe(mosq, NULL, b->sub_all, 1);
	/* the explanations stay at QoS 1: subscribing their filter again would replace it */
	for (size_t i = 0; i < b->ntaps; i++)
		if (!b->sub_all || strcmp(b->taps[i].filter, b->sub_all) != 0)
			mosquitto_subscribe(mosq, NULL, b->taps[i].filter, 0);
	atomic_store(&b->connected, true);
	backoff_reset(&b->restart);
	log_msg(LOG_NOTICE, "mqtt: connected to %s:%d", c->mqtt_host, c->mqtt_port);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct bus *b = obj;

	(void)mosq;
	if (atomic_exchange(&b->connected, false) && rc != 0)
		log_msg(LOG_WARNING, "mqtt: connection lost: %s", mosquitto_strerror(rc));
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct bus *b = obj;
	const char *zone = topic_zone(msg->topic, b->cfg->topics_zone_state, b->zone_state_len);

	(void)mosq;
	for (size_t i = 0; i < b->ntaps; i++) {
		bool match = false;

		if (mosquitto_topic_matches_sub(b->taps[i].filter, msg->topic, &match) ==
			    MOSQ_ERR_SUCCESS && match)
			b->taps[i].cb(b->taps[i].ctx, msg->topic, msg->payload,
				      (size_t)msg->payloadlen);
	}
	if (zone)
		zonecache_put(b->zc, zone, msg->payload, (size_t)msg->payloadlen);
}

int bus_new(const struct config *c, struct zonecache *zc, struct bus **out, char *err,
	    size_t errlen)
{
	static const struct mosq_callbacks cb = {
		.connect = on_connect, .disconnect = on_disconnect, .message = on_message,
	};
	struct bus *b = calloc(1, sizeof(*b));
	char *id = NULL;
	int rc;

	if (!b || asprintf(&id, "%s-web", c->mqtt_client_id) < 0 ||
	    (c->topics_zone_state[0] && asprintf(&b->sub_all, "%s/#", c->topics_zone_state) < 0)) {
		snprintf(err, errlen, "mqtt: %s", strerror(ENOMEM));
		bus_free(b);
		return -ENOMEM;
	}
	b->cfg = c;
	b->zc = zc;
	b->zone_state_len = strlen(c->topics_zone_state);
	backoff_init(&b->restart, c->mqtt_reconnect_min, c->mqtt_reconnect_max);
	/* a clean session: the retained explanations arrive again on every subscribe */
	rc = mosq_client_new(c, id, /* clean_session = */ true, b, &cb, &b->mosq, err, errlen);
	free(id);
	if (rc < 0) {
		bus_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

int bus_start(struct bus *b, char *err, size_t errlen)
{
	int rc = mosq_loop_start(b->mosq, &b->loop_tid, err, errlen);

	return rc < 0 ? rc : mosq_connect(b->mosq, b->cfg, err, errlen);
}

int bus_supervise(struct bus *b)
{
	int64_t now = monotonic_ms();
	char err[128];
	int rc;

	if (!b->loop_tid || mosq_thread_state(b->loop_tid) != 0)
		return 0;
	if (!b->ended_at) {
		b->ended_at = now;
		b->wait_s = backoff_next(&b->restart);
		log_msg(LOG_WARNING, "mqtt: the connection loop ended; restarting it in %d s",
			b->wait_s);
	}
	if (now - b->ended_at < (int64_t)b->wait_s * 1000)
		return 0;
	b->ended_at = 0;
	rc = mosq_loop_restart(b->mosq, &b->loop_tid, err, sizeof(err));
	if (rc < 0)
		log_msg(LOG_ERR, "%s", err);
	else
		log_msg(LOG_NOTICE, "mqtt: connection loop restarted");
	return rc < 0 ? rc : 1;
}

bool bus_connected(struct bus *b)
{
	return atomic_load(&b->connected);
}

int bus_override(struct bus *b, const char *zone, const char *payload)
{
	char *buf = NULL;
	size_t cap = 0;
	const char *topic;
	int rc;

	if (!bus_connected(b))
		return -ENOTCONN;
	topic = topic_of_zone(b->cfg->topics_override, zone, &buf, &cap);
	if (!topic)
		return -ENOMEM;
	rc = mosquitto_publish(b->mosq, NULL, topic, (int)strlen(payload), payload,
			       b->cfg->mqtt_qos, /* retain = */ false);
	free(buf);
	return mosq_errno(rc);
}

int bus_tap(struct bus *b, const char *filter, bus_tap_fn cb, void *ctx)
{
	if (b->ntaps == BUS_TAPS)
		return -ENOSPC;
	b->taps[b->ntaps].filter = strdup(filter);
	if (!b->taps[b->ntaps].filter)
		return -ENOMEM;
	b->taps[b->ntaps].cb = cb;
	b->taps[b->ntaps++].ctx = ctx;
	return 0;
}

void bus_stop(struct bus *b)
{
	mosq_client_stop(b->mosq);
}

void bus_free(struct bus *b)
{
	if (!b)
		return;
	mosq_client_free(b->mosq);
	free(b->sub_all);
	for (size_t i = 0; i < b->ntaps; i++)
		free(b->taps[i].filter);
	free(b);
}
