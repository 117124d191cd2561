/* test_control.c -- unit tests of control: topics in, orders and explanations out, deadlines */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "monotonic.h"
#include "orderlog.h"
#include "thresholds.h"

#define REF                                                                                 \
	"on_below = 300\noff_above = 400\n"                                                  \
	"[zone slow]\nmin_on = 10s\n"                                                        \
	"[zone quick]\nmin_on = 0.05s\n"                                                     \
	"[zone stale]\nstale_after = 0.05s\nfailsafe = on\n"                                  \
	"[zone room]\nsensors = room/a room/b room/c\nmin_sensors = 2\naggregate = max\n"

/* What control handed to its output seam, in order. */
struct published {
	char topic[64];
	char payload[512];
	bool retain;
};

struct fixture {
	struct config cfg;
	struct control *ctl;
	struct published pub[16];
	size_t npub;
	int64_t wake; /* the last deadline handed to out.wake */
	size_t nwake;
	char dump[4][512];
	size_t ndump;
};

static struct fixture *current; /* for control_dump's line callback, which has no context */

static void record_publish(void *ctx, const char *topic, const char *payload, size_t len,
			   bool retain)
{
	struct fixture *f = ctx;
	struct published *p;

	assert_true(f->npub < sizeof(f->pub) / sizeof(f->pub[0]));
	p = &f->pub[f->npub++];
	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	snprintf(p->payload, sizeof(p->payload), "%.*s", (int)len, payload);
	p->retain = retain;
}

static void record_wake(void *ctx, int64_t when)
{
	struct fixture *f = ctx;

	f->wake = when;
	f->nwake++;
}

static struct thresholds *parse(const char *text)
{
	struct errlist errs = { 0 };
	struct thresholds *t = NULL;

	assert_int_equal(thresholds_parse("ref.txt", text, strlen(text), &(struct thresholds_opts){ .site = true }, &t, &errs), 0);
	return t;
}

/* A control with the default configuration but `ini` (e.g. "[readings]\nmax_zones = 2\n"). */
static void setup_with(struct fixture *f, const char *ini)
{
	char path[] = "/tmp/test_control-XXXXXX";
	struct errlist errs = { 0 }, warns = { 0 };
	struct control_out out = { .publish = record_publish, .wake = record_wake, .ctx = f };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	assert_int_equal(config_load(path, &f->cfg, &errs, &warns), 0);
	unlink(path);
	errlist_clear(&warns);
	assert_int_equal(control_new(&f->cfg, parse(REF), &out, &f->ctl), 0);
	current = f;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	log_set_level(LOG_ERR); /* rejected input and orders are logged; not here */
	setup_with(f, "");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	control_free(f->ctl);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void send(struct fixture *f, const char *topic, const char *payload)
{
	control_message(f->ctl, topic, payload, strlen(payload), /* retained = */ false);
}

/* The publishes since the last call, forgotten afterwards. */
static size_t take(struct fixture *f)
{
	size_t n = f->npub;

	f->npub = 0;
	return n;
}

static void assert_order(const struct published *p, const char *topic, const char *payload)
{
	assert_string_equal(p->topic, topic);
	assert_string_equal(p->payload, payload);
	assert_false(p->retain);
}

static void assert_explained(const struct published *p, const char *topic, const char *has)
{
	assert_string_equal(p->topic, topic);
	assert_true(p->retain);
	if (!strstr(p->payload, has))
		fail_msg("'%s' not in %s", has, p->payload);
}

static void test_reading_orders_once(void **state)
{
	struct fixture *f = *state;
	struct control_stats st;

	send(f, "value/light", "42");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order", "ON");
	assert_explained(&f->pub[1], "pylight/zone", "\"state\":\"ON\"");
	assert_explained(&f->pub[1], "pylight/zone", "\"mode\":\"auto\"");
	assert_explained(&f->pub[1], "pylight/zone", "\"lux\":42,");
	assert_explained(&f->pub[1], "pylight/zone",
			 "\"reason\":\"first reading 42 < on_below 300\"");

	/* Inside the hysteresis band, then still dark: no change, nothing published. */
	send(f, "value/light", "350");
	send(f, "value/light", "10");
	assert_int_equal(take(f), 0);

	send(f, "value/light", "401");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order", "OFF");
	assert_explained(&f->pub[1], "pylight/zone", "\"switches\":2");

	control_stats(f->ctl, &st);
	assert_int_equal(st.readings, 4);
	assert_int_equal(st.orders, 2);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.zones, 1);
}

