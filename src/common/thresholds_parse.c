/* thresholds_parse.c -- ref.txt read line by line into a new table, every error reported */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "number.h"
#include "schedule.h"
#include "thresholds_impl.h"

/*
 * ref.txt is typed by people, or generated for a city: a file larger than a generous
 * section per allowed zone, plus as much again for the global section and comments, is a
 * mistake (a runaway generator), not a configuration.
 */
#define FILE_BASE_MIB 16
#define FILE_PER_ZONE 1024
#define FILE_ZONES_UNBOUNDED 10000000 /* max_zones 0: the largest pylight.ini allows */
/* Longest key or value quoted in a message, so that a garbage line gives a readable error. */
#define SHOW_MAX 64
#define SHOW(n) ((int)((n) > SHOW_MAX ? SHOW_MAX : (n)))

/* Key sets: one bit per key_id. */
#define ON_BELOW (1u << K_ON_BELOW)
#define OFF_ABOVE (1u << K_OFF_ABOVE)
#define SENSORS (1u << K_SENSORS)
#define LAMP_LUX (1u << K_LAMP_LUX)
#define TARGET_LUX (1u << K_TARGET_LUX)

/* on_below has no default and off_above defaults to its scope's on_below. */
static const struct zone_params defaults = {
	.override_for = 3600 * 1000LL,
	.smoothing = 1,
	.failsafe = FAILSAFE_HOLD,
	.aggregate = AGGREGATE_MEDIAN,
	.min_sensors = 1,
	.feedback = "",
	.feedback_field = "state",
	.confirm_within = 5000,
	.retries = 3,
	.manual = MANUAL_OVERRIDE,
	.level_min = 10,
	.max_step = 20,
	.deadband = 2,
	.outside = OUTSIDE_OFF,
	.occupancy_field = "occupancy",
	.vacancy_after = 15LL * 60 * 1000,
};

/* The global section, or one [zone NAME] section while it is being read. */
struct section {
	struct zone_params p;
	unsigned seen;  /* keys written in the section, by bit of keys[] */
	unsigned valid; /* ... with a value that parsed */
	unsigned line[NKEYS];
	const char *kind; /* messages say " in [KIND LABEL]"; NULL in the global section */
	const char *label;
	int label_len;
	struct zone_section *dest; /* gets the effective values; NULL for a discarded section */
};

enum style { STYLE_NONE, STYLE_NUMBERS, STYLE_KEYS };

struct parser {
	const char *path;
	const struct thresholds_opts *opts;
	size_t nsections; /* [zone] headers with a name so far, the table's or not */
	struct errlist *errs;
	struct thresholds *t;
	struct section global, cur; /* cur: the zone section being read */
	bool in_zone;
	enum style style;
	unsigned numbers_line;
	bool oom;
	/*
	 * While each section's name is after the one before (as a generator writes them), none
	 * can be a duplicate, and they are indexed all at once at the end, or at the first name
	 * out of order; from there on each is looked up as it comes.
	 */
	bool unindexed;
	size_t headers; /* the text's section headers, at most: the index's room */
};



static void *field(struct zone_params *p, const struct key *k)
{
	return (char *)p + k->offset;
}

static int key_find(const char *s, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, s, len) == 0)
			return (int)i;
	return -1;
}

/* An error about a line of a section: a zone section's adds " in [zone NAME]". */
static void section_error(struct parser *ps, const struct section *sec, unsigned line,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void section_error(struct parser *ps, const struct section *sec, unsigned line,
			  const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		errlist_add(ps->errs, ps->path, line, "out of memory");
		return;
	}
	if (sec->kind)
		errlist_add(ps->errs, ps->path, line, "%s in [%s%.*s]", msg, sec->kind,
			    sec->label_len, sec->label);
	else
		errlist_add(ps->errs, ps->path, line, "%s", msg);
	free(msg);
}

