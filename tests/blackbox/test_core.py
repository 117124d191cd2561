"""test_core.py -- readings in, orders out: pylightd against a real mosquitto"""

import os
import re
import signal
from pathlib import Path

import pytest

from conftest import ORDER, PYLIGHT_WEB, PYLIGHTD, READ, ROOT, STATUS, WARNING_LINE, Barrier

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture
def setup(daemon, mqtt):
    """setup(ref=..., ini=...) -> (daemon, client watching orders and status, barrier)."""
    def make(**kw):
        d = daemon(**kw)
        c = mqtt(ORDER + "/#", STATUS)
        return d, c, Barrier(c)
    return make


def warned_about(d, zone):
    """Waits for a warning-level log line naming the zone."""
    d.wait_log(WARNING_LINE + ".*" + re.escape(zone))


# --- readings and orders -------------------------------------------------------------------

def test_seed_topics_dark_orders_on_bright_orders_off(setup):
    d, c, sync = setup()
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    c.publish(READ, "1000")
    c.wait_for(ORDER, "OFF")
    c.publish(READ, " 12.5\n")
    c.wait_for(ORDER, "ON", count=2)
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF", "ON"]


def test_order_published_only_on_change(setup):
    d, c, sync = setup()
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    c.publish(READ, "100")
    c.publish(READ, "50")
    sync()
    assert c.payloads(ORDER) == ["ON"]
    c.publish(READ, "1000")
    c.publish(READ, "1000")
    c.publish(READ, "2000")
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF"]


def test_first_reading_bright_still_publishes_off(setup):
    d, c, sync = setup()
    c.publish(READ, "350")  # inside the band: unknown state decides by on_below alone
    c.wait_for(ORDER, "OFF")
    sync()
    assert c.payloads(ORDER) == ["OFF"]


def test_orders_use_qos_and_retain_from_ini(setup, broker):
    d, c, sync = setup()
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    orders = [p for p in broker.published_by(d.client_id) if p.topic == ORDER]
    assert [(p.qos, p.retain) for p in orders] == [(1, False)]


def test_configured_topics_payloads_qos_and_retain(daemon, mqtt, broker):
    d = daemon(ini={"topics": {"readings": "sensors/lux", "orders": "lamps/set",
                               "status": "svc/lights"},
                    "orders": {"on_payload": "1", "off_payload": "0", "retain": "true"},
                    "mqtt": {"qos": "0"}})
    c = mqtt("lamps/set/#", "svc/lights")
    c.wait_for("svc/lights", "online")
    c.publish("sensors/lux", "100")
    c.wait_for("lamps/set", "1")
    c.publish("sensors/lux/hall", "1000")
    c.wait_for("lamps/set/hall", "0")
    orders = [p for p in broker.published_by(d.client_id) if p.topic.startswith("lamps/set")]
    assert [(p.qos, p.retain) for p in orders] == [(0, True), (0, True)]
    late = mqtt("lamps/set/#")
    late.wait_for("lamps/set", "1", pred=lambda m: m.retain)
    late.wait_for("lamps/set/hall", "0", pred=lambda m: m.retain)


def test_retained_reading_delivered_on_subscribe_is_a_reading(daemon, mqtt):
    c = mqtt(ORDER + "/#")
    c.publish(READ + "/porch", "100", retain=True)
    daemon()
    c.wait_for(ORDER + "/porch", "ON")


# --- zones ---------------------------------------------------------------------------------

def test_zone_from_topic_suffix_including_slashes(setup):
    d, c, sync = setup()
    c.publish(READ + "/floor1/hall", "100")
    c.wait_for(ORDER + "/floor1/hall", "ON")
    c.publish(READ + "/office", "1000")
    c.wait_for(ORDER + "/office", "OFF")
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    c.publish(READ + "/floor1/hall", "1000")
    c.wait_for(ORDER + "/floor1/hall", "OFF")
    sync()
    assert c.payloads(ORDER + "/floor1/hall") == ["ON", "OFF"]
    assert c.payloads(ORDER + "/office") == ["OFF"]
    assert c.payloads(ORDER) == ["ON"]


