/* body.c -- the JSON bodies of pylight-web's API: requests read, error lists written */
#include "body.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "number.h"

/* Deep enough for any body this API reads; deeper is not a request but an attack. */
#define BODY_DEPTH 16

json_object *body_parse(const char *data, size_t len)
{
	json_tokener *tok;
	json_object *o;
	size_t used;

	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(BODY_DEPTH);
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, data, (int)len);
	used = json_tokener_get_error(tok) == json_tokener_success ?
		       json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	while (o && used < len && number_is_space(data[used]))
		used++;
	if (!o || used != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The string member `key`; NULL when absent. -EINVAL when present and not a string. */
static int member_string(json_object *body, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(body, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*out = json_object_get_string(v);
	return 0;
}

/* A zone name as a topic level can carry it: no wildcard, no NUL byte. */
static int zone_get(json_object *body, const char **zone, const char **why)
{
	json_object *v;

	if (!json_object_object_get_ex(body, "zone", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		*why = "zone must be a string";
		return -EINVAL;
	}
	*zone = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(*zone) || strpbrk(*zone, "+#")) {
		*why = "a zone name cannot hold '+', '#' or a NUL byte";
		return -EINVAL;
	}
	return 0;
}

/* A threshold as a JSON number (or a string holding one), written the way ref.txt reads it. */
static int threshold_get(json_object *body, const char *key, char out[32], const char **why)
{
	json_object *v;
	const char *s;
	double d;

	out[0] = '\0';
	if (!json_object_object_get_ex(body, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
		d = json_object_get_double(v);
	} else if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (number_parse(s, strlen(s), &d) < 0) {
			*why = "on_below, off_above and target_lux must be numbers";
			return -EINVAL;
		}
	} else {
		*why = "on_below, off_above and target_lux must be numbers";
		return -EINVAL;
	}
	if (!isfinite(d) || d < 0) {
		*why = "on_below, off_above and target_lux must be finite numbers >= 0";
		return -EINVAL;
	}
	number_format(d, out, 32);
	return 0;
}

int body_thresholds(json_object *body, struct thresholds_req *req, const char **why)
{
	if (zone_get(body, &req->zone, why) < 0 ||
	    threshold_get(body, "on_below", req->on_below, why) < 0 ||
	    threshold_get(body, "off_above", req->off_above, why) < 0 ||
	    threshold_get(body, "target_lux", req->target_lux, why) < 0)
		return -EINVAL;
	if (member_string(body, "etag", &req->etag) < 0) {
		*why = "etag must be a string";
		return -EINVAL;
	}
	if (!req->on_below[0] && !req->off_above[0] && !req->target_lux[0]) {
		*why = "send on_below, off_above, target_lux or several";
		return -EINVAL;
	}
	return 0;
}

int body_override(json_object *body, struct override_req *req, const char **why)
{
	static const char *const modes[] = { "ON", "OFF", "AUTO" };
	const char *mode, *dur, *d;
	size_t i, dlen;
	int64_t ms;

	if (zone_get(body, &req->zone, why) < 0)
		return -EINVAL;
	if (member_string(body, "mode", &mode) < 0 || !mode) {
		*why = "mode must be ON, OFF or AUTO";
		return -EINVAL;
	}
	for (i = 0; i < 3 && strcasecmp(mode, modes[i]) != 0; i++)
		;
	if (i == 3) {
		*why = "mode must be ON, OFF or AUTO";
		return -EINVAL;
	}
	if (member_string(body, "for", &dur) < 0) {
		*why = "for must be a duration such as \"15m\"";
		return -EINVAL;
	}
	d = dur ? dur : "";
	dlen = strlen(d);
	number_trim(&d, &dlen);
	if (dlen == 0) {
		snprintf(req->payload, sizeof(req->payload), "%s", modes[i]);
		return 0;
	}
	if (i == 2) {
		*why = "AUTO takes no duration";
		return -EINVAL;
	}
	if (dlen > 32 || duration_parse(d, dlen, &ms) < 0 || ms <= 0) {
		*why = "for must be a duration > 0 such as 90, 90s, 15m or 2h";
		return -EINVAL;
	}
	snprintf(req->payload, sizeof(req->payload), "%s %.*s", modes[i], (int)dlen, d);
	return 0;
}

int body_ref(json_object *body, const char **text, size_t *len, const char **etag,
	     const char **why)
{
	json_object *v;

	if (!json_object_object_get_ex(body, "text", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		*why = "text must be a string";
		return -EINVAL;
	}
	*text = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (etag && member_string(body, "etag", etag) < 0) {
		*why = "etag must be a string";
		return -EINVAL;
	}
	return 0;
}

static json_object *errors_new(json_object **list)
{
	json_object *o = json_object_new_object();

	*list = json_object_new_array();
	if (!o || !*list) {
		json_object_put(o);
		json_object_put(*list);
		return NULL;
	}
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "errors", *list);
	return o;
}

static void error_add(json_object *list, unsigned line, const char *message)
{
	json_object *e = json_object_new_object();

	if (!e)
		return;
	json_object_object_add(e, "line", json_object_new_int64(line));
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_array_add(list, e);
}

json_object *body_errors(const struct errlist *errs)
{
	json_object *list, *o = errors_new(&list);

	if (!o)
		return NULL;
	for (size_t i = 0; i < errs->kept; i++) {
		const char *m = errs->msg[i];
		unsigned long line = 0;
		char *end;

		if (m[0] == ':' && m[1] >= '0' && m[1] <= '9') {
			line = strtoul(m + 1, &end, 10);
			m = end;
		}
		if (m[0] == ':')
			m++;
		if (m[0] == ' ')
			m++;
		error_add(list, (unsigned)line, m);
	}
	if (errs->count > errs->kept) {
		char more[64];

		snprintf(more, sizeof(more), "... and %zu more errors", errs->count - errs->kept);
		error_add(list, 0, more);
	}
	return o;
}

json_object *body_error(const char *message)
{
	json_object *list, *o = errors_new(&list);

	if (o)
		error_add(list, 0, message);
	return o;
}
