/* signals.c -- the signals a program handles, blocked for every thread and read from a signalfd */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>

int signals_open(const int *signals, size_t n, int flags)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (size_t i = 0; i < n; i++)
		sigaddset(&mask, signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, flags | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
