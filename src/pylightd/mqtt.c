/* mqtt.c -- the broker connection: libmosquitto's loop thread, reconnects, will, shutdown */
#include "mqtt.h"

#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "log.h"
#include "mosq.h"
#include "monotonic.h"
#include "unacked.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd for one thread, readable when it exits */
#endif

struct mqtt {
	struct mosquitto *mosq;
	const struct config *cfg;
	struct mqtt_events ev;
	char *sub_readings; /* "value/light/#" also matches "value/light" */
	char *sub_override;
	/* With [cluster] node: this instance's status topic, client id and the cluster's topics. */
	char *status_topic;
	char *client_id;
	char *sub_status;     /* "STATUS/+": who is live */
	char *sub_orders;     /* every zone's orders, to know the last one seen */
	char *sub_levels;     /* every dimmed zone's levels, likewise */
	char *sub_zone_state; /* the explanations (adopted after a connect); NULL without */
	struct discovery *disc; /* Home Assistant's status and our configs; NULL when off */
	char **listen;          /* extra topics (lamp feedback), under lock */
	size_t nlisten;

	pid_t loop_tid;
	int loop_fd;           /* pidfd of the loop thread, or -1 */
	atomic_llong cb_since; /* monotonic ms when the running callback began, 0 if none */
	bool corked;  /* the loop thread's own, like cork_mid: see cork() */
	int cork_mid; /* the explanation whose write ends the cork */

	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t flushed;
	bool connected;
	bool keep_why; /* why holds a refusal or libmosquitto's error: on_disconnect keeps it */
	long inflight; /* QoS > 0 publishes not yet acknowledged */
	struct unacked *kept;  /* retained QoS 0 states the broker may have missed */
	struct unacked *spare; /* the loop thread's, to publish those again after a connect */
	char why[160];
};

static void set_why(struct mqtt *m, bool connected, const char *why)
{
	pthread_mutex_lock(&m->lock);
	m->connected = connected;
	m->keep_why = false;
	snprintf(m->why, sizeof(m->why), "%s", why);
	pthread_mutex_unlock(&m->lock);
	if (m->ev.state)
		m->ev.state(m->ev.ctx, connected, why);
}

/* The connection whose message the loop thread is delivering, if any. */
static _Thread_local struct mqtt *delivering;

/*
 * One reading's answer leaves in one TCP segment. Delivering a message, libmosquitto's loop
 * thread only queues what the callback publishes (its acknowledgement of the reading, the
 * order, the explanation) and writes them one by one after the callback, each write a segment
 * of its own (TCP_NODELAY) and a trip through the network stack. So when the callback
 * publishes an explanation, the socket is corked; it is uncorked in on_publish, which
 * libmosquitto calls for a QoS 0 message once it is written (the explanation is the last of
 * what a zone's decision queues). The kernel sends what it holds after 200 ms in any case,
 * and a new connection starts uncorked.
 */
static void cork(struct mqtt *m, bool on)
{
	int fd = mosquitto_socket(m->mosq), v = on;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
	m->corked = on;
}

/*
 * Every publish that libmosquitto will confirm through on_publish is counted, so that
 * shutdown can wait for them. QoS 0 is confirmed once written; a QoS > 0 message refused
 * with NO_CONN is queued all the same (and must never be retried: that would duplicate it).
 * A `state` (a zone's explanation) goes at QoS 0, retained; unless the operator chose QoS 0,
 * a copy waits until a later acknowledged message proves the broker read it (unacked.h),
 * whether it could be sent now or not. The lock spans the publish, so that the copies and the
 * proofs are in the order of the message ids.
 */
static int publish_counted(struct mqtt *m, const char *topic, const void *payload, size_t len,
			   int qos, bool retain, bool state)
{
	int mid = 0, rc, kept = 0;
	bool keep = state && m->cfg->mqtt_qos > 0, corking = state && delivering == m;

	if (corking && !m->corked)
		cork(m, true);
	pthread_mutex_lock(&m->lock);
	rc = mosquitto_publish(m->mosq, &mid, topic, (int)len, payload, qos, retain);
	if (rc == MOSQ_ERR_SUCCESS || (qos > 0 && rc == MOSQ_ERR_NO_CONN))
		m->inflight++;
	if (keep)
		kept = unacked_keep(m->kept, topic, payload, len);
	/* Sent before the connection is up (or after it went), it proves nothing. */
	else if (qos > 0 && rc == MOSQ_ERR_SUCCESS && m->connected)
		(void)unacked_barrier(m->kept, mid); /* on ENOMEM a later one proves as much */
	pthread_mutex_unlock(&m->lock);
	if (corking && rc == MOSQ_ERR_SUCCESS)
		m->cork_mid = mid;
	else if (corking)
		cork(m, false);
	if (kept < 0)
		log_msg(LOG_WARNING, "mqtt: %s: no memory to keep it until the broker has it",
			topic);
	return mosq_errno(rc);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str);

