"""test_time.py -- schedules and presence: zones dark outside their windows or when vacant

Each test starts a real mosquitto and the real daemon. Presence sensors are test clients
publishing on the zone's occupancy topics; vacancy_after is 1 s so that vacancy is quick.

Time: schedule tests run the daemon under libfaketime (Debian's `faketime` library) with
FAKETIME set to an absolute start ("@2026-03-02 06:59:54", a Monday in Europe/Paris) a few
seconds before a window's edge; the fake wall clock then advances at the real rate.
libfaketime intercepts timerfd_settime and moves an absolute CLOCK_REALTIME expiry from fake
to real time, so the daemon's one realtime timerfd fires at the fake 07:00:00, a few real
seconds later: no test waits for the real wall clock. The monotonic clock is left real
(FAKETIME_DONT_FAKE_MONOTONIC) so that dwell, vacancy and MQTT timers behave as always.
"""

import calendar
import json
import re
import time

import pytest

from conftest import ORDER, READ, ZONE_STATE, Barrier, faketime_env, wait_until
from test_cluster import cluster, owner, pick  # noqa: F401 (cluster is a fixture)

PIR1, PIR2 = "sensors/pir1", "sensors/pir2"


def explained(c, zone, after=0, **want):
    """Waits for an explanation of `zone` whose fields equal `want`; returns it."""
    def fits(m):
        doc = json.loads(m.payload)
        return all(doc.get(k) == v for k, v in want.items())
    return json.loads(c.wait_for(f"{ZONE_STATE}/{zone}", pred=fits, after=after).payload)


def room_ref(extra=""):
    return ("on_below = 300\noff_above = 400\nmin_on = 1h\nmin_off = 1h\n"
            f"[zone room]\noccupancy = {PIR1} {PIR2}\nvacancy_after = 1s\n{extra}")


@pytest.fixture
def room(daemon, mqtt):
    def make(extra="", **kw):
        d = daemon(ref=room_ref(extra), **kw)
        c = mqtt(f"{ORDER}/#", f"{ZONE_STATE}/#")
        d.broker.wait_subscribed(d.client_id, [PIR1, PIR2])
        return d, c
    return make


def test_vacant_after_the_last_sensor_and_occupied_at_once(room):
    d, c = room()
    c.publish(f"{READ}/room", "100")
    c.wait_for(f"{ORDER}/room", "ON")
    doc = explained(c, "room", state="ON")
    assert doc["occupied"] is True and "schedule" not in doc
    # One sensor says absent; the other has never reported: it counts as present.
    mark = c.mark()
    c.publish(PIR1, "false")
    c.expect_none(f"{ORDER}/room", within=1.5, after=mark)
    # The last one says absent: vacant 1 s later, no min_on in the way.
    c.publish(PIR2, '{"occupancy": false}')
    stamp = time.monotonic()
    c.wait_for(f"{ORDER}/room", "OFF", after=mark)
    assert time.monotonic() - stamp >= 0.9
    doc = explained(c, "room", after=mark, state="OFF")
    assert (doc["mode"], doc["occupied"], doc["reason"]) == ("vacant", False,
                                                            "vacant for 1s: OFF")
    # Presence again: ON at once from the last level (no reading, no min_off).
    mark = c.mark()
    c.publish(PIR1, "occupied")
    c.wait_for(f"{ORDER}/room", "ON", after=mark)
    doc = explained(c, "room", after=mark, state="ON")
    assert (doc["mode"], doc["occupied"], doc["reason"]) == (
        "auto", True, "occupied and 100 < on_below 300")


def test_absent_again_does_not_move_vacancy_and_presence_cancels_it(room):
    d, c = room()
    c.publish(f"{READ}/room", "100")
    c.wait_for(f"{ORDER}/room", "ON")
    mark = c.mark()
    c.publish(PIR1, "0")
    c.publish(PIR2, "0")
    c.publish(PIR2, "ON")  # back before vacancy_after: stays lit
    c.expect_none(f"{ORDER}/room", within=2.0, after=mark)


