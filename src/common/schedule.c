/* schedule.c -- the `schedule` syntax, and which local-time windows hold a given instant */
#include "schedule.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest piece of the value quoted in a message. */
#define QUOTE_MAX 24
#define ALL_DAYS 0x7f

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

struct cursor {
	const char *p, *end;
	char *err;
	size_t errlen;
};

static void fail(struct cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	/* The first error is the one to show: later ones are usually its echo. */
	if (c->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && is_blank(*c->p))
		c->p++;
}

/* The length of the run of letters at the cursor. */
static size_t word_len(const struct cursor *c)
{
	size_t n = 0;

	while (c->p + n < c->end && is_alpha(c->p[n]))
		n++;
	return n;
}

/* The piece of text at the cursor worth quoting: up to the next blank, ',' or the end. */
static int quote_len(const struct cursor *c)
{
	size_t n = 0;

	while (c->p + n < c->end && !is_blank(c->p[n]) && c->p[n] != ',' && n < QUOTE_MAX)
		n++;
	return (int)n;
}

/*
 * A part was wanted at the cursor: at the end or before a ',' it is `missing`, else what
 * stands there is quoted between `before` and `after`. Returns -EINVAL.
 */
static int fail_wanted(struct cursor *c, const char *missing, const char *before,
		       const char *after)
{
	if (c->p == c->end || *c->p == ',')
		fail(c, "missing %s", missing);
	else
		fail(c, "%s'%.*s'%s", before, quote_len(c), c->p, after);
	return -EINVAL;
}

static bool word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static int day_find(const char *s, size_t len)
{
	for (int d = 0; d < 7; d++)
		if (word_is(s, len, day_names[d]))
			return d;
	return -1;
}

/* "Mon" or "Mon-Fri" at the cursor: their days as bits. Returns 0 or -EINVAL. */
static int day_item(struct cursor *c, unsigned *days)
{
	size_t n = word_len(c);
	int from = day_find(c->p, n), to;

	if (from < 0) {
		fail(c, "unknown day '%.*s' (Mon..Sun, a range Mon-Fri, a list Mon,Wed,Fri or daily)",
		     quote_len(c), c->p);
		return -EINVAL;
	}
	c->p += n;
	to = from;
	if (c->p < c->end && *c->p == '-') {
		const char *dash = c->p++;

		n = word_len(c);
		to = day_find(c->p, n);
		if (to < 0) {
			c->p = dash + 1;
			fail(c, "bad day range: unknown day '%.*s' after '-'", quote_len(c), c->p);
			return -EINVAL;
		}
		c->p += n;
	}
	/* Fri-Mon wraps over the weekend. */
	for (int d = from;; d = (d + 1) % 7) {
		*days |= 1u << d;
		if (d == to)
			break;
	}
	return 0;
}

/* DAYS at the cursor, which starts with a letter that is not a sun word. */
static int days_parse(struct cursor *c, unsigned *days)
{
	size_t n = word_len(c);

	*days = 0;
	if (word_is(c->p, n, "daily")) {
		c->p += n;
		if (c->p < c->end && *c->p == ',') {
			fail(c, "bad list of days: 'daily' cannot be part of a list");
			return -EINVAL;
		}
		*days = ALL_DAYS;
	} else {
		for (;;) {
			const char *q;

			if (day_item(c, days) < 0)
				return -EINVAL;
			for (q = c->p; q < c->end && is_blank(*q); q++)
				;
			if (q == c->end || *q != ',')
				break;
			c->p = q + 1;
			skip_blanks(c);
			if (c->p == c->end || !is_alpha(*c->p)) {
				fail(c, "bad list of days: expected a day after ','");
				return -EINVAL;
			}
		}
	}
	if (c->p == c->end || !is_blank(*c->p))
		return fail_wanted(c, "START-END after the days",
				   "expected white space then START-END after the days, not ", "");
	skip_blanks(c);
	return 0;
}

