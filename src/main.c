/* main.c -- pylightd: wiring, signals and the one main loop */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "mqtt.h"
#include "notify.h"
#include "thresholds.h"
#include "watch.h"

#define DEBOUNCE_MS 100
#define SHUTDOWN_FLUSH_MS 2000
#define STATUS_DELAY_MS 1000
#define WATCH_RETRY_MS 2000
#define THREAD_POLL_US 1000000 /* how often the MQTT thread is checked when it has no pidfd */

/* What epoll tells the main loop; each event source has a name, not an index. */
enum source {
	SRC_SIGNAL,
	SRC_WATCH,
	SRC_DEBOUNCE,
	SRC_ZONES,
	SRC_WATCHDOG,
	SRC_STATUS,
	SRC_MQTT_ENDED,
	SRC_MQTT_RESTART,
	SRC_WATCH_RETRY,
	SRC_COUNT
};

struct daemon {
	struct config cfg;
	struct control *ctl;
	struct mqtt *mqtt;
	struct watch *watch;
	int epfd;
	int fd[SRC_COUNT];
	uint64_t watchdog_usec;
	atomic_int restart_delay_s; /* restart back-off; the loop thread resets it */
	bool restart_pending;
	atomic_bool status_armed;
	bool stuck_logged;
	char reload_result[256];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pylightd [-c FILE] [-t] [-v] [-h]\n"
		   "  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		   "  -t, --check        validate the configuration and thresholds, print them\n"
		   "  -v, --version      print the version\n"
		   "  -h, --help         print this help\n");
}

/* Arms a one-shot timer `ms` from now (0 disarms); absolute monotonic ms with `abs`. */
static void timer_set(int fd, int64_t ms, bool abs)
{
	struct itimerspec its = { 0 };

	if (ms > 0 && ms != INT64_MAX) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000;
	}
	timerfd_settime(fd, abs ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

static void timer_drain(int fd)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
}

/* Connection, zones, counters and the last reload: the STATUS line, also logged by SIGUSR1. */
static void status_text(struct daemon *d, char *status, size_t cap)
{
	struct control_stats st;
	char conn[160];

	mqtt_describe(d->mqtt, conn, sizeof(conn));
	control_stats(d->ctl, &st);
	snprintf(status, cap,
		 "%s; %zu zones; readings %llu, orders %llu, rejected %llu, overrides %llu, "
		 "stale %llu; %s",
		 conn, st.zones, (unsigned long long)st.readings, (unsigned long long)st.orders,
		 (unsigned long long)st.rejected, (unsigned long long)st.overrides,
		 (unsigned long long)st.stale, d->reload_result);
}

static void update_status(struct daemon *d)
{
	char status[640];

	status_text(d, status, sizeof(status));
	notify_status(status);
}

/* Asks for a STATUS update soon, at most once per STATUS_DELAY_MS; callable from any thread. */
static void status_soon(struct daemon *d)
{
	if (!atomic_exchange(&d->status_armed, true))
		timer_set(d->fd[SRC_STATUS], STATUS_DELAY_MS, false);
}

static void on_publish(void *ctx, const char *topic, const char *payload, size_t len, bool retain)
{
	struct daemon *d = ctx;

	mqtt_publish(d->mqtt, topic, payload, len, retain);
}

static void on_wake(void *ctx, int64_t when)
{
	struct daemon *d = ctx;

	/* A deadline already past still has to fire: 1 ms after the epoch of the clock. */
	timer_set(d->fd[SRC_ZONES], when <= 0 ? 1 : when, true);
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct daemon *d = ctx;

	control_message(d->ctl, topic, payload, len);
	status_soon(d);
}

static void on_state(void *ctx, bool connected, const char *why)
{
	struct daemon *d = ctx;

	log_msg(connected ? LOG_NOTICE : LOG_WARNING, "mqtt: %s", why);
	if (connected)
		d->restart_delay_s = d->cfg.mqtt_reconnect_min;
	status_soon(d);
}

/* Logs every error in `el` at the LOG_* priority `prio`. */
static void log_errors(int prio, const struct errlist *el)
{
	errlist_print(el, log_line, &prio);
}

/* A line sink for errlist_print: `prefix` (a string) then the line, on stderr. */
static void stderr_line(void *prefix, const char *text)
{
	fprintf(stderr, "%s%s\n", (const char *)prefix, text);
}

