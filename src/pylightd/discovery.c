/* discovery.c -- Home Assistant MQTT discovery: each zone's entities, announced and cleaned */
#include "discovery.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failed allocation must not exit the daemon: discovery_seen reports it. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "hash.h"
#include "topic.h"

#define ID_MAX 256 /* sanitized ids longer than this are cut: the hash keeps them apart */
#define ENTITY_ID_MAX 255 /* Home Assistant's MAX_LENGTH_STATE_ENTITY_ID */

/* One of our retained configs found on the broker after a connect. */
struct seen {
	UT_hash_handle hh;
	bool keep;
	char topic[];
};

struct discovery {
	const struct config *cfg;
	char *node;          /* client_id, sanitized */
	char *status_topic;  /* PREFIX/status */
	char *config_filter; /* PREFIX/+/NODE/+/config */
	struct seen *seen;
};

/*
 * The entities of a zone: its order, its smoothed lux, its mode (an override), and whether
 * it is occupied (zones with presence sensors only); and a dimmed zone's level, announced and
 * kept apart (discovery_announce_level).
 */
enum entity {
	ENTITY_LIGHT, ENTITY_LUX, ENTITY_MODE, ENTITY_OCCUPANCY, ENTITY_COUNT,
	ENTITY_LEVEL = ENTITY_COUNT
};

static const struct {
	const char *component, *suffix, *name;
} entities[ENTITY_COUNT + 1] = {
	[ENTITY_LIGHT] = { "binary_sensor", "light", "Light" },
	[ENTITY_LUX] = { "sensor", "lux", "Illuminance" },
	[ENTITY_MODE] = { "select", "mode", "Mode" },
	[ENTITY_OCCUPANCY] = { "binary_sensor", "occupancy", "Occupancy" },
	[ENTITY_LEVEL] = { "sensor", "level", "Level" },
};

/* Home Assistant ids allow [A-Za-z0-9_-]; every other byte becomes '_'. */
static void sanitize(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';

		if (!ok)
			c = '_';
		buf[n++] = c;
	}
	buf[n] = '\0';
}

/*
 * What Home Assistant's slugify (python-slugify over unidecode) makes of U+00A0..U+017F, in
 * lower case; a space stands for a separator. Other scripts are not transliterated here:
 * their letters count as separators, and the zone's hash keeps the ids apart.
 */
static const char *const latin[0x180 - 0xA0] = {
	" ", " ", "c ", "ps", "  ", "y ", " ", "ss",  /* U+00A0 */
	" ", " c ", "a", "  ", " ", "", " r ", " ",  /* U+00A8 */
	"deg", "  ", "2", "3", " ", "m", "p", " ",  /* U+00B0 */
	" ", "1", "o", "  ", "1 4", "1 2", "3 4", " ",  /* U+00B8 */
	"a", "a", "a", "a", "a", "a", "ae", "c",  /* U+00C0 */
	"e", "e", "e", "e", "i", "i", "i", "i",  /* U+00C8 */
	"d", "n", "o", "o", "o", "o", "o", "x",  /* U+00D0 */
	"o", "u", "u", "u", "u", "y", "th", "ss",  /* U+00D8 */
	"a", "a", "a", "a", "a", "a", "ae", "c",  /* U+00E0 */
	"e", "e", "e", "e", "i", "i", "i", "i",  /* U+00E8 */
	"d", "n", "o", "o", "o", "o", "o", " ",  /* U+00F0 */
	"o", "u", "u", "u", "u", "y", "th", "y",  /* U+00F8 */
	"a", "a", "a", "a", "a", "a", "c", "c",  /* U+0100 */
	"c", "c", "c", "c", "c", "c", "d", "d",  /* U+0108 */
	"d", "d", "e", "e", "e", "e", "e", "e",  /* U+0110 */
	"e", "e", "e", "e", "g", "g", "g", "g",  /* U+0118 */
	"g", "g", "g", "g", "h", "h", "h", "h",  /* U+0120 */
	"i", "i", "i", "i", "i", "i", "i", "i",  /* U+0128 */
	"i", "i", "ij", "ij", "j", "j", "k", "k",  /* U+0130 */
	"k", "l", "l", "l", "l", "l", "l", "l ",  /* U+0138 */
	"l ", "l", "l", "n", "n", "n", "n", "n",  /* U+0140 */
	"n", " n", "ng", "ng", "o", "o", "o", "o",  /* U+0148 */
	"o", "o", "oe", "oe", "r", "r", "r", "r",  /* U+0150 */
	"r", "r", "s", "s", "s", "s", "s", "s",  /* U+0158 */
	"s", "s", "t", "t", "t", "t", "t", "t",  /* U+0160 */
	"u", "u", "u", "u", "u", "u", "u", "u",  /* U+0168 */
	"u", "u", "u", "u", "w", "w", "y", "y",  /* U+0170 */
	"y", "z", "z", "z", "z", "z", "z", "s",  /* U+0178 */
};