/* HH:MM at the cursor (hours 0..23 in one or two digits, minutes in two). */
static int clock_parse(struct cursor *c, struct schedule_edge *e)
{
	const char *s = c->p;
	size_t n = 0;
	int h = 0, m;

	while (s + n < c->end && is_digit(s[n]) && n < 3)
		h = h * 10 + (s[n++] - '0');
	if (n == 0 || n > 2 || s + n + 3 > c->end || s[n] != ':' || !is_digit(s[n + 1]) ||
	    !is_digit(s[n + 2]) || (s + n + 3 < c->end && is_digit(s[n + 3])))
		goto bad;
	m = (s[n + 1] - '0') * 10 + (s[n + 2] - '0');
	if (h > 23 || m > 59)
		goto bad;
	e->kind = EDGE_CLOCK;
	e->sec = h * 3600 + m * 60;
	c->p = s + n + 3;
	return 0;
bad:
	fail(c, "bad time '%.*s' (HH:MM from 00:00 to 23:59, or sunrise/sunset)", quote_len(c),
	     c->p);
	return -EINVAL;
}

/* Whether the text at p is a number that is not an HH:MM: then a '-' before it is a sign. */
static bool offset_follows(const struct cursor *c, const char *p)
{
	if (p == c->end || !is_digit(*p))
		return false;
	while (p < c->end && is_digit(*p))
		p++;
	return p == c->end || *p != ':';
}

/* "+30m" or "-1h" at the cursor, after a sun word. */
static int offset_parse(struct cursor *c, struct schedule_edge *e)
{
	const char *start = c->p;
	int sign = *c->p++ == '-' ? -1 : 1;
	long v = 0, unit;

	if (c->p == c->end || !is_digit(*c->p))
		goto bad;
	/* Capped while read: anything past the cap is refused below anyway. */
	while (c->p < c->end && is_digit(*c->p)) {
		v = v > SCHEDULE_OFFSET_MAX ? v : v * 10 + (*c->p - '0');
		c->p++;
	}
	if (c->p == c->end)
		goto bad;
	unit = *c->p == 's' ? 1 : *c->p == 'm' ? 60 : *c->p == 'h' ? 3600 : 0;
	if (!unit)
		goto bad;
	c->p++;
	if (c->p < c->end && is_alpha(*c->p))
		goto bad;
	if (v * unit > SCHEDULE_OFFSET_MAX) {
		c->p = start;
		fail(c, "offset '%.*s' is more than 12h", quote_len(c), c->p);
		return -EINVAL;
	}
	e->sec = (int)(sign * v * unit);
	return 0;
bad:
	c->p = start;
	fail(c, "bad offset '%.*s' (a whole number with s, m or h: sunset-30m, sunrise+1h)",
	     quote_len(c), c->p);
	return -EINVAL;
}

static int edge_parse(struct cursor *c, struct schedule_edge *e)
{
	size_t n = word_len(c);

	if (c->p < c->end && is_digit(*c->p))
		return clock_parse(c, e);
	if (word_is(c->p, n, "sunrise") || word_is(c->p, n, "sunset")) {
		e->kind = (c->p[3] | 0x20) == 'r' ? EDGE_SUNRISE : EDGE_SUNSET;
		e->sec = 0;
		c->p += n;
		/* sunset-30m is an offset; sunset-06:00 and sunset-sunrise are a range. */
		if (c->p < c->end && (*c->p == '+' || (*c->p == '-' && offset_follows(c, c->p + 1))))
			return offset_parse(c, e);
		return 0;
	}
	return fail_wanted(c, "time (HH:MM, sunrise or sunset)", "bad time ",
			   " (HH:MM from 00:00 to 23:59, or sunrise/sunset)");
}

