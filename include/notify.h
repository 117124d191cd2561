/* notify.h -- telling systemd the truth: ready, reloading, status, watchdog, stopping */
#ifndef PYLIGHT_NOTIFY_H
#define PYLIGHT_NOTIFY_H

#include <stdint.h>

/* All are no-ops outside systemd (NOTIFY_SOCKET unset). */
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
void notify_status(const char *status);
/* The watchdog interval systemd asked for in microseconds, 0 if none. */
uint64_t notify_watchdog_usec(void);

#endif
