/* sun.c -- sunrise and sunset by NOAA's solar calculator equations (after Meeus) */
#include "sun.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>

#define RAD(d) ((d) * (M_PI / 180.0))
#define DEG(r) ((r) * (180.0 / M_PI))
/* The sun's upper limb on the horizon: 34' of refraction plus 16' of the sun's radius. */
#define ZENITH_DEG 90.833

/*
 * The trigonometry comes from libm, opened on first use: linked, its lazily resolved
 * functions cost pylightd a third of a MiB of resident pages at start, a daemon without a
 * [site] never needs them, and one zone's whole footprint is held to 5 MiB.
 */
static struct {
	double (*sin)(double), (*cos)(double), (*tan)(double), (*asin)(double), (*acos)(double);
	double (*fmod)(double, double);
	void *handle; /* kept open for the life of the process */
	bool ok;
} libm;
static pthread_once_t libm_once = PTHREAD_ONCE_INIT;

static void libm_open(void)
{
	void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	libm.handle = h;
	/* POSIX's way to take a function from dlsym's object pointer. */
	*(void **)&libm.sin = dlsym(h, "sin");
	*(void **)&libm.cos = dlsym(h, "cos");
	*(void **)&libm.tan = dlsym(h, "tan");
	*(void **)&libm.asin = dlsym(h, "asin");
	*(void **)&libm.acos = dlsym(h, "acos");
	*(void **)&libm.fmod = dlsym(h, "fmod");
	libm.ok = libm.sin && libm.cos && libm.tan && libm.asin && libm.acos && libm.fmod;
}

#define sin(x) libm.sin(x)
#define cos(x) libm.cos(x)
#define tan(x) libm.tan(x)
#define asin(x) libm.asin(x)
#define acos(x) libm.acos(x)
#define fmod(x, y) libm.fmod(x, y)

/* To the nearest whole number, halfway away from zero (lround without libm). */
static long nearest(double v)
{
	return (long)(v < 0 ? v - 0.5 : v + 0.5);
}

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard Hinnant's algorithm). */
static long days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The sun's declination (radians) and the equation of time (minutes) at Julian century t. */
static void sun_position(double t, double *decl, double *eqtime)
{
	double l0 = fmod(280.46646 + t * (36000.76983 + t * 0.0003032), 360.0);
	double m = 357.52911 + t * (35999.05029 - 0.0001537 * t);
	double e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t);
	double c = sin(RAD(m)) * (1.914602 - t * (0.004817 + 0.000014 * t)) +
		   sin(RAD(2 * m)) * (0.019993 - 0.000101 * t) + sin(RAD(3 * m)) * 0.000289;
	double omega = 125.04 - 1934.136 * t;
	double lambda = l0 + c - 0.00569 - 0.00478 * sin(RAD(omega));
	double seconds = 21.448 - t * (46.815 + t * (0.00059 - t * 0.001813));
	double eps = 23.0 + (26.0 + seconds / 60.0) / 60.0 + 0.00256 * cos(RAD(omega));
	double y = tan(RAD(eps) / 2) * tan(RAD(eps) / 2);

	*decl = asin(sin(RAD(eps)) * sin(RAD(lambda)));
	*eqtime = 4 * DEG(y * sin(2 * RAD(l0)) - 2 * e * sin(RAD(m)) +
			  4 * e * y * sin(RAD(m)) * cos(2 * RAD(l0)) -
			  0.5 * y * y * sin(4 * RAD(l0)) - 1.25 * e * e * sin(2 * RAD(m)));
}

/*
 * The cosine of the hour angle at which the sun's upper limb touches the horizon: beyond
 * 1 it never rises that day, below -1 it never sets.
 */
static double rise_cos(double lat, double decl)
{
	return cos(RAD(ZENITH_DEG)) / (cos(RAD(lat)) * cos(decl)) - tan(RAD(lat)) * tan(decl);
}

/*
 * Minutes after 00:00 UTC of Julian day `jd0` (at 0h) of the sunrise (rise != 0) or sunset,
 * evaluated with the sun where it is at minute `guess`; NAN when there is none.
 */
static double event_minutes(double jd0, double guess, const struct sun_site *site, int rise)
{
	double t = (jd0 + guess / 1440.0 - 2451545.0) / 36525.0, decl, eqtime, c, ha;

	sun_position(t, &decl, &eqtime);
	c = rise_cos(site->lat, decl);
	if (c < -1 || c > 1)
		return NAN;
	ha = DEG(acos(c));
	return 720 - 4 * (site->lon + (rise ? ha : -ha)) - eqtime;
}

enum sun_day sun_times(int year, int month, int day, const struct sun_site *site, time_t *rise,
		       time_t *set)
{
	long days = days_from_civil(year, month, day);
	double jd0 = (double)days + 2440587.5, noon = 720 - 4 * site->lon, decl, eqtime, c;
	double r, s;

	pthread_once(&libm_once, libm_open);
	if (!libm.ok)
		return SUN_POLAR_NIGHT;
	/* The day's kind is the sun's at local solar noon, as NOAA's calculator decides it. */
	sun_position((jd0 + noon / 1440.0 - 2451545.0) / 36525.0, &decl, &eqtime);
	c = rise_cos(site->lat, decl);
	if (c > 1)
		return SUN_POLAR_NIGHT;
	if (c < -1)
		return SUN_POLAR_DAY;
	/* Once from noon, then once more with the sun where it is at the event itself. */
	r = event_minutes(jd0, noon, site, 1);
	s = event_minutes(jd0, noon, site, 0);
	r = isnan(event_minutes(jd0, r, site, 1)) ? r : event_minutes(jd0, r, site, 1);
	s = isnan(event_minutes(jd0, s, site, 0)) ? s : event_minutes(jd0, s, site, 0);
	*rise = (time_t)days * 86400 + (time_t)nearest(r * 60);
	*set = (time_t)days * 86400 + (time_t)nearest(s * 60);
	return SUN_NORMAL;
}
