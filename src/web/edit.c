/* edit.c -- one key of one section of ref.txt set to a new value, every other byte kept */
#include "edit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

/* One line of the text: [start, end) without its '\n'; `content` stops at a '#'. */
struct line {
	const char *start, *end, *content_end;
};

static struct line line_at(const char *p, const char *text_end)
{
	const char *nl = memchr(p, '\n', (size_t)(text_end - p));
	struct line l = { p, nl ? nl : text_end, NULL };
	const char *hash = memchr(p, '#', (size_t)(l.end - p));

	l.content_end = hash ? hash : l.end;
	return l;
}

/* The line's content without comment and surrounding white space. */
static void line_content(const struct line *l, const char **s, size_t *len)
{
	*s = l->start;
	*len = (size_t)(l->content_end - l->start);
	number_trim(s, len);
}

/*
 * Whether the line is a "[zone NAME]" header, read as thresholds_parse.c reads it; *name and
 * *name_len get NAME. Any other "[...]" line is a header too, of a section no zone owns.
 */
static bool header_zone(const struct line *l, bool *is_header, const char **name, size_t *name_len)
{
	const char *s, *close, *in;
	size_t len, in_len;

	line_content(l, &s, &len);
	*is_header = len > 0 && s[0] == '[';
	if (!*is_header)
		return false;
	close = memrchr(s, ']', len);
	if (!close || close != s + len - 1)
		return false;
	in = s + 1;
	in_len = (size_t)(close - in);
	number_trim(&in, &in_len);
	if (in_len < 5 || memcmp(in, "zone", 4) != 0 || !number_is_space(in[4]))
		return false;
	*name = in + 4;
	*name_len = in_len - 4;
	number_trim(name, name_len);
	return true;
}

/* For a "key = value" line: the key and the value's bytes (empty at the '=' when none). */
static bool line_key(const struct line *l, const char **key, size_t *key_len, const char **val,
		     size_t *val_len)
{
	const char *s, *eq;
	size_t len;

	line_content(l, &s, &len);
	eq = memchr(s, '=', len);
	if (!eq)
		return false;
	*key = s;
	*key_len = (size_t)(eq - s);
	number_trim(key, key_len);
	*val = eq + 1;
	*val_len = (size_t)(s + len - *val);
	number_trim(val, val_len);
	if (*val_len == 0)
		*val = eq + 1;
	return true;
}

/* The number form: the first line with content is neither a header nor a "key = value". */
static bool numbers_form(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		struct line l = line_at(p, end);
		const char *s;
		size_t n;

		line_content(&l, &s, &n);
		if (n > 0)
			return s[0] != '[' && !memchr(s, '=', n);
		p = l.end < end ? l.end + 1 : end;
	}
	return false;
}

/* *out = text[0, at) + ins + text[at + cut, len). */
static int splice(const char *text, size_t len, size_t at, size_t cut, const char *ins,
		  size_t ins_len, char **out, size_t *out_len)
{
	size_t n = len - cut + ins_len;
	char *buf = malloc(n + 1);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, at);
	memcpy(buf + at, ins, ins_len);
	memcpy(buf + at + ins_len, text + at + cut, len - at - cut);
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

static bool zone_name_ok(const char *zone)
{
	size_t len = strlen(zone);
	const char *s = zone;

	number_trim(&s, &len);
	return len == strlen(zone) && !strpbrk(zone, "#\n\r");
}

int edit_set(const char *text, size_t len, const char *zone, const char *key, const char *value,
	     char **out, size_t *out_len, const char **why)
{
	const char *p = text, *end = text + len, *eol = "\n";
	const char *last_key = NULL, *section_end = NULL, *indent = "";
	size_t indent_len = 0, klen = strlen(key);
	bool in = !*zone, found = !*zone;
	char *ins;
	int r, n;

	*out = NULL;
	if (*zone && !zone_name_ok(zone)) {
		*why = "a zone name with '#', a line break or surrounding white space cannot be a "
		       "section";
		return -EINVAL;
	}
	if (numbers_form(text, len)) {
		*why = "the file is in the number form: edit the whole file";
		return -EINVAL;
	}
	if (memchr(text, '\r', len))
		eol = "\r\n";

	while (p < end) {
		struct line l = line_at(p, end);
		const char *name, *k, *v;
		size_t name_len, k_len, v_len;
		bool is_header, zone_header;

		zone_header = header_zone(&l, &is_header, &name, &name_len);
		if (is_header) {
			if (in) {
				section_end = l.start;
				break;
			}
			in = zone_header && *zone && name_len == strlen(zone) &&
			     memcmp(name, zone, name_len) == 0;
			if (in) {
				found = true;
				last_key = l.end; /* a section without keys gets them after its header */
			}
		} else if (in && line_key(&l, &k, &k_len, &v, &v_len)) {
			if (k_len == klen && memcmp(k, key, klen) == 0)
				return splice(text, len, (size_t)(v - text), v_len, value,
					      strlen(value), out, out_len);
			last_key = l.end;
			indent = l.start;
			indent_len = 0;
			while (indent + indent_len < l.end && (indent[indent_len] == ' ' ||
							       indent[indent_len] == '\t'))
				indent_len++;
		}
		p = l.end < end ? l.end + 1 : end;
	}

	if (!found) {
		/* a new section at the end, after a blank line */
		bool nl_end = len > 0 && text[len - 1] == '\n';

		n = asprintf(&ins, "%s%s[zone %s]%s%s = %s%s", len > 0 && !nl_end ? eol : "",
			     len > 0 ? eol : "", zone, eol, key, value, eol);
		if (n < 0)
			return -ENOMEM;
		r = splice(text, len, len, 0, ins, (size_t)n, out, out_len);
		free(ins);
		return r;
	}
	if (!last_key) {
		/* a global section without a key line: the new line goes before the first header */
		n = asprintf(&ins, "%s = %s%s", key, value, eol);
		if (n < 0)
			return -ENOMEM;
		r = splice(text, len, section_end ? (size_t)(section_end - text) : 0, 0, ins,
			   (size_t)n, out, out_len);
		free(ins);
		return r;
	}
	/* after the last key line (or the header), which may be the text's last, unended line */
	if (last_key < end) {
		n = asprintf(&ins, "%.*s%s = %s%s", (int)indent_len, indent, key, value, eol);
		if (n < 0)
			return -ENOMEM;
		r = splice(text, len, (size_t)(last_key - text) + 1, 0, ins, (size_t)n, out,
			   out_len);
	} else {
		n = asprintf(&ins, "%s%.*s%s = %s%s", eol, (int)indent_len, indent, key, value, eol);
		if (n < 0)
			return -ENOMEM;
		r = splice(text, len, len, 0, ins, (size_t)n, out, out_len);
	}
	free(ins);
	return r;
}
