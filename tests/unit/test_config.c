/* test_config.c -- unit tests for pylight.ini loading, checking and dumping (run from the repo root) */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char dir[256]; /* short, so that every path built from it fits PATH_MAX */

/* Writes `text` to dir/name with `mode`; returns the path (static, valid until the next call). */
static const char *file_write(const char *name, const char *text, mode_t mode)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

struct load {
	struct config cfg;
	struct errlist errs;
	struct errlist warns;
	char path[PATH_MAX];
	int rc;
};

static void load_file(struct load *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->rc = config_load(path, &l->cfg, &l->errs, &l->warns);
}

static void load_text(struct load *l, const char *text)
{
	load_file(l, file_write("t.ini", text, 0600));
}

static void load_done(struct load *l)
{
	config_free(&l->cfg);
	errlist_clear(&l->errs);
	errlist_clear(&l->warns);
}

/* Loads `text` and expects it to load without an error or a warning. */
static void load_ok(struct load *l, const char *text)
{
	load_text(l, text);
	if (l->rc != 0)
		fail_msg("rejected (%d): %s", l->rc, l->errs.kept ? l->errs.msg[0] : "no message");
	assert_int_equal(l->errs.count, 0);
	assert_int_equal(l->warns.count, 0);
}

/* Expects `text` to be rejected with exactly one error, "PATH:line: msg". */
static void expect_error(const char *text, unsigned line, const char *msg)
{
	struct config zero = { 0 };
	char want[PATH_MAX + 256];
	struct load l;

	load_text(&l, text);
	snprintf(want, sizeof(want), "%s:%u: %s", l.path, line, msg);
	if (l.rc != -EINVAL || l.errs.count != 1 || strcmp(l.errs.msg[0], want))
		fail_msg("input:\n%s\nrc %d, %zu errors, first: %s\nwanted: %s", text, l.rc,
			 l.errs.count, l.errs.kept ? l.errs.msg[0] : "(none)", want);
	assert_memory_equal(&l.cfg, &zero, sizeof(zero));
	load_done(&l);
}

