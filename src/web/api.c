/* api.c -- what each route of pylight-web's JSON API does, apart from HTTP */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "body.h"
#include "edit.h"
#include "errlist.h"
#include "log.h"

void api_init(struct api *a, const char *ref_path, struct zonecache *zones, struct bus *bus)
{
	memset(a, 0, sizeof(*a));
	a->ref_path = ref_path;
	a->zones = zones;
	a->bus = bus;
}

void api_free(struct api *a)
{
	/* the cache borrows the table: it lets go first (the broker's thread may use it) */
	if (a->zones)
		zonecache_thresholds(a->zones, NULL);
	thresholds_free(a->t);
	a->t = NULL;
}

void api_reply(struct reply *r, unsigned status, json_object *o)
{
	const char *s;
	size_t n = 0;

	free(r->body);
	r->body = NULL;
	s = o ? json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n) : NULL;
	if (s)
		r->body = strndup(s, n);
	json_object_put(o);
	if (!r->body) {
		r->status = 500;
		r->body = strdup("{\"ok\":false,\"errors\":[{\"line\":0,\"message\":\"out of memory\"}]}");
		r->len = r->body ? strlen(r->body) : 0;
		return;
	}
	r->status = status;
	r->len = n;
}

static void reply_message(struct reply *r, unsigned status, const char *message)
{
	api_reply(r, status, body_error(message));
}

static void reply_etag(struct reply *r, const char *etag)
{
	json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "etag", json_object_new_string(etag));
	snprintf(r->etag, sizeof(r->etag), "%s", etag);
	api_reply(r, 200, o);
}

/* Reparses ref.txt when it is not the file parsed last; an invalid file keeps the last one. */
static void thresholds_refresh(struct api *a)
{
	struct errlist errs = { 0 };
	struct thresholds *t;
	struct stat st;

	if (stat(a->ref_path, &st) < 0)
		return;
	if (a->t && st.st_dev == a->dev && st.st_ino == a->ino && st.st_size == a->size &&
	    st.st_mtim.tv_sec == a->mtime.tv_sec && st.st_mtim.tv_nsec == a->mtime.tv_nsec)
		return;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->size = st.st_size;
	a->mtime = st.st_mtim;
	if (thresholds_load(a->ref_path, &a->opts, &t, &errs) == 0) {
		if (zonecache_thresholds(a->zones, t) < 0)
			log_msg(LOG_WARNING, "zone list: out of memory, some zones keep the "
					     "thresholds of the last ref.txt");
		thresholds_free(a->t);
		a->t = t;
	}
	errlist_clear(&errs);
}

#define ZONES_LIMIT 200
#define ZONES_LIMIT_MAX 1000
#define ZONES_Q_MAX 256

