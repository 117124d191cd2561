"""test_metrics.py -- the counters pylightd publishes, and pylight-web's /metrics for Prometheus.

pylightd publishes its counters retained as JSON on [topics] stats, at most once every 10 s
while they change; pylight-web turns them (and the zones it sees) into the Prometheus text
format, checked by promtool itself.
"""

import json
import subprocess

from conftest import ORDER, OVERRIDE, READ, TIMEOUT, ZONE_STATE, wait_until
from test_web import request

STATS = "pylight/stats"
# Why pylightd refuses an input: the names dashboards select on.
REASONS = ("payload_too_large", "bad_reading", "not_a_sensor", "max_zones", "out_of_memory",
           "bad_override", "not_dimmable", "bad_lamp_report", "bad_presence", "no_zone")


def stats_of(msg):
    return json.loads(msg.payload)


def test_counters_are_published_retained_and_at_most_every_10s(daemon, mqtt):
    c = mqtt(STATS, STATS + "/#")
    d = daemon()
    first = c.wait_for(STATS, pred=lambda m: stats_of(m)["mqtt_connected"])
    s = stats_of(first)
    assert s["readings"] == 0 and s["reloads"] == 0 and s["zones"] == 0
    mark = c.mark()
    c.publish(READ + "/hall", "10")
    c.publish(READ + "/hall", "abc")
    got = c.wait_for(STATS, pred=lambda m: stats_of(m)["rejected"] == 1, after=mark)
    s = stats_of(got)
    assert s["readings"] == 1 and s["orders"] == 1 and s["modes"] == {"auto": 1}
    assert s["zones"] == 1
    # The total broken down by reason, every reason listed, 0 included.
    assert s["rejected_by"]["bad_reading"] == 1
    assert sum(s["rejected_by"].values()) == s["rejected"]
    assert set(s["rejected_by"]) == set(REASONS)
    # At most one publish every 10 s: the next change waits for the rest of the interval.
    mark = c.mark()
    c.publish(READ + "/room", "10")
    nxt = c.wait_for(STATS, pred=lambda m: stats_of(m)["zones"] == 2, after=mark, timeout=30)
    assert nxt.time - got.time >= 9.5, (got, nxt)
    assert c.received(STATS, after=mark) == [nxt]
    # A reload counts, failed or not.
    mark = c.mark()
    d.ref_path.write_text("on_below = oops\n")
    got = c.wait_for(STATS, pred=lambda m: stats_of(m)["reload_failures"] == 1, after=mark,
                     timeout=30)
    assert stats_of(got)["reloads"] == 1
    # Retained: a client that comes later gets the last one at once.
    late = mqtt(STATS)
    m = late.wait_for(STATS)
    assert m.retain and stats_of(m) == stats_of(got)
    # Nothing changed, nothing published.
    c.expect_none(STATS, within=1.0)
    d.stop()


def test_cluster_counters_go_to_the_node_topic(daemon, mqtt):
    c = mqtt(STATS + "/#")
    daemon(ini={"cluster": {"node": "east"}})
    m = c.wait_for(STATS + "/east")
    assert stats_of(m)["mqtt_connected"] is True
    assert not c.received(STATS)


def test_empty_topic_publishes_nothing(daemon, mqtt):
    c = mqtt(STATS, STATS + "/#", ORDER + "/#")
    daemon(ini={"topics": {"stats": ""}})
    c.publish(READ + "/hall", "10")
    c.wait_for(ORDER + "/hall")
    c.expect_none(STATS, within=1.0)
    c.expect_none(pred=lambda m: m.topic.startswith(STATS + "/"), within=0.1, after=0)


# --- pylight-web's /metrics ---------------------------------------------------------------

def scrape(w, auth=None):
    status, h, text = request(w, "GET", "/metrics", auth=auth)
    assert status == 200, text
    assert h["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return text


def scrape_until(w, pred, what):
    """The first scrape whose text satisfies pred."""
    def once():
        text = scrape(w)
        return text if pred(text) else None
    return wait_until(once, what=what)


def promtool_ok(text):
    """promtool's own check of the exposition: names, HELP, TYPE, escaping."""
    res = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                         capture_output=True, timeout=TIMEOUT)
    assert res.returncode == 0, res.stdout + res.stderr + "\n" + text