static char *dump(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	config_dump(cfg, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_defaults_when_empty(void **state)
{
	struct load l;
	char ref[PATH_MAX];

	(void)state;
	load_ok(&l, "");
	snprintf(ref, sizeof(ref), "%s/ref.txt", dir);
	assert_string_equal(l.cfg.mqtt_host, "localhost");
	assert_int_equal(l.cfg.mqtt_port, 1883);
	assert_string_equal(l.cfg.mqtt_client_id, "Pylight");
	assert_string_equal(l.cfg.mqtt_username, "system");
	assert_string_equal(l.cfg.mqtt_password, "modif");
	assert_string_equal(l.cfg.mqtt_password_file, "");
	assert_int_equal(l.cfg.mqtt_keepalive, 60);
	assert_int_equal(l.cfg.mqtt_qos, 1);
	assert_false(l.cfg.mqtt_clean_session);
	assert_int_equal(l.cfg.mqtt_protocol, 311);
	assert_string_equal(l.cfg.mqtt_tls_ca_file, "");
	assert_string_equal(l.cfg.mqtt_tls_cert_file, "");
	assert_string_equal(l.cfg.mqtt_tls_key_file, "");
	assert_false(l.cfg.mqtt_tls_insecure);
	assert_int_equal(l.cfg.mqtt_reconnect_min, 1);
	assert_int_equal(l.cfg.mqtt_reconnect_max, 30);
	assert_string_equal(l.cfg.topics_readings, "value/light");
	assert_string_equal(l.cfg.topics_orders, "light/order");
	assert_string_equal(l.cfg.topics_override, "light/override");
	assert_string_equal(l.cfg.topics_status, "pylight/status");
	assert_string_equal(l.cfg.topics_zone_state, "pylight/zone");
	assert_string_equal(l.cfg.topics_levels, "light/level");
	assert_int_equal(l.cfg.orders_level_payload, LEVEL_PAYLOAD_PERCENT);
	assert_string_equal(l.cfg.orders_on_payload, "ON");
	assert_string_equal(l.cfg.orders_off_payload, "OFF");
	assert_false(l.cfg.orders_retain);
	assert_string_equal(l.cfg.readings_json_field, "");
	assert_int_equal(l.cfg.readings_max_payload, 256);
	assert_int_equal(l.cfg.readings_max_zones, 4096);
	assert_string_equal(l.cfg.thresholds_file, ref);
	assert_int_equal(l.cfg.log_level, LOG_INFO);
	assert_string_equal(l.cfg.path, l.path);
	load_done(&l);
}

static void test_every_key_parsed(void **state)
{
	struct load l;

	(void)state;
	file_write("pw", "secret\n", 0600);
	load_ok(&l, "[mqtt]\n"
		    "host = broker.example\n"
		    "port = 8883\n"
		    "client_id = light-2\n"
		    "username = lights\n"
		    "password_file = pw\n"
		    "keepalive = 0\n"
		    "qos = 2\n"
		    "clean_session = true\n"
		    "protocol = 5\n"
		    "tls_ca_file = /etc/ssl/ca.pem\n"
		    "tls_cert_file = /etc/ssl/me.pem\n"
		    "tls_key_file = /etc/ssl/me.key\n"
		    "tls_insecure = yes\n"
		    "reconnect_min = 2\n"
		    "reconnect_max = 2\n"
		    "[topics]\n"
		    "readings = a/lux\n"
		    "orders = a/order\n"
		    "override = a/override\n"
		    "status = a/status\n"
		    "zone_state =\n"
		    "levels = a/level\n"
		    "[orders]\n"
		    "on_payload = 1\n"
		    "off_payload = 0\n"
		    "retain = on\n"
		    "level_payload = Z2M\n"
		    "[readings]\n"
		    "json_field = BH1750.Illuminance\n"
		    "max_payload = 1048576\n"
		    "max_zones = 10000000\n"
		    "[thresholds]\n"
		    "file = /etc/pylight/ref.txt\n"
		    "[log]\n"
		    "level = debug\n");
	assert_string_equal(l.cfg.mqtt_host, "broker.example");
	assert_int_equal(l.cfg.mqtt_port, 8883);
	assert_string_equal(l.cfg.mqtt_client_id, "light-2");
	assert_string_equal(l.cfg.mqtt_username, "lights");
	assert_string_equal(l.cfg.mqtt_password, "secret");
	assert_int_equal(l.cfg.mqtt_keepalive, 0);
	assert_int_equal(l.cfg.mqtt_qos, 2);
	assert_true(l.cfg.mqtt_clean_session);
	assert_int_equal(l.cfg.mqtt_protocol, 5);
	assert_string_equal(l.cfg.mqtt_tls_ca_file, "/etc/ssl/ca.pem");
	assert_string_equal(l.cfg.mqtt_tls_cert_file, "/etc/ssl/me.pem");
	assert_string_equal(l.cfg.mqtt_tls_key_file, "/etc/ssl/me.key");
	assert_true(l.cfg.mqtt_tls_insecure);
	assert_int_equal(l.cfg.mqtt_reconnect_min, 2);
	assert_int_equal(l.cfg.mqtt_reconnect_max, 2);
	assert_string_equal(l.cfg.topics_readings, "a/lux");
	assert_string_equal(l.cfg.topics_orders, "a/order");
	assert_string_equal(l.cfg.topics_override, "a/override");
	assert_string_equal(l.cfg.topics_status, "a/status");
	assert_string_equal(l.cfg.topics_zone_state, "");
	assert_string_equal(l.cfg.topics_levels, "a/level");
	assert_int_equal(l.cfg.orders_level_payload, LEVEL_PAYLOAD_Z2M);
	assert_string_equal(l.cfg.orders_on_payload, "1");
	assert_string_equal(l.cfg.orders_off_payload, "0");
	assert_true(l.cfg.orders_retain);
	assert_string_equal(l.cfg.readings_json_field, "BH1750.Illuminance");
	assert_int_equal(l.cfg.readings_max_payload, 1048576);
	assert_int_equal(l.cfg.readings_max_zones, 10000000);
	assert_string_equal(l.cfg.thresholds_file, "/etc/pylight/ref.txt");
	assert_int_equal(l.cfg.log_level, LOG_DEBUG);
	load_done(&l);
}

static void test_password_in_ini(void **state)
{
	struct load l;

	(void)state;
	load_ok(&l, "[mqtt]\npassword = s3cret\n");
	assert_string_equal(l.cfg.mqtt_password, "s3cret");
	load_done(&l);
	load_ok(&l, "[mqtt]\nusername =\npassword =\n");
	assert_string_equal(l.cfg.mqtt_username, "");
	assert_string_equal(l.cfg.mqtt_password, "");
	load_done(&l);
}

static void test_bool_spellings(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
		{ "true", true },  { "false", false }, { "yes", true }, { "no", false },
		{ "on", true },	   { "off", false },   { "1", true },	{ "0", false },
		{ "TRUE", true },  { "Off", false },
	};
	char text[64];
	struct load l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[orders]\nretain = %s\n", cases[i].text);
		load_ok(&l, text);
		if (l.cfg.orders_retain != cases[i].value)
			fail_msg("retain = %s gave %d", cases[i].text, l.cfg.orders_retain);
		load_done(&l);
	}
}