def test_retained_absence_counts_before_the_first_reading(daemon, mqtt):
    c = mqtt(f"{ORDER}/#", f"{ZONE_STATE}/#")
    c.publish(PIR1, "false", retain=True)
    c.publish(PIR2, "unoccupied", retain=True)
    # Sent before the daemon started, at a time the broker does not tell: taken as long past,
    # so even a long vacancy_after does not light the empty room.
    d = daemon(ref=room_ref().replace("vacancy_after = 1s", "vacancy_after = 15m"))
    d.broker.wait_subscribed(d.client_id, [PIR1, PIR2])
    Barrier(c)()
    c.publish(f"{READ}/room", "100")
    c.wait_for(f"{ORDER}/room", "OFF")
    doc = explained(c, "room", state="OFF")
    assert (doc["mode"], doc["occupied"], doc["reason"]) == ("vacant", False,
                                                             "vacant for 15m: OFF")


def test_bad_presence_reports_are_rejected_and_rate_limited(room):
    d, c = room()
    c.publish(f"{READ}/room", "100")
    c.wait_for(f"{ORDER}/room", "ON")
    for bad in ("maybe", '{"occupancy": "x"}', "2"):
        c.publish(PIR1, bad)
    d.wait_log(r"^warning: zone 'room': bad presence report 'maybe' on sensors/pir1, ignoring")
    Barrier(c)()
    assert len(re.findall(r"bad presence report", d.log())) == 1
    # Still working: both absent makes the room vacant.
    mark = c.mark()
    c.publish(PIR1, "OFF")
    c.publish(PIR2, "off")
    c.wait_for(f"{ORDER}/room", "OFF", after=mark)


def test_reload_subscribes_new_occupancy_topics_and_drops_old(room):
    d, c = room()
    c.publish(f"{READ}/room", "100")
    c.wait_for(f"{ORDER}/room", "ON")
    d.ref_path.write_text(room_ref().replace(f"{PIR1} {PIR2}", "sensors/pir3"))
    d.broker.wait_subscribed(d.client_id, ["sensors/pir3"])
    wait_until(lambda: re.search(r"Received UNSUBSCRIBE from " + re.escape(d.client_id),
                                 d.broker.log()), what="the old topics unsubscribed")
    mark = c.mark()
    c.publish("sensors/pir3", "false")
    c.wait_for(f"{ORDER}/room", "OFF", after=mark)


def test_reload_that_moves_a_sensor_moves_its_reports(daemon, mqtt):
    # Reports go to the zones filed under their topic: a reload files every zone again,
    # each under its new list, a zone without a section under the global list it now has.
    head = ("on_below = 300\noff_above = 400\nmin_on = 1h\nmin_off = 1h\n"
            "vacancy_after = 1s\n")
    pir3 = "sensors/pir3"
    d = daemon(ref=head + f"[zone a]\noccupancy = {PIR1}\n[zone b]\noccupancy = {PIR2}\n")
    c = mqtt(f"{ORDER}/#")
    d.broker.wait_subscribed(d.client_id, [PIR1, PIR2])
    for zone in "abc":
        c.publish(f"{READ}/{zone}", "100")
        c.wait_for(f"{ORDER}/{zone}", "ON")
    # pir1 moves from a to b, pir2 from b to a; c, without a section, inherits pir3.
    d.ref_path.write_text(head + f"occupancy = {pir3}\n"
                          f"[zone a]\noccupancy = {PIR2}\n[zone b]\noccupancy = {PIR1}\n")
    d.broker.wait_subscribed(d.client_id, [pir3])
    d.wait_log(r"^notice: .*: reloaded ")
    mark = c.mark()
    c.publish(PIR1, "false")
    c.wait_for(f"{ORDER}/b", "OFF", after=mark)
    c.expect_none(f"{ORDER}/a", "OFF", within=1.5, after=mark)
    c.expect_none(f"{ORDER}/c", "OFF", within=0.1, after=mark)
    mark = c.mark()
    c.publish(pir3, "false")
    c.wait_for(f"{ORDER}/c", "OFF", after=mark)
    c.expect_none(f"{ORDER}/a", "OFF", within=1.5, after=mark)
    mark = c.mark()
    c.publish(PIR2, "false")
    c.wait_for(f"{ORDER}/a", "OFF", after=mark)


