/* body.h -- the JSON bodies of pylight-web's API: requests read, error lists written */
#ifndef PYLIGHT_WEB_BODY_H
#define PYLIGHT_WEB_BODY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "errlist.h"

/* Parses `len` bytes as one JSON object (white space around it allowed). NULL otherwise. */
json_object *body_parse(const char *data, size_t len);

/*
 * {"zone": Z, "on_below": A, "off_above": B, "target_lux": T, "etag": E}: any of the three
 * keys alone, etag optional.
 */
struct thresholds_req {
	const char *zone; /* these point into the body */
	const char *etag; /* NULL when not sent */
	char on_below[32], off_above[32]; /* as ref.txt will read them; "" when not sent */
	char target_lux[32];              /* likewise: a dimmed zone's target */
};
/* Returns 0, or -EINVAL with the reason in *why. */
int body_thresholds(json_object *body, struct thresholds_req *req, const char **why);

/* {"zone": Z, "mode": "ON"|"OFF"|"AUTO", "for": "15m"}: the payload of an override. */
struct override_req {
	const char *zone;
	char payload[64]; /* "MODE" or "MODE DURATION" */
};
int body_override(json_object *body, struct override_req *req, const char **why);

/* {"text": T, "etag": E}: etag NULL when not sent (or not wanted). */
int body_ref(json_object *body, const char **text, size_t *len, const char **etag,
	     const char **why);

/*
 * {"ok": false, "errors": [{"line": N, "message": M}, ...]} from an error list whose
 * messages were made with an empty path (":N: message", or ": message" for line 0).
 */
json_object *body_errors(const struct errlist *errs);
/* The same shape for one message without a line. */
json_object *body_error(const char *message);

#endif