/* The code point at *s (UTF-8), advancing *s; -1 for a byte that starts no valid sequence. */
static long utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned n = p[0] >= 0xF0 ? 3 : p[0] >= 0xE0 ? 2 : p[0] >= 0xC0 ? 1 : 0;
	long cp = n == 3 ? p[0] & 0x07 : n == 2 ? p[0] & 0x0F : p[0] & 0x1F;

	if (p[0] < 0x80 || p[0] >= 0xF8 || n == 0) {
		(*s)++;
		return p[0] < 0x80 ? p[0] : -1;
	}
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			(*s)++;
			return -1;
		}
		cp = cp << 6 | (p[i] & 0x3F);
	}
	*s += n + 1;
	return cp;
}

size_t discovery_slug(const char *text, char *buf, size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0;
	bool gap = false; /* a separator since the last character kept */

	while (*s && cap) {
		long cp = utf8_next(&s);
		char one[2] = { 0 };
		const char *out = " ";

		if (cp >= 0x300 && cp <= 0x36F)
			continue; /* a combining accent: "u" + U+0308 is "u" */
		if (cp >= 0 && cp < 0x80) {
			one[0] = (char)s[-1]; /* that one byte */
			if (one[0] >= 'A' && one[0] <= 'Z')
				one[0] = (char)(one[0] - 'A' + 'a');
			out = one;
		} else if (cp >= 0xA0 && cp < 0x180) {
			out = latin[cp - 0xA0];
		}
		for (; *out; out++) {
			if (!((*out >= 'a' && *out <= 'z') || (*out >= '0' && *out <= '9'))) {
				gap = true;
				continue;
			}
			bool sep = gap && n;

			if (n + sep + 2 > cap)
				goto full;
			if (sep)
				buf[n++] = '_';
			gap = false;
			buf[n++] = *out;
		}
	}
full:
	if (cap)
		buf[n] = '\0';
	return n;
}

/* FNV-1a, 32 bits: zones whose names sanitize alike ("a/b", "a b") still differ. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void discovery_zone_id(const char *zone, char *buf, size_t cap)
{
	char name[ID_MAX];

	sanitize(zone[0] ? zone : "default", name, sizeof(name));
	snprintf(buf, cap, "%s_%08x", name, fnv1a(zone));
}

int discovery_new(const struct config *cfg, struct discovery **out)
{
	struct discovery *d = calloc(1, sizeof(*d));
	char node[ID_MAX];

	if (!d)
		return -ENOMEM;
	d->cfg = cfg;
	sanitize(cfg->mqtt_client_id, node, sizeof(node));
	d->node = strdup(node);
	if (!d->node || asprintf(&d->status_topic, "%s/status", cfg->homeassistant_prefix) < 0 ||
	    asprintf(&d->config_filter, "%s/+/%s/+/config", cfg->homeassistant_prefix, node) < 0) {
		d->status_topic = d->config_filter = NULL; /* asprintf leaves them undefined */
		discovery_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

static void seen_clear(struct discovery *d)
{
	/* The analyzer loses track of uthash's list links here. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	HASH_FREE_ALL(d->seen, free);
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	seen_clear(d);
	free(d->node);
	free(d->status_topic);
	free(d->config_filter);
	free(d);
}

const char *discovery_status_topic(const struct discovery *d)
{
	return d->status_topic;
}

const char *discovery_config_filter(const struct discovery *d)
{
	return d->config_filter;
}

static void config_topic(const struct discovery *d, enum entity e, const char *zid, char *buf,
			 size_t cap)
{
	snprintf(buf, cap, "%s/%s/%s/%s_%s/config", d->cfg->homeassistant_prefix,
		 entities[e].component, d->node, zid, entities[e].suffix);
}

/* The lux sensor's own retained state: PREFIX/sensor/NODE/ZID_lux/state. */
static void state_topic(const struct discovery *d, const char *zid, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s/%s/%s_%s/state", d->cfg->homeassistant_prefix,
		 entities[ENTITY_LUX].component, d->node, zid, entities[ENTITY_LUX].suffix);
}

void discovery_lux_topic(const struct discovery *d, const char *zone, char *buf, size_t cap)
{
	char zid[ID_MAX + 16];

	discovery_zone_id(zone, zid, sizeof(zid));
	state_topic(d, zid, buf, cap);
}

