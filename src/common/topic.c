/* topic.c -- the zone-topic rule: `base` names the default zone "", `base/ZONE` names ZONE */
#include "topic.h"

#include <string.h>

#include "buf.h"

const char *topic_zone(const char *topic, const char *base, size_t blen)
{
	if (strncmp(topic, base, blen) != 0)
		return NULL;
	if (topic[blen] == '\0')
		return "";
	/* "base/" would name a zone "" beside the default one: it names none */
	if (topic[blen] == '/' && topic[blen + 1] != '\0')
		return topic + blen + 1;
	return NULL;
}

const char *topic_of_zone(const char *base, const char *zone, char **buf, size_t *cap)
{
	size_t blen, zlen;

	if (!zone[0])
		return base;
	blen = strlen(base);
	zlen = strlen(zone);
	if (buf_grow(buf, cap, blen + zlen + 2, 1) < 0)
		return NULL;
	/* Twice per reading (the order's and the explanation's): no format to parse. */
	memcpy(*buf, base, blen);
	(*buf)[blen] = '/';
	memcpy(*buf + blen + 1, zone, zlen + 1);
	return *buf;
}
