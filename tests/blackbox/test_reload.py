"""test_reload.py -- live retuning: ref.txt edits act at once, never half-applied

Every test runs the real pylightd against a real mosquitto. A reload is proven by the
orders it causes WITHOUT a new reading: a zone that sits OFF at lux 200 under on_below 100
must be ordered ON as soon as the file says on_below 300.
"""

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import ORDER, READ, TIMEOUT, Barrier, wait_until


LOW = "on_below = 100\noff_above = 150\n"   # a zone at lux 200 is OFF
HIGH = "on_below = 300\noff_above = 400\n"  # ... and ON


def read(zone):
    return f"{READ}/{zone}"


def order(zone):
    return f"{ORDER}/{zone}"


RELOADED = re.compile(r"^notice: (.*): reloaded \((.*)\): (.*)$", re.M)


def reloads(d):
    """(why, summary) of every successful reload in the daemon's log, oldest first."""
    return [(m.group(2), m.group(3)) for m in RELOADED.finditer(d.log())]


def wait_reloads(d, n, timeout=TIMEOUT):
    """Waits until the log shows at least n successful reloads; returns them."""
    return wait_until(lambda: len(reloads(d)) >= n and reloads(d), timeout,
                      f"{n} reload(s) in the log; log so far:\n{d.log()}")