static void publish_again(void *ctx, const char *topic, const void *payload, size_t len)
{
	mqtt_publish_state(ctx, topic, payload, len);
}

/*
 * After a connect: the retained states the broker may not have (written to a connection that
 * went, or published while there was none) are published again, each topic's newest once.
 */
static void publish_kept_again(struct mqtt *m)
{
	struct unacked *old;
	size_t n;

	pthread_mutex_lock(&m->lock);
	old = m->kept;
	m->kept = m->spare;
	m->spare = old;
	pthread_mutex_unlock(&m->lock);
	n = unacked_take(old, publish_again, m);
	if (n)
		log_msg(LOG_INFO, "mqtt: published again %zu retained state%s the broker may have "
			"missed", n, n == 1 ? "" : "s");
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;
	const struct config *c = m->cfg;
	char why[160];

	atomic_store(&m->cb_since, monotonic_ms());
	if (rc != 0) {
		snprintf(why, sizeof(why), "refused by %s:%d: %s", c->mqtt_host, c->mqtt_port,
			 mosq_refusal(c, rc));
		set_why(m, false, why);
		pthread_mutex_lock(&m->lock);
		m->keep_why = true;
		pthread_mutex_unlock(&m->lock);
		atomic_store(&m->cb_since, 0);
		return;
	}
	/*
	 * A broker restarted without persistence has no session: always resubscribe. In a
	 * cluster, the retained explanations come first, so that a zone is adopted before a
	 * retained reading gives it a state of its own; and everything comes before "online",
	 * so that the others' statuses arrive ahead of our own (see control.c). Orders and
	 * explanations at QoS 0: one lost with a connection costs at most an order published
	 * twice at a takeover, and not acknowledging each spares a shadow a write per order.
	 * Readings too: the session is always clean in a cluster, so a reading the broker sent
	 * without its acknowledgement is dropped with the session when the connection goes,
	 * and QoS 1 would buy no redelivery, only a PUBACK (a write, the broker woken) each.
	 */
	if (m->sub_status) {
		if (m->sub_zone_state)
			mosquitto_subscribe(mosq, NULL, m->sub_zone_state, 0);
		mosquitto_subscribe(mosq, NULL, m->sub_status, 1);
		mosquitto_subscribe(mosq, NULL, m->sub_orders, 0);
		mosquitto_subscribe(mosq, NULL, m->sub_levels, 0);
	}
	mosquitto_subscribe(mosq, NULL, m->sub_readings, m->sub_status ? 0 : c->mqtt_qos);
	mosquitto_subscribe(mosq, NULL, m->sub_override, c->mqtt_qos);
	if (m->disc) {
		/* Our configs arrive retained: those of zones that are gone are cleared. */
		mosquitto_subscribe(mosq, NULL, discovery_status_topic(m->disc), 1);
		mosquitto_subscribe(mosq, NULL, discovery_config_filter(m->disc), 1);
	}
	/* Lamp reports at QoS 0: one lost costs at most a retry of the order, and not
	 * acknowledging each report spares a write per order in the busiest case. */
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nlisten; i++)
		mosquitto_subscribe(mosq, NULL, m->listen[i], 0);
	pthread_mutex_unlock(&m->lock);
	publish_counted(m, m->status_topic, "online", 6, 1, /* retain = */ true, false);
	snprintf(why, sizeof(why), "connected to %s:%d", c->mqtt_host, c->mqtt_port);
	set_why(m, true, why);
	publish_kept_again(m);
	/*
	 * With a log callback set, libmosquitto formats a debug line for every packet (about
	 * 10,000 instructions per reading and its order, 40% of the daemon's own): listen only
	 * while connecting, when its log is the only place that says why a connection fails.
	 */
	mosquitto_log_callback_set(mosq, NULL);
	atomic_store(&m->cb_since, 0);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;
	char why[160];
	bool keep;

	mosquitto_log_callback_set(mosq, on_log);
	/* A refusal or a TLS error says why; "connection lost" would hide it. */
	pthread_mutex_lock(&m->lock);
	keep = m->keep_why;
	m->keep_why = false;
	m->connected = false;
	unacked_lost(m->kept);
	m->corked = false; /* the socket went with the connection */
	pthread_mutex_unlock(&m->lock);
	if (keep)
		return;
	atomic_store(&m->cb_since, monotonic_ms());
	if (rc == 0)
		snprintf(why, sizeof(why), "disconnected");
	else
		snprintf(why, sizeof(why), "connection lost: %s", mosquitto_strerror(rc));
	set_why(m, false, why);
	atomic_store(&m->cb_since, 0);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct mqtt *m = obj;

	(void)mosq;
	if (m->corked && mid == m->cork_mid)
		cork(m, false);
	pthread_mutex_lock(&m->lock);
	unacked_acked(m->kept, mid);
	m->inflight--;
	pthread_cond_broadcast(&m->flushed);
	pthread_mutex_unlock(&m->lock);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;

	(void)mosq;
	atomic_store(&m->cb_since, monotonic_ms());
	delivering = m;
	m->ev.message(m->ev.ctx, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain);
	delivering = NULL;
	atomic_store(&m->cb_since, 0);
}

