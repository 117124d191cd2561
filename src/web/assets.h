/* assets.h -- the page's files, compiled in: a URL never reaches the file system */
#ifndef PYLIGHT_WEB_ASSETS_H
#define PYLIGHT_WEB_ASSETS_H

#include <stddef.h>

struct asset {
	const char *path; /* the URL path that serves it */
	const char *type; /* its Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Made at build time from src/web/page/ by src/web/page/embed.sh. */
extern const struct asset assets[];
extern const size_t assets_count;

#endif
