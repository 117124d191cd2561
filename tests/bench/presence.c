/* presence.c -- what one presence sensor's report costs the daemon among 10,000 zones */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "thresholds.h"

#define ZONES 10000
#define RUNS_MAX 15

static void publish_nothing(void *ctx, const char *topic, const char *payload, size_t len,
			    bool retain)
{
	(void)ctx, (void)topic, (void)payload, (void)len, (void)retain;
}

static void wake_nothing(void *ctx, int64_t when)
{
	(void)ctx, (void)when;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * A city block: every zone its own section and one presence sensor of its own, the case an
 * index by topic is for (a report concerns one zone among ZONES).
 */
static void write_ref(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "on_below = 300\noff_above = 400\nvacancy_after = 1h\n");
	for (int i = 0; i < ZONES; i++)
		fprintf(f, "[zone z%05d]\noccupancy = sensors/p%05d\n", i, i);
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* `presence [RUNS]`: RUNS (1..15) passes over every sensor; one is enough under callgrind. */
int main(int argc, char **argv)
{
	char dir[] = "/tmp/pylight-bench-XXXXXX", ini[64], ref[64], topic[64];
	struct control_out out = { .publish = publish_nothing, .wake = wake_nothing };
	struct errlist errs = { 0 }, warns = { 0 };
	struct thresholds *t;
	int runs = argc > 1 ? atoi(argv[1]) : RUNS_MAX;
	double per[RUNS_MAX];
	struct config cfg;
	struct control *ctl;
	FILE *f;
	int rc;

	if (runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: %s [RUNS 1..%d]\n", argv[0], RUNS_MAX);
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ini, sizeof(ini), "%s/pylight.ini", dir);
	snprintf(ref, sizeof(ref), "%s/ref.txt", dir);
	f = fopen(ini, "w");
	if (!f) {
		perror(ini);
		return 1;
	}
	fprintf(f, "[readings]\nmax_zones = %d\n[thresholds]\nfile = ref.txt\n", ZONES + 1);
	if (fclose(f) != 0) {
		perror(ini);
		return 1;
	}
	write_ref(ref);
	if (config_load(ini, &cfg, &errs, &warns) < 0 ||
	    thresholds_load(cfg.thresholds_file, &(struct thresholds_opts){ 0 }, &t, &errs) < 0) {
		fprintf(stderr, "%s\n", errs.kept ? errs.msg[0] : ini);
		return 1;
	}
	log_set_level(LOG_NOTICE); /* the per-zone order lines would time the terminal */
	rc = control_new(&cfg, t, &out, &ctl);
	if (rc < 0) {
		fprintf(stderr, "control_new: %s\n", strerror(-rc));
		return 1;
	}
	for (int i = 0; i < ZONES; i++) {
		snprintf(topic, sizeof(topic), "%s/z%05d", cfg.topics_readings, i);
		control_message(ctl, topic, "250", 3, /* retained = */ false);
	}
	/*
	 * Each run, every sensor reports once, "absent" and "present" by turns: the vacancy
	 * deadline moves but vacancy_after (1 h) never passes, so no zone's light changes and
	 * the figure is the report's own cost.
	 */
	for (int r = 0; r < runs; r++) {
		const char *say = r % 2 ? "true" : "false";
		double t0 = now_ns();

		for (int i = 0; i < ZONES; i++) {
			snprintf(topic, sizeof(topic), "sensors/p%05d", i);
			control_message(ctl, topic, say, strlen(say), /* retained = */ false);
		}
		per[r] = (now_ns() - t0) / ZONES;
	}
	qsort(per, (size_t)runs, sizeof(per[0]), cmp_double);
	printf("presence report among %d zones, each its own sensor: median %.0f ns "
	       "(min %.0f, max %.0f; %d runs of %d reports)\n",
	       ZONES, per[runs / 2], per[0], per[runs - 1], runs, ZONES);
	control_free(ctl);
	config_free(&cfg);
	errlist_clear(&warns);
	unlink(ref);
	unlink(ini);
	rmdir(dir);
	return 0;
}