static void test_levels_and_protocols(void **state)
{
	static const struct {
		const char *text;
		int value;
	} levels[] = {
		{ "debug", LOG_DEBUG },	    { "info", LOG_INFO },  { "notice", LOG_NOTICE },
		{ "warning", LOG_WARNING }, { "error", LOG_ERR }, { "Warning", LOG_WARNING },
	};
	char text[64];
	struct load l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "[log]\nlevel = %s\n", levels[i].text);
		load_ok(&l, text);
		assert_int_equal(l.cfg.log_level, levels[i].value);
		load_done(&l);
	}
	load_ok(&l, "[mqtt]\nprotocol = 3.1.1\n");
	assert_int_equal(l.cfg.mqtt_protocol, 311);
	load_done(&l);
}

static void test_int_bounds_accepted(void **state)
{
	struct load l;

	(void)state;
	load_ok(&l, "[mqtt]\nport = 1\nkeepalive = 5\nqos = 0\nreconnect_min = 1\n"
		    "[readings]\nmax_payload = 1\nmax_zones = 1\n");
	assert_int_equal(l.cfg.mqtt_port, 1);
	assert_int_equal(l.cfg.mqtt_keepalive, 5);
	assert_int_equal(l.cfg.mqtt_qos, 0);
	assert_int_equal(l.cfg.readings_max_payload, 1);
	assert_int_equal(l.cfg.readings_max_zones, 1);
	load_done(&l);
	load_ok(&l, "[mqtt]\nport = 65535\nkeepalive = 65535\nreconnect_max = 2147483647\n");
	assert_int_equal(l.cfg.mqtt_port, 65535);
	assert_int_equal(l.cfg.mqtt_keepalive, 65535);
	assert_int_equal(l.cfg.mqtt_reconnect_max, INT_MAX);
	load_done(&l);
}

static void test_syntax_accepted(void **state)
{
	struct load l;

	(void)state;
	/* indented keys are keys, not continuation lines of the key above */
	load_ok(&l, "\xEF\xBB\xBF; comment\r\n"
		    "# comment\r\n"
		    "\r\n"
		    "  [mqtt] ; the broker\r\n"
		    "  host = a.example ; inline comment\r\n"
		    "\tport: 1884\r\n"
		    "  client_id = a;b#c\r\n"
		    "[mqtt]\n"
		    "qos = 0");
	assert_string_equal(l.cfg.mqtt_host, "a.example");
	assert_int_equal(l.cfg.mqtt_port, 1884);
	assert_string_equal(l.cfg.mqtt_client_id, "a;b#c");
	assert_int_equal(l.cfg.mqtt_qos, 0);
	load_done(&l);
}

