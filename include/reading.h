/* reading.h -- what arrives on MQTT: lux readings and override commands */
#ifndef PYLIGHT_READING_H
#define PYLIGHT_READING_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a reading: a plain decimal number (surrounding white space allowed) or a JSON
 * object whose number is taken from `json_field` (a dotted path such as "BH1750.Illuminance")
 * or, when `json_field` is empty, from the first present of illuminance_lux, illuminance,
 * lux, value. The payload is not NUL-terminated. Returns 0 with a finite *lux >= 0, else
 * -EINVAL (and never reads past `len`).
 */
int reading_parse(const void *payload, size_t len, const char *json_field, double *lux);

/*
 * Parses a lamp's report of its state: ON, OFF, on, off, 1, 0, true or false (white space
 * around allowed), or a JSON object whose `field` (a dotted path) holds one of those words
 * as a string, a boolean, or the number 1 or 0. Returns 1 (on), 0 (off) or -EINVAL.
 */
int lamp_parse(const void *payload, size_t len, const char *field);

/*
 * Parses a presence sensor's report: true/false, 1/0, ON/OFF or occupied/unoccupied in any
 * case (white space around allowed), or a JSON object whose `field` (a dotted path; NULL or
 * "" means "occupancy", Zigbee2MQTT's) holds one of those words as a string, a boolean, or
 * the number 1 or 0. Returns 1 (presence), 0 (no presence) or -EINVAL.
 */
int presence_parse(const void *payload, size_t len, const char *field);

enum override_cmd { OVERRIDE_AUTO, OVERRIDE_ON, OVERRIDE_OFF };

/*
 * Parses "ON", "OFF" or "AUTO" in any case, optionally followed by white space and a
 * duration ("ON 15m", "off 90s"). *duration is milliseconds, or -1 when none was given.
 * A duration after AUTO is an error. Returns 0 or -EINVAL.
 */
int override_parse(const void *payload, size_t len, enum override_cmd *cmd, int64_t *duration);
/*
 * As override_parse, and "ON 40%" or "ON 40% 15m" hold a dimmed zone at a level: *level is
 * the whole percentage 1..100 ("ON 0%" is an error: that is OFF), or -1 when none was given.
 * OFF and AUTO take no level. override_parse itself refuses a level (its callers cannot
 * honour one).
 */
int override_parse_level(const void *payload, size_t len, enum override_cmd *cmd,
			 int64_t *duration, int *level);

#endif