/* Keeps the index at most half full, for one more sensor. Returns 0 or -ENOMEM. */
static int index_grow(struct thresholds *t)
{
	uint32_t slots = t->index ? t->index_mask + 1 : 0, n = slots ? slots : 32;
	uint32_t *old = t->index;

	if (2 * ((size_t)t->nsensors + 1) <= slots)
		return 0;
	while (n < 2 * ((size_t)t->nsensors + 1))
		n *= 2;
	t->index = calloc(n, sizeof(*t->index));
	if (!t->index) {
		t->index = old;
		return -ENOMEM;
	}
	t->index_mask = n - 1;
	for (unsigned i = 0; i < t->nsensors; i++) {
		const char *name = sensor_name(t, &t->sensors[i]);

		*thresholds_index_slot(t, name, strlen(name)) = i + 1;
	}
	free(old);
	return 0;
}

/* Copies `len` bytes of `name` to the name arena, NUL-terminated; *at is their offset. */
static int name_add(struct parser *ps, const char *name, size_t len, uint32_t *at)
{
	struct thresholds *t = ps->t;

	if (t->names_len + len + 1 > UINT32_MAX ||
	    buf_grow(&t->names, &t->names_cap, t->names_len + len + 1, 1) < 0) {
		ps->oom = true;
		return -ENOMEM;
	}
	memcpy(t->names + t->names_len, name, len);
	t->names[t->names_len + len] = '\0';
	*at = (uint32_t)t->names_len;
	t->names_len += len + 1;
	return 0;
}

/*
 * Files one name of a `sensors` list under the section being read. A sensor belongs to one
 * zone: a second listing, in the same zone or another, is an error at the later line.
 */
static int sensor_add(struct parser *ps, struct section *sec, unsigned line, const char *name,
		      size_t len)
{
	struct thresholds *t = ps->t;
	size_t cap = t->sensor_cap;
	uint32_t *slot, zone = sec->dest ? sec->dest->name : NO_SECTION, at;

	if (memchr(name, '+', len)) {
		section_error(ps, sec, line, "sensor '%.*s' is not a topic: '+' is a wildcard",
			      SHOW(len), name);
		return -EINVAL;
	}
	if (t->index && *(slot = thresholds_index_slot(t, name, len))) {
		const struct sensor *first = &t->sensors[*slot - 1];

		if (first->zone == zone)
			section_error(ps, sec, line, "sensor '%.*s' listed twice", SHOW(len), name);
		else
			errlist_add(ps->errs, ps->path, line,
				    "sensor '%.*s' in [zone %.*s] is already listed in [zone %s] "
				    "at line %u", SHOW(len), name, sec->label_len, sec->label,
				    first->zone == NO_SECTION ? "?" : t->names + first->zone,
				    first->line);
		return -EINVAL;
	}
	if (name_add(ps, name, len, &at) < 0 ||
	    buf_grow(&t->sensors, &cap, t->nsensors + 1, sizeof(*t->sensors)) < 0 ||
	    index_grow(t) < 0) {
		ps->oom = true;
		return -ENOMEM;
	}
	t->sensor_cap = (unsigned)cap;
	t->sensors[t->nsensors++] = (struct sensor){ .zone = zone, .name = at, .line = line };
	*thresholds_index_slot(t, name, len) = t->nsensors;
	return 0;
}

/* `sensors = a b c`: white-space separated readings-topic suffixes, in a zone section. */
static int sensors_parse(struct parser *ps, struct section *sec, unsigned line, const char *s,
			 size_t len)
{
	unsigned first = ps->t->nsensors, n = 0;
	int r = 0;

	if (!sec->kind) {
		section_error(ps, sec, line, "sensors can only be listed in a [zone NAME] section");
		return -EINVAL;
	}
	while (len > 0) {
		size_t i = 0;

		while (i < len && !number_is_space(s[i]))
			i++;
		if (++n > SENSORS_MAX) {
			section_error(ps, sec, line, "more than %d sensors", SENSORS_MAX);
			return -EINVAL;
		}
		if (sensor_add(ps, sec, line, s, i) < 0)
			r = -EINVAL;
		s += i;
		len -= i;
		number_trim(&s, &len);
	}
	sec->p.sensors = n;
	sec->p.sensor_first = first;
	return r;
}

