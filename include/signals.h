/* signals.h -- the signals a program handles, blocked for every thread and read from a signalfd */
#ifndef PYLIGHT_SIGNALS_H
#define PYLIGHT_SIGNALS_H

#include <stddef.h>

/*
 * Blocks `signals` (call it before any thread exists, so that every thread leaves them to
 * the signalfd), ignores SIGPIPE, and returns a signalfd for them with `flags`
 * (SFD_NONBLOCK...), or -errno.
 */
int signals_open(const int *signals, size_t n, int flags);

#endif
