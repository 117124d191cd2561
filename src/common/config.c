/* config.c -- pylight.ini: defaults, parsing, checks and dump, all driven by CONFIG_KEYS */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "cluster.h"
#include "names.h"
#include "number.h"
#include "password.h"

enum key_type {
	KT_STR,
	KT_PATH,
	KT_TOPIC,
	KT_SECRET,
	KT_BOOL,
	KT_INT,
	KT_PROTO,
	KT_LEVEL,
	KT_LPAYLOAD,
	KT_DEG,
	KT_DURATION
};

enum key_id {
#define KEY_ID(type, section, key, def) KEY_##section##_##key,
	CONFIG_KEYS(KEY_ID)
#undef KEY_ID
	KEY_COUNT
};
_Static_assert((int)KEY_COUNT == (int)CONFIG_KEY_COUNT, "one key table");

struct key_def {
	enum key_type type;
	const char *section;
	const char *name;
	const char *def;
	size_t offset;
};

static const struct key_def key_defs[KEY_COUNT] = {
#define KEY_DEF(type, section, key, def) \
	{ KT_##type, #section, #key, def, offsetof(struct config, section##_##key) },
	CONFIG_KEYS(KEY_DEF)
#undef KEY_DEF
};

/*
 * Every INT key needs its range here. The defaults go through the same check, so a key
 * missing from this table makes every load fail at once.
 */
static const struct {
	int min, max;
	const char *expect;
} int_ranges[KEY_COUNT] = {
	[KEY_mqtt_port] = { 1, 65535, "an integer 1..65535" },
	[KEY_mqtt_keepalive] = { 0, 65535, "0 or an integer 5..65535" },
	[KEY_mqtt_qos] = { 0, 2, "an integer 0..2" },
	[KEY_mqtt_reconnect_min] = { 1, INT_MAX, "an integer >= 1" },
	[KEY_mqtt_reconnect_max] = { 1, INT_MAX, "an integer >= 1" },
	[KEY_readings_max_payload] = { 1, 1048576, "an integer 1..1048576" },
	[KEY_readings_max_zones] = { 1, 10000000, "an integer 1..10000000" },
	[KEY_web_history_days] = { 1, 3650, "an integer 1..3650" },
	[KEY_web_metrics_zones] = { 0, 10000000, "an integer 0..10000000" },
};

/* Every DEG key's bound: decimal degrees from -max to max. */
static const double deg_max[KEY_COUNT] = {
	[KEY_site_latitude] = 90,
	[KEY_site_longitude] = 180,
};

/* STR, TOPIC and SECRET keys must be non-empty unless listed here; an empty PATH means unset. */
static const bool may_be_empty[KEY_COUNT] = {
	[KEY_mqtt_username] = true,	/* no authentication */
	[KEY_mqtt_password] = true,
	[KEY_topics_zone_state] = true, /* no zone explanations */
	[KEY_topics_stats] = true,      /* no counters published */
	[KEY_readings_json_field] = true, /* the well-known field names */
	[KEY_cluster_node] = true,        /* one instance alone */
};

static const struct named bools[] = {
	{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 },
	{ "on", 1 },   { "off", 0 },   { "1", 1 },   { "0", 0 },
};

static const struct named protocols[] = { { "3.1.1", 311 }, { "5", 5 } };

static const struct named levels[] = {
	{ "debug", LOG_DEBUG },	    { "info", LOG_INFO }, { "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING }, { "error", LOG_ERR },
};

static const struct named level_payloads[] = {
	{ "percent", LEVEL_PAYLOAD_PERCENT },
	{ "z2m", LEVEL_PAYLOAD_Z2M },
};

/* The words a key of these types takes, and what the error says it expects. */
static const struct {
	const struct named *t;
	size_t n;
	const char *expect;
} words[] = {
	[KT_PROTO] = { NAMES(protocols), "3.1.1 or 5" },
	[KT_LEVEL] = { NAMES(levels), "debug, info, notice, warning or error" },
	[KT_LPAYLOAD] = { NAMES(level_payloads), "percent or z2m" },
};

struct load_ctx {
	struct config *cfg;
	struct errlist *errs;
	FILE *f;
	char *raw;
	size_t raw_cap;
	int read_errno;
	unsigned line;
	unsigned key_line[KEY_COUNT]; /* where each key was set, 0 = default */
	bool key_bad[KEY_COUNT];
	bool expect_pair; /* the line handed to inih must reach the handler */
	bool got_pair;
	bool skip_section; /* inside an unknown or broken section, already reported */
	bool nomem;
};

static bool key_is_string(const struct key_def *k)
{
	return k->type == KT_STR || k->type == KT_PATH || k->type == KT_TOPIC ||
	       k->type == KT_SECRET;
}

static void *key_field(struct config *cfg, enum key_id id)
{
	return (char *)cfg + key_defs[id].offset;
}

static int ini_key_find(const char *section, const char *name)
{
	int id;

	for (id = 0; id < KEY_COUNT; id++)
		if (!strcmp(key_defs[id].section, section) && !strcmp(key_defs[id].name, name))
			return id;
	return -ENOENT;
}

static bool section_known(const char *name, size_t len)
{
	int id;

	for (id = 0; id < KEY_COUNT; id++)
		if (strlen(key_defs[id].section) == len && !strncmp(key_defs[id].section, name, len))
			return true;
	return false;
}

static int int_parse(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static bool topic_valid(const char *t)
{
	size_t len = strlen(t);

	return !strpbrk(t, "+#") && (len == 0 || t[len - 1] != '/');
}

/* Resolves `value` against the folder of `ini`; a bare ini name means the current folder. */
static char *path_resolve(const char *ini, const char *value)
{
	const char *slash = strrchr(ini, '/');
	char *out;

	if (!*value || *value == '/' || !slash)
		return strdup(value);
	if (asprintf(&out, "%.*s/%s", (int)(slash - ini), ini, value) < 0)
		return NULL;
	return out;
}

static void string_set(struct load_ctx *ctx, char **field, char *copy)
{
	if (!copy) {
		ctx->nomem = true;
		return;
	}
	free(*field);
	*field = copy;
}

static void value_set(struct load_ctx *ctx, enum key_id id, const char *value)
{
	const struct key_def *k = &key_defs[id];
	void *field = key_field(ctx->cfg, id);
	const char *expect = NULL;
	int n;

	switch (k->type) {
	case KT_STR:
	case KT_TOPIC:
	case KT_SECRET:
		if (!*value && !may_be_empty[id])
			expect = "a non-empty value";
		else if (k->type == KT_TOPIC && !topic_valid(value))
			expect = "a topic without '+', '#' or a trailing '/'";
		else if (id == KEY_cluster_node && *value &&
			 (!cluster_name_valid(value) || !strcmp(value, "web")))
			/* pylight-web connects as CLIENT_ID-web */
			expect = "a name of up to 64 characters without spaces, '/', '+' or '#', "
				 "other than 'web'";
		else
			string_set(ctx, field, strdup(value));
		break;
	case KT_PATH:
		string_set(ctx, field, path_resolve(ctx->cfg->path, value));
		break;
	case KT_BOOL:
		if (named_find(NAMES(bools), value, &n) < 0)
			expect = "true/false, yes/no, on/off or 1/0";
		else
			*(bool *)field = n;
		break;
	case KT_INT:
		/* libmosquitto refuses a keepalive of 1 to 4 seconds */
		if (int_parse(value, int_ranges[id].min, int_ranges[id].max, &n) < 0 ||
		    (id == KEY_mqtt_keepalive && n > 0 && n < 5))
			expect = int_ranges[id].expect;
		else
			*(int *)field = n;
		break;
	case KT_PROTO:
	case KT_LEVEL:
	case KT_LPAYLOAD:
		if (named_find(words[k->type].t, words[k->type].n, value, &n) < 0)
			expect = words[k->type].expect;
		else if (k->type == KT_LPAYLOAD)
			*(enum level_payload *)field = (enum level_payload)n;
		else
			*(int *)field = n;
		break;
	case KT_DEG: {
		double v = NAN;

		if (*value && (number_parse(value, strlen(value), &v) < 0 || fabs(v) > deg_max[id]))
			expect = deg_max[id] == 90 ? "decimal degrees from -90 to 90"
						   : "decimal degrees from -180 to 180";
		else
			*(double *)field = v;
		break;
	}
	case KT_DURATION:
		if (duration_parse(value, strlen(value), (int64_t *)field) < 0)
			expect = "a duration such as 30s, 15m, 2h or 7d";
		break;
	}
	if (expect) {
		ctx->key_bad[id] = true;
		errlist_add(ctx->errs, ctx->cfg->path, ctx->line, "bad value '%s' for %s: expected %s",
			    value, k->name, expect);
	}
}

static int ini_on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	const char *path = ctx->cfg->path;
	int id;

	ctx->got_pair = true;
	if (ctx->skip_section)
		return 1;
	if (!*name) {
		errlist_add(ctx->errs, path, ctx->line, "missing key name before '='");
		return 1;
	}
	if (!*section) {
		errlist_add(ctx->errs, path, ctx->line, "key '%s' is outside any [section]", name);
		return 1;
	}
	id = ini_key_find(section, name);
	if (id < 0) {
		errlist_add(ctx->errs, path, ctx->line, "unknown key '%s' in [%s]", name, section);
		return 1;
	}
	if (ctx->key_line[id]) {
		errlist_add(ctx->errs, path, ctx->line, "duplicate key '%s' in [%s] (first set on line %u)",
			    name, section, ctx->key_line[id]);
		return 1;
	}
	ctx->key_line[id] = ctx->line;
	value_set(ctx, id, value);
	return 1;
}

/* Finds the ']' of a header the way inih does: an inline ';' comment ends the search. */
static const char *header_close(const char *s)
{
	bool was_space = false;

	for (; *s; s++) {
		if (*s == ']')
			return s;
		if (was_space && *s == ';')
			return NULL;
		was_space = isspace((unsigned char)*s);
	}
	return NULL;
}

/* Checks a "[section]" line; returns the line for inih, or "" to hide a broken header. */
static const char *section_open(struct load_ctx *ctx, const char *text)
{
	const char *end = header_close(text + 1);
	int len;

	if (!end) {
		errlist_add(ctx->errs, ctx->cfg->path, ctx->line, "missing ']' in section header");
		ctx->skip_section = true;
		return "";
	}
	len = (int)(end - text - 1);
	ctx->skip_section = !section_known(text + 1, (size_t)len);
	if (ctx->skip_section)
		errlist_add(ctx->errs, ctx->cfg->path, ctx->line, "unknown section [%.*s]", len, text + 1);
	return text;
}

/*
 * inih's reader, with the line checks inih leaves out: it reports only its first bad line,
 * tells nobody which line a key came from, and cuts long lines in two. Leading white space is
 * dropped so that inih never takes an indented key for a continuation line.
 */
static char *ini_read_line(char *buf, int size, void *stream)
{
	struct load_ctx *ctx = stream;
	const char *text;
	ssize_t len;

	if (ctx->expect_pair && !ctx->got_pair)
		errlist_add(ctx->errs, ctx->cfg->path, ctx->line,
			    "expected 'key = value', '[section]' or a comment");
	ctx->expect_pair = ctx->got_pair = false;

	len = getline(&ctx->raw, &ctx->raw_cap, ctx->f);
	if (len < 0) {
		if (ferror(ctx->f))
			ctx->read_errno = errno;
		return NULL;
	}
	ctx->line++;
	if (len > 0 && ctx->raw[len - 1] == '\n')
		ctx->raw[--len] = '\0';
	if (len > 0 && ctx->raw[len - 1] == '\r')
		ctx->raw[--len] = '\0';
	text = ctx->raw;
	if (ctx->line == 1 && !strncmp(text, "\xEF\xBB\xBF", 3)) {
		text += 3;
		len -= 3;
	}
	while (isspace((unsigned char)*text))
		text++;
	/* inih's buffer holds the line, "\r\n" and a NUL */
	if (len > size - 3) {
		errlist_add(ctx->errs, ctx->cfg->path, ctx->line, "line is longer than %d characters",
			    size - 3);
		if (*text == '[')
			ctx->skip_section = true;
		text = "";
	} else if (*text == '[') {
		text = section_open(ctx, text);
	} else if (*text && *text != ';' && *text != '#') {
		ctx->expect_pair = true;
	}
	snprintf(buf, (size_t)size, "%s\n", text);
	return buf;
}

/* The line for an error about two keys: the later of the two, where it became an error. */
static unsigned pair_line(const struct load_ctx *ctx, enum key_id a, enum key_id b)
{
	return ctx->key_line[a] > ctx->key_line[b] ? ctx->key_line[a] : ctx->key_line[b];
}

static void config_check(struct load_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	enum key_id tls_id = cfg->mqtt_tls_cert_file[0] ? KEY_mqtt_tls_cert_file : KEY_mqtt_tls_key_file;

	if (!ctx->key_bad[KEY_mqtt_reconnect_min] && !ctx->key_bad[KEY_mqtt_reconnect_max] &&
	    cfg->mqtt_reconnect_max < cfg->mqtt_reconnect_min)
		errlist_add(ctx->errs, cfg->path,
			    pair_line(ctx, KEY_mqtt_reconnect_min, KEY_mqtt_reconnect_max),
			    "reconnect_max %d is less than reconnect_min %d", cfg->mqtt_reconnect_max,
			    cfg->mqtt_reconnect_min);
	if (!cfg->mqtt_tls_cert_file[0] != !cfg->mqtt_tls_key_file[0])
		errlist_add(ctx->errs, cfg->path, ctx->key_line[tls_id],
			    "tls_cert_file and tls_key_file must be set together");
	/* libmosquitto refuses a client certificate without a CA to check the broker against */
	if (cfg->mqtt_tls_cert_file[0] && !cfg->mqtt_tls_ca_file[0])
		errlist_add(ctx->errs, cfg->path, ctx->key_line[KEY_mqtt_tls_cert_file],
			    "tls_cert_file needs tls_ca_file");
	/* The sun needs both: half a site is a typing accident, not "no site". */
	if (!ctx->key_bad[KEY_site_latitude] && !ctx->key_bad[KEY_site_longitude] &&
	    isnan(cfg->site_latitude) != isnan(cfg->site_longitude))
		errlist_add(ctx->errs, cfg->path,
			    pair_line(ctx, KEY_site_latitude, KEY_site_longitude),
			    "latitude and longitude must be set together");
	if (!ctx->key_bad[KEY_orders_on_payload] && !ctx->key_bad[KEY_orders_off_payload] &&
	    !strcmp(cfg->orders_on_payload, cfg->orders_off_payload))
		errlist_add(ctx->errs, cfg->path,
			    pair_line(ctx, KEY_orders_on_payload, KEY_orders_off_payload),
			    "on_payload and off_payload must differ");
}

static void password_read(struct load_ctx *ctx, struct errlist *warns)
{
	const char *file = ctx->cfg->mqtt_password_file;
	char *pw;
	int r;

	if (!*file)
		return;
	r = password_load(file, ctx->cfg->path, ctx->key_line[KEY_mqtt_password_file], &pw,
			  ctx->errs, warns);
	if (r == 0 || r == -ENOMEM)
		string_set(ctx, &ctx->cfg->mqtt_password, pw); /* NULL: out of memory */
}

int config_load(const char *path, struct config *cfg, struct errlist *errs, struct errlist *warns)
{
	struct load_ctx ctx = { .cfg = cfg, .errs = errs };
	size_t before = errs->count;
	int id;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	if (!cfg->path)
		return -ENOMEM;
	ctx.f = fopen(path, "re");
	if (!ctx.f) {
		errlist_add(errs, path, 0, "%s", strerror(errno));
		config_free(cfg);
		return -EINVAL;
	}
	for (id = 0; id < KEY_COUNT; id++)
		value_set(&ctx, id, key_defs[id].def);
	/* every bad line was reported by the reader or the handler; inih's result repeats one */
	(void)ini_parse_stream(ini_read_line, &ctx, ini_on_pair, &ctx);
	free(ctx.raw);
	if (ctx.read_errno)
		errlist_add(errs, path, 0, "%s", strerror(ctx.read_errno));
	config_check(&ctx);
	password_read(&ctx, warns);
	if (ctx.key_line[KEY_mqtt_password] && cfg->mqtt_password[0])
		password_mode_warn(warns, path, fileno(ctx.f), "file with a password");
	fclose(ctx.f);
	memcpy(cfg->key_line, ctx.key_line, sizeof(cfg->key_line));
	if (ctx.nomem || errs->count > before) {
		config_free(cfg);
		return ctx.nomem ? -ENOMEM : -EINVAL;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	int id;

	if (!cfg)
		return;
	for (id = 0; id < KEY_COUNT; id++)
		if (key_is_string(&key_defs[id]))
			free(*(char **)key_field(cfg, id));
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

bool config_has_site(const struct config *cfg)
{
	return !isnan(cfg->site_latitude) && !isnan(cfg->site_longitude);
}

unsigned config_line(const struct config *cfg, const char *section, const char *key)
{
	int id = ini_key_find(section, key);

	return id < 0 ? 0 : cfg->key_line[id];
}

void config_dump(const struct config *cfg, FILE *f)
{
	const char *section = NULL;
	char num[40];
	int id;

	for (id = 0; id < KEY_COUNT; id++) {
		const struct key_def *k = &key_defs[id];
		const void *field = (const char *)cfg + k->offset;
		const char *v = "";

		if (!section || strcmp(section, k->section) != 0)
			fprintf(f, "%s[%s]\n", section ? "\n" : "", k->section);
		section = k->section;
		switch (k->type) {
		case KT_STR:
		case KT_PATH:
		case KT_TOPIC:
			v = *(char *const *)field;
			break;
		case KT_SECRET:
			v = **(char *const *)field ? "********" : "";
			break;
		case KT_BOOL:
			v = *(const bool *)field ? "true" : "false";
			break;
		case KT_INT:
			snprintf(num, sizeof(num), "%d", *(const int *)field);
			v = num;
			break;
		case KT_PROTO:
		case KT_LEVEL:
			v = named_name(words[k->type].t, words[k->type].n, *(const int *)field);
			break;
		case KT_LPAYLOAD:
			v = named_name(words[k->type].t, words[k->type].n,
				       (int)*(const enum level_payload *)field);
			break;
		case KT_DEG:
			if (!isnan(*(const double *)field)) {
				number_format(*(const double *)field, num, sizeof(num));
				v = num;
			}
			break;
		case KT_DURATION:
			duration_format(*(const int64_t *)field, num, sizeof(num));
			v = num;
			break;
		}
		/* no trailing blank after an empty value, so golden files stay clean */
		fprintf(f, "%s =%s%s\n", k->name, *v ? " " : "", v);
		if (id == KEY_cluster_node && *v)
			fprintf(f, "# client id %s-%s, clean session, readings at QoS 0; status %s/%s\n",
				cfg->mqtt_client_id, v, cfg->topics_status, v);
	}
}
