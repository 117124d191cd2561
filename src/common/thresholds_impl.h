/*
 * thresholds_impl.h -- what the ref.txt parser (thresholds_parse.c) and the table it builds
 * (thresholds.c) share: the table's layout and the key table. Private to those two files.
 *
 * A new key: its id in enum key_id, its row in keys[] (thresholds.c), its default in
 * `defaults` (thresholds_parse.c); a new kind of value also needs its case in value_parse
 * (thresholds_parse.c) and in params_dump (thresholds.c).
 */
#ifndef PYLIGHT_THRESHOLDS_IMPL_H
#define PYLIGHT_THRESHOLDS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* An allocation failure must reject the file, not exit the daemon. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "names.h"
#include "thresholds.h"

/*
 * A parsed [zone NAME] section. A city has a million: they are kept in one array, their names
 * in the table's name arena, found through an open-addressing index of their numbers, and
 * their effective parameters are shared: a city's sections say one or two keys each, so a
 * million of them hold a handful of distinct sets (12 bytes a section instead of 180).
 */
struct zone_section {
	uint32_t name;   /* offset of its NUL-terminated name in `names` */
	unsigned line;   /* of its header, to point a duplicate at the first one */
	uint32_t params; /* its effective parameters: their number in `params` */
};

/* A sensor's zone while its section is being discarded. */
#define NO_SECTION UINT32_MAX

/*
 * A name listed in a zone's `sensors`: readings on its topic feed that zone. A building may
 * list tens of thousands, so they are kept small: names in one arena, looked up through an
 * open-addressing index of their numbers.
 */
struct sensor {
	uint32_t zone; /* its section's name (an offset in `names`), NO_SECTION if discarded */
	uint32_t name; /* offset of its NUL-terminated name in `names` */
	unsigned line;
};

/* A text value (a feedback topic or field), kept as long as the table. */
struct text {
	struct text *next;
	char s[];
};

/* A schedule or an occupancy list, one malloc'd block kept as long as the table. */
struct owned {
	struct owned *next;
	void *p;
};

struct thresholds {
	struct zone_params global;
	struct text *texts;
	struct owned *owned;
	struct zone_section *sections; /* sorted by name once parsed: dumps are deterministic */
	size_t nsections, section_cap;
	uint32_t *by_name; /* section slots (see section_number); by_name_mask + 1 of them */
	uint32_t by_name_mask;
	struct sensor *sensors; /* by number: a zone's sensors in the order listed */
	unsigned nsensors, sensor_cap;
	char *names; /* the sections' and the sensors' names, each NUL-terminated */
	size_t names_len, names_cap;
	uint32_t *index; /* sensor number + 1, 0 for a free slot; index_mask + 1 slots */
	uint32_t index_mask;
	struct zone_params *params; /* the sections' distinct effective parameters */
	size_t nparams, params_cap;
	uint32_t *params_index; /* while parsing: params number + 1, 0 free; params_mask + 1 */
	uint32_t params_mask;
};

/*
 * KEY_COUNT: a whole number lo..hi (smoothing, min_sensors, retries); KEY_PERCENT the same in
 * a byte (the dimming keys); KEY_TARGET a lux > 0, or empty for an on/off zone.
 */
enum key_type {
	KEY_LUX,
	KEY_DURATION,
	KEY_COUNT,
	KEY_FAILSAFE,
	KEY_SENSORS,
	KEY_AGGREGATE,
	KEY_TOPIC,
	KEY_FIELD,
	KEY_MANUAL,
	KEY_TARGET,
	KEY_PERCENT,
	KEY_SCHEDULE,
	KEY_OUTSIDE,
	KEY_OCCUPANCY
};

/* The words a key of one of the enum types may take, indexed by the enum, and how to list them. */
struct words {
	const char *const *names;
	size_t n;
	const char *choices; /* "hold, on or off" */
};
/* By key_type: set for KEY_FAILSAFE, KEY_AGGREGATE, KEY_MANUAL and KEY_OUTSIDE only. */
extern const struct words key_words[KEY_OUTSIDE + 1];

