/* observe.c -- the read-only routes for looking back: /metrics and /api/zones/history */
#include "observe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "history.h"
#include "metrics.h"
#include "number.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

int observe_start(const struct config *cfg, struct bus *bus, struct metrics **metrics,
		  struct history **history, char *err, size_t errlen)
{
	int rc = metrics_new(cfg, bus, metrics);

	if (rc == 0)
		rc = history_new(cfg, bus, history);
	if (rc < 0)
		snprintf(err, errlen, "history and metrics: %s", strerror(-rc));
	return rc;
}

bool observe_route(const char *url)
{
	return !strcmp(url, "/metrics") || !strcmp(url, "/api/zones/history");
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, char *body,
			      size_t len, const char *type, observe_queue_fn queue)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	return queue(conn, status, resp, false);
}

/* {"ok": false, "errors": [{"line": 0, "message": ...}]}, as every API error. */
static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *message,
			      observe_queue_fn queue)
{
	struct reply r = { 0 };

	api_reply(&r, status, body_error(message));
	return answer(conn, r.status, r.body, r.len, "application/json", queue);
}

static enum MHD_Result history(struct api *a, struct MHD_Connection *conn, observe_queue_fn queue)
{
	const char *zone = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "zone");
	const char *hours = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "hours");
	char *json, msg[96];
	double h = 24;
	size_t len;

	if (!a->history)
		return refuse(conn, 404, "the history is off ([web] history is empty)", queue);
	if (!zone)
		return refuse(conn, 422, "zone is missing", queue);
	if (hours && (number_parse(hours, strlen(hours), &h) < 0 || h != (int)h || h < 1 ||
		      h > a->history_hours_max)) {
		snprintf(msg, sizeof(msg), "hours must be an integer 1..%d", a->history_hours_max);
		return refuse(conn, 422, msg, queue);
	}
	if (history_query(a->history, zone, (int)h, &json, &len) < 0)
		return refuse(conn, 503, "the history cannot be read now", queue);
	return answer(conn, 200, json, len, "application/json", queue);
}

enum MHD_Result observe_serve(struct api *a, struct MHD_Connection *conn, const char *url,
			      const char *method, observe_queue_fn queue)
{
	char *text;
	size_t len;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return refuse(conn, 405, "method not allowed", queue);
	if (!strcmp(url, "/api/zones/history"))
		return history(a, conn, queue);
	text = metrics_text(a->metrics, &len);
	if (!text)
		return MHD_NO;
	return answer(conn, 200, text, len, METRICS_TYPE, queue);
}
