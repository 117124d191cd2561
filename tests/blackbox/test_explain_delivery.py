"""test_explain_delivery.py -- explanations go at QoS 0, and none is lost with a connection

A zone's explanation is a retained state: pylightd publishes it at QoS 0 (one write, no
acknowledgement to read) and keeps a copy until the broker acknowledges a later QoS 1
message, which proves it read the explanation too (one connection is read in order). What
a lost connection may have swallowed, or what could not be sent at all, is published again
on the next connection; what the broker was proven to have is not.
"""

import ctypes
import json
import os
import re
import socket
import subprocess

from conftest import ORDER, READ, STATUS, ZONE_STATE, wait_until

# No stats: their QoS 1 publishes every few seconds would prove explanations at times the
# tests do not choose.
INI = {"topics": {"stats": ""}}
KEPT_LINE = r"^info: mqtt: published again (\d+) retained state"
SYS_PIDFD_GETFD = 438  # x86-64 and arm64 alike (Linux 5.6)


def reload_to(d, ref):
    """Rewrites ref.txt and waits for the daemon to have applied it."""
    before = d.log().count(": reloaded (")
    d.ref_path.write_text(ref)
    wait_until(lambda: d.log().count(": reloaded (") > before, what="the reload")


def retained_explanation(mqtt, zone):
    """The broker's retained explanation of `zone`, read by a fresh subscriber."""
    c = mqtt(f"{ZONE_STATE}/{zone}")
    m = c.wait_for(f"{ZONE_STATE}/{zone}")
    c.close()
    return json.loads(m.payload)


def test_explanations_go_at_qos_0_orders_at_qos_1(daemon, mqtt, broker):
    d = daemon(ini=INI)
    c = mqtt(ORDER + "/#", ZONE_STATE + "/#")
    c.publish(f"{READ}/a", "100")
    c.wait_for(f"{ORDER}/a", "ON")
    c.wait_for(f"{ZONE_STATE}/a")
    sent = {p.topic: p for p in broker.published_by(d.client_id)}
    assert sent[f"{ORDER}/a"].qos == 1
    assert sent[f"{ZONE_STATE}/a"].qos == 0 and sent[f"{ZONE_STATE}/a"].retain


def test_explanation_decided_without_a_broker_arrives_after_reconnect(daemon, mqtt, broker):
    d = daemon(ini=INI)
    c = mqtt(ORDER + "/#")
    c.publish(f"{READ}/a", "350")  # in the band of 300..400: the first decision, OFF
    c.wait_for(f"{ORDER}/a", "OFF")
    c.close()

    broker.stop()
    reload_to(d, "on_below = 500\noff_above = 600\n")  # 350 < 500: ON, with no broker
    broker.start()  # no persistence: nothing retained survived
    d.wait_log(KEPT_LINE)

    e = retained_explanation(mqtt, "a")
    assert e["state"] == "ON" and e["on_below"] == 500, e


def test_explanation_written_to_a_dying_connection_is_published_again(daemon, mqtt, broker):
    d = daemon(ini=INI)
    c = mqtt(ORDER + "/#")
    c.publish(f"{READ}/a", "350")
    c.wait_for(f"{ORDER}/a", "OFF")
    c.close()

    broker.freeze()  # the daemon writes to the socket; nobody reads
    reload_to(d, "on_below = 500\noff_above = 600\n")
    broker.kill()    # what the frozen broker had not read dies with it
    broker.start()
    d.wait_log(KEPT_LINE)

    e = retained_explanation(mqtt, "a")
    assert e["state"] == "ON" and e["on_below"] == 500, e


