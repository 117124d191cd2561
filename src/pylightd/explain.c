/* explain.c -- a zone's explanation (docs/mqtt.md): written for it, and read from others */
#include "explain.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dim.h"
#include "number.h"

/*
 * The explanation is written straight into one buffer, reused from one to the next: a JSON
 * DOM built, serialised and freed for every switch cost several times the rest of a reading.
 * The bytes are json-c's (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), which
 * parses them back (explain_parse, pylight-web); tests/unit/test_explain.c holds this writer
 * to json-c's output for the same values.
 *
 * The room is reserved before writing (explain_room), so the puts below need no checks.
 */
struct writer {
	char *p;
};

static void put(struct writer *w, const char *s, size_t n)
{
	memcpy(w->p, s, n);
	w->p += n;
}

#define PUT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* The most a string grows when escaped: a control byte becomes \u00XX. */
#define ESCAPED_MAX 6
/* Enough for any number written here: number_format's 32, a 64-bit integer's 20. */
#define NUMBER_TEXT_MAX 32

/* The two-byte escape json-c writes for `c`, or NULL. */
static const char *short_escape(unsigned char c)
{
	switch (c) {
	case '\b':
		return "\\b";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\f':
		return "\\f";
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	default:
		return NULL;
	}
}

/* A JSON string as json-c escapes it: '/' left as it is, other control bytes as \u00xx. */
static void put_string(struct writer *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;

	*w->p++ = '"';
	for (; *u; u++) {
		const char *esc;

		if (*u >= ' ' && *u != '"' && *u != '\\') {
			*w->p++ = (char)*u;
		} else if ((esc = short_escape(*u))) {
			put(w, esc, 2);
		} else {
			PUT(w, "\\u00");
			*w->p++ = hex[*u >> 4];
			*w->p++ = hex[*u & 0xf];
		}
	}
	*w->p++ = '"';
}

/* `,"key":` after the first field; keys here are literals that need no escaping. */
static void put_key(struct writer *w, const char *key, size_t len)
{
	*w->p++ = ',';
	*w->p++ = '"';
	put(w, key, len);
	*w->p++ = '"';
	*w->p++ = ':';
}

#define KEY(w, lit) put_key((w), (lit), sizeof(lit) - 1)

static void put_int(struct writer *w, int64_t v)
{
	w->p += number_put_int(w->p, v);
}

/*
 * A JSON number as people write it: 42, 12.5, 0.1. Whole numbers, most readings and
 * thresholds, as integers (json-c alone prints 42.0); others as the shortest text that
 * reads back as the same double (json-c alone prints 0.10000000000000001).
 */
static void put_number(struct writer *w, double v)
{
	char text[NUMBER_TEXT_MAX];

	if (fabs(v) <= 0x1p53 && v == (double)(int64_t)v && !(v == 0 && signbit(v))) {
		put_int(w, (int64_t)v);
		return;
	}
	number_format(v, text, sizeof(text));
	put(w, text, strlen(text));
}

static void put_bool(struct writer *w, bool v)
{
	if (v)
		PUT(w, "true");
	else
		PUT(w, "false");
}

/* "sensors": {"hall/east": {"lux": 120, "age": 3}, ...}, stale ones marked, silent ones null. */
static void put_sensors(struct writer *w, const struct zone_params *p, const struct explain_ctx *x)
{
	*w->p++ = '{';
	for (unsigned i = p->sensor_first; i < p->sensor_first + p->sensors; i++) {
		const struct sensor_value *v = &x->sensors[i];

		if (w->p[-1] != '{')
			*w->p++ = ',';
		put_string(w, thresholds_sensor_name(x->t, i));
		PUT(w, ":{\"lux\":");
		if (v->at == SENSOR_NEVER_SEEN) {
			PUT(w, "null,\"age\":null");
		} else {
			put_number(w, v->lux);
			PUT(w, ",\"age\":");
			put_int(w, (x->now - v->at) / 1000);
		}
		if (sensors_stale(x->sensors, p, i, x->now))
			PUT(w, ",\"stale\":true");
		*w->p++ = '}';
	}
	*w->p++ = '}';
}

