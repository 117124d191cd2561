"""conftest.py -- black-box fixtures: a real mosquitto, the real pylightd and real MQTT clients.

Every helper the test modules share lives here, once: brokers (plain, with a password, with
TLS), MQTT clients, the daemon, a fake systemd notify socket and memory measurements.

Nothing is mocked. Every wait polls for the awaited behaviour with a generous deadline
(TIMEOUT) because the suite must pass on a loaded 2-core machine and under ASan; the only
bounded waits are MqttClient.expect_none() and Daemon.expect_alive(), which assert that
something does NOT happen.
"""

import itertools
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import namedtuple
from pathlib import Path

import paho.mqtt.client as paho
import pytest

ROOT = Path(__file__).resolve().parents[2]
# tests/rawmqtt.py, shared with the bench: many messages sent as raw packets.
sys.path.insert(0, str(ROOT / "tests"))
PYLIGHTD = Path(os.environ.get("PYLIGHTD", ROOT / "build/plain/pylightd")).resolve()
PYLIGHT_WEB = Path(os.environ.get("PYLIGHT_WEB", ROOT / "build/plain/pylight-web")).resolve()
MOSQUITTO = "/usr/sbin/mosquitto"
TIMEOUT = 10.0
POLL = 0.02

# The daemon's default topics.
READ = "value/light"
ORDER = "light/order"
STATUS = "pylight/status"
ZONE_STATE = "pylight/zone"
OVERRIDE = "light/override"

# Markers of a sanitizer report; LeakSanitizer's summary also says AddressSanitizer.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

# A warning line on stderr: the level's name, then the message. (Under systemd the daemon
# sends its messages to the journal with a priority field, never as "<4>" on stderr.)
WARNING_LINE = r"^warning: "

# Variables that would make the daemon talk to a systemd it is not running under.
SYSTEMD_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
               "LISTEN_FDS", "LISTEN_PID", "INVOCATION_ID")


