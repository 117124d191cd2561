"""test_web_pages.py -- GET /api/zones at a city's scale: pages (page=1 with q, state, mode,
limit, offset), counts by state and mode, and deltas (since=TOKEN), against the real
pylight-web and a real mosquitto; the bare array of old clients stays as it was.

The explanations come from the test itself, on a zone_state topic of its own, so that each
zone's state and mode are the test's choice; pylightd runs only for the shared ref.txt.
"""

import json
import os

import pytest
import rawmqtt

from conftest import wait_until
from test_web import request

TOPIC = "test/zone"
REF = """\
on_below = 300
off_above = 400

[zone b-section]
on_below = 100

[zone c-section]
off_above = 900
"""


def explanation(zone, state="ON", mode="auto"):
    """An explanation as pylightd writes one (the documented fields, a realistic size)."""
    return json.dumps({"zone": zone, "state": state, "mode": mode, "lux": 120, "smoothed": 118,
                       "on_below": 300, "off_above": 400, "reason": "118 < on_below 300",
                       "since": 1795312345, "switches": 3}, separators=(",", ":"))


def retain_many(port, messages):
    """Publishes (topic, payload) pairs retained at QoS 0 on one connection, in batches."""
    rawmqtt.retain_many(port, messages, "test-many")


def zones_get(w, query="", status=200):
    code, _, data = request(w, "GET", "/api/zones" + query)
    assert code == status, (query, code, data)
    return data


def page(w, query=""):
    return zones_get(w, "?page=1" + query)


@pytest.fixture
def city(daemon, web, mqtt):
    """(pylight-web with REF and its explanations on TOPIC, a client publishing them)."""
    d = daemon(ref=REF)
    w = web(d, ini={"topics": {"zone_state": TOPIC}, "web": {"history": ""}})
    c = mqtt()
    return w, c


def publish(c, zone, state="ON", mode="auto"):
    c.publish(f"{TOPIC}/{zone}", explanation(zone, state, mode), retain=True)


def test_page_answers_total_counts_and_a_token(city):
    w, c = city
    for z, st, mode in (("a1", "ON", "auto"), ("a2", "OFF", "auto"), ("a3", "ON", "override"),
                        ("x/y", "OFF", "failsafe")):
        publish(c, z, st, mode)
    data = wait_until(lambda: (p := page(w)) and p["total"] == 6 and p, what="6 zones")
    assert set(data) == {"token", "total", "counts", "zones"}
    assert [z["zone"] for z in data["zones"]] == ["a1", "a2", "a3", "b-section", "c-section",
                                                  "x/y"]
    assert data["counts"]["state"] == {"null": 2, "ON": 2, "OFF": 2}
    assert data["counts"]["mode"] == {"null": 2, "auto": 2, "override": 1, "failsafe": 1}
    # each zone as the bare array has it: the explanation and the thresholds in force
    bare = {z["zone"]: z for z in zones_get(w)}
    assert isinstance(zones_get(w), list) and list(bare) == [z["zone"] for z in data["zones"]]
    for z in data["zones"]:
        assert z == bare[z["zone"]]
    assert bare["b-section"]["on_below"] == 100 and bare["b-section"]["state"] is None
    assert bare["a1"]["lux"] == 120 and bare["a1"]["off_above"] == 400


def test_each_parameter_filters(city):
    w, c = city
    for i in range(30):
        publish(c, f"z{i:02d}", "ON" if i % 3 else "OFF", "override" if i % 10 == 0 else "auto")
    wait_until(lambda: page(w)["total"] == 32, what="32 zones")
    names = lambda p: [z["zone"] for z in p["zones"]]  # noqa: E731
    assert names(page(w, "&q=z1")) == [f"z1{i}" for i in range(10)]
    assert page(w, "&q=section")["total"] == 2
    nothing = page(w, "&q=nothing")
    assert nothing["total"] == 0 and nothing["zones"] == []
    off = page(w, "&state=OFF")
    assert off["total"] == 10 and all(z["state"] == "OFF" for z in off["zones"])
    assert names(page(w, "&state=null")) == ["b-section", "c-section"]
    assert names(page(w, "&mode=override")) == ["z00", "z10", "z20"]
    assert names(page(w, "&mode=null")) == ["b-section", "c-section"]
    assert page(w, "&mode=sleeping")["total"] == 0
    both = page(w, "&q=z0&state=OFF&mode=override")
    assert names(both) == ["z00"] and both["total"] == 1
    # limit and offset: the total stays that of the filter
    p = page(w, "&limit=5&offset=10")
    assert names(p) == [f"z{i:02d}" for i in range(8, 13)] and p["total"] == 32
    assert page(w, "&limit=0")["zones"] == [] and page(w, "&limit=0")["total"] == 32
    assert page(w, "&offset=40")["zones"] == []
    # the counts are of every zone, whatever the filter
    assert page(w, "&q=z1")["counts"] == page(w)["counts"]