static int window_parse(struct cursor *c, struct schedule_window *w)
{
	unsigned days = ALL_DAYS;
	size_t n = word_len(c);

	if (c->p == c->end || *c->p == ',') {
		fail(c, "empty window (windows are separated by ',')");
		return -EINVAL;
	}
	if (n && !word_is(c->p, n, "sunrise") && !word_is(c->p, n, "sunset") &&
	    days_parse(c, &days) < 0)
		return -EINVAL;
	w->days = (unsigned char)days;
	if (edge_parse(c, &w->start) < 0)
		return -EINVAL;
	skip_blanks(c);
	if (c->p == c->end || *c->p != '-') {
		fail(c, "expected '-' between START and END%s%.*s%s",
		     c->p == c->end ? "" : ", not '", c->p == c->end ? 0 : quote_len(c), c->p,
		     c->p == c->end ? "" : "'");
		return -EINVAL;
	}
	c->p++;
	skip_blanks(c);
	return edge_parse(c, &w->end);
}

int schedule_parse(const char *s, size_t len, struct schedule **out, char *err, size_t errlen)
{
	struct schedule_window w[SCHEDULE_WINDOWS];
	struct cursor c = { .p = s, .end = s + len, .err = err, .errlen = errlen };
	unsigned n = 0;

	*out = NULL;
	err[0] = '\0';
	skip_blanks(&c);
	for (;;) {
		struct schedule_window one;

		/* Padding too: equal schedules compare equal byte for byte. */
		memset(&one, 0, sizeof(one));
		if (window_parse(&c, &one) < 0)
			return -EINVAL;
		if (n == SCHEDULE_WINDOWS) {
			fail(&c, "more than %d windows", SCHEDULE_WINDOWS);
			return -EINVAL;
		}
		w[n++] = one;
		skip_blanks(&c);
		if (c.p == c.end)
			break;
		if (*c.p != ',') {
			fail(&c, "expected ',' between windows, not '%.*s'", quote_len(&c), c.p);
			return -EINVAL;
		}
		c.p++;
		skip_blanks(&c);
	}
	*out = malloc(sizeof(**out) + n * sizeof(w[0]));
	if (!*out)
		return -ENOMEM;
	(*out)->n = n;
	memcpy((*out)->w, w, n * sizeof(w[0]));
	return 0;
}

void schedule_free(struct schedule *s)
{
	free(s);
}

bool schedule_uses_sun(const struct schedule *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->w[i].start.kind != EDGE_CLOCK || s->w[i].end.kind != EDGE_CLOCK)
			return true;
	return false;
}

/* Appends to buf[*at..size), keeping it NUL-terminated and never overrunning. */
static void put(char *buf, size_t size, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t size, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, size - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at += (size_t)n;
}

/* Days from Monday on: runs of three or more as a range, others listed. */
static void days_format(unsigned days, char *buf, size_t size, size_t *at)
{
	bool first = true;

	if (days == ALL_DAYS) {
		put(buf, size, at, "daily");
		return;
	}
	for (int i = 0; i < 7;) {
		int j = i;

		if (!(days & (1u << ((i + 1) % 7)))) {
			i++;
			continue;
		}
		while (j + 1 < 7 && (days & (1u << ((j + 2) % 7))))
			j++;
		put(buf, size, at, "%s%s", first ? "" : ",", day_names[(i + 1) % 7]);
		if (j - i >= 2)
			put(buf, size, at, "-%s", day_names[(j + 1) % 7]);
		else if (j > i)
			put(buf, size, at, ",%s", day_names[(j + 1) % 7]);
		first = false;
		i = j + 1;
	}
}

static void edge_format(const struct schedule_edge *e, char *buf, size_t size, size_t *at)
{
	int v = e->sec < 0 ? -e->sec : e->sec;

	if (e->kind == EDGE_CLOCK) {
		put(buf, size, at, "%02d:%02d", e->sec / 3600, e->sec / 60 % 60);
		return;
	}
	put(buf, size, at, "%s", e->kind == EDGE_SUNRISE ? "sunrise" : "sunset");
	if (!v)
		return;
	if (v % 3600 == 0)
		put(buf, size, at, "%c%dh", e->sec < 0 ? '-' : '+', v / 3600);
	else if (v % 60 == 0)
		put(buf, size, at, "%c%dm", e->sec < 0 ? '-' : '+', v / 60);
	else
		put(buf, size, at, "%c%ds", e->sec < 0 ? '-' : '+', v);
}

