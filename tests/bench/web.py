"""web.py -- pylight-web's figures for `make bench`: RSS at rest with 100 zones, and
GET /api/zones latency with 1,000 zones, each zone an explanation retained on the broker;
then its history: CPU and RSS with it on and off at 1,000 zones with a reading per zone every
10 s, the database's size per zone and day, and the p99 of a 24-hour history request; then a
city: filtered pages and RSS at 100,000 zones (BENCH_WEB_ZONES).

Called by bench.py after its own table; standard library only (the retained messages are
written as raw MQTT 3.1.1 packets, by tests/rawmqtt.py).
"""

import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: rawmqtt.py
import rawmqtt  # noqa: E402 (after the path it is found on)

RSS_TARGET_KIB = 8 * 1024
P99_TARGET_MS = 5.0
REQUESTS = 1000


def retain(port, first, last, varied=False):
    """Retains the explanation of zones z<first>..z<last - 1>, as pylightd would; `varied`:
    a third of them OFF and one in ten overridden, as a city's would be."""
    def why(z):
        return {"zone": f"z{z}", "state": "OFF" if varied and z % 3 == 0 else "ON",
                "mode": "override" if varied and z % 10 == 0 else "auto", "lux": 120,
                "smoothed": 118, "on_below": 300, "off_above": 400,
                "reason": "118 < on_below 300", "since": 1795312345, "switches": 3}
    rawmqtt.retain_many(port, ((f"pylight/zone/z{z}", json.dumps(why(z)))
                               for z in range(first, last)), "bench-web", batch=1000)


