/* fuzz_web.c -- libFuzzer target: pylight-web's JSON bodies and its line editor of ref.txt
 *
 * The first byte picks the part. Even: the rest is a request body, read as each route
 * reads it; an override's payload must then be one pylightd accepts. Odd: the rest is
 * "ZONE\n" then ref.txt's text; on_below of ZONE is set to 123, and when both the old and
 * the new text are valid, the new one must give ZONE that on_below.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "edit.h"
#include "reading.h"
#include "thresholds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bodies(const char *s, size_t n)
{
	json_object *body = body_parse(s, n);
	struct thresholds_req treq;
	struct override_req oreq;
	enum override_cmd cmd;
	const char *text, *etag, *why;
	size_t len;
	int64_t ms;

	if (!body)
		return;
	if (body_thresholds(body, &treq, &why) == 0 && !treq.on_below[0] && !treq.off_above[0])
		abort();
	if (body_override(body, &oreq, &why) == 0 &&
	    override_parse(oreq.payload, strlen(oreq.payload), &cmd, &ms) != 0)
		abort();
	if (body_ref(body, &text, &len, &etag, &why) == 0 && !text)
		abort();
	json_object_put(body);
}

static int parse(const char *text, size_t len, struct thresholds **t)
{
	struct errlist errs = { 0 };
	int r = thresholds_parse("ref.txt", text, len, &(struct thresholds_opts){ .site = true }, t, &errs);

	errlist_clear(&errs);
	return r;
}

static void editor(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n), *why;
	struct thresholds *before = NULL, *after = NULL;
	char zone[64], *out;
	size_t zlen, out_len;
	int r;

	if (!nl || (size_t)(nl - s) >= sizeof(zone))
		return;
	zlen = (size_t)(nl - s);
	memcpy(zone, s, zlen);
	zone[zlen] = '\0';
	if (strlen(zone) != zlen || strpbrk(zone, "+#"))
		return; /* what body.c refuses never reaches the editor */
	s = nl + 1;
	n -= zlen + 1;
	r = edit_set(s, n, zone, "on_below", "123", &out, &out_len, &why);
	if (r == -EINVAL)
		return;
	if (r != 0 || !out || out[out_len] != '\0')
		abort();
	if (parse(s, n, &before) == 0 && parse(out, out_len, &after) == 0 &&
	    thresholds_get(after, zone)->on_below != 123)
		abort();
	thresholds_free(before);
	thresholds_free(after);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		bodies((const char *)data + 1, size - 1);
	else
		editor((const char *)data + 1, size - 1);
	return 0;
}
