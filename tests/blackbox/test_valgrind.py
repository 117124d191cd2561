"""test_valgrind.py -- memcheck over a whole black-box scenario: no error, no leak

Start, readings (good, bad, JSON), a reload, an override and its end, a broker restart
(reconnect and resubscribe), SIGTERM. Valgrind runs the plain build: an ASan binary cannot
run under it, so with PYLIGHTD pointing at one, build/plain/pylightd is used instead.
"""

import re
import shutil
import signal

import pytest

from conftest import (ORDER, OVERRIDE, PYLIGHTD, READ, ROOT, auth_broker, password_file,
                      refusal_times, sanitized)

SLOW = 60  # valgrind runs the daemon some 20 to 50 times slower


def plain_binary():
    if not sanitized(PYLIGHTD):
        return PYLIGHTD
    plain = ROOT / "build/plain/pylightd"
    if not plain.is_file():
        pytest.skip(f"{PYLIGHTD} is an ASan build and {plain} is missing: run `make`")
    return plain


def memcheck(d, report):
    """Starts Daemon `d` under memcheck; a leak or an error makes it exit 99."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        pytest.skip("valgrind is not installed (Debian package valgrind)")
    d.start(wait=False, binary=plain_binary(), cmd_prefix=[
        valgrind, "--tool=memcheck", "--leak-check=full",
        "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=99", f"--log-file={report}"])


def assert_clean_exit(d, report):
    code = d.stop(timeout=SLOW)
    text = report.read_text()
    assert code == 0, f"exit {code} (99: valgrind found errors)\n{text}"
    assert "ERROR SUMMARY: 0 errors" in text, text
    for kind in ("definitely", "indirectly"):
        m = re.search(rf"{kind} lost: ([\d,]+) bytes", text)
        assert m is None or m.group(1) == "0", text
    assert re.search(r"All heap blocks were freed|definitely lost: 0 bytes", text), text


def test_memcheck_clean_over_a_full_scenario(broker, daemon, mqtt, tmp_path):
    report = tmp_path / "valgrind.log"
    d = daemon(start=False)
    memcheck(d, report)
    d.wait_ready(timeout=SLOW)
    c = mqtt(ORDER + "/#")

    c.publish(READ + "/hall", "100")
    c.wait_for(ORDER + "/hall", "ON", timeout=SLOW)
    c.publish(READ + "/hall", "not a number")
    c.publish(READ + "/porch", '{"illuminance_lux": 1000}')
    c.wait_for(ORDER + "/porch", "OFF", timeout=SLOW)
    d.wait_log(r"^warning: zone 'hall': bad reading", timeout=SLOW)

    d.ref_path.write_text("on_below = 50\noff_above = 60\n"
                          "[zone porch]\non_below = 2000\noff_above = 2100\n")
    c.wait_for(ORDER + "/hall", "OFF", timeout=SLOW)   # re-evaluated: 100 > 60
    c.wait_for(ORDER + "/porch", "ON", timeout=SLOW)   # 1000 < 2000
    d.signal(signal.SIGHUP)
    d.wait_log(r"reloaded \(SIGHUP\)", timeout=SLOW)

    mark = c.mark()
    c.publish(OVERRIDE + "/hall", "ON 10m")
    c.wait_for(ORDER + "/hall", "ON", after=mark, timeout=SLOW)
    c.publish(OVERRIDE + "/hall", "AUTO")
    c.wait_for(ORDER + "/hall", "OFF", after=mark, timeout=SLOW)

    d.signal(signal.SIGUSR1)
    d.wait_log(r"^info: zone 'porch': ON auto", timeout=SLOW)

    broker.restart()
    c.wait_ready(timeout=SLOW)
    d.wait_ready(timeout=SLOW)
    mark = c.mark()
    c.publish(READ + "/hall", "10")
    c.wait_for(ORDER + "/hall", "ON", after=mark, timeout=SLOW)
    assert_clean_exit(d, report)


def test_memcheck_clean_over_mqtt_loop_restarts(broker_factory, daemon, mqtt, tmp_path):
    """An MQTT 5 refusal ends libmosquitto's loop thread for good; the daemon restarts it
    until the broker lets it in. Valgrind 3.19 does not know pidfd_open(), so, as on
    kernels before 6.9 (Debian 12's 6.1) where a thread has no pidfd, the daemon has to
    notice the end of the thread some other way, with no systemd watchdog to prompt it."""
    b = auth_broker(broker_factory, tmp_path, password="not-modif")
    report = tmp_path / "valgrind.log"
    d = daemon(on=b, start=False, ini={"mqtt": {"port": str(b.auth_port), "protocol": "5",
                                                "reconnect_min": "1", "reconnect_max": "2"}})
    memcheck(d, report)
    refusal_times(b, SLOW, 3)
    password_file(b.password_path, "system", "modif")
    b.proc.send_signal(signal.SIGHUP)
    d.wait_ready(timeout=SLOW)
    c = mqtt(ORDER + "/#", on=b)
    c.publish(READ + "/hall", "100")
    c.wait_for(ORDER + "/hall", "ON", timeout=SLOW)
    assert_clean_exit(d, report)
