/* main.c -- pylightd: the command line, and the wiring of the modules to one main loop */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmdline.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "notify.h"
#include "reload.h"
#include "signals.h"
#include "stats.h"
#include "status.h"
#include "supervisor.h"
#include "thresholds.h"

#define SHUTDOWN_FLUSH_MS 2000
/* glibc's default before it adjusts it: larger blocks are mappings of their own. */
#define MMAP_THRESHOLD (128 * 1024)

struct daemon {
	struct config cfg;
	struct loop *loop;
	struct control *ctl;
	struct mqtt *mqtt;
	struct status *status;
	struct reload *reload;
	struct supervisor *sv;
	struct stats *stats; /* NULL until the loop runs */
	int signal_fd;
};

static void on_publish(void *ctx, const char *topic, const char *payload, size_t len, bool retain)
{
	struct daemon *d = ctx;

	mqtt_publish(d->mqtt, topic, payload, len, retain);
}

static void on_publish_state(void *ctx, const char *topic, const char *payload, size_t len)
{
	struct daemon *d = ctx;

	mqtt_publish_state(d->mqtt, topic, payload, len);
}

static void on_wake(void *ctx, int64_t when)
{
	struct daemon *d = ctx;

	loop_timer_at(d->loop, EV_ZONES, when);
}

static void on_wall(void *ctx, time_t when)
{
	struct daemon *d = ctx;

	loop_timer_wall(d->loop, EV_SCHEDULE, when);
}

static void on_unsubscribe(void *ctx, const char *filter)
{
	struct daemon *d = ctx;

	mqtt_unsubscribe(d->mqtt, filter);
}

static void on_listen(void *ctx, const char *const *topics, size_t n)
{
	struct daemon *d = ctx;

	if (d->mqtt && mqtt_listen(d->mqtt, topics, n) < 0)
		log_msg(LOG_ERR, "mqtt: out of memory for the feedback topics");
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len,
		       bool retained)
{
	struct daemon *d = ctx;

	control_message(d->ctl, topic, payload, len, retained);
	status_soon(d->status);
	if (d->stats)
		stats_soon(d->stats);
}

static void on_state(void *ctx, bool connected, const char *why)
{
	struct daemon *d = ctx;

	log_msg(connected ? LOG_NOTICE : LOG_WARNING, "mqtt: %s", why);
	if (connected) {
		supervisor_connected(d->sv);
		control_connected(d->ctl);
	} else {
		control_disconnected(d->ctl);
	}
	if (d->stats)
		stats_connected(d->stats, connected);
	status_soon(d->status);
}

/* Returns true when the daemon must stop. */
static bool on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_NOTICE, "signal %s: shutting down",
				strsignal((int)si.ssi_signo));
			return true;
		case SIGHUP:
			reload_run(d->reload, "SIGHUP");
			break;
		case SIGUSR1:
			status_report(d->status);
			break;
		}
	}
	return false;
}

/* Hands each event of the main loop to the module it belongs to. */
static bool on_event(void *ctx, enum loop_event ev)
{
	struct daemon *d = ctx;

	/* Reloads and zone timers move counters; the stats timer publishes them. */
	if (ev != EV_STATS)
		stats_soon(d->stats);
	switch (ev) {
	case EV_STATS:
		stats_timer(d->stats);
		break;
	case EV_SIGNAL:
		return on_signal(d);
	case EV_WATCH:
		reload_watch(d->reload);
		break;
	case EV_DEBOUNCE:
		reload_run(d->reload, "file changed");
		break;
	case EV_WATCH_RETRY:
		reload_watch_retry(d->reload);
		break;
	case EV_ZONES:
		control_timer(d->ctl);
		break;
	case EV_SCHEDULE:
	case EV_CLOCK_SET:
		control_clock(d->ctl, /* stepped = */ ev == EV_CLOCK_SET);
		break;
	case EV_STATUS:
		status_timer(d->status);
		break;
	case EV_WATCHDOG:
		supervisor_watchdog(d->sv);
		break;
	case EV_MQTT_ENDED:
		supervisor_thread_ended(d->sv);
		break;
	case EV_MQTT_RESTART:
		supervisor_restart(d->sv);
		break;
	}
	return false;
}

/* Loads pylight.ini and ref.txt to serve. Returns 0, or EX_CONFIG after logging every error. */
static int load_all(struct daemon *d, const char *path, struct thresholds **t)
{
	struct errlist errs = { 0 }, warns = { 0 };
	int rc = 0;

	if (config_load(path, &d->cfg, &errs, &warns) < 0) {
		rc = EX_CONFIG;
	} else if (thresholds_load(d->cfg.thresholds_file,
					  &(struct thresholds_opts){
						  .site = config_has_site(&d->cfg),
						  .max_zones = (size_t)d->cfg.readings_max_zones },
					  t, &errs) < 0) {
		config_free(&d->cfg);
		rc = EX_CONFIG;
	}
	log_errlist(LOG_WARNING, &warns);
	log_errlist(LOG_ERR, &errs);
	if (rc)
		log_msg(LOG_ERR, "invalid configuration, not starting");
	errlist_clear(&errs);
	errlist_clear(&warns);
	return rc;
}