def test_default_limit_is_200_and_at_most_1000(city):
    w, c = city
    retain_many(w.daemon.broker.port,
                ((f"{TOPIC}/n{i:04d}", explanation(f"n{i:04d}")) for i in range(1200)))
    wait_until(lambda: page(w, "&limit=0")["total"] == 1202, what="1,202 zones")
    assert len(page(w)["zones"]) == 200
    assert len(page(w, "&limit=1000")["zones"]) == 1000
    assert len(zones_get(w)) == 1202  # the bare array: every zone, as before


@pytest.mark.parametrize("query,needle", [
    ("?q=a", "page=1 or since"), ("?limit=5", "page=1 or since"),
    ("?state=ON", "page=1 or since"),
    ("?page=2", "page must be 1"), ("?page=1&limit=1001", "limit"),
    ("?page=1&limit=-1", "limit"), ("?page=1&limit=ten", "limit"), ("?page=1&limit=", "limit"),
    ("?page=1&offset=1.5", "offset"), ("?page=1&state=on", "state must be"),
    ("?page=1&state=UNKNOWN", "state must be"), ("?page=1&mode=", "mode"),
    ("?page=1&q=" + "x" * 257, "q must be"), ("?since=nonsense", "token"),
    ("?since=1-2&offset=3", "offset does not go with since"),
])
def test_bad_parameters_are_422_json(city, query, needle):
    w, _ = city
    data = zones_get(w, query, status=422)
    assert data["ok"] is False and needle in data["errors"][0]["message"], data
    assert data["errors"][0]["line"] == 0


def test_since_returns_the_changes_and_the_removed(city):
    w, c = city
    d = w.daemon
    for z in ("a", "b", "c"):
        publish(c, z)
    first = wait_until(lambda: (p := page(w)) and p["total"] == 5 and p, what="5 zones")
    token = first["token"]
    # nothing changed: an empty delta, with the same token, total and counts
    same = zones_get(w, f"?since={token}")
    assert same == {**first, "zones": [], "removed": []}
    # a zone that changes, a new one, one whose explanation is cleared, a section removed
    # from ref.txt, and a section whose thresholds change
    publish(c, "b", "OFF")
    publish(c, "d")
    c.publish(f"{TOPIC}/c", "", retain=True)
    ref = REF.replace("[zone b-section]\non_below = 100\n", "").replace("off_above = 900",
                                                                        "off_above = 950")
    tmp = d.ref_path.with_name("ref.txt.new")
    tmp.write_text(ref)
    os.replace(tmp, d.ref_path)

    def delta_has_all():
        x = zones_get(w, f"?since={token}")
        return x if {z["zone"] for z in x["zones"]} == {"b", "d", "c-section"} and \
            x["removed"] == ["b-section", "c"] and x else None
    delta = wait_until(delta_has_all, what="the delta of b, d, c-section; c, b-section gone")
    z = {x["zone"]: x for x in delta["zones"]}
    assert z["b"]["state"] == "OFF" and z["c-section"]["off_above"] == 950
    assert [x["zone"] for x in delta["zones"]] == ["b", "c-section", "d"]  # name order
    assert delta["total"] == 4 and delta["token"] != token
    assert delta["counts"]["state"] == {"null": 1, "ON": 2, "OFF": 1}
    # from the new token: nothing more; the full page agrees with the delta applied
    assert zones_get(w, f"?since={delta['token']}")["zones"] == []
    assert [x["zone"] for x in page(w)["zones"]] == ["a", "b", "c-section", "d"]
    # a zone that comes back is a change again
    publish(c, "c")
    again = wait_until(lambda: (x := zones_get(w, f"?since={delta['token']}"))["zones"] and x,
                       what="c back")
    assert [x["zone"] for x in again["zones"]] == ["c"] and again["removed"] == []