/* libmosquitto says why a connection failed (TLS, DNS) only through its log. */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	struct mqtt *m = obj;

	(void)mosq;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
		log_msg(LOG_WARNING, "mqtt: %s", str);
		pthread_mutex_lock(&m->lock);
		snprintf(m->why, sizeof(m->why), "%s", str);
		if (!m->connected)
			m->keep_why = true;
		pthread_mutex_unlock(&m->lock);
	}
}

static char *topic_all(const char *base)
{
	char *s;

	if (asprintf(&s, "%s/#", base) < 0)
		return NULL;
	return s;
}

int mqtt_new(const struct config *c, const struct mqtt_events *ev, struct mqtt **out, char *err,
	     size_t errlen)
{
	static const struct mosq_callbacks cb = {
		.connect = on_connect, .disconnect = on_disconnect, .publish = on_publish,
		.message = on_message, .log = on_log,
	};
	struct mqtt *m = calloc(1, sizeof(*m));
	bool named = false;
	int rc;

	if (!m) {
		snprintf(err, errlen, "mqtt: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	m->cfg = c;
	m->ev = *ev;
	m->loop_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->flushed, NULL);
	snprintf(m->why, sizeof(m->why), "connecting to %s:%d", c->mqtt_host, c->mqtt_port);
	m->sub_readings = topic_all(c->topics_readings);
	m->sub_override = topic_all(c->topics_override);
	if (c->cluster_node[0]) {
		if (asprintf(&m->status_topic, "%s/%s", c->topics_status, c->cluster_node) < 0)
			m->status_topic = NULL;
		if (asprintf(&m->client_id, "%s-%s", c->mqtt_client_id, c->cluster_node) < 0)
			m->client_id = NULL;
		if (asprintf(&m->sub_status, "%s/+", c->topics_status) < 0)
			m->sub_status = NULL;
		m->sub_orders = topic_all(c->topics_orders);
		m->sub_levels = topic_all(c->topics_levels);
		if (c->topics_zone_state[0])
			m->sub_zone_state = topic_all(c->topics_zone_state);
		named = m->client_id && m->status_topic && m->sub_status && m->sub_orders &&
			m->sub_levels && (m->sub_zone_state || !c->topics_zone_state[0]);
	} else {
		m->status_topic = strdup(c->topics_status);
		named = m->status_topic != NULL;
	}
	if (!named || !m->sub_readings || !m->sub_override || unacked_new(&m->kept) < 0 ||
	    unacked_new(&m->spare) < 0 ||
	    (c->homeassistant_discovery && discovery_new(c, &m->disc) < 0)) {
		snprintf(err, errlen, "mqtt: %s", strerror(ENOMEM));
		mqtt_free(m);
		return -ENOMEM;
	}
	/* In a cluster, what was queued while away was handled by the others: never replay it. */
	rc = c->cluster_node[0] ?
		     mosq_client_new(c, m->client_id, /* clean_session = */ true, m, &cb, &m->mosq,
				     err, errlen) :
		     mosq_client_new(c, c->mqtt_client_id, c->mqtt_clean_session, m, &cb, &m->mosq,
				     err, errlen);
	if (rc == 0) {
		rc = mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1, /* retain = */ true);
		if (rc != MOSQ_ERR_SUCCESS)
			rc = mosq_fail(rc, err, errlen, "mqtt setup");
	}
	if (rc < 0) {
		mqtt_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* Lets the loop notice the end of the loop thread that mosq_loop_start found, if any. */
static void watch_loop_thread(struct mqtt *m)
{
	if (m->loop_fd >= 0)
		close(m->loop_fd);
	m->loop_fd = -1;
	if (m->loop_tid)
		m->loop_fd = (int)syscall(SYS_pidfd_open, m->loop_tid, PIDFD_THREAD);
}

int mqtt_start(struct mqtt *m, char *err, size_t errlen)
{
	int rc = mosq_loop_start(m->mosq, &m->loop_tid, err, errlen);

	if (rc < 0)
		return rc;
	watch_loop_thread(m);
	return mosq_connect(m->mosq, m->cfg, err, errlen);
}

int mqtt_restart(struct mqtt *m, char *err, size_t errlen)
{
	int rc;

	mosquitto_log_callback_set(m->mosq, on_log);
	rc = mosq_loop_restart(m->mosq, &m->loop_tid, err, errlen);
	watch_loop_thread(m);
	return rc;
}

int mqtt_thread_fd(const struct mqtt *m)
{
	return m->loop_fd;
}

int mqtt_check(struct mqtt *m, long long stuck_ms)
{
	long long since = atomic_load(&m->cb_since);
	int state = m->loop_tid ? mosq_thread_state(m->loop_tid) : '?';

	if (!state)
		return -EPIPE;
	/* Stopped or held by a tracer, it does no network I/O: as wedged as a stuck callback. */
	if (state == 'T' || state == 't')
		return -ETIMEDOUT;
	if (since && monotonic_ms() - since > stuck_ms)
		return -ETIMEDOUT;
	return 0;
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, bool retain)
{
	return publish_counted(m, topic, payload, len, m->cfg->mqtt_qos, retain, false);
}

int mqtt_publish_state(struct mqtt *m, const char *topic, const void *payload, size_t len)
{
	return publish_counted(m, topic, payload, len, 0, /* retain = */ true, /* state = */ true);
}

static bool listed(const char *const *topics, size_t n, const char *topic)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(topics[i], topic) == 0)
			return true;
	return false;
}

