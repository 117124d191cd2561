"""test_feedback.py -- lamp feedback: orders confirmed, lost orders retried, hands respected

Each test starts a real mosquitto and the real daemon; a test client plays the lamp,
reporting (or not) on the zone's feedback topic. Times are short (0.5 to 1 s waits) and
every check polls with the fixtures' generous deadlines; "not before" checks compare with
a stamp taken before the event that starts the daemon's clock.
"""

import json
import re
import signal
import time

import pytest

from conftest import ORDER, READ, ZONE_STATE, Barrier, wait_until

LAMP = "lamps/hall"
EPS = 0.01


def ref(**keys):
    zone = "".join(f"{k} = {v}\n" for k, v in keys.items())
    return f"on_below = 300\noff_above = 400\n[zone hall]\nfeedback = {LAMP}\n{zone}"


@pytest.fixture
def setup(daemon, mqtt):
    """setup(**zone keys) -> (daemon, client seeing orders, explanations and the lamp)."""
    def make(ini=None, **keys):
        d = daemon(ref=ref(**keys), ini=ini)
        c = mqtt(ORDER + "/#", ZONE_STATE + "/#", LAMP)
        return d, c
    return make


def explained(c, after=0, **want):
    """Waits for an explanation of zone hall whose fields equal `want`; returns it."""
    def fits(m):
        doc = json.loads(m.payload)
        return all(doc.get(k) == v for k, v in want.items())
    return json.loads(c.wait_for(f"{ZONE_STATE}/hall", pred=fits, after=after).payload)


def orders(c, after=0):
    return c.received(f"{ORDER}/hall", after=after)


def test_a_report_confirms_the_order(setup):
    d, c = setup(confirm_within="1s", retries=2)
    c.publish(f"{READ}/hall", "100")
    c.wait_for(f"{ORDER}/hall", "ON")
    doc = explained(c, state="ON")
    assert (doc["lamp"], doc["confirmed"], doc["retries"]) == (None, False, 0)
    mark = c.mark()
    c.publish(LAMP, "ON")
    doc = explained(c, after=mark, confirmed=True)
    assert (doc["lamp"], doc["retries"]) == ("ON", 0)
    # Confirmed: nothing is published again once the wait is over.
    c.expect_none(f"{ORDER}/hall", within=1.5, after=mark)
    d.signal(signal.SIGUSR1)
    d.wait_log(r"lamps: confirmed 1, retries 0, unconfirmed 0, manual 0")
    d.wait_log(r"zone 'hall': ON auto .* lamp ON confirmed retries 0$")


def test_a_lost_order_is_published_again_then_given_up(setup):
    d, c = setup(confirm_within="0.5s", retries=2)
    start = time.monotonic()
    c.publish(f"{READ}/hall", "100")
    first = c.wait_for(f"{ORDER}/hall", "ON")
    second = c.wait_for(f"{ORDER}/hall", "ON", count=2)
    third = c.wait_for(f"{ORDER}/hall", "ON", count=3)
    # Waits of 0.5 s, then twice that.
    assert second.time >= start + 0.5 - EPS
    assert third.time >= second.time + 1.0 - 0.1
    d.wait_log(r"^warning: zone 'hall': its lamp did not confirm ON after 2 retries$")
    doc = explained(c, retries=2)
    assert doc["confirmed"] is False and doc["state"] == "ON"
    assert first.time < second.time < third.time
    # Given up: nothing more; a late report still confirms.
    mark = c.mark()
    c.publish(LAMP, "ON")
    explained(c, after=mark, confirmed=True)
    assert not orders(c, after=mark)
    d.signal(signal.SIGUSR1)
    d.wait_log(r"lamps: confirmed 1, retries 2, unconfirmed 0, manual 0")


def test_a_new_order_cancels_the_retries_of_the_old_one(setup):
    d, c = setup(confirm_within="0.7s", retries=3)
    c.publish(f"{READ}/hall", "100")
    c.wait_for(f"{ORDER}/hall", "ON", count=2)  # one retry of ON
    mark = c.mark()
    c.publish(f"{READ}/hall", "900")
    c.wait_for(f"{ORDER}/hall", "OFF", after=mark)
    c.wait_for(f"{ORDER}/hall", "OFF", after=mark, count=2)  # OFF's own retry
    assert [m.payload for m in orders(c, after=mark)][:2] == ["OFF", "OFF"]
    mark2 = c.mark()
    c.publish(LAMP, "OFF")
    explained(c, after=mark2, confirmed=True, lamp="OFF")
    # No ON went out after the OFF order.
    assert "ON" not in [m.payload for m in orders(c, after=mark)]


