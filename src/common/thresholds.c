/* thresholds.c -- ref.txt's table: the key table, the sections' index and order, lookups, dump */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "names.h"
#include "number.h"
#include "schedule.h"
#include "thresholds_impl.h"

#define KEY(id, field, key_type, ...)                                                    \
	[id] = { .name = #field, .type = key_type, .offset = offsetof(struct zone_params, field), \
		 .size = sizeof(((struct zone_params *)0)->field), __VA_ARGS__ }

const struct key keys[NKEYS] = {
	KEY(K_ON_BELOW, on_below, KEY_LUX),
	KEY(K_OFF_ABOVE, off_above, KEY_LUX),
	KEY(K_MIN_ON, min_on, KEY_DURATION),
	KEY(K_MIN_OFF, min_off, KEY_DURATION),
	KEY(K_SMOOTHING, smoothing, KEY_COUNT, .lo = 1, .hi = SMOOTHING_MAX),
	KEY(K_LAMP_LUX, lamp_lux, KEY_LUX),
	KEY(K_OVERRIDE_FOR, override_for, KEY_DURATION),
	KEY(K_STALE_AFTER, stale_after, KEY_DURATION),
	KEY(K_FAILSAFE, failsafe, KEY_FAILSAFE),
	KEY(K_SENSORS, sensors, KEY_SENSORS),
	KEY(K_AGGREGATE, aggregate, KEY_AGGREGATE),
	KEY(K_MIN_SENSORS, min_sensors, KEY_COUNT, .lo = 1, .hi = SENSORS_MAX),
	KEY(K_FEEDBACK, feedback, KEY_TOPIC),
	KEY(K_FEEDBACK_FIELD, feedback_field, KEY_FIELD),
	KEY(K_CONFIRM_WITHIN, confirm_within, KEY_DURATION),
	KEY(K_RETRIES, retries, KEY_COUNT, .lo = 0, .hi = RETRIES_MAX),
	KEY(K_MANUAL, manual, KEY_MANUAL),
	KEY(K_TARGET_LUX, target_lux, KEY_TARGET),
	KEY(K_LEVEL_MIN, level_min, KEY_PERCENT, .lo = 1, .hi = 100),
	KEY(K_MAX_STEP, max_step, KEY_PERCENT, .lo = 1, .hi = 100),
	KEY(K_DEADBAND, deadband, KEY_PERCENT, .lo = 0, .hi = DEADBAND_MAX),
	/* The size of a pointer is what is meant: the table is shared, the pointer copied. */
	/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
	KEY(K_SCHEDULE, schedule, KEY_SCHEDULE),
	KEY(K_OUTSIDE, outside, KEY_OUTSIDE),
	/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
	KEY(K_OCCUPANCY, occupancy, KEY_OCCUPANCY),
	KEY(K_OCCUPANCY_FIELD, occupancy_field, KEY_FIELD),
	KEY(K_VACANCY_AFTER, vacancy_after, KEY_DURATION),
};

/* The name a taken slot of the index of sensors, or of sections, stands for. */
typedef const char *slot_name_fn(const struct thresholds *t, uint32_t slot);

static const char *sensor_slot_name(const struct thresholds *t, uint32_t slot)
{
	return sensor_name(t, &t->sensors[slot - 1]);
}

static const char *section_slot_name(const struct thresholds *t, uint32_t slot)
{
	return section_name(t, &t->sections[section_number(slot) - 1]);
}

/*
 * Both indexes probe alike: from `h`, the hash of the `len` bytes at `name`, to the slot that
 * holds that name or the free one it would take. *tag gets the hash's `tag_bits`; a slot whose
 * tag_bits differ holds another name, and its name is not read (0 for the sensors' index).
 */
static inline uint32_t *index_probe(const struct thresholds *t, uint32_t *index, uint32_t mask,
				    uint32_t tag_bits, slot_name_fn *slot_name, const char *name,
				    size_t len, unsigned h, uint32_t *tag)
{
	*tag = h & tag_bits;
	for (;; h++) {
		uint32_t *slot = &index[h & mask];
		const char *s;

		if (!*slot)
			return slot;
		if ((*slot & tag_bits) != *tag)
			continue;
		s = slot_name(t, *slot);
		if (strncmp(s, name, len) == 0 && s[len] == '\0')
			return slot;
	}
}