/* The most bytes zone `z`'s explanation can take, its strings all escaped at worst. */
static size_t explain_room(const struct zone *z, const char *reason, const struct explain_ctx *x)
{
	/* The keys and punctuation take under 300 bytes; 16 numbers at most. */
	size_t room = 512 + 16 * NUMBER_TEXT_MAX;

	room += ESCAPED_MAX * (strlen(z->name) + strlen(reason) + (x->node ? strlen(x->node) : 0));
	for (unsigned i = z->p->sensor_first; z->p->sensors && i < z->p->sensor_first + z->p->sensors;
	     i++)
		room += 64 + 2 * NUMBER_TEXT_MAX +
			ESCAPED_MAX * strlen(thresholds_sensor_name(x->t, i));
	return room;
}

int explain_build(const struct zone *z, const char *why, const struct explain_ctx *x,
		  struct explanation *e)
{
	const struct zone_state *s = &z->st;
	char until_text[DECIDE_REASON_MAX + 16];
	const char *reason = why;
	time_t until = 0;
	struct writer w;
	size_t room;

	if (s->mode == MODE_OVERRIDE) {
		size_t used = (size_t)snprintf(until_text, sizeof(until_text), "%s", why);
		struct tm tm;

		/* To the nearest second: adopted and published again, it stays that second. */
		until = (time_t)((x->wall_ms + (s->override_until - x->now) + 500) / 1000);
		localtime_r(&until, &tm);
		if (used < sizeof(until_text))
			strftime(until_text + used, sizeof(until_text) - used, " until %H:%M", &tm);
		reason = until_text;
	}
	room = explain_room(z, reason, x);
	if (room > e->cap) {
		char *grown = realloc(e->text, room);

		if (!grown)
			return -ENOMEM;
		e->text = grown;
		e->cap = room;
	}
	w.p = e->text;
	/* Zone and sensor names hold '/': JSON allows it unescaped, and people read these. */
	PUT(&w, "{\"zone\":");
	put_string(&w, z->name);
	PUT(&w, ",\"state\":");
	put_string(&w, light_name(s->light));
	PUT(&w, ",\"mode\":");
	put_string(&w, mode_name(s->mode));
	KEY(&w, "lux");
	if (s->has_reading)
		put_number(&w, s->lux);
	else
		PUT(&w, "null");
	KEY(&w, "smoothed");
	if (s->has_reading)
		put_number(&w, s->smoothed);
	else
		PUT(&w, "null");
	KEY(&w, "on_below");
	put_number(&w, z->p->on_below);
	KEY(&w, "off_above");
	put_number(&w, z->p->off_above);
	KEY(&w, "reason");
	put_string(&w, reason);
	KEY(&w, "since");
	put_int(&w, z->since_wall);
	KEY(&w, "switches");
	put_int(&w, s->switches);
	if (z->p->target_lux > 0) {
		/*
		 * Its "smoothed" is the smoothed daylight too (the window holds daylight), as the
		 * controller has it; "daylight" is that figure as an operator reads it, at least 0.
		 */
		KEY(&w, "level");
		if (s->light == LIGHT_UNKNOWN)
			PUT(&w, "null");
		else
			put_int(&w, decide_level(s));
		KEY(&w, "target_lux");
		put_number(&w, z->p->target_lux);
		KEY(&w, "daylight");
		if (s->has_reading)
			put_number(&w, dim_daylight_shown(s->smoothed));
		else
			PUT(&w, "null");
	}
	if (z->p->feedback[0]) {
		KEY(&w, "lamp");
		if (z->fb.lamp == LIGHT_UNKNOWN)
			PUT(&w, "null");
		else
			put_string(&w, light_name((enum light)z->fb.lamp));
		KEY(&w, "confirmed");
		put_bool(&w, !z->fb.unconfirmed);
		KEY(&w, "retries");
		put_int(&w, z->fb.retries);
	}
	if (z->p->sensors) {
		KEY(&w, "aggregate");
		put_string(&w, aggregate_name(z->p->aggregate));
		KEY(&w, "sensors");
		put_sensors(&w, z->p, x);
	}
	/* Time and presence: only for the zones that have them, the others' bytes unchanged. */
	if (z->p->schedule) {
		KEY(&w, "schedule");
		put_bool(&w, !s->out_of_schedule);
	}
	if (z->p->occupancy) {
		KEY(&w, "occupied");
		put_bool(&w, !s->vacant);
	}
	if (x->node) {
		KEY(&w, "node");
		put_string(&w, x->node);
		if (s->mode == MODE_OVERRIDE) {
			KEY(&w, "until");
			put_int(&w, until);
		}
	}
	*w.p++ = '}';
	*w.p = '\0';
	e->len = (size_t)(w.p - e->text);
	return 0;
}

