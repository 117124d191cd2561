"""test_sensors.py -- zones with several sensors: aggregates, sensor topics, freshness, reloads

A zone that lists `sensors` decides on the aggregate of their latest fresh values. Each test
starts a real mosquitto and the real daemon and talks to them through real MQTT clients.
"""

import json
import re
import signal
import time

import pytest

from conftest import ORDER, READ, ZONE_STATE, Barrier, wait_until

BASE = "on_below = 250\noff_above = 400\n"


def explanations(c, zone):
    return [json.loads(m.payload) for m in c.received(f"{ZONE_STATE}/{zone}")]


@pytest.fixture
def setup(daemon, mqtt):
    """setup(ref) -> (daemon, client watching orders and explanations, barrier)."""
    def make(ref, **kw):
        d = daemon(ref=ref, **kw)
        c = mqtt(ORDER + "/#", ZONE_STATE + "/#")
        return d, c, Barrier(c)
    return make


@pytest.mark.parametrize("aggregate, order, value", [
    ("min", "ON", 100), ("max", "OFF", 900), ("mean", "OFF", 400), ("median", "ON", 200)])
def test_each_aggregate_decides_on_its_own_value(setup, aggregate, order, value):
    d, c, _ = setup(BASE + f"[zone room]\nsensors = room/a room/b room/c\n"
                           f"min_sensors = 3\naggregate = {aggregate}\n")
    mark = c.mark()
    for sensor, lux in (("a", 100), ("b", 200)):
        c.publish(f"{READ}/room/{sensor}", str(lux))
    # Two of three: stored, nothing decided yet.
    c.expect_none(f"{ORDER}/room", within=0.5, after=mark)
    c.publish(f"{READ}/room/c", "900")
    assert c.wait_for(f"{ORDER}/room", after=mark).payload == order
    doc = json.loads(c.wait_for(f"{ZONE_STATE}/room", after=mark).payload)
    assert doc["aggregate"] == aggregate
    assert doc["lux"] == value
    assert set(doc["sensors"]) == {"room/a", "room/b", "room/c"}
    assert doc["sensors"]["room/c"]["lux"] == 900
    assert doc["sensors"]["room/a"]["age"] >= 0
    assert not any("stale" in s for s in doc["sensors"].values())
    assert c.received(f"{ORDER}/room", after=mark)[0].payload == order


def test_median_of_three_ignores_a_lamp_lit_sensor(setup):
    d, c, barrier = setup(BASE + "[zone hall]\nsensors = hall/east hall/west hall/lamp\n")
    mark = c.mark()
    for sensor, lux in (("east", 80), ("west", 90), ("lamp", 5000)):
        c.publish(f"{READ}/hall/{sensor}", str(lux))
    barrier()
    # The first reading alone decided (min_sensors 1): 80 < 250, ON; then the median of
    # 80 and 90 and finally of 80, 90 and 5000 stays dark, whatever the lamp-lit sensor says.
    assert c.payloads(f"{ORDER}/hall", after=mark) == ["ON"]
    c.publish(f"{READ}/hall/lamp", "9000")
    barrier()
    assert c.payloads(f"{ORDER}/hall", after=mark) == ["ON"]
    # Two bright sensors outvote the dark one.
    c.publish(f"{READ}/hall/east", "800")
    assert c.wait_for(f"{ORDER}/hall", after=mark, count=2).payload == "OFF"


def test_sensor_topics_feed_their_zone_and_create_no_zone(setup):
    d, c, barrier = setup(BASE + "[zone room]\nsensors = room/a room/b\n")
    mark = c.mark()
    c.publish(f"{READ}/room/a", "100")
    assert c.wait_for(f"{ORDER}/room", after=mark).payload == "ON"
    barrier()
    orders = {m.topic for m in c.received(after=mark) if m.topic.startswith(ORDER + "/")}
    assert orders == {f"{ORDER}/room", f"{ORDER}/sync/1"}
    assert not c.received(f"{ZONE_STATE}/room/a")
    # The zone's own topic is not one of its sensors: rejected and counted.
    c.publish(f"{READ}/room", "900")
    d.wait_log(r"^warning: zone 'room': a reading on the zone's own topic, which is not "
               r"among its sensors, ignoring$")
    barrier()
    assert c.payloads(f"{ORDER}/room", after=mark) == ["ON"]
    d.signal(signal.SIGUSR1)
    d.wait_log(r"rejected 1\b")
    d.wait_log(r"^info: zone 'room': ON auto lux 100 .* sensors 1/2 fresh \(median\)$")