uint32_t *thresholds_index_slot(const struct thresholds *t, const char *name, size_t len)
{
	uint32_t no_tag;
	unsigned h;

	HASH_VALUE(name, len, h);
	return index_probe(t, t->index, t->index_mask, 0, sensor_slot_name, name, len, h, &no_tag);
}

/* thresholds_section_slot of a name whose hash is known. */
static uint32_t *section_slot_hashed(const struct thresholds *t, const char *name, size_t len,
				     unsigned h, uint32_t *tag)
{
	return index_probe(t, t->by_name, t->by_name_mask, SECTION_TAG_BITS, section_slot_name,
			   name, len, h, tag);
}

uint32_t *thresholds_section_slot(const struct thresholds *t, const char *name, size_t len,
				  uint32_t *tag)
{
	unsigned h;

	HASH_VALUE(name, len, h);
	return section_slot_hashed(t, name, len, h, tag);
}

/* How many slots ahead of its insertion a section's slot is fetched into the cache. */
#define INDEX_AHEAD 16

/*
 * (thresholds_impl.h) Every name is known to be new, so a section takes the first free slot
 * from its hash without reading any other name. At a million sections each slot is a cache
 * miss: the slots of the sections INDEX_AHEAD further on are fetched while these are put.
 */
int thresholds_sections_index(struct thresholds *t, size_t more)
{
	size_t n = 64, count = t->nsections;
	uint32_t hashes[INDEX_AHEAD], *index;

	while (n < 2 * (count + more))
		n *= 2;
	if (n > (size_t)UINT32_MAX + 1 || !(index = calloc(n, sizeof(*index))))
		return -ENOMEM;
	free(t->by_name);
	t->by_name = index;
	t->by_name_mask = (uint32_t)(n - 1);
	for (size_t i = 0; i < count + INDEX_AHEAD; i++) {
		uint32_t *hash = &hashes[i % INDEX_AHEAD]; /* section i's, after section i - AHEAD's */

		if (i >= INDEX_AHEAD) {
			uint32_t h = *hash;

			while (index[h & t->by_name_mask])
				h++;
			index[h & t->by_name_mask] = (*hash & SECTION_TAG_BITS) |
						     (uint32_t)(i - INDEX_AHEAD + 1);
		}
		if (i < count) {
			const char *name = section_name(t, &t->sections[i]);
			unsigned h;

			HASH_VALUE(name, strlen(name), h);
			*hash = h;
			__builtin_prefetch(&index[h & t->by_name_mask], 1);
		}
	}
	return 0;
}

/* (thresholds_impl.h) A new index is made at most a few times, each time twice as large. */
int thresholds_sections_room(struct thresholds *t, size_t more)
{
	size_t slots = t->by_name ? (size_t)t->by_name_mask + 1 : 0;

	if (2 * (t->nsections + more) <= slots)
		return 0;
	return thresholds_sections_index(t, more);
}

/* A hash of the parameters' bytes, a word at a time (FNV-1a's mixing, by words). */
static uint64_t params_hash(const struct zone_params *p)
{
	_Static_assert(sizeof(*p) % sizeof(uint64_t) == 0, "zone_params is hashed by words");
	uint64_t h = 14695981039346656037u, w;

	for (size_t i = 0; i < sizeof(*p); i += sizeof(w)) {
		memcpy(&w, (const char *)p + i, sizeof(w));
		h = (h ^ w) * 1099511628211u;
	}
	return h ^ (h >> 29);
}

