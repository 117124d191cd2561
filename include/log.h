/* log.h -- the daemon's one way to say something: the journal under systemd, else stderr */
#ifndef PYLIGHT_LOG_H
#define PYLIGHT_LOG_H

#include <syslog.h>

#include "errlist.h"

/* Picks the journal when stderr is connected to it (JOURNAL_STREAM), else stderr. */
void log_open(void);
/* The program's name in the journal (SYSLOG_IDENTIFIER), "pylightd" unless set. */
void log_set_ident(const char *name);
/* Messages less important than `level` (a LOG_* priority) are dropped. */
void log_set_level(int level);
int log_level_enabled(int prio);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs every message of an error list at `prio`, then how many were not kept. */
void log_errlist(int prio, const struct errlist *el);
/* As log_msg, with the journal field ZONE= set (the default zone is ""). */
void log_zone(int prio, const char *zone, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
