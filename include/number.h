/* number.h -- the one number rule shared by ref.txt, pylight.ini and readings */
#ifndef PYLIGHT_NUMBER_H
#define PYLIGHT_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* isspace() without the locale: payloads and files are ASCII. */
bool number_is_space(char c);
/* Narrows [*s, *s + *len) to exclude leading and trailing white space. */
void number_trim(const char **s, size_t *len);

/*
 * Parses a whole decimal number (optional sign, digits, fraction, exponent; `1e3` yes,
 * `0x10`, `inf`, `nan`, `12abc`, "" no). Leading and trailing white space is allowed.
 * `len` bytes of `s` are read; `s` need not be NUL-terminated. Returns 0 or -EINVAL
 * (also for results that overflow to infinity).
 */
int number_parse(const char *s, size_t len, double *out);

/*
 * Parses a duration: a number >= 0 as above, optionally followed by `s`, `m`, `h` or `d`
 * (seconds without a suffix). The result is in milliseconds, rounded. Returns 0, -EINVAL,
 * -ERANGE (negative or too large).
 */
int duration_parse(const char *s, size_t len, int64_t *ms);
/* Writes `ms` back in the largest unit that holds it whole: "7d", "90s", "1.5s". */
void duration_format(int64_t ms, char *buf, size_t size);

/*
 * Writes the shortest of %.15g and %.17g that reads back as the same double: 0.1 stays
 * "0.1" instead of "0.10000000000000001". 32 bytes always suffice.
 */
void number_format(double v, char *buf, size_t size);

/* The most number_put_int writes: INT64_MIN's sign and 19 digits. */
#define NUMBER_INT_MAX 20
/*
 * Writes v in decimal at buf, unterminated, as "%lld" would, and returns its length (at most
 * NUMBER_INT_MAX). Without printf: explanations, reasons, levels and -t write many of them.
 */
size_t number_put_int(char *buf, int64_t v);

#endif
