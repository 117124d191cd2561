"""test_history.py -- pylight-web's lux history in SQLite and /api/zones/history.

Rows recorded minute by minute and kept over a restart, pruning, and the faults that must
never stop the page: a read-only folder, a full disk, a locked file and a corrupt file.

pylight-web stamps each reading with its own clock, so these tests run it under libfaketime:
sped up (a minute in a second or so) to fill minutes, or moved days ahead to prune them.
The database is read back with Python's sqlite3, the way an operator's tool would.
"""

import json
import os
import re
import signal
import sqlite3
import subprocess
from urllib.parse import quote

import pytest

from conftest import ORDER, READ, ZONE_STATE, wait_until
from test_web import request

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def faked(spec):
    """A command prefix that runs pylight-web itself (not a child, as faketime(1) would:
    signals must reach it) under libfaketime with FAKETIME=spec."""
    asan = ":".join(filter(None, (os.environ.get("ASAN_OPTIONS"),
                                  "verify_asan_link_order=0")))  # the ASan build: faketime first
    return ("env", f"LD_PRELOAD={LIBFAKETIME}", f"FAKETIME={spec}", f"ASAN_OPTIONS={asan}")


FAST = faked("+0 x60")  # one minute of pylight-web's clock per real second


def history(w, zone, hours=1):
    status, _, data = request(w, "GET", f"/api/zones/history?zone={quote(zone)}&hours={hours}")
    assert status == 200, (data, w.log())
    return data


def db_rows(path, sql, args=()):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def stored_minutes(path, zone):
    try:
        return db_rows(path, "SELECT t, n, min, mean, max, light FROM minutes WHERE zone ="
                             " (SELECT id FROM zones WHERE name = ?) ORDER BY t", (zone,))
    except sqlite3.OperationalError:  # not created yet
        return []


def feed_two_minutes(w, c, zone, first, second):
    """Readings `first` in one minute (or two, should a minute end among them) and `second`
    in a later one of pylight-web's clock: the second batch goes out once the minute of the
    last of the first is written, so over."""
    for v in first:
        c.publish(f"{READ}/{zone}", str(v))
    minute = wait_until(lambda: (h := history(w, zone)["minutes"]) and h[-1]["t"],
                        what="the first minute")
    wait_until(lambda: any(r[0] == minute for r in stored_minutes(w.history_path, zone)),
               what="the first minute written")
    for v in second:
        c.publish(f"{READ}/{zone}", str(v))
    wait_until(lambda: history(w, zone)["minutes"][-1]["t"] > minute, what="a later minute")
    return minute


def check_rows(rows, readings):
    """Rows are whole: every reading counted once, each minute's band around its mean."""
    assert sum(r["n"] for r in rows) == len(readings), rows
    assert min(r["min"] for r in rows) == min(readings)
    assert max(r["max"] for r in rows) == max(readings)
    for r in rows:
        assert r["min"] <= r["mean"] <= r["max"], r
        assert r["t"] % 60 == 0
    total = sum(r["mean"] * r["n"] for r in rows)
    assert abs(total - sum(readings)) < 0.1 * len(rows)


@pytest.fixture
def fast_web(web):
    def make(d, ini=None, prefix=FAST):
        w = web(d, ini=ini, start=False)
        w.history_path = w.daemon.dir / "history.db"
        w.start(cmd_prefix=prefix)
        return w
    return make


def test_minutes_are_recorded_and_survive_a_restart(daemon, fast_web, mqtt):
    d = daemon()
    w = fast_web(d)
    c = mqtt(ORDER + "/#")
    first, second = [10, 20, 60], [500, 700]
    feed_two_minutes(w, c, "hall", first, second)
    rows = wait_until(lambda: (r := history(w, "hall")["minutes"]) and
                      sum(x["n"] for x in r) == 5 and r, what="five readings in the rows")
    check_rows(rows, first + second)
    # The ON of the first reading, the OFF of the last ones: orders and the light per minute.
    c.wait_for(ORDER + "/hall", "OFF")
    h = wait_until(lambda: (x := history(w, "hall")) and len(x["orders"]) == 2 and x,
                   what="both orders")
    assert [o["order"] for o in h["orders"]] == ["ON", "OFF"]
    assert h["orders"][0]["t"] <= h["orders"][1]["t"]
    # SIGTERM writes the minute in progress; a restart reads everything back.
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(10) == 0
    stored = stored_minutes(w.history_path, "hall")
    assert sum(r[1] for r in stored) == 5, stored
    assert db_rows(w.history_path, "PRAGMA journal_mode") == [("wal",)]
    w.start(cmd_prefix=FAST)
    again = history(w, "hall")
    check_rows(again["minutes"], first + second)
    assert [o["order"] for o in again["orders"]] == ["ON", "OFF"]


