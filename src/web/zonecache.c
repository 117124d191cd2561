/* zonecache.c -- every zone the page lists: explanations, sections, in name order, changes */
#include "zonecache.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "buf.h"
#include "hash.h"
#include "number.h"

/*
 * A city holds 100,000 zones or more, and a page shows 200 of them: a request must cost what
 * it shows, not what the city holds. So each zone's JSON is written once, when it changes; a
 * sorted index with the names side by side in one block is rebuilt only when zones come or
 * go; the counts by state and mode follow each change; and every change takes a sequence
 * number, so that a delta walks the changes since a token, newest first, and stops.
 */

/* Distinct states and modes told apart; [0] is null, and so is any value beyond these. */
#define VALUES_MAX 16
/* Zones gone that deltas still report; past this the oldest half is forgotten. */
#define GONE_MAX 4096
#define ROW_NONE UINT32_MAX
#define ROW_FRESH (UINT32_MAX - 1) /* came since the index was built: merged in next */
/* ,"on_below":N,"off_above":N,"target_lux":N with numbers as number_format writes them */
#define THR_MAX 160
#define VALUE_LEN_MAX 64

struct entry {
	UT_hash_handle hh;
	struct entry *older, *newer; /* the change list, oldest first */
	/* the explanation's members but zone and its thresholds (fields_len bytes, none without
	 * an explanation), then ,"on_below":... in force (thr_len bytes) */
	char *text;
	uint32_t fields_len, thr_len;
	uint64_t seq;   /* the change that touched it last */
	uint64_t moved; /* the last one that changed its state or mode, or made it come or go */
	uint32_t row;   /* its place in the index; ROW_NONE while gone, or ROW_FRESH */
	uint8_t state, mode; /* indexes into the value tables */
	bool section;   /* a [zone NAME] of the thresholds in force */
	bool mark;      /* zonecache_thresholds' note of `section` before */
	char name[];
};

/* A state's or mode's distinct values and how many zones have each. */
struct values {
	char *name[VALUES_MAX]; /* name[0] NULL: null */
	size_t count[VALUES_MAX];
	unsigned n;
};

/* The index: zones in name order, their names in `names` (NUL after each), found by memmem. */
struct row {
	struct entry *e; /* NULL: gone since the index was built */
	size_t name_off;
	uint16_t name_len;
	uint8_t state, mode;
};

struct zonecache {
	pthread_mutex_t lock;
	struct entry *zones;          /* by name, the gone ones too (their names only) */
	struct entry *oldest, *newest; /* by the change that touched them last */
	uint64_t epoch, seq;
	uint64_t floor; /* the newest change forgotten: older tokens cannot be answered */
	size_t gone;
	const struct thresholds *t;
	struct values states, modes;
	struct row *rows;
	size_t nrows;
	char *names;
	size_t names_len;
	bool reindex; /* zones came or went since the index was built */
	/* The zones that came since: sorted and merged in, not the 100,000 sorted again. A
	 * zone that comes and goes before that may be freed: the index is then built anew. */
	struct entry **fresh;
	size_t nfresh, fresh_cap;
	bool rebuild;
};

static void values_init(struct values *v, const char *const *names)
{
	v->n = 1;
	for (; *names; names++)
		v->name[v->n++] = strdup(*names); /* NULL when out of memory: counted as null */
}

static void values_clear(struct values *v)
{
	for (unsigned i = 0; i < v->n; i++)
		free(v->name[i]);
}

/* The index of `s` (NULL: null), or VALUES_MAX when it was never seen. */
static unsigned values_find(const struct values *v, const char *s)
{
	if (!s)
		return 0;
	for (unsigned i = 1; i < v->n; i++)
		if (v->name[i] && !strcmp(v->name[i], s))
			return i;
	return VALUES_MAX;
}

/* The index of `s`, added if new; null when the table is full (bogus explanations). */
static uint8_t values_index(struct values *v, const char *s)
{
	unsigned i = values_find(v, s);

	if (i < VALUES_MAX)
		return (uint8_t)i;
	if (v->n == VALUES_MAX)
		return 0;
	v->name[v->n] = strdup(s);
	return v->name[v->n] ? (uint8_t)v->n++ : 0;
}

struct zonecache *zonecache_new(uint64_t epoch)
{
	static const char *const states[] = { "ON", "OFF", NULL };
	static const char *const modes[] = { "auto", "override", "failsafe", NULL };
	struct zonecache *zc = calloc(1, sizeof(*zc));