static void test_zone_topics_and_numbers(void **state)
{
	struct fixture *f = *state;

	send(f, "value/light/floor1/hall", " 0.1\n");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/floor1/hall", "ON");
	assert_explained(&f->pub[1], "pylight/zone/floor1/hall", "\"zone\":\"floor1/hall\"");
	/* The shortest text that reads back as the same number, never 0.10000000000000001. */
	assert_explained(&f->pub[1], "pylight/zone/floor1/hall", "\"lux\":0.1,");
	assert_explained(&f->pub[1], "pylight/zone/floor1/hall", "\"on_below\":300,");

	send(f, "value/light/floor1/hall", "{\"illuminance_lux\": 512.5}");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/floor1/hall", "OFF");
	assert_explained(&f->pub[1], "pylight/zone/floor1/hall", "\"lux\":512.5,");
}

static void test_rejected_input(void **state)
{
	struct fixture *f = *state;
	struct control_stats st;
	char big[300];

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	send(f, "value/light", "dark");
	send(f, "value/light", "-5");
	send(f, "value/light", big);          /* beyond max_payload 256 */
	send(f, "value/light/", "5");         /* under the subscription, naming no zone */
	send(f, "light/override/hall", "ONN");
	assert_int_equal(take(f), 0);
	control_stats(f->ctl, &st);
	assert_int_equal(st.rejected, 5);
	/* each under its reason, and nothing under the others */
	assert_int_equal(st.rejected_by[REJECT_BAD_READING], 2);
	assert_int_equal(st.rejected_by[REJECT_PAYLOAD_TOO_LARGE], 1);
	assert_int_equal(st.rejected_by[REJECT_NO_ZONE], 1);
	assert_int_equal(st.rejected_by[REJECT_BAD_OVERRIDE], 1);
	assert_int_equal(st.rejected_by[REJECT_MAX_ZONES] + st.rejected_by[REJECT_NOT_A_SENSOR] +
				 st.rejected_by[REJECT_OUT_OF_MEMORY] +
				 st.rejected_by[REJECT_NOT_DIMMABLE] +
				 st.rejected_by[REJECT_BAD_LAMP_REPORT] +
				 st.rejected_by[REJECT_BAD_PRESENCE],
			 0);
	assert_int_equal(st.readings, 0);
	assert_int_equal(st.overrides, 0);
	assert_int_equal(st.zones, 0);
}

static void test_max_zones(void **state)
{
	struct fixture *f = *state;
	struct control_stats st;

	control_free(f->ctl);
	config_free(&f->cfg);
	setup_with(f, "[readings]\nmax_zones = 2\n");
	send(f, "value/light/a", "1");
	send(f, "value/light/b", "1");
	assert_int_equal(take(f), 4);
	send(f, "value/light/c", "1");
	assert_int_equal(take(f), 0);
	/* The zones already there keep working. */
	send(f, "value/light/a", "1000");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/a", "OFF");
	control_stats(f->ctl, &st);
	assert_int_equal(st.zones, 2);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.rejected_by[REJECT_MAX_ZONES], 1);
}