def test_hours_are_checked(daemon, web):
    d = daemon()
    w = web(d, ini={"web": {"history_days": "2"}})
    assert history(w, "x", hours=48)["minutes"] == []
    for q in ("zone=x&hours=49", "zone=x&hours=0", "zone=x&hours=1.5", "hours=2"):
        status, _, data = request(w, "GET", "/api/zones/history?" + q)
        assert status == 422, (q, data)
        assert data["ok"] is False and data["errors"][0]["line"] == 0
    status, _, _ = request(w, "POST", "/api/zones/history?zone=x", body={})
    assert status == 405


def test_history_off(daemon, web):
    d = daemon()
    w = web(d, ini={"web": {"history": ""}})
    status, _, data = request(w, "GET", "/api/zones/history?zone=x&hours=1")
    assert status == 404 and data["ok"] is False
    assert not (d.dir / "history.db").exists()


def mapped(proc):
    """The file names of the libraries mapped in a process."""
    with open(f"/proc/{proc.pid}/maps") as f:
        return {os.path.basename(line.split()[5]) for line in f if len(line.split()) > 5}


def test_sqlite_is_mapped_only_with_the_history_on(daemon, web):
    d = daemon()
    off = web(d, ini={"web": {"history": ""}})
    libs = mapped(off.proc)
    assert not any(lib.startswith("libsqlite3.") for lib in libs), libs
    # libm came with libsqlite3 (the sanitizers' runtime links it in their build)
    if not any(lib.startswith("libasan.") for lib in libs):
        assert not any(lib.startswith("libm.") for lib in libs), libs
    off.proc.terminate()  # one client id: one at a time
    assert off.proc.wait(10) == 0
    on = web(d)
    assert history(on, "x")["minutes"] == []
    assert any(lib.startswith("libsqlite3.") for lib in mapped(on.proc))


def test_a_broken_libsqlite3_stops_the_start(daemon, web, tmp_path):
    """SQLite is opened at start when the history is on: a library without its functions is
    named in the log, and pylight-web exits 1 as for any other start failure."""
    subprocess.run(["cc", "-shared", "-o", str(tmp_path / "libsqlite3.so.0"), "-x", "c",
                    "/dev/null"], check=True)
    w = web(daemon(), start=False)
    w.start(wait=False, cmd_prefix=("env", f"LD_LIBRARY_PATH={tmp_path}"))
    assert w.proc.wait(10) == 1, w.log()
    assert re.search(r"history: .*libsqlite3\.so\.0: undefined symbol: sqlite3_", w.log()), \
        w.log()


def test_rows_older_than_history_days_are_pruned(daemon, fast_web, mqtt):
    d = daemon()
    w = fast_web(d, ini={"web": {"history_days": "1"}})
    c = mqtt()
    feed_two_minutes(w, c, "old", [1, 2], [3])
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(10) == 0
    assert stored_minutes(w.history_path, "old")
    # Two days later (same speed), the hourly prune runs at the start and removes them all.
    w.start(cmd_prefix=faked("+2d"))
    wait_until(lambda: not stored_minutes(w.history_path, "old"), what="the rows pruned")
    assert db_rows(w.history_path, "SELECT COUNT(*) FROM orders") == [(0,)]


def test_corrupt_database_is_set_aside_and_a_new_one_started(daemon, fast_web, mqtt):
    d = daemon()
    bad = b"this is no SQLite database\n" * 100
    (d.dir / "history.db").write_bytes(bad)
    w = fast_web(d)
    c = mqtt()
    c.publish(READ + "/hall", "42")
    log = wait_until(lambda: re.search(r"history: .*history\.db is not a valid database; kept "
                                       r"as (\S+), starting a new one", w.log()),
                     what=lambda: f"the corrupt file set aside; log:\n{w.log()}")
    aside = [p for p in d.dir.iterdir() if p.name.startswith("history.db.corrupt-")]
    assert [p.read_bytes() for p in aside] == [bad], log.group(1)
    wait_until(lambda: stored_minutes(w.history_path, "hall"), what="rows in the new file")