def test_zone_section_overrides_and_inherits(setup):
    ref = "on_below = 300\noff_above = 400\n[zone floor1/hall]\non_below = 50\n"
    d, c, sync = setup(ref=ref)
    c.publish(READ + "/floor1/hall", "100")  # own on_below 50: not dark enough
    c.publish(READ + "/kitchen", "100")      # global on_below 300
    c.wait_for(ORDER + "/floor1/hall", "OFF")
    c.wait_for(ORDER + "/kitchen", "ON")
    c.publish(READ + "/floor1/hall", "40")
    c.wait_for(ORDER + "/floor1/hall", "ON")
    c.publish(READ + "/floor1/hall", "350")  # inherited off_above 400 keeps it ON
    sync()
    assert c.payloads(ORDER + "/floor1/hall") == ["OFF", "ON"]


# --- JSON readings -------------------------------------------------------------------------

JSON_DEFAULT_FIELDS = [
    ('{"illuminance_lux": 100}', "ON"),
    ('{"illuminance": 1000}', "OFF"),
    ('{"lux": 12.5}', "ON"),
    ('{"value": 500}', "OFF"),
    ('{"time": "12:00", "battery": 90, "lux": 100}', "ON"),
    ('{"value": 1000, "lux": 100}', "ON"),                    # lux comes before value
    ('{"illuminance": 100, "illuminance_lux": 1000}', "OFF"),  # illuminance_lux comes first
]


def test_json_reading_default_field_list(setup):
    d, c, sync = setup()
    for i, (payload, order) in enumerate(JSON_DEFAULT_FIELDS):
        c.publish(f"{READ}/j{i}", payload)
    for i, (payload, order) in enumerate(JSON_DEFAULT_FIELDS):
        msg = c.wait_for(f"{ORDER}/j{i}")
        assert msg.payload == order, payload


def test_json_field_dotted_path_from_ini(setup):
    d, c, sync = setup(ini={"readings": {"json_field": "BH1750.Illuminance"}})
    c.publish(READ + "/tasmota", '{"Time": "2024-01-01T12:00:00", "BH1750": {"Illuminance": 120}}')
    c.wait_for(ORDER + "/tasmota", "ON")
    c.publish(READ + "/plain", "1000")
    c.wait_for(ORDER + "/plain", "OFF")
    c.publish(READ + "/nofield", '{"lux": 100}')  # only the configured path counts now
    warned_about(d, "nofield")
    sync()
    assert c.payloads(ORDER + "/nofield") == []


# --- rejected readings ---------------------------------------------------------------------

BAD_READINGS = {
    "empty": "",
    "text": "dark",
    "nan": "nan",
    "inf": "inf",
    "overflow": "1e999",
    "negative": "-1",
    "hex": "0x1A",
    "trailing-garbage": "12abc",
    "json-true": "true",
    "json-string": '"12"',
    "json-without-field": '{"brightness": 12}',
    "json-field-not-number": '{"lux": "12"}',
    "json-negative": '{"lux": -5}',
    "too-long": "0" * 299 + "5",  # 300 bytes > max_payload 256, otherwise the number 5
}


@pytest.mark.parametrize("payload", BAD_READINGS.values(), ids=BAD_READINGS.keys())
def test_bad_reading_rejected_then_good_reading_works(setup, payload):
    d, c, sync = setup()
    zone = "badzone"
    c.publish(f"{READ}/{zone}", payload)
    warned_about(d, zone)
    # Most bad inputs would read as dark if wrongly accepted: a bright good reading then
    # shows up as a second order.
    c.publish(f"{READ}/{zone}", "1000")
    c.wait_for(f"{ORDER}/{zone}", "OFF")
    sync()
    assert c.payloads(f"{ORDER}/{zone}") == ["OFF"]
    assert d.alive()