def test_a_report_of_the_other_state_while_waiting_changes_nothing(setup):
    d, c = setup(confirm_within="1s", retries=1)
    c.publish(f"{READ}/hall", "100")
    c.wait_for(f"{ORDER}/hall", "ON")
    mark = c.mark()
    c.publish(LAMP, "OFF")
    doc = explained(c, after=mark, lamp="OFF")
    assert doc["confirmed"] is False and doc["mode"] == "auto" and doc["state"] == "ON"
    # Still waiting: the order is published again.
    c.wait_for(f"{ORDER}/hall", "ON", after=mark)


def switched_by_hand(c, manual):
    """Zone hall OFF and confirmed, then its lamp switched ON by hand."""
    c.publish(f"{READ}/hall", "900")
    c.wait_for(f"{ORDER}/hall", "OFF")
    c.publish(LAMP, "OFF")
    explained(c, confirmed=True, lamp="OFF")
    mark = c.mark()
    c.publish(LAMP, "ON")
    return mark


def test_manual_override_follows_the_hand(setup):
    d, c = setup(manual="override", override_for="1h")
    barrier = Barrier(c)
    mark = switched_by_hand(c, "override")
    doc = explained(c, after=mark, mode="override")
    assert doc["state"] == "ON" and doc["lamp"] == "ON" and doc["confirmed"] is True
    assert re.match(r"^manual override ON until \d\d:\d\d$", doc["reason"])
    barrier()
    assert not orders(c, after=mark)  # the lamp is there already
    d.wait_log(r"^notice: zone 'hall': lamp switched ON by hand, override$")
    # Readings do not undo it.
    c.publish(f"{READ}/hall", "900")
    barrier()
    assert not orders(c, after=mark)


def test_manual_enforce_orders_again_at_once(setup):
    d, c = setup(manual="enforce")
    mark = switched_by_hand(c, "enforce")
    c.wait_for(f"{ORDER}/hall", "OFF", after=mark)
    doc = explained(c, after=mark, lamp="ON")
    assert doc["confirmed"] is False and doc["mode"] == "auto"
    mark = c.mark()
    c.publish(LAMP, "OFF")
    explained(c, after=mark, confirmed=True, lamp="OFF")


def test_manual_ignore_only_records_the_lamp(setup):
    d, c = setup(manual="ignore")
    barrier = Barrier(c)
    mark = switched_by_hand(c, "ignore")
    doc = explained(c, after=mark, lamp="ON")
    assert doc["state"] == "OFF" and doc["mode"] == "auto" and doc["confirmed"] is True
    barrier()
    assert not orders(c, after=mark)
    d.signal(signal.SIGUSR1)
    d.wait_log(r"lamps: confirmed 1, retries 0, unconfirmed 0, manual 1")


def test_a_lamp_flapping_by_hand_is_logged_once_per_10_s(setup):
    d, c = setup(manual="ignore")
    mark = switched_by_hand(c, "ignore")
    explained(c, after=mark, lamp="ON")
    for lamp in ("OFF", "ON", "OFF", "ON"):
        mark = c.mark()
        c.publish(LAMP, lamp)
        explained(c, after=mark, lamp=lamp)
    # Every switch counted; one notice for them (the next says how many it left out).
    d.signal(signal.SIGUSR1)
    d.wait_log(r"lamps: confirmed 1, retries 0, unconfirmed 0, manual 3")
    assert len(re.findall(r"lamp switched \w+ by hand", d.log())) == 1


def test_a_retained_report_is_never_a_hand(setup, broker):
    d, c = setup(manual="enforce", confirm_within="5s")
    barrier = Barrier(c)
    c.publish(f"{READ}/hall", "900")
    c.wait_for(f"{ORDER}/hall", "OFF")
    c.publish(LAMP, "OFF")
    explained(c, confirmed=True, lamp="OFF")
    # While the daemon is away (frozen, then cut off by a broker restart), the lamp's last
    # word becomes a retained ON.
    d.signal(signal.SIGSTOP)
    try:
        broker.restart()
        c.wait_ready()
        c.publish(LAMP, "ON", retain=True)
        mark = c.mark()
    finally:
        d.signal(signal.SIGCONT)
    # On its reconnect the daemon gets it retained: recorded, not enforced.
    doc = explained(c, after=mark, lamp="ON")
    assert doc["state"] == "OFF" and doc["confirmed"] is True
    barrier()
    assert not orders(c, after=mark)


