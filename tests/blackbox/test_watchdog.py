"""test_watchdog.py -- WATCHDOG=1 only while the main loop AND the MQTT thread live

The daemon runs with a fake systemd (a notify socket the test owns, WATCHDOG_USEC 2 s), so it
pings every second. Then only libmosquitto's loop thread is frozen with ptrace (the process
and its main thread keep running): the pings must stop, so that systemd would restart a
daemon whose network thread is wedged, and come back once the thread runs again.
"""

import ctypes
import errno
import os
import re
import signal
import time

import pytest

from conftest import TIMEOUT, wait_until

WATCHDOG_USEC = 2000000
LOOP_THREAD = "mosquitto loop"  # libmosquitto's name for the thread of mosquitto_loop_start

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000  # __WALL: waitpid for a thread that is not a child process

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
_libc.ptrace.restype = ctypes.c_long


def ptrace(request, tid):
    if _libc.ptrace(request, tid, None, None) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"ptrace({request:#x}, {tid}): {os.strerror(err)}")


def start_watched(d, notify_path):
    """Starts conftest's Daemon `d` under a fake systemd watchdog. sd_watchdog_enabled()
    insists that WATCHDOG_PID is the daemon's own pid: a shell learns it and execs."""
    return d.start(cmd_prefix=["sh", "-c", 'export WATCHDOG_PID=$$; exec "$0" "$@"'],
                   env={"NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": str(WATCHDOG_USEC)})


def thread_state(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0]


def loop_thread(pid):
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() == LOOP_THREAD:
                    return int(tid)
        except FileNotFoundError:
            continue
    return None


def pings(notify, after=0):
    """Receive times of the WATCHDOG=1 messages from index `after` on."""
    return [t for t, m in notify.msgs[after:] if m.get("WATCHDOG") == "1"]


def wait_pings(notify, count, after=0):
    """Waits for `count` WATCHDOG=1 from index `after`; returns their receive times."""
    deadline = time.monotonic() + TIMEOUT + count * WATCHDOG_USEC / 1e6
    while len(pings(notify, after)) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{count} WATCHDOG=1 expected, got {len(pings(notify, after))}; "
                        f"messages: {[m for _, m in notify.msgs[after:]]}")
        notify.drain()  # blocks up to the socket's timeout
    return pings(notify, after)[:count]


def status_after_sigusr1(d, notify):
    """The main loop answers SIGUSR1 with a STATUS=: proves it runs. Returns the index just
    after that STATUS (any ping the loop sent before handling the signal precedes it)."""
    notify.drain()
    mark = len(notify.msgs)
    d.signal(signal.SIGUSR1)
    return notify.wait(lambda m: "STATUS" in m, mark, "STATUS= answering SIGUSR1") + 1


def test_watchdog_withheld_while_mqtt_thread_frozen(daemon, notify):
    d = start_watched(daemon(start=False), notify.path)

    # Alive: a ping every half of WATCHDOG_USEC.
    times = wait_pings(notify, 4)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.4 < g < 2.0 for g in gaps), f"pings not about 1 s apart: {gaps}"

    tid = wait_until(lambda: loop_thread(d.pid), what=f"a thread named {LOOP_THREAD!r}")
    try:
        ptrace(PTRACE_SEIZE, tid)
    except OSError as e:
        if e.errno == errno.EPERM:
            pytest.skip(f"ptrace not permitted here: {e}")
        raise
    try:
        ptrace(PTRACE_INTERRUPT, tid)
        os.waitpid(tid, WALL)  # now in a ptrace-stop, which PTRACE_DETACH requires
        assert thread_state(d.pid, tid) in ("t", "T")
        assert d.alive()

        # Frozen: no ping for 3 ticks, while the main loop still answers signals.
        start = status_after_sigusr1(d, notify)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            notify.drain()
        assert not pings(notify, start), (
            f"WATCHDOG=1 sent while the MQTT thread was frozen: "
            f"{[m for _, m in notify.msgs[start:]]}")
        status_after_sigusr1(d, notify)
        assert d.alive()
        d.wait_log(r"^crit: mqtt: .*not feeding the watchdog", flags=re.M)
    finally:
        ptrace(PTRACE_DETACH, tid)

    # Thawed: the pings come back, steadily.
    wait_pings(notify, 2, after=len(notify.msgs))
    assert d.stop() == 0
