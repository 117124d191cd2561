/* loadgen.c -- drives a light controller through a real broker and times its answers */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

/*
 * Every reading demands an order: per zone the readings alternate DARK and BRIGHT around
 * the controller's threshold of 300, so a controller that publishes only on a change (pylightd)
 * and one that publishes on every reading (the relay) answer the same stream one for one.
 * Orders are matched to readings per zone, first in first out; an order nobody waits for, or
 * with the wrong payload, counts as an error.
 *
 * Phases: connect and subscribe; probe zone 0 until the controller answers (it may still be
 * subscribing); warm up by seeding every zone, so that the controller has created them; then
 * the measured phase, bracketed by reads of the controller's CPU time in /proc (-P).
 *
 * With -r PATH (pylightd only) it times instead a rename() of a new thresholds file over
 * PATH until the order that the new thresholds cause, -n times.
 *
 * With -f it also plays each zone's lamp: every order it receives is echoed at once as the
 * lamp's report, ON or OFF, on bench/lamp (one zone) or bench/lamp/zK.
 *
 * With -O OWNER,OTHER the zones are not z0 .. zN-1 but the first N names zK (K = 0, 1, ...)
 * that node OWNER owns in a cluster of OWNER and OTHER (docs/cluster.md): OTHER, alive beside
 * it, owns none of them and only shadows them (bench.py's scale rows).
 *
 * With -s N (odd), each zone zK has N sensors, value/light/zK/s0 .. s{N-1}, and its orders
 * come on light/order/zK: pylightd decides on their median, the relay answers each reading
 * alone. Every sensor of every zone is first seeded so that most of them read DARK; each
 * reading then turns one sensor of the minority's opposite to the other side, in turn, so the
 * majority (the median) flips with every reading, as the single sensor does without -s.
 *
 * With -o PREFIX the answer to a reading is the message on PREFIX (one zone) or PREFIX/zK
 * instead of the order: `-o light/level` times a dimmed zone's level. Such an answer must be
 * a level 1..100 (a percentage), above the zone's last one after DARK and below it after
 * BRIGHT: the reading moved the level the way it asked, and never switched the lamp OFF.
 * -b LUX sets the BRIGHT reading, so that both readings can lie where a dimmed zone stays ON.
 *
 * Prints one line of key=value pairs; exits 1 if the run could not complete.
 */

#define READINGS "value/light"
#define ORDERS "light/order"
#define DARK "100"
#define BRIGHT "500"
#define WARM_MIN 200    /* readings of warm-up, at least */
#define WARM_WINDOW 100 /* readings in flight during warm-up */
#define PROBE_EVERY_NS 200000000LL
#define QUIET_NS 300000000LL
#define STALL_NS 15000000000LL /* no answer for this long: the run failed */
#define SETTLE_NS 30000000LL   /* lets the controller finish its last acks before the CPU read */
#define SEED_BATCH 100         /* zones seeded (-s) before waiting for their answers */
#define SEED_QUIET_NS 10000000LL
#define MAX_SHOWN 5            /* errors described on stderr; the rest are only counted */
#define REF_DARK "on_below = 300\noff_above = 300\n"
#define REF_FLIP "on_below = 50\noff_above = 50\n"

struct slot {
	int64_t sent;
	int next;
	bool bright;
};

struct zone {
	int head, tail;  /* FIFO of slots, -1 when empty */
	bool bright;     /* the last reading sent was BRIGHT: the majority of its sensors is */
	uint64_t lit;    /* with -s: bit i set when sensor i last read BRIGHT */
	int next_sensor; /* with -s: where the search for the next sensor to turn starts */
	int level;       /* with -o: the last level answered, -1 before the first */
};