	if (!zc)
		return NULL;
	pthread_mutex_init(&zc->lock, NULL);
	zc->epoch = epoch;
	values_init(&zc->states, states);
	values_init(&zc->modes, modes);
	return zc;
}

static void entry_free(struct entry *e)
{
	free(e->text);
	free(e);
}

void zonecache_free(struct zonecache *zc)
{
	if (!zc)
		return;
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
	HASH_FREE_ALL(zc->zones, entry_free);
	values_clear(&zc->states);
	values_clear(&zc->modes);
	free(zc->rows);
	free(zc->names);
	free(zc->fresh);
	pthread_mutex_destroy(&zc->lock);
	free(zc);
}

static bool entry_alive(const struct entry *e)
{
	return e->fields_len > 0 || e->section;
}

static void count(struct zonecache *zc, const struct entry *e, int d)
{
	zc->states.count[e->state] += (size_t)d;
	zc->modes.count[e->mode] += (size_t)d;
}

static void list_unlink(struct zonecache *zc, struct entry *e)
{
	*(e->older ? &e->older->newer : &zc->oldest) = e->newer;
	*(e->newer ? &e->newer->older : &zc->newest) = e->older;
	e->older = e->newer = NULL;
}

static void list_append(struct zonecache *zc, struct entry *e)
{
	e->older = zc->newest;
	e->newer = NULL;
	*(zc->newest ? &zc->newest->newer : &zc->oldest) = e;
	zc->newest = e;
}

/* The entry becomes the newest change. */
static void touch(struct zonecache *zc, struct entry *e)
{
	list_unlink(zc, e);
	list_append(zc, e);
	e->seq = ++zc->seq;
}

/* A new entry counts as gone until it has an explanation or a section. */
static struct entry *entry_new(struct zonecache *zc, const char *name, size_t nlen)
{
	struct entry *e = calloc(1, sizeof(*e) + nlen + 1);

	if (!e)
		return NULL;
	memcpy(e->name, name, nlen + 1);
	e->row = ROW_NONE;
	HASH_ADD(hh, zc->zones, name, nlen, e);
	if (!e->hh.tbl) {
		free(e);
		return NULL;
	}
	list_append(zc, e);
	zc->gone++;
	return e;
}

/* Forgets the oldest half of the gone zones; tokens from before them get "too old". */
static void purge(struct zonecache *zc)
{
	struct entry *e = zc->oldest, *next;

	if (zc->gone <= GONE_MAX)
		return;
	for (; e && zc->gone > GONE_MAX / 2; e = next) {
		next = e->newer;
		if (entry_alive(e))
			continue;
		list_unlink(zc, e);
		/* e is in the table, so the table is not empty: the analyser loses track of that */
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		HASH_DEL(zc->zones, e);
		zc->floor = e->seq;
		zc->gone--;
		entry_free(e);
	}
}

/* ,"on_below":...,"off_above":... (and target_lux) in force for `name`; 0 bytes without t. */
static size_t thr_make(const struct thresholds *t, const char *name, char *out)
{
	const struct zone_params *p;
	char a[32], b[32], c[32];
	int n;

	if (!t)
		return 0;
	p = thresholds_get(t, name);
	number_format(p->on_below, a, sizeof(a));
	number_format(p->off_above, b, sizeof(b));
	/* A dimmed zone's target in force: the page edits it. */
	if (p->target_lux > 0)
		number_format(p->target_lux, c, sizeof(c));
	n = snprintf(out, THR_MAX, ",\"on_below\":%s,\"off_above\":%s%s%s", a, b,
		     p->target_lux > 0 ? ",\"target_lux\":" : "", p->target_lux > 0 ? c : "");
	return n > 0 && n < THR_MAX ? (size_t)n : 0;
}

/* Replaces the entry's text by `fields` and `thr`; -ENOMEM leaves it as it was. */
static int text_set(struct entry *e, const char *fields, size_t flen, const char *thr,
		    size_t tlen)
{
	char *text = NULL;

	if (flen + tlen > 0) {
		text = malloc(flen + tlen);
		if (!text)
			return -ENOMEM;
		if (flen) /* NULL with 0 bytes is still not for memcpy */
			memcpy(text, fields, flen);
		if (tlen)
			memcpy(text + flen, thr, tlen);
	}
	free(e->text);
	e->text = text;
	e->fields_len = (uint32_t)flen;
	e->thr_len = (uint32_t)tlen;
	return 0;
}

