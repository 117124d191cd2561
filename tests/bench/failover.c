/* failover.c -- times how long a two-instance pylightd cluster takes to replace a dead owner */
#include <errno.h>
#include <math.h>
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
 * Cluster i (0, 1, ...) is two pylightd with [cluster] node = OWNER and SURVIVOR and every
 * topic under the prefix "BASE<i>/" (-x; bench.py writes their pylight.ini): its one zone "z"
 * reads on BASE<i>/value/light/z, orders on BASE<i>/light/order/z and explains on
 * BASE<i>/pylight/zone/z.
 * OWNER owns the zone (bench.py picks the names by their XXH64); -P gives its pid per cluster.
 * The topics must be new to the broker: a zone that adopts its state from a retained
 * explanation need not answer the first reading, and warm-up would wait for it.
 *
 * Each zone gets a reading every -i ms that flips it (DARK, BRIGHT, ...), one at a time until
 * it is answered, so that every reading demands an order. Warm-up: until each zone has had
 * WARM_ORDERS orders, explained by OWNER, one order per reading (two would mean the survivor
 * orders too). Then the owners get the signal (-k: 9 closes the socket, the broker sends the
 * will at once; STOP leaves it open like a hung host, the broker waits for the keepalive),
 * cluster i at -d * i ms, each at a moment its zone has no reading unanswered: any order after
 * that is the survivor's. The readings go on flipping every -i ms whether answered or not.
 *
 * Per cluster, the takeover is the first of: an explanation naming SURVIVOR, an order. The
 * survivor must then order and explain too (else it counts as silent, unexplained). The
 * owner's will (offline on its status topic) is timed too: what comes after it is pylightd's
 * part of the takeover, what comes before is the broker's.
 * Prints a line per cluster and a summary line, times in seconds from the signal; exits 1
 * only if the run could not complete (a cluster that never takes over is a result).
 */

#define READING_FMT "%s%d/value/light/z"
#define ORDERS_SUB "+/light/order/z"
#define EXPLAIN_SUB "+/pylight/zone/z"
#define STATUS_SUB "+/pylight/status/+"
#define DARK "100"
#define BRIGHT "500"
#define WARM_ORDERS 5
#define WARM_MIN_NS 1000000000LL /* the survivor has been up at least this long */
#define STALL_NS 15000000000LL   /* warm-up without progress for this long: the run failed */
#define EXPLAIN_GRACE_NS 1000000000LL /* a survivor's explanation may follow its order */
#define MAX_SHOWN 5
#define MAX_CLUSTERS 1000

struct cluster {
	int pid;
	bool bright;     /* the last reading sent */
	int64_t sent;    /* when the last reading went */
	long readings;   /* sent before the signal */
	long orders;     /* received before the signal */
	bool owner_seen; /* an explanation by OWNER, before the signal */
	int64_t killed;  /* when the signal went, 0 before */
	int64_t explain; /* first explanation naming SURVIVOR after it */
	int64_t order;   /* first order after it */
	int64_t will;    /* OWNER's offline after it */
	long late;       /* readings sent after the signal before the first order after it */
};

struct fo {
	struct mosquitto *mosq;
	int qos, n, sig;
	int64_t interval;
	const char *owner, *survivor, *base;
	struct cluster *c;
	int subscribed;
	long errors;
};

