/* metrics.c -- /metrics: pylightd's published counters and the zones, for Prometheus */
#include "metrics.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "hash.h"
#include "topic.h"

/* The latest counters (and status) of one instance; node "" when pylightd runs alone. */
struct instance {
	char *node;
	char *stats;   /* the retained JSON, parsed when scraped; NULL: none yet */
	int online;    /* its status topic: 1 online, 0 offline, -1 not seen */
	UT_hash_handle hh;
};

struct zone_on {
	char *name;
	int on; /* 1 ON, 0 OFF, -1 unknown */
	UT_hash_handle hh;
};

struct metrics {
	const struct config *cfg;
	pthread_mutex_t lock;
	struct instance *instances;
	struct zone_on *zones;
	size_t nzones;
	bool too_many; /* more zones than metrics_zones were seen: no pylight_zone_on */
	size_t stats_len, status_len, state_len;
};

/* A growing text buffer; `failed` once out of memory. */
struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void out_add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap ? o->cap * 2 : 4096) + (size_t)n;
		char *p = realloc(o->buf, cap);

		if (!p) {
			o->failed = true;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
}

/* A label value as the format wants it: backslash, double quote and newline escaped. */
static void out_label(struct out *o, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			out_add(o, "\\\\");
		else if (*v == '"')
			out_add(o, "\\\"");
		else if (*v == '\n')
			out_add(o, "\\n");
		else
			out_add(o, "%c", *v);
	}
}

static struct instance *instance_get(struct metrics *m, const char *node)
{
	struct instance *in;

	bool added;

	HASH_GET_STR(m->instances, node, node, in, added);
	if (in && added)
		in->online = -1;
	return in;
}

