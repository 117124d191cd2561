"""test_controls.py -- overrides, stale sensors, lamp feedback and zone explanations

Timing checks take a time.monotonic() stamp just before publishing what starts a clock: the
daemon starts it later, and we receive what it publishes later still, so "not before
stamp + duration" is a lower bound that needs no slack beyond the daemon's millisecond
rounding (EPS). Upper bounds are only the fixtures' generous timeouts.
"""

import datetime
import json
import os
import re
import signal
import time

import pytest

from conftest import (ORDER, OVERRIDE, READ, STATUS, WARNING_LINE, ZONE_STATE, Barrier,
                      wait_until)

EPS = 0.01
FIELDS = {"zone", "state", "mode", "lux", "smoothed", "on_below", "off_above", "reason",
          "since", "switches"}


def at(base, zone):
    """The topic of `zone` below `base`: base itself for the default zone."""
    return f"{base}/{zone}" if zone else base


@pytest.fixture
def setup(daemon, mqtt):
    """setup(ref=..., ini=...) -> (daemon, client watching orders and explanations, barrier)."""
    def make(**kw):
        d = daemon(**kw)
        c = mqtt(ORDER + "/#", ZONE_STATE + "/#")
        return d, c, Barrier(c)
    return make


def explained(c, name="", after=0, **want):
    """Waits for an explanation of zone `name` whose fields equal `want`; returns it parsed. A
    `reason` given as a compiled regex is searched for instead."""
    def fits(m):
        try:
            doc = json.loads(m.payload)
        except ValueError:
            return False
        for key, value in want.items():
            if isinstance(value, re.Pattern):
                if not (isinstance(doc.get(key), str) and value.search(doc[key])):
                    return False
            elif key not in doc or doc[key] != value:
                return False
        return True
    return json.loads(c.wait_for(at(ZONE_STATE, name), pred=fits, after=after).payload)


def last_explanation(c, zone=""):
    msgs = c.received(at(ZONE_STATE, zone))
    assert msgs, f"no explanation for zone {zone!r}"
    return json.loads(msgs[-1].payload)


# --- manual override -----------------------------------------------------------------------

def test_override_on_while_bright_orders_on_at_once(setup):
    d, c, sync = setup()
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    c.publish(OVERRIDE, "ON")
    c.wait_for(ORDER, "ON")
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON"]
    explained(c, state="ON", mode="override")


def test_readings_ignored_during_override(setup):
    d, c, sync = setup()
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    c.publish(OVERRIDE, "ON")
    c.wait_for(ORDER, "ON")
    for lux in ("2000", "5000", "100", "1000"):
        c.publish(READ, lux)
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON"]
    assert last_explanation(c)["mode"] == "override"


def test_auto_reevaluates_at_once_with_the_latest_reading(setup):
    d, c, sync = setup()
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    c.publish(OVERRIDE, "OFF")  # explicit: published although the light is already OFF
    c.wait_for(ORDER, "OFF", count=2)
    c.publish(READ, "100")  # ignored now, but it is the latest reading when AUTO comes
    sync()
    assert c.payloads(ORDER) == ["OFF", "OFF"]
    mark = c.mark()
    c.publish(OVERRIDE, "AUTO")
    c.wait_for(ORDER, "ON", after=mark)
    explained(c, after=mark, state="ON", mode="auto", lux=100)
    # AUTO on a zone already under automatic control is accepted: no warning, no order.
    c.publish(OVERRIDE, "AUTO")
    sync()
    assert c.payloads(ORDER) == ["OFF", "OFF", "ON"]
    assert not re.search(WARNING_LINE, d.log(), re.M), d.log()


def test_override_with_duration_expires_by_itself(setup):
    d, c, sync = setup()
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    mark = c.mark()
    stamp = time.monotonic()
    c.publish(OVERRIDE, "ON 2s")
    c.wait_for(ORDER, "ON")
    back = c.wait_for(ORDER, "OFF", count=2)  # no new reading: the expiry re-evaluates
    assert back.time >= stamp + 2 - EPS, "override ended before its 2 s"
    explained(c, after=mark, state="OFF", mode="auto")
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON", "OFF"]


def test_override_without_duration_lasts_override_for(setup):
    d, c, sync = setup(ref="on_below = 300\noff_above = 400\noverride_for = 2s\n")
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    stamp = time.monotonic()
    c.publish(OVERRIDE, "ON")
    c.wait_for(ORDER, "ON")
    back = c.wait_for(ORDER, "OFF", count=2)
    assert back.time >= stamp + 2 - EPS, "override ended before override_for"
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON", "OFF"]