/* Keeps a copy of a text value for the table's lifetime and points *dst at it. */
static int text_set(struct parser *ps, void *dst, const char *s, size_t len)
{
	struct text *t = malloc(sizeof(*t) + len + 1);

	if (!t) {
		ps->oom = true;
		return -ENOMEM;
	}
	memcpy(t->s, s, len);
	t->s[len] = '\0';
	t->next = ps->t->texts;
	ps->t->texts = t;
	*(const char **)dst = t->s;
	return 0;
}

/* Keeps a malloc'd block for the table's lifetime; frees it when that fails. */
static int owned_add(struct parser *ps, void *p)
{
	struct owned *o = malloc(sizeof(*o));

	if (!o) {
		free(p);
		ps->oom = true;
		return -ENOMEM;
	}
	o->p = p;
	o->next = ps->t->owned;
	ps->t->owned = o;
	return 0;
}

/* `schedule = Mon-Fri 07:00-19:00, ...`: see schedule.h for the grammar. */
static int schedule_value(struct parser *ps, struct section *sec, unsigned line, void *dst,
			  const char *s, size_t len)
{
	struct schedule *sch;
	char err[160];
	int r = schedule_parse(s, len, &sch, err, sizeof(err));

	if (r == -ENOMEM) {
		ps->oom = true;
		return r;
	}
	if (r < 0) {
		section_error(ps, sec, line, "bad schedule: %s", err);
		return r;
	}
	if (schedule_uses_sun(sch) && !ps->opts->site) {
		section_error(ps, sec, line,
			      "schedule uses sunrise or sunset: set [site] latitude and longitude "
			      "in pylight.ini");
		free(sch);
		return -EINVAL;
	}
	if (owned_add(ps, sch) < 0)
		return -ENOMEM;
	*(const struct schedule **)dst = sch;
	return 0;
}

/* `occupancy = TOPIC ...`: full topics, white-space separated, each once. */
static int occupancy_value(struct parser *ps, struct section *sec, unsigned line, void *dst,
			   const char *s, size_t len)
{
	const char *tok[OCCUPANCY_MAX];
	size_t tok_len[OCCUPANCY_MAX], n = 0, names = 0;
	struct occupancy *occ;
	char *at;

	while (len > 0) {
		size_t i = 0;

		while (i < len && !number_is_space(s[i]))
			i++;
		if (n == OCCUPANCY_MAX) {
			section_error(ps, sec, line, "more than %d occupancy sensors", OCCUPANCY_MAX);
			return -EINVAL;
		}
		if (memchr(s, '+', i) || memchr(s, '#', i) || s[i - 1] == '/') {
			section_error(ps, sec, line,
				      "occupancy '%.*s' is not a topic: no wildcards, no trailing '/'",
				      SHOW(i), s);
			return -EINVAL;
		}
		for (size_t j = 0; j < n; j++)
			if (tok_len[j] == i && memcmp(tok[j], s, i) == 0) {
				section_error(ps, sec, line, "occupancy sensor '%.*s' listed twice",
					      SHOW(i), s);
				return -EINVAL;
			}
		tok[n] = s;
		tok_len[n++] = i;
		names += i + 1;
		s += i;
		len -= i;
		number_trim(&s, &len);
	}
	occ = malloc(sizeof(*occ) + names);
	if (!occ || owned_add(ps, occ) < 0) {
		ps->oom = true;
		return -ENOMEM;
	}
	occ->n = (unsigned)n;
	at = (char *)(occ + 1);
	for (size_t j = 0; j < n; j++) {
		memcpy(at, tok[j], tok_len[j]);
		at[tok_len[j]] = '\0';
		occ->topic[j] = at;
		at += tok_len[j] + 1;
	}
	*(const struct occupancy **)dst = occ;
	return 0;
}