void explain_done(struct explanation *e)
{
	free(e->text);
	*e = (struct explanation){ 0 };
}

/*
 * The whole number after `key` (`"since":`) in an explanation, or -1. Explanations are
 * pylightd's own JSON, whose strings hold no unescaped quote: the first match is the field.
 */
static int64_t peek_count(const char *p, size_t len, const char *key)
{
	const char *at = memmem(p, len, key, strlen(key));
	const char *end = p + len;
	int64_t v = 0;
	int digits = 0;

	if (!at)
		return -1;
	for (at += strlen(key); at < end && isdigit((unsigned char)*at); at++, digits++)
		v = digits < 18 ? v * 10 + (*at - '0') : -1;
	return digits ? v : -1;
}

bool explain_agrees(const void *payload, size_t len, uint32_t switches, int64_t since_wall)
{
	return peek_count(payload, len, "\"switches\":") == switches &&
	       peek_count(payload, len, "\"since\":") == since_wall;
}

static const char *json_string_field(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       "";
}

/* Whether `key` holds a number, then in *v. */
static bool json_number_field(json_object *o, const char *key, double *v)
{
	json_object *f;

	if (!json_object_object_get_ex(o, key, &f) ||
	    !(json_object_is_type(f, json_type_int) || json_object_is_type(f, json_type_double)))
		return false;
	*v = json_object_get_double(f);
	return true;
}

/* Whether `key` holds a whole number, then in *v. */
static bool json_int_field(json_object *o, const char *key, int64_t *v)
{
	json_object *f;

	if (!json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_int))
		return false;
	*v = json_object_get_int64(f);
	return true;
}

void explain_parse(const void *payload, size_t len, struct explained *e)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, payload, (int)len) : NULL;
	const char *state = json_string_field(o, "state");
	const char *mode = json_string_field(o, "mode");

	json_tokener_free(tok);
	*e = (struct explained){ .light = LIGHT_UNKNOWN, .mode = -1, .level = -1 };
	if (!strcmp(state, "ON"))
		e->light = LIGHT_ON;
	else if (!strcmp(state, "OFF"))
		e->light = LIGHT_OFF;
	for (int m = MODE_AUTO; m <= MODE_VACANT; m++)
		if (!strcmp(mode, mode_name((enum zone_mode)m)))
			e->mode = m;
	e->has_switches = json_int_field(o, "switches", &e->switches);
	e->has_since = json_int_field(o, "since", &e->since);
	json_int_field(o, "until", &e->until);
	if (!json_int_field(o, "level", &e->level) || e->level < 0 || e->level > 100)
		e->level = -1;
	e->has_lux = json_number_field(o, "lux", &e->lux);
	json_object_put(o);
}

enum explain_news explain_news(const struct zone_state *s, int64_t since_wall,
			       const struct explained *e, bool window)
{
	bool same = e->light == s->light && e->mode == (int)s->mode;
	bool later = e->switches > s->switches;

	if (e->switches == s->switches)
		later = window ? e->since >= since_wall : e->since > since_wall;
	if (later && (window || !same))
		return EXPLAIN_NEWS;
	return same ? EXPLAIN_SAME : EXPLAIN_OLD;
}