def test_override_payloads_are_case_insensitive(setup):
    d, c, sync = setup()
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    stamp = time.monotonic()
    c.publish(OVERRIDE, "Off 1s")
    c.wait_for(ORDER, "OFF")
    back = c.wait_for(ORDER, "ON", count=2)  # the duration was understood
    assert back.time >= stamp + 1 - EPS
    c.publish(OVERRIDE, "on")
    c.wait_for(ORDER, "ON", count=3)
    c.publish(READ, "1000")  # ignored: "on" froze the zone
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF", "ON", "ON"]
    c.publish(OVERRIDE, "aUtO")
    c.wait_for(ORDER, "OFF")
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF", "ON", "ON", "OFF"]
    assert not re.search(WARNING_LINE, d.log(), re.M), d.log()


BAD_OVERRIDES = {
    "empty": "",
    "word": "MAYBE",
    "longer-word": "ONN",
    "prefix": "O",
    "number": "1",
    "bad-unit": "ON 5x",
    "negative": "ON -5s",
    "space-before-unit": "ON 15 m",
    "hex-duration": "ON 0x10",
    "trailing-word": "OFF 5s please",
    "nul-byte": "ON\0",
    "too-long": "ON" + " " * 300,  # beyond max_payload 256
}


@pytest.mark.parametrize("payload", BAD_OVERRIDES.values(), ids=BAD_OVERRIDES.keys())
def test_bad_override_rejected_and_zone_keeps_working(setup, payload):
    d, c, sync = setup()
    zone = "ovzone"
    c.publish(at(READ, zone), "100")
    c.wait_for(at(ORDER, zone), "ON")
    c.publish(at(OVERRIDE, zone), payload)
    d.wait_log(WARNING_LINE + r".*zone 'ovzone': bad override")
    c.publish(at(READ, zone), "1000")  # a zone frozen by a wrongly accepted override ignores it
    c.wait_for(at(ORDER, zone), "OFF")
    sync()
    assert c.payloads(at(ORDER, zone)) == ["ON", "OFF"]
    assert last_explanation(c, zone)["mode"] == "auto"
    assert d.alive()


def test_zone_override_leaves_other_zones_alone(setup):
    d, c, sync = setup()
    others = ["", "b", "a/x"]  # "a/x" is below "a" in the topic tree but another zone
    for zone in ["a"] + others:
        c.publish(at(READ, zone), "1000")
        c.wait_for(at(ORDER, zone), "OFF")
    c.publish(at(OVERRIDE, "a"), "ON")
    c.wait_for(at(ORDER, "a"), "ON")
    c.publish(at(READ, "a"), "1000")
    for zone in others:
        c.publish(at(READ, zone), "100")
        c.wait_for(at(ORDER, zone), "ON")
    sync()
    assert c.payloads(at(ORDER, "a")) == ["OFF", "ON"]
    assert last_explanation(c, "a")["mode"] == "override"
    for zone in others:
        assert c.payloads(at(ORDER, zone)) == ["OFF", "ON"], zone
        assert last_explanation(c, zone)["mode"] == "auto", zone


def test_override_without_suffix_concerns_the_default_zone_only(setup):
    d, c, sync = setup()
    for zone in ("", "x"):
        c.publish(at(READ, zone), "1000")
        c.wait_for(at(ORDER, zone), "OFF")
    c.publish(OVERRIDE, "ON")
    c.wait_for(ORDER, "ON")
    explained(c, "", state="ON", mode="override")
    c.publish(READ, "1000")  # the default zone is frozen
    c.publish(at(READ, "x"), "100")  # zone x is not
    c.wait_for(at(ORDER, "x"), "ON")
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON"]
    assert c.payloads(at(ORDER, "x")) == ["OFF", "ON"]
    assert last_explanation(c, "x")["mode"] == "auto"


@pytest.mark.parametrize("how", ["SIGHUP", "rewrite"])
def test_override_survives_reload(setup, how):
    d, c, sync = setup()
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    c.publish(OVERRIDE, "ON")
    c.wait_for(ORDER, "ON")
    if how == "SIGHUP":
        d.signal(signal.SIGHUP)
        d.wait_log(r"reloaded \(SIGHUP\)")
    else:
        d.ref_path.write_text("on_below = 300\noff_above = 450\n")
        d.wait_log(r"reloaded \(file changed\)")
    c.publish(READ, "2000")
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON"]
    assert last_explanation(c)["mode"] == "override"
    mark = c.mark()
    c.publish(OVERRIDE, "AUTO")
    c.wait_for(ORDER, "OFF", count=2)
    explained(c, after=mark, state="OFF", mode="auto",
              off_above=400 if how == "SIGHUP" else 450)