/* Parses the value of keys[k] into sec->p. Returns 0 or -EINVAL after reporting why. */
static int value_parse(struct parser *ps, struct section *sec, unsigned line, size_t k,
		       const char *s, size_t len)
{
	const struct key *key = &keys[k];
	void *dst = field(&sec->p, key);
	int64_t ms;
	double v;
	int r;

	/* `feedback =` turns feedback off, `target_lux =` makes an on/off zone of a dimmed one */
	if (len == 0 && key->type != KEY_TOPIC && key->type != KEY_TARGET) {
		/* `schedule =` and `occupancy =` turn off a global one in a zone. */
		if (key->type == KEY_SCHEDULE || key->type == KEY_OCCUPANCY) {
			*(const void **)dst = NULL;
			return 0;
		}
		section_error(ps, sec, line, "missing value for %s", key->name);
		return -EINVAL;
	}
	switch (key->type) {
	case KEY_LUX:
		if (number_parse(s, len, &v) < 0) {
			section_error(ps, sec, line, "bad number '%.*s' for %s", SHOW(len), s,
				      key->name);
			return -EINVAL;
		}
		if (v < 0) {
			section_error(ps, sec, line, "negative value '%.*s' for %s", SHOW(len), s,
				      key->name);
			return -EINVAL;
		}
		*(double *)dst = v;
		return 0;
	case KEY_DURATION:
		r = duration_parse(s, len, &ms);
		if (r == -ERANGE && s[0] == '-')
			section_error(ps, sec, line, "negative duration '%.*s' for %s", SHOW(len),
				      s, key->name);
		else if (r == -ERANGE)
			section_error(ps, sec, line, "duration '%.*s' for %s is over 100 years",
				      SHOW(len), s, key->name);
		else if (r < 0)
			section_error(ps, sec, line, "bad duration '%.*s' for %s", SHOW(len), s,
				      key->name);
		else
			*(int64_t *)dst = ms;
		return r < 0 ? -EINVAL : 0;
	case KEY_COUNT:
	case KEY_PERCENT:
		if (number_parse(s, len, &v) < 0 || v < key->lo || v > key->hi ||
		    (double)(unsigned)v != v) {
			section_error(ps, sec, line, "%s '%.*s' is not an integer from %u to %u",
				      key->name, SHOW(len), s, key->lo, key->hi);
			return -EINVAL;
		}
		if (key->type == KEY_PERCENT)
			*(uint8_t *)dst = (uint8_t)v;
		else
			*(unsigned *)dst = (unsigned)v;
		return 0;
	case KEY_FAILSAFE:
	case KEY_AGGREGATE:
	case KEY_MANUAL:
	case KEY_OUTSIDE:
		r = name_find(key_words[key->type].names, key_words[key->type].n, s, len);
		if (r < 0) {
			section_error(ps, sec, line, "bad %s '%.*s' (%s)", key->name, SHOW(len), s,
				      key_words[key->type].choices);
			return -EINVAL;
		}
		*(unsigned *)dst = (unsigned)r; /* the enums are unsigned (thresholds.c) */
		return 0;
	case KEY_TARGET:
		v = 0;
		if (len && (number_parse(s, len, &v) < 0 || v <= 0)) {
			section_error(ps, sec, line,
				      "bad target_lux '%.*s': a number > 0, or empty for an on/off zone",
				      SHOW(len), s);
			return -EINVAL;
		}
		*(double *)dst = v;
		return 0;
	case KEY_TOPIC:
		if (memchr(s, '+', len) || (len && s[len - 1] == '/')) {
			section_error(ps, sec, line,
				      "%s '%.*s' is not a topic: no wildcards, no trailing '/'",
				      key->name, SHOW(len), s);
			return -EINVAL;
		}
		return text_set(ps, dst, s, len);
	case KEY_FIELD:
		if (s[0] == '.' || s[len - 1] == '.' || memmem(s, len, "..", 2) ||
		    memchr(s, ' ', len)) {
			section_error(ps, sec, line, "%s '%.*s' is not a dotted path like state or a.b",
				      key->name, SHOW(len), s);
			return -EINVAL;
		}
		return text_set(ps, dst, s, len);
	case KEY_SENSORS:
		return sensors_parse(ps, sec, line, s, len);
	case KEY_SCHEDULE:
		return schedule_value(ps, sec, line, dst, s, len);
	case KEY_OCCUPANCY:
		return occupancy_value(ps, sec, line, dst, s, len);
	}
	return -EINVAL;
}

/* "off_above 100 is below on_below 200", a value taken from the global section marked so. */
static void pair_error(struct parser *ps, const struct section *sec, unsigned line,
		       const struct zone_params *p, bool off_global, bool on_global)
{
	char on[32], off[32];

	number_format(p->off_above, off, sizeof(off));
	number_format(p->on_below, on, sizeof(on));
	section_error(ps, sec, line, "off_above %s%s is below on_below %s%s", off,
		      off_global ? " (global)" : "", on, on_global ? " (global)" : "");
}