def atomic_write(path, text, tmp_name=None):
    """Write-temp-then-rename, as web apps and vim (backupcopy=no) save."""
    path = Path(path)
    tmp = path.parent / (tmp_name or f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def save(path, text, style):
    """Saves `text` to `path` the way an operator's tool does it."""
    path = Path(path)
    if style == "write":  # Python open(path, 'w'): truncate and write in place
        with open(path, "w") as f:
            f.write(text)
    elif style == "shell":  # printf ... > ref.txt
        subprocess.run(["sh", "-c", 'printf "%s" "$1" > "$2"', "sh", text, str(path)],
                       check=True)
    elif style == "cp":  # cp writes in place over the existing inode
        stage = path.parent / "stage"
        stage.mkdir(exist_ok=True)
        (stage / "new.txt").write_text(text)
        subprocess.run(["cp", str(stage / "new.txt"), str(path)], check=True)
    elif style == "sed":  # sed -i: its own temp file renamed over ref.txt
        # Drop every line but the first, then replace the first with the whole new text.
        esc = [ln.replace("\\", "\\\\").replace("/", "\\/").replace("&", "\\&")
               for ln in text.splitlines()]
        subprocess.run(["sed", "-i", "-e", "1!d", "-e", "s/.*/" + "\\n".join(esc) + "/",
                        str(path)], check=True)
    elif style == "rename":
        atomic_write(path, text)
    elif style == "recreate":  # rm, then a new file
        os.unlink(path)
        with open(path, "w") as f:
            f.write(text)
    else:
        raise ValueError(style)
    assert path.read_text() == text, f"{style} did not save the text"


@pytest.fixture
def setup(daemon, mqtt):
    """setup(ref=..., ini=...) -> (daemon, client watching every order, barrier)."""
    def make(**kw):
        d = daemon(**kw)
        c = mqtt(ORDER + "/#")
        return d, c, Barrier(c)
    return make


# --- every way of saving the file -----------------------------------------------------------

@pytest.mark.parametrize("style", ["write", "shell", "cp", "sed", "rename", "recreate"])
def test_save_style_applies_new_thresholds_without_a_reading(setup, style):
    d, c, sync = setup(ref=LOW)
    c.publish(read("z"), "200")
    c.wait_for(order("z"), "OFF")
    sync()
    save(d.ref_path, HIGH, style)
    # No new reading: the reload itself re-evaluates the zone with its latest lux.
    c.wait_for(order("z"), "ON")
    summary = "on_below 300 off_above 400, 0 zone sections"
    assert wait_reloads(d, 1)[-1] == ("file changed", summary)
    sync()
    assert c.payloads(order("z")) == ["OFF", "ON"]
    assert len(reloads(d)) == 1, f"one save, one reload:\n{d.log()}"


def slow_write(path, chunks, pause=0.3):
    """One writer, one open file: each chunk is flushed to the file, then a pause."""
    with open(path, "w") as f:
        for i, chunk in enumerate(chunks):
            f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
            if i < len(chunks) - 1:
                time.sleep(pause)  # the writer's own pace, not a wait for the daemon


def test_slow_writer_half_number_is_never_applied(setup):
    # Half file "on_below = 5" is valid (off_above = 5) and would turn z OFF; the whole
    # file says on_below = 500, which keeps z ON and turns y ON.
    d, c, sync = setup(ref=HIGH)
    c.publish(read("z"), "200")
    c.publish(read("y"), "450")
    c.wait_for(order("z"), "ON")
    c.wait_for(order("y"), "OFF")
    sync()
    slow_write(d.ref_path, ["on_below = 5", "0", "0\n"])
    c.wait_for(order("y"), "ON")
    wait_reloads(d, 1)
    sync()
    assert c.payloads(order("z")) == ["ON"], "a half-written file was applied"
    assert reloads(d) == [("file changed", "on_below 500 off_above 500, 0 zone sections")]


def test_slow_writer_complete_first_chunk_is_never_applied(setup):
    # The first chunk alone is a complete valid file (z would go ON); the rest of the file
    # gives z its own section that keeps it OFF, while y follows the new global values.
    d, c, sync = setup(ref=LOW)
    c.publish(read("z"), "200")
    c.publish(read("y"), "200")
    c.wait_for(order("z"), "OFF")
    c.wait_for(order("y"), "OFF")
    sync()
    slow_write(d.ref_path, [HIGH, "[zone z]\n", "on_below = 50\noff_above = 60\n"])
    c.wait_for(order("y"), "ON")
    wait_reloads(d, 1)
    sync()
    assert c.payloads(order("z")) == ["OFF"], "a half-written file was applied"
    assert reloads(d) == [("file changed", "on_below 300 off_above 400, 1 zone section")]


def test_slow_writer_right_after_another_save_is_never_half_applied(setup):
    # A quick save arms the debounce; a slow writer starts before it fires. The pending
    # reload must wait for the slow writer's close, not read its half file ("on_below = 5",
    # valid, which would turn z OFF) 100 ms after the first save.
    d, c, sync = setup(ref=HIGH)
    c.publish(read("z"), "200")
    c.publish(read("y"), "450")
    c.wait_for(order("z"), "ON")
    c.wait_for(order("y"), "OFF")
    sync()
    save(d.ref_path, HIGH + "# saved once\n", "write")
    slow_write(d.ref_path, ["on_below = 5", "0", "0\n"])
    c.wait_for(order("y"), "ON")
    wait_until(lambda: reloads(d) and reloads(d)[-1][1].startswith("on_below 500 "),
               what="the final content to be reloaded")
    sync()
    assert c.payloads(order("z")) == ["ON"], f"a half-written file was applied:\n{d.log()}"
    assert all(r[1].startswith(("on_below 300 ", "on_below 500 ")) for r in reloads(d)), d.log()


# --- errors, deletion, SIGHUP, sections -----------------------------------------------------

def test_invalid_file_keeps_old_thresholds_and_fix_applies(setup):
    d, c, sync = setup(ref=HIGH)
    c.publish(read("z"), "200")
    c.wait_for(order("z"), "ON")
    sync()
    # Valid lines that would turn z OFF, mixed with errors: nothing of it may be applied.
    bad = "on_below = 100\noff_above = 150\nbogus = 1\nsmoothing = 99\nmin_on = -1\n"
    save(d.ref_path, bad, "write")
    path = re.escape(str(d.ref_path))
    d.wait_log(rf"^error: {path}:3: unknown key 'bogus'")
    d.wait_log(rf"^error: {path}:4: smoothing '99' is not an integer from 1 to 64")
    d.wait_log(rf"^error: {path}:5: negative duration '-1' for min_on")
    d.wait_log(rf"^error: {path}: 3 error\(s\), keeping the previous thresholds")
    # The next readings are decided by the old table: 250 < 300 and 350 in 300..400 keep ON
    # (the rejected table would have said OFF to both).
    c.publish(read("z"), "250")
    c.publish(read("z"), "350")
    sync()
    assert c.payloads(order("z")) == ["ON"]
    assert reloads(d) == []
    # The fixed file applies at once, with the latest reading (350 > 150).
    save(d.ref_path, "on_below = 100\noff_above = 150\n", "write")
    c.wait_for(order("z"), "OFF")
    assert wait_reloads(d, 1)[-1][1].startswith("on_below 100 off_above 150")


def test_deleted_file_keeps_thresholds_until_it_returns(setup):
    d, c, sync = setup(ref=HIGH)
    c.publish(read("z"), "200")
    c.wait_for(order("z"), "ON")
    os.unlink(d.ref_path)
    d.wait_log(r"^warning: .*ref\.txt: removed, keeping the current thresholds")
    # Readings are still decided by the table in force: 450 > 400 OFF, 250 < 300 ON.
    c.publish(read("z"), "450")
    c.wait_for(order("z"), "OFF")
    c.publish(read("z"), "250")
    c.wait_for(order("z"), "ON", count=2)
    # SIGHUP while the file is missing keeps them too.
    d.signal(signal.SIGHUP)
    d.wait_log(r"^warning: .*ref\.txt: missing, keeping the current thresholds")
    c.publish(read("z"), "350")
    sync()
    assert c.payloads(order("z")) == ["ON", "OFF", "ON"]
    # The file's return applies its values without a reading (250 > 150).
    with open(d.ref_path, "w") as f:
        f.write(LOW)
    c.wait_for(order("z"), "OFF", count=2)
    assert wait_reloads(d, 1)[-1][1].startswith("on_below 100 off_above 150")
    assert d.alive()


def test_sighup_reloads(daemon, mqtt):
    # ref.txt is a symlink to a file in another folder: writing the target makes no event
    # in the watched folder, so only SIGHUP can make the daemon notice.
    d = daemon(ref=None, start=False)
    real = d.dir / "real"
    real.mkdir()
    (real / "ref.txt").write_text(LOW)
    os.symlink(real / "ref.txt", d.ref_path)
    d.start()
    c = mqtt(ORDER + "/#")
    sync = Barrier(c)
    c.publish(read("z"), "200")
    c.wait_for(order("z"), "OFF")
    (real / "ref.txt").write_text(HIGH)
    d.signal(signal.SIGHUP)
    c.wait_for(order("z"), "ON")
    wait_until(lambda: ("SIGHUP", "on_below 300 off_above 400, 0 zone sections") in reloads(d),
               what=f"a SIGHUP reload of the new file; log:\n{d.log()}")
    sync()
    assert c.payloads(order("z")) == ["OFF", "ON"]


def test_zone_removed_from_file_falls_back_to_global_values(setup):
    d, c, sync = setup(ref=HIGH + "[zone z]\non_below = 50\noff_above = 60\n")
    c.publish(read("z"), "200")
    c.publish(read("y"), "200")
    c.wait_for(order("z"), "OFF")  # its section: 200 >= 50
    c.wait_for(order("y"), "ON")   # global: 200 < 300
    save(d.ref_path, HIGH, "rename")
    c.wait_for(order("z"), "ON")   # global now: 200 < 300
    wait_reloads(d, 1)
    sync()
    assert c.payloads(order("y")) == ["ON"]
    # A section added for y takes over y (200 > off_above 60 -> OFF).
    save(d.ref_path, HIGH + "[zone y]\non_below = 50\noff_above = 60\n", "rename")
    c.wait_for(order("y"), "OFF")
    sync()
    assert c.payloads(order("z")) == ["OFF", "ON"]


# --- runtime state survives -----------------------------------------------------------------

def test_reload_keeps_current_order_without_republishing(setup):
    d, c, sync = setup(ref=HIGH)
    c.publish(read("z"), "200")
    c.publish(read("y"), "280")
    c.wait_for(order("z"), "ON")
    c.wait_for(order("y"), "ON")
    save(d.ref_path, "on_below = 250\noff_above = 270\n", "rename")
    c.wait_for(order("y"), "OFF")  # 280 > 270: this reload did re-evaluate
    wait_reloads(d, 1)
    sync()
    # z is still ON (200 < 250): its state was kept, so no second ON.
    assert c.payloads(order("z")) == ["ON"]


def test_reload_keeps_dwell_clock(setup):
    min_on = 5.0
    d, c, sync = setup(ref=HIGH + f"min_on = {min_on:g}\n")
    c.publish(read("z"), "200")
    on = c.wait_for(order("z"), "ON")
    c.publish(read("z"), "500")  # > 400 but deferred by min_on
    sync()
    time.sleep(max(0.0, on.time + 3.0 - time.monotonic()))  # let 3 s of the dwell pass
    save(d.ref_path, f"on_below = 300\noff_above = 450\nmin_on = {min_on:g}\n", "rename")
    wait_reloads(d, 1)
    reloaded_at = time.monotonic()
    off = c.wait_for(order("z"), "OFF", timeout=TIMEOUT + min_on)
    # The dwell runs from the ON order, not from the reload: OFF ~5 s after ON, where a
    # clock restarted by the reload would give >= 8 s.
    assert off.time - on.time >= min_on - 0.2
    assert off.time < reloaded_at + min_on - 1.0, (
        f"OFF {off.time - on.time:.2f} s after ON, reload at {reloaded_at - on.time:.2f} s")


def test_reload_keeps_smoothing_window(setup):
    ref = "on_below = 600\noff_above = 700\nsmoothing = 5\n"
    d, c, sync = setup(ref=ref)
    for _ in range(4):
        c.publish(read("z"), "1000")
    c.publish(read("y"), "650")
    c.wait_for(order("z"), "OFF")
    c.wait_for(order("y"), "OFF")
    save(d.ref_path, ref.replace("600", "660"), "rename")
    c.wait_for(order("y"), "ON")  # the reload took effect (650 < 660)
    # The window still holds 1000 x4: z turns ON only when 100 is the median of five, at the
    # third 100. A reload that dropped any old reading would turn it ON sooner (with only
    # the newest 1000 kept, median(1000, 100) = 550 < 660 at the first).
    for n in range(1, 3):
        c.publish(read("z"), "100")
        sync()
        assert c.payloads(order("z")) == ["OFF"], f"ON after {n} reading(s) of 100"
    c.publish(read("z"), "100")
    c.wait_for(order("z"), "ON")


def test_reload_resizes_smoothing_window_and_reevaluates(setup):
    d, c, sync = setup(ref="on_below = 300\noff_above = 400\nsmoothing = 3\n")
    for v in ("1000", "1000", "100"):
        c.publish(read("z"), v)
    c.wait_for(order("z"), "OFF")
    sync()
    # smoothing 1: the newest reading (100) alone decides, at once.
    save(d.ref_path, "on_below = 300\noff_above = 400\nsmoothing = 1\n", "rename")
    c.wait_for(order("z"), "ON")
    sync()
    assert c.payloads(order("z")) == ["OFF", "ON"]


# --- systemd notifications ------------------------------------------------------------------

def mono_usec():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_notify_sequence_around_reloads(daemon, notify):
    d = daemon(ref=HIGH, start=False)
    d.start(env={"NOTIFY_SOCKET": notify.path})
    ready = notify.wait(lambda m: m.get("READY") == "1", what="initial READY=1")
    start_status = [m for _, m in notify.msgs[:ready] if "STATUS" in m]
    assert start_status and "thresholds: on_below 300 off_above 400" in start_status[-1]["STATUS"]
    assert not any("RELOADING" in m for _, m in notify.msgs[:ready])

    def reload_sequence(after, before_us):
        """RELOADING=1 with MONOTONIC_USEC, then READY=1; returns the STATUS in between."""
        i = notify.wait(lambda m: m.get("RELOADING") == "1", after, "RELOADING=1")
        usec = int(notify.msgs[i][1]["MONOTONIC_USEC"])
        assert before_us <= usec <= mono_usec(), "MONOTONIC_USEC is not the time of the reload"
        j = notify.wait(lambda m: m.get("READY") == "1", i + 1, "READY=1 after RELOADING=1")
        between = [m for _, m in notify.msgs[i + 1:j]]
        assert not any("RELOADING" in m for m in between)
        statuses = [m["STATUS"] for m in between if "STATUS" in m]
        assert statuses, "no STATUS= between RELOADING=1 and READY=1"
        return j + 1, statuses[-1]

    # A good save: STATUS names the thresholds now in force.
    mark = len(notify.msgs)
    t0 = mono_usec()
    save(d.ref_path, LOW, "rename")
    mark, status = reload_sequence(mark, t0)
    assert "thresholds: on_below 100 off_above 150" in status

    # A bad save: STATUS names the error that kept the old ones.
    t0 = mono_usec()
    save(d.ref_path, "on_below = 100\nbogus = 1\n", "write")
    mark, status = reload_sequence(mark, t0)
    assert "failed" in status and f"{d.ref_path}:2: unknown key 'bogus'" in status
    assert "on_below 100 off_above 150" not in status

    # SIGHUP goes the same way.
    save(d.ref_path, HIGH, "rename")
    wait_reloads(d, 2)
    notify.drain()
    mark = len(notify.msgs)
    t0 = mono_usec()
    d.signal(signal.SIGHUP)
    mark, status = reload_sequence(mark, t0)
    assert "thresholds: on_below 300 off_above 400" in status
    assert d.stop() == 0
    notify.wait(lambda m: m.get("STOPPING") == "1", mark, "STOPPING=1")


# --- under load: rapid reloads, many renames, overflow, the folder going away ---------------

# Two tables that disagree: the zone's lux (its name) decides which orders each allows.
TABLE_A = "on_below = 200\noff_above = 300\n"
TABLE_B = "on_below = 400\noff_above = 600\n"


def test_readings_during_50_rapid_reloads_see_one_whole_table(setup, mqtt):
    d, c, sync = setup(ref=TABLE_A)
    # Each zone always gets the same lux, so its latest reading is known at every order:
    #  50: ON under A and B; any OFF means a torn table (e.g. half-read "on_below = 4").
    # 250: first OFF (A) then ON (B); after ON both keep it ON (band of A).
    # 350: OFF under A, ON under B: flips with every reload.
    # 450: OFF under A, band of B: only ever OFF.  700: OFF under both.
    lux = [50, 250, 350, 450, 700]
    feeder = mqtt()
    stop = threading.Event()

    def feed():
        while not stop.is_set():
            for v in lux:
                feeder.publish(read(f"r/{v}"), str(v))
            time.sleep(0.005)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        for v in lux:
            c.wait_for(order(f"r/{v}"))
        for i in range(50):
            save(d.ref_path, TABLE_B if i % 2 == 0 else TABLE_A, "write")
            wait_reloads(d, i + 1)  # one reload per save: no two saves merge in the debounce
    finally:
        stop.set()
        t.join(TIMEOUT)
    sync()
    got = {v: c.payloads(order(f"r/{v}")) for v in lux}
    assert got[50] == ["ON"]
    assert got[250] in (["OFF", "ON"], ["ON"])
    assert got[450] == ["OFF"]
    assert got[700] == ["OFF"]
    # 350: OFF under A at first, then one flip per reload: exactly 51 orders, alternating.
    assert got[350] == ["OFF", "ON"] * 25 + ["OFF"], got[350]
    assert len(reloads(d)) == 50
    assert not re.search(r"^error:", d.log(), re.M), d.log()


def test_watch_survives_100_rename_saves(setup):
    d, c, sync = setup(ref=TABLE_A)
    c.publish(read("z"), "350")  # A: OFF, B: ON, C: OFF
    c.publish(read("y"), "150")  # A, B: ON; C: OFF
    c.wait_for(order("z"), "OFF")
    c.wait_for(order("y"), "ON")
    for i in range(99):
        atomic_write(d.ref_path, TABLE_B if i % 2 == 0 else TABLE_A, tmp_name=f"ref.{i}.tmp")
    atomic_write(d.ref_path, "on_below = 100\noff_above = 120\n", tmp_name="ref.last.tmp")
    c.wait_for(order("y"), "OFF")  # only the 100th save (C) turns y OFF
    wait_until(lambda: reloads(d) and reloads(d)[-1][1].startswith("on_below 100 off_above 120"),
               what="the last save to be the last reload")
    # Still watching: one more in-place save acts too.
    save(d.ref_path, "on_below = 500\noff_above = 600\n", "write")
    c.wait_for(order("y"), "ON", count=2)
    c.wait_for(order("z"), "ON")
    sync()


def test_event_queue_overflow_means_full_reload(setup):
    d, c, sync = setup(ref=LOW)
    c.publish(read("z"), "200")
    c.wait_for(order("z"), "OFF")
    sync()
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    noise = [d.dir / "noise.a", d.dir / "noise.b"]  # alternating: equal events are merged
    d.signal(signal.SIGSTOP)
    try:
        for i in range(limit + 100):
            with open(noise[i % 2], "w"):
                pass
        # Queued after the overflow: the kernel drops this event, only IN_Q_OVERFLOW tells.
        save(d.ref_path, HIGH, "write")
    finally:
        d.signal(signal.SIGCONT)
    c.wait_for(order("z"), "ON")
    assert wait_reloads(d, 1)[-1][1].startswith("on_below 300 off_above 400")


@pytest.mark.parametrize("how", ["rmtree", "rename"])
def test_folder_removed_and_recreated(daemon, mqtt, how):
    d = daemon(ref=None, ini={"thresholds": {"file": "conf/ref.txt"}}, start=False)
    conf = d.dir / "conf"
    conf.mkdir()
    ref = conf / "ref.txt"
    ref.write_text(HIGH)
    d.start()
    c = mqtt(ORDER + "/#")
    sync = Barrier(c)
    c.publish(read("z"), "200")
    c.wait_for(order("z"), "ON")
    if how == "rmtree":
        shutil.rmtree(conf)
    else:
        conf.rename(d.dir / "conf.old")
    d.wait_log(r"^error: .*conf/ref\.txt: its folder went away, watching again once it returns")
    # Readings are still decided by the thresholds in force.
    c.publish(read("z"), "450")
    c.wait_for(order("z"), "OFF")
    # The folder comes back empty; the daemon watches it again, then sees the file arrive.
    conf.mkdir()
    d.wait_log(r"^notice: .*conf/ref\.txt: folder is back, watching it again", timeout=TIMEOUT + 5)
    ref.write_text("on_below = 500\noff_above = 600\n")  # 450 < 500: ON
    c.wait_for(order("z"), "ON", count=2)
    # Gone again, and back with the file already in it: picked up on return.
    shutil.rmtree(conf)
    wait_until(lambda: d.log().count("its folder went away") >= 2, what="second folder loss")
    tmp = d.dir / "conf.new"
    tmp.mkdir()
    (tmp / "ref.txt").write_text(LOW)  # 450 > 150: OFF
    tmp.rename(conf)
    c.wait_for(order("z"), "OFF", count=2, timeout=TIMEOUT + 5)
    wait_until(lambda: d.log().count("folder is back") >= 2, what="second return")
    sync()
    assert c.payloads(order("z")) == ["ON", "OFF", "ON", "OFF"]
    assert d.alive()