@pytest.mark.parametrize("reading, state", [("100", "ON"), ("1000", "OFF")])
def test_override_to_the_current_state_still_publishes(setup, reading, state):
    d, c, sync = setup()
    c.publish(READ, reading)
    c.wait_for(ORDER, state)
    c.publish(OVERRIDE, state)
    c.wait_for(ORDER, state, count=2)
    explained(c, state=state, mode="override")
    sync()
    assert c.payloads(ORDER) == [state, state]


def test_override_creates_a_zone_without_readings(setup):
    d, c, sync = setup()
    c.publish(at(OVERRIDE, "new"), "ON")
    c.wait_for(at(ORDER, "new"), "ON")
    doc = explained(c, "new", zone="new", state="ON", mode="override")
    assert doc["lux"] is None and doc["smoothed"] is None, doc
    mark = c.mark()
    c.publish(at(OVERRIDE, "new"), "AUTO")  # nothing to decide on yet: no order
    explained(c, "new", after=mark, mode="auto")
    c.publish(at(READ, "new"), "1000")
    c.wait_for(at(ORDER, "new"), "OFF")
    sync()
    assert c.payloads(at(ORDER, "new")) == ["ON", "OFF"]


# --- dwell and override: an override ignores min_on/min_off, which count from its order ----

@pytest.mark.parametrize("key, reading, first, command", [
    ("min_on", "100", "ON", "OFF"),
    ("min_off", "1000", "OFF", "ON"),
])
def test_override_publishes_despite_dwell(setup, key, reading, first, command):
    d, c, sync = setup(ref=f"on_below = 300\noff_above = 400\n{key} = 1h\n")
    c.publish(READ, reading)
    c.wait_for(ORDER, first)
    c.publish(OVERRIDE, command)
    c.wait_for(ORDER, command)
    sync()
    assert c.payloads(ORDER) == [first, command]


def test_dwell_after_auto_counts_from_the_override_order(setup):
    d, c, sync = setup(ref="on_below = 300\noff_above = 400\nmin_off = 2s\n")
    c.publish(READ, "100")
    first = c.wait_for(ORDER, "ON")
    # Let time pass, so that a dwell wrongly counted from the first order would end about
    # one second before one counted from the override's order.
    time.sleep(max(0.0, first.time + 1.0 - time.monotonic()))
    stamp = time.monotonic()
    c.publish(OVERRIDE, "OFF")
    c.wait_for(ORDER, "OFF")
    mark = c.mark()
    c.publish(OVERRIDE, "AUTO")  # the latest reading (100) wants ON, min_off holds it back
    doc = explained(c, after=mark, mode="auto", state="OFF")
    assert "min_off" in doc["reason"], doc
    back = c.wait_for(ORDER, "ON", count=2)
    assert back.time >= stamp + 2 - EPS, "ON came before min_off counted from the override"
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF", "ON"]


# --- stale sensors -------------------------------------------------------------------------

@pytest.mark.parametrize("failsafe, reading, first, safe, resume, resumed", [
    ("on", "1000", "OFF", "ON", "1000", "OFF"),
    ("off", "100", "ON", "OFF", "100", "ON"),
    ("hold", "1000", "OFF", None, "100", "ON"),
])
def test_stale_zone_applies_failsafe_once_then_resumes(setup, failsafe, reading, first, safe,
                                                       resume, resumed):
    ref = (f"on_below = 300\noff_above = 400\n"
           f"[zone st]\nstale_after = 1s\nfailsafe = {failsafe}\n")
    d, c, sync = setup(ref=ref)
    c.publish(READ, reading)  # the default zone has no stale_after
    c.wait_for(ORDER, first)
    stamp = time.monotonic()
    c.publish(at(READ, "st"), reading)
    c.wait_for(at(ORDER, "st"), first)
    doc = explained(c, "st", mode="failsafe",
                    reason=re.compile(rf"^stale [0-9.]+s: failsafe {failsafe}$"))
    assert doc["state"] == (safe or first), doc
    if safe:
        order = c.wait_for(at(ORDER, "st"), safe)
        assert order.time >= stamp + 1 - EPS, "failsafe before stale_after"
    else:
        assert c.received(at(ZONE_STATE, "st"))[-1].time >= stamp + 1 - EPS
    # Once: neither the order nor the explanation repeats while the zone stays stale.
    c.expect_none(at(ORDER, "st"), within=1.2)
    assert c.payloads(at(ORDER, "st")) == [o for o in (first, safe) if o]
    assert [json.loads(m.payload)["mode"] for m in c.received(at(ZONE_STATE, "st"))] == \
        ["auto", "failsafe"]
    assert c.payloads(ORDER) == [first]
    mark = c.mark()
    c.publish(at(READ, "st"), resume)
    # The next order is the resumed one (a second failsafe may follow a second later).
    c.wait_for(at(ORDER, "st"), after=mark)
    assert c.payloads(at(ORDER, "st"), after=mark)[0] == resumed
    explained(c, "st", after=mark, mode="auto", state=resumed)
    d.wait_log(WARNING_LINE + rf".*zone 'st': stale [0-9.]+s: failsafe {failsafe}")


