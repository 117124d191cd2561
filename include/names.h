/* names.h -- words for values: enum names in tables, and the one lookup the parsers share */
#ifndef PYLIGHT_NAMES_H
#define PYLIGHT_NAMES_H

#include <stddef.h>

/* A table and its length, for the functions below. */
#define NAMES(table) (table), sizeof(table) / sizeof((table)[0])

/* names[value]: a table of one name per enum value, indexed by it; names[0] when out of range. */
const char *name_of(const char *const *names, size_t n, unsigned value);
/* The index of the word s[0, len) in names, ignoring case; -EINVAL when it is none of them. */
int name_find(const char *const *names, size_t n, const char *s, size_t len);

/* A word and the value it stands for; several words may stand for one value. */
struct named {
	const char *name;
	int value;
};

/* The value of the NUL-terminated word `name`, ignoring case: 0, or -EINVAL (none of them). */
int named_find(const struct named *t, size_t n, const char *name, int *value);
/* The first word for `value`, or "?". */
const char *named_name(const struct named *t, size_t n, int value);

#endif
