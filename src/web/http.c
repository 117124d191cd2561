/* http.c -- pylight-web's HTTP side: libmicrohttpd, routes, authentication, refusals */
#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "assets.h"
#include "body.h"
#include "buf.h"
#include "log.h"
#include "observe.h"

#define CONNECTIONS_MAX 64
#define CONNECTION_TIMEOUT_S 30

struct http {
	struct MHD_Daemon *mhd;
	struct api *api;
	const char *user, *password;
};

enum route_id { R_ZONES, R_REF, R_REF_CHECK, R_THRESHOLDS, R_OVERRIDE };

/* Every API route and the methods it takes ("GET PUT": GET and PUT). */
static const struct route {
	const char *path;
	const char *methods;
	enum route_id id;
} routes[] = {
	{ "/api/zones", "GET", R_ZONES },
	{ "/api/ref", "GET, PUT", R_REF },
	{ "/api/ref/check", "POST", R_REF_CHECK },
	{ "/api/zones/thresholds", "POST", R_THRESHOLDS },
	{ "/api/zones/override", "POST", R_OVERRIDE },
};

/* One request's body, kept up to HTTP_BODY_MAX bytes; the rest is read and dropped. */
struct request {
	struct buf body;
	bool too_big;
};

static bool method_in(const char *method, const char *list)
{
	size_t n = strlen(method);
	const char *p;

	for (p = strstr(list, method); p; p = strstr(p + 1, method))
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

/* Adds the headers every answer carries and queues it; the response is released. */
static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
			     struct MHD_Response *resp, bool auth_fail)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'self'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (auth_fail)
		ret = MHD_queue_basic_auth_fail_response(conn, "pylight", resp);
	else
		ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Answers `r` (its body is handed over to libmicrohttpd). */
static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct reply *r,
				   const char *allow, bool auth_fail)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (r->etag[0]) {
		char quoted[REFFILE_ETAG_SIZE + 2];

		snprintf(quoted, sizeof(quoted), "\"%s\"", r->etag);
		MHD_add_response_header(resp, "ETag", quoted);
	}
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	return queue(conn, r->status, resp, auth_fail);
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, unsigned status,
				   const char *message, const char *allow, bool auth_fail)
{
	struct reply r = { 0 };

	api_reply(&r, status, body_error(message));
	return queue_reply(conn, &r, allow, auth_fail);
}

/* A page error outside /api/: plain text. */
static enum MHD_Result queue_text(struct MHD_Connection *conn, unsigned status, const char *text,
				  const char *allow)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	return queue(conn, status, resp, false);
}

/* Compares without stopping at the first difference, so that timing tells nothing. */
static bool secret_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = na != nb;

	for (size_t i = 0; i < na; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i % (nb ? nb : 1)];
	return diff == 0;
}

static bool authorized(struct http *h, struct MHD_Connection *conn)
{
	char *pass = NULL, *user;
	bool ok;

	if (!h->password)
		return true;
	user = MHD_basic_auth_get_username_password(conn, &pass);
	ok = user && pass && secret_equal(user, h->user) && secret_equal(pass, h->password);
	if (user)
		MHD_free(user);
	if (pass)
		MHD_free(pass);
	return ok;
}

/*
 * Splits "host[:port]" (or "[v6]:port") into the host and its port, `def` when none. Returns
 * false for text that is no authority.
 */
static bool authority_split(const char *s, size_t len, const char **host, size_t *host_len,
			    unsigned long *port, unsigned long def)
{
	const char *colon = NULL, *end = s + len;
	char digits[8];
	char *stop;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return false;
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		if (!colon && close + 1 != end)
			return false;
	} else {
		colon = memrchr(s, ':', len);
	}
	*host = s;
	*host_len = colon ? (size_t)(colon - s) : len;
	*port = def;
	if (colon) {
		size_t n = (size_t)(end - colon - 1);

		if (n == 0 || n >= sizeof(digits))
			return false;
		memcpy(digits, colon + 1, n);
		digits[n] = '\0';
		*port = strtoul(digits, &stop, 10);
		if (*stop || *port == 0 || *port > 65535)
			return false;
	}
	return *host_len > 0;
}

/* "Origin matches Host": the same host (case-insensitive) and port. */
static bool origin_ok(struct MHD_Connection *conn)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	const char *oh, *hh, *rest;
	size_t ohl, hhl;
	unsigned long op, hp, def;

	if (!origin)
		return true; /* not a browser's cross-site request: those always send one */
	if (!host)
		return false;
	if (!strncasecmp(origin, "http://", 7)) {
		rest = origin + 7;
		def = 80;
	} else if (!strncasecmp(origin, "https://", 8)) {
		rest = origin + 8;
		def = 443;
	} else {
		return false; /* "null", or a scheme that cannot be this server */
	}
	if (strchr(rest, '/'))
		return false;
	return authority_split(rest, strlen(rest), &oh, &ohl, &op, def) &&
	       authority_split(host, strlen(host), &hh, &hhl, &hp, def) && ohl == hhl &&
	       !strncasecmp(oh, hh, ohl) && op == hp;
}