static void on_stats(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct metrics *m = ctx;
	const char *node = topic_zone(topic, m->cfg->topics_stats, m->stats_len);
	struct instance *in;
	char *copy;

	if (!node || strchr(node, '/'))
		return;
	copy = len ? strndup(payload, len) : NULL;
	pthread_mutex_lock(&m->lock);
	in = instance_get(m, node);
	if (in) {
		free(in->stats);
		in->stats = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	free(copy);
}

static void on_status(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct metrics *m = ctx;
	const char *node = topic_zone(topic, m->cfg->topics_status, m->status_len);
	struct instance *in;

	if (!node || strchr(node, '/'))
		return;
	pthread_mutex_lock(&m->lock);
	in = instance_get(m, node);
	if (in)
		in->online = len == 6 && !memcmp(payload, "online", 6);
	pthread_mutex_unlock(&m->lock);
}

/* An explanation's "state": 1 ON, 0 OFF, -1 anything else. */
static int state_of(const void *payload, size_t len)
{
	struct json_tokener *tok = len ? json_tokener_new() : NULL;
	json_object *o = tok ? json_tokener_parse_ex(tok, payload, (int)len) : NULL, *s;
	int on = -1;

	if (tok)
		json_tokener_free(tok);
	if (o && json_object_object_get_ex(o, "state", &s) && json_object_is_type(s, json_type_string))
		on = !strcmp(json_object_get_string(s), "ON") ? 1 :
		     !strcmp(json_object_get_string(s), "OFF") ? 0 : -1;
	json_object_put(o);
	return on;
}

static void on_zone_state(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct metrics *m = ctx;
	const char *name = topic_zone(topic, m->cfg->topics_zone_state, m->state_len);
	struct zone_on *z;
	int on;

	if (!name)
		return;
	on = state_of(payload, len);
	pthread_mutex_lock(&m->lock);
	HASH_FIND_STR(m->zones, name, z);
	if (z && !len) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
		HASH_DEL(m->zones, z);
		m->nzones--;
		free(z->name);
		free(z);
	} else if (z) {
		z->on = on;
	} else if (len && !m->too_many) {
		if (m->nzones >= (size_t)m->cfg->web_metrics_zones) {
			m->too_many = true; /* kept until a restart: see docs/web.md */
		} else if ((z = calloc(1, sizeof(*z))) && (z->name = strdup(name))) {
			z->on = on;
			HASH_ADD_KEYPTR(hh, m->zones, z->name, strlen(z->name), z);
			m->nzones++;
		} else {
			free(z);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

int metrics_new(const struct config *cfg, struct bus *bus, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));
	char filter[512];
	int rc = 0;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->cfg = cfg;
	pthread_mutex_init(&m->lock, NULL);
	m->stats_len = strlen(cfg->topics_stats);
	m->status_len = strlen(cfg->topics_status);
	m->state_len = strlen(cfg->topics_zone_state);
	/* "T" and "T/+": the instance alone, and each instance of a cluster */
	if (cfg->topics_stats[0]) {
		snprintf(filter, sizeof(filter), "%s/+", cfg->topics_stats);
		rc = bus_tap(bus, cfg->topics_stats, on_stats, m);
		if (rc == 0)
			rc = bus_tap(bus, filter, on_stats, m);
	}
	snprintf(filter, sizeof(filter), "%s/+", cfg->topics_status);
	if (rc == 0)
		rc = bus_tap(bus, cfg->topics_status, on_status, m);
	if (rc == 0)
		rc = bus_tap(bus, filter, on_status, m);
	if (rc == 0 && cfg->topics_zone_state[0] && cfg->web_metrics_zones > 0) {
		snprintf(filter, sizeof(filter), "%s/#", cfg->topics_zone_state);
		rc = bus_tap(bus, filter, on_zone_state, m);
	}
	if (rc < 0) {
		metrics_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	struct instance *in, *itmp;
	struct zone_on *z, *ztmp;

	if (!m)
		return;
	HASH_ITER(hh, m->instances, in, itmp) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
		HASH_DEL(m->instances, in);
		free(in->node);
		free(in->stats);
		free(in);
	}
	HASH_ITER(hh, m->zones, z, ztmp) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
		HASH_DEL(m->zones, z);
		free(z->name);
		free(z);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/*
 * The counters pylightd publishes, each a metric of its own. One with `by` is published
 * broken down too, an object of counts under that key: a series per member, labelled `label`;
 * an older pylightd without it gives the total alone.
 */
static const struct counter {
	const char *key, *name, *type, *help;
	const char *by, *label;
} counters[] = {
	{ "readings", "pylight_readings_total", "counter", "Readings pylightd accepted.", NULL,
	  NULL },
	{ "orders", "pylight_orders_total", "counter", "Orders pylightd published.", NULL, NULL },
	{ "rejected", "pylight_rejected_total", "counter",
	  "Input pylightd rejected (readings, overrides, lamp and presence reports), by reason.",
	  "rejected_by", "reason" },
	{ "overrides", "pylight_overrides_total", "counter", "Overrides pylightd applied.", NULL,
	  NULL },
	{ "stale", "pylight_stale_total", "counter", "Times a zone went stale.", NULL, NULL },
	{ "reloads", "pylight_reloads_total", "counter", "Reloads of ref.txt tried.", NULL, NULL },
	{ "reload_failures", "pylight_reload_failures_total", "counter",
	  "Reloads of ref.txt that failed, the previous thresholds kept.", NULL, NULL },
};

/* {node="NODE"} (or nothing alone), then `extra` ("mode=\"auto\""), as label set. */
static void out_labels(struct out *o, const char *node, const char *key, const char *value)
{
	if (!*node && !key)
		return;
	out_add(o, "{");
	if (*node) {
		out_add(o, "node=\"");
		out_label(o, node);
		out_add(o, "\"%s", key ? "," : "");
	}
	if (key) {
		out_add(o, "%s=\"", key);
		out_label(o, value);
		out_add(o, "\"");
	}
	out_add(o, "}");
}

/* One metric family over every instance with counters. */
static void out_counter(struct out *o, struct instance *all, json_object **docs,
			const struct counter *c)
{
	struct instance *in;
	size_t i = 0;
	json_object *v;

	out_add(o, "# HELP %s %s\n# TYPE %s %s\n", c->name, c->help, c->name, c->type);
	for (in = all; in; in = in->hh.next, i++) {
		if (!docs[i])
			continue;
		if (c->by && json_object_object_get_ex(docs[i], c->by, &v) &&
		    json_object_is_type(v, json_type_object)) {
			json_object_object_foreach(v, member, count) {
				out_add(o, "%s", c->name);
				out_labels(o, in->node, c->label, member);
				out_add(o, " %lld\n", (long long)json_object_get_int64(count));
			}
			continue;
		}
		if (!json_object_object_get_ex(docs[i], c->key, &v))
			continue;
		out_add(o, "%s", c->name);
		out_labels(o, in->node, NULL, NULL);
		out_add(o, " %lld\n", (long long)json_object_get_int64(v));
	}
}

static void out_instances(struct out *o, struct metrics *m)
{
	size_t n = HASH_COUNT(m->instances), i;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	json_object **docs = calloc(n ? n : 1, sizeof(*docs)), *v, *modes;
	struct instance *in;

	if (!docs) {
		o->failed = true;
		return;
	}
	for (in = m->instances, i = 0; in; in = in->hh.next, i++) {
		docs[i] = in->stats ? json_tokener_parse(in->stats) : NULL;
		if (docs[i] && !json_object_is_type(docs[i], json_type_object)) {
			json_object_put(docs[i]);
			docs[i] = NULL;
		}
	}
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		out_counter(o, m->instances, docs, &counters[i]);
	out_add(o, "# HELP pylight_mqtt_connected Whether pylightd is connected to the broker "
		   "(its counters say so and its status is online).\n"
		   "# TYPE pylight_mqtt_connected gauge\n");
	for (in = m->instances, i = 0; in; in = in->hh.next, i++) {
		bool up;

		if (!docs[i] || !json_object_object_get_ex(docs[i], "mqtt_connected", &v))
			continue;
		up = json_object_get_boolean(v) && in->online != 0;
		out_add(o, "pylight_mqtt_connected");
		out_labels(o, in->node, NULL, NULL);
		out_add(o, " %d\n", up);
	}
	out_add(o, "# HELP pylight_zones Zones by mode.\n# TYPE pylight_zones gauge\n");
	for (in = m->instances, i = 0; in; in = in->hh.next, i++) {
		if (!docs[i] || !json_object_object_get_ex(docs[i], "modes", &modes) ||
		    !json_object_is_type(modes, json_type_object))
			continue;
		json_object_object_foreach(modes, mode, count) {
			out_add(o, "pylight_zones");
			out_labels(o, in->node, "mode", mode);
			out_add(o, " %lld\n", (long long)json_object_get_int64(count));
		}
	}
	for (i = 0; i < n; i++)
		json_object_put(docs[i]);
	free(docs);
}

char *metrics_text(struct metrics *m, size_t *len)
{
	struct out o = { 0 };
	struct zone_on *z;

	pthread_mutex_lock(&m->lock);
	out_instances(&o, m);
	if (!m->too_many && m->cfg->web_metrics_zones > 0) {
		out_add(&o, "# HELP pylight_zone_on Whether the zone's light is ON (1) or OFF (0).\n"
			    "# TYPE pylight_zone_on gauge\n");
		for (z = m->zones; z; z = z->hh.next) {
			if (z->on < 0)
				continue;
			out_add(&o, "pylight_zone_on{zone=\"");
			out_label(&o, z->name);
			out_add(&o, "\"} %d\n", z->on);
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf ? o.buf : strdup("");
}