static void reload(struct daemon *d, const char *why)
{
	const char *path = d->cfg.thresholds_file;
	struct errlist errs = { 0 };
	struct thresholds *t = NULL;
	char summary[160], when[16];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		log_msg(LOG_WARNING, "%s: missing, keeping the current thresholds until it returns",
			path);
		snprintf(d->reload_result, sizeof(d->reload_result),
			 "thresholds: %s missing since %s, current kept", path, when);
		update_status(d);
		return;
	}
	notify_reloading();
	if (thresholds_load(path, &t, &errs) < 0) {
		log_errors(LOG_ERR, &errs);
		log_msg(LOG_ERR, "%s: %zu error(s), keeping the previous thresholds", path,
			errs.count);
		snprintf(d->reload_result, sizeof(d->reload_result),
			 "thresholds: reload at %s failed, previous kept: %s", when,
			 errs.kept ? errs.msg[0] : "error");
	} else {
		thresholds_describe(t, summary, sizeof(summary));
		control_reload(d->ctl, t);
		log_msg(LOG_NOTICE, "%s: reloaded (%s): %s", path, why, summary);
		snprintf(d->reload_result, sizeof(d->reload_result), "thresholds: %s (reloaded %s)",
			 summary, when);
	}
	errlist_clear(&errs);
	update_status(d);
	notify_ready();
}

static void dump_line(const char *text)
{
	log_msg(LOG_INFO, "%s", text);
}

/* Returns true when the daemon must stop. */
static bool on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->fd[SRC_SIGNAL], &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_NOTICE, "signal %s: shutting down", strsignal((int)si.ssi_signo));
			return true;
		case SIGHUP:
			reload(d, "SIGHUP");
			break;
		case SIGUSR1: {
			char status[640];

			status_text(d, status, sizeof(status));
			notify_status(status);
			log_msg(LOG_INFO, "status: %s", status);
			control_dump(d->ctl, dump_line);
			break;
		}
		}
	}
	return false;
}

static void on_watch(struct daemon *d)
{
	switch (watch_read(d->watch)) {
	case WATCH_NONE:
		break;
	case WATCH_CHANGED:
	case WATCH_OVERFLOW:
		/* Wait for the writer to settle: several saves in a row give one reload. */
		timer_set(d->fd[SRC_DEBOUNCE], DEBOUNCE_MS, false);
		break;
	case WATCH_WRITING:
		/* A writer is mid-file: a reload pending from an earlier save would read half of
		 * it. Its close-write arms the debounce again. */
		timer_set(d->fd[SRC_DEBOUNCE], 0, false);
		break;
	case WATCH_REMOVED:
		timer_set(d->fd[SRC_DEBOUNCE], 0, false);
		log_msg(LOG_WARNING, "%s: removed, keeping the current thresholds until it returns",
			d->cfg.thresholds_file);
		snprintf(d->reload_result, sizeof(d->reload_result),
			 "thresholds: %s removed, current kept", d->cfg.thresholds_file);
		update_status(d);
		break;
	case WATCH_LOST:
		log_msg(LOG_ERR, "%s: its folder went away, watching again once it returns",
			d->cfg.thresholds_file);
		timer_set(d->fd[SRC_WATCH_RETRY], WATCH_RETRY_MS, false);
		break;
	}
}

static void on_watch_retry(struct daemon *d)
{
	if (watch_rearm(d->watch) < 0) {
		timer_set(d->fd[SRC_WATCH_RETRY], WATCH_RETRY_MS, false);
		return;
	}
	log_msg(LOG_NOTICE, "%s: folder is back, watching it again", d->cfg.thresholds_file);
	reload(d, "folder returned");
}

static void on_mqtt_ended(struct daemon *d)
{
	char why[160];

	epoll_ctl(d->epfd, EPOLL_CTL_DEL, mqtt_thread_fd(d->mqtt), NULL);
	mqtt_describe(d->mqtt, why, sizeof(why));
	log_msg(LOG_ERR, "mqtt: network loop ended (%s), restarting it in %d s", why,
		d->restart_delay_s);
	d->restart_pending = true;
	timer_set(d->fd[SRC_MQTT_RESTART], (int64_t)d->restart_delay_s * 1000, false);
	d->restart_delay_s *= 2;
	if (d->restart_delay_s > d->cfg.mqtt_reconnect_max)
		d->restart_delay_s = d->cfg.mqtt_reconnect_max;
	update_status(d);
}