def test_rejected_readings_do_not_keep_a_zone_fresh(setup):
    d, c, sync = setup(ref="on_below = 300\noff_above = 400\nstale_after = 1s\nfailsafe = on\n")
    c.publish(at(READ, "st"), "1000")
    c.wait_for(at(ORDER, "st"), "OFF")

    def failsafe_came():
        c.publish(at(READ, "st"), "garbage")
        return c.received(at(ORDER, "st"), "ON")
    wait_until(failsafe_came, what="the failsafe ON despite a stream of bad readings")
    explained(c, "st", mode="failsafe", state="ON")


# --- lamp feedback -------------------------------------------------------------------------

def test_lamp_lux_subtracted_only_while_on(setup):
    d, c, sync = setup(ref="on_below = 300\noff_above = 400\nlamp_lux = 150\n")
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    c.publish(READ, "500")  # 500 - 150 = 350: inside the band, stays ON
    sync()
    assert c.payloads(ORDER) == ["ON"]
    c.publish(READ, "600")  # 600 - 150 = 450 > 400
    c.wait_for(ORDER, "OFF")
    c.publish(READ, "350")  # OFF: compared as is, 350 is not below 300
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF"]
    c.publish(READ, "250")
    c.wait_for(ORDER, "ON", count=2)
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF", "ON"]


# --- explanations --------------------------------------------------------------------------

def test_explanation_json_fields_and_retained(setup, mqtt, broker):
    d, c, sync = setup()
    c.publish(READ, "42")
    c.wait_for(ORDER, "ON")
    msg = c.wait_for(ZONE_STATE)
    doc = json.loads(msg.payload)
    assert FIELDS <= set(doc), doc
    assert doc["zone"] == "" and doc["state"] == "ON" and doc["mode"] == "auto", doc
    assert (doc["lux"], doc["smoothed"], doc["on_below"], doc["off_above"]) == (42, 42, 300, 400)
    assert "42 < on_below 300" in doc["reason"], doc
    assert isinstance(doc["since"], int) and abs(doc["since"] - time.time()) < 60, doc
    assert doc["switches"] == 1, doc
    late = mqtt(ZONE_STATE + "/#")
    got = late.wait_for(ZONE_STATE)
    assert got.retain and json.loads(got.payload)["state"] == "ON"
    explained_by_daemon = [p for p in broker.published_by(d.client_id) if p.topic == ZONE_STATE]
    assert explained_by_daemon and all(p.retain for p in explained_by_daemon)
    mark = c.mark()
    c.publish(READ, "1000")
    doc = explained(c, after=mark, state="OFF")
    assert doc["switches"] == 2 and "1000 > off_above 400" in doc["reason"], doc


def test_explanation_of_a_named_zone_with_smoothing(setup):
    ref = "on_below = 300\noff_above = 400\n[zone floor1/hall]\nsmoothing = 3\n"
    d, c, sync = setup(ref=ref)
    c.publish(at(READ, "floor1/hall"), "500")
    c.wait_for(at(ORDER, "floor1/hall"), "OFF")
    c.publish(at(READ, "floor1/hall"), "10")  # median of 500 and 10 is 255
    c.wait_for(at(ORDER, "floor1/hall"), "ON")
    doc = explained(c, "floor1/hall", state="ON")
    assert doc["zone"] == "floor1/hall" and doc["mode"] == "auto", doc
    assert (doc["lux"], doc["smoothed"]) == (10, 255), doc
    assert "255 < on_below 300" in doc["reason"], doc


@pytest.mark.parametrize("reading, shown", [
    ("42", '"lux":42,'),
    ("42.0", '"lux":42,'),
    ("12.5", '"lux":12.5,'),
    ("0.1", '"lux":0.1,'),
    ("1e3", '"lux":1000,'),
])
def test_explanation_numbers_in_their_shortest_form(setup, reading, shown):
    """Numbers in an explanation are JSON numbers in their shortest form: a whole number
    without a fraction or an exponent, others with as few digits as they need."""
    d, c, sync = setup(ref="on_below = 300\noff_above = 400.5\n")
    c.publish(READ, reading)
    c.wait_for(ORDER)
    text = c.wait_for(ZONE_STATE).payload
    assert shown in text, text
    assert '"on_below":300,' in text and '"off_above":400.5,' in text, text
    assert re.search(r'"since":\d+,"switches":1\}$', text), text