/* (thresholds_impl.h) An index at most half full, doubled when it would be more. */
int thresholds_params_intern(struct thresholds *t, const struct zone_params *p,
			     uint32_t *number)
{
	uint32_t *slot;
	uint64_t h = params_hash(p);

	if (!t->params_index || 2 * (t->nparams + 1) > (size_t)t->params_mask + 1) {
		size_t n = t->params_index ? 2 * ((size_t)t->params_mask + 1) : 64;
		uint32_t *index;

		if (t->nparams >= UINT32_MAX / 2 || !(index = calloc(n, sizeof(*index))))
			return -ENOMEM;
		for (size_t i = 0; i < t->nparams; i++) {
			size_t j = params_hash(&t->params[i]);

			while (index[j & (n - 1)])
				j++;
			index[j & (n - 1)] = (uint32_t)i + 1;
		}
		free(t->params_index);
		t->params_index = index;
		t->params_mask = (uint32_t)(n - 1);
	}
	for (;; h++) {
		slot = &t->params_index[h & t->params_mask];
		if (!*slot)
			break;
		/*
		 * Equal bytes, which the struct's lack of padding makes its members' (0 and -0,
		 * equal as numbers, are simply not shared).
		 */
		/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
		if (memcmp(&t->params[*slot - 1], p, sizeof(*p)) == 0) {
			*number = *slot - 1;
			return 0;
		}
	}
	if (buf_grow(&t->params, &t->params_cap, t->nparams + 1, sizeof(*t->params)) < 0)
		return -ENOMEM;
	memcpy(&t->params[t->nparams], p, sizeof(*p));
	*number = (uint32_t)t->nparams++;
	*slot = *number + 1;
	return 0;
}

void thresholds_params_done(struct thresholds *t)
{
	struct zone_params *fit;

	free(t->params_index);
	t->params_index = NULL;
	t->params_mask = 0;
	if (t->nparams && t->nparams < t->params_cap &&
	    (fit = realloc(t->params, t->nparams * sizeof(*fit)))) {
		t->params = fit;
		t->params_cap = t->nparams;
	}
}

/* How many section headers `text` may hold: its '[', or one more than max_zones allows. */
size_t thresholds_sections_bound(const char *text, size_t len, size_t max_zones)
{
	const char *p = text, *end = text + len;
	size_t n = 0;

	while ((p = memchr(p, '[', (size_t)(end - p))) && (!max_zones || n <= max_zones)) {
		n++;
		p++;
	}
	return n;
}

static int section_cmp(const void *a, const void *b, void *arg)
{
	const struct thresholds *t = arg;

	return strcmp(section_name(t, &t->sections[*(const uint32_t *)a]),
		      section_name(t, &t->sections[*(const uint32_t *)b]));
}

/*
 * (thresholds_impl.h) A generated file is usually in order already: then this is one pass.
 * Otherwise the order is sorted as numbers and applied in place, so that a million sections
 * are never held twice, and the index's slots are renumbered, not rebuilt.
 */
int thresholds_sections_sort(struct thresholds *t)
{
	size_t n = t->nsections, i;
	uint32_t *order, *moved;

	for (i = 1; i < n; i++)
		if (strcmp(section_name(t, &t->sections[i - 1]), section_name(t, &t->sections[i])) > 0)
			break;
	if (i >= n)
		return 0;
	order = malloc(n * sizeof(*order));
	moved = malloc(n * sizeof(*moved));
	if (!order || !moved) {
		free(order);
		free(moved);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, n, sizeof(*order), section_cmp, t);
	/* The index keeps its slots: only the numbers in them change, to where each section goes. */
	for (i = 0; i < n; i++)
		moved[order[i]] = (uint32_t)i;
	for (i = 0; i <= t->by_name_mask; i++)
		if (t->by_name[i])
			t->by_name[i] = (t->by_name[i] & SECTION_TAG_BITS) |
					(moved[section_number(t->by_name[i]) - 1] + 1);
	free(moved);
	/* Position i takes the section at order[i]: follow each cycle once, marking it done. */
	for (i = 0; i < n; i++) {
		struct zone_section keep;
		size_t j = i;

		if (order[i] == i)
			continue;
		keep = t->sections[i];
		while (order[j] != i) {
			size_t from = order[j];

			t->sections[j] = t->sections[from];
			order[j] = (uint32_t)j;
			j = from;
		}
		t->sections[j] = keep;
		order[j] = (uint32_t)j;
	}
	free(order);
	return 0;
}

/* The section named `zone`, or NULL. */
static const struct zone_section *section_find(const struct thresholds *t, const char *zone)
{
	const uint32_t *slot;
	uint32_t tag;

	if (!t->nsections)
		return NULL;
	slot = thresholds_section_slot(t, zone, strlen(zone), &tag);
	return *slot ? &t->sections[section_number(*slot) - 1] : NULL;
}

