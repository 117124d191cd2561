/* zonecache.c -- the latest retained explanation of each zone, as pylightd published it */
#include "zonecache.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "number.h"

struct entry {
	UT_hash_handle hh;
	json_object *why; /* touched only under the cache's lock: json-c counts references unlocked */
	char name[];
};

struct zonecache {
	pthread_mutex_t lock;
	struct entry *zones;
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
	json_object_put(e->why);
	free(e);
}

void zonecache_free(struct zonecache *zc)
{
	struct entry *e, *tmp;

	if (!zc)
		return;
	HASH_ITER(hh, zc->zones, e, tmp) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		HASH_DEL(zc->zones, e);
		entry_free(e);
	}
	pthread_mutex_destroy(&zc->lock);
	free(zc);
}

int zonecache_put(struct zonecache *zc, const char *zone, const char *payload, size_t len)
{
	json_object *why = NULL;
	struct entry *e, *old;
	size_t nlen = strlen(zone);

	if (len > 0) {
		json_tokener *tok = json_tokener_new();

		if (!tok)
			return -ENOMEM;
		why = json_tokener_parse_ex(tok, payload, (int)len);
		json_tokener_free(tok);
		if (!json_object_is_type(why, json_type_object)) {
			json_object_put(why);
			return -EINVAL;
		}
	}
	pthread_mutex_lock(&zc->lock);
	HASH_FIND(hh, zc->zones, zone, nlen, old);
	if (old && why) {
		json_object_put(old->why);
		old->why = why;
		pthread_mutex_unlock(&zc->lock);
		return 0;
	}
	if (old) {
		HASH_DEL(zc->zones, old);
		entry_free(old);
	}
	if (!why) {
		pthread_mutex_unlock(&zc->lock);
		return 0;
	}
	e = malloc(sizeof(*e) + nlen + 1);
	if (!e) {
		pthread_mutex_unlock(&zc->lock);
		json_object_put(why);
		return -ENOMEM;
	}
	memcpy(e->name, zone, nlen + 1);
	e->why = why;
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

static int entry_cmp(const struct entry *a, const struct entry *b)
{
	return strcmp(a->name, b->name);
}

/* A threshold as ref.txt would write it: 300, not 300.0. */
static json_object *number_new(double v)
{
	char buf[32];

	number_format(v, buf, sizeof(buf));
	return json_object_new_double_s(v, buf);
}

struct build {
	json_object *list;
	const struct thresholds *t;
	struct entry *next; /* the next cached zone not yet listed, in name order */
	bool nomem;
};

static void zone_add(struct build *b, const char *name, json_object *why)
{
	json_object *o = json_object_new_object();

	if (!o || json_object_array_add(b->list, o) < 0) {
		json_object_put(o);
		b->nomem = true;
		return;
	}
	json_object_object_add(o, "zone", json_object_new_string(name));
	json_object_object_add(o, "state", NULL);
	json_object_object_add(o, "mode", NULL);
	if (why) {
		json_object_object_foreach(why, key, val) {
			if (strcmp(key, "zone") != 0)
				json_object_object_add(o, key, json_object_get(val));
		}
	}
	if (b->t) {
		const struct zone_params *p = thresholds_get(b->t, name);

		json_object_object_add(o, "on_below", number_new(p->on_below));
		json_object_object_add(o, "off_above", number_new(p->off_above));
	}
}

/* Lists the cached zones that sort before `name` (all of them for NULL). */
static void cached_until(struct build *b, const char *name)
{
	while (b->next && (!name || strcmp(b->next->name, name) < 0)) {
		zone_add(b, b->next->name, b->next->why);
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
	const char *s;
	char *out = NULL;
	size_t n;

	b.list = json_object_new_array();
	if (!b.list)
		return NULL;
	pthread_mutex_lock(&zc->lock);
	if (zc->unsorted) {
		HASH_SRT(hh, zc->zones, entry_cmp);
		zc->unsorted = false;
	}
	b.next = zc->zones;
	if (t)
		thresholds_each_section(t, section_add, &b);
	cached_until(&b, NULL);
	s = b.nomem ? NULL : json_object_to_json_string_length(b.list, JSON_C_TO_STRING_PLAIN, &n);
	if (s) {
		out = malloc(n + 1);
		if (out) {
			memcpy(out, s, n + 1);
			*len = n;
		}
	}
	json_object_put(b.list); /* under the lock: it drops references to cached values */
	pthread_mutex_unlock(&zc->lock);
	return out;
}