def wait_until(cond, timeout=TIMEOUT, what="condition"):
    """Polls cond() until it returns something truthy, which is returned; fails on timeout
    saying what was awaited (`what` may be a callable, evaluated then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            what = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def topic_matches(pattern, topic):
    """MQTT filter matching: `+` is one level, a trailing `#` is any number (including none)."""
    p, t = pattern.split("/"), topic.split("/")
    for i, part in enumerate(p):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(p) == len(t)


def sanitizer_report(text):
    return any(mark in text for mark in SANITIZER_MARKS)


def daemon_env():
    return {k: v for k, v in os.environ.items() if k not in SYSTEMD_ENV}


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def faketime_env(**settings):
    """Variables that run the daemon under libfaketime with `settings` (FAKETIME=...)."""
    if not os.path.exists(FAKETIME_LIB):
        pytest.fail("libfaketime is not installed: tests/deps.sh installs it")
    # An ASan build wants its runtime first; libfaketime only wraps clock calls.
    asan = ":".join(o for o in (os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if o)
    return {"LD_PRELOAD": FAKETIME_LIB, "ASAN_OPTIONS": asan, **settings}


def terminate(proc):
    """SIGTERM, and SIGKILL if the process has not gone within TIMEOUT; waits for it."""
    proc.terminate()
    try:
        proc.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def require_binary():
    if not (PYLIGHTD.is_file() and os.access(PYLIGHTD, os.X_OK)):
        pytest.fail(f"pylightd binary not found at {PYLIGHTD} (run `make`, or set PYLIGHTD)")


# --- broker -------------------------------------------------------------------------------

Published = namedtuple("Published", "topic dup qos retain")


class Broker:
    """A private mosquitto on a loopback port that stays the same across restarts.

    Its log (log_type all) is the outside view of what each client did: tests read the
    SUBSCRIBE/SUBACK and PUBLISH lines from it. Extra configuration: `head` lines go first,
    `tail` lines (further listeners and their settings) last; extra ports stay fixed across
    restarts.
    """

    def __init__(self, workdir, persistence=False, head=(), tail=()):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.persistence = persistence
        self.head, self.tail = list(head), list(tail)
        self.port = None
        self.proc = None
        self.conf_path = self.dir / "mosquitto.conf"
        self.log_path = self.dir / "mosquitto.log"
        self.run_offset = 0  # where the current run's lines start in the log

    def _write_conf(self):
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type all",
            "connection_messages true",
        ]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/",
                      "autosave_interval 1"]
        else:
            lines.append("persistence false")
        if os.geteuid() == 0:
            lines.append("user root")
        self.conf_path.write_text("\n".join([*self.head, *lines, *self.tail]) + "\n")

    def _accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def start(self):
        """Starts mosquitto and waits until it accepts connections. The first start picks a
        free port (retrying if another process grabs it first); later starts reuse it."""
        assert not self.running(), "broker already running"
        attempts = 5 if self.port is None else 1
        for _ in range(attempts):
            if attempts > 1:
                self.port = free_port()
            self._write_conf()
            with open(self.log_path, "ab") as log:
                self.run_offset = log.tell()
                self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf_path)],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            wait_until(lambda: self.proc.poll() is not None or self._accepts(),
                       what=f"mosquitto to listen on port {self.port}")
            if self.proc.poll() is None:
                return self
        pytest.fail(f"mosquitto did not start on port {self.port}:\n{self.log()}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Clean shutdown (SIGTERM); waits for the process to go."""
        if self.running():
            self.proc.send_signal(signal.SIGCONT)
            terminate(self.proc)

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def log(self, current_run=False):
        """The broker's log text: every run's, or only the current run's."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.run_offset if current_run else 0)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _client_lines(self, client_id):
        """The current run's log lines since `client_id`'s latest connection, or None if it
        has not connected to this run."""
        lines = self.log(current_run=True).splitlines()
        marker = f" as {client_id} ("
        starts = [i for i, line in enumerate(lines)
                  if "New client connected from" in line and marker in line]
        if not starts:
            return None
        return lines[starts[-1]:]

    def connections(self, client_id):
        """How many times client_id has connected, over every run."""
        marker = f" as {client_id} ("
        return sum(1 for line in self.log().splitlines()
                   if "New client connected from" in line and marker in line)

    def acked_qos(self, client_id):
        """{topic filter: requested QoS} the broker has acknowledged to client_id on its
        latest connection to the current run."""
        lines = self._client_lines(client_id)
        if lines is None:
            return {}
        acked, pending = {}, None
        for line in lines:
            text = line.split(": ", 1)[1] if ": " in line else line
            if text == f"Received SUBSCRIBE from {client_id}":
                pending = {}
            elif pending is not None and text.startswith("\t"):
                m = re.match(r"\t(\S+) \(QoS (\d)", text)
                if m:
                    pending[m.group(1)] = int(m.group(2))
            elif text == f"Sending SUBACK to {client_id}" and pending is not None:
                acked.update(pending)
                pending = None
        return acked

    def acked_filters(self, client_id):
        """Topic filters the broker has acknowledged to client_id on its latest connection
        to the current run."""
        return set(self.acked_qos(client_id))

    def wait_subscribed(self, client_id, topics, timeout=TIMEOUT):
        """Waits until, on its latest connection, client_id holds acknowledged subscriptions
        covering every topic in `topics`. The broker handles one client's packets in order,
        so a message published after this returns reaches the client."""
        def covered():
            filters = self.acked_filters(client_id)
            return all(any(topic_matches(f, t) for f in filters) for t in topics)
        wait_until(covered, timeout, f"{client_id} to subscribe to {topics}")

    def published_by(self, client_id, since_connect=False):
        """PUBLISH packets the broker received from client_id (all, or since its latest connect)."""
        lines = self._client_lines(client_id) if since_connect else self.log().splitlines()
        out = []
        pat = re.compile(r"Received PUBLISH from " + re.escape(client_id) +
                         r" \(d(\d), q(\d), r(\d), m\d+, '(.*)', \.\.\. \(\d+ bytes\)\)$")
        for line in lines or []:
            m = pat.search(line)
            if m:
                out.append(Published(m.group(4), int(m.group(1)), int(m.group(2)),
                                     bool(int(m.group(3)))))
        return out


@pytest.fixture
def broker_factory(tmp_path):
    """broker_factory(start=True, persistence=False, head=[...], tail=[...]) -> a Broker.
    Makes extra brokers; `broker` is the usual one."""
    made = []

    def make(start=True, persistence=False, head=(), tail=()):
        b = Broker(tmp_path / f"broker{len(made)}", persistence, head, tail)
        made.append(b)
        if start:
            b.start()
        return b

    yield make
    for b in made:
        b.kill()


@pytest.fixture
def broker(broker_factory):
    return broker_factory()


# --- MQTT clients ---------------------------------------------------------------------------

Msg = namedtuple("Msg", "topic payload retain time")
_client_ids = itertools.count()


class MqttClient:
    """A paho-mqtt 1.6 client that records every message it receives.

    It reconnects by itself when the broker restarts and renews its subscriptions;
    wait_ready() waits until that is done.
    """

    def __init__(self, broker, topics, client_id=None):
        self.broker = broker
        self.topics = list(topics)
        self.client_id = client_id or f"bbtest-{os.getpid()}-{next(_client_ids)}"
        self.messages = []
        self._cond = threading.Condition()
        self._ready = False
        self._sub_mid = None
        self.c = paho.Client(client_id=self.client_id, clean_session=True,
                             protocol=paho.MQTTv311)
        self.c.reconnect_delay_set(min_delay=0.2, max_delay=0.5)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = self._on_message
        self.c.connect_async("127.0.0.1", broker.port, keepalive=30)
        self.c.loop_start()
        self.wait_ready()

    def _on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            return
        if self.topics:
            _, mid = client.subscribe([(t, 1) for t in self.topics])
            with self._cond:
                self._sub_mid = mid
        else:
            self._set_ready(True)

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        with self._cond:
            if mid == self._sub_mid:
                self._ready = True
                self._cond.notify_all()

    def _on_disconnect(self, client, userdata, rc):
        self._set_ready(False)

    def _set_ready(self, ready):
        with self._cond:
            self._ready = ready
            self._cond.notify_all()

    def _on_message(self, client, userdata, m):
        msg = Msg(m.topic, m.payload.decode("utf-8", "replace"), bool(m.retain),
                  time.monotonic())
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def _wait(self, cond, timeout, what):
        with self._cond:
            if not self._cond.wait_for(cond, timeout):
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; "
                            f"received: {self.messages}")
            return cond()

    def wait_ready(self, timeout=TIMEOUT):
        """Waits until connected with every subscription acknowledged."""
        self._wait(lambda: self._ready, timeout, f"{self.client_id} to (re)connect and subscribe")

    def publish(self, topic, payload, qos=1, retain=False):
        self.wait_ready()
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published(), f"publish to {topic} not acknowledged"

    def mark(self):
        """A position in the message list, for `after=`."""
        with self._cond:
            return len(self.messages)

    def _select(self, topic, payload, pred, after):
        return [m for m in self.messages[after:]
                if (topic is None or m.topic == topic)
                and (payload is None or m.payload == payload)
                and (pred is None or pred(m))]

    def wait_for(self, topic=None, payload=None, *, pred=None, after=0, count=1,
                 timeout=TIMEOUT):
        """Waits for `count` messages from position `after` matching topic, payload and
        pred (a callable on Msg; it may also be passed as the first argument). Returns the
        count-th match."""
        if callable(topic):
            topic, pred = None, topic

        def found():
            hits = self._select(topic, payload, pred, after)
            return hits[count - 1] if len(hits) >= count else None
        return self._wait(found, timeout, f"message topic={topic!r} payload={payload!r}")

    def received(self, topic=None, payload=None, *, pred=None, after=0):
        with self._cond:
            return self._select(topic, payload, pred, after)

    def payloads(self, topic, after=0):
        return [m.payload for m in self.received(topic, after=after)]

    def expect_none(self, topic=None, payload=None, *, pred=None, within=0.7, after=None):
        """Asserts that no matching message arrives (from position `after`, default now)
        within `within` seconds. The one bounded wait allowed: keep it short and rare."""
        if after is None:
            after = self.mark()
        with self._cond:
            self._cond.wait_for(lambda: self._select(topic, payload, pred, after), within)
            hits = self._select(topic, payload, pred, after)
        assert not hits, f"unexpected message(s): {hits}"

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def mqtt(broker):
    """mqtt(topics..., broker=other) -> MqttClient connected and subscribed."""
    made = []

    def make(*topics, on=None):
        c = MqttClient(on or broker, topics)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


class Barrier:
    """Proves the daemon has handled everything published before: a reading for a fresh
    zone must produce that zone's first order, which comes after every earlier order
    because the daemon handles readings and publishes orders in order."""

    def __init__(self, client, readings=READ, orders=ORDER):
        self.client, self.readings, self.orders = client, readings, orders
        self.n = 0

    def __call__(self):
        self.n += 1
        zone = f"sync/{self.n}"
        mark = self.client.mark()
        self.client.publish(f"{self.readings}/{zone}", "0")
        self.client.wait_for(f"{self.orders}/{zone}", after=mark)


# --- the daemon ---------------------------------------------------------------------------

DEFAULT_REF = "on_below = 300\noff_above = 400\n"

# A ref.txt with comments, odd spacing and two sections: what the page's editor must keep.
WEB_REF = """\
# thresholds of the building
on_below = 300   # lux
off_above = 400