static void listen_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int mqtt_listen(struct mqtt *m, const char *const *topics, size_t n)
{
	char **copy = calloc(n ? n : 1, sizeof(*copy));
	size_t i;

	if (!copy)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		copy[i] = strdup(topics[i]);
		if (!copy[i]) {
			listen_free(copy, i);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&m->lock);
	/* While disconnected the next connect subscribes the new list whole. */
	if (m->connected) {
		for (i = 0; i < m->nlisten; i++)
			if (!listed(topics, n, m->listen[i]))
				mosquitto_unsubscribe(m->mosq, NULL, m->listen[i]);
		for (i = 0; i < n; i++)
			if (!listed((const char *const *)m->listen, m->nlisten, topics[i]))
				mosquitto_subscribe(m->mosq, NULL, topics[i], 0);
	}
	listen_free(m->listen, m->nlisten);
	m->listen = copy;
	m->nlisten = n;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int mqtt_unsubscribe(struct mqtt *m, const char *filter)
{
	return mosq_errno(mosquitto_unsubscribe(m->mosq, NULL, filter));
}

void mqtt_describe(struct mqtt *m, char *buf, size_t len)
{
	pthread_mutex_lock(&m->lock);
	snprintf(buf, len, "%s", m->why);
	pthread_mutex_unlock(&m->lock);
}

void mqtt_shutdown(struct mqtt *m, int timeout_ms)
{
	struct timespec deadline;
	bool connected;

	/* Its acknowledgement also proves every retained state before it. */
	publish_counted(m, m->status_topic, "offline", 7, 1, /* retain = */ true, false);
	pthread_mutex_lock(&m->lock);
	connected = m->connected;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (connected && m->inflight > 0 && m->connected)
		if (pthread_cond_timedwait(&m->flushed, &m->lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&m->lock);
	mosq_client_stop(m->mosq);
}

void mqtt_free(struct mqtt *m)
{
	if (!m)
		return;
	mosq_client_free(m->mosq);
	if (m->loop_fd >= 0)
		close(m->loop_fd);
	free(m->sub_readings);
	free(m->sub_override);
	free(m->status_topic);
	free(m->client_id);
	free(m->sub_status);
	free(m->sub_orders);
	free(m->sub_levels);
	free(m->sub_zone_state);
	discovery_free(m->disc);
	listen_free(m->listen, m->nlisten);
	unacked_free(m->kept);
	unacked_free(m->spare);
	pthread_cond_destroy(&m->flushed);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