static int watch_fd_add(struct daemon *d, int fd, enum source src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int on_mqtt_restart(struct daemon *d)
{
	char err[256];

	if (mqtt_restart(d->mqtt, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s, retrying in %d s", err, d->restart_delay_s);
		timer_set(d->fd[SRC_MQTT_RESTART], (int64_t)d->restart_delay_s * 1000, false);
		return -1;
	}
	d->restart_pending = false;
	if (mqtt_thread_fd(d->mqtt) >= 0)
		watch_fd_add(d, mqtt_thread_fd(d->mqtt), SRC_MQTT_ENDED);
	return 0;
}

static void on_watchdog(struct daemon *d)
{
	int rc = mqtt_check(d->mqtt, d->watchdog_usec ? (long long)(d->watchdog_usec / 1000)
						      : LLONG_MAX);

	update_status(d);
	/* No pidfd for a thread before Linux 6.9: its end is noticed here instead, once. */
	if (rc == -EPIPE && mqtt_thread_fd(d->mqtt) < 0 && !d->restart_pending)
		on_mqtt_ended(d);
	if (rc == -ETIMEDOUT) {
		/* Withholding the ping is the point: systemd restarts a wedged daemon. */
		if (!d->stuck_logged)
			log_msg(LOG_CRIT,
				"mqtt: network thread stuck or stopped, not feeding the watchdog");
		d->stuck_logged = true;
		return;
	}
	d->stuck_logged = false;
	notify_watchdog();
}

static int setup_sources(struct daemon *d)
{
	sigset_t mask;
	int i;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	/* Blocked before any thread exists, so that every thread leaves them to signalfd. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->fd[SRC_SIGNAL] = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->fd[SRC_WATCH] = watch_fd(d->watch);
	for (i = SRC_DEBOUNCE; i < SRC_COUNT; i++)
		if (i != SRC_MQTT_ENDED)
			d->fd[i] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->fd[SRC_MQTT_ENDED] = -1;
	for (i = 0; i < SRC_COUNT; i++) {
		if (i == SRC_MQTT_ENDED)
			continue;
		if (d->epfd < 0 || d->fd[i] < 0 || watch_fd_add(d, d->fd[i], (enum source)i) < 0)
			return -errno;
	}
	return 0;
}

static void run(struct daemon *d)
{
	struct epoll_event evs[8];
	bool stop = false;
	int n, i;

	while (!stop) {
		n = epoll_wait(d->epfd, evs, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_msg(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n && !stop; i++) {
			enum source src = (enum source)evs[i].data.u32;

			if (src != SRC_SIGNAL && src != SRC_WATCH && src != SRC_MQTT_ENDED)
				timer_drain(d->fd[src]);
			switch (src) {
			case SRC_SIGNAL:
				stop = on_signal(d);
				break;
			case SRC_WATCH:
				on_watch(d);
				break;
			case SRC_DEBOUNCE:
				reload(d, "file changed");
				break;
			case SRC_ZONES:
				control_timer(d->ctl);
				break;
			case SRC_WATCHDOG:
				on_watchdog(d);
				break;
			case SRC_STATUS:
				atomic_store(&d->status_armed, false);
				update_status(d);
				break;
			case SRC_MQTT_ENDED:
				on_mqtt_ended(d);
				break;
			case SRC_MQTT_RESTART:
				on_mqtt_restart(d);
				break;
			case SRC_WATCH_RETRY:
				on_watch_retry(d);
				break;
			case SRC_COUNT:
				break;
			}
		}
	}
}

/* Loads pylight.ini and ref.txt. Returns 0, or an exit status after listing every error. */
static int load_all(struct daemon *d, const char *path, struct thresholds **t, bool check)
{
	struct errlist errs = { 0 }, warns = { 0 };
	int rc = 0;

	if (config_load(path, &d->cfg, &errs, &warns) < 0) {
		rc = check ? 1 : EX_CONFIG;
	} else if (thresholds_load(d->cfg.thresholds_file, t, &errs) < 0) {
		config_free(&d->cfg);
		rc = check ? 1 : EX_CONFIG;
	}
	if (check) {
		errlist_print(&warns, stderr_line, "warning: ");
		errlist_print(&errs, stderr_line, "");
	} else {
		log_errors(LOG_WARNING, &warns);
		log_errors(LOG_ERR, &errs);
		if (rc)
			log_msg(LOG_ERR, "invalid configuration, not starting");
	}
	errlist_clear(&errs);
	errlist_clear(&warns);
	return rc;
}

static int check_config(const char *path)
{
	struct daemon d = { 0 };
	struct thresholds *t = NULL;
	int rc = load_all(&d, path, &t, true);

	if (rc)
		return rc;
	printf("configuration OK\n");
	config_dump(&d.cfg, stdout);
	printf("\n# %s\n", d.cfg.thresholds_file);
	thresholds_dump(t, stdout);
	thresholds_free(t);
	config_free(&d.cfg);
	return 0;
}

static int serve(const char *path)
{
	struct daemon d = { .epfd = -1 };
	struct thresholds *t = NULL;
	struct control_out out = { .publish = on_publish, .wake = on_wake, .ctx = &d };
	struct mqtt_events ev = { .message = on_message, .state = on_state, .ctx = &d };
	char err[256], summary[160];
	int rc, i, status = EXIT_FAILURE;

	for (i = 0; i < SRC_COUNT; i++)
		d.fd[i] = -1;
	rc = load_all(&d, path, &t, false);
	if (rc)
		return rc;
	log_set_level(d.cfg.log_level);
	thresholds_describe(t, summary, sizeof(summary));
	snprintf(d.reload_result, sizeof(d.reload_result), "thresholds: %s", summary);
	d.restart_delay_s = d.cfg.mqtt_reconnect_min;
	rc = watch_new(d.cfg.thresholds_file, &d.watch);
	if (rc < 0) {
		log_msg(LOG_ERR, "%s: cannot watch its folder: %s", d.cfg.thresholds_file,
			strerror(-rc));
		thresholds_free(t);
		goto out;
	}
	rc = control_new(&d.cfg, t, &out, &d.ctl);
	if (rc < 0) {
		thresholds_free(t);
		goto out;
	}
	if (setup_sources(&d) < 0) {
		log_msg(LOG_ERR, "event setup: %s", strerror(errno));
		goto out;
	}
	if (mqtt_new(&d.cfg, &ev, &d.mqtt, err, sizeof(err)) < 0 ||
	    mqtt_start(d.mqtt, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		goto out;
	}
	if (mqtt_thread_fd(d.mqtt) >= 0)
		watch_fd_add(&d, mqtt_thread_fd(d.mqtt), SRC_MQTT_ENDED);
	d.watchdog_usec = notify_watchdog_usec();
	if (d.watchdog_usec || mqtt_thread_fd(d.mqtt) < 0) {
		struct itimerspec its = { 0 };
		uint64_t half = d.watchdog_usec / 2;

		/* Without a pidfd the MQTT thread's end is only seen by polling it. */
		if (mqtt_thread_fd(d.mqtt) < 0 && (!half || half > THREAD_POLL_US))
			half = THREAD_POLL_US;

		its.it_value.tv_sec = its.it_interval.tv_sec = (time_t)(half / 1000000);
		its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(half % 1000000) * 1000;
		timerfd_settime(d.fd[SRC_WATCHDOG], 0, &its, NULL);
	}
	log_msg(LOG_NOTICE, "pylightd " PYLIGHT_VERSION " started: broker %s:%d, %s: %s",
		d.cfg.mqtt_host, d.cfg.mqtt_port, d.cfg.thresholds_file, summary);
	update_status(&d);
	notify_ready();
	run(&d);
	notify_stopping();
	mqtt_shutdown(d.mqtt, SHUTDOWN_FLUSH_MS);
	log_msg(LOG_NOTICE, "stopped");
	status = EXIT_SUCCESS;
out:
	mqtt_free(d.mqtt);
	control_free(d.ctl);
	watch_free(d.watch);
	for (i = 0; i < SRC_COUNT; i++)
		if (d.fd[i] >= 0 && i != SRC_WATCH && i != SRC_MQTT_ENDED)
			close(d.fd[i]);
	if (d.epfd >= 0)
		close(d.epfd);
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