static void test_value_errors(void **state)
{
	(void)state;
	expect_error("[homeassistant]\nforget_after = 7 days\n", 2,
		     "bad value '7 days' for forget_after: expected a duration such as 30s, 15m, 2h or 7d");
	expect_error("[mqtt]\nport = abc\n", 2, "bad value 'abc' for port: expected an integer 1..65535");
	expect_error("[mqtt]\nport = 12abc\n", 2, "bad value '12abc' for port: expected an integer 1..65535");
	expect_error("[mqtt]\nport = 0\n", 2, "bad value '0' for port: expected an integer 1..65535");
	expect_error("[mqtt]\nport = 65536\n", 2, "bad value '65536' for port: expected an integer 1..65535");
	expect_error("[mqtt]\nport = 99999999999999999999\n", 2,
		     "bad value '99999999999999999999' for port: expected an integer 1..65535");
	expect_error("[mqtt]\nport = 0x10\n", 2, "bad value '0x10' for port: expected an integer 1..65535");
	expect_error("[mqtt]\nport =\n", 2, "bad value '' for port: expected an integer 1..65535");
	expect_error("[mqtt]\nkeepalive = 4\n", 2,
		     "bad value '4' for keepalive: expected 0 or an integer 5..65535");
	expect_error("[mqtt]\nkeepalive = -1\n", 2,
		     "bad value '-1' for keepalive: expected 0 or an integer 5..65535");
	expect_error("[mqtt]\nqos = 3\n", 2, "bad value '3' for qos: expected an integer 0..2");
	expect_error("[mqtt]\nreconnect_min = 0\n", 2,
		     "bad value '0' for reconnect_min: expected an integer >= 1");
	expect_error("[readings]\nmax_payload = 1048577\n", 2,
		     "bad value '1048577' for max_payload: expected an integer 1..1048576");
	expect_error("[readings]\nmax_payload = 0\n", 2,
		     "bad value '0' for max_payload: expected an integer 1..1048576");
	expect_error("[readings]\nmax_zones = 10000001\n", 2,
		     "bad value '10000001' for max_zones: expected an integer 1..10000000");
	expect_error("[mqtt]\nclean_session = maybe\n", 2,
		     "bad value 'maybe' for clean_session: expected true/false, yes/no, on/off or 1/0");
	expect_error("[mqtt]\nprotocol = 3.1\n", 2, "bad value '3.1' for protocol: expected 3.1.1 or 5");
	expect_error("[log]\nlevel = verbose\n", 2,
		     "bad value 'verbose' for level: expected debug, info, notice, warning or error");
	expect_error("[mqtt]\nhost =\n", 2, "bad value '' for host: expected a non-empty value");
	expect_error("[mqtt]\nclient_id =\n", 2, "bad value '' for client_id: expected a non-empty value");
	expect_error("[orders]\non_payload =\n", 2, "bad value '' for on_payload: expected a non-empty value");
	expect_error("[topics]\nreadings =\n", 2, "bad value '' for readings: expected a non-empty value");
	expect_error("[topics]\norders = light/+/order\n", 2,
		     "bad value 'light/+/order' for orders: expected a topic without '+', '#' or a trailing '/'");
	expect_error("[topics]\nstatus = a/#\n", 2,
		     "bad value 'a/#' for status: expected a topic without '+', '#' or a trailing '/'");
	expect_error("[topics]\nlevels =\n", 2, "bad value '' for levels: expected a non-empty value");
	expect_error("[topics]\nlevels = light/level/#\n", 2,
		     "bad value 'light/level/#' for levels: expected a topic without '+', '#' or a "
		     "trailing '/'");
	expect_error("[orders]\nlevel_payload = brightness\n", 2,
		     "bad value 'brightness' for level_payload: expected percent or z2m");
	expect_error("[topics]\nzone_state = a/\n", 2,
		     "bad value 'a/' for zone_state: expected a topic without '+', '#' or a trailing '/'");
}

static void test_structure_errors(void **state)
{
	(void)state;
	expect_error("[mqtt]\nhost = a\n[foo]\nx = 1\ny = 2\n", 3, "unknown section [foo]");
	expect_error("[mqtt]\nfoo = 1\n", 2, "unknown key 'foo' in [mqtt]");
	expect_error("[mqtt]\nport = 1\n\n[mqtt]\nport = 2\n", 5,
		     "duplicate key 'port' in [mqtt] (first set on line 2)");
	expect_error("host = a\n", 1, "key 'host' is outside any [section]");
	expect_error("[mqtt]\n= a\n", 2, "missing key name before '='");
	expect_error("[mqtt]\nhost a\n", 2, "expected 'key = value', '[section]' or a comment");
	expect_error("[mqtt]\nhost a", 2, "expected 'key = value', '[section]' or a comment");
	expect_error("[mqtt]\nhost ; = a\n", 2, "expected 'key = value', '[section]' or a comment");
	/* a broken header hides its keys rather than blaming them on the section before */
	expect_error("[mqtt]\n[topics\nfoo = 1\n", 2, "missing ']' in section header");
	expect_error("[mqtt ; x]\n", 1, "missing ']' in section header");
	expect_error("[ mqtt ]\nport = 1\n", 1, "unknown section [ mqtt ]");
}