def test_a_wait_survives_a_broker_restart(setup, broker):
    d, c = setup(confirm_within="2s", retries=3)
    c.publish(f"{READ}/hall", "100")
    c.wait_for(f"{ORDER}/hall", "ON")
    broker.restart()
    c.wait_ready()
    # The retry is published once the daemon is back, and a report confirms it.
    c.wait_for(f"{ORDER}/hall", "ON", count=2, timeout=20)
    mark = c.mark()
    c.publish(LAMP, "ON")
    explained(c, after=mark, confirmed=True)


def test_reload_moves_the_zone_to_its_new_feedback_topic(setup):
    d, c = setup(confirm_within="10s")
    barrier = Barrier(c)
    c.publish(f"{READ}/hall", "900")
    c.wait_for(f"{ORDER}/hall", "OFF")
    d.ref_path.write_text(ref(confirm_within="10s").replace(LAMP, "lamps/hall2"))
    d.wait_log(r"reloaded")
    wait_until(lambda: d.broker.acked_filters(d.client_id) and
               "lamps/hall2" in d.broker.acked_filters(d.client_id),
               what="the new feedback topic subscribed")
    mark = c.mark()
    c.publish(LAMP, "OFF")       # the old topic: not heard any more
    c.publish("lamps/hall2", "OFF")
    doc = explained(c, after=mark, confirmed=True)
    assert doc["lamp"] == "OFF"
    c.publish(LAMP, "ON")
    barrier()
    assert json.loads(c.received(f"{ZONE_STATE}/hall")[-1].payload)["lamp"] == "OFF"


@pytest.mark.parametrize("payload", ["", "On", "toggle", "2", '{"state":"DIM"}', '{"st":"ON"}',
                                     '{"state":"ON"', "x" * 300])
def test_bad_lamp_reports_are_rejected_and_counted(setup, payload):
    d, c = setup(feedback_field="state")
    c.publish(f"{READ}/hall", "100")
    c.wait_for(f"{ORDER}/hall", "ON")
    c.publish(LAMP, payload)
    d.wait_log(r"^warning: zone 'hall': bad lamp report '.*' on lamps/hall, ignoring$")
    d.signal(signal.SIGUSR1)
    d.wait_log(r"rejected 1\b")
    # The zone keeps working: a good report confirms.
    mark = c.mark()
    c.publish(LAMP, '{"state":"ON"}')
    explained(c, after=mark, confirmed=True)


def test_feedback_errors_have_their_line(daemon, run_pylightd):
    d = daemon(ref="on_below = 1\n[zone a]\nfeedback = lamps/#x\nretries = 11\n"
                   "manual = sometimes\n", start=False)
    res = run_pylightd("-t", "-c", str(d.ini_path))
    assert res.returncode == 1
    err = res.stderr
    assert "ref.txt:3: feedback 'lamps/' is not a topic" in err  # '#' starts a comment
    assert "ref.txt:4: retries '11' is not an integer from 0 to 10 in [zone a]" in err
    assert "ref.txt:5: bad manual 'sometimes' (override, enforce or ignore) in [zone a]" in err
    d2 = daemon(ref="on_below = 1\nfeedback = a/+/b\n", start=False)
    res = run_pylightd("-t", "-c", str(d2.ini_path))
    assert "ref.txt:2: feedback 'a/+/b' is not a topic" in res.stderr


def test_without_explanations_enforce_still_waits_and_retries(setup):
    d, c = setup(ini={"topics": {"zone_state": ""}}, manual="enforce", confirm_within="0.5s",
                 retries=1)
    barrier = Barrier(c)
    c.publish(f"{READ}/hall", "900")
    c.wait_for(f"{ORDER}/hall", "OFF")
    c.publish(LAMP, "OFF")
    barrier()
    mark = c.mark()
    c.publish(LAMP, "ON")  # a hand: the order goes out again at once ...
    c.wait_for(f"{ORDER}/hall", "OFF", after=mark)
    # ... and, unanswered, once more after confirm_within.
    c.wait_for(f"{ORDER}/hall", "OFF", after=mark, count=2)
    d.wait_log(r"^warning: zone 'hall': its lamp did not confirm OFF after 1 retry$")