/*
 * After an entry's change: its counts, its place in the change list and in the index, and
 * whether the zones gone must be purged. `was`: alive before; `state`, `mode`: before.
 */
static void changed(struct zonecache *zc, struct entry *e, bool was, uint8_t state, uint8_t mode)
{
	bool now = entry_alive(e);

	if (now)
		count(zc, e, +1);
	touch(zc, e);
	if (was != now || state != e->state || mode != e->mode)
		e->moved = e->seq;
	if (was != now) {
		zc->reindex = true;
		zc->gone += now ? (size_t)-1 : 1;
		if (e->row == ROW_FRESH)
			zc->rebuild = true;
		else if (e->row != ROW_NONE)
			zc->rows[e->row].e = NULL;
		e->row = ROW_NONE;
		if (now && buf_grow(&zc->fresh, &zc->fresh_cap, zc->nfresh + 1,
				    sizeof(struct entry *)) == 0) {
			zc->fresh[zc->nfresh++] = e;
			e->row = ROW_FRESH;
		} else if (now) {
			zc->rebuild = true;
		}
	}
	if (!now) /* a gone zone keeps its name only */
		text_set(e, NULL, 0, NULL, 0);
	else if (e->row < ROW_FRESH) {
		zc->rows[e->row].state = e->state;
		zc->rows[e->row].mode = e->mode;
	}
}

/* A JSON object's member `key` when it is a string, copied to out (NULL when not). */
static const char *string_member(json_object *o, const char *key, char *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	snprintf(out, VALUE_LEN_MAX, "%s", json_object_get_string(v));
	return out;
}

/*
 * The members of an explanation that the zone list repeats, written once when it arrives
 * (a request then copies bytes), with its state and mode (NULL: null) for the filters.
 */
static int fields_make(const char *payload, size_t len, char **out, size_t *out_len,
		       char *state, char *mode, const char **statep, const char **modep)
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
	*statep = string_member(why, "state", state);
	*modep = string_member(why, "mode", mode);
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
	char state[VALUE_LEN_MAX], mode[VALUE_LEN_MAX], thr[THR_MAX];
	const char *statep = NULL, *modep = NULL;
	size_t nlen = strlen(zone), flen = 0, tlen;
	uint8_t old_state, old_mode;
	char *fields = NULL;
	struct entry *e;
	bool was;
	int r;

	if (len > 0) {
		r = fields_make(payload, len, &fields, &flen, state, mode, &statep, &modep);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&zc->lock);
	HASH_FIND(hh, zc->zones, zone, nlen, e);
	if (!e && !fields) {
		pthread_mutex_unlock(&zc->lock);
		return 0;
	}
	if (!e)
		e = entry_new(zc, zone, nlen);
	if (!e || (!entry_alive(e) && !fields)) {
		pthread_mutex_unlock(&zc->lock);
		free(fields);
		return e ? 0 : -ENOMEM;
	}
	was = entry_alive(e);
	old_state = e->state;
	old_mode = e->mode;
	tlen = thr_make(zc->t, zone, thr);
	r = text_set(e, fields, flen, thr, tlen);
	if (r == 0) {
		if (was)
			count(zc, e, -1);
		e->state = fields ? values_index(&zc->states, statep) : 0;
		e->mode = fields ? values_index(&zc->modes, modep) : 0;
		changed(zc, e, was, old_state, old_mode);
		purge(zc);
	}
	pthread_mutex_unlock(&zc->lock);
	free(fields);
	return r;
}

/* zonecache_thresholds' second pass: each section's zone, made when new. */
static void section_mark(void *ctx, const char *name, const struct zone_params *p)
{
	struct zonecache *zc = ctx;
	size_t nlen = strlen(name);
	struct entry *e;

	(void)p;
	HASH_FIND(hh, zc->zones, name, nlen, e);
	if (!e)
		e = entry_new(zc, name, nlen);
	if (e)
		e->section = true;
}