static void test_cross_key_errors(void **state)
{
	(void)state;
	expect_error("[mqtt]\nreconnect_max = 5\nreconnect_min = 10\n", 3,
		     "reconnect_max 5 is less than reconnect_min 10");
	expect_error("[mqtt]\nreconnect_min = 31\n", 2, "reconnect_max 30 is less than reconnect_min 31");
	expect_error("[orders]\noff_payload = ON\n", 2, "on_payload and off_payload must differ");
	expect_error("[mqtt]\ntls_ca_file = ca\ntls_key_file = k\n", 3,
		     "tls_cert_file and tls_key_file must be set together");
	expect_error("[mqtt]\ntls_ca_file = ca\ntls_cert_file = c\n", 3,
		     "tls_cert_file and tls_key_file must be set together");
	expect_error("[mqtt]\ntls_cert_file = c\ntls_key_file = k\n", 2, "tls_cert_file needs tls_ca_file");
}

/* A value already reported as bad is not blamed a second time by a cross-key check. */
static void test_bad_value_not_cross_checked(void **state)
{
	(void)state;
	expect_error("[mqtt]\nreconnect_min = 50\nreconnect_max = x\n", 3,
		     "bad value 'x' for reconnect_max: expected an integer >= 1");
	expect_error("[orders]\non_payload =\noff_payload = ON\n", 2,
		     "bad value '' for on_payload: expected a non-empty value");
}

static void test_cluster_node(void **state)
{
	static const char *const bad[] = { "a/b", "a+", "#", "web",
		"x2345678901234567890123456789012345678901234567890123456789012345" };
	char text[128], msg[256];
	struct load l;

	(void)state;
	load_ok(&l, "[cluster]\nnode = east-1\n");
	assert_string_equal(l.cfg.cluster_node, "east-1");
	load_done(&l);
	load_ok(&l, "[cluster]\n");
	assert_string_equal(l.cfg.cluster_node, ""); /* alone */
	load_done(&l);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[cluster]\nnode = %s\n", bad[i]);
		snprintf(msg, sizeof(msg),
			 "bad value '%s' for node: expected a name of up to 64 characters without "
			 "spaces, '/', '+' or '#', other than 'web'", bad[i]);
		expect_error(text, 2, msg);
	}
}

static void test_all_errors_reported(void **state)
{
	struct load l;
	char want[PATH_MAX + 128];
	static const char *const msgs[] = {
		"1: key 'a' is outside any [section]",
		"3: bad value 'x' for port: expected an integer 1..65535",
		"4: unknown key 'hots' in [mqtt]",
		"5: expected 'key = value', '[section]' or a comment",
		"6: unknown section [mqqt]",
		"9: duplicate key 'qos' in [mqtt] (first set on line 8)",
		"11: bad value 'a/+' for readings: expected a topic without '+', '#' or a trailing '/'",
		"13: bad value 'loud' for level: expected debug, info, notice, warning or error",
		"16: reconnect_max 1 is less than reconnect_min 2",
	};
	size_t i;

	(void)state;
	load_text(&l, "a = 1\n"
		      "[mqtt]\n"
		      "port = x\n"
		      "hots = b\n"
		      "junk\n"
		      "[mqqt]\n"
		      "[mqtt]\n"
		      "qos = 0\n"
		      "qos = 1\n"
		      "[topics]\nreadings = a/+\n"
		      "[log]\nlevel = loud\n"
		      "[mqtt]\nreconnect_min = 2\nreconnect_max = 1\n");
	assert_int_equal(l.rc, -EINVAL);
	assert_int_equal(l.errs.count, sizeof(msgs) / sizeof(msgs[0]));
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		snprintf(want, sizeof(want), "%s:%s", l.path, msgs[i]);
		assert_string_equal(l.errs.msg[i], want);
	}
	load_done(&l);
}