def test_topic_naming_no_zone_rejected_and_counted(setup):
    d, c, sync = setup()
    c.publish(READ + "/", "100")
    warned_about(d, "value/light/': topic names no zone")
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    sync()
    assert c.payloads(ORDER + "/") == []
    d.signal(signal.SIGUSR1)
    d.wait_log(r"rejected 1,")


def test_rejection_warnings_rate_limited_per_zone(setup):
    d, c, sync = setup()
    c.publish(READ + "/noisy", "100")
    c.publish(READ + "/other", "100")
    c.wait_for(ORDER + "/noisy", "ON")
    c.wait_for(ORDER + "/other", "ON")
    for _ in range(3):
        c.publish(READ + "/noisy", "garbage")
    c.publish(READ + "/other", "garbage")
    warned_about(d, "other")
    sync()
    assert len(re.findall(WARNING_LINE + ".*noisy", d.log(), re.M)) == 1, d.log()


def test_max_payload_boundary(setup):
    d, c, sync = setup(ini={"readings": {"max_payload": "16"}})
    c.publish(READ + "/fits", "0" * 15 + "5")  # exactly 16 bytes
    c.wait_for(ORDER + "/fits", "ON")
    c.publish(READ + "/toolong", "0" * 16 + "5")
    warned_about(d, "toolong")
    sync()
    assert c.payloads(ORDER + "/toolong") == []


def test_new_zone_beyond_max_zones_rejected_existing_keep_working(setup):
    d, c, sync = setup(ini={"readings": {"max_zones": "2"}})
    c.publish(READ + "/za", "100")
    c.wait_for(ORDER + "/za", "ON")
    c.publish(READ + "/zb", "100")
    c.wait_for(ORDER + "/zb", "ON")
    c.publish(READ + "/zc", "100")
    warned_about(d, "zc")
    c.publish(READ + "/za", "1000")
    c.wait_for(ORDER + "/za", "OFF")
    c.publish(READ + "/zb", "1000")  # handled after zc's reading: zc's order would be here
    c.wait_for(ORDER + "/zb", "OFF")
    assert c.payloads(ORDER + "/zc") == []
    assert d.alive()


# --- decisions -----------------------------------------------------------------------------

def test_hysteresis_band_and_exact_thresholds(setup):
    d, c, sync = setup(ref="300 400\n")
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")
    c.publish(READ, "350")
    c.publish(READ, "400")  # not above off_above
    sync()
    assert c.payloads(ORDER) == ["ON"]
    c.publish(READ, "401")
    c.wait_for(ORDER, "OFF")
    c.publish(READ, "350")
    c.publish(READ, "300")  # not below on_below
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF"]
    c.publish(READ, "299")
    c.wait_for(ORDER, "ON", count=2)
    sync()
    assert c.payloads(ORDER) == ["ON", "OFF", "ON"]


def test_smoothing_decides_on_the_median(setup):
    d, c, sync = setup(ref="on_below = 100\nsmoothing = 3\n")
    c.publish(READ, "200")
    c.wait_for(ORDER, "OFF")
    c.publish(READ, "10")  # median of 200, 10 is 105: still not below 100
    sync()
    assert c.payloads(ORDER) == ["OFF"]
    c.publish(READ, "20")  # median of 200, 10, 20 is 20
    c.wait_for(ORDER, "ON")
    c.publish(READ, "500")  # median of 10, 20, 500 is 20
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON"]
    c.publish(READ, "600")  # median of 20, 500, 600 is 500
    c.wait_for(ORDER, "OFF", count=2)
    sync()
    assert c.payloads(ORDER) == ["OFF", "ON", "OFF"]


@pytest.mark.parametrize("key, first, second, then", [
    ("min_on", "100", "1000", "OFF"),
    ("min_off", "1000", "100", "ON"),
])
def test_dwell_defers_and_timer_reevaluates(setup, key, first, second, then):
    dwell = 2.0
    slack = 0.3  # our receive times trail the daemon's publish times a little
    d, c, sync = setup(ref=f"on_below = 300\noff_above = 400\n{key} = 2s\n")
    c.publish(READ, first)
    started = c.wait_for(ORDER).time
    c.publish(READ, second)
    sync()
    early = [m for m in c.received(ORDER)[1:] if m.time < started + dwell - slack]
    assert early == [], f"{then} came before {key} ended"
    late = c.wait_for(ORDER, then)  # no further reading: the dwell's end decides
    assert late.time >= started + dwell - slack
    sync()
    assert c.payloads(ORDER) == [{"ON": "OFF", "OFF": "ON"}[then], then]