/* Before the signal: a reading of the zone is unanswered. */
static bool waiting(const struct cluster *c)
{
	return c->orders < c->readings;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The cluster of a topic "BASE<i>/...", or -1. */
static int cluster_of(const struct fo *f, const char *topic)
{
	char *end;
	long i;

	size_t len = strlen(f->base);

	if (strncmp(topic, f->base, len) != 0 || topic[len] < '0' || topic[len] > '9')
		return -1;
	i = strtol(topic + len, &end, 10);
	return *end == '/' && i >= 0 && i < f->n ? (int)i : -1;
}

/* Whether a JSON explanation says "node":"NAME". */
static bool names_node(const struct mosquitto_message *msg, const char *name)
{
	char buf[4096], want[128];

	if (msg->payloadlen <= 0 || msg->payloadlen >= (int)sizeof(buf))
		return false;
	memcpy(buf, msg->payload, (size_t)msg->payloadlen);
	buf[msg->payloadlen] = '\0';
	snprintf(want, sizeof(want), "\"node\":\"%s\"", name);
	return strstr(buf, want) != NULL;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct fo *f = obj;
	int64_t t = now_ns();
	int i = cluster_of(f, msg->topic);
	struct cluster *c;

	(void)mosq;
	if (i < 0)
		return;
	c = &f->c[i];
	if (strstr(msg->topic, "/pylight/status/")) {
		const char *node = strrchr(msg->topic, '/') + 1;

		if (c->killed && !c->will && !strcmp(node, f->owner) && msg->payloadlen == 7 &&
		    !memcmp(msg->payload, "offline", 7))
			c->will = t;
		return;
	}
	if (strstr(msg->topic, "/pylight/zone/")) {
		if (!c->killed) {
			if (names_node(msg, f->owner))
				c->owner_seen = true;
			else if (msg->payloadlen > 0 && f->errors++ < MAX_SHOWN)
				fprintf(stderr, "failover: %s%d explained by another than %s: %.*s\n",
					f->base, i, f->owner, msg->payloadlen,
					(const char *)msg->payload);
		} else if (!c->explain && names_node(msg, f->survivor)) {
			c->explain = t;
		}
		return;
	}
	if (!c->killed) {
		c->orders++;
		if (c->orders > c->readings && f->errors++ < MAX_SHOWN)
			fprintf(stderr, "failover: %s%d: %ld orders for %ld readings\n", f->base, i,
				c->orders, c->readings);
	} else if (!c->order) {
		c->order = t;
	}
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
	struct fo *f = obj;

	(void)mosq;
	(void)mid;
	(void)n;
	(void)granted;
	f->subscribed++;
}

static int loop_once(struct fo *f, int timeout_ms)
{
	int rc = mosquitto_loop(f->mosq, timeout_ms, 1);

	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "failover: connection: %s\n", mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

static int send_reading(struct fo *f, int i, int64_t t)
{
	struct cluster *c = &f->c[i];
	char topic[64];
	int rc;

	c->bright = !c->bright;
	snprintf(topic, sizeof(topic), READING_FMT, f->base, i);
	rc = mosquitto_publish(f->mosq, NULL, topic, 3, c->bright ? BRIGHT : DARK, f->qos, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "failover: publish: %s\n", mosquitto_strerror(rc));
		return -1;
	}
	c->sent = t;
	if (!c->killed) {
		c->readings++;
	} else if (!c->order) {
		c->late++;
	}
	return 0;
}

/* Sends each zone's next reading when it is due: answered (before the signal) and -i old. */
static int feed(struct fo *f)
{
	int64_t t = now_ns();

	for (int i = 0; i < f->n; i++) {
		struct cluster *c = &f->c[i];

		if ((c->killed || !waiting(c)) && t - c->sent >= f->interval &&
		    send_reading(f, i, t) < 0)
			return -1;
	}
	return 0;
}

static bool warm(const struct fo *f)
{
	for (int i = 0; i < f->n; i++)
		if (f->c[i].orders < WARM_ORDERS || !f->c[i].owner_seen || waiting(&f->c[i]))
			return false;
	return true;
}

static int warm_up(struct fo *f)
{
	int64_t start = now_ns(), progress = start;
	long last = 0;

	while (!warm(f) || now_ns() - start < WARM_MIN_NS) {
		long total = 0;

		if (feed(f) < 0 || loop_once(f, 10) < 0)
			return -1;
		for (int i = 0; i < f->n; i++)
			total += f->c[i].orders;
		if (total != last) {
			last = total;
			progress = now_ns();
		} else if (now_ns() - progress > STALL_NS) {
			for (int i = 0; i < f->n; i++)
				if (f->c[i].orders < WARM_ORDERS || !f->c[i].owner_seen)
					fprintf(stderr,
						"failover: %s%d: %ld orders, %s explanation by %s\n", f->base, i,
						f->c[i].orders, f->c[i].owner_seen ? "an" : "no",
						f->owner);
			fprintf(stderr, "failover: the clusters never all answered\n");
			return -1;
		}
	}
	return 0;
}

/* Every survivor has ordered, and explained or had EXPLAIN_GRACE_NS to. */
static bool done(const struct fo *f)
{
	int64_t t = now_ns();

	for (int i = 0; i < f->n; i++) {
		const struct cluster *c = &f->c[i];

		if (!c->killed || !c->order || (!c->explain && t - c->order < EXPLAIN_GRACE_NS))
			return false;
	}
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, long n)
{
	if (n == 0)
		return NAN;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double since(int64_t t, int64_t t0)
{
	return t ? (double)(t - t0) / 1e9 : NAN;
}

/* Signals the owners, staggered, and waits for every takeover until `timeout_ns`. */
static int run(struct fo *f, int64_t stagger, int64_t timeout_ns)
{
	int64_t start = now_ns();
	int next = 0;
	double *took = calloc((size_t)f->n, sizeof(*took));
	double *after = calloc((size_t)f->n, sizeof(*after));
	long taken = 0, silent = 0, nwill = 0, unexplained = 0;

	if (!took || !after) {
		free(took);
		free(after);
		return -1;
	}
	while (!done(f) && now_ns() - start < timeout_ns) {
		/* The next owner goes when its turn has come and its zone waits for nothing. */
		if (next < f->n && now_ns() - start >= stagger * next && !waiting(&f->c[next])) {
			if (kill(f->c[next].pid, f->sig) < 0) {
				fprintf(stderr, "failover: kill %d: %s\n", f->c[next].pid,
					strerror(errno));
				free(took);
				free(after);
				return -1;
			}
			f->c[next].killed = now_ns();
			next++;
		}
		if (feed(f) < 0 || loop_once(f, 5) < 0) {
			free(took);
			free(after);
			return -1;
		}
	}
	for (int i = 0; i < f->n; i++) {
		struct cluster *c = &f->c[i];
		int64_t first = c->explain && (!c->order || c->explain < c->order) ? c->explain
										   : c->order;

		if (first) {
			took[taken++] = since(first, c->killed);
			if (!c->order)
				silent++;
			if (!c->explain)
				unexplained++;
		}
		if (first && c->will)
			after[nwill++] = since(first, c->will);
		printf("cluster=%d takeover_s=%.4f explain_s=%.4f order_s=%.4f will_s=%.4f "
		       "readings_before_order=%ld\n",
		       i, since(first, c->killed), since(c->explain, c->killed),
		       since(c->order, c->killed), since(c->will, c->killed), c->late);
	}
	qsort(took, (size_t)taken, sizeof(*took), cmp_double);
	qsort(after, (size_t)nwill, sizeof(*after), cmp_double);
	printf("clusters=%d signal=%d taken=%ld median_s=%.4f min_s=%.4f max_s=%.4f silent=%ld "
	       "unexplained=%ld wills=%ld after_will_median_s=%.4f after_will_max_s=%.4f "
	       "errors=%ld\n",
	       f->n, f->sig, taken, median(took, taken), taken ? took[0] : NAN,
	       taken ? took[taken - 1] : NAN, silent, unexplained, nwill, median(after, nwill),
	       nwill ? after[nwill - 1] : NAN, f->errors);
	free(took);
	free(after);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: failover -p PORT -o OWNER -S SURVIVOR -P PID[,PID...] [-x BASE] [-h HOST]\n"
		"                [-q QOS] [-k 9|STOP] [-i INTERVAL_MS] [-d STAGGER_MS] [-t TIMEOUT_S]\n"
		"  PID i is OWNER's in cluster i, whose topics are under BASE<i>/ (default fo);\n"
		"  -k the signal it gets\n");
}

int main(int argc, char **argv)
{
	struct fo f = { .qos = 1, .sig = SIGKILL, .interval = 200000000LL, .base = "fo" };
	const char *host = "127.0.0.1";
	char *pids = NULL;
	int64_t stagger = 100000000LL;
	double timeout_s = 30;
	int port = 0, c, i, rc;

	f.c = calloc(MAX_CLUSTERS, sizeof(*f.c));
	if (!f.c)
		return 1;
	while ((c = getopt(argc, argv, "h:p:q:o:S:P:x:k:i:d:t:")) != -1) {
		switch (c) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'q':
			f.qos = atoi(optarg);
			break;
		case 'o':
			f.owner = optarg;
			break;
		case 'S':
			f.survivor = optarg;
			break;
		case 'P':
			pids = optarg;
			break;
		case 'x':
			f.base = optarg;
			break;
		case 'k':
			f.sig = strcmp(optarg, "STOP") == 0 ? SIGSTOP : atoi(optarg);
			break;
		case 'i':
			f.interval = atoll(optarg) * 1000000LL;
			break;
		case 'd':
			stagger = atoll(optarg) * 1000000LL;
			break;
		case 't':
			timeout_s = atof(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	for (char *p = pids, *end; p && *p && f.n < MAX_CLUSTERS; p = *end ? end + 1 : end) {
		f.c[f.n].pid = (int)strtol(p, &end, 10);
		f.c[f.n].bright = true; /* so that the first reading is DARK */
		f.n++;
		if (*end && *end != ',')
			break;
	}
	if (port <= 0 || !f.owner || !f.survivor || f.n == 0 || f.sig <= 0 || f.interval <= 0 ||
	    stagger < 0 || timeout_s <= 0 || f.qos < 0 || f.qos > 2) {
		usage();
		return 2;
	}
	for (i = 0; i < f.n; i++)
		if (f.c[i].pid <= 0) {
			usage();
			return 2;
		}

	f.mosq = bench_connect("failover", &f, host, port, on_message, on_subscribe);
	if (!f.mosq)
		return 1;
	mosquitto_subscribe(f.mosq, NULL, ORDERS_SUB, f.qos);
	mosquitto_subscribe(f.mosq, NULL, EXPLAIN_SUB, f.qos);
	mosquitto_subscribe(f.mosq, NULL, STATUS_SUB, f.qos);
	while (f.subscribed < 3)
		if (loop_once(&f, 100) < 0)
			return 1;
	rc = warm_up(&f) < 0 || run(&f, stagger, (int64_t)(timeout_s * 1e9)) < 0;
	mosquitto_disconnect(f.mosq);
	mosquitto_destroy(f.mosq);
	mosquitto_lib_cleanup();
	free(f.c);
	return rc ? 1 : 0;
}