/* A whole number 0..max written in decimal digits only; -EINVAL otherwise. */
static int count_parse(const char *s, size_t max, size_t *out)
{
	size_t v = 0;

	if (!s[0] || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
		return -EINVAL;
	for (; *s; s++)
		v = v * 10 + (size_t)(*s - '0');
	*out = v;
	return v <= max ? 0 : -EINVAL;
}

/* The filter, limit and offset of a page or delta; 0, or -EINVAL with the reason. */
static int zones_args_read(const struct zones_args *g, struct zonecache_filter *f,
			   size_t *limit, size_t *offset, const char **why)
{
	*f = (struct zonecache_filter){ .q = g->q };
	*limit = ZONES_LIMIT;
	*offset = 0;
	if (g->page && strcmp(g->page, "1") != 0)
		return *why = "page must be 1 (a page of zones, with total and counts)", -EINVAL;
	if (g->limit && count_parse(g->limit, ZONES_LIMIT_MAX, limit) < 0)
		return *why = "limit must be a whole number 0..1000", -EINVAL;
	if (g->offset && count_parse(g->offset, 999999999, offset) < 0)
		return *why = "offset must be a whole number 0..999999999", -EINVAL;
	if (g->offset && g->since)
		return *why = "offset does not go with since: a delta holds every zone changed", -EINVAL;
	if (g->q && strlen(g->q) > ZONES_Q_MAX)
		return *why = "q must be at most 256 bytes", -EINVAL;
	if (g->state) {
		if (strcmp(g->state, "ON") != 0 && strcmp(g->state, "OFF") != 0 &&
		    strcmp(g->state, "null") != 0)
			return *why = "state must be ON, OFF or null", -EINVAL;
		f->by_state = true;
		f->state = strcmp(g->state, "null") != 0 ? g->state : NULL;
	}
	if (g->mode) {
		if (!g->mode[0] || strlen(g->mode) > 63)
			return *why = "mode must be a mode such as auto, override, failsafe, or null",
			       -EINVAL;
		f->by_mode = true;
		f->mode = strcmp(g->mode, "null") != 0 ? g->mode : NULL;
	}
	return 0;
}

/*
 * Without page=1 or since: every zone as a bare array, as before pages existed. With page=1:
 * one page of the zones that pass the filter. With since: what changed since that answer.
 */
void api_zones(struct api *a, const struct zones_args *args, struct reply *r)
{
	struct zonecache_filter f;
	size_t limit, offset;
	const char *why;
	char msg[128];
	int rc;

	thresholds_refresh(a);
	free(r->body);
	r->body = NULL;
	if (!args->page && !args->since) {
		if (args->q || args->state || args->mode || args->limit || args->offset) {
			reply_message(r, 422, "q, state, mode, limit and offset need page=1 or since");
			return;
		}
		r->body = zonecache_json(a->zones, &r->len);
	} else if (zones_args_read(args, &f, &limit, &offset, &why) < 0) {
		reply_message(r, 422, why);
		return;
	} else if (!args->since) {
		r->body = zonecache_page(a->zones, &f, offset, limit, &r->len);
	} else {
		rc = zonecache_since(a->zones, &f, args->since, limit, &r->body, &r->len);
		if (rc == -EINVAL || rc == -ESTALE || rc == -E2BIG) {
			snprintf(msg, sizeof(msg), "%s: ask for the page again (page=1)",
				 rc == -EINVAL ? "since must be a token of an earlier answer" :
				 rc == -ESTALE ? "the token is too old or of an earlier run" :
						 "more zones changed since the token than the limit");
			reply_message(r, rc == -EINVAL ? 422 : 410, msg);
			return;
		}
	}
	if (!r->body) {
		reply_message(r, 500, "out of memory");
		return;
	}
	r->status = 200;
}

/* Reads ref.txt; on error answers 500 and returns -errno. */
static int ref_read(struct api *a, struct reply *r, char **text, size_t *len)
{
	int rc = reffile_read(a->ref_path, text, len);

	if (rc < 0) {
		log_msg(LOG_ERR, "%s: %s", a->ref_path, strerror(-rc));
		reply_message(r, 500, rc == -EFBIG ? "ref.txt is larger than 16 MiB" :
						     strerror(-rc));
	}
	return rc;
}

void api_ref_get(struct api *a, struct reply *r)
{
	json_object *o;
	char *text;
	size_t len;

	if (ref_read(a, r, &text, &len) < 0)
		return;
	reffile_etag(text, len, r->etag);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "text", json_object_new_string_len(text, (int)len));
		json_object_object_add(o, "etag", json_object_new_string(r->etag));
	}
	free(text);
	api_reply(r, 200, o);
}

/* Parses `text` as pylightd would; 0, or -EINVAL after answering 422 with every error. */
static int text_check(const struct api *a, struct reply *r, const char *text, size_t len)
{
	struct errlist errs = { 0 };
	struct thresholds *t;
	int rc = thresholds_parse("", text, len, &a->opts, &t, &errs);

	if (rc < 0)
		api_reply(r, 422, body_errors(&errs));
	thresholds_free(t);
	errlist_clear(&errs);
	return rc < 0 ? -EINVAL : 0;
}

void api_ref_check(struct api *a, json_object *body, struct reply *r)
{
	const char *text, *why;
	json_object *o;
	size_t len;

	(void)a;
	if (body_ref(body, &text, &len, NULL, &why) < 0) {
		reply_message(r, 422, why);
		return;
	}
	if (text_check(a, r, text, len) < 0)
		return;
	o = json_object_new_object();
	if (o)
		json_object_object_add(o, "ok", json_object_new_boolean(1));
	api_reply(r, 200, o);
}