struct lg {
	struct mosquitto *mosq;
	int qos, nzones, window, nsensors;
	bool lamps; /* -f: echo each order as its lamp's report */
	long *names; /* -O: zone i is z<names[i]>, ascending; NULL: z<i> */
	const char *answers; /* -o: the topic (prefix) of the answers, ORDERS by default */
	size_t answers_len;
	bool levels;         /* the answers are levels, not orders */
	const char *bright;  /* -b: the BRIGHT reading's payload */
	bool subscribed;
	struct zone *zones;
	struct slot *slots;
	int free_slot;
	int outstanding;
	long next_zone;    /* round-robin cursor */
	long answered;     /* matched orders in the current phase */
	long errors;       /* unmatched orders, wrong payloads, failed publishes */
	long zone0_orders; /* orders for zone 0, during the probe */
	bool probing;
	bool recording;
	int64_t *lat; /* latencies of the measured phase, ns */
	long nlat, latcap;
	int64_t last_answer;
	int64_t last_message; /* any order, matched or not */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* utime + stime of every thread of `pid`, in clock ticks; -1 if it cannot be read. */
static long long proc_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* Time on CPU of every thread of `pid` in ns (schedstat), a finer view than clock ticks. */
static long long proc_sched_ns(int pid)
{
	char path[300];
	struct dirent *e;
	long long sum = 0, v;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%lld", &v) == 1)
			sum += v;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* One zone on the default topic (no zone name): no -z, -s or -O. */
static bool single(const struct lg *g)
{
	return g->nzones == 1 && !g->nsensors && !g->names;
}

/* The K of zone z's name zK. */
static long zone_name(const struct lg *g, int z)
{
	return g->names ? g->names[z] : z;
}

static int zone_of(const struct lg *g, const char *topic)
{
	const size_t base = g->answers_len;
	char *end;
	long k;
	int lo = 0, hi = g->nzones - 1;

	if (strncmp(topic, g->answers, base) != 0)
		return -1;
	if (topic[base] == '\0')
		return single(g) ? 0 : -1;
	if (single(g) || strncmp(topic + base, "/z", 2) != 0)
		return -1;
	k = strtol(topic + base + 2, &end, 10);
	if (*end != '\0' || k < 0)
		return -1;
	if (!g->names)
		return k < g->nzones ? (int)k : -1;
	while (lo <= hi) { /* names[] ascends */
		int mid = lo + (hi - lo) / 2;

		if (g->names[mid] == k)
			return mid;
		if (g->names[mid] < k)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* -O OWNER,OTHER: the first nzones names that OWNER owns beside OTHER; -1 on a bad list. */
static int pick_names(struct lg *g, const char *nodes)
{
	char owner[128], zone[32];
	const char *comma = strchr(nodes, ',');
	long k = 0;

	if (!comma || comma == nodes || !comma[1] || (size_t)(comma - nodes) >= sizeof(owner))
		return -1;
	memcpy(owner, nodes, (size_t)(comma - nodes));
	owner[comma - nodes] = '\0';
	g->names = calloc((size_t)g->nzones, sizeof(*g->names));
	if (!g->names)
		return -1;
	for (int i = 0; i < g->nzones; k++) {
		snprintf(zone, sizeof(zone), "z%ld", k);
		if (bench_owns(owner, comma + 1, zone))
			g->names[i++] = k;
	}
	return 0;
}

/* The topic of zone z's reading, from its `sensor` with -s. */
static void reading_topic(const struct lg *g, int z, int sensor, char *buf, size_t len)
{
	if (g->nsensors)
		snprintf(buf, len, READINGS "/z%ld/s%d", zone_name(g, z), sensor);
	else if (single(g))
		snprintf(buf, len, READINGS);
	else
		snprintf(buf, len, READINGS "/z%ld", zone_name(g, z));
}

/* With -s: the next sensor, in turn, that reads the side the majority leaves. */
static int sensor_to_turn(struct zone *zn, int nsensors)
{
	for (int i = 0; i < nsensors; i++) {
		int s = (zn->next_sensor + i) % nsensors;

		if (!!(zn->lit & (1ULL << s)) != zn->bright) {
			zn->next_sensor = (s + 1) % nsensors;
			return s;
		}
	}
	return 0; /* not reached: a minority always exists while N is odd */
}

static int publish_reading(struct lg *g, int z, int sensor, bool bright)
{
	const char *payload = bright ? g->bright : DARK;
	char topic[64];
	int rc;

	reading_topic(g, z, sensor, topic, sizeof(topic));
	rc = mosquitto_publish(g->mosq, NULL, topic, (int)strlen(payload), payload, g->qos, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "loadgen: publish: %s\n", mosquitto_strerror(rc));
		g->errors++;
		return -1;
	}
	return 0;
}

/* Publishes the next reading of zone z: the opposite of its last one. */
static int send_reading(struct lg *g, int z, bool track)
{
	struct zone *zn = &g->zones[z];
	int s = -1, sensor = 0;

	zn->bright = !zn->bright;
	if (g->nsensors) {
		sensor = sensor_to_turn(zn, g->nsensors);
		zn->lit ^= 1ULL << sensor;
	}
	if (track) {
		s = g->free_slot;
		g->free_slot = g->slots[s].next;
		g->slots[s].next = -1;
		g->slots[s].bright = zn->bright;
		if (zn->tail >= 0)
			g->slots[zn->tail].next = s;
		else
			zn->head = s;
		zn->tail = s;
		g->outstanding++;
		g->slots[s].sent = now_ns();
	}
	return publish_reading(g, z, sensor, zn->bright);
}

/*
 * With -s: every sensor of zone z gets a value, the first N/2 BRIGHT and the rest DARK, so
 * that the zone ends ON with a DARK majority whatever it was before. Not matched to orders.
 */
static int seed_zone(struct lg *g, int z)
{
	struct zone *zn = &g->zones[z];

	zn->bright = false;
	zn->lit = 0;
	zn->next_sensor = 0;
	for (int i = 0; i < g->nsensors; i++) {
		if (i < g->nsensors / 2)
			zn->lit |= 1ULL << i;
		if (publish_reading(g, z, i, i < g->nsensors / 2) < 0)
			return -1;
	}
	return 0;
}

/* An order answers DARK with ON and BRIGHT with OFF. */
static bool order_expected(const struct mosquitto_message *msg, bool bright)
{
	if (msg->payloadlen == 2 && memcmp(msg->payload, "ON", 2) == 0)
		return !bright;
	return bright && msg->payloadlen == 3 && memcmp(msg->payload, "OFF", 3) == 0;
}

/* A level answers DARK with a rise and BRIGHT with a fall, never to 0 (OFF). */
static bool level_expected(struct zone *zn, const struct mosquitto_message *msg, bool bright)
{
	char text[8], *end;
	long level;
	bool ok;

	if (msg->payloadlen <= 0 || msg->payloadlen >= (int)sizeof(text))
		return false;
	memcpy(text, msg->payload, (size_t)msg->payloadlen);
	text[msg->payloadlen] = '\0';
	level = strtol(text, &end, 10);
	if (*end != '\0' || level < 1 || level > 100)
		return false;
	ok = zn->level < 0 || (bright ? level < zn->level : level > zn->level);
	zn->level = (int)level;
	return ok;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct lg *g = obj;
	int64_t t = now_ns();
	int z = zone_of(g, msg->topic);
	int s;

	(void)mosq;
	g->last_message = t;
	if (z < 0) {
		if (g->errors++ < MAX_SHOWN)
			fprintf(stderr, "loadgen: order on unknown zone %s\n", msg->topic);
		return;
	}
	if (g->probing) {
		if (z == 0)
			g->zone0_orders++;
		return;
	}
	s = g->zones[z].head;
	if (s < 0) {
		if (g->errors++ < MAX_SHOWN)
			fprintf(stderr, "loadgen: unexpected order on %s\n", msg->topic);
		return;
	}
	if (g->lamps) {
		char lamp[64];
		int rc;

		if (single(g))
			snprintf(lamp, sizeof(lamp), "bench/lamp");
		else
			snprintf(lamp, sizeof(lamp), "bench/lamp/z%ld", zone_name(g, z));
		rc = mosquitto_publish(g->mosq, NULL, lamp, msg->payloadlen, msg->payload, g->qos,
				       false);
		if (rc != MOSQ_ERR_SUCCESS && g->errors++ < MAX_SHOWN)
			fprintf(stderr, "loadgen: lamp report: %s\n", mosquitto_strerror(rc));
	}
	g->zones[z].head = g->slots[s].next;
	if (g->zones[z].head < 0)
		g->zones[z].tail = -1;
	if (g->levels ? !level_expected(&g->zones[z], msg, g->slots[s].bright)
		      : !order_expected(msg, g->slots[s].bright)) {
		if (g->errors++ < MAX_SHOWN)
			fprintf(stderr, "loadgen: wrong %s '%.*s' on %s\n",
				g->levels ? "level" : "order", msg->payloadlen,
				(const char *)msg->payload, msg->topic);
	}
	if (g->recording && g->nlat < g->latcap)
		g->lat[g->nlat++] = t - g->slots[s].sent;
	g->slots[s].next = g->free_slot;
	g->free_slot = s;
	g->outstanding--;
	g->answered++;
	g->last_answer = t;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
	struct lg *g = obj;

	(void)mosq;
	(void)mid;
	(void)n;
	(void)granted;
	g->subscribed = true;
}

static int loop_once(struct lg *g, int timeout_ms)
{
	int rc = mosquitto_loop(g->mosq, timeout_ms, 1);

	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "loadgen: connection: %s\n", mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

/* Sends `count` readings round-robin with at most `window` unanswered; waits for every answer. */
static int run_phase(struct lg *g, long count, int window)
{
	long sent = 0;
	int64_t progress = now_ns();

	g->answered = 0;
	while (g->answered < count) {
		long before = g->answered;

		while (sent < count && g->outstanding < window) {
			int z = (int)(g->next_zone++ % g->nzones);

			if (send_reading(g, z, true) < 0)
				return -1;
			sent++;
		}
		if (loop_once(g, 100) < 0)
			return -1;
		if (g->answered != before)
			progress = now_ns();
		else if (now_ns() - progress > STALL_NS) {
			fprintf(stderr, "loadgen: no answer for %lld s (%ld of %ld answered)\n",
				STALL_NS / 1000000000, g->answered, count);
			return -1;
		}
	}
	return 0;
}

/* Runs the loop for `ns` without sending. */
static int idle_for(struct lg *g, int64_t ns)
{
	int64_t end = now_ns() + ns;

	while (now_ns() < end)
		if (loop_once(g, 20) < 0)
			return -1;
	return 0;
}

/* Runs the loop until no order has come for `ns` (at most STALL_NS). */
static int quiet_for(struct lg *g, int64_t ns)
{
	int64_t start = now_ns();

	g->last_message = start;
	while (now_ns() - g->last_message < ns) {
		if (loop_once(g, (int)(ns / 1000000)) < 0)
			return -1;
		if (now_ns() - start > STALL_NS) {
			fprintf(stderr, "loadgen: the controller never fell quiet\n");
			return -1;
		}
	}
	return 0;
}

/* Reads zone 0 until the controller answers: it may not have subscribed yet. */
static int probe(struct lg *g)
{
	int64_t start = now_ns(), next = 0;

	g->probing = true;
	while (g->zone0_orders == 0) {
		if (now_ns() >= next) {
			if ((g->nsensors ? seed_zone(g, 0) : send_reading(g, 0, false)) < 0)
				return -1;
			next = now_ns() + PROBE_EVERY_NS;
		}
		if (loop_once(g, 20) < 0)
			return -1;
		if (now_ns() - start > STALL_NS) {
			fprintf(stderr, "loadgen: the controller never answered\n");
			return -1;
		}
	}
	/*
	 * The controller listens now: seed every zone's sensors, answers unmatched. A hundred
	 * zones at a time, each batch answered before the next, so that no queue grows in the
	 * broker or the controller and inflates its peak memory.
	 */
	for (int z = 0; g->nsensors && z < g->nzones; z++) {
		if (seed_zone(g, z) < 0)
			return -1;
		if (z % SEED_BATCH == SEED_BATCH - 1 && quiet_for(g, SEED_QUIET_NS) < 0)
			return -1;
	}
	/* Readings still in flight get answers too: let them arrive before matching starts. */
	if (quiet_for(g, QUIET_NS) < 0)
		return -1;
	g->probing = false;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double pct_us(const int64_t *v, long n, double p)
{
	long i;

	if (n == 0)
		return NAN;
	i = (long)ceil(p / 100.0 * (double)n) - 1;
	if (i < 0)
		i = 0;
	return (double)v[i] / 1000.0;
}

static int write_ref(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The default zone sits at DARK (ON under REF_DARK). Each rename swaps in thresholds that flip
 * it (REF_FLIP turns it OFF, REF_DARK back ON); the time runs from rename() to the order.
 */
static int run_reload(struct lg *g, const char *ref, long count)
{
	char tmp[4096];
	long i;

	snprintf(tmp, sizeof(tmp), "%s.new", ref);
	/* Leave zone 0 at DARK: its last reading decides after each reload. */
	if (g->zones[0].bright && run_phase(g, 1, 1) < 0)
		return -1;
	g->recording = true;
	/* An even number of flips leaves the file as it was: one more, untimed, if need be. */
	for (i = 0; i < count + count % 2; i++) {
		int64_t t0, start;
		long before = g->zone0_orders;

		if (write_ref(ref, i % 2 == 0 ? REF_FLIP : REF_DARK) < 0)
			return -1;
		g->probing = true; /* counts orders for zone 0 without FIFO matching */
		t0 = now_ns();
		if (rename(tmp, ref) < 0) {
			fprintf(stderr, "loadgen: rename %s: %s\n", ref, strerror(errno));
			return -1;
		}
		start = now_ns();
		while (g->zone0_orders == before) {
			if (loop_once(g, 10) < 0)
				return -1;
			if (now_ns() - start > STALL_NS) {
				fprintf(stderr, "loadgen: no order after rename #%ld\n", i + 1);
				return -1;
			}
		}
		if (i < count)
			g->lat[g->nlat++] = now_ns() - t0;
		/* Beyond the daemon's ~100 ms debounce, so that the next save is a reload of its
		 * own. */
		if (idle_for(g, QUIET_NS) < 0)
			return -1;
		if (g->zone0_orders != before + 1) {
			fprintf(stderr, "loadgen: %ld orders after rename #%ld\n",
				g->zone0_orders - before, i + 1);
			g->errors++;
		}
	}
	g->probing = false;
	return 0;
}

static int measure_reload(struct lg *g, const char *ref, long n)
{
	if (run_phase(g, 1, 1) < 0 || run_reload(g, ref, n) < 0)
		return -1;
	qsort(g->lat, (size_t)g->nlat, sizeof(*g->lat), cmp_i64);
	printf("mode=reload n=%ld median_ms=%.2f min_ms=%.2f max_ms=%.2f errors=%ld\n", g->nlat,
	       pct_us(g->lat, g->nlat, 50) / 1000, (double)g->lat[0] / 1e6,
	       (double)g->lat[g->nlat - 1] / 1e6, g->errors);
	return 0;
}

/* Warm-up, then `n` timed readings; the controller's CPU time read around them when pid > 0. */
static int measure(struct lg *g, long n, int pid)
{
	long long ticks0 = -1, ticks1 = -1, sched0 = -1, sched1 = -1;
	long warm = g->nzones > WARM_MIN ? g->nzones : WARM_MIN, j;
	long tck = sysconf(_SC_CLK_TCK);
	double secs, mean = 0;
	int64_t t0, t1;

	/* Every zone gets created (and its first order sent) before anything is timed. */
	if (run_phase(g, warm, WARM_WINDOW) < 0)
		return -1;
	if (pid) {
		ticks0 = proc_ticks(pid);
		sched0 = proc_sched_ns(pid);
	}
	g->recording = true;
	t0 = now_ns();
	if (run_phase(g, n, g->window) < 0)
		return -1;
	t1 = g->last_answer;
	g->recording = false;
	if (pid) {
		if (idle_for(g, SETTLE_NS) < 0)
			return -1;
		ticks1 = proc_ticks(pid);
		sched1 = proc_sched_ns(pid);
	}
	qsort(g->lat, (size_t)g->nlat, sizeof(*g->lat), cmp_i64);
	secs = (double)(t1 - t0) / 1e9;
	for (j = 0; j < g->nlat; j++)
		mean += (double)g->lat[j];
	mean = g->nlat ? mean / (double)g->nlat / 1000.0 : NAN;
	printf("mode=%s zones=%d n=%ld w=%d qos=%d elapsed_s=%.4f msgs_per_s=%.0f "
	       "p50_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f",
	       g->window == 1 ? "pingpong" : "burst", g->nzones, n, g->window, g->qos, secs,
	       (double)n / secs, pct_us(g->lat, g->nlat, 50), pct_us(g->lat, g->nlat, 99),
	       pct_us(g->lat, g->nlat, 100), mean);
	if (ticks0 >= 0 && ticks1 >= 0)
		printf(" cpu_ticks=%lld cpu_us_per_msg=%.2f", ticks1 - ticks0,
		       (double)(ticks1 - ticks0) * 1e6 / (double)tck / (double)n);
	if (sched0 >= 0 && sched1 >= 0)
		printf(" sched_us_per_msg=%.2f", (double)(sched1 - sched0) / 1000.0 / (double)n);
	printf(" errors=%ld\n", g->errors);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen -p PORT [-h HOST] [-n N] [-w W] [-z ZONES] [-s SENSORS] [-f]\n"
		"               [-q QOS] [-P PID] [-r REF_PATH] [-O OWNER,OTHER] [-o PREFIX]\n"
		"               [-b LUX]\n"
		"  -w 1 is ping-pong (latency), -w 100 burst (throughput); -P PID reads that\n"
		"  process's CPU time around the measured phase; -r times N renames of REF_PATH\n"
		"  (pylightd, default zone) until the order they cause; -s N (odd, <= 63) gives\n"
		"  each zone N sensors; -f echoes every order as the zone's lamp report;\n"
		"  -O reads only zones that node OWNER owns in a cluster of OWNER and OTHER;\n"
		"  -o PREFIX takes the message there as the answer, a level (light/level);\n"
		"  -b LUX is the BRIGHT reading (default " BRIGHT ", DARK is " DARK ")\n");
}

int main(int argc, char **argv)
{
	struct lg g = { .qos = 1, .nzones = 1, .window = 1, .free_slot = 0, .answers = ORDERS,
			.bright = BRIGHT };
	char sub[256], *end;
	const char *host = "127.0.0.1", *ref = NULL, *nodes = NULL;
	long n = 10000;
	int port = 0, pid = 0, c, i, rc;

	while ((c = getopt(argc, argv, "h:p:n:w:z:s:fq:P:r:O:o:b:")) != -1) {
		switch (c) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'w':
			g.window = atoi(optarg);
			break;
		case 'z':
			g.nzones = atoi(optarg);
			break;
		case 's':
			g.nsensors = atoi(optarg);
			break;
		case 'f':
			g.lamps = true;
			break;
		case 'q':
			g.qos = atoi(optarg);
			break;
		case 'P':
			pid = atoi(optarg);
			break;
		case 'r':
			ref = optarg;
			break;
		case 'O':
			nodes = optarg;
			break;
		case 'o':
			g.answers = optarg;
			break;
		case 'b':
			g.bright = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (port <= 0 || n <= 0 || g.window <= 0 || g.nzones <= 0 || g.qos < 0 || g.qos > 2 ||
	    (ref && (g.nzones != 1 || g.nsensors)) || g.nsensors < 0 || g.nsensors > 63 ||
	    (g.nsensors && g.nsensors % 2 == 0) || (nodes && ref) || !*g.answers ||
	    strchr(g.answers, '#') || strchr(g.answers, '+') || strtol(g.bright, &end, 10) <= 0 ||
	    *end) {
		usage();
		return 2;
	}
	g.answers_len = strlen(g.answers);
	g.levels = strcmp(g.answers, ORDERS) != 0;
	if ((g.levels && (g.lamps || ref)) || (nodes && pick_names(&g, nodes) < 0)) {
		fprintf(stderr, "loadgen: -f and -r need the orders as answers; -O a cluster\n");
		usage();
		return 2;
	}
	g.zones = calloc((size_t)g.nzones, sizeof(*g.zones));
	g.slots = calloc((size_t)(WARM_WINDOW + g.window), sizeof(*g.slots));
	g.latcap = n;
	g.lat = calloc((size_t)n, sizeof(*g.lat));
	if (!g.zones || !g.slots || !g.lat) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	for (i = 0; i < g.nzones; i++) {
		g.zones[i].head = g.zones[i].tail = -1;
		g.zones[i].bright = true; /* so that the first reading is DARK */
		g.zones[i].level = -1;
	}
	for (i = 0; i < WARM_WINDOW + g.window; i++)
		g.slots[i].next = i + 1 < WARM_WINDOW + g.window ? i + 1 : -1;

	g.mosq = bench_connect("loadgen", &g, host, port, on_message, on_subscribe);
	if (!g.mosq)
		return 1;
	snprintf(sub, sizeof(sub), "%s/#", g.answers);
	mosquitto_subscribe(g.mosq, NULL, sub, g.qos);
	while (!g.subscribed)
		if (loop_once(&g, 100) < 0)
			return 1;
	if (probe(&g) < 0)
		return 1;
	rc = ref ? measure_reload(&g, ref, n) : measure(&g, n, pid);
	mosquitto_disconnect(g.mosq);
	mosquitto_destroy(g.mosq);
	mosquitto_lib_cleanup();
	free(g.zones);
	free(g.slots);
	free(g.lat);
	free(g.names);
	return rc < 0 || g.errors ? 1 : 0;
}
