/* zonecache.c -- the latest retained explanation of each zone, as pylightd published it */
#include "zonecache.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "buf.h"
#include "hash.h"
#include "number.h"

struct entry {
	UT_hash_handle hh;
	char *fields; /* the explanation's members but zone and its thresholds, as JSON */
	size_t fields_len;
	char name[];
};

struct zonecache {
	pthread_mutex_t lock;
	struct entry *zones;
	unsigned long generation; /* counts changes, so that a caller may keep an answer */
	bool unsorted;
};

struct zonecache *zonecache_new(void)
{
	struct zonecache *zc = calloc(1, sizeof(*zc));

	if (zc)
		pthread_mutex_init(&zc->lock, NULL);
	return zc;
}

static void entry_free(struct entry *e)
{
	free(e->fields);
	free(e);
}

void zonecache_free(struct zonecache *zc)
{
	if (!zc)
		return;
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
	HASH_FREE_ALL(zc->zones, entry_free);
	pthread_mutex_destroy(&zc->lock);
	free(zc);
}

/*
 * The members of an explanation that the zone list repeats, written once when it arrives:
 * a list request then copies bytes instead of building and writing 1,000 objects.
 */
static int fields_make(const char *payload, size_t len, char **out, size_t *out_len)
{
	json_tokener *tok = json_tokener_new();
	json_object *why;
	const char *s;
	size_t n;

	if (!tok)
		return -ENOMEM;
	why = json_tokener_parse_ex(tok, payload, (int)len);
	json_tokener_free(tok);
	if (!json_object_is_type(why, json_type_object)) {
		json_object_put(why);
		return -EINVAL;
	}
	json_object_object_del(why, "zone");
	json_object_object_del(why, "on_below");
	json_object_object_del(why, "target_lux");
	json_object_object_del(why, "off_above");
	if (!json_object_object_get_ex(why, "state", NULL))
		json_object_object_add(why, "state", NULL);
	if (!json_object_object_get_ex(why, "mode", NULL))
		json_object_object_add(why, "mode", NULL);
	s = json_object_to_json_string_length(why, JSON_C_TO_STRING_PLAIN, &n);
	/* "{...}" without its braces: never empty, state and mode are there */
	*out = s && n >= 2 ? strndup(s + 1, n - 2) : NULL;
	*out_len = n - 2;
	json_object_put(why);
	return *out ? 0 : -ENOMEM;
}

int zonecache_put(struct zonecache *zc, const char *zone, const char *payload, size_t len)
{
	struct entry *e, *old;
	size_t nlen = strlen(zone), flen = 0;
	char *fields = NULL;
	int r;

	if (len > 0) {
		r = fields_make(payload, len, &fields, &flen);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&zc->lock);
	zc->generation++;
	HASH_FIND(hh, zc->zones, zone, nlen, old);
	if (old && fields) {
		free(old->fields);
		old->fields = fields;
		old->fields_len = flen;
		pthread_mutex_unlock(&zc->lock);
		return 0;
	}
	if (old) {
		HASH_DEL(zc->zones, old);
		entry_free(old);
	}
	if (!fields) {
		pthread_mutex_unlock(&zc->lock);
		return 0;
	}
	e = malloc(sizeof(*e) + nlen + 1);
	if (!e) {
		pthread_mutex_unlock(&zc->lock);
		free(fields);
		return -ENOMEM;
	}
	memcpy(e->name, zone, nlen + 1);
	e->fields = fields;
	e->fields_len = flen;
	HASH_ADD(hh, zc->zones, name, nlen, e);
	if (!e->hh.tbl) {
		pthread_mutex_unlock(&zc->lock);
		entry_free(e);
		return -ENOMEM;
	}
	zc->unsorted = true;
	pthread_mutex_unlock(&zc->lock);
	return 0;
}

unsigned long zonecache_generation(struct zonecache *zc)
{
	unsigned long g;

	pthread_mutex_lock(&zc->lock);
	g = zc->generation;
	pthread_mutex_unlock(&zc->lock);
	return g;
}

static int entry_cmp(const struct entry *a, const struct entry *b)
{
	return strcmp(a->name, b->name);
}

/* The answer being written. */
struct build {
	struct buf out;
	const struct thresholds *t;
	struct entry *next; /* the next cached zone not yet listed, in name order */
};

static void put(struct build *b, const char *s, size_t n)
{
	buf_put(&b->out, s, n);
}

static void put_str(struct build *b, const char *s)
{
	buf_puts(&b->out, s);
}

/* A JSON string: MQTT topics are UTF-8, so only '"', '\' and controls need escapes. */
static void put_json_string(struct build *b, const char *s)
{
	char esc[8];

	put(b, "\"", 1);
	for (; *s; s++) {
		size_t run = strcspn(s, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
					"\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");

		put(b, s, run);
		s += run;
		if (!*s)
			break;
		snprintf(esc, sizeof(esc), *s == '"' || *s == '\\' ? "\\%c" : "\\u%04x",
			 (unsigned char)*s);
		put_str(b, esc);
	}
	put(b, "\"", 1);
}

static void zone_add(struct build *b, const char *name, const struct entry *e)
{
	char num[32];

	put_str(b, b->out.len > 1 ? ",{\"zone\":" : "{\"zone\":");
	put_json_string(b, name);
	put(b, ",", 1);
	if (e)
		put(b, e->fields, e->fields_len);
	else
		put_str(b, "\"state\":null,\"mode\":null");
	if (b->t) {
		const struct zone_params *p = thresholds_get(b->t, name);

		number_format(p->on_below, num, sizeof(num));
		put_str(b, ",\"on_below\":");
		put_str(b, num);
		number_format(p->off_above, num, sizeof(num));
		put_str(b, ",\"off_above\":");
		put_str(b, num);
		/* A dimmed zone's target in force: the page edits it. */
		if (p->target_lux > 0) {
			number_format(p->target_lux, num, sizeof(num));
			put_str(b, ",\"target_lux\":");
			put_str(b, num);
		}
	}
	put(b, "}", 1);
}

/* Lists the cached zones that sort before `name` (all of them for NULL). */
static void cached_until(struct build *b, const char *name)
{
	while (b->next && (!name || strcmp(b->next->name, name) < 0)) {
		zone_add(b, b->next->name, b->next);
		b->next = b->next->hh.next;
	}
}

static void section_add(void *ctx, const char *name, const struct zone_params *p)
{
	struct build *b = ctx;

	(void)p;
	cached_until(b, name);
	if (b->next && strcmp(b->next->name, name) == 0)
		return; /* listed with its explanation by the next cached_until */
	zone_add(b, name, NULL);
}

char *zonecache_json(struct zonecache *zc, const struct thresholds *t, size_t *len)
{
	struct build b = { .t = t };

	put(&b, "[", 1);
	pthread_mutex_lock(&zc->lock);
	if (zc->unsorted) {
		HASH_SRT(hh, zc->zones, entry_cmp);
		zc->unsorted = false;
	}
	b.next = zc->zones;
	if (t)
		thresholds_foreach_section(t, section_add, &b);
	cached_until(&b, NULL);
	pthread_mutex_unlock(&zc->lock);
	put(&b, "]", 1);
	return buf_take(&b.out, len);
}
