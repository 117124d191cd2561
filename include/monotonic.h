/* monotonic.h -- the one clock every deadline, timer and watchdog check is on */
#ifndef PYLIGHT_MONOTONIC_H
#define PYLIGHT_MONOTONIC_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: deadlines, dwell times, stuck callbacks. */
int64_t monotonic_ms(void);
/* CLOCK_MONOTONIC in microseconds, as systemd's MONOTONIC_USEC wants it. */
uint64_t monotonic_usec(void);

#endif