int zonecache_thresholds(struct zonecache *zc, const struct thresholds *t)
{
	struct entry *e, *tmp;
	char thr[THR_MAX];
	size_t tlen;
	int rc = 0;

	pthread_mutex_lock(&zc->lock);
	zc->t = t;
	HASH_ITER(hh, zc->zones, e, tmp) {
		e->mark = e->section;
		e->section = false;
	}
	if (t)
		thresholds_foreach_section(t, section_mark, zc);
	HASH_ITER(hh, zc->zones, e, tmp) {
		bool was = e->fields_len > 0 || e->mark, now = entry_alive(e);

		if (!was && !now)
			continue;
		tlen = now ? thr_make(t, e->name, thr) : 0;
		if (was == now && tlen == e->thr_len &&
		    (tlen == 0 || !memcmp(e->text + e->fields_len, thr, tlen)))
			continue;
		if (text_set(e, e->text, e->fields_len, thr, tlen) < 0) {
			e->section = e->mark;
			rc = -ENOMEM;
			continue;
		}
		if (was)
			count(zc, e, -1);
		changed(zc, e, was, e->state, e->mode);
	}
	purge(zc);
	pthread_mutex_unlock(&zc->lock);
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp((*(struct entry *const *)a)->name, (*(struct entry *const *)b)->name);
}

/* Every zone alive, from the table (after a zone that came went before being indexed). */
static int fresh_all(struct zonecache *zc)
{
	struct entry *e, *tmp;

	zc->nfresh = 0;
	HASH_ITER(hh, zc->zones, e, tmp) {
		if (!entry_alive(e))
			continue;
		if (buf_grow(&zc->fresh, &zc->fresh_cap, zc->nfresh + 1, sizeof(struct entry *)) < 0)
			return -ENOMEM;
		zc->fresh[zc->nfresh++] = e;
	}
	zc->nrows = 0; /* the old index is not merged: all its zones are in fresh */
	return 0;
}

/* Appends `e`, named `name` (nlen bytes), as the next row of the index being built. */
static void row_put(struct row *rows, size_t *n, char *names, size_t *len, struct entry *e,
		    const char *name, size_t nlen)
{
	struct row *r = &rows[*n];

	*r = (struct row){ .e = e, .name_off = *len, .name_len = (uint16_t)nlen,
			   .state = e->state, .mode = e->mode };
	e->row = (uint32_t)(*n)++;
	memcpy(names + *len, name, nlen + 1);
	*len += nlen + 1;
}

/*
 * Brings the index up to date when zones came or went: the zones that came are sorted and
 * merged with the old rows (whose names are read side by side from the old block), the
 * gone ones left out. -ENOMEM keeps the old one, still stale.
 */
static int index_refresh(struct zonecache *zc)
{
	size_t len = 0, nrows = 0, i = 0, j = 0;
	struct row *rows;
	char *names;

	if (!zc->reindex)
		return 0;
	if (zc->rebuild && fresh_all(zc) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < zc->nfresh; k++)
		len += strlen(zc->fresh[k]->name) + 1;
	rows = malloc((zc->nrows + zc->nfresh + 1) * sizeof(*rows));
	names = malloc(zc->names_len + len + 1);
	if (!rows || !names) {
		free(rows);
		free(names);
		return -ENOMEM;
	}
	qsort(zc->fresh, zc->nfresh, sizeof(struct entry *), entry_cmp);
	len = 0;
	while (i < zc->nrows || j < zc->nfresh) {
		if (i < zc->nrows && !zc->rows[i].e) {
			i++;
		} else if (j == zc->nfresh || (i < zc->nrows &&
			   strcmp(zc->names + zc->rows[i].name_off, zc->fresh[j]->name) < 0)) {
			const struct row *r = &zc->rows[i++];

			row_put(rows, &nrows, names, &len, r->e, zc->names + r->name_off,
				r->name_len);
		} else {
			struct entry *e = zc->fresh[j++];

			row_put(rows, &nrows, names, &len, e, e->name, strlen(e->name));
		}
	}
	free(zc->rows);
	free(zc->names);
	zc->rows = rows;
	zc->nrows = nrows;
	zc->names = names;
	zc->names_len = len;
	zc->nfresh = 0;
	zc->rebuild = false;
	zc->reindex = false;
	return 0;
}

/* A filter resolved against the value tables. */
struct want {
	const char *q;
	size_t qlen;
	bool none; /* a state or mode never seen: nothing passes */
	int state, mode; /* -1: any */
};

static void want_make(const struct zonecache *zc, const struct zonecache_filter *f,
		      struct want *w)
{
	unsigned s = f->by_state ? values_find(&zc->states, f->state) : 0;
	unsigned m = f->by_mode ? values_find(&zc->modes, f->mode) : 0;