/* Saves `text` when ref.txt still has `etag` (NULL: any) and `text` is valid. */
static void save(struct api *a, struct reply *r, const char *etag, const char *text, size_t len)
{
	char now[REFFILE_ETAG_SIZE], *old;
	size_t old_len;
	int rc;

	if (ref_read(a, r, &old, &old_len) < 0)
		return;
	reffile_etag(old, old_len, now);
	free(old);
	/* a text both stale and invalid is a conflict first: its author must reload anyway */
	if (etag && strcmp(etag, now) != 0) {
		reply_message(r, 409, "ref.txt was changed by someone else since it was loaded: "
				      "reload it, then make the change again");
		snprintf(r->etag, sizeof(r->etag), "%s", now);
		return;
	}
	if (text_check(a, r, text, len) < 0)
		return;
	rc = reffile_save(a->ref_path, text, len);
	if (rc < 0) {
		log_msg(LOG_ERR, "saving %s: %s", a->ref_path, strerror(-rc));
		reply_message(r, 500, strerror(-rc));
		return;
	}
	reffile_etag(text, len, now);
	log_msg(LOG_NOTICE, "saved %s (%zu bytes, etag %s)", a->ref_path, len, now);
	reply_etag(r, now);
}

void api_ref_put(struct api *a, json_object *body, struct reply *r)
{
	const char *text, *etag, *why;
	size_t len;

	if (body_ref(body, &text, &len, &etag, &why) < 0) {
		reply_message(r, 422, why);
		return;
	}
	if (!etag) {
		reply_message(r, 422, "etag is required: send the one GET /api/ref returned");
		return;
	}
	save(a, r, etag, text, len);
}

void api_thresholds(struct api *a, json_object *body, struct reply *r)
{
	struct thresholds_req req;
	const char *const keys[] = { "on_below", "off_above", "target_lux" };
	const char *const values[] = { req.on_below, req.off_above, req.target_lux };
	char *text, *edited = NULL, *next;
	size_t len, edited_len = 0;
	const char *why;
	int rc = 0;

	if (body_thresholds(body, &req, &why) < 0) {
		reply_message(r, 422, why);
		return;
	}
	if (ref_read(a, r, &text, &len) < 0)
		return;
	/* Each key sent changes its own line, in this order; the file is checked whole by save. */
	for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!values[i][0])
			continue;
		rc = edit_set(edited ? edited : text, edited ? edited_len : len, req.zone, keys[i],
			      values[i], &next, &edited_len, &why);
		if (rc == 0) {
			free(edited);
			edited = next;
		}
	}
	if (rc == -EINVAL) {
		char now[REFFILE_ETAG_SIZE];

		reffile_etag(text, len, now);
		if (req.etag && strcmp(req.etag, now) != 0)
			reply_message(r, 409, "ref.txt was changed by someone else since it was "
					      "loaded: reload it, then make the change again");
		else
			reply_message(r, 422, why);
	} else if (rc < 0) {
		reply_message(r, 500, strerror(-rc));
	} else {
		/* the etag is checked against the file as it is now, by save */
		save(a, r, req.etag, edited, edited_len);
	}
	free(edited);
	free(text);
}

void api_override(struct api *a, json_object *body, struct reply *r)
{
	struct override_req req;
	json_object *o;
	const char *why;
	int rc;

	if (body_override(body, &req, &why) < 0) {
		reply_message(r, 422, why);
		return;
	}
	rc = bus_override(a->bus, req.zone, req.payload);
	if (rc == -ENOTCONN) {
		reply_message(r, 503, "not connected to the broker");
		return;
	}
	if (rc < 0) {
		reply_message(r, 500, strerror(-rc));
		return;
	}
	log_msg(LOG_NOTICE, "override of zone '%s': %s", req.zone, req.payload);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "zone", json_object_new_string(req.zone));
		json_object_object_add(o, "payload", json_object_new_string(req.payload));
	}
	api_reply(r, 202, o);
}
