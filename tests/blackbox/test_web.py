"""test_web.py -- pylight-web over HTTP: the real binary, a real broker and pylightd running.

Every route's answers and refusals, ref.txt edited byte for byte, saves that pylightd picks up
once and whole, and overrides that reach the broker. The HTTP client is the standard
library's, so that every header sent is the test's choice.
"""

import base64
import http.client
import json
import os
import re
import signal
import stat
import subprocess
import threading

import pytest

from conftest import (ORDER, OVERRIDE, PYLIGHT_WEB, PYLIGHTD, READ, TIMEOUT, WEB_REF,
                      ZONE_STATE, auth_broker, daemon_env, password_file, refusal_times, wait_until)

RELOADED = re.compile(r"^notice: .*: reloaded \(", re.M)

REF = WEB_REF


def request(w, method, path, body=None, headers=None, raw=None, auth=None):
    """(status, headers dict with lower-case names, parsed JSON or text) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", w.port, timeout=TIMEOUT)
    hdrs = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if auth:
        hdrs["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    try:
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        text = res.read().decode()
        h = {k.lower(): v for k, v in res.getheaders()}
    finally:
        conn.close()
    if h.get("content-type", "").startswith("application/json"):
        return res.status, h, json.loads(text)
    return res.status, h, text


def get_ref(w):
    status, h, data = request(w, "GET", "/api/ref")
    assert status == 200, data
    assert h["etag"] == f'"{data["etag"]}"'
    return data


def zones(w):
    status, _, data = request(w, "GET", "/api/zones")
    assert status == 200, data
    return {z["zone"]: z for z in data}


@pytest.fixture
def pair(daemon, web):
    """pylightd with REF and pylight-web beside it."""
    d = daemon(ref=REF)
    return d, web(d)


# --- the page ------------------------------------------------------------------------------

def test_page_and_assets_with_security_headers(pair):
    _, w = pair
    for path, kind in (("/", "text/html"), ("/app.js", "text/javascript"),
                       ("/style.css", "text/css"), ("/favicon.svg", "image/svg+xml")):
        status, h, text = request(w, "GET", path)
        assert status == 200 and h["content-type"].startswith(kind), (path, h)
        assert h["content-security-policy"] == "default-src 'self'"
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
    assert '<script src="/app.js"' in request(w, "GET", "/")[2]
    assert "http" not in request(w, "GET", "/")[2].replace('lang="en"', "")


def test_clean_start_logs_no_warning(pair):
    _, w = pair
    assert request(w, "GET", "/")[0] == 200
    assert not re.search(r"^warning: ", w.log(), re.M), w.log()


@pytest.mark.parametrize("path", ["/nope", "/../ref.txt", "/%2e%2e/pylight.ini", "/index.html",
                                  "/ref.txt", "//etc/passwd"])
def test_unknown_paths_are_404_and_never_files(pair, path):
    _, w = pair
    status, h, _ = request(w, "GET", path)
    assert status == 404
    assert h["x-frame-options"] == "DENY"


def test_unknown_api_path_is_json_404_and_wrong_method_405(pair):
    _, w = pair
    status, _, data = request(w, "GET", "/api/nope")
    assert status == 404 and data["ok"] is False
    status, h, _ = request(w, "DELETE", "/api/ref")
    assert status == 405 and "PUT" in h["allow"]
    status, _, _ = request(w, "POST", "/api/zones", body={})
    assert status == 405
    status, _, _ = request(w, "POST", "/", body={})
    assert status == 405


# --- the zone list -------------------------------------------------------------------------

def test_zones_list_explanations_sections_and_thresholds_in_force(pair, mqtt):
    d, w = pair
    c = mqtt(ORDER + "/#")
    c.publish(READ + "/hall", "100")
    c.wait_for(ORDER + "/hall", "ON")
    c.publish(READ + "/lobby", "350")
    c.wait_for(ORDER + "/lobby", "OFF")
    z = wait_until(lambda: (lambda zs: zs if "lobby" in zs and "hall" in zs and
                            zs["hall"]["state"] else None)(zones(w)),
                   what="hall and lobby in /api/zones")
    assert z["hall"]["state"] == "ON" and z["hall"]["mode"] == "auto"
    assert z["hall"]["on_below"] == 150 and z["hall"]["off_above"] == 250
    assert z["hall"]["lux"] == 100 and "reason" in z["hall"]
    assert z["lobby"]["state"] == "OFF" and z["lobby"]["on_below"] == 300
    # a zone that exists only as a section is listed, with state null
    assert z["kitchen"]["state"] is None and z["kitchen"]["mode"] is None
    assert z["kitchen"]["on_below"] == 300
    assert list(z) == sorted(z)


def test_zones_cleared_explanation_disappears(pair, mqtt):
    _, w = pair
    c = mqtt()
    c.publish(ZONE_STATE + "/ghost", json.dumps({"zone": "ghost", "state": "ON",
                                                 "mode": "auto"}), retain=True)
    wait_until(lambda: "ghost" in zones(w), what="ghost listed")
    c.publish(ZONE_STATE + "/ghost", "", retain=True)
    wait_until(lambda: "ghost" not in zones(w), what="ghost gone")


def test_zones_topic_with_empty_zone_ignored(pair, mqtt):
    # "pylight/zone/" names no zone, for pylight-web as for pylightd: not the default one.
    _, w = pair
    c = mqtt()
    c.publish(ZONE_STATE + "/", json.dumps({"zone": "", "state": "ON", "mode": "auto"}),
              retain=True)
    c.publish(ZONE_STATE + "/marker", json.dumps({"zone": "marker", "state": "ON",
                                                  "mode": "auto"}), retain=True)
    wait_until(lambda: "marker" in zones(w), what="marker listed")
    assert "" not in zones(w)


# --- ref.txt: get, check, put --------------------------------------------------------------

def test_ref_get_check_put_and_conflicts(pair):
    d, w = pair
    ref = get_ref(w)
    assert ref["text"] == REF
    status, _, data = request(w, "POST", "/api/ref/check", body={"text": REF})
    assert (status, data) == (200, {"ok": True})

    bad = "on_below = 300\noff_above = 100\n\n[zone a]\nbogus = 1\n"
    status, _, data = request(w, "POST", "/api/ref/check", body={"text": bad})
    assert status == 422 and data["ok"] is False
    assert [e["line"] for e in data["errors"]] == [2, 5]
    assert "bogus" in data["errors"][1]["message"]

    # invalid: 422 and nothing written
    status, _, data = request(w, "PUT", "/api/ref", body={"text": bad, "etag": ref["etag"]})
    assert status == 422 and data["errors"][0]["line"] == 2
    assert d.ref_path.read_text() == REF

    new = REF.replace("on_below = 300", "on_below = 310")
    status, h, data = request(w, "PUT", "/api/ref", body={"text": new, "etag": ref["etag"]})
    assert status == 200 and data["etag"] != ref["etag"]
    assert h["etag"] == f'"{data["etag"]}"'
    assert d.ref_path.read_text() == new
    assert get_ref(w)["etag"] == data["etag"]

    # based on the old text: a conflict, whether valid or not
    for text in (REF, bad):
        status, _, data = request(w, "PUT", "/api/ref", body={"text": text,
                                                              "etag": ref["etag"]})
        assert status == 409 and data["ok"] is False
    assert d.ref_path.read_text() == new


def test_save_keeps_mode_and_leaves_no_temporary_file(pair):
    d, w = pair
    os.chmod(d.ref_path, 0o640)
    ref = get_ref(w)
    status, _, _ = request(w, "PUT", "/api/ref", body={"text": REF + "\n", "etag": ref["etag"]})
    assert status == 200
    assert stat.S_IMODE(os.stat(d.ref_path).st_mode) == 0o640
    assert sorted(p.name for p in d.dir.iterdir() if "ref" in p.name) == ["ref.txt"]


def test_bodies_refused(pair):
    _, w = pair
    etag = get_ref(w)["etag"]
    # a foreign Origin: 403 on every route that changes anything
    for method, path in (("PUT", "/api/ref"), ("POST", "/api/ref/check"),
                         ("POST", "/api/zones/thresholds"), ("POST", "/api/zones/override")):
        status, _, _ = request(w, method, path, body={"text": REF, "etag": etag},
                               headers={"Origin": "http://evil.example"})
        assert status == 403, (method, path)
    # the same host on another port, and "null", are foreign too
    for origin in (f"http://127.0.0.1:{w.port + 1}", "null", "http://127.0.0.1",
                   f"http://localhost:{w.port}"):
        status, _, _ = request(w, "POST", "/api/ref/check", body={"text": REF},
                               headers={"Origin": origin})
        assert status == 403, origin
    status, _, _ = request(w, "POST", "/api/ref/check", body={"text": REF},
                           headers={"Origin": f"http://127.0.0.1:{w.port}"})
    assert status == 200
    # a form (what a cross-site page can send without asking)
    status, _, _ = request(w, "POST", "/api/ref/check", raw=b"text=on_below%3D1",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (403, 415)
    status, _, _ = request(w, "POST", "/api/ref/check", raw=b'{"text":"1"}',
                           headers={"Content-Type": "text/plain"})
    assert status in (403, 415)
    status, _, _ = request(w, "POST", "/api/ref/check", raw=b'{"text":"1"}',
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert status == 200
    # not a JSON object
    for raw in (b"[1]", b'"x"', b"{", b"", b'{"text":"1"} x'):
        status, _, _ = request(w, "POST", "/api/ref/check", raw=raw,
                               headers={"Content-Type": "application/json"})
        assert status == 400, raw
    # over 1 MiB
    big = json.dumps({"text": "#" * (1 << 20)}).encode()
    status, _, _ = request(w, "POST", "/api/ref/check", raw=big,
                           headers={"Content-Type": "application/json"})
    assert status == 413
    assert w.alive()


# --- threshold edits -------------------------------------------------------------------------

def test_threshold_edit_changes_only_that_line(pair):
    d, w = pair
    etag = get_ref(w)["etag"]
    status, _, data = request(w, "POST", "/api/zones/thresholds",
                              body={"zone": "hall", "on_below": 175, "etag": etag})
    assert status == 200, data
    want = REF.replace("  on_below  =  150   #", "  on_below  =  175   #")
    assert d.ref_path.read_bytes() == want.encode()
    assert data["etag"] == get_ref(w)["etag"]

    # a key the section lacks goes after its last key line; a new zone gets a section
    status, _, _ = request(w, "POST", "/api/zones/thresholds",
                           body={"zone": "kitchen", "on_below": 80.5, "off_above": 120})
    assert status == 200
    want = want.replace("smoothing = 3\n", "smoothing = 3\non_below = 80.5\noff_above = 120\n")
    assert d.ref_path.read_text() == want
    status, _, _ = request(w, "POST", "/api/zones/thresholds",
                           body={"zone": "floor1/office", "off_above": 600})
    assert status == 200
    want += "\n[zone floor1/office]\noff_above = 600\n"
    assert d.ref_path.read_text() == want
    # the zone "" is the global section
    status, _, _ = request(w, "POST", "/api/zones/thresholds",
                           body={"zone": "", "off_above": 450})
    assert status == 200
    want = want.replace("off_above = 400\n", "off_above = 450\n", 1)
    assert d.ref_path.read_text() == want


def test_threshold_edit_refusals(pair):
    d, w = pair
    etag = get_ref(w)["etag"]
    status, _, data = request(w, "POST", "/api/zones/thresholds",
                              body={"zone": "hall", "on_below": 500})
    assert status == 422 and data["errors"][0]["line"] == 7  # the pair is checked at its end
    assert "off_above" in data["errors"][0]["message"]
    for body in ({"zone": "hall"}, {"zone": "hall", "on_below": "x"},
                 {"zone": "hall", "on_below": -1}, {"on_below": 1},
                 {"zone": "a#b", "on_below": 1}, {"zone": "hall", "on_below": True}):
        status, _, data = request(w, "POST", "/api/zones/thresholds", body=body)
        assert status == 422, body
        assert data["errors"][0]["line"] == 0
    request(w, "PUT", "/api/ref", body={"text": REF + "\n", "etag": etag})
    status, _, _ = request(w, "POST", "/api/zones/thresholds",
                           body={"zone": "hall", "on_below": 100, "etag": etag})
    assert status == 409
    assert d.ref_path.read_text() == REF + "\n"
    # the number form cannot be edited key by key
    d.ref_path.write_text("300 400\n")
    status, _, data = request(w, "POST", "/api/zones/thresholds",
                              body={"zone": "", "on_below": 100})
    assert status == 422 and "whole file" in data["errors"][0]["message"]


def test_save_is_reloaded_once_and_switches_the_zone(pair, mqtt):
    d, w = pair
    c = mqtt(ORDER + "/#")
    c.publish(READ + "/hall", "200")
    c.wait_for(ORDER + "/hall", "OFF")   # 200 >= hall's on_below 150
    reloads = len(RELOADED.findall(d.log()))
    mark = c.mark()
    status, _, _ = request(w, "POST", "/api/zones/thresholds",
                           body={"zone": "hall", "on_below": 220, "off_above": 300})
    assert status == 200
    c.wait_for(ORDER + "/hall", "ON", after=mark)
    wait_until(lambda: len(RELOADED.findall(d.log())) > reloads, what="a reload")
    c.expect_none(ORDER + "/hall", after=c.mark(), within=0.5)
    assert len(RELOADED.findall(d.log())) == reloads + 1, d.log()


def test_thousand_saves_under_readings_all_applied_whole(pair, mqtt):
    d, w = pair
    c = mqtt(ORDER + "/#")
    stop = threading.Event()

    def readings():
        n = 0
        while not stop.is_set():
            c.c.publish(f"{READ}/z{n % 10}", str(n % 500), qos=0)
            n += 1
            stop.wait(0.002)
    t = threading.Thread(target=readings, daemon=True)
    t.start()
    try:
        etag = get_ref(w)["etag"]
        for i in range(1000):
            text = REF.replace("on_below = 300", f"on_below = {300 + i}").replace(
                "off_above = 400", "off_above = 2000")
            status, _, data = request(w, "PUT", "/api/ref", body={"text": text, "etag": etag})
            assert status == 200, (i, data)
            etag = data["etag"]
    finally:
        stop.set()
        t.join()
    assert d.ref_path.read_text() == REF.replace("on_below = 300", "on_below = 1299").replace(
        "off_above = 400", "off_above = 2000")
    # pylightd never read a half-written file, and its last reload is the last save
    wait_until(lambda: re.search(r"reloaded \(.*\): on_below 1299 ", d.log()),
               what=lambda: f"the last save to be reloaded; log tail:\n{d.log()[-2000:]}")
    assert "error" not in d.log().lower(), d.log()[-3000:]
    assert d.alive()


# --- overrides -------------------------------------------------------------------------------

def test_override_publishes_on_the_zone_topic(pair, mqtt, broker):
    _, w = pair
    c = mqtt(OVERRIDE, OVERRIDE + "/#")
    for body, topic, payload in (
            ({"zone": "hall", "mode": "ON"}, OVERRIDE + "/hall", "ON"),
            ({"zone": "floor1/x", "mode": "off", "for": "15m"}, OVERRIDE + "/floor1/x",
             "OFF 15m"),
            ({"zone": "", "mode": "AUTO"}, OVERRIDE, "AUTO")):
        mark = c.mark()
        status, _, data = request(w, "POST", "/api/zones/override", body=body)
        assert status == 202, data
        c.wait_for(topic, payload, after=mark)
    for body in ({"zone": "hall", "mode": "AUTO", "for": "1m"}, {"zone": "hall", "mode": "X"},
                 {"zone": "hall", "mode": "ON", "for": "soon"}, {"zone": "a+", "mode": "ON"},
                 {"mode": "ON"}):
        status, _, data = request(w, "POST", "/api/zones/override", body=body)
        assert status == 422, body


def test_override_reaches_pylightd(pair, mqtt):
    _, w = pair
    c = mqtt(ORDER + "/#")
    c.publish(READ + "/hall", "900")
    c.wait_for(ORDER + "/hall", "OFF")
    mark = c.mark()
    status, _, _ = request(w, "POST", "/api/zones/override",
                           body={"zone": "hall", "mode": "ON", "for": "5m"})
    assert status == 202
    c.wait_for(ORDER + "/hall", "ON", after=mark)
    wait_until(lambda: zones(w)["hall"]["mode"] == "override", what="mode override listed")


def test_override_503_while_the_broker_is_down(pair, broker):
    _, w = pair
    broker.stop()
    wait_until(lambda: request(w, "POST", "/api/zones/override",
                               body={"zone": "hall", "mode": "ON"})[0] == 503,
               what="503 while disconnected")
    status, _, _ = request(w, "GET", "/api/zones")
    assert status == 200


# --- authentication and configuration -----------------------------------------------------

def test_basic_auth_comes_before_everything(daemon, web, tmp_path):
    d = daemon(ref=REF)
    (tmp_path / "web.pw").write_text("s3cret\n")
    w = web(d, ini={"web": {"password_file": str(tmp_path / "web.pw"), "user": "ops"}})
    for method, path in (("GET", "/"), ("GET", "/api/zones"), ("GET", "/nope"),
                         ("DELETE", "/api/ref"), ("PUT", "/api/ref")):
        status, h, _ = request(w, method, path, headers={"Origin": "http://evil.example"})
        assert status == 401, (method, path)
        assert h["www-authenticate"].startswith("Basic")
        assert h["x-frame-options"] == "DENY"
    assert request(w, "GET", "/api/zones", auth="ops:wrong")[0] == 401
    assert request(w, "GET", "/api/zones", auth="admin:s3cret")[0] == 401
    assert request(w, "GET", "/api/zones", auth="ops:s3cret")[0] == 200
    assert request(w, "GET", "/nope", auth="ops:s3cret")[0] == 404


@pytest.mark.parametrize("listen", ["0.0.0.0:8080", ":8080", "[::]:8080", "192.0.2.1:80"])
def test_non_loopback_without_password_exits_78(daemon, tmp_path, listen):
    d = daemon(ref=REF, start=False)
    ini = d.ini_path.read_text() + f"[web]\nlisten = {listen}\n"
    (tmp_path / "w.ini").write_text(ini)
    line = ini.splitlines().index(f"listen = {listen}") + 1
    res = subprocess.run([str(PYLIGHT_WEB), "-c", str(tmp_path / "w.ini")], capture_output=True,
                         text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 78, res.stderr
    assert f"{tmp_path / 'w.ini'}:{line}: listen {listen} is not a loopback" in res.stderr
    res = subprocess.run([str(PYLIGHT_WEB), "-t", "-c", str(tmp_path / "w.ini")],
                         capture_output=True, text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 1 and f"w.ini:{line}:" in res.stderr


def test_check_validates_like_pylightd(daemon, tmp_path):
    d = daemon(ref=REF, start=False)
    res = subprocess.run([str(PYLIGHT_WEB), "-t", "-c", str(d.ini_path)], capture_output=True,
                         text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 0 and res.stdout.startswith("configuration OK")
    assert "[web]\nlisten = 127.0.0.1:8080\nuser = admin\n" in res.stdout
    d.ref_path.write_text("on_below = x\n")
    res = subprocess.run([str(PYLIGHT_WEB), "-t", "-c", str(d.ini_path)], capture_output=True,
                         text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 1 and f"{d.ref_path}:1: bad number" in res.stderr
    (tmp_path / "bad.ini").write_text("[web]\nlisten = nonsense\nfoo = 1\n")
    res = subprocess.run([str(PYLIGHT_WEB), "-c", str(tmp_path / "bad.ini")],
                         capture_output=True, text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 78
    assert "bad.ini:3: unknown key 'foo' in [web]" in res.stderr


def test_pylightd_accepts_web_section(daemon):
    d = daemon(ref=REF, ini={"web": {"listen": "0.0.0.0:9999", "user": "x"}})
    assert d.alive()


def test_invalid_ref_at_start_is_served_to_be_fixed(daemon, web):
    d = daemon(ref=REF)
    d.ref_path.write_text("on_below = oops\n")
    w = web(d)
    ref = get_ref(w)
    status, _, _ = request(w, "PUT", "/api/ref", body={"text": REF, "etag": ref["etag"]})
    assert status == 200
    assert d.ref_path.read_text() == REF


# --- the broker connection ---------------------------------------------------------------

def test_mqtt5_refusal_ends_no_connection_for_good(broker_factory, daemon, web, tmp_path):
    # An MQTT 5 CONNACK refusal (bad credentials) ends libmosquitto's loop thread for good:
    # pylight-web must notice, restart it, and get in once the broker takes the password.
    b = auth_broker(broker_factory, tmp_path, password="not-modif")
    d = daemon(ref=REF, on=b, start=False,
               ini={"mqtt": {"port": str(b.auth_port), "protocol": "5",
                             "reconnect_min": "1", "reconnect_max": "2"}})
    w = web(d, start=False).start(wait=False)
    refusals = refusal_times(b, 20, 2)  # a second attempt: the loop was restarted
    assert refusals[1] - refusals[0] >= 0.7, "retrying too fast"
    wait_until(lambda: re.search(r"^warning: mqtt: the connection loop ended", w.log(), re.M),
               what=lambda: f"the ended loop in pylight-web's log:\n{w.log()}")
    assert w.alive()
    password_file(b.password_path, "system", "modif")
    b.proc.send_signal(signal.SIGHUP)  # mosquitto rereads its password file
    b.wait_subscribed(w.client_id, [ZONE_STATE + "/x"], timeout=20)
    status, _, data = request(w, "POST", "/api/zones/override", body={"zone": "hall",
                                                                      "mode": "ON"})
    assert status == 202, data


# --- the password file, read alike by both programs ----------------------------------------

@pytest.mark.parametrize("program,section", [(PYLIGHTD, "mqtt"), (PYLIGHT_WEB, "mqtt"),
                                             (PYLIGHT_WEB, "web")],
                         ids=["pylightd-mqtt", "pylight-web-mqtt", "pylight-web-web"])
def test_password_file_checked_alike(daemon, tmp_path, program, section):
    d = daemon(ref=REF, start=False, ini={section: {"password_file": str(tmp_path / "pw")}})
    pw = tmp_path / "pw"
    pw.write_bytes(b"s3cret\r\n")
    pw.chmod(0o644)
    res = subprocess.run([str(program), "-t", "-c", str(d.ini_path)], capture_output=True,
                         text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert f"warning: {pw}: password file is readable by other users (mode 0644)\n" \
        in res.stderr
    pw.chmod(0o600)
    res = subprocess.run([str(program), "-t", "-c", str(d.ini_path)], capture_output=True,
                         text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 0 and "warning" not in res.stderr, res.stderr
    pw.write_bytes(b"\r\nsecond line\n")
    res = subprocess.run([str(program), "-t", "-c", str(d.ini_path)], capture_output=True,
                         text=True, env=daemon_env(), timeout=TIMEOUT)
    assert res.returncode == 1
    assert re.search(rf"^{re.escape(str(d.ini_path))}:\d+: password_file {re.escape(str(pw))} "
                     r"is empty$", res.stderr, re.M), res.stderr


def test_web_password_loses_one_line_end_only(daemon, web, tmp_path):
    # One "\r\n" goes, as pylightd reads [mqtt] password_file: the second "\r" is the password's.
    d = daemon(ref=REF)
    pw = tmp_path / "web.pw"
    pw.write_bytes(b"s3cret\r\r\n")
    pw.chmod(0o640)
    w = web(d, ini={"web": {"password_file": str(pw), "user": "ops"}})
    assert re.search(rf"^warning: {re.escape(str(pw))}: password file is readable by other "
                     r"users \(mode 0640\)$", w.log(), re.M), w.log()
    assert request(w, "GET", "/api/zones", auth="ops:s3cret\r")[0] == 200
    assert request(w, "GET", "/api/zones", auth="ops:s3cret")[0] == 401


def test_target_lux_edit(daemon, web):
    ref = WEB_REF + "\n[zone desk]\ntarget_lux = 500  # the desk\nlamp_lux = 400\n"
    d = daemon(ref=ref)
    w = web(d)
    status, _, data = request(w, "GET", "/api/zones")
    assert status == 200
    desk = next(z for z in data if z["zone"] == "desk")
    hall = next(z for z in data if z["zone"] == "hall")
    assert desk["target_lux"] == 500 and "target_lux" not in hall
    status, _, data = request(w, "POST", "/api/zones/thresholds",
                              body={"zone": "desk", "target_lux": 450})
    assert status == 200, data
    assert d.ref_path.read_text() == ref.replace("target_lux = 500  #", "target_lux = 450  #")
    # zero is no target: the file is checked whole and refused at the line
    status, _, data = request(w, "POST", "/api/zones/thresholds",
                              body={"zone": "desk", "target_lux": 0})
    assert status == 422 and "target_lux" in data["errors"][0]["message"], data
    assert data["errors"][0]["line"] > 0
    status, _, data = request(w, "POST", "/api/zones/thresholds",
                              body={"zone": "desk", "target_lux": "x"})
    assert status == 422 and data["errors"][0]["line"] == 0
    assert "450" in d.ref_path.read_text()