def test_override_beats_vacancy(room):
    d, c = room()
    c.publish(f"{READ}/room", "100")
    c.wait_for(f"{ORDER}/room", "ON")
    mark = c.mark()
    c.publish("light/override/room", "ON 1h")
    c.publish(PIR1, "false")
    c.publish(PIR2, "false")
    c.expect_none(f"{ORDER}/room", "OFF", within=2.0, after=mark)
    mark = c.mark()
    c.publish("light/override/room", "AUTO")
    c.wait_for(f"{ORDER}/room", "OFF", after=mark)


# --- schedules, under libfaketime -----------------------------------------------------------

def schedule_clock(start):
    return faketime_env(FAKETIME="@" + start, FAKETIME_DONT_FAKE_MONOTONIC="1",
                        TZ="Europe/Paris")


def test_window_start_lights_the_zone_at_the_edge(daemon, mqtt):
    c = mqtt(f"{ORDER}/#", f"{ZONE_STATE}/#")
    daemon(ref="on_below = 300\nmin_off = 1h\n[zone office]\nschedule = Mon-Fri 07:00-19:00\n",
           env=schedule_clock("2026-03-02 06:59:54"))
    c.publish(f"{READ}/office", "100")
    c.wait_for(f"{ORDER}/office", "OFF")
    doc = explained(c, "office", state="OFF")
    assert (doc["mode"], doc["schedule"], doc["reason"]) == (
        "schedule", False, "outside schedule Mon-Fri 07:00-19:00: OFF")
    assert "occupied" not in doc
    # 07:00:00 on the fake clock: ON without a reading and without min_off.
    mark = c.mark()
    c.wait_for(f"{ORDER}/office", "ON", after=mark, timeout=15)
    doc = explained(c, "office", after=mark, state="ON")
    assert (doc["mode"], doc["schedule"]) == ("auto", True)
    assert doc["reason"] == "inside schedule and 100 < on_below 300"


def test_window_end_applies_outside(daemon, mqtt):
    c = mqtt(f"{ORDER}/#", f"{ZONE_STATE}/#")
    daemon(ref="on_below = 300\nmin_on = 1h\n[zone a]\nschedule = Mon-Fri 07:00-19:00\n"
               "[zone b]\nschedule = Mon-Fri 07:00-19:00\noutside = hold\n"
               "[zone c]\nschedule = Mon-Fri 07:00-19:00\noutside = on\n",
           env=schedule_clock("2026-03-02 18:59:54"))
    for z in ("a", "b", "c"):
        c.publish(f"{READ}/{z}", "1000")
        c.wait_for(f"{ORDER}/{z}", "OFF")
    c.publish(f"{READ}/b", "10")  # min_on does not hold b, it is OFF: b goes ON
    mark0 = c.mark()
    c.publish(f"{READ}/a", "10")
    c.wait_for(f"{ORDER}/a", "ON", after=mark0)
    mark = c.mark()
    # 19:00:00: a goes OFF at once (no min_on), b holds, c goes ON.
    c.wait_for(f"{ORDER}/a", "OFF", after=mark, timeout=15)
    c.wait_for(f"{ORDER}/c", "ON", after=mark)
    doc = explained(c, "b", after=mark, mode="schedule")
    assert doc["reason"] == "outside schedule Mon-Fri 07:00-19:00: hold ON"
    assert doc["state"] == "ON"


def faketime_utc_env(utc):
    """As schedule_clock, from an instant given in UTC: a local time the autumn change shows
    twice would be ambiguous. The clock starts there and runs."""
    env = schedule_clock("2000-01-01 00:00:00")
    at = calendar.timegm(time.strptime(utc, "%Y-%m-%d %H:%M:%S"))
    env["FAKETIME"] = f"{at - int(time.time()):+d}s"
    return env


