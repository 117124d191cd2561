/* explain.c -- a zone's explanation (docs/mqtt.md): written for it, and read from other instances */
#include "explain.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "number.h"

/*
 * A JSON number as people write it: 42, 12.5, 0.1. json-c alone prints 42.0 and
 * 0.10000000000000001; the shortest text that reads back as the same double is kept instead.
 * Whole numbers, most readings and thresholds, are exact as integers and cost far less.
 */
static json_object *json_number_new(double v)
{
	char text[32];

	if (fabs(v) <= 0x1p53 && v == (double)(int64_t)v && !(v == 0 && signbit(v)))
		return json_object_new_int64((int64_t)v);
	number_format(v, text, sizeof(text));
	return json_object_new_double_s(v, text);
}

/* "sensors": {"hall/east": {"lux": 120, "age": 3}, ...}, stale ones marked, silent ones null. */
static json_object *sensors_json(const struct zone_params *p, const struct explain_ctx *x)
{
	json_object *all = json_object_new_object();

	for (unsigned i = p->sensor_first; all && i < p->sensor_first + p->sensors; i++) {
		const struct sensor_value *v = &x->sensors[i];
		bool seen = v->at != SENSOR_NEVER_SEEN;
		json_object *o = json_object_new_object();

		if (!o)
			break;
		json_object_object_add(o, "lux", seen ? json_number_new(v->lux) : NULL);
		json_object_object_add(o, "age",
				       seen ? json_object_new_int64((x->now - v->at) / 1000) : NULL);
		if (sensors_stale(x->sensors, p, i, x->now))
			json_object_object_add(o, "stale", json_object_new_boolean(1));
		json_object_object_add(all, thresholds_sensor_name(x->t, i), o);
	}
	return all;
}

int explain_build(const struct zone *z, const char *why, const struct explain_ctx *x,
		  struct explanation *e)
{
	const struct zone_state *s = &z->st;
	char reason[DECIDE_REASON_MAX + 16];
	time_t until = 0;
	json_object *o;

	*e = (struct explanation){ 0 };
	snprintf(reason, sizeof(reason), "%s", why);
	if (s->mode == MODE_OVERRIDE) {
		size_t used = strlen(reason);
		struct tm tm;

		/* To the nearest second: adopted and published again, it stays that second. */
		until = (time_t)((x->wall_ms + (s->override_until - x->now) + 500) / 1000);
		localtime_r(&until, &tm);
		strftime(reason + used, sizeof(reason) - used, " until %H:%M", &tm);
	}
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "zone", json_object_new_string(z->name));
	json_object_object_add(o, "state", json_object_new_string(light_name(s->light)));
	json_object_object_add(o, "mode", json_object_new_string(mode_name(s->mode)));
	json_object_object_add(o, "lux", s->has_reading ? json_number_new(s->lux) : NULL);
	json_object_object_add(o, "smoothed",
			       s->has_reading ? json_number_new(s->smoothed) : NULL);
	json_object_object_add(o, "on_below", json_number_new(z->p->on_below));
	json_object_object_add(o, "off_above", json_number_new(z->p->off_above));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "since", json_object_new_int64(z->since_wall));
	json_object_object_add(o, "switches", json_object_new_int64(s->switches));
	if (z->p->target_lux > 0) {
		/* Its "smoothed" is the smoothed daylight too: the window holds daylight. */
		json_object_object_add(o, "level", s->light == LIGHT_UNKNOWN ? NULL :
					json_object_new_int(decide_level(s)));
		json_object_object_add(o, "target_lux", json_number_new(z->p->target_lux));
		json_object_object_add(o, "daylight",
				       s->has_reading ? json_number_new(s->smoothed) : NULL);
	}
	if (z->p->feedback[0]) {
		json_object_object_add(o, "lamp", z->fb.lamp == LIGHT_UNKNOWN ? NULL :
					json_object_new_string(light_name((enum light)z->fb.lamp)));
		json_object_object_add(o, "confirmed", json_object_new_boolean(!z->fb.unconfirmed));
		json_object_object_add(o, "retries", json_object_new_int(z->fb.retries));
	}
	if (z->p->sensors) {
		json_object_object_add(o, "aggregate",
				       json_object_new_string(aggregate_name(z->p->aggregate)));
		json_object_object_add(o, "sensors", sensors_json(z->p, x));
	}
	/* Time and presence: only for the zones that have them, the others' bytes unchanged. */
	if (z->p->schedule)
		json_object_object_add(o, "schedule", json_object_new_boolean(!s->out_of_schedule));
	if (z->p->occupancy)
		json_object_object_add(o, "occupied", json_object_new_boolean(!s->vacant));
	if (x->node) {
		json_object_object_add(o, "node", json_object_new_string(x->node));
		if (s->mode == MODE_OVERRIDE)
			json_object_object_add(o, "until", json_object_new_int64(until));
	}
	/* Zone and sensor names hold '/': JSON allows it unescaped, and people read these. */
	e->o = o;
	e->text = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &e->len);
	return 0;
}

void explain_done(struct explanation *e)
{
	json_object_put(e->o);
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
	/* Its readings are older than the owner's decision: they must not undo it. */
	s->has_reading = false;
	s->wlen = s->wpos = 0;
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
