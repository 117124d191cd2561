/* loop.h -- the one main loop: epoll over the loop's own timers and the fds others lend it */
#ifndef PYLIGHT_LOOP_H
#define PYLIGHT_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Everything the loop reports, by name. */
enum loop_event {
	/* Timers the loop owns. */
	EV_DEBOUNCE,     /* saves of ref.txt have settled: reload it */
	EV_WATCH_RETRY,  /* look for ref.txt's folder again */
	EV_ZONES,        /* the earliest zone deadline */
	EV_SCHEDULE,     /* the next schedule edge, on the wall clock (CLOCK_REALTIME) */
	EV_STATUS,       /* the rate-limited STATUS update */
	EV_WATCHDOG,     /* feed systemd's watchdog, check the MQTT thread */
	EV_STATS,        /* the rate-limited publish of the counters */
	EV_MQTT_RESTART, /* restart the MQTT thread after its back-off */
	/* File descriptors others own and lend to the loop. */
	EV_SIGNAL,       /* the signalfd */
	EV_WATCH,        /* inotify on ref.txt's folder */
	EV_MQTT_ENDED,   /* the MQTT thread's pidfd */
	/* Reported by the loop itself. */
	EV_CLOCK_SET,    /* the wall clock was set (NTP step, date -s, resume) while
			    EV_SCHEDULE was armed: the edges must be computed again */
};

struct loop;

/* Returns 0 and a loop with every timer disarmed, or -errno. */
int loop_new(struct loop **out);
/* Closes the loop's timers, never a borrowed fd. NULL is a no-op. */
void loop_free(struct loop *l);

/*
 * Watches `fd` for one of the borrowed events (EV_SIGNAL, EV_WATCH, EV_MQTT_ENDED); its
 * owner keeps it and closes it after loop_release. Returns 0 or -errno.
 */
int loop_borrow(struct loop *l, enum loop_event ev, int fd);
/* Stops watching the fd borrowed for `ev`, if any. */
void loop_release(struct loop *l, enum loop_event ev);

/* Timers, callable from any thread: one shot `ms` from now (0 disarms)... */
void loop_timer_in(struct loop *l, enum loop_event ev, int64_t ms);
/* ... one shot at monotonic_ms() `when` (INT64_MAX disarms, a past time fires at once)... */
void loop_timer_at(struct loop *l, enum loop_event ev, int64_t when);
/*
 * ... one shot at wall-clock time `when` (time(), 0 disarms) for EV_SCHEDULE: a change of
 * the clock cancels it and reports EV_CLOCK_SET instead...
 */
void loop_timer_wall(struct loop *l, enum loop_event ev, time_t when);
/* ... or every `usec` microseconds (0 disarms). */
void loop_timer_every(struct loop *l, enum loop_event ev, uint64_t usec);

/*
 * Waits for events and hands each to `handle`, a timer's already drained, until `handle`
 * returns true. Returns 0, or -errno when epoll_wait fails.
 */
int loop_run(struct loop *l, bool (*handle)(void *ctx, enum loop_event ev), void *ctx);

#endif
