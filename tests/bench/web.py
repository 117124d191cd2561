"""web.py -- pylight-web's figures for `make bench`: RSS at rest with 100 zones, and
GET /api/zones latency with 1,000 zones, each zone an explanation retained on the broker.

Called by bench.py after its own table; standard library only (the retained messages are
written as raw MQTT 3.1.1 packets).
"""

import http.client
import json
import os
import socket
import statistics
import subprocess
import time

RSS_TARGET_KIB = 8 * 1024
P99_TARGET_MS = 5.0
REQUESTS = 1000


def _packet(kind, body):
    n, size = len(body), bytearray()
    while True:
        byte, n = n % 128, n // 128
        size.append(byte | (128 if n else 0))
        if not n:
            return bytes([kind]) + bytes(size) + body


def _utf8(s):
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def retain(port, first, last):
    """Retains the explanation of zones z<first>..z<last - 1>, as pylightd would."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(_packet(0x10, _utf8("MQTT") + bytes([4, 2, 0, 60]) +
                          _utf8(f"bench-web-{os.getpid()}")))
        s.recv(4)
        for z in range(first, last):
            why = {"zone": f"z{z}", "state": "ON", "mode": "auto", "lux": 120, "smoothed": 118,
                   "on_below": 300, "off_above": 400, "reason": "118 < on_below 300",
                   "since": 1795312345, "switches": 3}
            s.sendall(_packet(0x31, _utf8(f"pylight/zone/z{z}") + json.dumps(why).encode()))
        s.sendall(_packet(0xE0, b""))


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
        f"[web]\nlisten = 127.0.0.1:{port}\n[log]\nlevel = warning\n")
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