static void test_dwell_hands_out_a_deadline(void **state)
{
	struct fixture *f = *state;
	int64_t before = monotonic_ms(); /* the dwell runs from the first order, sent after this */

	send(f, "value/light/slow", "100");
	assert_int_equal(take(f), 2);
	assert_int_equal(f->wake, 0); /* nothing to wait for yet: out.wake never called */
	assert_int_equal(f->nwake, 0);

	send(f, "value/light/slow", "500"); /* OFF wanted, held back by min_on 10s */
	assert_int_equal(take(f), 0);     /* neither light nor mode changed */
	assert_int_equal(f->nwake, 1);
	assert_true(f->wake >= before + 10000);
	assert_true(f->wake <= monotonic_ms() + 10000);

	/* A timer run before the deadline changes nothing. */
	control_timer(f->ctl);
	assert_int_equal(take(f), 0);
	assert_int_equal(f->nwake, 1);
}

static void test_timer_ends_the_dwell(void **state)
{
	struct fixture *f = *state;

	send(f, "value/light/quick", "100");
	send(f, "value/light/quick", "500"); /* held back by min_on 0.05s */
	assert_int_equal(take(f), 2);
	assert_int_equal(f->nwake, 1);
	while (monotonic_ms() < f->wake)
		usleep(5000);
	control_timer(f->ctl);
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/quick", "OFF");
	/* Nothing is left to wait for: the deadline handed out is "none". */
	assert_int_equal(f->nwake, 2);
	assert_true(f->wake == INT64_MAX);
}

static void test_a_flood_of_orders_arms_the_count(void **state)
{
	struct fixture *f = *state;
	int64_t before = monotonic_ms(); /* the window opens with the first order, after this */
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	char topic[64];

	assert_true(saved >= 0 && null >= 0);
	log_set_level(LOG_INFO); /* orders are logged, the first ORDERLOG_LINES of a window */
	dup2(null, 2);
	for (int i = 0; i <= ORDERLOG_LINES; i++) {
		snprintf(topic, sizeof(topic), "value/light/dusk%d", i);
		send(f, topic, "100");
		take(f);
	}
	dup2(saved, 2);
	close(saved);
	close(null);
	log_set_level(LOG_ERR);
	/* One order was not logged: its count is due when the window ends, the timer's then. */
	assert_int_equal(f->nwake, 1);
	assert_true(f->wake >= before + ORDERLOG_WINDOW_MS);
	assert_true(f->wake <= monotonic_ms() + ORDERLOG_WINDOW_MS);
}

static void test_override(void **state)
{
	struct fixture *f = *state;
	struct control_stats st;
	int64_t before = monotonic_ms();

	send(f, "value/light/hall", "1000");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/hall", "OFF");

	send(f, "light/override/hall", "on 1m");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/hall", "ON");
	assert_explained(&f->pub[1], "pylight/zone/hall", "\"mode\":\"override\"");
	assert_true(f->wake >= before + 60000 && f->wake <= monotonic_ms() + 60000);

	/* Readings do not end it... */
	send(f, "value/light/hall", "2000");
	assert_int_equal(take(f), 0);
	/* ... AUTO does, and decides at once with the latest reading. */
	send(f, "light/override/hall", "AUTO");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/hall", "OFF");
	assert_explained(&f->pub[1], "pylight/zone/hall", "\"mode\":\"auto\"");
	control_stats(f->ctl, &st);
	assert_int_equal(st.overrides, 2);
}

static void test_reload_reevaluates(void **state)
{
	struct fixture *f = *state;

	send(f, "value/light/a", "350"); /* first decision: not below 300, OFF */
	send(f, "value/light/b", "50");  /* ON */
	assert_int_equal(take(f), 4);
	control_reload(f->ctl, parse("on_below = 400\noff_above = 500\n"));
	/* a: 350 < 400 now, ON; b stays ON and publishes nothing. */
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/a", "ON");
	assert_explained(&f->pub[1], "pylight/zone/a", "\"on_below\":400,");
	control_reload(f->ctl, parse("on_below = 400\noff_above = 500\n"));
	assert_int_equal(take(f), 0);
}