void schedule_format(const struct schedule *s, char *buf, size_t size)
{
	size_t at = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < s->n; i++) {
		if (i)
			put(buf, size, &at, ", ");
		days_format(s->w[i].days, buf, size, &at);
		put(buf, size, &at, " ");
		edge_format(&s->w[i].start, buf, size, &at);
		put(buf, size, &at, "-");
		edge_format(&s->w[i].end, buf, size, &at);
	}
}

/* ---- window arithmetic ---- */

/*
 * Days looked at around `now`: a window may start two days back (offsets of up to 12h make
 * one last 36h), and the next edge is looked for a week ahead.
 */
#define DAYS_BACK 2
#define DAYS_AHEAD 8
#define NDAYS (DAYS_BACK + DAYS_AHEAD + 1)

/* One local calendar day and what happens in it. */
struct day {
	struct tm date; /* year, month, day and weekday; the rest unused */
	time_t midnight;
	enum sun_day sun;
	time_t rise, set;
};

struct span {
	time_t from, to;
};

static bool same_wall(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
	       a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* Whether the wall clock at t reads at least `want` (compared field by field). */
static bool wall_reached(time_t t, const struct tm *want)
{
	struct tm tm;
	long long a, b;

	localtime_r(&t, &tm);
	a = ((((long long)tm.tm_year * 16 + tm.tm_mon) * 32 + tm.tm_mday) * 24 + tm.tm_hour) *
		    3600 + (long long)tm.tm_min * 60 + tm.tm_sec;
	b = ((((long long)want->tm_year * 16 + want->tm_mon) * 32 + want->tm_mday) * 24 +
	     want->tm_hour) * 3600 + (long long)want->tm_min * 60 + want->tm_sec;
	return a >= b;
}

/*
 * The instant the wall clock reads `sec` seconds after midnight of `date`: its first
 * occurrence when it reads it twice, the end of the gap when it skips it.
 */
static time_t local_instant(const struct tm *date, int sec)
{
	struct tm want = { .tm_year = date->tm_year, .tm_mon = date->tm_mon,
			   .tm_mday = date->tm_mday, .tm_hour = sec / 3600,
			   .tm_min = sec / 60 % 60, .tm_sec = sec % 60 };
	time_t cand[2], best = 0, lo, hi;
	bool found = false;

	for (int dst = 0; dst < 2; dst++) {
		struct tm tm = want, back;

		tm.tm_isdst = dst;
		cand[dst] = mktime(&tm);
		if (localtime_r(&cand[dst], &back) && same_wall(&back, &want) &&
		    back.tm_isdst == dst && (!found || cand[dst] < best)) {
			best = cand[dst];
			found = true;
		}
	}
	if (found)
		return best;
	/* Skipped: the two readings of the time bracket the jump; find where it lands. */
	lo = cand[0] < cand[1] ? cand[0] : cand[1];
	hi = cand[0] < cand[1] ? cand[1] : cand[0];
	if (!wall_reached(hi, &want))
		return hi;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;

		if (wall_reached(mid, &want))
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* The local day `offset` days from the one holding `now`. */
static void day_fill(struct day *d, const struct tm *today, int offset,
		     const struct sun_site *site, bool sun)
{
	/* Noon never falls in a clock change, so mktime only normalises the date. */
	struct tm tm = { .tm_year = today->tm_year, .tm_mon = today->tm_mon,
			 .tm_mday = today->tm_mday + offset, .tm_hour = 12, .tm_isdst = -1 };

	(void)mktime(&tm);
	d->date = tm;
	d->midnight = local_instant(&tm, 0);
	/* Without a site (the caller's mistake) a night window is always on: lit, not dark. */
	d->sun = SUN_POLAR_NIGHT;
	if (sun && site)
		d->sun = sun_times(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, site, &d->rise,
				   &d->set);
}

/* An edge on day d; false when it is a sun event the day does not have. */
static bool edge_at(const struct schedule_edge *e, const struct day *d, time_t *t)
{
	if (e->kind == EDGE_CLOCK) {
		*t = local_instant(&d->date, e->sec);
		return true;
	}
	if (d->sun != SUN_NORMAL)
		return false;
	*t = (e->kind == EDGE_SUNRISE ? d->rise : d->set) + e->sec;
	return true;
}

/* Whether a polar day (or night) fills a window with sun edges: see schedule_at. */
static bool polar_fills(const struct schedule_window *w, enum sun_day sun)
{
	bool night = w->start.kind == EDGE_SUNSET ||
		     (w->start.kind == EDGE_CLOCK && w->end.kind == EDGE_SUNRISE);

	return night == (sun == SUN_POLAR_NIGHT);
}

/* The span window w covers when it starts on days[i]; false when none. */
static bool window_span(const struct schedule_window *w, const struct day *days, int i,
			struct span *sp)
{
	const struct day *d = &days[i], *next = &days[i + 1];
	bool uses_sun = w->start.kind != EDGE_CLOCK || w->end.kind != EDGE_CLOCK;
	bool crosses;
	time_t end = 0;

	if (!(w->days & (1u << d->date.tm_wday)))
		return false;
	if (uses_sun && d->sun != SUN_NORMAL) {
		if (!polar_fills(w, d->sun))
			return false;
		/* The last polar night runs on to the window's end on the first morning with a
		 * sunrise, as the night before a sunrise always does. */
		sp->from = d->midnight;
		if (d->sun != SUN_POLAR_NIGHT || !edge_at(&w->end, next, &sp->to) ||
		    sp->to < next->midnight)
			sp->to = next->midnight;
		return true;
	}
	edge_at(&w->start, d, &sp->from);
	edge_at(&w->end, d, &end);
	/* Wall-clock windows cross midnight by what they say, not by instants on a day with a
	 * clock change: 02:30-03:00 on the day 02:00-03:00 is skipped is empty, not 24h long. */
	if (w->start.kind == EDGE_CLOCK && w->end.kind == EDGE_CLOCK)
		crosses = w->end.sec <= w->start.sec;
	else
		crosses = end <= sp->from;
	if (crosses && !edge_at(&w->end, next, &end))
		end = next->midnight; /* the next day is polar: its own window takes over */
	sp->to = end;
	return sp->to > sp->from;
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

bool schedule_at(const struct schedule *s, const struct sun_site *site, time_t now, time_t *next)
{
	struct day days[NDAYS + 1];
	struct span spans[NDAYS * SCHEDULE_WINDOWS] = { { 0, 0 } }, run;
	bool sun = schedule_uses_sun(s), inside = false;
	struct tm today;
	size_t n = 0;

	localtime_r(&now, &today);
	for (int i = 0; i <= NDAYS; i++)
		day_fill(&days[i], &today, i - DAYS_BACK, site, sun);
	for (int i = 0; i < NDAYS; i++)
		for (unsigned k = 0; k < s->n; k++)
			if (window_span(&s->w[k], days, i, &spans[n]))
				n++;
	qsort(spans, n, sizeof(spans[0]), span_cmp);

	/* Overlapping or touching windows are one: the zone does not leave and re-enter. */
	*next = days[NDAYS].midnight;
	for (size_t i = 0; i < n;) {
		run = spans[i++];
		while (i < n && spans[i].from <= run.to) {
			if (spans[i].to > run.to)
				run.to = spans[i].to;
			i++;
		}
		if (run.from <= now && now < run.to) {
			inside = true;
			/* A run past the days looked at is known only up to them: look again then. */
			*next = run.to < days[NDAYS].midnight ? run.to : days[NDAYS].midnight;
			break;
		}
		if (run.from > now) {
			*next = run.from;
			break;
		}
	}
	return inside;
}