def test_the_zones_own_topic_counts_when_listed(setup):
    d, c, _ = setup(BASE + "[zone room]\nsensors = room room/window\naggregate = max\n")
    mark = c.mark()
    c.publish(f"{READ}/room", "100")
    assert c.wait_for(f"{ORDER}/room", after=mark).payload == "ON"
    c.publish(f"{READ}/room/window", "900")
    assert c.wait_for(f"{ORDER}/room", after=mark, count=2).payload == "OFF"


def test_silent_sensor_ages_out_of_the_aggregate(setup):
    d, c, barrier = setup(BASE + "stale_after = 1.5s\n"
                                 "[zone room]\nsensors = room/a room/b\naggregate = max\n")
    mark = c.mark()
    c.publish(f"{READ}/room/a", "900")
    assert c.wait_for(f"{ORDER}/room", after=mark).payload == "OFF"
    c.publish(f"{READ}/room/b", "100")
    barrier()
    assert c.payloads(f"{ORDER}/room", after=mark) == ["OFF"]   # max(900, 100)
    # Once `a` has been silent for stale_after, b's next reading decides alone.
    silent_since = time.monotonic()
    wait_until(lambda: time.monotonic() > silent_since + 1.6, what="a to go stale")
    c.publish(f"{READ}/room/b", "100")
    assert c.wait_for(f"{ORDER}/room", after=mark, count=2).payload == "ON"
    doc = json.loads(c.wait_for(f"{ZONE_STATE}/room", after=mark, pred=lambda m: json.loads(
        m.payload)["state"] == "ON").payload)
    assert doc["sensors"]["room/a"]["stale"] is True
    assert doc["sensors"]["room/a"]["lux"] == 900
    assert "stale" not in doc["sensors"]["room/b"]


def test_too_few_fresh_sensors_apply_the_failsafe_until_one_returns(setup):
    d, c, barrier = setup(BASE + "stale_after = 1.5s\nfailsafe = on\n"
                                 "[zone room]\nsensors = room/a room/b room/c\n"
                                 "min_sensors = 2\n")
    mark = c.mark()
    c.publish(f"{READ}/room/a", "900")
    c.publish(f"{READ}/room/b", "900")
    assert c.wait_for(f"{ORDER}/room", after=mark).payload == "OFF"
    # Only `a` keeps talking: when `b` ages out, one fresh sensor is too few.
    start = time.monotonic()
    c.publish(f"{READ}/room/a", "900")
    assert c.wait_for(f"{ORDER}/room", after=mark, count=2).payload == "ON"
    assert time.monotonic() >= start + 1.0
    doc = json.loads(c.wait_for(f"{ZONE_STATE}/room", pred=lambda m: json.loads(m.payload)[
        "mode"] == "failsafe", after=mark).payload)
    assert doc["reason"] == "fewer than 2 fresh sensors: failsafe on"
    d.wait_log(r"^warning: zone 'room': fewer than 2 fresh sensors: failsafe on$")
    # One reading is stored but still too few; the one that makes two resumes control.
    wait_until(lambda: time.monotonic() > start + 1.6, what="a to go stale as well")
    mark2 = c.mark()
    c.publish(f"{READ}/room/c", "900")
    barrier()
    assert c.payloads(f"{ORDER}/room", after=mark2) == []
    c.publish(f"{READ}/room/a", "900")
    assert c.wait_for(f"{ORDER}/room", after=mark2).payload == "OFF"
    doc = json.loads(c.wait_for(f"{ZONE_STATE}/room", after=mark2).payload)
    assert doc["mode"] == "auto"


def test_a_zone_that_never_had_enough_sensors_never_goes_stale(setup):
    d, c, barrier = setup(BASE + "stale_after = 1s\nfailsafe = on\n"
                                 "[zone room]\nsensors = room/a room/b\nmin_sensors = 2\n")
    mark = c.mark()
    c.publish(f"{READ}/room/a", "900")
    c.expect_none(f"{ORDER}/room", within=1.5, after=mark)


