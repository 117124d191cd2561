/* log.c -- the daemon's one way to say something: the journal under systemd, else stderr */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

/* The longest message logged; longer ones are cut. */
#define MESSAGE_MAX 1024

static int max_level = LOG_INFO;
static bool to_journal;
static const char *ident = "pylightd";

static const char *const prio_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* systemd sets JOURNAL_STREAM=DEV:INODE when stderr is its journal stream. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_open(void)
{
	to_journal = stderr_is_journal();
}

void log_set_ident(const char *name)
{
	ident = name;
}

void log_set_level(int level)
{
	max_level = level;
}

int log_level_enabled(int prio)
{
	return prio <= max_level;
}

static void log_v(int prio, const char *zone, const char *fmt, va_list ap)
{
	/*
	 * The message is formatted once, behind room for its priority's name and before room
	 * for a newline: stderr gets the line as it is, without a second printf over it.
	 */
	const char *name = prio_names[prio & 7];
	size_t pre = strlen(name) + 2;
	char line[sizeof("warning: ") + MESSAGE_MAX];
	char *buf = line + pre;
	int n;

	if (!log_level_enabled(prio))
		return;
	n = vsnprintf(buf, MESSAGE_MAX, fmt, ap);
	if (to_journal) {
		if (zone)
			sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", prio, "ZONE=%s", zone,
					"SYSLOG_IDENTIFIER=%s", ident, NULL);
		else
			sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", prio,
					"SYSLOG_IDENTIFIER=%s", ident, NULL);
		return;
	}
	if (n < 0)
		n = 0;
	else if (n >= MESSAGE_MAX)
		n = MESSAGE_MAX - 1; /* cut, as vsnprintf did */
	memcpy(line, name, pre - 2);
	line[pre - 2] = ':';
	line[pre - 1] = ' ';
	buf[n] = '\n';
	/* Nowhere to report a failed write to stderr. */
	(void)fwrite(line, 1, pre + (size_t)n + 1, stderr);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, NULL, fmt, ap);
	va_end(ap);
}

void log_zone(int prio, const char *zone, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, zone, fmt, ap);
	va_end(ap);
}

/* A line sink for errlist_print: `prio` points to the LOG_* priority. */
static void log_line(void *prio, const char *text)
{
	log_msg(*(const int *)prio, "%s", text);
}

void log_errlist(int prio, const struct errlist *el)
{
	errlist_print(el, log_line, &prio);
}