/*
 * Records keys[k] as written on `line`, so that it counts as present even when its value is
 * bad. A pair written in one section is checked at once, at the line that completes it.
 */
static void key_set(struct parser *ps, struct section *sec, unsigned line, size_t k,
		    const char *val, size_t len)
{
	sec->seen |= 1u << k;
	sec->line[k] = line;
	if (value_parse(ps, sec, line, k, val, len) < 0)
		return;
	sec->valid |= 1u << k;
	if ((k == K_ON_BELOW || k == K_OFF_ABOVE) &&
	    (sec->valid & (ON_BELOW | OFF_ABOVE)) == (ON_BELOW | OFF_ABOVE) &&
	    sec->p.off_above < sec->p.on_below)
		pair_error(ps, sec, line, &sec->p, false, false);
}

/*
 * A dimmed zone estimates daylight by taking its lamp's share away from the reading, so it
 * needs that share. Reported at the line of the section's own half of the pair, the later
 * one when it wrote both; a pair wholly inherited was reported in the global section.
 */
static void dim_check(struct parser *ps, const struct section *sec, const struct zone_params *eff)
{
	unsigned own = sec->seen & (TARGET_LUX | LAMP_LUX), line;
	char target[32];

	if (eff->target_lux <= 0 || eff->lamp_lux > 0 || !own ||
	    ((own & TARGET_LUX) && !(sec->valid & TARGET_LUX)) ||
	    ((own & LAMP_LUX) && !(sec->valid & LAMP_LUX)))
		return;
	if (own == (TARGET_LUX | LAMP_LUX))
		line = sec->line[K_TARGET_LUX] > sec->line[K_LAMP_LUX] ? sec->line[K_TARGET_LUX]
								       : sec->line[K_LAMP_LUX];
	else
		line = sec->line[own == TARGET_LUX ? K_TARGET_LUX : K_LAMP_LUX];
	number_format(eff->target_lux, target, sizeof(target));
	section_error(ps, sec, line,
		      "target_lux %s%s needs lamp_lux > 0 (the lamp's light at the sensor at 100%%)",
		      target, own & TARGET_LUX ? "" : " (global)");
}

/* The global section is complete: off_above defaults to on_below. */
static void global_end(struct parser *ps)
{
	struct section *g = &ps->global;

	dim_check(ps, g, &g->p);
	if (!(g->seen & OFF_ABOVE)) {
		g->p.off_above = g->p.on_below;
		if (g->valid & ON_BELOW)
			g->valid |= OFF_ABOVE;
	}
}

/*
 * A zone section is complete: its effective values are the global ones overridden by its own.
 * off_above inherits the global off_above only when that one was written; otherwise it is the
 * zone's on_below, as in the global section. A pair half inherited is checked here, at the line
 * of the zone's half; a pair written in the zone was checked by key_set.
 */
static void zone_end(struct parser *ps)
{
	struct section *g = &ps->global, *s = &ps->cur;
	struct zone_params eff = g->p;

	for (size_t k = 0; k < NKEYS; k++)
		if (s->valid & (1u << k))
			memcpy(field(&eff, &keys[k]), field(&s->p, &keys[k]), keys[k].size);

	switch (s->seen & (ON_BELOW | OFF_ABOVE)) {
	case ON_BELOW:
		if (!(g->seen & OFF_ABOVE))
			eff.off_above = eff.on_below;
		else if ((s->valid & ON_BELOW) && (g->valid & OFF_ABOVE) &&
			 eff.off_above < eff.on_below)
			pair_error(ps, s, s->line[K_ON_BELOW], &eff, true, false);
		break;
	case OFF_ABOVE:
		if ((s->valid & OFF_ABOVE) && (g->valid & ON_BELOW) && eff.off_above < eff.on_below)
			pair_error(ps, s, s->line[K_OFF_ABOVE], &eff, false, true);
		break;
	}
	if (s->valid & SENSORS) {
		bool own = s->seen & (1u << K_MIN_SENSORS);

		eff.sensor_first = s->p.sensor_first;
		if (eff.min_sensors > eff.sensors)
			section_error(ps, s, own ? s->line[K_MIN_SENSORS] : s->line[K_SENSORS],
				      "min_sensors %u%s is above the %u sensor%s listed",
				      eff.min_sensors, own ? "" : " (global)", eff.sensors,
				      eff.sensors == 1 ? "" : "s");
	}
	dim_check(ps, s, &eff);
	if (s->dest && thresholds_params_intern(ps->t, &eff, &s->dest->params) < 0)
		ps->oom = true;
}