/* Creates every module, runs the main loop until a signal stops it, and tears down. */
static int serve(const char *path)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	struct daemon d = { .signal_fd = -1 };
	struct thresholds *t = NULL;
	struct control_out out = {
		.publish = on_publish, .publish_state = on_publish_state, .wake = on_wake,
		.unsubscribe = on_unsubscribe, .listen = on_listen, .wall = on_wall, .ctx = &d,
	};
	struct mqtt_events ev = { .message = on_message, .state = on_state, .ctx = &d };
	char err[256], summary[160];
	int rc, status = EXIT_FAILURE;

	log_open();
	/*
	 * A reload frees a whole table of thresholds: a city's is a few large arrays. glibc
	 * would raise its mmap threshold to the size of the first one freed and serve the next
	 * table from the heap, whose freed middle is never given back (RSS grew 1.65 x over ten
	 * reloads of 100,000 sections). A fixed threshold keeps each large array its own mapping,
	 * returned to the system when the table it belongs to is freed.
	 */
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	/*
	 * The signals first: a SIGHUP or SIGUSR1 that comes while a large ref.txt loads is
	 * handled once the loop runs, instead of ending the process (their default action).
	 */
	d.signal_fd = signals_open(handled, sizeof(handled) / sizeof(handled[0]), SFD_NONBLOCK);
	rc = load_all(&d, path, &t);
	if (rc) {
		if (d.signal_fd >= 0)
			close(d.signal_fd);
		return rc;
	}
	log_set_level(d.cfg.log_level);
	thresholds_describe(t, summary, sizeof(summary));
	rc = d.signal_fd;
	if (rc >= 0)
		rc = loop_new(&d.loop);
	if (rc >= 0)
		rc = loop_borrow(d.loop, EV_SIGNAL, d.signal_fd);
	if (rc < 0) {
		log_msg(LOG_ERR, "event setup: %s", strerror(-rc));
		thresholds_free(t);
		goto out;
	}
	rc = control_new(&d.cfg, t, &out, &d.ctl);
	if (rc < 0) {
		log_msg(LOG_ERR, "zone table: %s", strerror(-rc));
		thresholds_free(t);
		goto out;
	}
	if (mqtt_new(&d.cfg, &ev, &d.mqtt, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		goto out;
	}
	control_listen(d.ctl);
	rc = status_new(d.loop, d.mqtt, d.ctl, &d.status);
	if (rc == 0)
		rc = supervisor_new(&d.cfg, d.loop, d.mqtt, d.status, &d.sv);
	if (rc < 0) {
		log_msg(LOG_ERR, "setup: %s", strerror(-rc));
		goto out;
	}
	rc = reload_new(&d.cfg, d.ctl, d.loop, d.status, summary, &d.reload);
	if (rc < 0) {
		log_msg(LOG_ERR, "%s: cannot watch its folder: %s", d.cfg.thresholds_file,
			strerror(-rc));
		goto out;
	}
	rc = stats_new(&d.cfg, d.loop, d.mqtt, d.ctl, d.reload, &d.stats);
	if (rc < 0) {
		log_msg(LOG_ERR, "setup: %s", strerror(-rc));
		goto out;
	}
	if (mqtt_start(d.mqtt, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		goto out;
	}
	supervisor_start(d.sv);
	log_msg(LOG_NOTICE, "pylightd " PYLIGHT_VERSION " started: broker %s:%d, %s: %s",
		d.cfg.mqtt_host, d.cfg.mqtt_port, d.cfg.thresholds_file, summary);
	status_update(d.status);
	notify_ready();
	rc = loop_run(d.loop, on_event, &d);
	if (rc < 0)
		log_msg(LOG_ERR, "epoll_wait: %s", strerror(-rc));
	notify_stopping();
	/* Our own "offline" must not be taken for a late Last Will, nor anything be owned. */
	control_disconnected(d.ctl);
	mqtt_shutdown(d.mqtt, SHUTDOWN_FLUSH_MS);
	log_msg(LOG_NOTICE, "stopped");
	status = EXIT_SUCCESS;
out:
	mqtt_free(d.mqtt);
	stats_free(d.stats);
	reload_free(d.reload);
	supervisor_free(d.sv);
	status_free(d.status);
	control_free(d.ctl);
	loop_free(d.loop);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	config_free(&d.cfg);
	return status;
}

int main(int argc, char **argv)
{
	return cmdline_main("pylightd", argc, argv, /* extra = */ NULL, serve);
}
