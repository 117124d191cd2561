/* reading.c -- turns MQTT payloads into lux readings and override commands */
#include "reading.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "number.h"



/* A segment of a dotted path is not NUL-terminated, so json_object_object_get_ex cannot take it. */
static struct json_object *object_get_n(struct json_object *obj, const char *key, size_t len)
{
	json_object_object_foreach(obj, k, v) {
		if (strlen(k) == len && memcmp(k, key, len) == 0)
			return v;
	}
	return NULL;
}

/* NULL when a segment is missing, or is JSON null, or its parent is not an object. */
static struct json_object *json_walk(struct json_object *obj, const char *path)
{
	for (;;) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (!json_object_is_type(obj, json_type_object))
			return NULL;
		obj = object_get_n(obj, path, n);
		if (!dot)
			return obj;
		path = dot + 1;
	}
}

/*
 * The first key that exists decides, even when it holds no number: falling through to
 * the next name would silently read a different quantity from the same sensor.
 */
static struct json_object *json_default_field(struct json_object *obj)
{
	static const char *const keys[] = { "illuminance_lux", "illuminance", "lux", "value" };
	struct json_object *val;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(obj, keys[i], &val))
			return val;
	return NULL;
}

static int json_number_get(struct json_object *val, double *out)
{
	switch (json_object_get_type(val)) {
	case json_type_int:
		/* json-c 0.16 saturates integers beyond 2^64-1 instead of failing: value unknown. */
		if (json_object_get_uint64(val) == UINT64_MAX)
			return -EINVAL;
		*out = json_object_get_double(val);
		return 0;
	case json_type_double:
		*out = json_object_get_double(val);
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * The JSON object of a payload, or NULL; the caller puts it. A tokener per call rather than
 * per thread: a thread-local one would need a key destructor to be freed at thread exit, and
 * the object tree allocates anyway. Strict mode: sensors and lamps speak RFC 8259 JSON, and
 * anything looser is more likely a broken payload; it also refuses anything but white space
 * after the object.
 */
static struct json_object *json_parse_strict(const char *s, size_t len)
{
	struct json_tokener *tok;
	struct json_object *root;

	if (len > INT_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, s, (int)len);
	json_tokener_free(tok);
	return root;
}

static int reading_parse_json(const char *s, size_t len, const char *json_field, double *out)
{
	struct json_object *root = json_parse_strict(s, len), *val;
	int r = -EINVAL;

	if (root) {
		val = json_field && *json_field ? json_walk(root, json_field) : json_default_field(root);
		r = json_number_get(val, out);
	}
	json_object_put(root);
	return r;
}

int reading_parse(const void *payload, size_t len, const char *json_field, double *lux)
{
	const char *s = payload;
	size_t i = 0;
	double v;
	int r;

	/* libmosquitto hands over an empty payload as NULL. */
	if (len == 0 || memchr(s, '\0', len))
		return -EINVAL;
	while (i < len && number_is_space(s[i]))
		i++;
	if (i < len && s[i] == '{')
		r = reading_parse_json(s + i, len - i, json_field, &v);
	else
		r = number_parse(s, len, &v);
	if (r < 0 || !isfinite(v) || v < 0)
		return -EINVAL;
	*lux = v == 0 ? 0 : v;
	return 0;
}

/* ON, OFF, on, off, 1, 0, true, false: 1 or 0; -EINVAL for anything else. */
static int lamp_word(const char *s, size_t len)
{
	static const char *const words[] = { "OFF", "off", "0", "false", "ON", "on", "1", "true" };

	number_trim(&s, &len);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0)
			return i >= 4;
	return -EINVAL;
}

/* A presence word in any case: 1, 0 or -EINVAL. */
static int presence_word(const char *s, size_t len)
{
	static const char *const words[] = { "false", "0", "off", "unoccupied",
					     "true",  "1", "on",  "occupied" };

	number_trim(&s, &len);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && strncasecmp(words[i], s, len) == 0)
			return i >= 4;
	return -EINVAL;
}