# --- status, Last Will and shutdown --------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_status_online_retained_then_offline_on_signal(daemon, mqtt, sig):
    d = daemon()
    c = mqtt(STATUS)
    c.wait_for(STATUS, "online", pred=lambda m: m.retain)
    mark = c.mark()
    assert d.stop(sig) == 0
    c.wait_for(STATUS, "offline", after=mark)
    late = mqtt(STATUS)
    late.wait_for(STATUS, "offline", pred=lambda m: m.retain)
    assert late.payloads(STATUS) == ["offline"]


def test_last_will_offline_after_kill_9(daemon, mqtt):
    d = daemon()
    c = mqtt(STATUS)
    c.wait_for(STATUS, "online")
    mark = c.mark()
    d.stop(signal.SIGKILL)
    c.wait_for(STATUS, "offline", after=mark)
    late = mqtt(STATUS)
    late.wait_for(STATUS, "offline", pred=lambda m: m.retain)


# --- configuration errors and the command line ---------------------------------------------

def write(path, text):
    path.write_text(text)
    return path


def test_bad_ini_exits_78_reporting_every_error(tmp_path, run_pylightd):
    write(tmp_path / "ref.txt", "300\n")
    ini = write(tmp_path / "pylight.ini",
                "[mqtt]\n"
                "host = 127.0.0.1\n"
                "port = notaport\n"
                "colour = blue\n"
                "[thresholds]\n"
                "file = ref.txt\n"
                "[lamps]\n"
                "count = 3\n")
    for args, code in ((["-c", str(ini)], 78), (["-t", "-c", str(ini)], 1)):
        res = run_pylightd(*args)
        assert res.returncode == code, res.stderr
        out = res.stdout + res.stderr
        for line in (3, 4, 7):
            assert f"{ini}:{line}: " in out, f"no error for line {line} in:\n{out}"
        assert "configuration OK" not in out


def test_bad_ref_exits_78_reporting_every_error(tmp_path, run_pylightd):
    write(tmp_path / "ref.txt", "on_below = abc\nbogus = 1\noff_above = 100\n")
    ini = write(tmp_path / "pylight.ini", "[mqtt]\nhost = 127.0.0.1\nport = 1\n")
    for args, code in ((["-c", str(ini)], 78), (["-t", "-c", str(ini)], 1)):
        res = run_pylightd(*args)
        assert res.returncode == code, res.stderr
        out = res.stdout + res.stderr
        for line in (1, 2):
            assert re.search(rf"ref\.txt:{line}: ", out), f"no error for line {line} in:\n{out}"


def test_missing_ref_exits_78(tmp_path, run_pylightd):
    ini = write(tmp_path / "pylight.ini", "[thresholds]\nfile = nowhere.txt\n")
    res = run_pylightd("-c", str(ini))
    assert res.returncode == 78
    assert "nowhere.txt" in res.stderr


def test_shipped_config_passes_check(run_pylightd):
    ini = ROOT / "conf/pylight.ini"
    assert ini.is_file(), f"{ini} is missing"
    res = run_pylightd("-t", "-c", str(ini))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "configuration OK" in res.stdout


def golden_cases():
    return sorted(p.stem for p in GOLDEN.glob("*.ini"))