[zone hall]
  on_below  =  150   # the hall has big windows
  off_above = 250

# the kitchen inherits the rest
[zone kitchen]
smoothing = 3
"""


class Daemon:
    """One pylightd process with its own folder, pylight.ini and ref.txt."""

    def __init__(self, workdir, broker, ref, overrides, client_id):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.broker = broker
        self.client_id = client_id
        self.ini_path = self.dir / "pylight.ini"
        self.ref_path = self.dir / "ref.txt"
        self.err_path = self.dir / "stderr.log"
        self.out_path = self.dir / "stdout.log"
        self.proc = None
        self.returncode = None
        self.settings = {
            "mqtt": {"host": "127.0.0.1", "port": str(broker.port), "client_id": client_id,
                     "reconnect_min": "1", "reconnect_max": "2"},
            "thresholds": {"file": "ref.txt"},
            "log": {"level": "info"},
        }
        for section, keys in (overrides or {}).items():
            self.settings.setdefault(section, {}).update(keys)
        # In cluster mode the daemon connects as CLIENT_ID-NODE (CLIENT_ID defaults to Pylight).
        node = self.settings.get("cluster", {}).get("node")
        if node:
            self.client_id = f"{self.settings['mqtt'].get('client_id') or 'Pylight'}-{node}"
        self.ini_path.write_text(self.ini_text())
        if ref is not None:
            self.ref_path.write_text(ref)

    def ini_text(self):
        out = []
        for section, keys in self.settings.items():
            out.append(f"[{section}]")
            out += [f"{k} = {v}" for k, v in keys.items() if v is not None]
            out.append("")
        return "\n".join(out)

    def topic(self, kind):
        return self.settings.get("topics", {}).get(kind) or {
            "readings": READ, "orders": ORDER, "status": STATUS, "zone_state": ZONE_STATE,
            "override": OVERRIDE}[kind]

    def start(self, wait=True, args=(), env=None, cmd_prefix=(), binary=None):
        """Starts the daemon (`binary`, default PYLIGHTD) behind an optional wrapper command
        (valgrind, a shell), with extra environment variables (NOTIFY_SOCKET, ASAN_OPTIONS)
        added to daemon_env()."""
        require_binary()
        self.connects = self.broker.connections(self.client_id)
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen([*cmd_prefix, str(binary or PYLIGHTD),
                                          "-c", str(self.ini_path), *args],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=dict(daemon_env(), **(env or {})))
        if wait:
            self.wait_ready()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=TIMEOUT):
        """Waits until the broker has acknowledged the daemon's subscriptions to readings of
        the default zone and of zones (from then on, published readings reach it), on a
        connection of this process: a restarted one's predecessor subscribed too."""
        readings = self.topic("readings")
        wait_until(lambda: self.broker.connections(self.client_id) > self.connects, timeout,
                   lambda: f"{self.client_id} to connect; log:\n{self.log()}")
        self.broker.wait_subscribed(self.client_id, [readings, readings + "/a/b"], timeout)
        assert self.alive(), f"pylightd exited:\n{self.log()}"

    def log(self):
        try:
            return self.err_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            return self.out_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, regex, timeout=TIMEOUT, flags=re.M):
        """Waits until stderr matches regex; returns the match."""
        pat = re.compile(regex, flags)
        return wait_until(lambda: pat.search(self.log()), timeout,
                          lambda: f"pylightd log to match {regex!r}; log so far:\n{self.log()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"pylightd did not exit within {timeout:.0f} s; log:\n{self.log()}")
        return self.returncode

    def stop(self, sig=None, timeout=TIMEOUT):
        """Sends sig (default SIGTERM) and returns the exit code."""
        self.signal(sig or signal.SIGTERM)
        return self.wait_exit(timeout)

    def expect_alive(self, within=1.0):
        """Asserts the process does not exit within `within` seconds (a bounded wait)."""
        try:
            code = self.proc.wait(within)
        except subprocess.TimeoutExpired:
            return
        pytest.fail(f"pylightd exited with {code}; log:\n{self.log()}")


@pytest.fixture
def daemon(broker, tmp_path, request):
    """daemon(ref=DEFAULT_REF, ini={"section": {"key": "value"}}, start=True, wait=True,
    on=broker, args=(), env=None) -> a started Daemon (see Daemon.start). A value of None in
    `ini` removes that key."""
    made = []

    def make(ref=DEFAULT_REF, ini=None, start=True, wait=True, on=None, args=(), env=None):
        cid = f"pylightd-{uuid.uuid4().hex[:10]}"
        d = Daemon(tmp_path / f"daemon{len(made)}", on or broker, ref, ini, cid)
        made.append(d)
        if start:
            d.start(wait=wait, args=args, env=env)
        return d

    yield make

    reports = []
    for d in made:
        if d.alive():
            request.node.user_properties.append(("pylightd_running_at_teardown", d.pid))
            terminate(d.proc)
        text = d.log() + d.stdout()
        if sanitizer_report(text):
            reports.append(f"--- {d.err_path}\n{text}")
    if reports:
        pytest.fail("sanitizer report in pylightd output:\n" + "\n".join(reports),
                    pytrace=False)


@pytest.fixture
def run_pylightd():
    """run_pylightd(*args, cwd=None, program=PYLIGHTD) -> CompletedProcess (text); fails on a
    sanitizer report. `program=PYLIGHT_WEB` runs pylight-web instead."""
    def run(*args, cwd=None, timeout=TIMEOUT, program=PYLIGHTD):
        require_binary()
        res = subprocess.run([str(program), *args], cwd=cwd, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, env=daemon_env(), timeout=timeout)
        if sanitizer_report(res.stdout + res.stderr):
            pytest.fail(f"sanitizer report from {program.name} {' '.join(args)}:\n{res.stderr}",
                        pytrace=False)
        return res
    return run


# --- pylight-web ---------------------------------------------------------------------------

class Web:
    """One pylight-web process reading a Daemon's pylight.ini (so that both share ref.txt),
    with [web] listen on a free loopback port unless `ini` says otherwise."""

    def __init__(self, daemon, ini=None):
        self.daemon = daemon
        self.port = free_port()
        self.ini_path = daemon.dir / "pylight-web.ini"
        self.err_path = daemon.dir / "pylight-web.log"
        settings = {k: dict(v) for k, v in daemon.settings.items()}
        settings.setdefault("web", {})["listen"] = f"127.0.0.1:{self.port}"
        # never the system's /var/lib/pylight: the history goes beside the daemon's files
        settings["web"]["history"] = str(daemon.dir / "history.db")
        for section, keys in (ini or {}).items():
            settings.setdefault(section, {}).update(keys)
        out = []
        for section, keys in settings.items():
            out.append(f"[{section}]")
            out += [f"{k} = {v}" for k, v in keys.items() if v is not None]
            out.append("")
        self.ini_path.write_text("\n".join(out))
        self.client_id = settings["mqtt"]["client_id"] + "-web"
        self.zone_state = settings.get("topics", {}).get("zone_state") or ZONE_STATE
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, wait=True, cmd_prefix=()):
        if not (PYLIGHT_WEB.is_file() and os.access(PYLIGHT_WEB, os.X_OK)):
            pytest.fail(f"pylight-web not found at {PYLIGHT_WEB} (run `make`, or set PYLIGHT_WEB)")
        with open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen([*cmd_prefix, str(PYLIGHT_WEB), "-c",
                                          str(self.ini_path)],
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=daemon_env())
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        """Waits until it answers HTTP and has subscribed to the zones' explanations."""
        def answers():
            assert self.proc.poll() is None, f"pylight-web exited:\n{self.log()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False
        wait_until(answers, what=lambda: f"pylight-web to listen; log:\n{self.log()}")
        self.daemon.broker.wait_subscribed(self.client_id, [self.zone_state + "/x"])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            return self.err_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@pytest.fixture