def test_window_start_in_the_hour_spring_skips_comes_when_the_clock_jumps(daemon, mqtt):
    """Europe/Paris, 2026-03-29: 02:00 CET is 03:00 CEST. A window from 02:30, a time that
    does not exist that night, begins at the first instant after the gap, 03:00 CEST."""
    c = mqtt(f"{ORDER}/#", f"{ZONE_STATE}/#")
    daemon(ref="on_below = 300\n[zone night]\nschedule = daily 02:30-05:00\n",
           env=schedule_clock("2026-03-29 01:59:54"))
    c.publish(f"{READ}/night", "100")
    c.wait_for(f"{ORDER}/night", "OFF")
    mark = c.mark()
    # Six seconds on: 02:00:00 CET, which the clock shows as 03:00 CEST. Not 03:30.
    c.wait_for(f"{ORDER}/night", "ON", after=mark, timeout=15)
    doc = explained(c, "night", after=mark, state="ON")
    assert (doc["mode"], doc["schedule"]) == ("auto", True)


def test_window_end_in_the_hour_autumn_repeats_comes_at_its_first_occurrence(daemon, mqtt):
    """Europe/Paris, 2026-10-25: 03:00 CEST is 02:00 CET, 02:00-03:00 is shown twice. A
    window ending at 02:30 ends at the first 02:30 (CEST), not an hour later."""
    c = mqtt(f"{ORDER}/#", f"{ZONE_STATE}/#")
    daemon(ref="on_below = 300\n[zone night]\nschedule = daily 01:00-02:30\n",
           env=faketime_utc_env("2026-10-25 00:29:54"))  # 02:29:54 CEST
    c.publish(f"{READ}/night", "100")
    c.wait_for(f"{ORDER}/night", "ON")
    mark = c.mark()
    c.wait_for(f"{ORDER}/night", "OFF", after=mark, timeout=15)
    doc = explained(c, "night", after=mark, state="OFF")
    assert (doc["mode"], doc["schedule"]) == ("schedule", False)


def test_bad_schedule_on_reload_keeps_the_last_good_table(daemon, mqtt):
    c = mqtt(f"{ORDER}/#")
    d = daemon(ref="on_below = 300\n")
    c.publish(f"{READ}/z", "100")
    c.wait_for(f"{ORDER}/z", "ON")
    d.ref_path.write_text("on_below = 50\n[zone z]\nschedule = Mon 25:00-26:00\n"
                          "outside = dim\n")
    path = re.escape(str(d.ref_path))
    d.wait_log(rf"^error: {path}:3: bad schedule")
    d.wait_log(rf"^error: {path}:4: ")
    d.wait_log(rf"^error: {path}: 2 error\(s\), keeping the previous thresholds")
    # Still the old table: 100 < 300 stays ON, a reading of 200 does not turn it OFF.
    mark = c.mark()
    c.publish(f"{READ}/z", "200")
    Barrier(c)()
    assert not c.received(f"{ORDER}/z", after=mark)


# --- a cluster: every instance keeps every zone's presence --------------------------------------

def test_failover_keeps_presence(cluster):
    names = ("a", "b")
    room = pick("room", "a", names)
    ref = (f"on_below = 300\noff_above = 400\nmin_off = 1h\n"
           f"[zone {room}]\noccupancy = {PIR1}\nvacancy_after = 1s\n")
    cl = cluster(ref=ref, names=names, start=names)
    for n in names:
        cl.broker.wait_subscribed(cl.nodes[n].client_id, [PIR1])
    cl.read(room, "100")
    cl.watch.wait_for(f"{ORDER}/{room}", "ON")
    mark = cl.watch.mark()
    cl.watch.publish(PIR1, "false")
    cl.watch.wait_for(f"{ORDER}/{room}", "OFF", after=mark)
    cl.sync()
    mark = cl.watch.mark()
    cl.kill("a")
    _, doc = cl.explanation(room, after=mark, node=owner(room, ("b",)))
    assert (doc["state"], doc["mode"], doc["occupied"]) == ("OFF", "vacant", False)
    cl.sync()
    assert cl.orders(room, after=mark) == []
    # b knows the sensor: presence lights the room at once (min_off does not hold it).
    cl.watch.publish(PIR1, "true")
    cl.watch.wait_for(f"{ORDER}/{room}", "ON", after=mark)
    _, doc = cl.explanation(room, after=mark, node="b", state="ON")
    assert doc["reason"] == "occupied and 100 < on_below 300"
