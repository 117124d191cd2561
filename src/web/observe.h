/* observe.h -- the read-only routes for looking back: /metrics and /api/zones/history */
#ifndef PYLIGHT_WEB_OBSERVE_H
#define PYLIGHT_WEB_OBSERVE_H

#include <microhttpd.h>
#include <stdbool.h>

#include "api.h"
#include "config.h"
#include "history.h"
#include "metrics.h"

/* Adds the headers every answer carries and queues `resp` (http.c's, released). */
typedef enum MHD_Result (*observe_queue_fn)(struct MHD_Connection *conn, unsigned status,
					    struct MHD_Response *resp, bool auth_fail);

/*
 * Creates the metrics and the history (NULL when [web] history is empty), both listening
 * through `bus`, before bus_start. On error fills `err` and returns -errno.
 */
int observe_start(const struct config *cfg, struct bus *bus, struct metrics **metrics,
		  struct history **history, char *err, size_t errlen);

/* Whether `url` is one of the routes observe_serve answers. */
bool observe_route(const char *url);
/*
 * Answers GET (or HEAD) on /metrics (Prometheus text 0.0.4) and /api/zones/history
 * (?zone=Z&hours=H, JSON); any other method is 405. After authentication.
 */
enum MHD_Result observe_serve(struct api *a, struct MHD_Connection *conn, const char *url,
			      const char *method, observe_queue_fn queue);

#endif
