/* takeover.c -- times how long a pylightd node takes to take over all of a dead node's zones */
#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

/*
 * The scale rows' failover (scale.py): two pylightd, nodes DEAD and SURVIVOR, share the zones
 * z0 .. zN-1 (loadgen's names) and explain them on pylight/zone/zK; loadgen has already had
 * every zone decided. This client subscribes to the explanations, the orders and the
 * statuses, waits until it holds an explanation of every zone naming the zone's owner (the
 * retained ones: proof that the owner decided each), then sends DEAD's pid the signal (-k,
 * default 9) and counts, per zone that DEAD owned, the first explanation naming SURVIVOR
 * after it: the survivor publishes one for each zone it takes over (docs/cluster.md). The
 * takeover is done when every one of them has come. DEAD's will (offline on its status) is
 * timed too, so the broker's part and pylightd's can be told apart.
 *
 * Prints one line of key=value pairs, times in seconds from the signal; exits 1 only if the
 * run could not complete (a takeover that stays partial within -t is a result: taken < owned).
 */

#define EXPLAIN_SUB "pylight/zone/+"
#define ORDERS_SUB "light/order/+"
#define STATUS_SUB "pylight/status/+"
#define EXPLAIN_BASE "pylight/zone/z"
#define ORDERS_BASE "light/order/z"
#define STALL_NS 60000000000LL /* the explanations of before stopped coming for this long */

struct zone {
	bool dead_owns;  /* DEAD owned it while both were live */
	bool explained;  /* an explanation naming its owner came before the signal */
	int64_t taken;   /* the first explanation naming SURVIVOR after the signal, 0 before */
};

struct tk {
	struct mosquitto *mosq;
	const char *dead, *survivor;
	char dead_status[160];
	int nzones, subscribed;
	struct zone *z;
	long explained, owned, taken, orders, foreign;
	int64_t killed, first, last, will;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The zone K of TOPIC = BASE "K", or -1. */
static int zone_of(const struct tk *t, const char *topic, const char *base)
{
	size_t len = strlen(base);
	char *end;
	long k;

	if (strncmp(topic, base, len) != 0 || topic[len] < '0' || topic[len] > '9')
		return -1;
	k = strtol(topic + len, &end, 10);
	return *end == '\0' && k < t->nzones ? (int)k : -1;
}

/* Whether a JSON explanation says "node":"NAME". */
static bool names_node(const struct mosquitto_message *msg, const char *name)
{
	char buf[4096], want[160];

	if (msg->payloadlen <= 0 || msg->payloadlen >= (int)sizeof(buf))
		return false;
	memcpy(buf, msg->payload, (size_t)msg->payloadlen);
	buf[msg->payloadlen] = '\0';
	snprintf(want, sizeof(want), "\"node\":\"%s\"", name);
	return strstr(buf, want) != NULL;
}

static void on_explanation(struct tk *t, int k, const struct mosquitto_message *msg, int64_t now)
{
	struct zone *z = &t->z[k];
	const char *owner = z->dead_owns ? t->dead : t->survivor;

	if (!t->killed) {
		if (!z->explained && names_node(msg, owner)) {
			z->explained = true;
			t->explained++;
		}
		return;
	}
	if (msg->retain || z->taken || !z->dead_owns)
		return;
	if (!names_node(msg, t->survivor)) {
		t->foreign++;
		return;
	}
	z->taken = now;
	if (!t->first)
		t->first = now;
	t->last = now;
	t->taken++;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct tk *t = obj;
	int64_t now = now_ns();
	int k;

	(void)mosq;
	if ((k = zone_of(t, msg->topic, EXPLAIN_BASE)) >= 0)
		on_explanation(t, k, msg, now);
	else if (t->killed && !msg->retain && zone_of(t, msg->topic, ORDERS_BASE) >= 0)
		t->orders++;
	else if (t->killed && !t->will && strcmp(msg->topic, t->dead_status) == 0 &&
		 msg->payloadlen == 7 && memcmp(msg->payload, "offline", 7) == 0)
		t->will = now;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
	struct tk *t = obj;

	(void)mosq;
	(void)mid;
	(void)n;
	(void)granted;
	t->subscribed++;
}

static int loop_once(struct tk *t)
{
	int rc = mosquitto_loop(t->mosq, 10, 1);

	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "takeover: connection: %s\n", mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: takeover -p PORT -z ZONES -o DEAD -S SURVIVOR -P DEAD_PID\n"
			"                [-h HOST] [-k SIGNAL] [-t TIMEOUT_S]\n");
}