/* Every key of ref.txt, in the order thresholds_dump writes them. */
enum key_id {
	K_ON_BELOW,
	K_OFF_ABOVE,
	K_MIN_ON,
	K_MIN_OFF,
	K_SMOOTHING,
	K_LAMP_LUX,
	K_OVERRIDE_FOR,
	K_STALE_AFTER,
	K_FAILSAFE,
	K_SENSORS,
	K_AGGREGATE,
	K_MIN_SENSORS,
	K_FEEDBACK,
	K_FEEDBACK_FIELD,
	K_CONFIRM_WITHIN,
	K_RETRIES,
	K_MANUAL,
	K_TARGET_LUX,
	K_LEVEL_MIN,
	K_MAX_STEP,
	K_DEADBAND,
	K_SCHEDULE,
	K_OUTSIDE,
	K_OCCUPANCY,
	K_OCCUPANCY_FIELD,
	K_VACANCY_AFTER,
	NKEYS
};
_Static_assert(NKEYS <= 32, "key sets are bits of an unsigned");

/* One key of ref.txt: its name, the kind of value, and where it lives in zone_params. */
struct key {
	const char *name;
	enum key_type type;
	size_t offset, size;
	unsigned lo, hi; /* KEY_COUNT, KEY_PERCENT */
};

/* Every key, indexed by key_id, in the order thresholds_dump writes them. */
extern const struct key keys[NKEYS];

/* The word for `value` of a key of one of the enum types. */
static inline const char *key_word(const struct key *k, unsigned value)
{
	return name_of(key_words[k->type].names, key_words[k->type].n, value);
}

static inline const char *sensor_name(const struct thresholds *t, const struct sensor *sn)
{
	return t->names + sn->name;
}

static inline const struct zone_params *section_params(const struct thresholds *t,
							const struct zone_section *z)
{
	return &t->params[z->params];
}

static inline const char *section_name(const struct thresholds *t, const struct zone_section *z)
{
	return t->names + z->name;
}

/* The slot of sensor `name` (`len` bytes): the one that holds it, or the free one it would take. */
uint32_t *thresholds_index_slot(const struct thresholds *t, const char *name, size_t len);
/*
 * A slot of the index of sections holds the top 8 bits of its name's hash (so that a probe
 * past another name rarely reads that name: at a million sections every read is a cache
 * miss) above the section's number + 1; 0 is a free slot.
 */
#define SECTION_TAG_BITS 0xff000000u
#define SECTIONS_MAX (~SECTION_TAG_BITS - 1)

/* The section number + 1 in a slot of by_name, 0 for a free one. */
static inline uint32_t section_number(uint32_t slot)
{
	return slot & ~SECTION_TAG_BITS;
}

/*
 * The slot of section `name` in by_name (which must exist), or the free one it would take;
 * *tag gets the bits a new slot for it is to hold beside its number.
 */
uint32_t *thresholds_section_slot(const struct thresholds *t, const char *name, size_t len,
				  uint32_t *tag);
/*
 * Makes the index of sections anew, with room for `more` more, and puts every section in it:
 * their names must all differ. Returns 0 or -ENOMEM (the old index is then kept).
 */
int thresholds_sections_index(struct thresholds *t, size_t more);
/*
 * Keeps the index of sections, which must hold every section, at most half full for `more`
 * more. Returns 0 or -ENOMEM.
 */
int thresholds_sections_room(struct thresholds *t, size_t more);
/* How many section headers `text` may hold: its '[', counted up to one beyond max_zones. */
size_t thresholds_sections_bound(const char *text, size_t len, size_t max_zones);
/*
 * The number of a set of parameters equal to *p in `params`, added if new, in *number.
 * Equal means equal bytes: *p's padding must be zero. Returns 0 or -ENOMEM.
 */
int thresholds_params_intern(struct thresholds *t, const struct zone_params *p,
			     uint32_t *number);
/* Parsing is over: the index of params is freed, and the array trimmed to its size. */
void thresholds_params_done(struct thresholds *t);
/* Puts the sections in name order, for dumps that do not depend on the file's. 0 or -ENOMEM. */
int thresholds_sections_sort(struct thresholds *t);

#endif
