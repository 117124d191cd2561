/* control_time.c -- carries out schedules and presence: the wall-clock timer, sensors' reports */
#include "control_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* uthash would exit() when out of memory; every HASH_ADD here is checked instead. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "hash.h"
#include "log.h"
#include "monotonic.h"
#include "presence.h"
#include "reading.h"
#include "schedule.h"

/*
 * A presence sensor's latest report, kept by topic rather than by zone: reports (retained
 * ones above all) arrive before the zone's first reading creates it, a topic may feed several
 * zones, and zones without a section inherit the global `occupancy`.
 */
struct sensor_seen {
	UT_hash_handle hh;
	bool heard, present;
	int64_t absent_since; /* monotonic ms of the report that ended its presence */
	const char *field;    /* occupancy_field of the first zone listing it */
	const char *zone;     /* that zone, to name in warnings ("" for the global list) */
	char topic[];
};

/* Inside or not, per schedule: zones that inherit one share it, and mktime is costly. */
struct window_seen {
	UT_hash_handle hh;
	const struct schedule *s; /* the key: a pointer into the table in force */
	bool inside, changed;
	time_t next; /* when it may change */
};

struct time_ctl {
	struct sensor_seen *sensors;
	struct presence_index *zones; /* the zones a report on a presence topic concerns */
	struct window_seen *windows;
	struct sun_site site;
	time_t armed; /* the wall-clock time handed to out.wall; 0: none */
};

/*
 * The wall clock in whole seconds, read exactly: time() reads the kernel's coarse clock,
 * which may still show the second before when the edge's timer fires.
 */
static time_t wall_now(void)
{
	return (time_t)(wall_ms() / 1000);
}

int control_time_new(struct control *c)
{
	c->tm = calloc(1, sizeof(*c->tm));
	if (!c->tm || presence_index_new(&c->tm->zones) < 0)
		return -ENOMEM;
	c->tm->site = (struct sun_site){ c->cfg->site_latitude, c->cfg->site_longitude };
	return control_time_table(c);
}

static void windows_clear(struct time_ctl *tm)
{
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash frees its table last */
	HASH_FREE_ALL(tm->windows, free);
}

static void sensors_clear(struct sensor_seen **all)
{
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash frees its table last */
	HASH_FREE_ALL(*all, free);
}

void control_time_free(struct control *c)
{
	if (!c || !c->tm)
		return;
	windows_clear(c->tm);
	sensors_clear(&c->tm->sensors);
	presence_index_free(c->tm->zones);
	free(c->tm);
	c->tm = NULL;
}

/* What control_time_table builds. */
struct table_walk {
	struct sensor_seen *old, *fresh;
	int rc;
};

/* Files the zone's presence topics, keeping what a sensor still listed last reported. */
static void sensors_add(struct table_walk *w, const char *zone, const struct zone_params *p)
{
	for (unsigned i = 0; p->occupancy && i < p->occupancy->n; i++) {
		const char *topic = p->occupancy->topic[i];
		size_t len = strlen(topic);
		struct sensor_seen *s;

		HASH_FIND(hh, w->fresh, topic, len, s);
		if (s)
			continue;
		HASH_FIND(hh, w->old, topic, len, s);
		if (s) {
			HASH_DEL(w->old, s);
		} else if ((s = calloc(1, sizeof(*s) + len + 1))) {
			memcpy(s->topic, topic, len + 1);
		} else {
			w->rc = -ENOMEM;
			return;
		}
		s->field = p->occupancy_field;
		s->zone = zone;
		HASH_ADD(hh, w->fresh, topic[0], len, s);
		if (!s->hh.tbl) {
			free(s);
			w->rc = -ENOMEM;
			return;
		}
	}
}

static void section_sensors(void *ctx, const char *zone, const struct zone_params *p)
{
	sensors_add(ctx, zone, p);
}

int control_time_table(struct control *c)
{
	struct table_walk w = { .old = c->tm->sensors };
	const struct zone_params *global = thresholds_global(c->t);

	/* The old table's schedules are gone with it: every zone asks again, lazily. */
	windows_clear(c->tm);
	sensors_add(&w, "", global);
	thresholds_foreach_section(c->t, section_sensors, &w);
	sensors_clear(&w.old);
	c->tm->sensors = w.fresh;
	/* Every zone is filed again by control_time_link, with its parameters from this table. */
	if (presence_index_reset(c->tm->zones, global->occupancy) < 0)
		w.rc = -ENOMEM;
	return w.rc;
}

void control_time_link(struct control *c, struct zone *z)
{
	if (presence_index_add(c->tm->zones, z->p->occupancy, z) < 0)
		log_zone(LOG_ERR, z->name, "zone '%s': out of memory for its presence sensors",
			 z->name);
}

size_t control_time_topics(struct control *c, const char ***v, size_t n)
{
	size_t add = HASH_COUNT(c->tm->sensors);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	const char **more = add ? realloc(*v, (n + add) * sizeof(*more)) : *v;
	struct sensor_seen *s;

	if (!more)
		return n;
	*v = more;
	for (s = c->tm->sensors; s; s = s->hh.next)
		more[n++] = s->topic;
	return n;
}

/* Hands the earliest edge over all schedules in use to out.wall; `force` after a clock step. */
static void wall_rearm(struct control *c, bool force)
{
	time_t next = 0;

	for (struct window_seen *w = c->tm->windows; w; w = w->hh.next)
		if (!next || w->next < next)
			next = w->next;
	if ((force || next != c->tm->armed) && c->out.wall)
		c->out.wall(c->out.ctx, next);
	c->tm->armed = next;
}