static void section_end(struct parser *ps)
{
	if (ps->in_zone)
		zone_end(ps);
	else
		global_end(ps);
}

/* Only the first non-blank line chooses the file's form; the other form is an error. */
static bool style_check(struct parser *ps, unsigned line, enum style style)
{
	if (ps->style == STYLE_NONE)
		ps->style = style;
	if (ps->style == style)
		return true;
	errlist_add(ps->errs, ps->path, line, "numbers cannot be mixed with 'key = value' lines");
	return false;
}

/* Whether the `len` bytes at `name` come after the NUL-terminated `prev`, as strcmp orders. */
static bool name_after(const char *prev, const char *name, size_t len)
{
	return strncmp(prev, name, len) < 0;
}

/* Returns the new zone, NULL after reporting a duplicate or running out of memory. */
static struct zone_section *zone_section_add(struct parser *ps, unsigned line, const char *name,
					     size_t len)
{
	struct thresholds *t = ps->t;
	struct zone_section *z;
	uint32_t *slot = NULL, at, tag = 0;

	if (t->nsections >= SECTIONS_MAX) {
		ps->oom = true;
		return NULL;
	}
	if (ps->unindexed && t->nsections &&
	    !name_after(section_name(t, &t->sections[t->nsections - 1]), name, len)) {
		if (thresholds_sections_index(t, ps->headers > t->nsections ?
							 ps->headers - t->nsections : 1) < 0) {
			ps->oom = true;
			return NULL;
		}
		ps->unindexed = false;
	}
	if (!ps->unindexed) {
		if (thresholds_sections_room(t, 1) < 0) {
			ps->oom = true;
			return NULL;
		}
		slot = thresholds_section_slot(t, name, len, &tag);
		if (*slot) {
			errlist_add(ps->errs, ps->path, line,
				    "duplicate section [zone %.*s], first at line %u", (int)len, name,
				    t->sections[section_number(*slot) - 1].line);
			return NULL;
		}
	}
	if (name_add(ps, name, len, &at) < 0 ||
	    buf_grow(&t->sections, &t->section_cap, t->nsections + 1, sizeof(*t->sections)) < 0) {
		ps->oom = true;
		return NULL;
	}
	z = &t->sections[t->nsections++];
	z->name = at;
	z->line = line;
	if (slot)
		*slot = tag | (uint32_t)t->nsections;
	return z;
}

/*
 * "[zone NAME]". A bad header still opens a section, one that is checked and discarded, so
 * that its keys are neither lost to nor blamed on the previous section.
 */
static void parse_header(struct parser *ps, unsigned line, const char *s, size_t len)
{
	const char *close = memrchr(s, ']', len), *in = s + 1, *name;
	size_t in_len, name_len;

	section_end(ps);
	ps->in_zone = true;
	ps->cur = (struct section){ .kind = "" };

	if (!close) {
		errlist_add(ps->errs, ps->path, line, "missing ']' in section header");
		in_len = len - 1;
	} else if (close != s + len - 1) {
		errlist_add(ps->errs, ps->path, line, "text after ']' in section header");
		in_len = (size_t)(close - in);
	} else {
		in_len = (size_t)(close - in);
	}
	number_trim(&in, &in_len);
	ps->cur.label = in;
	ps->cur.label_len = (int)in_len;

	if (in_len < 4 || memcmp(in, "zone", 4) != 0 || (in_len > 4 && !number_is_space(in[4]))) {
		errlist_add(ps->errs, ps->path, line, "unknown section [%.*s]", SHOW(in_len), in);
		return;
	}
	name = in + 4;
	name_len = in_len - 4;
	number_trim(&name, &name_len);
	ps->cur.kind = "zone ";
	ps->cur.label = name;
	ps->cur.label_len = (int)name_len;
	if (name_len == 0) {
		errlist_add(ps->errs, ps->path, line, "missing zone name in [zone]");
		return;
	}
	/* No client can publish a reading there. ('#' starts a comment: "missing ']'".) */
	if (memchr(name, '+', name_len)) {
		errlist_add(ps->errs, ps->path, line,
			    "zone name '%.*s' is not a topic: '+' is a wildcard", SHOW(name_len),
			    name);
		return;
	}
	/* Each section is a zone that readings may create: more than max_zones cannot all be. */
	if (++ps->nsections == ps->opts->max_zones + 1 && ps->opts->max_zones)
		errlist_add(ps->errs, ps->path, line,
			    "section [zone %.*s] is one more than [readings] max_zones %zu allows",
			    SHOW(name_len), name, ps->opts->max_zones);
	if (close == s + len - 1)
		ps->cur.dest = zone_section_add(ps, line, name, name_len);
}