BAD = [
    ("on_below = 1\nsensors = a\n",
     "ref.txt:2: sensors can only be listed in a [zone NAME] section"),
    ("on_below = 1\n[zone a]\nsensors =\n",
     "ref.txt:3: missing value for sensors in [zone a]"),
    ("on_below = 1\n[zone a]\nsensors = x x\n",
     "ref.txt:3: sensor 'x' listed twice in [zone a]"),
    ("on_below = 1\n[zone a]\nsensors = x\n[zone b]\nsensors = x\n",
     "ref.txt:5: sensor 'x' in [zone b] is already listed in [zone a] at line 3"),
    ("on_below = 1\n[zone a]\nsensors = b/1 b\n[zone b]\n",
     "ref.txt:3: sensor 'b' is named like the section [zone b] at line 4"),
    ("on_below = 1\n[zone a]\nsensors = x y\nmin_sensors = 3\n",
     "ref.txt:4: min_sensors 3 is above the 2 sensors listed in [zone a]"),
    ("on_below = 1\naggregate = mode\n",
     "ref.txt:2: bad aggregate 'mode' (median, mean, min or max)"),
]


@pytest.mark.parametrize("ref, message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_sensor_errors_give_their_line_at_check_and_at_start(daemon, run_pylightd, ref,
                                                              message):
    d = daemon(ref=ref, start=False)
    res = run_pylightd("-t", "-c", str(d.ini_path), cwd=d.dir)
    assert res.returncode == 1, res.stdout + res.stderr
    lines = [line.split("ref.txt:", 1)[-1] for line in res.stderr.splitlines()]
    assert message.split("ref.txt:", 1)[1] in lines, res.stderr
    d.start(wait=False)
    assert d.wait_exit() == 78
    assert message.split("ref.txt:", 1)[1] in d.log()


def test_bad_sensors_on_reload_keep_the_last_good_thresholds(setup):
    d, c, barrier = setup(BASE + "[zone room]\nsensors = room/a\n")
    mark = c.mark()
    c.publish(f"{READ}/room/a", "100")
    assert c.wait_for(f"{ORDER}/room", after=mark).payload == "ON"
    d.ref_path.write_text(BASE + "[zone room]\nsensors = room/a room/a\n")
    d.wait_log(r"ref\.txt:4: sensor 'room/a' listed twice in \[zone room\]$")
    d.wait_log(r"keeping the previous thresholds")
    c.publish(f"{READ}/room/a", "900")
    assert c.wait_for(f"{ORDER}/room", after=mark, count=2).payload == "OFF"


def test_reload_keeps_a_moved_sensors_value_and_reevaluates_every_zone(setup):
    d, c, barrier = setup(BASE + "aggregate = min\n"
                                 "[zone left]\nsensors = x y\n[zone right]\nsensors = z\n")
    mark = c.mark()
    for sensor, lux in (("x", 100), ("y", 900), ("z", 900)):
        c.publish(f"{READ}/{sensor}", str(lux))
    barrier()
    assert c.payloads(f"{ORDER}/left", after=mark)[-1] == "ON"      # min(100, 900)
    assert c.payloads(f"{ORDER}/right", after=mark) == ["OFF"]      # 900
    mark = c.mark()
    # x moves to the right: no reading arrives, yet both zones switch on its kept value.
    d.ref_path.write_text(BASE + "aggregate = min\n"
                                 "[zone left]\nsensors = y\n[zone right]\nsensors = z x\n")
    assert c.wait_for(f"{ORDER}/left", after=mark).payload == "OFF"   # y alone: 900
    assert c.wait_for(f"{ORDER}/right", after=mark).payload == "ON"   # min(900, 100)
    doc = json.loads(c.wait_for(f"{ZONE_STATE}/right", after=mark).payload)
    assert set(doc["sensors"]) == {"z", "x"} and doc["sensors"]["x"]["lux"] == 100


def test_check_prints_the_sensors(daemon, run_pylightd):
    d = daemon(ref=BASE + "[zone hall]\nsensors = hall/east hall/west\nmin_sensors = 2\n"
                          "aggregate = mean\n", start=False)
    res = run_pylightd("-t", "-c", str(d.ini_path), cwd=d.dir)
    assert res.returncode == 0, res.stderr
    section = res.stdout.split("[zone hall]\n", 1)[1]
    assert re.search(r"^sensors = hall/east hall/west$", section, re.M)
    assert re.search(r"^aggregate = mean$", section, re.M)
    assert re.search(r"^min_sensors = 2$", section, re.M)