void discovery_forget(const struct discovery *d, const char *zid, discovery_emit *emit,
		      void *ctx)
{
	char topic[1024];

	for (enum entity e = 0; e < ENTITY_COUNT; e++) {
		config_topic(d, e, zid, topic, sizeof(topic));
		emit(ctx, topic, "");
	}
	state_topic(d, zid, topic, sizeof(topic));
	emit(ctx, topic, "");
}

static void add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

/*
 * The entity id after the platform's dot: Home Assistant's slug of "NODE ZONE HASH SUFFIX",
 * so that it matches its VALID_ENTITY_ID (a-z, 0-9, single '_' inside). The zone's part is
 * cut so that the whole id stays within Home Assistant's 255 characters.
 */
static void entity_object_id(const struct discovery *d, enum entity e, const char *zone,
			     char *buf, size_t cap)
{
	char node[ID_MAX] = "", name[ID_MAX] = "";
	size_t room, fixed;

	discovery_slug(d->cfg->mqtt_client_id, node, sizeof(node));
	fixed = strlen(entities[e].component) + 1 + strlen(node) + 1 + 8 + 1 +
		strlen(entities[e].suffix) + 1;
	room = fixed < ENTITY_ID_MAX ? ENTITY_ID_MAX - fixed + 1 : 1;
	discovery_slug(zone[0] ? zone : "default", name, room < sizeof(name) ? room : sizeof(name));
	snprintf(buf, cap, "%s%s%s%s%08x_%s", node, node[0] ? "_" : "", name, name[0] ? "_" : "",
		 fnv1a(zone), entities[e].suffix);
}

/* What every entity of the zone shares: ids, availability, its device, the origin. */
static json_object *entity_json(const struct discovery *d, enum entity e, const char *zone,
				const char *zid)
{
	const struct config *c = d->cfg;
	json_object *o = json_object_new_object(), *dev, *ids, *origin;
	char uid[3 * ID_MAX], slug[3 * ID_MAX], name[3 * ID_MAX + 32];

	if (!o)
		return NULL;
	snprintf(uid, sizeof(uid), "%s_%s_%s", d->node, zid, entities[e].suffix);
	entity_object_id(d, e, zone, slug, sizeof(slug));
	add_string(o, "name", entities[e].name);
	add_string(o, "unique_id", uid);
	add_string(o, "object_id", slug);
	snprintf(name, sizeof(name), "%s.%s", entities[e].component, slug);
	add_string(o, "default_entity_id", name);
	/*
	 * Several instances publish the same configs; one's status would mark the zone gone
	 * while the others serve it. The zone's explanation still tells when it was last fed.
	 */
	if (!c->cluster_node[0]) {
		add_string(o, "availability_topic", c->topics_status);
		add_string(o, "payload_available", "online");
		add_string(o, "payload_not_available", "offline");
	}

	dev = json_object_new_object();
	ids = json_object_new_array();
	snprintf(uid, sizeof(uid), "%s_%s", d->node, zid);
	json_object_array_add(ids, json_object_new_string(uid));
	json_object_object_add(dev, "identifiers", ids);
	snprintf(name, sizeof(name), "pylight %s", zone[0] ? zone : "default zone");
	add_string(dev, "name", name);
	add_string(dev, "manufacturer", "pylight");
	add_string(dev, "model", "light zone");
	add_string(dev, "sw_version", PYLIGHT_VERSION);
	json_object_object_add(o, "device", dev);

	origin = json_object_new_object();
	add_string(origin, "name", "pylight");
	add_string(origin, "sw", PYLIGHT_VERSION);
	json_object_object_add(o, "origin", origin);
	return o;
}