@pytest.mark.parametrize("name", golden_cases())
def test_check_output_matches_golden(name, run_pylightd):
    """`-t` output for golden/NAME.ini must equal golden/NAME.ok (err-* cases exit 1).
    PYLIGHT_GOLDEN_UPDATE=1 rewrites the .ok files from the binary: review the diff."""
    res = run_pylightd("-t", "-c", f"{name}.ini", cwd=GOLDEN)
    text = res.stdout + (f"--- stderr\n{res.stderr}" if res.stderr else "")
    text = text.replace(str(GOLDEN), "@GOLDEN@")
    ok = GOLDEN / f"{name}.ok"
    if os.environ.get("PYLIGHT_GOLDEN_UPDATE") == "1":
        ok.write_text(text)
    assert res.returncode == (1 if name.startswith("err-") else 0), text
    assert ok.is_file(), f"{ok} missing: generate it with PYLIGHT_GOLDEN_UPDATE=1"
    assert text == ok.read_text()


# Both programs take the same command line, and answer it the same way.
PROGRAMS = pytest.mark.parametrize("program", [PYLIGHTD, PYLIGHT_WEB], ids=lambda p: p.name)


@PROGRAMS
@pytest.mark.parametrize("flag", ["-v", "--version"])
def test_version_exits_0(flag, program, run_pylightd):
    res = run_pylightd(flag, program=program)
    assert res.returncode == 0
    assert re.fullmatch(re.escape(program.name) + r" \d+\.\d+\S*\n", res.stdout)


@PROGRAMS
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_exits_0(flag, program, run_pylightd):
    res = run_pylightd(flag, program=program)
    assert res.returncode == 0 and not res.stderr
    assert res.stdout.startswith(f"usage: {program.name} [-c FILE] [-t] [-v] [-h]\n")


@PROGRAMS
@pytest.mark.parametrize("args", [["-x"], ["-c"], ["--bogus"], ["-t", "extra"]],
                         ids=["unknown-option", "missing-argument", "unknown-long", "operand"])
def test_bad_usage_exits_2(args, program, run_pylightd):
    res = run_pylightd(*args, program=program)
    assert res.returncode == 2, res.stdout + res.stderr
    assert not res.stdout
    assert f"usage: {program.name} [-c FILE]" in res.stderr
    if args[-1] == "extra":
        assert f"{program.name}: unexpected argument 'extra'" in res.stderr


# --- the broker coming and going -----------------------------------------------------------

def test_broker_down_at_start_then_up(broker, daemon, mqtt):
    broker.stop()
    d = daemon(wait=False)
    d.expect_alive(within=1.0)  # it must not wait for the broker nor give up
    broker.start()
    d.wait_ready()
    c = mqtt(ORDER + "/#", STATUS)
    c.wait_for(STATUS, "online")
    c.publish(READ, "100")
    c.wait_for(ORDER, "ON")


def test_broker_restart_reconnects_resubscribes_and_keeps_state(setup, broker):
    d, c, sync = setup()
    c.publish(READ + "/lit", "100")
    c.publish(READ + "/dark", "1000")
    c.wait_for(ORDER + "/lit", "ON")
    c.wait_for(ORDER + "/dark", "OFF")
    sync()
    connections = broker.connections(d.client_id)
    before = c.mark()

    broker.restart()  # no persistence: sessions and retained messages are gone
    c.wait_ready()
    d.wait_ready()  # on the new run: it has reconnected and resubscribed
    assert broker.connections(d.client_id) == connections + 1
    c.wait_for(STATUS, "online", after=before)  # republished on every connect
    mark = c.mark()

    # In the band, an unknown state would decide (OFF for both); the kept state does not.
    c.publish(READ + "/lit", "350")
    c.publish(READ + "/dark", "350")
    sync()
    assert c.received(pred=lambda m: m.topic.startswith(ORDER + "/") and
                      not m.topic.startswith(ORDER + "/sync/"), after=mark) == []
    since = [p.topic for p in broker.published_by(d.client_id, since_connect=True)]
    assert not any(t in (ORDER + "/lit", ORDER + "/dark") for t in since), since

    c.publish(READ + "/lit", "1000")
    c.publish(READ + "/dark", "100")
    c.wait_for(ORDER + "/lit", "OFF", after=mark)
    c.wait_for(ORDER + "/dark", "ON", after=mark)
    assert d.alive()