/* The schedule's state now, computed on first use after a table swap. NULL: no memory. */
static struct window_seen *window_get(struct control *c, const struct schedule *s)
{
	struct window_seen *w;

	HASH_FIND_PTR(c->tm->windows, &s, w);
	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->s = s;
	w->inside = schedule_at(s, &c->tm->site, wall_now(), &w->next);
	HASH_ADD_PTR(c->tm->windows, s, w);
	if (!w->hh.tbl) {
		free(w);
		return NULL;
	}
	if (!c->tm->armed || w->next < c->tm->armed)
		wall_rearm(c, false);
	return w;
}

/* Whether the zone's presence sensors say somebody is there, and until when at least. */
static bool zone_occupied(const struct control *c, const struct zone_params *p, int64_t now,
			  int64_t *deadline)
{
	const struct occupancy *occ = p->occupancy;
	struct presence pr = { 0 };
	int64_t last = INT64_MIN;

	for (unsigned i = 0; i < occ->n; i++) {
		const char *topic = occ->topic[i];
		struct sensor_seen *s;

		HASH_FIND(hh, c->tm->sensors, topic, strlen(topic), s);
		if (!s || !s->heard)
			continue;
		pr.heard |= (uint16_t)(1u << i);
		if (s->present)
			pr.present |= (uint16_t)(1u << i);
		else if (s->absent_since > last)
			last = s->absent_since; /* the last of them to say absent */
	}
	pr.absent_from = last;
	return presence_occupied(&pr, occ->n, p->vacancy_after, now, deadline);
}

bool control_time_zone(struct control *c, struct zone *z, int64_t now)
{
	bool out = false, vacant = false, changed;
	int64_t deadline = -1;

	if (z->p->schedule) {
		const struct window_seen *w = window_get(c, z->p->schedule);

		out = w && !w->inside;
	}
	if (z->p->occupancy)
		vacant = !zone_occupied(c, z->p, now, &deadline);
	z->vacant_at = deadline < 0 ? DECIDE_NEVER : deadline;
	changed = out != z->st.out_of_schedule || vacant != z->st.vacant;
	z->st.out_of_schedule = out;
	z->st.vacant = vacant;
	return changed;
}

/* Decides at once for a zone whose schedule or presence changed, and explains it. */
static void zone_edge(struct control *c, struct zone *z, int64_t now)
{
	struct decision d;

	decide_tick(&z->st, z->p, now, &d);
	control_apply(c, z, &d, now, /* news = */ true);
}

/* What a presence report hands to each of its zones. */
struct report {
	struct control *c;
	int64_t now;
};

static void zone_report(struct zone *z, void *ctx)
{
	const struct report *r = ctx;
	int64_t vacant_at = z->vacant_at;

	if (control_time_zone(r->c, z, r->now))
		zone_edge(r->c, z, r->now);
	else if (z->vacant_at != vacant_at && z->vacant_at < z->wake)
		control_schedule(r->c, z, z->vacant_at);
}

bool control_on_presence(struct control *c, const char *topic, const void *payload, size_t len,
			 bool retained, int64_t now)
{
	struct sensor_seen *s;
	bool big;
	int present;

	HASH_FIND(hh, c->tm->sensors, topic, strlen(topic), s);
	if (!s)
		return false;
	big = len > (size_t)c->cfg->readings_max_payload;
	present = big ? -EINVAL : presence_parse(payload, len, s->field);
	if (present < 0) {
		char shown[48];

		control_preview(payload, len, shown, sizeof(shown));
		control_reject(c, big ? REJECT_PAYLOAD_TOO_LARGE : REJECT_BAD_PRESENCE);
		control_warn(c, zones_find(c->zones, s->zone), s->zone, now,
			     "bad presence report '%s' on %s", shown, topic);
		return true;
	}
	/*
	 * A repeated "absent" does not move the vacancy: periodic reports keep no room lit. A
	 * retained one was sent before this connection, at a time the broker does not tell:
	 * taken as long past, so that a restarted daemon does not light an empty room.
	 */
	if (!present && (!s->heard || s->present))
		s->absent_since = retained ? INT64_MIN / 2 : now;
	s->heard = true;
	s->present = present;
	presence_index_foreach(c->tm->zones, topic, zone_report, &(struct report){ c, now });
	return true;
}

/* A schedule whose state changed: its zones decide at once. */
static void zone_clock(struct zone *z, void *ctx)
{
	struct report *r = ctx;
	struct window_seen *w;

	if (!z->p->schedule)
		return;
	HASH_FIND_PTR(r->c->tm->windows, &z->p->schedule, w);
	if (w && w->changed && control_time_zone(r->c, z, r->now))
		zone_edge(r->c, z, r->now);
}

void control_clock(struct control *c, bool stepped)
{
	struct report r = { .c = c, .now = monotonic_ms() };
	time_t now = wall_now();
	bool any = false;

	pthread_mutex_lock(&c->lock);
	/* After a step of the clock every edge may have moved: recompute them all. */
	for (struct window_seen *w = c->tm->windows; w; w = w->hh.next) {
		bool inside = w->inside;

		w->changed = false;
		if (!stepped && now < w->next)
			continue;
		inside = schedule_at(w->s, &c->tm->site, now, &w->next);
		w->changed = inside != w->inside;
		w->inside = inside;
		any |= w->changed;
	}
	if (any)
		zones_foreach(c->zones, zone_clock, &r);
	/* The timer has fired (or was cancelled): armed again even at the same edge. */
	wall_rearm(c, /* force = */ true);
	control_rearm(c);
	pthread_mutex_unlock(&c->lock);
}