static void emit_json(json_object *o, const char *topic, discovery_emit *emit, void *ctx)
{
	/* Topics hold '/': JSON allows it unescaped, and people read these. */
	emit(ctx, topic,
	     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Adds `key`: the topic of `zone` below `base`, written in *buf. Returns 0 or -ENOMEM. */
static int add_topic(json_object *o, const char *key, const char *base, const char *zone,
		     char **buf, size_t *cap)
{
	const char *topic = topic_of_zone(base, zone, buf, cap);

	if (!topic)
		return -ENOMEM;
	add_string(o, key, topic);
	return 0;
}

int discovery_announce(struct discovery *d, const char *zone, discovery_emit *emit, void *ctx)
{
	const struct config *c = d->cfg;
	char zid[ID_MAX + 16], topic[1024], *state = NULL;
	size_t state_cap = 0;
	json_object *o, *options;
	int rc = -ENOMEM;

	discovery_zone_id(zone, zid, sizeof(zid));

	o = entity_json(d, ENTITY_LIGHT, zone, zid);
	if (!o)
		goto out;
	if (c->topics_zone_state[0]) {
		/* Retained, unlike the orders: Home Assistant reads it again when it restarts. */
		if (add_topic(o, "state_topic", c->topics_zone_state, zone, &state, &state_cap) < 0)
			goto out;
		add_string(o, "value_template",
			   "{{ value_json.state if value_json.state in ('ON', 'OFF') else 'None' }}");
		add_string(o, "payload_on", "ON");
		add_string(o, "payload_off", "OFF");
	} else {
		if (add_topic(o, "state_topic", c->topics_orders, zone, &state, &state_cap) < 0)
			goto out;
		add_string(o, "payload_on", c->orders_on_payload);
		add_string(o, "payload_off", c->orders_off_payload);
	}
	add_string(o, "device_class", "light");
	config_topic(d, ENTITY_LIGHT, zid, topic, sizeof(topic));
	emit_json(o, topic, emit, ctx);

	if (c->topics_zone_state[0]) {
		o = entity_json(d, ENTITY_LUX, zone, zid);
		if (!o)
			goto out;
		state_topic(d, zid, topic, sizeof(topic));
		add_string(o, "state_topic", topic);
		add_string(o, "unit_of_measurement", "lx");
		add_string(o, "device_class", "illuminance");
		add_string(o, "state_class", "measurement");
		config_topic(d, ENTITY_LUX, zid, topic, sizeof(topic));
		emit_json(o, topic, emit, ctx);
	}

	o = entity_json(d, ENTITY_MODE, zone, zid);
	if (!o || add_topic(o, "command_topic", c->topics_override, zone, &state, &state_cap) < 0)
		goto out;
	options = json_object_new_array();
	json_object_array_add(options, json_object_new_string("AUTO"));
	json_object_array_add(options, json_object_new_string("ON"));
	json_object_array_add(options, json_object_new_string("OFF"));
	json_object_object_add(o, "options", options);
	/* The explanation says it: the overriding state, or AUTO. Without it, optimistic. */
	if (c->topics_zone_state[0]) {
		if (add_topic(o, "state_topic", c->topics_zone_state, zone, &state, &state_cap) < 0)
			goto out;
		add_string(o, "value_template",
			   "{{ value_json.state if value_json.mode == 'override' else 'AUTO' }}");
	}
	config_topic(d, ENTITY_MODE, zid, topic, sizeof(topic));
	emit_json(o, topic, emit, ctx);
	o = NULL;
	rc = 0;
out:
	json_object_put(o);
	free(state);
	return rc;
}

int discovery_announce_level(struct discovery *d, const char *zone, discovery_emit *emit,
			     void *ctx)
{
	const struct config *c = d->cfg;
	bool explained = c->topics_zone_state[0];
	char zid[ID_MAX + 16], topic[1024], *state = NULL;
	size_t state_cap = 0;
	json_object *o;
	int rc;

	discovery_zone_id(zone, zid, sizeof(zid));
	o = entity_json(d, ENTITY_LEVEL, zone, zid);
	/* The explanation is retained: Home Assistant has the level as soon as it subscribes. */
	rc = o ? add_topic(o, "state_topic", explained ? c->topics_zone_state : c->topics_levels,
			   zone, &state, &state_cap) : -ENOMEM;
	free(state);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	if (explained)
		add_string(o, "value_template", "{{ value_json.level }}");
	else if (c->orders_level_payload == LEVEL_PAYLOAD_Z2M)
		add_string(o, "value_template", "{{ (value_json.brightness / 2.54) | round(0) "
						"if value_json.state == 'ON' else 0 }}");
	add_string(o, "unit_of_measurement", "%");
	add_string(o, "state_class", "measurement");
	config_topic(d, ENTITY_LEVEL, zid, topic, sizeof(topic));
	emit_json(o, topic, emit, ctx);
	return 0;
}

void discovery_keep_level(struct discovery *d, const char *zone)
{
	char zid[ID_MAX + 16], topic[1024];
	struct seen *s;

	discovery_zone_id(zone, zid, sizeof(zid));
	config_topic(d, ENTITY_LEVEL, zid, topic, sizeof(topic));
	HASH_FIND_STR(d->seen, topic, s);
	if (s)
		s->keep = true;
}

int discovery_announce_occupancy(struct discovery *d, const char *zone, discovery_emit *emit,
				 void *ctx)
{
	const struct config *c = d->cfg;
	char zid[ID_MAX + 16], topic[1024], *state = NULL;
	size_t state_cap = 0;
	json_object *o;
	int rc;

	/* Its state is the explanation's "occupied": nothing to show without explanations. */
	if (!c->topics_zone_state[0])
		return 0;
	discovery_zone_id(zone, zid, sizeof(zid));
	o = entity_json(d, ENTITY_OCCUPANCY, zone, zid);
	rc = o ? add_topic(o, "state_topic", c->topics_zone_state, zone, &state, &state_cap)
	       : -ENOMEM;
	free(state);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	add_string(o, "value_template", "{{ 'ON' if value_json.occupied else 'OFF' }}");
	add_string(o, "device_class", "occupancy");
	config_topic(d, ENTITY_OCCUPANCY, zid, topic, sizeof(topic));
	emit_json(o, topic, emit, ctx);
	return 0;
}

/* Whether `topic` matches PREFIX/+/NODE/+/config: one of our configs, of any zone. */
bool discovery_owns(const struct discovery *d, const char *topic)
{
	size_t plen = strlen(d->cfg->homeassistant_prefix), nlen = strlen(d->node);
	const char *p = topic + plen, *end;

	if (strncmp(topic, d->cfg->homeassistant_prefix, plen) != 0 || *p != '/')
		return false;
	p = strchr(p + 1, '/'); /* after the component */
	if (!p || strncmp(p + 1, d->node, nlen) != 0 || p[1 + nlen] != '/')
		return false;
	p += 2 + nlen;
	end = strchr(p, '/');
	return end && end > p && strcmp(end, "/config") == 0;
}

int discovery_seen(struct discovery *d, const char *topic)
{
	size_t len = strlen(topic);
	struct seen *s;

	HASH_FIND(hh, d->seen, topic, len, s);
	if (s)
		return 0;
	s = calloc(1, sizeof(*s) + len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s->topic, topic, len + 1);
	HASH_ADD(hh, d->seen, topic[0], len, s);
	if (!s->hh.tbl) {
		free(s);
		return -ENOMEM;
	}
	return 0;
}

void discovery_keep(struct discovery *d, const char *zone)
{
	char zid[ID_MAX + 16], topic[1024];
	struct seen *s;

	if (!d->seen)
		return;
	discovery_zone_id(zone, zid, sizeof(zid));
	for (enum entity e = 0; e < ENTITY_COUNT; e++) {
		if (e == ENTITY_LUX && !d->cfg->topics_zone_state[0])
			continue; /* no explanations, no lux entity: clear a stale one */
		config_topic(d, e, zid, topic, sizeof(topic));
		HASH_FIND_STR(d->seen, topic, s);
		if (s)
			s->keep = true;
	}
}

/*
 * The zone id of one of our config topics, in buf, when its object id ends in the suffix of
 * the entity its component names ("PREFIX/sensor/NODE/hall_1b2c3d4e_lux/config").
 */
static bool config_zone_id(const struct discovery *d, const char *topic, char *buf, size_t cap)
{
	const char *comp = topic + strlen(d->cfg->homeassistant_prefix) + 1;
	const char *object = comp + strcspn(comp, "/") + 1 + strlen(d->node) + 1;
	size_t clen = strcspn(comp, "/"), olen = strcspn(object, "/");

	for (enum entity e = 0; e < ENTITY_COUNT; e++) {
		size_t slen = strlen(entities[e].suffix);

		if (strlen(entities[e].component) != clen ||
		    strncmp(comp, entities[e].component, clen) != 0 || olen <= slen + 1 ||
		    object[olen - slen - 1] != '_' ||
		    strncmp(object + olen - slen, entities[e].suffix, slen) != 0)
			continue;
		if (e == ENTITY_LUX && !d->cfg->topics_zone_state[0])
			return false; /* no explanations, no lux entity: clear a stale one */
		if (olen - slen - 1 >= cap)
			return false;
		memcpy(buf, object, olen - slen - 1);
		buf[olen - slen - 1] = '\0';
		return true;
	}
	return false;
}

size_t discovery_sweep(struct discovery *d, discovery_emit *emit,
		       void (*known)(void *ctx, const char *zid), void *ctx)
{
	struct seen *s, *tmp;
	size_t cleared = 0;
	char zid[ID_MAX + 16];

	HASH_ITER(hh, d->seen, s, tmp) {
		if (s->keep)
			continue;
		if (config_zone_id(d, s->topic, zid, sizeof(zid))) {
			known(ctx, zid);
			continue;
		}
		emit(ctx, s->topic, "");
		cleared++;
	}
	seen_clear(d);
	return cleared;
}