static void test_line_too_long(void **state)
{
	char text[512], value[256];
	struct load l;

	(void)state;
	/* "host = " is 7 characters: 190 more make 197, the longest accepted line */
	memset(value, 'h', 190);
	value[190] = '\0';
	snprintf(text, sizeof(text), "[mqtt]\nhost = %s\n", value);
	load_ok(&l, text);
	assert_string_equal(l.cfg.mqtt_host, value);
	load_done(&l);
	snprintf(text, sizeof(text), "[mqtt]\nhost = %sh\nport = 1\n", value);
	expect_error(text, 2, "line is longer than 197 characters");
	memset(value, 'x', 240);
	value[240] = '\0';
	snprintf(text, sizeof(text), "[mqtt]\n; %s\n", value);
	expect_error(text, 2, "line is longer than 197 characters");
	/* the keys under a header too long to read are not blamed on the section before */
	snprintf(text, sizeof(text), "[mqtt]\n[%s]\nx = 1\n", value);
	expect_error(text, 2, "line is longer than 197 characters");
}

static void test_relative_paths(void **state)
{
	char sub[PATH_MAX], want[PATH_MAX + 32], cwd[PATH_MAX];
	struct load l;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_true(mkdir(sub, 0700) == 0 || errno == EEXIST);
	load_file(&l, file_write("sub/p.ini",
				 "[mqtt]\ntls_ca_file = certs/ca.pem\ntls_cert_file = /abs/c.pem\n"
				 "tls_key_file = ../k.pem\n[thresholds]\nfile = ref2.txt\n",
				 0600));
	assert_int_equal(l.rc, 0);
	snprintf(want, sizeof(want), "%s/sub/certs/ca.pem", dir);
	assert_string_equal(l.cfg.mqtt_tls_ca_file, want);
	assert_string_equal(l.cfg.mqtt_tls_cert_file, "/abs/c.pem");
	snprintf(want, sizeof(want), "%s/sub/../k.pem", dir);
	assert_string_equal(l.cfg.mqtt_tls_key_file, want);
	snprintf(want, sizeof(want), "%s/sub/ref2.txt", dir);
	assert_string_equal(l.cfg.thresholds_file, want);
	load_done(&l);

	/* an ini named without a folder is in the current one: paths stay as written */
	file_write("t.ini", "", 0600);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	load_file(&l, "t.ini");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(l.rc, 0);
	assert_string_equal(l.cfg.thresholds_file, "ref.txt");
	load_done(&l);
}

static void test_password_file(void **state)
{
	char want[PATH_MAX + 128], pw[PATH_MAX];
	struct load l;

	(void)state;
	snprintf(pw, sizeof(pw), "%s", file_write("pw", "top secret\r\nsecond line\n", 0600));
	load_ok(&l, "[mqtt]\npassword = ignored\npassword_file = pw\n");
	assert_string_equal(l.cfg.mqtt_password, "top secret");
	assert_string_equal(l.cfg.mqtt_password_file, pw);
	load_done(&l);

	file_write("pw", "nonl", 0644);
	load_text(&l, "[mqtt]\npassword_file = pw\n");
	assert_int_equal(l.rc, 0);
	assert_string_equal(l.cfg.mqtt_password, "nonl");
	assert_int_equal(l.warns.count, 1);
	snprintf(want, sizeof(want), "%s: password file is readable by other users (mode 0644)", pw);
	assert_string_equal(l.warns.msg[0], want);
	load_done(&l);

	file_write("pw", "\n", 0600);
	snprintf(want, sizeof(want), "password_file %s is empty", pw);
	expect_error("[mqtt]\n\npassword_file = pw\n", 3, want);
}

static void test_password_file_unreadable(void **state)
{
	char msg[PATH_MAX + 128];

	(void)state;
	snprintf(msg, sizeof(msg), "cannot read password_file %s/nope: %s", dir, strerror(ENOENT));
	expect_error("[mqtt]\npassword_file = nope\n", 2, msg);
	snprintf(msg, sizeof(msg), "cannot read password_file /: %s", strerror(EISDIR));
	expect_error("[mqtt]\npassword_file = /\n", 2, msg);
}