def test_explanation_mode_follows_override(setup):
    d, c, sync = setup()
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    explained(c, state="OFF", mode="auto")
    mark = c.mark()
    c.publish(OVERRIDE, "ON 2h")
    doc = explained(c, after=mark, mode="override", state="ON")
    m = re.fullmatch(r"override ON until (\d\d):(\d\d)", doc["reason"])
    assert m, doc
    expect = datetime.datetime.now() + datetime.timedelta(hours=2)
    said = expect.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0,
                          microsecond=0)
    gap = (said - expect.replace(second=0, microsecond=0)).total_seconds() % 86400
    assert gap in (0, 60, 86340), f"{doc['reason']} is not about {expect:%H:%M}"
    assert doc["switches"] == 2, doc
    mark = c.mark()
    c.publish(OVERRIDE, "AUTO")
    doc = explained(c, after=mark, mode="auto", state="OFF")
    assert doc["switches"] == 3, doc


def test_empty_zone_state_topic_disables_explanations(daemon, mqtt, broker):
    d = daemon(ini={"topics": {"zone_state": ""}})
    c = mqtt("#")
    sync = Barrier(c)
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    c.publish(at(READ, "z"), "1000")
    c.wait_for(at(ORDER, "z"), "OFF")
    c.publish(OVERRIDE, "OFF")
    c.wait_for(ORDER, "OFF")
    c.publish(OVERRIDE, "AUTO")
    c.wait_for(ORDER, "ON", count=2)
    sync()
    assert not c.received(pred=lambda m: m.topic.startswith("pylight/zone"))
    topics = {p.topic for p in broker.published_by(d.client_id)}
    # the counters (pylight/stats) are no explanation
    assert all(t in (STATUS, "pylight/stats") or t == ORDER or t.startswith(ORDER + "/")
               for t in topics), topics


# --- SIGUSR1 -------------------------------------------------------------------------------

def test_sigusr1_logs_one_line_per_zone_and_the_counters(setup):
    d, c, sync = setup()
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    c.publish(at(READ, "a"), "100")
    c.wait_for(at(ORDER, "a"), "ON")
    c.publish(at(READ, "b/c"), "100")
    c.wait_for(at(ORDER, "b/c"), "ON")
    c.publish(at(OVERRIDE, "a"), "ON")
    c.wait_for(at(ORDER, "a"), "ON", count=2)
    c.publish(at(READ, "b/c"), "junk")
    d.wait_log(WARNING_LINE + r".*zone 'b/c': bad reading")
    before = len(d.log())
    d.signal(signal.SIGUSR1)
    dump_line = re.compile(r"^info: zone '([^']*)': (ON|OFF) (auto|override|failsafe) lux ",
                           re.M)
    wanted = {"": ("OFF", "auto"), "a": ("ON", "override"), "b/c": ("ON", "auto")}

    def dumped():
        found = dump_line.findall(d.log()[before:])
        return found if {zone for zone, _, _ in found} == set(wanted) else None
    lines = wait_until(dumped, what=f"a SIGUSR1 line for each zone; log:\n{d.log()}")
    assert sorted(lines) == sorted((zone, *sm) for zone, sm in wanted.items()), lines
    d.wait_log(r"^info: .*3 zones; readings 3, orders 4, rejected 1, overrides 1, stale 0")
    assert d.alive()


def test_a_signal_while_the_files_load_waits_for_the_loop(daemon):
    """SIGUSR1 ends a process that has not taken it yet. pylightd takes its signals before it
    reads its files, so one that comes while a large ref.txt loads (here: a FIFO it waits on)
    is answered once it runs."""
    d = daemon(start=False, ini={"thresholds": {"file": "slow.txt"}})
    fifo = d.dir / "slow.txt"
    os.mkfifo(fifo)
    d.start(wait=False)

    def blocked_on_fifo():
        with open(f"/proc/{d.pid}/wchan") as f:
            return f.read() == "wait_for_partner"
    wait_until(blocked_on_fifo, what="pylightd to open its ref.txt")
    d.signal(signal.SIGUSR1)
    with open(fifo, "w") as f:
        f.write("on_below = 300\noff_above = 400\n")
    d.wait_ready()
    d.wait_log(r"^info: status: ")  # what SIGUSR1 asks for