def web(request):
    """web(daemon, ini={"web": {...}}, start=True) -> a started Web beside `daemon`."""
    made = []

    def make(daemon, ini=None, start=True):
        w = Web(daemon, ini)
        made.append(w)
        if start:
            w.start()
        return w

    yield make
    reports = []
    for w in made:
        if w.alive():
            terminate(w.proc)
            if w.proc.returncode != 0:
                reports.append(f"pylight-web exited {w.proc.returncode} on SIGTERM:\n{w.log()}")
        if sanitizer_report(w.log()):
            reports.append(f"--- {w.err_path}\n{w.log()}")
    if reports:
        pytest.fail("pylight-web:\n" + "\n".join(reports), pytrace=False)


# --- a fake systemd -------------------------------------------------------------------------

class NotifySocket:
    """A fake systemd: an AF_UNIX datagram socket that records every sd_notify message with
    the time it was received. A thread keeps reading it, so the daemon never waits on a
    full queue while a test is busy elsewhere."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.msgs = []  # (monotonic receive time, {key: value})
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            select.select([self.sock], [], [], 0.05)
            self._receive()

    def _receive(self):
        """Records every message waiting on the socket; returns how many there were."""
        n = 0
        with self._lock:
            while True:
                try:
                    data = self.sock.recv(65536)
                except OSError:  # BlockingIOError: nothing (more) waiting
                    return n
                lines = data.decode(errors="replace").split("\n")
                self.msgs.append((time.monotonic(),
                                  dict(line.split("=", 1) for line in lines if "=" in line)))
                n += 1

    def drain(self, quiet=0.05):
        """Records every message sent so far, then returns once none has come for `quiet`
        seconds."""
        self._receive()
        while True:
            n = len(self.msgs)
            time.sleep(quiet)
            if self._receive() == 0 and len(self.msgs) == n:
                return

    def wait(self, pred, after=0, what="notification"):
        """Waits for a message at index >= after matching pred; returns its index."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            self.drain()
            for i in range(after, len(self.msgs)):
                if pred(self.msgs[i][1]):
                    return i
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; got "
                            f"{[m for _, m in self.msgs[after:]]}")

    def statuses(self):
        """Every STATUS= received so far, oldest first."""
        self._receive()
        return [m["STATUS"] for _, m in list(self.msgs) if "STATUS" in m]

    def wait_status(self, regex, timeout=TIMEOUT):
        """Waits for a STATUS= matching regex (case-insensitive); returns it."""
        pat = re.compile(regex, re.I)
        return wait_until(lambda: next((s for s in self.statuses() if pat.search(s)), None),
                          timeout, lambda: f"a STATUS matching {regex!r}; "
                                           f"got {self.statuses()[-5:]}")

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    """A NotifySocket in the test's folder, or in a shorter one if that path is too long."""
    with tempfile.TemporaryDirectory(prefix="pylight-notify-") as short:
        path = tmp_path / "notify.sock"
        if len(str(path)) > 100:  # sun_path holds 108 bytes
            path = Path(short) / "notify.sock"
        n = NotifySocket(path)
        yield n
        n.close()


