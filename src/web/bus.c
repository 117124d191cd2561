/* bus.c -- pylight-web's broker connection: zones' explanations in, overrides out */
#include "bus.h"

#include <dirent.h>
#include <errno.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "monotonic.h"
#include "mosq.h"

#define TIDS_MAX 64

struct bus {
	struct mosquitto *mosq;
	const struct config *cfg;
	struct zonecache *zc;
	char *sub_all; /* "pylight/zone/#" also matches "pylight/zone" */
	atomic_bool connected;
	atomic_bool ever_connected; /* since the last restart of the loop thread */
	/* The loop thread, watched from the main thread (bus_supervise): libmosquitto ends it
	 * for good on some errors (an MQTT 5 CONNACK refusal), and nothing else restarts it. */
	pid_t loop_tid;           /* 0: not found, not watched */
	int64_t ended_at;         /* when it was found ended, or 0 */
	unsigned restart_delay_s; /* before the next restart; reconnect_min..reconnect_max */
	struct { char *filter; bus_tap_fn cb; void *ctx; } taps[BUS_TAPS]; /* see bus_tap */
	size_t ntaps;
};

static int fail(int rc, char *err, size_t errlen, const char *what)
{
	int neg = mosq_errno(rc);

	snprintf(err, errlen, "%s: %s", what,
		 rc == MOSQ_ERR_ERRNO ? strerror(-neg) : mosquitto_strerror(rc));
	return neg;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct bus *b = obj;
	const struct config *c = b->cfg;

	if (rc != 0) {
		log_msg(LOG_WARNING, "mqtt: refused by %s:%d: %s", c->mqtt_host, c->mqtt_port,
			mosquitto_connack_string(rc));
		return;
	}
	if (b->sub_all)
		mosquitto_subscribe(mosq, NULL, b->sub_all, 1);
	/* the explanations stay at QoS 1: subscribing their filter again would replace it */
	for (size_t i = 0; i < b->ntaps; i++)
		if (!b->sub_all || strcmp(b->taps[i].filter, b->sub_all) != 0)
			mosquitto_subscribe(mosq, NULL, b->taps[i].filter, 0);
	atomic_store(&b->connected, true);
	atomic_store(&b->ever_connected, true);
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
	const char *base = b->cfg->topics_zone_state, *zone;
	size_t n = strlen(base);

	(void)mosq;
	for (size_t i = 0; i < b->ntaps; i++) {
		bool match = false;

		if (mosquitto_topic_matches_sub(b->taps[i].filter, msg->topic, &match) ==
			    MOSQ_ERR_SUCCESS && match)
			b->taps[i].cb(b->taps[i].ctx, msg->topic, msg->payload,
				      (size_t)msg->payloadlen);
	}
	if (strncmp(msg->topic, base, n) != 0)
		return;
	if (msg->topic[n] == '\0')
		zone = "";
	else if (msg->topic[n] == '/')
		zone = msg->topic + n + 1;
	else
		return;
	zonecache_put(b->zc, zone, msg->payload, (size_t)msg->payloadlen);
}

int bus_new(const struct config *c, struct zonecache *zc, struct bus **out, char *err,
	    size_t errlen)
{
	struct bus *b;
	char *id = NULL;
	int rc;

	mosquitto_lib_init();
	b = calloc(1, sizeof(*b));
	if (!b || asprintf(&id, "%s-web", c->mqtt_client_id) < 0 ||
	    (c->topics_zone_state[0] && asprintf(&b->sub_all, "%s/#", c->topics_zone_state) < 0)) {
		snprintf(err, errlen, "mqtt: %s", strerror(ENOMEM));
		free(b);
		mosquitto_lib_cleanup();
		return -ENOMEM;
	}
	b->cfg = c;
	b->zc = zc;
	/* a clean session: the retained explanations arrive again on every subscribe */
	b->mosq = mosquitto_new(id, /* clean_session = */ true, b);
	free(id);
	if (!b->mosq) {
		snprintf(err, errlen, "mqtt: %s", strerror(errno ? errno : ENOMEM));
		bus_free(b);
		return -ENOMEM;
	}
	rc = mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION,
				  c->mqtt_protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(b->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS && c->mqtt_username[0])
		rc = mosquitto_username_pw_set(b->mosq, c->mqtt_username,
					       c->mqtt_password[0] ? c->mqtt_password : NULL);
	if (rc == MOSQ_ERR_SUCCESS && (c->mqtt_tls_ca_file[0] || c->mqtt_tls_cert_file[0])) {
		rc = mosquitto_tls_set(b->mosq, c->mqtt_tls_ca_file[0] ? c->mqtt_tls_ca_file : NULL,
				       NULL, c->mqtt_tls_cert_file[0] ? c->mqtt_tls_cert_file : NULL,
				       c->mqtt_tls_key_file[0] ? c->mqtt_tls_key_file : NULL, NULL);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_insecure_set(b->mosq, c->mqtt_tls_insecure);
	}
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_reconnect_delay_set(b->mosq, (unsigned)c->mqtt_reconnect_min,
						   (unsigned)c->mqtt_reconnect_max,
						   /* exponential = */ true);
	if (rc != MOSQ_ERR_SUCCESS) {
		rc = fail(rc, err, errlen, "mqtt setup");
		bus_free(b);
		return rc;
	}
	mosquitto_connect_callback_set(b->mosq, on_connect);
	mosquitto_disconnect_callback_set(b->mosq, on_disconnect);
	mosquitto_message_callback_set(b->mosq, on_message);
	*out = b;
	return 0;
}

