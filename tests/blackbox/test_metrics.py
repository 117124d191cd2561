"""test_metrics.py -- the counters pylightd publishes, and pylight-web's /metrics for Prometheus.

pylightd publishes its counters retained as JSON on [topics] stats, at most once every 10 s
while they change; pylight-web turns them (and the zones it sees) into the Prometheus text
format, checked by promtool itself.
"""

import json
import time

from conftest import ORDER, READ

STATS = "pylight/stats"


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
