"""test_demo.py -- `make demo` runs unattended for a few seconds, shows one instance of its
cluster of two taking over the other's zones and giving them back, and leaves nothing behind"""

import os
import re
import signal
import subprocess

import pytest

from conftest import PYLIGHTD, ROOT, require_binary, sanitizer_report, wait_until

DEMO = ROOT / "tests/demo/demo.sh"


def processes_mentioning(text):
    """PIDs of live processes whose command line contains text."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append((int(entry), cmdline))
    return pids


def test_demo_shows_readings_orders_and_a_takeover_then_cleans_up(tmp_path):
    require_binary()
    env = dict(os.environ, DEMO_SECONDS="8", TMPDIR=str(tmp_path))
    res = subprocess.run([str(DEMO), str(PYLIGHTD)], env=env, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert re.search(r"^.*\breading\b.*\d+(\.\d+)? lx", res.stdout, re.M), out
    assert re.search(r"^.*\bORDER\b.*\b(ON|OFF)\b", res.stdout, re.M), out
    # The explanations name their publisher; one instance is stopped, the other takes over
    # its zones (and explains them), then the first is started again and takes them back.
    stopped = re.search(r"^\S+\s+cluster\s+(east|west)\s+stopped: (east|west) takes over its "
                        r"zones \(([^)]+)\)$", res.stdout, re.M)
    assert stopped and stopped[1] != stopped[2], out
    zones = stopped[3].split(", ")
    after = res.stdout[stopped.end():]
    assert re.search(rf"^\S+\s+{re.escape(zones[0])}\s+why\s+\[{stopped[2]}\] ", after, re.M), out
    back = re.search(rf"^\S+\s+cluster\s+{stopped[1]}\s+started again: it takes back its "
                     rf"zones \({re.escape(stopped[3])}\) from {stopped[2]}$", after, re.M)
    assert back, out
    assert not sanitizer_report(out), out
    # Everything the demo started lives under its folder in TMPDIR.
    assert processes_mentioning(str(tmp_path)) == []
    assert list(tmp_path.iterdir()) == []


def test_demo_that_cannot_start_exits_non_zero(tmp_path):
    """A daemon that refuses to start makes the demo fail, not print an empty show."""
    require_binary()
    # The real binary, pointed at a configuration that does not exist: it exits 78.
    wrapper = tmp_path / "pylightd-broken"
    wrapper.write_text(f"#!/bin/sh\nexec '{PYLIGHTD}' -c '{tmp_path}/missing.ini'\n")
    wrapper.chmod(0o755)
    runs = tmp_path / "runs"
    runs.mkdir()
    env = dict(os.environ, DEMO_SECONDS="5", TMPDIR=str(runs))
    res = subprocess.run([str(DEMO), str(wrapper)], env=env, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert re.search(r"pylightd (east|west) exited before coming online", out), out
    assert "missing.ini" in out, out
    assert not re.search(r"\bORDER\b", res.stdout), out
    assert processes_mentioning(str(runs)) == []
    assert list(runs.iterdir()) == []


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_demo_interrupted_stops_everything(tmp_path, how):
    """Ctrl-C (SIGINT to the whole foreground group) or a SIGTERM to the script alone: the
    demo stops its broker, daemons and viewer, removes its folder and exits 130 or 143."""
    require_binary()
    env = dict(os.environ, DEMO_SECONDS="60", TMPDIR=str(tmp_path))
    log = tmp_path.parent / f"demo-{how}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(DEMO), str(PYLIGHTD)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        wait_until(lambda: re.search(r"\bORDER\b", log.read_text()), 30,
                   lambda: f"the demo to order something:\n{log.read_text()}")
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = log.read_text()
    assert rc == (130 if how == "ctrl-c" else 143), out
    assert not sanitizer_report(out), out
    wait_until(lambda: processes_mentioning(str(tmp_path)) == [], 10,
               lambda: f"processes left: {processes_mentioning(str(tmp_path))}")
    assert list(tmp_path.iterdir()) == []