/* The ids of this process's threads, at most `cap`. */
static size_t tids(pid_t *buf, size_t cap)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < cap)
		if (e->d_name[0] != '.')
			buf[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	return n;
}

/* Starts libmosquitto's loop thread and notes its id (the one thread that is new). */
static int loop_begin(struct bus *b, char *err, size_t errlen)
{
	pid_t before[TIDS_MAX], after[TIDS_MAX];
	size_t nbefore = tids(before, TIDS_MAX), nafter, i, j;
	int rc = mosquitto_loop_start(b->mosq);

	if (rc != MOSQ_ERR_SUCCESS)
		return fail(rc, err, errlen, "mqtt loop");
	b->loop_tid = 0;
	nafter = tids(after, TIDS_MAX);
	for (i = 0; i < nafter && !b->loop_tid; i++) {
		for (j = 0; j < nbefore && before[j] != after[i]; j++)
			;
		if (j == nbefore)
			b->loop_tid = after[i];
	}
	return 0;
}

static bool thread_ended(pid_t tid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	return stat(path, &st) < 0 && errno == ENOENT;
}

int bus_start(struct bus *b, char *err, size_t errlen)
{
	/* loop_start before connect_async, or a broker down at start is never retried */
	int rc = loop_begin(b, err, errlen);

	if (rc < 0)
		return rc;
	b->restart_delay_s = (unsigned)b->cfg->mqtt_reconnect_min;
	rc = mosquitto_connect_async(b->mosq, b->cfg->mqtt_host, b->cfg->mqtt_port,
				     b->cfg->mqtt_keepalive);
	if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM)
		return fail(rc, err, errlen, "mqtt connect");
	return 0;
}

int bus_supervise(struct bus *b)
{
	const struct config *c = b->cfg;
	int64_t now = monotonic_ms();
	char err[128];
	int rc;

	if (!b->loop_tid || !thread_ended(b->loop_tid))
		return 0;
	if (!b->ended_at) {
		b->ended_at = now;
		if (atomic_exchange(&b->ever_connected, false))
			b->restart_delay_s = (unsigned)c->mqtt_reconnect_min;
		log_msg(LOG_WARNING, "mqtt: the connection loop ended; restarting it in %u s",
			b->restart_delay_s);
	}
	if (now - b->ended_at < (int64_t)b->restart_delay_s * 1000)
		return 0;
	b->ended_at = 0;
	b->restart_delay_s = b->restart_delay_s * 2 > (unsigned)c->mqtt_reconnect_max ?
				     (unsigned)c->mqtt_reconnect_max :
				     b->restart_delay_s * 2;
	mosquitto_loop_stop(b->mosq, /* force = */ false); /* joins the ended thread */
	/* The new thread finds no connection and reconnects by itself: a reconnect from here
	 * would run the TLS handshake while that thread may close the same connection. */
	rc = loop_begin(b, err, sizeof(err));
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
	const char *base = b->cfg->topics_override;
	char *topic;
	int rc;

	if (!bus_connected(b))
		return -ENOTCONN;
	if (asprintf(&topic, "%s%s%s", base, *zone ? "/" : "", zone) < 0)
		return -ENOMEM;
	rc = mosquitto_publish(b->mosq, NULL, topic, (int)strlen(payload), payload,
			       b->cfg->mqtt_qos, /* retain = */ false);
	free(topic);
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
	mosquitto_disconnect(b->mosq);
	mosquitto_loop_stop(b->mosq, /* force = */ false);
}

void bus_free(struct bus *b)
{
	if (!b)
		return;
	if (b->mosq)
		mosquitto_destroy(b->mosq);
	free(b->sub_all);
	for (size_t i = 0; i < b->ntaps; i++)
		free(b->taps[i].filter);
	free(b);
	mosquitto_lib_cleanup();
}