void thresholds_free(struct thresholds *t)
{
	if (!t)
		return;
	while (t->texts) {
		struct text *next = t->texts->next;

		free(t->texts);
		t->texts = next;
	}
	while (t->owned) {
		struct owned *next = t->owned->next;

		free(t->owned->p);
		free(t->owned);
		t->owned = next;
	}
	free(t->sensors);
	free(t->names);
	free(t->index);
	free(t->sections);
	free(t->by_name);
	free(t->params);
	free(t->params_index);
	free(t);
}

/* The words of the enums, indexed by them: what -t prints and what ref.txt may say. */
static const char *const manual_names[] = { "override", "enforce", "ignore" };
static const char *const failsafe_names[] = { "hold", "on", "off" };
static const char *const aggregate_names[] = { "median", "mean", "min", "max" };
static const char *const outside_names[] = { "off", "on", "hold" };

/* The parser stores a word's index in these fields, and -t reads it back, as an unsigned. */
_Static_assert(sizeof(enum failsafe) == sizeof(unsigned) &&
		       sizeof(enum aggregate) == sizeof(unsigned) &&
		       sizeof(enum manual) == sizeof(unsigned) &&
		       sizeof(enum outside) == sizeof(unsigned),
	       "the enum keys are stored as unsigned");

const struct words key_words[] = {
	[KEY_FAILSAFE] = { NAMES(failsafe_names), "hold, on or off" },
	[KEY_AGGREGATE] = { NAMES(aggregate_names), "median, mean, min or max" },
	[KEY_MANUAL] = { NAMES(manual_names), "override, enforce or ignore" },
	[KEY_OUTSIDE] = { NAMES(outside_names), "off, on or hold" },
};

const char *manual_name(enum manual m)
{
	return name_of(NAMES(manual_names), m);
}

const char *failsafe_name(enum failsafe f)
{
	return name_of(NAMES(failsafe_names), f);
}

const char *aggregate_name(enum aggregate a)
{
	return name_of(NAMES(aggregate_names), a);
}

const char *outside_name(enum outside o)
{
	return name_of(NAMES(outside_names), o);
}

const struct zone_params *thresholds_global(const struct thresholds *t)
{
	return &t->global;
}

/* A topic already handed out by thresholds_foreach_feedback. */
struct topic_seen {
	UT_hash_handle hh;
	const char *topic;
};

void thresholds_foreach_feedback(const struct thresholds *t,
				 void (*fn)(const char *topic, void *ctx), void *ctx)
{
	size_t n = t->nsections + 1, used = 0, next = 0;
	struct topic_seen *seen = NULL, *all = calloc(n, sizeof(*all)), *s;
	const char *topic = t->global.feedback;

	/* Zones may share a lamp's topic: each topic once. */
	for (;;) {
		HASH_FIND_STR(seen, topic, s);
		if (topic[0] && !s) {
			fn(topic, ctx);
			if (all) {
				all[used].topic = topic;
				HASH_ADD_KEYPTR(hh, seen, topic, strlen(topic), &all[used]);
				used++;
			}
		}
		if (next == t->nsections)
			break;
		topic = section_params(t, &t->sections[next++])->feedback;
	}
	HASH_CLEAR(hh, seen);
	free(all);
}

const struct zone_params *thresholds_get(const struct thresholds *t, const char *zone)
{
	const struct zone_section *z = section_find(t, zone);

	return z ? section_params(t, z) : &t->global;
}

/*
 * (thresholds.h) A lookup reads a slot of the index, then the section it names, then that
 * section's name: each pass below fetches one of the three for every zone, and the last
 * looks each zone up with all of them in the cache.
 */