static void parse_assignment(struct parser *ps, unsigned line, const char *s, size_t len,
			     const char *eq)
{
	struct section *sec = ps->in_zone ? &ps->cur : &ps->global;
	const char *key = s, *val = eq + 1;
	size_t key_len = (size_t)(eq - s), val_len = (size_t)(s + len - val);
	int k;

	number_trim(&key, &key_len);
	number_trim(&val, &val_len);
	if (key_len == 0) {
		section_error(ps, sec, line, "missing key before '='");
		return;
	}
	k = key_find(key, key_len);
	if (k < 0) {
		section_error(ps, sec, line, "unknown key '%.*s'", SHOW(key_len), key);
		return;
	}
	if (sec->seen & (1u << k)) {
		section_error(ps, sec, line, "duplicate key '%s'", keys[k].name);
		return;
	}
	key_set(ps, sec, line, (size_t)k, val, val_len);
}

/* The legacy forms: "T" or "A B", on one line of the whole file. */
static void parse_numbers(struct parser *ps, unsigned line, const char *s, size_t len)
{
	struct section *g = &ps->global;
	const char *tok[3];
	size_t tok_len[3], n = 0;

	while (len > 0 && n < 3) {
		size_t i = 0;

		while (i < len && !number_is_space(s[i]))
			i++;
		tok[n] = s;
		tok_len[n++] = i;
		s += i;
		len -= i;
		number_trim(&s, &len);
	}

	if (ps->numbers_line) {
		errlist_add(ps->errs, ps->path, line,
			    "more than one line of numbers, first at line %u", ps->numbers_line);
		return;
	}
	ps->numbers_line = line;
	if (n > 2) {
		g->seen |= ON_BELOW | OFF_ABOVE;
		errlist_add(ps->errs, ps->path, line, "more than two numbers");
		return;
	}
	/* keys[0] and keys[1] are on_below and off_above, in the order the numbers come. */
	for (size_t k = 0; k < n; k++)
		key_set(ps, g, line, k, tok[k], tok_len[k]);
}

static void parse_line(struct parser *ps, unsigned line, const char *s, size_t len)
{
	struct section *sec = ps->in_zone ? &ps->cur : &ps->global;
	const char *p;
	int k;

	if (memchr(s, '\0', len)) {
		errlist_add(ps->errs, ps->path, line, "NUL byte in line");
		return;
	}
	p = memchr(s, '#', len);
	if (p)
		len = (size_t)(p - s);
	number_trim(&s, &len);
	if (len == 0)
		return;

	if (s[0] == '[') {
		if (style_check(ps, line, STYLE_KEYS))
			parse_header(ps, line, s, len);
		return;
	}
	p = memchr(s, '=', len);
	if (p) {
		if (style_check(ps, line, STYLE_KEYS))
			parse_assignment(ps, line, s, len, p);
		return;
	}
	/* "on_below 300" is a forgotten '=', not a bad legacy number nor a missing key. */
	for (p = s; p < s + len && !number_is_space(*p); p++)
		;
	k = key_find(s, (size_t)(p - s));
	if (k >= 0) {
		if (style_check(ps, line, STYLE_KEYS)) {
			sec->seen |= 1u << k;
			sec->line[k] = line;
			section_error(ps, sec, line, "missing '=' after '%s'", keys[k].name);
		}
		return;
	}
	if (style_check(ps, line, STYLE_NUMBERS))
		parse_numbers(ps, line, s, len);
}