def _zones(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/api/zones")
        return len(json.loads(c.getresponse().read()))
    except (OSError, ValueError):
        return -1
    finally:
        c.close()


def _wait(cond, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def measure(binary, broker_port, workdir, free_port, pin=()):
    """Returns {"rss_kib", "p50_ms", "p99_ms"} for pylight-web at `binary`."""
    port = free_port()
    (workdir / "ref.txt").write_text("on_below = 300\noff_above = 400\n")
    (workdir / "pylight.ini").write_text(
        f"[mqtt]\nhost = 127.0.0.1\nport = {broker_port}\nclient_id = bench\n"
        f"[web]\nlisten = 127.0.0.1:{port}\nhistory =\n[log]\nlevel = warning\n")
    retain(broker_port, 0, 100)
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM")}
    with open(workdir / "pylight-web.log", "wb") as log:
        proc = subprocess.Popen([*pin, str(binary), "-c", str(workdir / "pylight.ini")],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    try:
        _wait(lambda: _zones(port) == 100, "100 zones")
        time.sleep(1)
        rss = _rss_kib(proc.pid)
        retain(broker_port, 100, 1000)
        _wait(lambda: _zones(port) == 1000, "1,000 zones")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        times = []
        for _ in range(REQUESTS):
            t0 = time.perf_counter()
            c.request("GET", "/api/zones")
            body = c.getresponse().read()
            times.append((time.perf_counter() - t0) * 1000)
        c.close()
        assert body.startswith(b"[")
        times.sort()
        return {"rss_kib": rss, "p50_ms": statistics.median(times),
                "p99_ms": times[int(len(times) * 0.99) - 1]}
    finally:
        proc.terminate()
        proc.wait(10)


def rows(fig):
    """The table rows: (metric, value, target, verdict)."""
    return [
        ("pylight-web VmRSS at rest, 100 zones (KiB)", f"{fig['rss_kib']:,}",
         f"<= {RSS_TARGET_KIB:,} KiB", "PASS" if fig["rss_kib"] <= RSS_TARGET_KIB else "FAIL"),
        ("GET /api/zones p50, 1,000 zones (ms)", f"{fig['p50_ms']:.2f}", "info", "info"),
        ("GET /api/zones p99, 1,000 zones (ms)", f"{fig['p99_ms']:.2f}",
         f"<= {P99_TARGET_MS:.0f} ms", "PASS" if fig["p99_ms"] <= P99_TARGET_MS else "FAIL"),
    ]


# --- the history ---------------------------------------------------------------------------

HISTORY_ZONES = 1000
HISTORY_EVERY_S = 10
HISTORY_SECONDS = int(os.environ.get("BENCH_HISTORY_SECONDS", "60"))
HISTORY_REQUESTS = 200


def _cpu_s(pid):
    """User + system CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(binary, broker_port, workdir, port, history, pin):
    (workdir / "ref.txt").write_text("on_below = 300\noff_above = 400\n")
    (workdir / "pylight.ini").write_text(
        f"[mqtt]\nhost = 127.0.0.1\nport = {broker_port}\nclient_id = bench-h\n"
        f"[web]\nlisten = 127.0.0.1:{port}\nhistory = {history}\n[log]\nlevel = warning\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM")}
    with open(workdir / "pylight-web-history.log", "ab") as log:
        proc = subprocess.Popen([*pin, str(binary), "-c", str(workdir / "pylight.ini")],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    _wait(lambda: _zones(port) >= 0, "pylight-web to answer")
    return proc


def _feed(broker_port, seconds):
    """A reading for each of HISTORY_ZONES zones every HISTORY_EVERY_S s, evenly spread, for
    `seconds` (QoS 0, as sensors publish)."""
    rate = HISTORY_ZONES / HISTORY_EVERY_S
    with rawmqtt.session(broker_port, "bench-feed") as s:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < seconds:
            due = int((time.monotonic() - t0) * rate)
            while n < due:
                z = n % HISTORY_ZONES
                s.sendall(rawmqtt.publish(f"value/light/z{z}",
                                          str(100 + (n * 7) % 900).encode()))
                n += 1
            time.sleep(0.01)
    return n


def _prefill(db, zones, minutes, end):
    """Rows of `minutes` minutes for `zones` zones up to `end`, written minute by minute as
    pylight-web writes them, in the schema it created."""
    con = sqlite3.connect(db, timeout=10)
    con.executemany("INSERT OR IGNORE INTO zones(name) VALUES(?)",
                    [(f"z{z}",) for z in range(zones)])
    ids = dict(con.execute("SELECT name, id FROM zones"))
    t0 = end // 60 * 60 - minutes * 60
    for m in range(minutes):
        con.executemany(
            "INSERT OR REPLACE INTO minutes(zone, t, n, min, mean, max, light, level)"
            " VALUES(?, ?, 6, ?, ?, ?, ?, NULL)",
            [(ids[f"z{z}"], t0 + 60 * m, 1000 + z + m % 97, 1200 + z + m % 89,
              1400 + z + m % 83, (m // 60) % 2) for z in range(zones)])
        if m % 60 == 59:
            con.commit()
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def measure_history(binary, broker_port, workdir, free_port, pin=()):
    """{"off": {cpu_pct, rss_kib}, "on": {...}, "bytes_zone_day", "p50_ms", "p99_ms"}."""
    fig = {}
    db = workdir / "history.db"
    for mode, history in (("off", ""), ("on", str(db))):
        port = free_port()
        proc = _start(binary, broker_port, workdir, port, history, pin)
        try:
            cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
            sent = _feed(broker_port, HISTORY_SECONDS)
            cpu = (_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
            fig[mode] = {"cpu_pct": cpu, "rss_kib": _rss_kib(proc.pid), "readings": sent}
        finally:
            proc.terminate()
            proc.wait(10)
    # A day of 1,000 zones, as minutes written one after the other, then 24 h requests.
    _prefill(db, HISTORY_ZONES, 1440, int(time.time()))
    rows_day = HISTORY_ZONES * 1440
    fig["bytes_zone_day"] = db.stat().st_size / HISTORY_ZONES
    fig["bytes_row"] = db.stat().st_size / rows_day
    fig["mib_1000_14"] = fig["bytes_zone_day"] * HISTORY_ZONES * 14 / 2**20
    port = free_port()
    proc = _start(binary, broker_port, workdir, port, str(db), pin)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times = []
        for i in range(HISTORY_REQUESTS):
            t0 = time.perf_counter()
            c.request("GET", f"/api/zones/history?zone=z{i % HISTORY_ZONES}&hours=24")
            body = c.getresponse().read()
            times.append((time.perf_counter() - t0) * 1000)
        c.close()
        assert len(json.loads(body)["minutes"]) >= 1439, body[:200]
        times.sort()
        fig["p50_ms"] = statistics.median(times)
        fig["p99_ms"] = times[int(len(times) * 0.99) - 1]
    finally:
        proc.terminate()
        proc.wait(10)
    return fig


def history_rows(fig):
    """The table rows of measure_history: (metric, value, target, verdict)."""
    return [
        ("pylight-web CPU, 1,000 zones, reading/10 s, history off (%)",
         f"{fig['off']['cpu_pct']:.2f}", "info", "info"),
        ("pylight-web CPU, same, history on (%)", f"{fig['on']['cpu_pct']:.2f}", "info", "info"),
        ("pylight-web VmRSS, same, history off (KiB)", f"{fig['off']['rss_kib']:,}", "info",
         "info"),
        ("pylight-web VmRSS, same, history on (KiB)", f"{fig['on']['rss_kib']:,}", "info", "info"),
        ("history.db per zone and day (KiB)", f"{fig['bytes_zone_day'] / 1024:.1f}", "info",
         "info"),
        ("history.db, 1,000 zones x 14 days (MiB)", f"{fig['mib_1000_14']:.0f}", "info", "info"),
        ("GET /api/zones/history 24 h p50 (ms)", f"{fig['p50_ms']:.2f}", "info", "info"),
        ("GET /api/zones/history 24 h p99 (ms)", f"{fig['p99_ms']:.2f}", "info", "info"),
    ]


# --- a city: 100,000 zones -----------------------------------------------------------------

SCALE_ZONES = int(os.environ.get("BENCH_WEB_ZONES", "100000"))
SCALE_REQUESTS = 1000
SCALE_RSS_TARGET_KIB = 64 * 1024
# A subscriber gets every retained explanation at once: mosquitto's default queue (1,000
# messages) would drop all but the first ones (see docs/web.md).
BROKER_CONF = (f"max_queued_messages {2 * SCALE_ZONES}",)
# What an operator asks: a few characters of a name, a state, a mode, both, a later page.
SCALE_FILTERS = ("q=z4242", "q=z9&state=ON", "state=OFF&offset=200", "mode=override",
                 "q=z1&mode=auto&state=OFF", "q=z&offset=50000")


def _total(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/api/zones?page=1&limit=0")
        return json.loads(c.getresponse().read())["total"]
    except (OSError, ValueError, KeyError):
        return -1
    finally:
        c.close()


def measure_scale(binary, broker_port, workdir, free_port, pin=()):
    """{"zones", "rss_kib", "p50_ms", "p99_ms", "delta_p99_ms"}: pylight-web holding
    SCALE_ZONES retained explanations, answering filtered pages of 200 and deltas."""
    port = free_port()
    (workdir / "ref.txt").write_text("on_below = 300\noff_above = 400\n")
    (workdir / "pylight.ini").write_text(
        f"[mqtt]\nhost = 127.0.0.1\nport = {broker_port}\nclient_id = bench-city\n"
        f"[web]\nlisten = 127.0.0.1:{port}\nhistory =\n[log]\nlevel = warning\n")
    retain(broker_port, 0, SCALE_ZONES, varied=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM")}
    with open(workdir / "pylight-web-city.log", "wb") as log:
        proc = subprocess.Popen([*pin, str(binary), "-c", str(workdir / "pylight.ini")],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    try:
        _wait(lambda: _total(port) == SCALE_ZONES, f"{SCALE_ZONES:,} zones", timeout=120)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times, deltas = [], []
        for i in range(SCALE_REQUESTS):
            t0 = time.perf_counter()
            c.request("GET", f"/api/zones?page=1&{SCALE_FILTERS[i % len(SCALE_FILTERS)]}")
            body = json.loads(c.getresponse().read())
            times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            c.request("GET", f"/api/zones?since={body['token']}&state=ON")
            delta = json.loads(c.getresponse().read())
            deltas.append((time.perf_counter() - t0) * 1000)
        c.close()
        assert "removed" in delta and body["total"] > 0, body
        rss = _rss_kib(proc.pid)
        times.sort()
        deltas.sort()
        return {"zones": SCALE_ZONES, "rss_kib": rss, "p50_ms": statistics.median(times),
                "p99_ms": times[int(len(times) * 0.99) - 1],
                "delta_p99_ms": deltas[int(len(deltas) * 0.99) - 1]}
    finally:
        proc.terminate()
        proc.wait(10)


def scale_rows(fig):
    """The table rows of measure_scale: (metric, value, target, verdict)."""
    n = f"{fig['zones']:,} zones"
    return [
        (f"GET /api/zones filtered page p50, {n} (ms)", f"{fig['p50_ms']:.2f}", "info", "info"),
        (f"GET /api/zones filtered page p99, {n} (ms)", f"{fig['p99_ms']:.2f}",
         f"<= {P99_TARGET_MS:.0f} ms", "PASS" if fig["p99_ms"] <= P99_TARGET_MS else "FAIL"),
        (f"GET /api/zones?since= delta p99, {n} (ms)", f"{fig['delta_p99_ms']:.2f}", "info",
         "info"),
        (f"pylight-web VmRSS, {n} (KiB)", f"{fig['rss_kib']:,}",
         f"<= {SCALE_RSS_TARGET_KIB:,} KiB",
         "PASS" if fig["rss_kib"] <= SCALE_RSS_TARGET_KIB else "FAIL"),
    ]
