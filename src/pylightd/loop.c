/* loop.c -- the one main loop: epoll over the loop's own timers and the fds others lend it */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_TIMERS (EV_MQTT_RESTART + 1)
#define LOOP_BATCH 8

struct loop {
	int epfd;
	int timer[LOOP_TIMERS]; /* owned: timerfds, by event */
	/* Borrowed: their owners close them. -1 when none. */
	int signal_fd;
	int watch_fd;
	int thread_fd;
};

/* Adds `fd` to the epoll set, tagged with the event it stands for. */
static int epoll_add(struct loop *l, int fd, enum loop_event ev)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = ev };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

static bool is_timer(enum loop_event ev)
{
	return ev < LOOP_TIMERS;
}

/* The named field that holds the fd borrowed for `ev`; NULL for a timer. */
static int *borrowed(struct loop *l, enum loop_event ev)
{
	switch (ev) {
	case EV_SIGNAL:
		return &l->signal_fd;
	case EV_WATCH:
		return &l->watch_fd;
	case EV_MQTT_ENDED:
		return &l->thread_fd;
	default:
		return NULL;
	}
}

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));
	int i, rc;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->signal_fd = l->watch_fd = l->thread_fd = -1;
	for (i = 0; i < LOOP_TIMERS; i++)
		l->timer[i] = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	for (i = 0; i < LOOP_TIMERS; i++) {
		/* Schedule edges are wall-clock times; every other timer is a duration. */
		l->timer[i] = timerfd_create(i == EV_SCHEDULE ? CLOCK_REALTIME : CLOCK_MONOTONIC,
					     TFD_NONBLOCK | TFD_CLOEXEC);
		if (l->timer[i] < 0) {
			rc = -errno;
			goto fail;
		}
		rc = epoll_add(l, l->timer[i], (enum loop_event)i);
		if (rc < 0)
			goto fail;
	}
	*out = l;
	return 0;
fail:
	loop_free(l);
	return rc;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < LOOP_TIMERS; i++)
		if (l->timer[i] >= 0)
			close(l->timer[i]);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

int loop_borrow(struct loop *l, enum loop_event ev, int fd)
{
	int *slot = borrowed(l, ev);
	int rc;

	if (!slot || fd < 0)
		return -EINVAL;
	loop_release(l, ev);
	rc = epoll_add(l, fd, ev);
	if (rc == 0)
		*slot = fd;
	return rc;
}

void loop_release(struct loop *l, enum loop_event ev)
{
	int *slot = borrowed(l, ev);

	if (!slot || *slot < 0)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, *slot, NULL);
	*slot = -1;
}

/* Arms a one-shot timer at `ms` (relative, or absolute monotonic with `abs`); <= 0 disarms. */
static void timer_set(struct loop *l, enum loop_event ev, int64_t ms, bool abs)
{
	struct itimerspec its = { 0 };

	if (!is_timer(ev))
		return;
	if (ms > 0 && ms != INT64_MAX) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000;
	}
	timerfd_settime(l->timer[ev], abs ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

void loop_timer_in(struct loop *l, enum loop_event ev, int64_t ms)
{
	timer_set(l, ev, ms, false);
}

void loop_timer_at(struct loop *l, enum loop_event ev, int64_t when)
{
	/* A deadline already past still has to fire: 1 ms after the epoch of the clock. */
	timer_set(l, ev, when <= 0 ? 1 : when, true);
}

void loop_timer_wall(struct loop *l, enum loop_event ev, time_t when)
{
	struct itimerspec its = { .it_value.tv_sec = when > 0 ? when : 0 };

	if (ev != EV_SCHEDULE)
		return;
	timerfd_settime(l->timer[ev], TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

void loop_timer_every(struct loop *l, enum loop_event ev, uint64_t usec)
{
	struct itimerspec its = { 0 };

	if (!is_timer(ev))
		return;
	its.it_value.tv_sec = its.it_interval.tv_sec = (time_t)(usec / 1000000);
	its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(usec % 1000000) * 1000;
	timerfd_settime(l->timer[ev], 0, &its, NULL);
}

int loop_run(struct loop *l, bool (*handle)(void *ctx, enum loop_event ev), void *ctx)
{
	struct epoll_event evs[LOOP_BATCH];
	bool stop = false;
	uint64_t expirations;
	int n, i;

	while (!stop) {
		n = epoll_wait(l->epfd, evs, LOOP_BATCH, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (i = 0; i < n && !stop; i++) {
			enum loop_event ev = (enum loop_event)evs[i].data.u32;

			if (is_timer(ev) &&
			    read(l->timer[ev], &expirations, sizeof(expirations)) < 0 &&
			    errno == ECANCELED)
				ev = EV_CLOCK_SET;
			stop = handle(ctx, ev);
		}
	}
	return 0;
}