def sample(text, line_prefix):
    for line in text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_from_the_counters_and_zones_pass_promtool(daemon, web, mqtt):
    d = daemon(ini={"readings": {"max_zones": "2"}})
    w = web(d)
    c = mqtt(STATS)
    c.publish(READ + '/q"uote\\back', "10")
    c.publish(READ + "/hall", "1000")
    c.publish(READ + "/hall", "x")
    c.publish(OVERRIDE + "/hall", "ONN")
    c.publish(READ + "/attic", "10")  # a third zone, beyond max_zones
    c.wait_for(STATS, pred=lambda m: stats_of(m)["rejected"] == 3)
    text = scrape_until(w, lambda t: 'pylight_rejected_total{reason="max_zones"} 1' in t,
                        "the counters in /metrics")
    promtool_ok(text)
    # pylight_rejected_total by reason, every reason shown, and no unlabelled total beside it
    assert sample(text, 'pylight_rejected_total{reason="bad_reading"}') == 1
    assert sample(text, 'pylight_rejected_total{reason="bad_override"}') == 1
    assert sample(text, 'pylight_rejected_total{reason="max_zones"}') == 1
    for reason in REASONS:
        if reason not in ("bad_reading", "bad_override", "max_zones"):
            assert sample(text, f'pylight_rejected_total{{reason="{reason}"}}') == 0, reason
    assert sample(text, "pylight_rejected_total") is None
    assert text.count("# TYPE pylight_rejected_total counter\n") == 1
    assert text.count("# HELP pylight_rejected_total ") == 1
    assert sample(text, "pylight_readings_total") == 2
    assert sample(text, "pylight_orders_total") == 2
    assert sample(text, "pylight_mqtt_connected") == 1
    assert sample(text, 'pylight_zones{mode="auto"}') == 2
    assert "# TYPE pylight_readings_total counter" in text
    assert "# HELP pylight_reload_failures_total " in text
    assert sample(text, 'pylight_zone_on{zone="hall"}') == 0
    assert sample(text, 'pylight_zone_on{zone="q\\"uote\\\\back"}') == 1
    # pylightd gone: its status says offline, so it is no longer connected
    d.stop()
    text = scrape_until(w, lambda t: "pylight_mqtt_connected 0" in t, "pylight_mqtt_connected 0")
    promtool_ok(text)


def test_zone_on_only_up_to_metrics_zones(daemon, web, mqtt):
    d = daemon()
    w = web(d, ini={"web": {"metrics_zones": "2"}})
    c = mqtt(ZONE_STATE + "/#")
    for z in ("a", "b"):
        c.publish(READ + "/" + z, "10")
        c.wait_for(ZONE_STATE + "/" + z)
    text = scrape_until(w, lambda t: 'zone="b"' in t, "zone b")
    assert 'pylight_zone_on{zone="a"} 1' in text
    c.publish(READ + "/c", "10")
    c.wait_for(ZONE_STATE + "/c")
    wait_until(lambda: "pylight_zone_on" not in scrape(w), what="pylight_zone_on gone")
    promtool_ok(scrape(w))


def test_cluster_metrics_carry_the_node(daemon, web, mqtt):
    east = daemon(ini={"cluster": {"node": "east"}})
    daemon(ini={"cluster": {"node": "west"}})
    w = web(east)
    text = scrape_until(w, lambda t: 'node="west"' in t and 'node="east"' in t,
                        "both nodes in /metrics")
    promtool_ok(text)
    assert sample(text, 'pylight_mqtt_connected{node="east"}') == 1
    assert sample(text, 'pylight_readings_total{node="west"}') == 0
    assert sample(text, 'pylight_rejected_total{node="east",reason="bad_reading"}') == 0


def test_counters_without_reasons_give_the_total(daemon, web, mqtt):
    """An older pylightd publishes no rejected_by: its total is served unlabelled."""
    east = daemon(ini={"cluster": {"node": "east"}})
    w = web(east)
    c = mqtt()
    c.publish(STATS + "/old", json.dumps({"readings": 5, "orders": 1, "rejected": 4,
                                          "mqtt_connected": True, "zones": 1,
                                          "modes": {"auto": 1}}), retain=True)
    text = scrape_until(w, lambda t: 'node="old"' in t and 'node="east"' in t,
                        "both nodes in /metrics")
    promtool_ok(text)
    assert sample(text, 'pylight_rejected_total{node="old"}') == 4
    assert sample(text, 'pylight_rejected_total{node="east",reason="no_zone"}') == 0
    assert 'node="old",reason=' not in text


def test_metrics_need_the_password(daemon, web, tmp_path):
    d = daemon()
    pw = tmp_path / "web.pw"
    pw.write_text("s3cret\n")
    pw.chmod(0o600)
    w = web(d, ini={"web": {"password_file": str(pw)}})
    status, _, _ = request(w, "GET", "/metrics")
    assert status == 401
    promtool_ok(scrape(w, auth="admin:s3cret"))
    status, _, _ = request(w, "POST", "/metrics", body={})
    assert status in (401, 405)