def test_only_unproven_explanations_are_published_again(daemon, mqtt, broker):
    d = daemon(ini=INI)
    c = mqtt(ORDER + "/#", ZONE_STATE + "/#", STATUS)
    c.publish(f"{READ}/a", "100")
    c.wait_for(f"{ZONE_STATE}/a")
    # b's order comes after a's explanation: its acknowledgement proves a's explanation.
    # b's own explanation comes after the last QoS 1 message: nothing proves it.
    c.publish(f"{READ}/b", "100")
    c.wait_for(f"{ZONE_STATE}/b")
    wait_until(lambda: any(p.topic == f"{ZONE_STATE}/b" for p in
                           broker.published_by(d.client_id)), what="b's explanation")

    broker.restart()
    d.wait_log(KEPT_LINE)

    def again():
        return [p.topic for p in broker.published_by(d.client_id, since_connect=True)
                if p.topic.startswith(ZONE_STATE + "/")]
    wait_until(again, what="an explanation published again")
    c.publish(f"{READ}/c", "100")  # a later order: the broker has read everything before it
    c.wait_for(f"{ORDER}/c", "ON")
    wait_until(lambda: any(p.topic == f"{ORDER}/c" for p in
                           broker.published_by(d.client_id, since_connect=True)),
               what="c's order in the broker's log")
    assert [t for t in again() if t != f"{ZONE_STATE}/c"] == [f"{ZONE_STATE}/b"], again()
    assert re.findall(KEPT_LINE, d.log(), re.M) == ["1"]
    # Orders are never published again because of a reconnect.
    assert not any(p.topic in (f"{ORDER}/a", f"{ORDER}/b") for p in
                   broker.published_by(d.client_id, since_connect=True))


def test_with_qos_0_nothing_is_kept(daemon, mqtt, broker):
    d = daemon(ini={**INI, "mqtt": {"qos": "0"}})
    c = mqtt(ORDER + "/#")
    c.publish(f"{READ}/a", "350", qos=0)
    c.wait_for(f"{ORDER}/a", "OFF")
    c.close()

    broker.stop()
    reload_to(d, "on_below = 500\noff_above = 600\n")
    broker.start()
    d.wait_ready()
    c = mqtt(STATUS)
    c.wait_for(STATUS, "online")
    # At most once, as asked: the explanation decided without a broker is gone.
    assert not re.search(KEPT_LINE, d.log(), re.M)
    assert not any(p.topic.startswith(ZONE_STATE) for p in
                   broker.published_by(d.client_id, since_connect=True))


def daemon_socket(pid, port):
    """A duplicate of the daemon's TCP socket to the broker on `port` (pidfd_getfd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                continue
            mine = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(fd), 0)
            if mine < 0:
                raise OSError(ctypes.get_errno(), "pidfd_getfd")
            s = socket.socket(fileno=mine)
            if s.family == socket.AF_INET and s.type == socket.SOCK_STREAM:
                try:
                    if s.getpeername()[1] == port:
                        return s
                except OSError:
                    pass
            s.close()
    finally:
        os.close(pidfd)
    raise AssertionError(f"pylightd ({pid}) has no connection to port {port}")


def data_segments_out(s):
    """How many segments with data the kernel sent on `s`, as `ss -i` reports it."""
    here = "%s:%d" % s.getsockname()
    out = subprocess.run(["ss", "-tinH", "src", here], capture_output=True, text=True,
                         check=True).stdout
    return int(re.search(r"\bdata_segs_out:(\d+)", out).group(1))


def test_one_reading_is_answered_in_one_segment(daemon, mqtt, broker):
    """The reading's acknowledgement, the order and the explanation leave together, and
    nothing stays corked after the explanation is out."""
    d = daemon(ini=INI)
    c = mqtt(ORDER + "/#", ZONE_STATE + "/#")
    c.publish(f"{READ}/a", "100")
    c.wait_for(f"{ZONE_STATE}/a")
    s = daemon_socket(d.pid, broker.port)
    try:
        before = data_segments_out(s)
        n = 20
        for i in range(n):
            mark = c.mark()
            c.publish(f"{READ}/a", "500" if i % 2 == 0 else "100")
            c.wait_for(f"{ORDER}/a", "OFF" if i % 2 == 0 else "ON", after=mark)
            c.wait_for(f"{ZONE_STATE}/a", after=mark)
            # Seen by a subscriber, so written and uncorked (TCP_CORK would have held it
            # back for 200 ms, and stays set until cleared).
            assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 0, i
        sent = data_segments_out(s) - before
    finally:
        s.close()
    # Three packets a reading, in one segment (a few to spare for anything else).
    assert sent <= n + 3, f"{sent} segments for {n} readings"
