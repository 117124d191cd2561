/* api.h -- what each route of pylight-web's JSON API does, apart from HTTP */
#ifndef PYLIGHT_WEB_API_H
#define PYLIGHT_WEB_API_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "bus.h"
#include "reffile.h"
#include "thresholds.h"
#include "zonecache.h"

/* Everything a request may touch. Requests are served one at a time (one HTTP thread). */
struct api {
	const char *ref_path;
	struct thresholds_opts opts; /* [site] and max_zones: what ref.txt may use */
	struct zonecache *zones;
	struct bus *bus;
	/* the thresholds in force: the last valid ref.txt, reparsed when the file changes */
	struct thresholds *t;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	/* /metrics and /api/zones/history (observe.c); history NULL when off */
	struct metrics *metrics;
	struct history *history;
	int history_hours_max;
};

/* An answer: status, JSON body (malloc'd) and, when not empty, the ETag header's value. */
struct reply {
	unsigned status;
	char *body;
	size_t len;
	char etag[REFFILE_ETAG_SIZE];
};

void api_init(struct api *a, const char *ref_path, struct zonecache *zones, struct bus *bus);
void api_free(struct api *a);

/* GET /api/zones's query parameters as sent; NULL when absent. */
struct zones_args {
	const char *q, *state, *mode, *limit, *offset, *page, *since;
};

/* The routes; `body` is the request's JSON object. */
void api_zones(struct api *a, const struct zones_args *args, struct reply *r);
void api_ref_get(struct api *a, struct reply *r);
void api_ref_check(struct api *a, json_object *body, struct reply *r);
void api_ref_put(struct api *a, json_object *body, struct reply *r);
void api_thresholds(struct api *a, json_object *body, struct reply *r);
void api_override(struct api *a, json_object *body, struct reply *r);

/* Sets `r` to `status` with `o` as its body (consumed); NULL `o` gives 500. */
void api_reply(struct reply *r, unsigned status, json_object *o);

#endif
