"""test_floods.py -- floods and garbage: bounded zones, huge payloads, a quiet log"""

import re
import signal
import time

from conftest import (ORDER, READ, WARNING_LINE, Barrier, faketime_env, measurable_env,
                      sanitized, vm_rss_kib, wait_until)

DUMP_LINE = r"^info: zone '(.*)': (ON|OFF) \w+ lux \S+ smoothed .* switches \d+$"


def bulk_publish(client, items, qos):
    """Publishes (topic, payload) pairs as fast as paho goes; returns once all are written
    (QoS 0) or acknowledged (QoS 1)."""
    client.wait_ready()
    client.c.max_inflight_messages_set(1000)
    infos = [client.c.publish(topic, payload, qos=qos) for topic, payload in items]
    for info in infos:
        info.wait_for_publish(60)
        assert info.is_published()


def dumped_zones(d, since):
    """Zone names of the SIGUSR1 dump lines in the log after offset `since`."""
    return re.findall(DUMP_LINE, d.log()[since:], re.M)


def test_flood_of_distinct_zones_stays_within_max_zones(daemon, mqtt, notify):
    n, max_zones = 100_000, 1000
    d = daemon(start=False, ini={"readings": {"max_zones": str(max_zones)}})
    d.start(env={"NOTIFY_SOCKET": notify.path, **measurable_env()})
    c = mqtt(ORDER + "/keep")
    c.publish(READ + "/keep", "100")
    c.wait_for(ORDER + "/keep", "ON")
    rss_before = vm_rss_kib(d.pid)

    started = time.monotonic()
    bulk_publish(mqtt(), ((f"{READ}/flood/{i}", "100") for i in range(n)), qos=0)
    # The broker hands the daemon its messages in order: this one comes after the flood.
    c.publish(READ + "/keep", "1000")
    c.wait_for(ORDER + "/keep", "OFF", timeout=120)
    elapsed = time.monotonic() - started
    rss_after = vm_rss_kib(d.pid)

    offset = len(d.log())
    d.signal(signal.SIGUSR1)
    notify.wait_status(rf"; {max_zones} zones; ")
    zones = wait_until(lambda: len(dumped_zones(d, offset)) >= max_zones and
                       dumped_zones(d, offset), what="the SIGUSR1 dump")
    assert len(zones) == max_zones and "keep" in [z[0] for z in zones]
    rejected = int(re.search(r"rejected (\d+)", notify.statuses()[-1]).group(1))
    assert rejected > 0
    warnings = re.findall(WARNING_LINE + r".*beyond max_zones", d.log(), re.M)
    assert 1 <= len(warnings) <= 2 + elapsed / 10, warnings  # one per 10 s at most
    print(f"zone flood: {n} topics in {elapsed:.1f} s, {rejected} rejected, "
          f"{len(warnings)} warning(s); VmRSS {rss_before} -> {rss_after} KiB")
    # Unbounded, these 100,000 zones take about 70 MiB (measured); ASan pads every block.
    limit = 16384 if sanitized() else 4096
    assert rss_after - rss_before <= limit, (rss_before, rss_after)
    assert d.alive()


def test_one_mib_payload_rejected_without_being_parsed(daemon, mqtt):
    d = daemon()
    c = mqtt(ORDER + "/#")
    sync = Barrier(c)
    c.publish(READ + "/huge", "1000")
    c.wait_for(ORDER + "/huge", "OFF")
    size = 1 << 20
    c.publish(READ + "/huge", "0" * (size - 1) + "5")  # parsed, it would read 5 lux: ON
    d.wait_log(rf"^warning: zone 'huge': reading of {size} bytes exceeds max_payload 256")
    sync()
    assert c.payloads(ORDER + "/huge") == ["OFF"]
    c.publish(READ + "/huge", "5")
    c.wait_for(ORDER + "/huge", "ON")
    assert d.alive()


BAD = ["dark", "", "nan", "-1", "0x1A", "12abc", '{"lux": "1"}', "true", "inf", "9" * 300]


def test_bad_reading_flood_keeps_the_log_quiet_and_is_counted(daemon, mqtt, notify):
    n = 5000
    d = daemon(env={"NOTIFY_SOCKET": notify.path})
    c = mqtt(ORDER + "/#")
    c.publish(READ + "/noisy", "100")
    c.wait_for(ORDER + "/noisy", "ON")

    started = time.monotonic()
    bulk_publish(mqtt(), ((READ + "/noisy", BAD[i % len(BAD)]) for i in range(n)), qos=1)
    c.publish(READ + "/noisy", "1000")
    c.wait_for(ORDER + "/noisy", "OFF", timeout=60)
    elapsed = time.monotonic() - started

    d.signal(signal.SIGUSR1)  # refreshes STATUS at once
    notify.wait_status(rf"rejected {n},")
    warnings = re.findall(WARNING_LINE + r".*'noisy'", d.log(), re.M)
    print(f"bad-reading flood: {n} in {elapsed:.1f} s, {len(warnings)} warning line(s)")
    assert 1 <= len(warnings) <= 1 + elapsed / 10, warnings
    assert c.payloads(ORDER + "/noisy") == ["ON", "OFF"]
    assert d.alive()


ORDER_LINE = r"^info: zone '(.*)': (ON|OFF) \("
COUNT_LINE = r"^info: (\d+) more orders in the last 10 s not logged: at most 100 lines per 10 s"


def jumpable_clock(path):
    """The daemon's environment for a clock that jumps when `path` is rewritten: libfaketime
    reads its offset there ("+11": eleven seconds ahead) at every call, the monotonic clock
    (the daemon's timers) too."""
    path.write_text("+0\n")
    return faketime_env(FAKETIME_TIMESTAMP_FILE=str(path), FAKETIME_NO_CACHE="1")


def test_a_flood_of_orders_logs_100_lines_then_their_count(daemon, mqtt, tmp_path):
    # A city's dusk: every lamp switches within seconds. The journal gets 100 lines in 10 s
    # and one line counting the others; every order is published all the same.
    clock = tmp_path / "clock"
    d = daemon(env=jumpable_clock(clock))
    c = mqtt(ORDER + "/#")
    zones = [f"dusk/{i}" for i in range(250)]
    bulk_publish(mqtt(), ((f"{READ}/{z}", "100") for z in zones), qos=1)
    wait_until(lambda: all(c.payloads(f"{ORDER}/{z}") == ["ON"] for z in zones),
               what="an order for every zone")
    logged = re.findall(ORDER_LINE, d.log(), re.M)
    assert len(logged) == 100, len(logged)

    # The window of the first line ends (the clock jumps past it). The next order comes
    # before the timer: the count first, then the order's own line, in a new window.
    clock.write_text("+11\n")
    c.publish(f"{READ}/dusk/0", "1000")
    c.wait_for(f"{ORDER}/dusk/0", "OFF")
    d.wait_log(r"^info: zone 'dusk/0': OFF \(")
    log = d.log()
    assert re.findall(COUNT_LINE, log, re.M) == ["150"], log[-2000:]
    assert re.search(COUNT_LINE, log, re.M).start() < log.index("zone 'dusk/0': OFF (")