void thresholds_get_many(const struct thresholds *t, const char *const *zones, size_t n,
			 const struct zone_params **out)
{
	unsigned hash[THRESHOLDS_GET_MANY];
	uint32_t slot[THRESHOLDS_GET_MANY], tag;

	if (n > THRESHOLDS_GET_MANY)
		n = THRESHOLDS_GET_MANY;
	if (!t->nsections) {
		for (size_t i = 0; i < n; i++)
			out[i] = &t->global;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		HASH_VALUE(zones[i], strlen(zones[i]), hash[i]);
		__builtin_prefetch(&t->by_name[hash[i] & t->by_name_mask]);
	}
	/* The first slot with the name's tag is most likely its own (or the first free one). */
	for (size_t i = 0; i < n; i++) {
		unsigned h = hash[i];

		while ((slot[i] = t->by_name[h & t->by_name_mask]) &&
		       (slot[i] & SECTION_TAG_BITS) != (hash[i] & SECTION_TAG_BITS))
			h++;
		if (slot[i])
			__builtin_prefetch(&t->sections[section_number(slot[i]) - 1]);
	}
	for (size_t i = 0; i < n; i++)
		if (slot[i])
			__builtin_prefetch(section_name(t, &t->sections[section_number(slot[i]) - 1]));
	for (size_t i = 0; i < n; i++) {
		const uint32_t *s =
			section_slot_hashed(t, zones[i], strlen(zones[i]), hash[i], &tag);

		out[i] = *s ? section_params(t, &t->sections[section_number(*s) - 1]) : &t->global;
	}
}

int thresholds_sensor(const struct thresholds *t, const char *name, const char **zone)
{
	uint32_t *slot;

	if (!t->nsensors)
		return -1;
	slot = thresholds_index_slot(t, name, strlen(name));
	if (!*slot)
		return -1;
	*zone = t->names + t->sensors[*slot - 1].zone;
	return (int)(*slot - 1);
}

unsigned thresholds_sensor_count(const struct thresholds *t)
{
	return t->nsensors;
}

const char *thresholds_sensor_name(const struct thresholds *t, unsigned index)
{
	return sensor_name(t, &t->sensors[index]);
}

bool thresholds_has_section(const struct thresholds *t, const char *zone)
{
	return section_find(t, zone) != NULL;
}

size_t thresholds_sections(const struct thresholds *t)
{
	return t->nsections;
}

void thresholds_describe(const struct thresholds *t, char *buf, size_t len)
{
	size_t n = t->nsections;
	char on[32], off[32];

	number_format(t->global.on_below, on, sizeof(on));
	number_format(t->global.off_above, off, sizeof(off));
	if (t->nsensors)
		snprintf(buf, len, "on_below %s off_above %s, %zu zone section%s, %u sensor%s", on,
			 off, n, n == 1 ? "" : "s", t->nsensors, t->nsensors == 1 ? "" : "s");
	else
		snprintf(buf, len, "on_below %s off_above %s, %zu zone section%s", on, off, n,
			 n == 1 ? "" : "s");
}

/* Milliseconds as seconds with no trailing zeros: 30000 -> "30", 1500 -> "1.5". */
static void format_seconds(int64_t ms, char *buf, size_t size)
{
	char tmp[32], *s = tmp + sizeof(tmp);
	int64_t whole = ms / 1000;
	int frac = (int)(ms % 1000), n;

	if (ms < 0) { /* never in a parsed table, which refuses negative durations */
		n = snprintf(buf, size, "%lld.%03d", (long long)whole, frac);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		return;
	}
	*--s = '\0';
	if (frac) {
		for (n = 3; frac % 10 == 0; n--)
			frac /= 10;
		while (n-- > 0) {
			*--s = (char)('0' + frac % 10);
			frac /= 10;
		}
		*--s = '.';
	}
	do
		*--s = (char)('0' + whole % 10);
	while (whole /= 10);
	if ((size_t)(tmp + sizeof(tmp) - s) <= size)
		memcpy(buf, s, (size_t)(tmp + sizeof(tmp) - s));
	else if (size)
		buf[0] = '\0';
}

/* An unsigned number in decimal, written at the end of buf[24]; returns where it starts. */
static const char *format_unsigned(unsigned v, char buf[24])
{
	char *s = buf + 23;

	*s = '\0';
	do
		*--s = (char)('0' + v % 10);
	while (v /= 10);
	return s;
}

/* "KEY = VALUE\n", or "KEY =\n" when VALUE is empty. */
static void put_key(struct buf *b, const char *key, const char *value, const char *unit)
{
	buf_puts(b, key);
	buf_puts(b, *value ? " = " : " =");
	buf_puts(b, value);
	buf_puts(b, unit);
	buf_put(b, "\n", 1);
}