def test_since_with_a_filter_removes_zones_that_leave_it(city):
    w, c = city
    for z in ("hall-1", "hall-2", "yard-1"):
        publish(c, z, "ON")
    first = wait_until(lambda: (p := page(w, "&state=ON")) and p["total"] == 3 and p,
                       what="3 zones ON")
    publish(c, "hall-1", "OFF")   # leaves the filter
    publish(c, "yard-1", "OFF")   # leaves it too, but does not match q
    publish(c, "hall-2", "ON", "override")  # changes and stays
    q = f"?since={first['token']}&state=ON&q=hall"
    delta = wait_until(lambda: (x := zones_get(w, q)) and x["zones"] and x["removed"] and x,
                       what="hall-2 changed and hall-1 removed")
    assert [z["zone"] for z in delta["zones"]] == ["hall-2"]
    assert delta["removed"] == ["hall-1"] and delta["total"] == 1


def test_tokens_that_cannot_be_answered_are_410(city):
    w, c = city
    for z in ("a", "b"):
        publish(c, z)
    token = wait_until(lambda: (p := page(w)) and p["total"] == 4 and p["token"], what="4 zones")
    epoch, seq = token.split("-")
    for bad in (f"{int(epoch, 16) + 1:x}-{seq}",   # another run's
                f"{epoch}-{int(seq, 16) + 100:x}"):  # not given yet
        data = zones_get(w, f"?since={bad}", status=410)
        assert "page=1" in data["errors"][0]["message"], data
    # more changes than the limit: the page must be asked for again
    publish(c, "a", "OFF")
    publish(c, "b", "OFF")
    wait_until(lambda: page(w, "&state=OFF")["total"] == 2, what="a and b OFF")
    data = zones_get(w, f"?since={token}&limit=1", status=410)
    assert "limit" in data["errors"][0]["message"]
    assert len(zones_get(w, f"?since={token}&limit=2")["zones"]) == 2


def test_a_token_older_than_the_zones_gone_remembered_is_410(city):
    """pylight-web remembers a few thousand zones gone; a token older than the ones it had to
    forget cannot say what was removed: 410, never a delta missing a removal."""
    w, c = city
    port = w.daemon.broker.port
    retain_many(port, ((f"{TOPIC}/g{i}", explanation(f"g{i}")) for i in range(5000)))
    token = wait_until(lambda: (p := page(w, "&limit=0")) and p["total"] == 5002 and p["token"],
                       what="5,002 zones")
    retain_many(port, ((f"{TOPIC}/g{i}", "") for i in range(5000)))
    wait_until(lambda: page(w, "&limit=0")["total"] == 2, what="the 5,000 gone")
    data = zones_get(w, f"?since={token}&limit=1000", status=410)
    assert "too old" in data["errors"][0]["message"], data


def test_zones_that_come_and_go_keep_the_list_in_name_order(city):
    """Zones that come after the list was built are merged into it in name order, gone ones
    leave it; one that comes and goes between two requests leaves no trace."""
    w, c = city
    port = w.daemon.broker.port
    retain_many(port, ((f"{TOPIC}/m{i:03d}", explanation(f"m{i:03d}")) for i in range(0, 300, 2)))
    want = {f"m{i:03d}" for i in range(0, 300, 2)} | {"b-section", "c-section"}
    wait_until(lambda: page(w, "&limit=0")["total"] == len(want), what="the even zones")
    for step in range(3):
        # odd ones come, some even ones go, one comes and goes at once
        came = {f"m{i:03d}" for i in range(1 + step, 300, 6)}
        went = {f"m{i:03d}" for i in range(2 * step, 300, 12)} & want
        retain_many(port, [*((f"{TOPIC}/{n}", explanation(n)) for n in sorted(came)),
                           *((f"{TOPIC}/{n}", "") for n in sorted(went)),
                           (f"{TOPIC}/flash{step}", explanation("flash")),
                           (f"{TOPIC}/flash{step}", "")])
        want = (want | came) - went
        got = wait_until(lambda: (z := zones_get(w)) and {x["zone"] for x in z} == want and z,
                         what=f"step {step}: the zones come and gone")
        names = [x["zone"] for x in got]
        assert names == sorted(want)
        assert [x["zone"] for x in page(w, "&limit=1000")["zones"]] == names
        assert [x["zone"] for x in page(w, "&q=m1&limit=1000")["zones"]] == \
            [n for n in names if "m1" in n]
