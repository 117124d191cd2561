/* number.c -- the one strict decimal rule shared by ref.txt, pylight.ini and readings */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

/* No person or sensor writes a longer number; the bound keeps the terminated copy on the stack. */
#define NUMBER_MAX 64
/* Below 2^53: every integer of this many digits is a double exactly. */
#define INTEGER_DIGITS 15
/* 100 years of 365.25 days: anything longer is a typo, and ms stay far from int64 overflow. */
#define DURATION_MAX_MS (36525.0 * 24 * 3600 * 1000)

bool number_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

void number_trim(const char **s, size_t *len)
{
	while (*len > 0 && number_is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && number_is_space((*s)[*len - 1]))
		(*len)--;
}

static size_t skip_digits(const char *s, size_t i, size_t len)
{
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/*
 * [+-]?digits[.digits]?([eE][+-]?digits)? with a digit somewhere in the mantissa. Checked by
 * hand because strtod also takes hex, inf, nan and a prefix of anything.
 */
static bool number_valid(const char *s, size_t len)
{
	size_t i = 0, j;
	bool mantissa;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	j = skip_digits(s, i, len);
	mantissa = j > i;
	i = j;
	if (i < len && s[i] == '.') {
		j = skip_digits(s, i + 1, len);
		mantissa = mantissa || j > i + 1;
		i = j;
	}
	if (!mantissa)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		j = skip_digits(s, i, len);
		if (j == i)
			return false;
		i = j;
	}
	return i == len;
}

/*
 * A valid number that is a sign and at most INTEGER_DIGITS digits: its value, exact in a
 * double as it is under strtod, at a tenth of strtod's cost. Most readings look like this.
 */
static bool number_integer(const char *s, size_t len, double *out)
{
	size_t i = s[0] == '+' || s[0] == '-';
	int64_t n = 0;

	if (len - i > INTEGER_DIGITS || skip_digits(s, i, len) != len)
		return false;
	for (; i < len; i++)
		n = n * 10 + (s[i] - '0');
	*out = s[0] == '-' ? -(double)n : (double)n;
	return true;
}

int number_parse(const char *s, size_t len, double *out)
{
	char buf[NUMBER_MAX + 1];
	char *end;
	double v;

	number_trim(&s, &len);
	if (len == 0 || len > NUMBER_MAX || !number_valid(s, len))
		return -EINVAL;
	if (number_integer(s, len, &v)) {
		*out = v == 0 ? 0 : v;
		return 0;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';

	/* The end check also catches a decimal comma should someone set LC_NUMERIC. */
	v = strtod(buf, &end);
	if (end != buf + len || isinf(v))
		return -EINVAL;
	*out = v == 0 ? 0 : v; /* -0 would print as "-0" */
	return 0;
}

int duration_parse(const char *s, size_t len, int64_t *ms)
{
	double v, unit = 1000;

	number_trim(&s, &len);
	if (len > 0) {
		switch (s[len - 1]) {
		case 's':
			len--;
			break;
		case 'm':
			unit = 60 * 1000;
			len--;
			break;
		case 'h':
			unit = 3600 * 1000;
			len--;
			break;
		case 'd':
			unit = 86400 * 1000;
			len--;
			break;
		}
	}
	/* The suffix belongs to the number: "15 m" is more likely a mistake than a style. */
	if (len == 0 || number_is_space(s[len - 1]) || number_parse(s, len, &v) < 0)
		return -EINVAL;
	if (v < 0)
		return -ERANGE;
	v *= unit;
	if (v > DURATION_MAX_MS)
		return -ERANGE;
	*ms = (int64_t)(v + 0.5);
	return 0;
}

void duration_format(int64_t ms, char *buf, size_t size)
{
	static const struct {
		int64_t ms;
		char unit;
	} units[] = { { 86400000, 'd' }, { 3600000, 'h' }, { 60000, 'm' }, { 1000, 's' } };
	char num[32];

	for (size_t i = 0; ms && i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(buf, size, "%lld%c", (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	}
	number_format((double)ms / 1000, num, sizeof(num));
	snprintf(buf, size, "%ss", num);
}

/* Copies `n` bytes of `s` (its NUL the last) into `size` bytes, cut short as snprintf would. */
static void copy_cut(char *buf, size_t size, const char *s, size_t n)
{
	if (!size)
		return;
	if (n > size)
		n = size;
	memcpy(buf, s, n);
	buf[n - 1] = '\0';
}

size_t number_put_int(char *buf, int64_t v)
{
	/* Two digits a step: an explanation writes ten numbers or so for each reading. */
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	char tmp[NUMBER_INT_MAX], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	for (; u >= 100; u /= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (u % 100), 2);
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * u, 2);
	} else {
		*--p = (char)('0' + u);
	}
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(buf, p, n);
	return n;
}

void number_format(double v, char *buf, size_t size)
{
	/* Whole numbers, most thresholds, as %.15g writes them but without printf: -t writes
	 * millions of them for a city. */
	if (v > -1e15 && v < 1e15 && v == (double)(long long)v && (v != 0 || !signbit(v))) {
		char tmp[NUMBER_INT_MAX + 1];
		size_t n = number_put_int(tmp, (int64_t)v);

		tmp[n] = '\0';
		copy_cut(buf, size, tmp, n + 1);
		return;
	}
	snprintf(buf, size, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, size, "%.17g", v);
}