/*
 * Readings on a sensor's topic feed its zone, so a sensor cannot also be the topic of another
 * zone's section: that zone would never hear from it. Checked once every section is known.
 */
static void sensors_check(struct parser *ps)
{
	const struct thresholds *t = ps->t;

	for (unsigned i = 0; i < t->nsensors && t->nsections; i++) {
		const struct sensor *sn = &t->sensors[i];
		const char *name = sensor_name(t, sn);
		const uint32_t *slot;
		const struct zone_section *z;
		uint32_t tag;

		slot = thresholds_section_slot(t, name, strlen(name), &tag);
		z = *slot ? &t->sections[section_number(*slot) - 1] : NULL;
		if (z && z->name != sn->zone)
			errlist_add(ps->errs, ps->path, sn->line,
				    "sensor '%s' is named like the section [zone %s] at line %u", name,
				    section_name(t, z), z->line);
	}
}

int thresholds_parse(const char *path, const char *text, size_t len,
		     const struct thresholds_opts *opts, struct thresholds **out,
		     struct errlist *errs)
{
	struct parser ps = { .path = path, .opts = opts, .errs = errs };
	const char *p = text, *end = text + len;
	size_t errors = errs->count;
	unsigned line = 0;

	*out = NULL;
	ps.t = calloc(1, sizeof(*ps.t));
	if (!ps.t) {
		errlist_add(errs, path, 0, "out of memory");
		return -ENOMEM;
	}
	ps.global.p = defaults;
	ps.unindexed = true;
	/* Room in the index for every '[' of the text, up to max_zones: it is made once. */
	ps.headers = thresholds_sections_bound(text, len, opts->max_zones);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		parse_line(&ps, ++line, p, (size_t)(eol - p));
		p = nl ? nl + 1 : end;
	}
	section_end(&ps);
	if (ps.unindexed && ps.t->nsections && thresholds_sections_index(ps.t, 0) < 0)
		ps.oom = true;
	if (!ps.oom)
		sensors_check(&ps);

	if (ps.style == STYLE_NONE) {
		/* A file whose only lines were rejected is not also reported empty. */
		if (errs->count == errors)
			errlist_add(errs, path, 0, "no thresholds (the file is empty)");
	} else if (!(ps.global.seen & ON_BELOW)) {
		errlist_add(errs, path, 0, "missing on_below in the global section");
	}
	if (!ps.oom && errs->count == errors && !ps.unindexed && thresholds_sections_sort(ps.t) < 0)
		ps.oom = true;
	thresholds_params_done(ps.t);
	if (ps.oom)
		errlist_add(errs, path, 0, "out of memory");

	if (errs->count != errors) {
		thresholds_free(ps.t);
		return ps.oom ? -ENOMEM : -EINVAL;
	}
	ps.t->global = ps.global.p;
	*out = ps.t;
	return 0;
}

size_t thresholds_max_bytes(size_t max_zones)
{
	return ((size_t)FILE_BASE_MIB << 20) +
	       (max_zones ? max_zones : FILE_ZONES_UNBOUNDED) * (size_t)FILE_PER_ZONE;
}

int thresholds_load(const char *path, const struct thresholds_opts *opts,
		    struct thresholds **out, struct errlist *errs)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	r = file_read(path, thresholds_max_bytes(opts->max_zones), &text, &len);
	if (r == -EFBIG) {
		errlist_add(errs, path, 0,
			    "file is larger than %zu MiB (%d MiB and %d bytes per zone of "
			    "[readings] max_zones %zu)", thresholds_max_bytes(opts->max_zones) >> 20,
			    FILE_BASE_MIB, FILE_PER_ZONE, opts->max_zones);
		return r;
	}
	if (r < 0) {
		errlist_add(errs, path, 0, "%s", strerror(-r));
		return r;
	}
	r = thresholds_parse(path, text, len, opts, out, errs);
	free(text);
	return r;
}