	w->q = f->q && f->q[0] ? f->q : NULL;
	w->qlen = w->q ? strlen(w->q) : 0;
	w->none = s == VALUES_MAX || m == VALUES_MAX;
	w->state = f->by_state ? (int)s : -1;
	w->mode = f->by_mode ? (int)m : -1;
}

static bool passes(const struct want *w, uint8_t state, uint8_t mode)
{
	return !w->none && (w->state < 0 || w->state == state) && (w->mode < 0 || w->mode == mode);
}

/* A JSON string: MQTT topics are UTF-8, so only '"', '\' and controls need escapes. */
static void put_json_string(struct buf *b, const char *s)
{
	char esc[8];

	buf_put(b, "\"", 1);
	for (; *s; s++) {
		size_t run = strcspn(s, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
					"\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");

		buf_put(b, s, run);
		s += run;
		if (!*s)
			break;
		snprintf(esc, sizeof(esc), *s == '"' || *s == '\\' ? "\\%c" : "\\u%04x",
			 (unsigned char)*s);
		buf_puts(b, esc);
	}
	buf_put(b, "\"", 1);
}

/* One zone's object, after a comma unless `first`. */
static void zone_put(struct buf *b, const struct entry *e, bool first)
{
	buf_puts(b, first ? "{\"zone\":" : ",{\"zone\":");
	put_json_string(b, e->name);
	buf_put(b, ",", 1);
	if (e->fields_len)
		buf_put(b, e->text, e->fields_len);
	else
		buf_puts(b, "\"state\":null,\"mode\":null");
	if (e->thr_len)
		buf_put(b, e->text + e->fields_len, e->thr_len);
	buf_put(b, "}", 1);
}

char *zonecache_json(struct zonecache *zc, size_t *len)
{
	struct buf b = { 0 };

	buf_put(&b, "[", 1);
	pthread_mutex_lock(&zc->lock);
	if (index_refresh(zc) < 0)
		b.nomem = true;
	for (size_t i = 0; !zc->reindex && i < zc->nrows; i++)
		zone_put(&b, zc->rows[i].e, i == 0);
	pthread_mutex_unlock(&zc->lock);
	buf_put(&b, "]", 1);
	return buf_take(&b, len);
}

/*
 * Counts the rows passing `w`, and writes those from the offset-th for at most `limit` into
 * `out`. With a substring, memmem runs over all the names at once, not name by name.
 */
static size_t scan(const struct zonecache *zc, const struct want *w, size_t offset,
		   size_t limit, struct buf *out)
{
	const char *names = zc->names, *p;
	size_t total = 0, pos = 0, i = 0;

	if (w->none || !zc->nrows)
		return 0;
	while (i < zc->nrows) {
		const struct row *r;

		if (w->q) {
			size_t end;

			p = memmem(names + pos, zc->names_len - pos, w->q, w->qlen);
			if (!p)
				break;
			/* the row whose name holds the match: names never hold a NUL */
			end = (size_t)(p - names) + w->qlen;
			while (zc->rows[i].name_off + zc->rows[i].name_len < end)
				i++;
		}
		r = &zc->rows[i++];
		pos = r->name_off + r->name_len + 1;
		if (!passes(w, r->state, r->mode))
			continue;
		if (total >= offset && total - offset < limit)
			zone_put(out, r->e, total == offset);
		total++;
	}
	return total;
}

static void values_put(struct buf *b, const struct values *v)
{
	char num[32];

	buf_puts(b, "{\"null\":");
	snprintf(num, sizeof(num), "%zu", v->count[0]);
	buf_puts(b, num);
	for (unsigned i = 1; i < v->n; i++) {
		if (!v->name[i])
			continue;
		buf_put(b, ",", 1);
		put_json_string(b, v->name[i]);
		snprintf(num, sizeof(num), ":%zu", v->count[i]);
		buf_puts(b, num);
	}
	buf_put(b, "}", 1);
}

/* {"token":...,"total":N,"counts":{...}, with the members every answer has. */
static void head_put(struct buf *b, const struct zonecache *zc, size_t total)
{
	char num[80];

	snprintf(num, sizeof(num), "{\"token\":\"%" PRIx64 "-%" PRIx64 "\",\"total\":%zu",
		 zc->epoch, zc->seq, total);
	buf_puts(b, num);
	buf_puts(b, ",\"counts\":{\"state\":");
	values_put(b, &zc->states);
	buf_puts(b, ",\"mode\":");
	values_put(b, &zc->modes);
	buf_puts(b, "}");
}

