/* config.h -- pylight.ini: every key, its default and its type in one table */
#ifndef PYLIGHT_CONFIG_H
#define PYLIGHT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "errlist.h"

#define CONFIG_DEFAULT_PATH "/etc/pylight/pylight.ini"

/*
 * X(type, section, key, default). Each key becomes the field `section_key` of struct config.
 * Types: STR (char *), PATH (char *, relative paths resolved against the ini's folder; "" =
 * unset), TOPIC (char *, no wildcards), SECRET (char *, masked by config_dump), BOOL (bool),
 * INT (int, range-checked in config.c), PROTO (int: 311 or 5), LEVEL (int: LOG_DEBUG..LOG_ERR),
 * LPAYLOAD (enum level_payload), DEG (double, decimal degrees range-checked in config.c; "" =
 * unset, NAN), DURATION (int64_t milliseconds, written like ref.txt's: 10s, 15m, 7d).
 */
#define CONFIG_KEYS(X)                                   \
	X(STR, mqtt, host, "localhost")                  \
	X(INT, mqtt, port, "1883")                       \
	X(STR, mqtt, client_id, "Pylight")               \
	X(STR, mqtt, username, "system")                 \
	X(SECRET, mqtt, password, "modif")               \
	X(PATH, mqtt, password_file, "")                 \
	X(INT, mqtt, keepalive, "60")                    \
	X(INT, mqtt, qos, "1")                           \
	X(BOOL, mqtt, clean_session, "false")            \
	X(PROTO, mqtt, protocol, "3.1.1")                \
	X(PATH, mqtt, tls_ca_file, "")                   \
	X(PATH, mqtt, tls_cert_file, "")                 \
	X(PATH, mqtt, tls_key_file, "")                  \
	X(BOOL, mqtt, tls_insecure, "false")             \
	X(INT, mqtt, reconnect_min, "1")                 \
	X(INT, mqtt, reconnect_max, "30")                \
	X(TOPIC, topics, readings, "value/light")        \
	X(TOPIC, topics, orders, "light/order")          \
	X(TOPIC, topics, override, "light/override")     \
	X(TOPIC, topics, status, "pylight/status")       \
	X(TOPIC, topics, zone_state, "pylight/zone")     \
	X(TOPIC, topics, levels, "light/level")          \
	X(TOPIC, topics, stats, "pylight/stats")         \
	X(STR, orders, on_payload, "ON")                 \
	X(STR, orders, off_payload, "OFF")               \
	X(BOOL, orders, retain, "false")                 \
	X(LPAYLOAD, orders, level_payload, "percent")    \
	X(STR, readings, json_field, "")                 \
	X(INT, readings, max_payload, "256")             \
	X(INT, readings, max_zones, "4096")              \
	X(PATH, thresholds, file, "ref.txt")             \
	X(LEVEL, log, level, "info")                     \
	X(BOOL, homeassistant, discovery, "false")       \
	X(TOPIC, homeassistant, prefix, "homeassistant") \
	X(DURATION, homeassistant, lux_interval, "10s")  \
	X(DURATION, homeassistant, forget_after, "7d")   \
	X(STR, cluster, node, "")                         \
	X(STR, web, listen, "127.0.0.1:8080")            \
	X(STR, web, user, "admin")                       \
	X(PATH, web, password_file, "")                  \
	X(PATH, web, history, "/var/lib/pylight/history.db") \
	X(INT, web, history_days, "14")                  \
	X(INT, web, metrics_zones, "1000")               \
	X(DEG, site, latitude, "")                       \
	X(DEG, site, longitude, "")

#define CONFIG_CTYPE_STR char *
#define CONFIG_CTYPE_PATH char *
#define CONFIG_CTYPE_TOPIC char *
#define CONFIG_CTYPE_SECRET char *
#define CONFIG_CTYPE_BOOL bool
#define CONFIG_CTYPE_INT int
#define CONFIG_CTYPE_PROTO int
#define CONFIG_CTYPE_LEVEL int
#define CONFIG_CTYPE_LPAYLOAD enum level_payload
#define CONFIG_CTYPE_DEG double
#define CONFIG_CTYPE_DURATION int64_t

/* How a dimmed zone's level is published: "40", or Zigbee2MQTT's {"state":..,"brightness":..}. */
enum level_payload { LEVEL_PAYLOAD_PERCENT, LEVEL_PAYLOAD_Z2M };

/* One byte per key: the table's length as a constant. */
struct config_key_bytes {
#define CONFIG_BYTE(type, section, key, def) char section##_##key;
	CONFIG_KEYS(CONFIG_BYTE)
#undef CONFIG_BYTE
};
enum { CONFIG_KEY_COUNT = sizeof(struct config_key_bytes) };

struct config {
#define CONFIG_FIELD(type, section, key, def) CONFIG_CTYPE_##type section##_##key;
	CONFIG_KEYS(CONFIG_FIELD)
#undef CONFIG_FIELD
	char *path;                         /* the ini file this came from */
	unsigned key_line[CONFIG_KEY_COUNT]; /* where each key was set, 0 = default */
};

/*
 * Loads `path` over the defaults. Returns 0, or -EINVAL with every error in `errs` as
 * "PATH:LINE: message" (unknown section or key, bad value, duplicate key; an unreadable file
 * is "PATH: strerror"). When password_file is set, the password is read from it. On error
 * *cfg holds nothing to free. Warnings (a password readable by other users) go to `warns`.
 */
int config_load(const char *path, struct config *cfg, struct errlist *errs, struct errlist *warns);
void config_free(struct config *cfg);
/*
 * The line of `path` that set [section] key, 0 when it kept its default: for checks that only
 * one program makes (pylight-web's [web] rules) to report PATH:LINE too.
 */
unsigned config_line(const struct config *cfg, const char *section, const char *key);
/* Whether [site] latitude and longitude are set (both or neither: config_load checks). */
bool config_has_site(const struct config *cfg);
/* Writes the effective settings as ini text, the password masked. */
void config_dump(const struct config *cfg, FILE *f);

#endif