static void line(const char *text)
{
	assert_true(current->ndump < 4);
	snprintf(current->dump[current->ndump++], sizeof(current->dump[0]), "%s", text);
}

/* A zone found stale by AUTO goes to its failsafe as it would on its timer: counted, warned. */
static void test_stale_found_by_auto(void **state)
{
	struct fixture *f = *state;
	struct control_stats st;
	int64_t read_at = monotonic_ms();

	send(f, "value/light/stale", "1000");
	send(f, "light/override/stale", "ON 1m");
	assert_int_equal(take(f), 4);
	while (monotonic_ms() < read_at + 60)
		usleep(5000);
	send(f, "light/override/stale", "AUTO");
	/* failsafe on: the light is ON already, so only the explanation (a new mode). */
	assert_int_equal(take(f), 1);
	assert_explained(&f->pub[0], "pylight/zone/stale", "\"mode\":\"failsafe\"");
	control_stats(f->ctl, &st);
	assert_int_equal(st.stale, 1);
}

static void test_sensors(void **state)
{
	struct fixture *f = *state;
	struct control_stats st;

	/* One of two needed: stored, nothing decided, no zone of the sensor's own. */
	send(f, "value/light/room/a", "100");
	assert_int_equal(take(f), 0);
	send(f, "value/light/room/b", "900");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/room", "OFF"); /* max(100, 900) */
	assert_explained(&f->pub[1], "pylight/zone/room", "\"aggregate\":\"max\"");
	assert_explained(&f->pub[1], "pylight/zone/room", "\"lux\":900,");
	assert_explained(&f->pub[1], "pylight/zone/room", "\"room/a\":{\"lux\":100,\"age\":0}");
	assert_explained(&f->pub[1], "pylight/zone/room",
			 "\"room/c\":{\"lux\":null,\"age\":null,\"stale\":true}");
	send(f, "value/light/room/b", "50");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/room", "ON"); /* max(100, 50) */
	/* The zone's own topic is not one of its sensors. */
	send(f, "value/light/room", "1000");
	assert_int_equal(take(f), 0);
	control_stats(f->ctl, &st);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.rejected_by[REJECT_NOT_A_SENSOR], 1);
	assert_int_equal(st.readings, 3);
	assert_int_equal(st.zones, 1);
	control_dump(f->ctl, line);
	assert_int_equal(f->ndump, 1);
	assert_string_equal(f->dump[0], "zone 'room': ON auto lux 100 smoothed 100 on_below 300 "
					"off_above 400 switches 2 sensors 2/3 fresh (max)");
}

/* A sensor moved to another zone by a reload keeps its value there. */
static void test_sensors_reload(void **state)
{
	struct fixture *f = *state;

	send(f, "value/light/room/a", "100");
	send(f, "value/light/room/b", "900");
	send(f, "value/light/hall", "900");
	assert_int_equal(take(f), 4);
	assert_int_equal(control_reload(f->ctl, parse("on_below = 300\noff_above = 400\n"
						       "[zone room]\nsensors = room/a\n"
						       "[zone hall]\nsensors = hall room/b\n"
						       "aggregate = min\n")),
			 0);
	/* room: 100 alone, ON; hall: min(900, 900) is no change, no publish. */
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/room", "ON");
	send(f, "value/light/room/b", "10");
	assert_int_equal(take(f), 2);
	assert_order(&f->pub[0], "light/order/hall", "ON");
}

static void test_dump(void **state)
{
	struct fixture *f = *state;

	send(f, "value/light/a", "42");
	control_dump(f->ctl, line);
	assert_int_equal(f->ndump, 1);
	assert_string_equal(f->dump[0], "zone 'a': ON auto lux 42 smoothed 42 on_below 300 "
					"off_above 400 switches 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reading_orders_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_topics_and_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_flood_of_orders_arms_the_count, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_max_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dwell_hands_out_a_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_ends_the_dwell, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_found_by_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sensors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sensors_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_reevaluates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
