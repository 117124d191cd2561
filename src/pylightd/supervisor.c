/* supervisor.c -- systemd's watchdog fed, the MQTT thread watched and restarted with back-off */
#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "log.h"
#include "notify.h"

#define THREAD_POLL_US 1000000 /* how often the MQTT thread is checked when it has no pidfd */

struct supervisor {
	struct loop *loop;
	struct mqtt *mqtt;
	struct status *st;
	uint64_t watchdog_usec;     /* systemd's interval, 0 without a watchdog */
	struct backoff restart;     /* of the loop thread; a connection resets it */
	bool thread_watched;        /* the loop thread's pidfd is in the loop */
	bool restart_pending;
	bool stuck_logged;
};

int supervisor_new(const struct config *cfg, struct loop *loop, struct mqtt *mqtt,
		   struct status *st, struct supervisor **out)
{
	struct supervisor *sv = malloc(sizeof(*sv));

	*out = sv;
	if (!sv)
		return -ENOMEM;
	*sv = (struct supervisor){ .loop = loop, .mqtt = mqtt, .st = st };
	backoff_init(&sv->restart, cfg->mqtt_reconnect_min, cfg->mqtt_reconnect_max);
	return 0;
}

void supervisor_free(struct supervisor *sv)
{
	free(sv);
}

/* Lends the loop thread's pidfd to the loop, when the kernel gave one. */
static void thread_watch(struct supervisor *sv)
{
	int fd = mqtt_thread_fd(sv->mqtt), rc;

	sv->thread_watched = false;
	if (fd < 0)
		return;
	rc = loop_borrow(sv->loop, EV_MQTT_ENDED, fd);
	if (rc < 0) {
		log_msg(LOG_ERR, "mqtt: cannot watch the network thread: %s, polling it instead",
			strerror(-rc));
		return;
	}
	sv->thread_watched = true;
}

void supervisor_start(struct supervisor *sv)
{
	uint64_t every;

	thread_watch(sv);
	sv->watchdog_usec = notify_watchdog_usec();
	if (!sv->watchdog_usec && sv->thread_watched)
		return;
	/* Ping at half of systemd's interval; without a pidfd the thread's end is only seen by
	 * polling it, at least once a second. */
	every = sv->watchdog_usec / 2;
	if (!sv->thread_watched && (!every || every > THREAD_POLL_US))
		every = THREAD_POLL_US;
	loop_timer_every(sv->loop, EV_WATCHDOG, every);
}

void supervisor_connected(struct supervisor *sv)
{
	backoff_reset(&sv->restart);
}

void supervisor_thread_ended(struct supervisor *sv)
{
	int delay = backoff_next(&sv->restart);
	char why[160];

	loop_release(sv->loop, EV_MQTT_ENDED);
	sv->thread_watched = false;
	mqtt_describe(sv->mqtt, why, sizeof(why));
	log_msg(LOG_ERR, "mqtt: network loop ended (%s), restarting it in %d s", why, delay);
	sv->restart_pending = true;
	loop_timer_in(sv->loop, EV_MQTT_RESTART, (int64_t)delay * 1000);
	status_update(sv->st);
}

void supervisor_restart(struct supervisor *sv)
{
	char err[256];

	if (mqtt_restart(sv->mqtt, err, sizeof(err)) < 0) {
		int delay = backoff_peek(&sv->restart);

		log_msg(LOG_ERR, "%s, retrying in %d s", err, delay);
		loop_timer_in(sv->loop, EV_MQTT_RESTART, (int64_t)delay * 1000);
		return;
	}
	sv->restart_pending = false;
	thread_watch(sv);
}

void supervisor_watchdog(struct supervisor *sv)
{
	long long stuck_ms = sv->watchdog_usec ? (long long)(sv->watchdog_usec / 1000) : LLONG_MAX;
	int rc = mqtt_check(sv->mqtt, stuck_ms);

	status_update(sv->st);
	/* No pidfd for a thread before Linux 6.9: its end is noticed here instead, once. */
	if (rc == -EPIPE && !sv->thread_watched && !sv->restart_pending)
		supervisor_thread_ended(sv);
	if (rc == -ETIMEDOUT) {
		/* Withholding the ping is the point: systemd restarts a wedged daemon. */
		if (!sv->stuck_logged)
			log_msg(LOG_CRIT,
				"mqtt: network thread stuck or stopped, not feeding the watchdog");
		sv->stuck_logged = true;
		return;
	}
	sv->stuck_logged = false;
	notify_watchdog();
}