void explain_adopt(struct zone_state *s, int64_t *since_wall, const struct explained *e,
		   int64_t now, int64_t wall, int64_t wall_ms)
{
	/*
	 * Readings older than the owner's decision must not undo it. But when this instance's
	 * latest reading is the owner's, it only heard the same readings a moment later (its own
	 * timer, say, a few ms behind the owner's): those stay, so that a zone lit by presence
	 * still knows its light level when someone comes.
	 */
	if (!e->has_lux || !s->has_reading || s->lux != e->lux) {
		s->has_reading = false;
		s->wlen = s->wpos = 0;
	}
	s->light = e->light;
	s->switches = (uint32_t)e->switches;
	*since_wall = e->has_since ? e->since : wall;
	if (*since_wall > wall) /* another host's clock ahead of ours */
		*since_wall = wall;
	/* The dwell clocks run from the change the owner made. */
	s->changed_at = now - 1000 * (wall - *since_wall);
	s->mode = MODE_AUTO;
	if (e->mode == MODE_OVERRIDE && e->until > wall) {
		s->mode = MODE_OVERRIDE;
		s->override_until = now + (1000 * e->until - wall_ms);
	} else if (e->mode == MODE_FAILSAFE) {
		s->mode = MODE_FAILSAFE;
	}
	/* A dimmed zone's level, and an `ON 40%` override's hold: the same number while ON. */
	if (e->level >= 0) {
		s->level = (uint8_t)e->level;
		s->hold = s->mode == MODE_OVERRIDE && e->level > 0 ? (uint8_t)e->level : 0;
	}
}

enum explain_news explain_heard(struct zone *z, const void *payload, size_t len,
				const char *needle, bool window, struct explained *e)
{
	bool ours = memmem(payload, len, needle, strlen(needle)) != NULL;
	bool fresh = !z || (!z->st.has_reading && z->st.light == LIGHT_UNKNOWN &&
			    z->st.mode == MODE_AUTO);
	enum explain_news news;

	if ((ours && !(fresh && window)) || (!z && !window))
		return EXPLAIN_IGNORED;
	if (!window && !fresh && !z->own.mine &&
	    explain_agrees(payload, len, z->st.switches, z->since_wall))
		return EXPLAIN_IGNORED;
	explain_parse(payload, len, e);
	if (e->light == LIGHT_UNKNOWN)
		return EXPLAIN_OLD;
	if (fresh)
		return EXPLAIN_NEWS;
	news = explain_news(&z->st, z->since_wall, e, window);
	if (news == EXPLAIN_SAME && !z->own.mine) {
		if (e->has_switches)
			z->st.switches = (uint32_t)e->switches;
		if (e->has_since)
			z->since_wall = e->since;
	}
	return news;
}

void explain_line(const struct zone *z, const struct sensor_value *sensors, const char *owner,
		  int64_t now, char *buf, size_t cap)
{
	const struct zone_state *s = &z->st;
	int n = snprintf(buf, cap,
			 "zone '%s': %s %s lux %g smoothed %g on_below %g off_above %g switches %u",
			 z->name, light_name(s->light), mode_name(s->mode), s->lux, s->smoothed,
			 z->p->on_below, z->p->off_above, s->switches);

	if (z->p->sensors && n > 0 && (size_t)n < cap) {
		struct fresh f;

		sensors_fresh(sensors, z->p, now, &f);
		n += snprintf(buf + n, cap - (size_t)n, " sensors %u/%u fresh (%s)", f.n,
			      z->p->sensors, aggregate_name(z->p->aggregate));
	}
	if (z->p->feedback[0] && n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, " lamp %s %s retries %u",
			      z->fb.lamp == LIGHT_UNKNOWN ? "unknown" :
							    light_name((enum light)z->fb.lamp),
			      z->fb.unconfirmed ? "unconfirmed" : "confirmed", z->fb.retries);
	if (owner && n > 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, " owner %s", owner[0] ? owner : "none");
}
