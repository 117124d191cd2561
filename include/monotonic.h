/* monotonic.h -- the one clock every deadline, timer and watchdog check is on */
#ifndef PYLIGHT_MONOTONIC_H
#define PYLIGHT_MONOTONIC_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: deadlines, dwell times, stuck callbacks. */
int64_t monotonic_ms(void);
/* CLOCK_MONOTONIC in microseconds, as systemd's MONOTONIC_USEC wants it. */
uint64_t monotonic_usec(void);
/*
 * CLOCK_REALTIME in milliseconds: only for times other hosts read (an override's end in a
 * zone's explanation), never for a deadline.
 */
int64_t wall_ms(void);

#endif
