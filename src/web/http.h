/* http.h -- pylight-web's HTTP side: libmicrohttpd, routes, authentication, refusals */
#ifndef PYLIGHT_WEB_HTTP_H
#define PYLIGHT_WEB_HTTP_H

#include "api.h"

/* Bodies over this many bytes are refused (413). */
#define HTTP_BODY_MAX ((size_t)1 << 20)

struct http;

/*
 * Serves the page and the API on the listening socket `fd` (taken over), on one thread of
 * its own, so that requests, and saves, happen one at a time. With `password` not NULL every
 * request needs Basic authentication as `user`. On error fills `err` and returns -errno.
 */
int http_start(int fd, struct api *api, const char *user, const char *password,
	       struct http **out, char *err, size_t errlen);
/* Stops serving (closing the socket) and frees everything. NULL is a no-op. */
void http_stop(struct http *h);

#endif