static void test_ini_mode_warning(void **state)
{
	char want[PATH_MAX + 128];
	struct load l;

	(void)state;
	load_file(&l, file_write("w.ini", "[mqtt]\npassword = x\n", 0640));
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.warns.count, 1);
	snprintf(want, sizeof(want), "%s: file with a password is readable by other users (mode 0640)",
		 l.path);
	assert_string_equal(l.warns.msg[0], want);
	load_done(&l);

	/* the default password or an empty one is no secret of this file */
	load_file(&l, file_write("w.ini", "[mqtt]\nhost = a\n", 0644));
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.warns.count, 0);
	load_done(&l);
	load_file(&l, file_write("w.ini", "[mqtt]\npassword =\n", 0644));
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.warns.count, 0);
	load_done(&l);
	load_file(&l, file_write("w.ini", "[mqtt]\npassword = x\n", 0600));
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.warns.count, 0);
	load_done(&l);
}

static void test_unreadable_ini(void **state)
{
	char path[PATH_MAX], want[PATH_MAX + 64];
	struct config zero = { 0 };
	struct load l;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.ini", dir);
	load_file(&l, path);
	assert_int_equal(l.rc, -EINVAL);
	assert_int_equal(l.errs.count, 1);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(l.errs.msg[0], want);
	assert_memory_equal(&l.cfg, &zero, sizeof(zero));
	load_done(&l);

	load_file(&l, dir);
	assert_int_equal(l.rc, -EINVAL);
	assert_int_equal(l.errs.count, 1);
	snprintf(want, sizeof(want), "%s: %s", dir, strerror(EISDIR));
	assert_string_equal(l.errs.msg[0], want);
	load_done(&l);
}

static void test_errors_append_to_list(void **state)
{
	struct load l;

	(void)state;
	memset(&l, 0, sizeof(l));
	errlist_add(&l.errs, "earlier", 1, "error");
	assert_int_equal(config_load(file_write("t.ini", "", 0600), &l.cfg, &l.errs, &l.warns), 0);
	assert_int_equal(l.errs.count, 1);
	load_done(&l);
}

static void test_free_is_safe(void **state)
{
	struct config cfg = { 0 };
	struct load l;

	(void)state;
	config_free(&cfg);
	config_free(NULL);
	load_ok(&l, "");
	config_free(&l.cfg);
	config_free(&l.cfg);
	load_done(&l);
}

static void test_dump(void **state)
{
	struct load l;
	char *out, want[2048];

	(void)state;
	load_ok(&l, "[mqtt]\npassword = s\nprotocol = 5\nclean_session = yes\n[log]\nlevel = warning\n");
	out = dump(&l.cfg);
	snprintf(want, sizeof(want),
		 "[mqtt]\nhost = localhost\nport = 1883\nclient_id = Pylight\nusername = system\n"
		 "password = ********\npassword_file =\nkeepalive = 60\nqos = 1\n"
		 "clean_session = true\nprotocol = 5\ntls_ca_file =\ntls_cert_file =\n"
		 "tls_key_file =\ntls_insecure = false\nreconnect_min = 1\nreconnect_max = 30\n"
		 "\n[topics]\nreadings = value/light\norders = light/order\noverride = light/override\n"
		 "status = pylight/status\nzone_state = pylight/zone\nlevels = light/level\n"
		 "stats = pylight/stats\n"
		 "\n[orders]\non_payload = ON\noff_payload = OFF\nretain = false\n"
		 "level_payload = percent\n"
		 "\n[readings]\njson_field =\nmax_payload = 256\nmax_zones = 4096\n"
		 "\n[thresholds]\nfile = %s/ref.txt\n"
		 "\n[log]\nlevel = warning\n"
		 "\n[homeassistant]\ndiscovery = false\nprefix = homeassistant\n"
		 "lux_interval = 10s\nforget_after = 7d\n"
		 "\n[cluster]\nnode =\n"
		 "\n[web]\nlisten = 127.0.0.1:8080\nuser = admin\npassword_file =\n"
		 "history = /var/lib/pylight/history.db\nhistory_days = 14\nmetrics_zones = 1000\n"
		 "\n[site]\nlatitude =\nlongitude =\n",
		 dir);
	assert_string_equal(out, want);
	free(out);
	load_done(&l);

	load_ok(&l, "[mqtt]\npassword =\n[log]\nlevel = debug\n");
	out = dump(&l.cfg);
	assert_non_null(strstr(out, "\npassword =\n"));
	assert_non_null(strstr(out, "\nprotocol = 3.1.1\n"));
	assert_non_null(strstr(out, "\nlevel = debug\n"));
	free(out);
	load_done(&l);
}