# --- brokers that demand a password or speak TLS ------------------------------------------

def password_file(path, user, password):
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), user, password], check=True,
                   capture_output=True)
    return path


def auth_broker(broker_factory, tmp_path, password):
    """A broker whose first listener (for the tests' clients) is open and whose second
    listener, `auth_port`, demands user `system` with `password`."""
    pw = password_file(tmp_path / "mosquitto.passwd", "system", password)
    auth_port = free_port()
    b = broker_factory(head=["per_listener_settings true"],
                       tail=[f"listener {auth_port} 127.0.0.1", "allow_anonymous false",
                             f"password_file {pw}"])
    b.auth_port, b.password_path = auth_port, pw
    return b


def refusal_times(b, seconds_for, count):
    """Polls the broker's log and returns the monotonic times at which its first `count`
    refusals of a CONNECT appeared (a refused client has no id yet: its address stands in)."""
    seen = []
    pat = re.compile(r"Sending CONNACK to [\d.]+ \(\d, [1-9]\d*\)")

    def enough():
        n = len(pat.findall(b.log()))
        while len(seen) < n:
            seen.append(time.monotonic())
        return len(seen) >= count
    wait_until(enough, seconds_for, f"{count} refused attempts; broker log:\n{b.log()}")
    return seen[:count]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_cert(d, name, subject, ca=None, ext=None):
    """An EC key and a certificate for `subject`, self-signed (a CA) or signed by `ca`."""
    if ca is None:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                "-subj", subject, cwd=d)
        return
    (d / f"{name}.ext").write_text(ext + "\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
            cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_cert(d, "ca", "/CN=pylight test CA")
    make_cert(d, "server", "/CN=localhost", ca="ca",
              ext="subjectAltName=DNS:localhost,IP:127.0.0.1")
    make_cert(d, "client", "/CN=pylight", ca="ca", ext="extendedKeyUsage=clientAuth")
    make_cert(d, "other-ca", "/CN=somebody else's CA")
    make_cert(d, "stranger", "/CN=elsewhere.example", ca="ca",
              ext="subjectAltName=DNS:elsewhere.example")
    return d


def tls_broker(broker_factory, pki, require_certificate=False, cert="server"):
    """A broker with a plain listener (tests' clients) and a TLS one at `tls_port`."""
    port = free_port()
    b = broker_factory(tail=[f"listener {port} 127.0.0.1", f"cafile {pki}/ca.crt",
                             f"certfile {pki}/{cert}.crt", f"keyfile {pki}/{cert}.key",
                             f"require_certificate {str(require_certificate).lower()}"])
    b.tls_port = port
    return b


def works(d, mqtt, b):
    """Daemon `d`, connected to broker `b`, turns a reading into an order."""
    d.wait_ready()
    c = mqtt(ORDER + "/#", on=b)
    c.publish(READ + "/tls", "100")
    c.wait_for(ORDER + "/tls", "ON")
    assert d.alive()


# --- memory ---------------------------------------------------------------------------------

def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def sanitized(binary=PYLIGHTD):
    return b"__asan_init" in Path(binary).read_bytes()


def measurable_env():
    """Environment for a daemon whose memory is measured: ASan's quarantine keeps up to
    256 MiB of freed blocks, which would read as growth; a small one still catches reuse."""
    if not sanitized():
        return {}
    opts = [os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=1",
            "thread_local_quarantine_size_kb=64"]
    return {"ASAN_OPTIONS": ":".join(o for o in opts if o)}
