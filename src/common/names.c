/* names.c -- words for values: the one table lookup the enum names and the parsers share */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "names.h"

const char *name_of(const char *const *names, size_t n, unsigned value)
{
	return names[value < n ? value : 0];
}

int name_find(const char *const *names, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0)
			return (int)i;
	return -EINVAL;
}

int named_find(const struct named *t, size_t n, const char *name, int *value)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcasecmp(t[i].name, name)) {
			*value = t[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

const char *named_name(const struct named *t, size_t n, int value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return "?";
}
