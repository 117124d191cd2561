/* main.c -- pylightd: the command line, and the wiring of the modules to one main loop */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "notify.h"
#include "reload.h"
#include "signals.h"
#include "status.h"
#include "sun.h"
#include "supervisor.h"
#include "thresholds.h"

#define SHUTDOWN_FLUSH_MS 2000

struct daemon {
	struct config cfg;
	struct loop *loop;
	struct control *ctl;
	struct mqtt *mqtt;
	struct status *status;
	struct reload *reload;
	struct supervisor *sv;
	int signal_fd;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pylightd [-c FILE] [-t] [-v] [-h]\n"
		   "  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		   "  -t, --check        validate the configuration and thresholds, print them\n"
		   "  -v, --version      print the version\n"
		   "  -h, --help         print this help\n");
}

static void on_publish(void *ctx, const char *topic, const char *payload, size_t len, bool retain)
{
	struct daemon *d = ctx;

	mqtt_publish(d->mqtt, topic, payload, len, retain);
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

	switch (ev) {
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

/* A line sink for errlist_print: `prefix` (a string) then the line, on stderr. */
static void stderr_line(void *prefix, const char *text)
{
	fprintf(stderr, "%s%s\n", (const char *)prefix, text);
}

/* Loads pylight.ini and ref.txt. Returns 0, or an exit status after listing every error. */
static int load_all(struct daemon *d, const char *path, struct thresholds **t, bool check)
{
	struct errlist errs = { 0 }, warns = { 0 };
	int rc = 0;

	if (config_load(path, &d->cfg, &errs, &warns) < 0) {
		rc = check ? 1 : EX_CONFIG;
	} else if (thresholds_load(d->cfg.thresholds_file, config_has_site(&d->cfg), t, &errs) < 0) {
		config_free(&d->cfg);
		rc = check ? 1 : EX_CONFIG;
	}
	if (check) {
		errlist_print(&warns, stderr_line, "warning: ");
		errlist_print(&errs, stderr_line, "");
	} else {
		log_errlist(LOG_WARNING, &warns);
		log_errlist(LOG_ERR, &errs);
		if (rc)
			log_msg(LOG_ERR, "invalid configuration, not starting");
	}
	errlist_clear(&errs);
	errlist_clear(&warns);
	return rc;
}

/*
 * "site: sunrise 05:47 sunset 21:58" for today in local time, or "site: polar day" / "site:
 * polar night"; nothing without a [site], whose empty keys the dump already shows.
 */
static void site_print(const struct config *cfg)
{
	struct sun_site site = { cfg->site_latitude, cfg->site_longitude };
	time_t now = time(NULL), rise, set;
	char r[8], s[8];
	struct tm tm;

	if (!config_has_site(cfg))
		return;
	localtime_r(&now, &tm);
	switch (sun_times(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &site, &rise, &set)) {
	case SUN_POLAR_DAY:
		printf("site: polar day\n");
		return;
	case SUN_POLAR_NIGHT:
		printf("site: polar night\n");
		return;
	case SUN_NORMAL:
		break;
	}
	strftime(r, sizeof(r), "%H:%M", localtime_r(&rise, &tm));
	strftime(s, sizeof(s), "%H:%M", localtime_r(&set, &tm));
	printf("site: sunrise %s sunset %s\n", r, s);
}

static int check_config(const char *path)
{
	struct daemon d = { 0 };
	struct thresholds *t = NULL;
	int rc = load_all(&d, path, &t, true);

	if (rc)
		return rc;
	printf("configuration OK\n");
	site_print(&d.cfg);
	config_dump(&d.cfg, stdout);
	printf("\n# %s\n", d.cfg.thresholds_file);
	thresholds_dump(t, stdout);
	thresholds_free(t);
	config_free(&d.cfg);
	return 0;
}

/* Creates every module, runs the main loop until a signal stops it, and tears down. */
static int serve(const char *path)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	struct daemon d = { .signal_fd = -1 };
	struct thresholds *t = NULL;
	struct control_out out = {
		.publish = on_publish, .wake = on_wake, .unsubscribe = on_unsubscribe,
		.listen = on_listen, .wall = on_wall, .ctx = &d,
	};
	struct mqtt_events ev = { .message = on_message, .state = on_state, .ctx = &d };
	char err[256], summary[160];
	int rc, status = EXIT_FAILURE;

	/*
	 * The signals first: a SIGHUP or SIGUSR1 that comes while a large ref.txt loads is
	 * handled once the loop runs, instead of ending the process (their default action).
	 */
	d.signal_fd = signals_open(handled, sizeof(handled) / sizeof(handled[0]), SFD_NONBLOCK);
	rc = load_all(&d, path, &t, false);
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
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:tvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'v':
			printf("pylightd %s\n", PYLIGHT_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pylightd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_open();
	return check ? check_config(path) : serve(path);
}