/*
 * A two-state report, a lamp's or a presence sensor's: `word` read from the payload itself,
 * or from `field` of a JSON object as a string, a boolean, or the number 1 or 0.
 */
static int binary_parse(const void *payload, size_t len, const char *field,
			int (*word)(const char *s, size_t len))
{
	const char *s = payload;
	struct json_object *root, *val;
	size_t i = 0;
	int r = -EINVAL;

	if (len == 0 || memchr(s, '\0', len))
		return -EINVAL;
	while (i < len && number_is_space(s[i]))
		i++;
	if (i == len || s[i] != '{')
		return word(s, len);
	root = json_parse_strict(s + i, len - i);
	val = root ? json_walk(root, field) : NULL;
	switch (json_object_get_type(val)) {
	case json_type_string:
		r = word(json_object_get_string(val), (size_t)json_object_get_string_len(val));
		break;
	case json_type_boolean:
		r = json_object_get_boolean(val) ? 1 : 0;
		break;
	case json_type_int:
		r = json_object_get_int64(val) == 1 ? 1 : json_object_get_int64(val) == 0 ? 0 : r;
		break;
	default:
		break;
	}
	json_object_put(root);
	return r;
}

int lamp_parse(const void *payload, size_t len, const char *field)
{
	return binary_parse(payload, len, field, lamp_word);
}

int presence_parse(const void *payload, size_t len, const char *field)
{
	return binary_parse(payload, len, field && *field ? field : "occupancy", presence_word);
}

/* "40%": a whole percentage 1..100 (0 is OFF, not a level of ON). Returns it or -EINVAL. */
static int override_level(const char *s, size_t len)
{
	double v;

	if (len < 2 || s[len - 1] != '%' || number_parse(s, len - 1, &v) < 0 || v < 1 ||
	    v > 100 || v != (double)(int)v)
		return -EINVAL;
	return (int)v;
}

int override_parse_level(const void *payload, size_t len, enum override_cmd *cmd,
			 int64_t *duration, int *level)
{
	static const struct {
		const char *word;
		enum override_cmd cmd;
	} words[] = {
		{ "ON", OVERRIDE_ON },
		{ "OFF", OVERRIDE_OFF },
		{ "AUTO", OVERRIDE_AUTO },
	};
	const char *s = payload, *arg;
	size_t wlen = 0, alen, i;
	int64_t ms = -1;
	int pct = -1;

	if (len == 0 || memchr(s, '\0', len))
		return -EINVAL;
	number_trim(&s, &len);
	while (wlen < len && !number_is_space(s[wlen]))
		wlen++;
	arg = s + wlen;
	alen = len - wlen;
	number_trim(&arg, &alen);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].word) == wlen && strncasecmp(words[i].word, s, wlen) == 0)
			break;
	if (i == sizeof(words) / sizeof(words[0]))
		return -EINVAL;
	/* "ON 40%" or "ON 40% 15m": the level comes first; a bare number stays a duration. */
	if (alen && arg[0] != '%') {
		size_t tlen = 0;

		while (tlen < alen && !number_is_space(arg[tlen]))
			tlen++;
		if (arg[tlen - 1] == '%') {
			if (words[i].cmd != OVERRIDE_ON)
				return -EINVAL;
			pct = override_level(arg, tlen);
			if (pct < 0)
				return -EINVAL;
			arg += tlen;
			alen -= tlen;
			number_trim(&arg, &alen);
		}
	}
	if (alen && (words[i].cmd == OVERRIDE_AUTO || duration_parse(arg, alen, &ms) < 0))
		return -EINVAL;
	*cmd = words[i].cmd;
	*duration = ms;
	*level = pct;
	return 0;
}

int override_parse(const void *payload, size_t len, enum override_cmd *cmd, int64_t *duration)
{
	enum override_cmd c;
	int64_t ms;
	int level;

	if (override_parse_level(payload, len, &c, &ms, &level) < 0 || level >= 0)
		return -EINVAL;
	*cmd = c;
	*duration = ms;
	return 0;
}