def test_read_only_state_directory_is_logged_once_and_retried(daemon, fast_web, mqtt, tmp_path):
    """Root writes through file modes, so the folder is made read-only by a read-only bind
    mount in a mount namespace of pylight-web's own (and made writable again the same way)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a read-only bind mount")
    d = daemon()
    state = tmp_path / "state"
    state.mkdir()
    db = state / "history.db"
    w = fast_web(d, ini={"web": {"history": str(db)}},
                 prefix=("unshare", "--mount", "--propagation", "private", "sh", "-c",
                         f"mount --bind {state} {state} && mount -o remount,bind,ro {state}"
                         f" {state} && exec \"$0\" \"$@\"", *FAST))
    w.history_path = db
    c = mqtt(ORDER + "/#")
    c.publish(READ + "/hall", "10")
    c.wait_for(ORDER + "/hall", "ON")
    failing = re.compile(r"history: cannot (open|write) .*history\.db")
    wait_until(lambda: failing.search(w.log()), what=lambda: f"the failure logged:\n{w.log()}")
    # The page and the overrides work on.
    status, _, zones = request(w, "GET", "/api/zones")
    assert status == 200 and any(z["zone"] == "hall" for z in zones)
    status, _, _ = request(w, "POST", "/api/zones/override", body={"zone": "hall", "mode": "OFF"})
    assert status == 202
    c.wait_for(ORDER + "/hall", "OFF")
    # Retried every 10 s of its clock (a sixth of a second here) but said once.
    c.publish(READ + "/hall", "20")
    wait_until(lambda: history(w, "hall", 1)["minutes"] and
               sum(m["n"] for m in history(w, "hall")["minutes"]) == 2, what="two readings")
    assert len(failing.findall(w.log())) == 1, w.log()
    # Writable again: the rows kept in memory are written.
    subprocess.run(["nsenter", "-t", str(w.proc.pid), "-m", "mount", "-o", "remount,bind,rw",
                    str(state), str(state)], check=True)
    wait_until(lambda: sum(r[1] for r in stored_minutes(db, "hall")) == 2,
               what=lambda: f"the rows written once writable; log:\n{w.log()}")
    assert "history: writing to" in w.log()


def test_locked_database_is_logged_once_and_written_once_free(daemon, fast_web, mqtt):
    d = daemon()
    w = fast_web(d)
    c = mqtt()
    c.publish(READ + "/hall", "5")
    wait_until(lambda: stored_minutes(w.history_path, "hall") or None,
               what="the first row written")
    # Another program holds the write lock: rows wait in memory, said once.
    other = sqlite3.connect(w.history_path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for v in (6, 7):
            c.publish(READ + "/hall", str(v))
        failing = re.compile(r"history: cannot write .*history\.db: database is locked")
        wait_until(lambda: failing.search(w.log()), what=lambda: f"the lock logged:\n{w.log()}")
        wait_until(lambda: sum(m["n"] for m in history(w, "hall")["minutes"]) == 3,
                   what="three readings answered from memory")
        # retried every 10 s of its clock (a sixth of a second here), logged once
        assert len(failing.findall(w.log())) == 1, w.log()
    finally:
        other.execute("ROLLBACK")
        other.close()
    wait_until(lambda: sum(r[1] for r in stored_minutes(w.history_path, "hall")) == 3,
               what=lambda: f"the rows written once the lock is gone; log:\n{w.log()}")
    assert "history: writing to" in w.log()


def test_full_disk_is_logged_once_and_retried(daemon, fast_web, mqtt, tmp_path):
    """A 96 KiB tmpfs of pylight-web's own mount namespace fills with the WAL; made larger,
    the rows kept in memory are written."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a tmpfs")
    d = daemon()
    state = tmp_path / "state"
    state.mkdir()
    db = state / "history.db"
    w = fast_web(d, ini={"web": {"history": str(db)}},
                 prefix=("unshare", "--mount", "--propagation", "private", "sh", "-c",
                         f"mount -t tmpfs -o size=96k tmpfs {state} && exec \"$0\" \"$@\"",
                         *FAST))
    w.history_path = db
    c = mqtt()
    # the WAL, its index or the file itself: whichever meets the full disk first says so
    full = re.compile(r"history: cannot (write|open) .*history\.db: ")
    n = 0

    def fills():
        nonlocal n
        for z in range(20):
            c.publish(f"{READ}/z{n % 500}", "10", qos=0)
            n += 1
        return full.search(w.log())
    wait_until(fills, timeout=60, what=lambda: f"a full disk logged:\n{w.log()}")
    status, _, _ = request(w, "GET", "/api/zones")
    assert status == 200
    assert len(full.findall(w.log())) == 1, w.log()
    subprocess.run(["nsenter", "-t", str(w.proc.pid), "-m", "mount", "-o", "remount,size=16m",
                    str(state)], check=True)
    wait_until(lambda: "history: writing to" in w.log(),
               what=lambda: f"writing again once there is room; log:\n{w.log()}")

    def zones_stored():  # the tmpfs exists only in pylight-web's namespace
        res = subprocess.run(["nsenter", "-t", str(w.proc.pid), "-m", "/usr/bin/python3", "-c",
                              "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
                              ".execute('SELECT COUNT(*) FROM zones').fetchone()[0])", str(db)],
                             capture_output=True, text=True)
        return res.stdout.strip() == str(min(n, 500))
    wait_until(zones_stored, what="every zone's rows, kept in memory, written")
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(10) == 0