/* application/json, with parameters such as "; charset=utf-8" allowed. */
static bool content_is_json(struct MHD_Connection *conn)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	size_t n;

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* GET /api/zones's parameters; a name sent twice counts once (the first). */
static void zones_args_get(struct MHD_Connection *conn, struct zones_args *g)
{
#define ARG(name) MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name)
	*g = (struct zones_args){ .q = ARG("q"), .state = ARG("state"), .mode = ARG("mode"),
				  .limit = ARG("limit"), .offset = ARG("offset"),
				  .page = ARG("page"), .since = ARG("since") };
#undef ARG
}

static void api_call(struct http *h, struct MHD_Connection *conn, enum route_id id,
		     const char *method, json_object *body, struct reply *r)
{
	struct zones_args args;

	switch (id) {
	case R_ZONES:
		zones_args_get(conn, &args);
		api_zones(h->api, &args, r);
		break;
	case R_REF:
		if (!strcmp(method, "GET"))
			api_ref_get(h->api, r);
		else
			api_ref_put(h->api, body, r);
		break;
	case R_REF_CHECK:
		api_ref_check(h->api, body, r);
		break;
	case R_THRESHOLDS:
		api_thresholds(h->api, body, r);
		break;
	case R_OVERRIDE:
		api_override(h->api, body, r);
		break;
	}
}

static enum MHD_Result serve_api(struct http *h, struct MHD_Connection *conn, const char *url,
				 const char *method, struct request *req)
{
	const struct route *rt = NULL;
	json_object *body = NULL;
	struct reply r = { 0 };

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(url, routes[i].path))
			rt = &routes[i];
	if (!rt)
		return queue_error(conn, 404, "no such API route", NULL, false);
	if (!method_in(method, rt->methods))
		return queue_error(conn, 405, "method not allowed", rt->methods, false);
	if (strcmp(method, "GET") != 0) {
		if (!origin_ok(conn))
			return queue_error(conn, 403, "the Origin does not match the Host", NULL,
					   false);
		if (!content_is_json(conn))
			return queue_error(conn, 415, "the body must be application/json", NULL,
					   false);
		if (req->too_big)
			return queue_error(conn, 413, "the body is larger than 1 MiB", NULL, false);
		body = body_parse(req->body.data ? req->body.data : "", req->body.len);
		if (!body)
			return queue_error(conn, 400, "the body must be a JSON object", NULL, false);
	}
	api_call(h, conn, rt->id, method, body, &r);
	json_object_put(body);
	return queue_reply(conn, &r, NULL, false);
}

static enum MHD_Result serve_page(struct MHD_Connection *conn, const char *url,
				  const char *method)
{
	struct MHD_Response *resp;

	for (size_t i = 0; i < assets_count; i++) {
		if (strcmp(url, assets[i].path) != 0)
			continue;
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return queue_text(conn, 405, "method not allowed\n", "GET, HEAD");
		resp = MHD_create_response_from_buffer(assets[i].len, (void *)assets[i].data,
						       MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", assets[i].type);
		return queue(conn, 200, resp, false);
	}
	return queue_text(conn, 404, "not found\n", NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct request *req = *con_cls;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		*upload_size = 0;
		if (req->too_big || req->body.len + n > HTTP_BODY_MAX) {
			req->too_big = true;
			return MHD_YES;
		}
		buf_put(&req->body, upload, n);
		return req->body.nomem ? MHD_NO : MHD_YES;
	}
	/* with authentication on, 401 comes before any other answer */
	if (!authorized(h, conn))
		return queue_error(conn, 401, "authentication required", NULL, true);
	if (observe_route(url))
		return observe_serve(h->api, conn, url, method, queue);
	if (!strncmp(url, "/api/", 5))
		return serve_api(h, conn, url, method, req);
	return serve_page(conn, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)why;
	if (req) {
		buf_clear(&req->body);
		free(req);
		*con_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	log_msg(LOG_WARNING, "http: %s", buf);
}

int http_start(int fd, struct api *api, const char *user, const char *password,
	       struct http **out, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "http: %s", strerror(ENOMEM));
		close(fd);
		return -ENOMEM;
	}
	h->api = api;
	h->user = user;
	h->password = password;
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					  MHD_USE_ERROR_LOG,
				  0, NULL, NULL, on_request, h,
				  /* first, or libmicrohttpd warns that it may log elsewhere */
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, errlen, "http: libmicrohttpd could not start on the socket");
		close(fd);
		free(h);
		return -EIO;
	}
	*out = h;
	return 0;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