/* The windows in their canonical spelling; empty without a schedule. */
static void schedule_put(struct buf *b, const struct schedule *s)
{
	char text[SCHEDULE_WINDOWS * 48];

	if (!s) {
		buf_puts(b, "schedule =\n");
		return;
	}
	schedule_format(s, text, sizeof(text));
	put_key(b, "schedule", text, "");
}

/* Every key of `p` as ref.txt says it, in keys[] order. */
static void params_put(const struct thresholds *t, const struct zone_params *p, struct buf *b)
{
	char num[32];

	for (size_t k = 0; k < NKEYS; k++) {
		const void *v = (const char *)p + keys[k].offset;
		const char *name = keys[k].name;

		switch (keys[k].type) {
		case KEY_LUX:
			number_format(*(const double *)v, num, sizeof(num));
			put_key(b, name, num, "");
			break;
		case KEY_DURATION:
			format_seconds(*(const int64_t *)v, num, sizeof(num));
			put_key(b, name, num, "s");
			break;
		case KEY_COUNT:
			put_key(b, name, format_unsigned(*(const unsigned *)v, num), "");
			break;
		case KEY_SENSORS:
			if (!p->sensors)
				break;
			buf_puts(b, name);
			buf_puts(b, " =");
			for (unsigned i = 0; i < p->sensors; i++) {
				buf_put(b, " ", 1);
				buf_puts(b, thresholds_sensor_name(t, p->sensor_first + i));
			}
			buf_put(b, "\n", 1);
			break;
		case KEY_TOPIC:
		case KEY_FIELD:
			put_key(b, name, *(const char *const *)v, "");
			break;
		case KEY_TARGET:
			number_format(*(const double *)v, num, sizeof(num));
			put_key(b, name, p->target_lux > 0 ? num : "", "");
			break;
		case KEY_PERCENT:
			put_key(b, name, format_unsigned(*(const uint8_t *)v, num), "");
			break;
		case KEY_SCHEDULE:
			schedule_put(b, p->schedule);
			break;
		case KEY_FAILSAFE:
		case KEY_AGGREGATE:
		case KEY_MANUAL:
		case KEY_OUTSIDE:
			put_key(b, name, key_word(&keys[k], *(const unsigned *)v), "");
			break;
		case KEY_OCCUPANCY:
			buf_puts(b, name);
			buf_puts(b, " =");
			for (unsigned i = 0; p->occupancy && i < p->occupancy->n; i++) {
				buf_put(b, " ", 1);
				buf_puts(b, p->occupancy->topic[i]);
			}
			buf_put(b, "\n", 1);
			break;
		}
	}
}

void thresholds_foreach_section(const struct thresholds *t,
				void (*fn)(void *ctx, const char *zone, const struct zone_params *p),
				void *ctx)
{
	for (size_t i = 0; i < t->nsections; i++)
		fn(ctx, section_name(t, &t->sections[i]), section_params(t, &t->sections[i]));
}

/*
 * Each section's 27 lines are those of its parameters, which it shares with most others:
 * they are written once into a buffer and copied from there while the sections that follow
 * share them (a city's file is a million sections of a few sets).
 */
int thresholds_dump(const struct thresholds *t, FILE *f)
{
	struct buf b = { 0 };
	uint32_t shown = UINT32_MAX;
	int r = 0;

	params_put(t, &t->global, &b);
	flockfile(f);
	if (!b.nomem)
		fwrite_unlocked(b.data, 1, b.len, f);
	for (size_t i = 0; i < t->nsections && !b.nomem; i++) {
		const struct zone_section *z = &t->sections[i];

		if (z->params != shown) {
			b.len = 0;
			params_put(t, section_params(t, z), &b);
			shown = z->params;
		}
		fputs_unlocked("\n[zone ", f);
		fputs_unlocked(section_name(t, z), f);
		fputs_unlocked("]\n", f);
		fwrite_unlocked(b.data, 1, b.len, f);
	}
	funlockfile(f);
	if (b.nomem)
		r = -ENOMEM;
	buf_clear(&b);
	return r;
}