int main(int argc, char **argv)
{
	struct tk t = { 0 };
	const char *host = "127.0.0.1";
	int port = 0, pid = 0, sig = SIGKILL, c;
	double timeout_s = 60;
	int64_t progress, deadline;
	long seen;

	while ((c = getopt(argc, argv, "h:p:z:o:S:P:k:t:")) != -1) {
		switch (c) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'z':
			t.nzones = atoi(optarg);
			break;
		case 'o':
			t.dead = optarg;
			break;
		case 'S':
			t.survivor = optarg;
			break;
		case 'P':
			pid = atoi(optarg);
			break;
		case 'k':
			sig = atoi(optarg);
			break;
		case 't':
			timeout_s = atof(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (port <= 0 || t.nzones <= 0 || !t.dead || !t.survivor || pid <= 0 || sig <= 0 ||
	    timeout_s <= 0) {
		usage();
		return 2;
	}
	t.z = calloc((size_t)t.nzones, sizeof(*t.z));
	if (!t.z) {
		fprintf(stderr, "takeover: out of memory\n");
		return 1;
	}
	for (int k = 0; k < t.nzones; k++) {
		char zone[32];

		snprintf(zone, sizeof(zone), "z%d", k);
		t.z[k].dead_owns = bench_owns(t.dead, t.survivor, zone);
		t.owned += t.z[k].dead_owns;
	}
	snprintf(t.dead_status, sizeof(t.dead_status), "pylight/status/%s", t.dead);
	t.mosq = bench_connect("takeover", &t, host, port, on_message, on_subscribe);
	if (!t.mosq)
		return 1;
	mosquitto_subscribe(t.mosq, NULL, EXPLAIN_SUB, 0);
	mosquitto_subscribe(t.mosq, NULL, ORDERS_SUB, 0);
	mosquitto_subscribe(t.mosq, NULL, STATUS_SUB, 0);

	/* Every zone explained by its owner (retained, or still coming in live). */
	progress = now_ns();
	seen = 0;
	while (t.subscribed < 3 || t.explained < t.nzones) {
		if (loop_once(&t) < 0)
			return 1;
		if (t.explained != seen) {
			seen = t.explained;
			progress = now_ns();
		} else if (now_ns() - progress > STALL_NS) {
			fprintf(stderr, "takeover: %ld of %d zones explained by their owner\n",
				t.explained, t.nzones);
			return 1;
		}
	}

	t.killed = now_ns();
	if (kill(pid, sig) < 0) {
		fprintf(stderr, "takeover: kill %d: %s\n", pid, strerror(errno));
		return 1;
	}
	deadline = t.killed + (int64_t)(timeout_s * 1e9);
	while (t.taken < t.owned && now_ns() < deadline)
		if (loop_once(&t) < 0)
			return 1;
	/* Orders are not expected (the lamps are right already): count a while longer. */
	for (int64_t end = now_ns() + 200000000LL; now_ns() < end;)
		if (loop_once(&t) < 0)
			return 1;
	printf("zones=%d owned=%ld taken=%ld first_s=%.3f takeover_s=%.3f will_s=%.3f "
	       "after_will_s=%.3f orders=%ld foreign=%ld\n",
	       t.nzones, t.owned, t.taken, t.first ? (double)(t.first - t.killed) / 1e9 : -1.0,
	       t.taken == t.owned && t.last ? (double)(t.last - t.killed) / 1e9 : -1.0,
	       t.will ? (double)(t.will - t.killed) / 1e9 : -1.0,
	       t.will && t.taken == t.owned && t.last ? (double)(t.last - t.will) / 1e9 : -1.0,
	       t.orders, t.foreign);
	mosquitto_disconnect(t.mosq);
	mosquitto_destroy(t.mosq);
	mosquitto_lib_cleanup();
	free(t.z);
	return 0;
}