char *zonecache_page(struct zonecache *zc, const struct zonecache_filter *f, size_t offset,
		     size_t limit, size_t *len)
{
	struct buf zones = { 0 }, b = { 0 };
	struct want w;
	size_t total;
	char *out;

	pthread_mutex_lock(&zc->lock);
	if (index_refresh(zc) < 0) {
		pthread_mutex_unlock(&zc->lock);
		return NULL;
	}
	want_make(zc, f, &w);
	total = scan(zc, &w, offset, limit, &zones);
	head_put(&b, zc, total);
	pthread_mutex_unlock(&zc->lock);
	buf_puts(&b, ",\"zones\":[");
	if (zones.len)
		buf_put(&b, zones.data, zones.len);
	buf_puts(&b, "]}");
	buf_clear(&zones);
	out = buf_take(&b, len);
	return out;
}

/* "EPOCH-SEQ" in hex, as head_put writes it. */
static int token_parse(const char *s, uint64_t *epoch, uint64_t *seq)
{
	char *end;

	if (!s || !strchr("0123456789abcdef", s[0]) || !s[0])
		return -EINVAL;
	*epoch = strtoull(s, &end, 16);
	if (*end != '-' || !strchr("0123456789abcdef", end[1]) || !end[1])
		return -EINVAL;
	*seq = strtoull(end + 1, &end, 16);
	return *end ? -EINVAL : 0;
}

/* The zones changed after `since` passing `w` (name order), and those to drop. */
static int changes(struct zonecache *zc, const struct want *w, uint64_t since, size_t limit,
		   struct entry **kept, size_t *nkept, struct entry **dropped, size_t *ndropped)
{
	*nkept = *ndropped = 0;
	for (struct entry *e = zc->newest; e && e->seq > since; e = e->older) {
		bool alive = entry_alive(e);

		if (w->q && !strstr(e->name, w->q))
			continue;
		if (alive && passes(w, e->state, e->mode))
			kept[(*nkept)++] = e;
		else if (!alive || e->moved > since)
			dropped[(*ndropped)++] = e;
		else
			continue;
		if (*nkept + *ndropped > limit)
			return -E2BIG;
	}
	qsort(kept, *nkept, sizeof(struct entry *), entry_cmp);
	qsort(dropped, *ndropped, sizeof(struct entry *), entry_cmp);
	return 0;
}

int zonecache_since(struct zonecache *zc, const struct zonecache_filter *f, const char *token,
		    size_t limit, char **out, size_t *len)
{
	struct entry **kept = calloc(limit + 1, sizeof(struct entry *));
	struct entry **dropped = calloc(limit + 1, sizeof(struct entry *));
	size_t nkept = 0, ndropped = 0, total;
	struct buf b = { 0 };
	uint64_t epoch, since;
	struct want w;
	int rc = token_parse(token, &epoch, &since);

	if (rc == 0 && (!kept || !dropped))
		rc = -ENOMEM;
	pthread_mutex_lock(&zc->lock);
	if (rc == 0 && (epoch != zc->epoch || since > zc->seq || since < zc->floor))
		rc = -ESTALE;
	if (rc == 0)
		rc = index_refresh(zc);
	if (rc == 0) {
		want_make(zc, f, &w);
		rc = changes(zc, &w, since, limit, kept, &nkept, dropped, &ndropped);
	}
	if (rc == 0) {
		total = scan(zc, &w, 0, 0, NULL);
		head_put(&b, zc, total);
		buf_puts(&b, ",\"zones\":[");
		for (size_t i = 0; i < nkept; i++)
			zone_put(&b, kept[i], i == 0);
		buf_puts(&b, "],\"removed\":[");
		for (size_t i = 0; i < ndropped; i++) {
			if (i)
				buf_put(&b, ",", 1);
			put_json_string(&b, dropped[i]->name);
		}
		buf_puts(&b, "]}");
	}
	pthread_mutex_unlock(&zc->lock);
	free(kept);
	free(dropped);
	if (rc == 0) {
		*out = buf_take(&b, len);
		rc = *out ? 0 : -ENOMEM;
	}
	return rc;
}