/* The dump reads back as the same settings. */
static void test_dump_round_trip(void **state)
{
	struct load l;
	char *first, *second;

	(void)state;
	load_ok(&l, "[mqtt]\nport = 2000\nkeepalive = 0\nprotocol = 5\n[topics]\nzone_state =\n"
		    "[readings]\njson_field = a.b\n[log]\nlevel = error\n");
	first = dump(&l.cfg);
	load_done(&l);
	load_ok(&l, first);
	second = dump(&l.cfg);
	assert_string_equal(first, second);
	free(first);
	free(second);
	load_done(&l);
}

static void test_shipped_conf_loads_clean(void **state)
{
	struct load l;
	char *shipped, *defaults;

	(void)state;
	load_file(&l, "conf/pylight.ini");
	if (l.rc != 0)
		fail_msg("conf/pylight.ini: %s", l.errs.kept ? l.errs.msg[0] : "rejected");
	assert_int_equal(l.warns.count, 0);
	assert_string_equal(l.cfg.thresholds_file, "conf/ref.txt");
	/* it spells out the defaults, so it loads to the same settings as an empty file */
	shipped = dump(&l.cfg);
	load_done(&l);
	load_file(&l, file_write("empty.ini", "", 0600));
	assert_int_equal(l.rc, 0);
	free(l.cfg.thresholds_file);
	l.cfg.thresholds_file = strdup("conf/ref.txt");
	defaults = dump(&l.cfg);
	assert_string_equal(shipped, defaults);
	free(shipped);
	free(defaults);
	load_done(&l);
}

static int dir_make(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	if (snprintf(dir, sizeof(dir), "%s/test_config.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    (int)sizeof(dir))
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

static int dir_remove(void **state)
{
	static const char *const names[] = { "t.ini", "w.ini", "empty.ini", "pw", "sub/p.ini" };
	char path[PATH_MAX + 16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	return rmdir(dir);
}

static void test_site(void **state)
{
	struct load l;

	(void)state;
	load_ok(&l, "[mqtt]\n");
	assert_false(config_has_site(&l.cfg));
	load_done(&l);
	load_ok(&l, "[site]\nlatitude = 69.6492\nlongitude = -18.9553\n");
	assert_true(config_has_site(&l.cfg));
	assert_true(l.cfg.site_latitude == 69.6492);
	assert_true(l.cfg.site_longitude == -18.9553);
	load_done(&l);
	load_ok(&l, "[site]\nlatitude = -90\nlongitude = 180\n");
	load_done(&l);
	expect_error("[site]\nlatitude = 91\nlongitude = 0\n", 2,
		     "bad value '91' for latitude: expected decimal degrees from -90 to 90");
	expect_error("[site]\nlatitude = 45\nlongitude = -180.5\n", 3,
		     "bad value '-180.5' for longitude: expected decimal degrees from -180 to 180");
	expect_error("[site]\nlatitude = 45N\nlongitude = 0\n", 2,
		     "bad value '45N' for latitude: expected decimal degrees from -90 to 90");
	expect_error("\n[site]\nlatitude = 45\n", 3, "latitude and longitude must be set together");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_site),
		cmocka_unit_test(test_defaults_when_empty),
		cmocka_unit_test(test_every_key_parsed),
		cmocka_unit_test(test_password_in_ini),
		cmocka_unit_test(test_bool_spellings),
		cmocka_unit_test(test_levels_and_protocols),
		cmocka_unit_test(test_int_bounds_accepted),
		cmocka_unit_test(test_syntax_accepted),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_cross_key_errors),
		cmocka_unit_test(test_bad_value_not_cross_checked),
		cmocka_unit_test(test_cluster_node),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_password_file_unreadable),
		cmocka_unit_test(test_ini_mode_warning),
		cmocka_unit_test(test_unreadable_ini),
		cmocka_unit_test(test_errors_append_to_list),
		cmocka_unit_test(test_free_is_safe),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_shipped_conf_loads_clean),
	};

	return cmocka_run_group_tests(tests, dir_make, dir_remove);
}
