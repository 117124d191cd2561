"""bench.py -- `make bench`: pylightd against a bare libmosquitto relay, on one private broker.

Run by bench.sh as `/usr/bin/python3 tests/bench/bench.py BUILD_DIR`. The timing happens in C
(loadgen); this script only starts processes, reads /proc and prints the table. Exit 0 when the
bench ran (PASS/FAIL is information), non-zero when it could not run.

Controllers: the relay; "pylightd" doing what the relay does (zone_state = "" so that it
publishes orders only, and log level notice so that it does not log each order: in this bench
every reading is a switch); "pylightd+explain", as shipped: explanations on, log level info,
judged on its CPU (SHIPPED_CPU_RATIO) and burst throughput (SHIPPED_THROUGHPUT_RATIO).
"pylightd-dim" is "pylightd" with its zone dimmed (DIM_REF): loadgen's readings move the
level without switching the lamp, and loadgen takes the level on light/level as the answer;
its CPU per reading is held against the on/off zone's (DIM_CPU_RATIO), one publish each.

Environment: BENCH_N (readings per measured run, default 20000), BENCH_ROUNDS (default 5),
BENCH_IDLE (seconds of idle measurement, default 10), BENCH_QOS (default 1, for the relay,
pylightd and loadgen alike), BENCH_RENAMES (rename-to-order samples, default 7),
BENCH_CALLGRIND (default 1: count user-space instructions per reading under valgrind, when it
is installed; 0 skips it), BENCH_PIN (default 1, see below), BENCH_FAILOVER (two-instance
clusters per failover run, default 20, 4 in a smoke run; 0 skips failover), BENCH_KEEPALIVES
(the keepalives failover runs with, default "5 60", "5" in a smoke run), BENCH_KEEP (set:
keep the temporary folder with the broker's and the controllers' logs), BENCH_ZONES (zones of
the scale rows, scale.py: default 100000, 10000 in a smoke run, 1000000 for a city; under 2
skips them; the cluster rows at that scale, failover and a shadow's CPU, are scale.py's too).

Cluster mode (docs/cluster.md): "pylightd-shadow" is an instance that owns no zone of the bench (its
node name is chosen by the zones' XXH64, from Debian's libxxhash through ctypes) beside the
instance that owns them; its CPU per reading is held against the relay's. Failover (failover.c)
runs BENCH_FAILOVER independent clusters side by side on the broker, each under its own topic
prefix and client ids, signals every zone's owner (kill -9, then SIGSTOP: a hung host) and
times how soon the survivor takes over, against the bound 1.5 x keepalive + 1 s: one wait for
all the clusters instead of one per kill.

CPU placement: with two or more CPUs, mosquitto runs on the first and the controller and
loadgen share the second (taskset). Left to the scheduler, the three processes land in one of
two placements from run to run, and burst throughput jumps between ~15,000 and ~18,000 msg/s
for the relay and pylightd alike, so that a median of five was a coin toss. Pinned, the spread
is a few percent, and the controller's own cost shows: it competes with loadgen for its CPU.
BENCH_PIN=0 leaves placement to the scheduler.
"""

import ctypes
import itertools
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MOSQUITTO = "/usr/sbin/mosquitto"
ZONE_COUNTS = (1, 10000)
MODES = (("pingpong", 1), ("burst", 100))
REF = "on_below = 300\noff_above = 300\n"   # the relay's fixed threshold, as pylightd sees it
SENSORS = 3              # sensors per zone in the "-3s" runs: pylightd decides on their median
# The "-fb" runs, one zone. Every reading flips the light and many orders are in flight, so
# the lamp's echo of an order often arrives after the next order: with manual = override that
# late echo would read as a hand switching the lamp back. `ignore` keeps the bench measuring
# the cost of feedback, not a hand that no real lamp has.
FEEDBACK_REF = "feedback = bench/lamp\nconfirm_within = 5s\nmanual = ignore\n"
# Every zone dimmed, and its level is loadgen's answer (-o): a dimmed zone mostly moves its
# level while ON, one publish on light/level per reading and no order, against the on/off
# zone's one order per reading. loadgen's readings alternate DARK (100) and DIM_BRIGHT (350):
# at level 50 a DARK reading leaves 100 - 50 = 50 lux of daylight, short of the target by far
# more than the lamp can give, so the level goes to 100 (max_step 100 lets it in one step);
# at level 100 a DIM_BRIGHT reading leaves 350 - 100 = 250 lux of daylight, and the lamp must
# make up 50 lux: level 50. Every reading publishes (100, 50, 100, ...), whatever the level
# was before the first DARK, and none crosses the ON/OFF edge. The figures are exact in
# binary, so no truncation drifts the level over millions of readings.
DIM_REF = "target_lux = 300\nlamp_lux = 100\nmax_step = 100\nlevel_min = 1\ndeadband = 0\n"
DIM_BRIGHT = 350
DIM_ANSWERS = "light/level"
DIM_CPU_RATIO = 1.1      # a dimmed zone against an on/off zone, in the same run
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
# After traffic, what it set off: pylightd's STATUS timer fires once, 1 s after it, and its
# counters go out (the stats topic) at most 10 s after their first change.
IDLE_SETTLE = 11.0

# Pass marks: pylightd's CPU, p99 latency and throughput beside the relay's, its memory,
# and how soon a reload applies.
CPU_RATIO = 1.15
P99_EXTRA_US = 50.0
THROUGHPUT_RATIO = 0.9
# As shipped (explanations on, log level info): an explanation (QoS 0, retained) beside every
# order, and a log line for each of the first 100 orders of every 10 s (then one counting the
# others).
SHIPPED_CPU_RATIO = {"pingpong": 1.15, "burst": 1.3}
SHIPPED_THROUGHPUT_RATIO = 0.77
RSS_1ZONE_KIB = 5120
ANON_EXTRA_KIB = 256     # heap and stacks (and relocated library pages) beyond the relay's
RSS_PER_ZONE_B = 300
SENSORS_EXTRA_B = 400    # per zone, 3 sensors against 1
FEEDBACK_CPU_RATIO = 1.3 # with a lamp echoing every order: pylightd receives twice as much
RELOAD_MS = 20.0
ADOPTING_S = 2.5         # a node's adoption window after each connect (2 s) and a margin
SHADOW_CPU_RATIO = 0.8   # a shadow decides every reading and publishes nothing
IDLE_EXTRA = 0.2         # wakeups/s beyond the relay's that still count as "none"
SCHED_CPU_RATIO = 1.05   # a schedule and a presence sensor on every zone, vs none
# Every zone inside its (all-day) window and occupied (its sensor never reports): the same
# decisions as REF alone, with the schedule and presence checks in the path.
SCHED_REF = "schedule = daily 00:00-00:00\noccupancy = bench/pir\n"
SCHED_IDLE_ZONES = 10000
MIN_TICKS = 20           # fewer clock ticks of CPU than this (a smoke run) judge nothing
MIN_JUDGED_N = 5000      # fewer readings per run than this (a smoke run) judge no timing
# Cluster mode. The shadow's partner owns the bench's zone; failover.c's clusters are nodes
# FAILOVER_NODES with one zone, FAILOVER_ZONE, under the topic prefix BASE<i>/.
SHADOW_OWNER = "owner"
FAILOVER_NODES = ("a", "b")
FAILOVER_ZONE = "z"
FAILOVER_SIGNALS = (("9", "kill -9"), ("STOP", "SIGSTOP"))
FAILOVER_INTERVAL_MS = 200  # each zone's reading flips this often
# The owners' signals are spread over this long: a hung owner is noticed by the broker's
# keepalive check, which Debian 12's mosquitto (2.0.11) runs only every 6 s or so (and on
# whole seconds), so a takeover lands anywhere in a window that wide; spread, the clusters
# sample the whole window instead of one point of it.
FAILOVER_SPREAD_MS = 6000
FAILOVER_SLACK_S = 15       # beyond the bound, failover.c waits this long for a takeover


class BenchError(Exception):
    """The bench could not run (as opposed to a target being missed)."""


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise BenchError(f"{name} must be an integer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def xxh64(data):
    """XXH64, seed 0, from Debian's libxxhash0: the code pylightd compiles in (libxxhash-dev)."""
    lib = ctypes.CDLL("libxxhash.so.0")
    lib.XXH64.restype = ctypes.c_uint64
    lib.XXH64.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64)
    return lib.XXH64(data, len(data), 0)


def zone_owner(nodes, zone):
    """docs/cluster.md: the live node with the highest XXH64 of NAME "/" ZONE (ties: larger name)."""
    return max(nodes, key=lambda n: (xxh64(f"{n}/{zone}".encode()), n.encode()))


# --- /proc ---------------------------------------------------------------------------------

def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise BenchError(f"no VmHWM for pid {pid}")


# Debian 12's libsystemd.so.0 and the libraries it links at load time (systemd 253 and later
# load the compression and crypto ones only when used): the part of pylightd's RSS that its
# systemd integration (sd_notify, the journal) brings, shown apart from the rest.
SYSTEMD_LIBS = ("libsystemd.so", "libgcrypt.so", "libgpg-error.so", "liblzma.so", "libzstd.so",
                "liblz4.so", "libcap.so")


def rss_parts_kib(pid):
    """(anonymous pages, Rss of SYSTEMD_LIBS) of a process now, from /proc/PID/smaps, in KiB.
    Anonymous pages are the heap and stacks, and also the libraries' pages written at load
    (relocations): about 125 KiB of pylightd's are libsystemd's and its libraries'."""
    anon = systemd = 0
    mapping = ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                mapping = head[5] if len(head) > 5 else ""
            elif head[0] == "Rss:" and os.path.basename(mapping).startswith(SYSTEMD_LIBS):
                systemd += int(head[1])
            elif head[0] == "Anonymous:":
                anon += int(head[1])
    return anon, systemd


def ctxt_switches(pid):
    """{tid: voluntary + nonvoluntary context switches} over the process's threads."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                n = 0
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        n += int(line.split()[1])
                out[int(tid)] = n
        except FileNotFoundError:
            pass
    return out


# --- processes -----------------------------------------------------------------------------

class Broker:
    def __init__(self, workdir, wrap=(), conf=()):
        self.dir = workdir
        self.wrap = list(wrap)  # e.g. taskset
        self.conf = list(conf)  # more lines of mosquitto.conf
        self.log_path = workdir / "mosquitto.log"
        self.proc = None
        self.port = None

    def start(self):
        for _ in range(5):
            self.port = free_port()
            conf = self.dir / "mosquitto.conf"
            lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                     "set_tcp_nodelay true", "persistence false", "log_dest stderr",
                     "log_type error", "log_type warning", "log_type notice",
                     "log_type information", "connection_messages true", *self.conf]
            if os.geteuid() == 0:
                lines.append("user root")
            conf.write_text("\n".join(lines) + "\n")
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.wrap + [MOSQUITTO, "-c", str(conf)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + START_TIMEOUT
            while self.proc.poll() is None and time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.02)
            self.stop()
        raise BenchError(f"mosquitto did not start:\n{self.log_path.read_text(errors='replace')}")

    def has_client(self, client_id):
        return f" as {client_id} (" in self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Controller:
    """One fresh relay or pylightd process, connected to the broker. With `node`, a pylightd
    in cluster mode; `prefix` puts all its topics under PREFIX/; `keepalive` sets [mqtt]'s."""

    serial = 0

    def __init__(self, kind, bench, wrap=(), zones=1, node=None, prefix=None, keepalive=None):
        Controller.serial += 1
        self.zones = zones  # the "-3s" kinds: how many zones of SENSORS sensors to configure
        self.node = node
        self.prefix = prefix
        self.keepalive = keepalive
        self.wrap = bench.pin_work + list(wrap)  # e.g. valgrind and its options
        self.slow = bool(wrap)
        self.kind = kind
        self.bench = bench
        self.dir = bench.tmp / f"{kind}-{Controller.serial}"
        self.dir.mkdir()
        # Not beside ref.txt: pylightd watches that folder, and a line written there per
        # order would wake its main thread on every reading (docs/operations.md).
        self.log_path = bench.tmp / f"{kind}-{Controller.serial}.log"
        self.proc = None
        self.client_id = None

    def start(self):
        return self.launch().wait_connected()

    def launch(self):
        b = self.bench
        log = open(self.log_path, "wb")
        if self.kind.startswith("relay"):
            argv = [str(b.relay), "-p", str(b.broker.port), "-q", str(b.qos)]
            argv += ["-s"] if self.kind == "relay-3s" else []  # relay-fb: the plain relay
        else:
            self.client_id = f"bench-pylightd-{Controller.serial}"
            shipped = self.kind == "pylightd+explain"
            zone_state = "pylight/zone" if shipped or self.kind == "pylightd-fo" else ""
            topics = f"zone_state = {zone_state}\n"
            if self.prefix:
                topics = "".join(f"{key} = {self.prefix}/{topic}\n" if topic else
                                 f"{key} =\n" for key, topic in (
                    ("readings", "value/light"), ("orders", "light/order"),
                    ("override", "light/override"), ("status", "pylight/status"),
                    ("zone_state", zone_state)))
            mqtt = f"keepalive = {self.keepalive}\n" if self.keepalive else ""
            cluster = f"[cluster]\nnode = {self.node}\n" if self.node else ""
            # A shadow logs no line per reading at info either (only an owner logs its orders);
            # info lets its SIGUSR1 dump say who owns the zone.
            level = "info" if shipped or self.kind == "pylightd-shadow" else "notice"
            ref = REF
            if self.kind == "pylightd-fb":
                ref += FEEDBACK_REF
            if self.kind == "pylightd-dim":
                ref += DIM_REF
            if self.kind == "pylightd-sched":
                ref += SCHED_REF
            if self.kind == "pylightd-3s":
                ref += "".join(f"[zone z{z}]\nsensors = " +
                               " ".join(f"z{z}/s{s}" for s in range(SENSORS)) + "\n"
                               for z in range(self.zones))
            (self.dir / "ref.txt").write_text(ref)
            (self.dir / "pylight.ini").write_text(
                "[mqtt]\nhost = 127.0.0.1\n"
                f"port = {b.broker.port}\nclient_id = {self.client_id}\n"
                f"clean_session = true\nqos = {b.qos}\n{mqtt}"
                f"[topics]\n{topics}"
                f"[readings]\nmax_zones = {max(ZONE_COUNTS)}\n"
                f"[log]\nlevel = {level}\n{cluster}")
            argv = [str(b.pylightd), "-c", str(self.dir / "pylight.ini")]
            if self.node:
                self.client_id += f"-{self.node}"  # docs/cluster.md: CLIENT_ID-NAME
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")}
        self.proc = subprocess.Popen(self.wrap + argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, env=env)
        log.close()
        if self.kind.startswith("relay"):
            self.client_id = f"bench-relay-{self.proc.pid}"
        return self

    def wait_connected(self):
        b = self.bench
        try:
            wait_until(lambda: self.proc.poll() is not None or b.broker.has_client(self.client_id),
                       START_TIMEOUT * (4 if self.slow else 1), f"{self.kind} to connect")
        except BenchError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            raise BenchError(f"{self.kind} exited with {self.proc.returncode}:\n{self.stderr()}")
        self.connected_at = time.monotonic()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        return self.log_path.read_text(errors="replace")[-2000:]

    def kill(self):
        """SIGKILL, also through a SIGSTOP; no verdict on how it ended."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise BenchError(f"{self.kind} did not stop on SIGTERM")
        if self.proc.returncode != 0:
            raise BenchError(f"{self.kind} exited with {self.proc.returncode}:\n{self.stderr()}")


# --- the bench -----------------------------------------------------------------------------

def loadgen_extra(kind):
    """loadgen's options for the traffic of `kind`, beyond count, window and zones."""
    if kind.endswith("-3s"):
        return ["-s", str(SENSORS)]
    if kind.endswith("-fb"):
        return ["-f"]
    if kind.endswith("-dim"):
        return ["-o", DIM_ANSWERS, "-b", str(DIM_BRIGHT)]
    return []


def parse_kv(line):
    out = {}
    for word in line.split():
        k, sep, v = word.partition("=")
        if sep:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


class Bench:
    def __init__(self, build):
        root = Path(__file__).resolve().parents[2]
        build = Path(build) if Path(build).is_absolute() else root / build
        self.pylightd = build / "pylightd"
        self.relay = build / "bench" / "relay"
        self.loadgen = build / "bench" / "loadgen"
        self.failover = build / "bench" / "failover"
        self.reload = build / "bench" / "reload"
        for p in (self.pylightd, self.relay, self.loadgen, self.failover, Path(MOSQUITTO)):
            if not os.access(p, os.X_OK):
                raise BenchError(f"{p}: not found (run `make bench`)")
        self.n = env_int("BENCH_N", 20000)
        self.rounds = env_int("BENCH_ROUNDS", 5)
        self.idle_s = env_int("BENCH_IDLE", 10)
        self.qos = env_int("BENCH_QOS", 1)
        self.renames = env_int("BENCH_RENAMES", 7)
        self.callgrind = env_int("BENCH_CALLGRIND", 1) and shutil.which("valgrind")
        if self.n < 1 or self.rounds < 1 or self.idle_s < 1 or self.qos not in (0, 1, 2):
            raise BenchError("BENCH_N, BENCH_ROUNDS and BENCH_IDLE must be >= 1, BENCH_QOS 0..2")
        smoke = self.n < MIN_JUDGED_N
        self.clusters = env_int("BENCH_FAILOVER", 4 if smoke else 20)
        try:
            self.keepalives = [int(k) for k in
                               os.environ.get("BENCH_KEEPALIVES", "5" if smoke else "5 60").split()]
        except ValueError:
            self.keepalives = []
        if not 0 <= self.clusters <= 500 or not self.keepalives or min(self.keepalives) < 5:
            raise BenchError("BENCH_FAILOVER must be 0..500, BENCH_KEEPALIVES numbers >= 5")
        # The shadow: a node name that loses the default zone (loadgen's one zone) to the owner.
        self.shadow_node = next(f"shadow{i}" for i in itertools.count()
                                if zone_owner((SHADOW_OWNER, f"shadow{i}"), "") == SHADOW_OWNER)
        self.raw_path = build / "bench" / "results.txt"
        cpus = sorted(os.sched_getaffinity(0))
        self.pinned = env_int("BENCH_PIN", 1) and len(cpus) >= 2 and shutil.which("taskset")
        self.pin_broker = ["taskset", "-c", str(cpus[0])] if self.pinned else []
        self.pin_work = ["taskset", "-c", str(cpus[1])] if self.pinned else []
        self.tmp = Path(tempfile.mkdtemp(prefix="pylight-bench-"))
        self.broker = Broker(self.tmp, self.pin_broker)
        # results[(kind, zones, mode)] = [loadgen dict per round]; rss[(kind, zones)] = [KiB]
        self.results = {}
        self.rss = {}
        self.idle = {}
        self.failovers = {}  # (keepalive, signal) = failover.c's summary, None if it failed
        self.failover_runs = 0
        self.instructions = None
        self.raw = []

    def note(self, text):
        self.raw.append(text)
        print(text, flush=True)

    def loadgen_run(self, args, pid=None):
        argv = self.pin_work + [str(self.loadgen), "-p", str(self.broker.port),
                                "-q", str(self.qos)] + args
        if pid:
            argv += ["-P", str(pid)]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=600)
        except subprocess.TimeoutExpired:
            raise BenchError(f"loadgen timed out: {' '.join(argv)}")
        if r.returncode != 0:
            raise BenchError(f"loadgen failed ({r.returncode}): {' '.join(argv)}\n{r.stderr}")
        return r.stdout.strip().splitlines()[-1]

    def one_run(self, kind, zones, mode, window):
        # The shadow's partner owns the zone and answers loadgen; it is up first, so that the
        # shadow sees it live from the start.
        owner = Controller("pylightd-owner", self, node=SHADOW_OWNER).start() \
            if kind == "pylightd-shadow" else None
        try:
            ctl = Controller(kind, self, zones=zones,
                             node=self.shadow_node if owner else None).start()
        except BenchError:
            if owner:
                owner.stop()
            raise
        if owner:
            # For its first 2 s after connecting a node follows the orders it sees (it may have
            # missed their readings): the steady state, where it decides, starts after.
            time.sleep(max(0.0, ctl.connected_at + ADOPTING_S - time.monotonic()))
        extra = loadgen_extra(kind)
        try:
            line = self.loadgen_run(["-n", str(self.n), "-w", str(window), "-z", str(zones)]
                                    + extra, ctl.pid)
            hwm = vm_hwm_kib(ctl.pid)
            anon, systemd = rss_parts_kib(ctl.pid)
            if owner:
                self.check_shadow(ctl)
        finally:
            ctl.stop()
            if owner:
                owner.stop()
        res = parse_kv(line)
        res["rss_kib"] = hwm
        res["anon_kib"] = anon
        res["systemd_kib"] = systemd
        self.results.setdefault((kind, zones, mode), []).append(res)
        self.note(f"run kind={kind} {line} vm_hwm_kib={hwm}")
        return hwm

    @staticmethod
    def check_shadow(ctl):
        """The shadow's SIGUSR1 dump must name the other node as the zone's owner."""
        pattern = r"zone '': .* owner (\S+)$"
        ctl.proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: re.search(pattern, ctl.stderr(), re.M), 5, "the shadow's dump")
        owner = re.findall(pattern, ctl.stderr(), re.M)[-1]
        if owner != SHADOW_OWNER:
            raise BenchError(f"node {ctl.node} should own nothing, but the default zone's owner "
                             f"is {owner}, not {SHADOW_OWNER}:\n{ctl.stderr()}")

    def measure_idle(self):
        """Relay and pylightd side by side: both idle, so they do not disturb each other."""
        py = Controller("pylightd", self).start()
        relay = None
        try:
            # Some traffic first: idle means "after work", not "never worked".
            self.loadgen_run(["-n", "200", "-w", "1", "-z", "1"], py.pid)
            relay = Controller("relay", self).start()
            time.sleep(IDLE_SETTLE)
            before = {c.kind: (ctxt_switches(c.pid), c.pid) for c in (py, relay)}
            time.sleep(self.idle_s)
            for c in (py, relay):
                after = ctxt_switches(c.pid)
                b, pid = before[c.kind]
                total = sum(after.get(t, 0) - b.get(t, 0) for t in after)
                main = after.get(pid, 0) - b.get(pid, 0)
                rate = total / self.idle_s
                self.idle.setdefault(c.kind, []).append((rate, main / self.idle_s))
                self.note(f"idle kind={c.kind} seconds={self.idle_s} switches={total} "
                          f"main_thread={main} threads={len(after)} per_s={rate:.2f}")
        finally:
            py.stop()
            if relay:
                relay.stop()

    def measure_idle_scheduled(self):
        """Idle with SCHED_IDLE_ZONES zones that share a schedule: one timer for the next
        edge of them all, not one per zone, so no more wakeups than with one zone."""
        py = Controller("pylightd-sched", self).start()
        try:
            self.loadgen_run(["-n", str(SCHED_IDLE_ZONES), "-w", "100",
                              "-z", str(SCHED_IDLE_ZONES)], py.pid)
            time.sleep(IDLE_SETTLE)
            before = ctxt_switches(py.pid)
            time.sleep(self.idle_s)
            after = ctxt_switches(py.pid)
            total = sum(after.get(t, 0) - before.get(t, 0) for t in after)
            rate = total / self.idle_s
            self.idle.setdefault("pylightd-sched", []).append((rate, None))
            self.note(f"idle kind=pylightd-sched zones={SCHED_IDLE_ZONES} "
                      f"seconds={self.idle_s} switches={total} per_s={rate:.2f}")
        finally:
            py.stop()

    def measure_reload(self):
        if not os.access(self.reload, os.X_OK):
            self.note(f"reload: {self.reload} not built, skipped")
            return None
        try:
            r = subprocess.run([str(self.reload)], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=300, cwd=self.tmp)
        except subprocess.TimeoutExpired:
            self.note("reload: timed out")
            return None
        out = (r.stdout.strip() or r.stderr.strip()).splitlines()
        line = out[-1] if out else ""  # the last line is the figure held to the target
        for text in out:
            self.note(f"reload rc={r.returncode} {text}")
        if r.returncode != 0:
            return None
        m = re.search(r"([0-9]+(?:\.[0-9]+)?)\s*ms\b", line) or \
            re.search(r"_ms=([0-9]+(?:\.[0-9]+)?)", line)
        return (float(m.group(1)) if m else None, out)

    def measure_instructions(self):
        """User-space instructions per reading under callgrind: deterministic where CPU time on
        a shared machine is not. Two runs of different length cancel start-up and warm-up."""
        lengths = (1000, 5000)
        out = {}
        for kind in ("relay", "pylightd", "pylightd+explain", "relay-3s", "pylightd-3s", "relay-fb",
                     "pylightd-fb", "pylightd-dim"):
            total = []
            sensors = loadgen_extra(kind)
            for n in lengths:
                cg = self.tmp / f"callgrind.{kind}.{n}"
                ctl = Controller(kind, self, ["valgrind", "--tool=callgrind",
                                              f"--callgrind-out-file={cg}"]).start()
                try:
                    self.loadgen_run(["-n", str(n), "-w", "100", "-z", "1"] + sensors)
                finally:
                    ctl.stop()
                m = re.search(r"^(?:summary|totals): (\d+)", cg.read_text(), re.M)
                if not m:
                    raise BenchError(f"{cg}: no instruction count")
                total.append(int(m.group(1)))
            out[kind] = (total[1] - total[0]) / (lengths[1] - lengths[0])
            self.note(f"callgrind kind={kind} ir_per_msg={out[kind]:.0f}")
        return out

    def measure_failover(self, keepalive, sig):
        """self.clusters two-instance clusters side by side, each under topics of its own; every
        zone's owner gets `sig` (failover.c sends it) and the survivors' takeovers are timed.
        Returns failover.c's summary, or None when it could not run (noted)."""
        self.failover_runs += 1
        base = f"fo{self.failover_runs}c"  # fresh topics: nothing retained from a run before
        owner = zone_owner(FAILOVER_NODES, FAILOVER_ZONE)
        survivor = next(n for n in FAILOVER_NODES if n != owner)
        bound = 1.5 * keepalive + 1
        ctls = []
        try:
            for i in range(self.clusters):
                for node in FAILOVER_NODES:
                    ctls.append(Controller("pylightd-fo", self, node=node, prefix=f"{base}{i}",
                                           keepalive=keepalive).launch())
            for ctl in ctls:
                ctl.wait_connected()
            argv = self.pin_work + [
                str(self.failover), "-p", str(self.broker.port), "-q", str(self.qos),
                "-x", base, "-o", owner, "-S", survivor, "-k", sig,
                "-P", ",".join(str(c.pid) for c in ctls if c.node == owner),
                "-i", str(FAILOVER_INTERVAL_MS), "-d", str(FAILOVER_SPREAD_MS // self.clusters),
                "-t", str(bound + FAILOVER_SLACK_S + FAILOVER_SPREAD_MS / 1000)]
            try:
                r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=bound + FAILOVER_SLACK_S + 180)
            except subprocess.TimeoutExpired:
                raise BenchError(f"failover timed out: {' '.join(argv)}")
        finally:
            for ctl in ctls:
                if ctl.node == owner:
                    ctl.kill()
            for ctl in ctls:
                if ctl.node != owner:
                    ctl.stop()
        lines = r.stdout.strip().splitlines()
        for text in lines:
            self.note(f"failover keepalive={keepalive} signal={sig} {text}")
        if r.returncode != 0 or not lines:
            self.note(f"failover keepalive={keepalive} signal={sig}: could not run "
                      f"({r.returncode}): {r.stderr.strip()}")
            return None
        if r.stderr.strip():
            self.note(f"failover keepalive={keepalive} signal={sig} stderr: {r.stderr.strip()}")
        # A survivor that never took over: its log, for the report.
        survivors = [c for c in ctls if c.node != owner]
        for text in lines[:-1]:
            res = parse_kv(text)
            if res.get("cluster") is not None and not res.get("takeover_s", 0) >= 0:
                self.note(f"failover: cluster {res['cluster']:.0f} was never taken over; node "
                          f"{survivor}'s log:\n{survivors[int(res['cluster'])].stderr()}")
        return parse_kv(lines[-1])

    def measure_rename(self):
        ctl = Controller("pylightd", self).start()
        try:
            line = self.loadgen_run(["-n", str(self.renames), "-z", "1",
                                     "-r", str(ctl.dir / "ref.txt")])
        finally:
            ctl.stop()
        self.note(f"rename {line}")
        return parse_kv(line)

    def run(self):
        self.broker.start()
        kinds = ["relay", "pylightd", "pylightd-shadow", "pylightd+explain", "relay-3s",
                 "pylightd-3s", "relay-fb", "pylightd-fb", "pylightd-dim", "pylightd-sched"]
        for rnd in range(self.rounds):
            # Alternate who goes first, so that a drift in the machine's load hits both alike.
            order = kinds if rnd % 2 == 0 else kinds[::-1]
            for zones in ZONE_COUNTS:
                # Lamp feedback is measured on one zone: every order comes back as a report.
                # The shadow too: two node names cannot split 10,000 zones all one way.
                here = [k for k in order
                        if zones == 1 or not k.endswith(("-fb", "-shadow", "-dim"))]
                hwm = dict.fromkeys(here, 0)
                # Relay and pylightd back to back for each figure: a pair shares the moment.
                for mode, window in MODES:
                    for kind in here:
                        hwm[kind] = max(hwm[kind], self.one_run(kind, zones, mode, window))
                for kind in here:
                    self.rss.setdefault((kind, zones), []).append(hwm[kind])
            self.measure_idle()
            self.measure_idle_scheduled()
        reload = self.measure_reload()
        rename = self.measure_rename()
        for keepalive in self.keepalives if self.clusters else ():
            for sig, _ in FAILOVER_SIGNALS:
                self.failovers[(keepalive, sig)] = self.measure_failover(keepalive, sig)
        self.instructions = self.measure_instructions() if self.callgrind else None
        self.broker.stop()
        return reload, rename

    def cleanup(self):
        self.broker.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept: {self.tmp} (the broker's and every controller's log)")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            self.raw_path.write_text("\n".join(self.raw) + "\n")
        except OSError:
            pass

    # --- the table -------------------------------------------------------------------------

    def med(self, kind, zones, mode, key):
        vals = [r[key] for r in self.results.get((kind, zones, mode), []) if key in r]
        return statistics.median(vals) if vals else None

    def table(self, reload, rename):
        rows = []
        verdicts = []

        def fmt(v, digits=1):
            if v is None:
                return "-"
            return f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}"

        def smoke(ok):
            """Latency and throughput of a few hundred readings are noise, not a verdict."""
            return "n/a (smoke run)" if ok is not None and self.n < MIN_JUDGED_N else ok

        def add(metric, zones, relay, py, target, ok, digits=1, ratio=True):
            r = (py / relay) if ratio and relay and py is not None else None
            verdict = "info" if ok is None else ok if isinstance(ok, str) else \
                ("PASS" if ok else "FAIL")
            if verdict in ("PASS", "FAIL"):
                verdicts.append(verdict)
            rows.append((metric, str(zones), fmt(relay, digits), fmt(py, digits),
                         "-" if r is None else f"{r:.2f}", target, verdict))

        for kind, title in (("pylightd", "pylightd doing what the relay does: orders only "
                                         "(zone_state off), no log line per order"),
                            ("pylightd+explain", "pylightd as shipped: zone explanations on, "
                                                 "log level info (an explanation beside "
                                                 "every order, a log line for the first 100 "
                                                 "in 10 s)")):
            rows.append((title,))
            check = kind == "pylightd"
            shipped = kind == "pylightd+explain"
            throughput = SHIPPED_THROUGHPUT_RATIO if shipped else THROUGHPUT_RATIO
            for z in ZONE_COUNTS:
                rl, py = (self.med("relay", z, "pingpong", "p50_us"),
                          self.med(kind, z, "pingpong", "p50_us"))
                add("ping-pong p50 (us)", z, rl, py, "", None)
                rl, py = (self.med("relay", z, "pingpong", "p99_us"),
                          self.med(kind, z, "pingpong", "p99_us"))
                add("ping-pong p99 (us)", z, rl, py, f"<= relay + {P99_EXTRA_US:.0f} us",
                    smoke((py <= rl + P99_EXTRA_US) if check and None not in (rl, py) else None))
                rl, py = (self.med("relay", z, "burst", "msgs_per_s"),
                          self.med(kind, z, "burst", "msgs_per_s"))
                add("burst throughput (msg/s)", z, rl, py, f">= {throughput} x relay",
                    smoke((py >= throughput * rl) if (check or shipped) and None not in (rl, py)
                          else None), 0)
                for mode in ("pingpong", "burst"):
                    rl, py = (self.med("relay", z, mode, "cpu_us_per_msg"),
                              self.med(kind, z, mode, "cpu_us_per_msg"))
                    ticks = [self.med(k, z, mode, "cpu_ticks") for k in ("relay", kind)]
                    mark = SHIPPED_CPU_RATIO[mode] if shipped else CPU_RATIO
                    ok = (py <= mark * rl) if (check or shipped) and None not in (rl, py) \
                        else None
                    if ok is not None and min(t or 0 for t in ticks) < MIN_TICKS:
                        ok = "n/a (too few ticks)"
                    add(f"CPU per msg, {mode} (us)", z, rl, py, f"<= {mark} x relay", ok, 2)
                rl = statistics.median(self.rss[("relay", z)])
                py = statistics.median(self.rss[(kind, z)])
                if z == 1:
                    add("peak RSS, VmHWM (KiB)", z, rl, py, f"<= {RSS_1ZONE_KIB} KiB",
                        py <= RSS_1ZONE_KIB if check else None, 0)
                    rl, py = (self.med("relay", z, "burst", "systemd_kib"),
                              self.med(kind, z, "burst", "systemd_kib"))
                    add("  of which libsystemd + the 6 it links", z, rl, py, "info", None, 0)
                    rl, py = (self.med("relay", z, "burst", "anon_kib"),
                              self.med(kind, z, "burst", "anon_kib"))
                    add("  of which anon (heap, stacks, relocs)", z, rl, py,
                        f"<= relay + {ANON_EXTRA_KIB} KiB",
                        (py <= rl + ANON_EXTRA_KIB) if check and None not in (rl, py)
                        else None, 0)
                else:
                    base = statistics.median(self.rss[(kind, 1)])
                    rbase = statistics.median(self.rss[("relay", 1)])
                    add("peak RSS, VmHWM (KiB)", z, rl, py, "", None, 0)
                    per, rper = (py - base) * 1024 / (z - 1), (rl - rbase) * 1024 / (z - 1)
                    add("  RSS per zone (bytes)", z, rper, per, f"<= {RSS_PER_ZONE_B} B",
                        per <= RSS_PER_ZONE_B if check else None, 0, ratio=False)
            if shipped and self.instructions:
                add("user instructions per msg (callgrind)", 1, self.instructions["relay"],
                    self.instructions[kind], "info (burst)", None, 0)
        rows.append((f"{SENSORS} sensors per zone decided on their median, orders only; "
                     f"the relay answers each sensor's reading alone (relay -s)",))
        for z in ZONE_COUNTS:
            for mode in ("pingpong", "burst"):
                rl, py = (self.med("relay-3s", z, mode, "cpu_us_per_msg"),
                          self.med("pylightd-3s", z, mode, "cpu_us_per_msg"))
                ticks = [self.med(k, z, mode, "cpu_ticks") for k in ("relay-3s", "pylightd-3s")]
                ok = (py <= CPU_RATIO * rl) if None not in (rl, py) else None
                if ok is not None and min(t or 0 for t in ticks) < MIN_TICKS:
                    ok = "n/a (too few ticks)"
                add(f"CPU per msg, {mode} (us)", z, rl, py, f"<= {CPU_RATIO} x relay", ok, 2)
            rl = statistics.median(self.rss[("relay-3s", z)])
            py = statistics.median(self.rss[("pylightd-3s", z)])
            add("peak RSS, VmHWM (KiB)", z, rl, py, "", None, 0)
            if z > 1:
                per = (py - statistics.median(self.rss[("pylightd-3s", 1)])) * 1024 / (z - 1)
                one = (statistics.median(self.rss[("pylightd", z)]) -
                       statistics.median(self.rss[("pylightd", 1)])) * 1024 / (z - 1)
                add("  RSS per zone (bytes)", z, one, per, f"<= one sensor + {SENSORS_EXTRA_B} B",
                    per <= one + SENSORS_EXTRA_B, 0, ratio=False)
        if self.instructions:
            add("user instructions per msg (callgrind)", 1, self.instructions["relay-3s"],
                self.instructions["pylightd-3s"], "info (burst)", None, 0)
        rows.append(("lamp feedback on, one zone, orders only: loadgen echoes every order as the "
                     "lamp's report (relay: the plain relay, same traffic)",))
        for mode in ("pingpong", "burst"):
            rl, py = (self.med("relay-fb", 1, mode, "cpu_us_per_msg"),
                      self.med("pylightd-fb", 1, mode, "cpu_us_per_msg"))
            ticks = [self.med(k, 1, mode, "cpu_ticks") for k in ("relay-fb", "pylightd-fb")]
            ok = (py <= FEEDBACK_CPU_RATIO * rl) if None not in (rl, py) else None
            if ok is not None and min(t or 0 for t in ticks) < MIN_TICKS:
                ok = "n/a (too few ticks)"
            add(f"CPU per msg, {mode} (us)", 1, rl, py, f"<= {FEEDBACK_CPU_RATIO} x relay", ok, 2)
        rl, py = (self.med("relay-fb", 1, "pingpong", "p99_us"),
                  self.med("pylightd-fb", 1, "pingpong", "p99_us"))
        add("ping-pong p99 (us)", 1, rl, py, "info", None)
        if self.instructions:
            add("user instructions per msg (callgrind)", 1, self.instructions["relay-fb"],
                self.instructions["pylightd-fb"], "info (burst)", None, 0)
        rows.append(("a dimmed zone, orders only, one zone: each reading moves its level "
                     "(one publish on light/level, no ON/OFF order), against an on/off zone "
                     "whose every reading switches it (one order); relay column: the on/off "
                     "zone",))
        for mode in ("pingpong", "burst"):
            onoff, dim = (self.med("pylightd", 1, mode, "cpu_us_per_msg"),
                          self.med("pylightd-dim", 1, mode, "cpu_us_per_msg"))
            ticks = [self.med(k, 1, mode, "cpu_ticks") for k in ("pylightd", "pylightd-dim")]
            ok = (dim <= DIM_CPU_RATIO * onoff) if None not in (onoff, dim) else None
            if ok is not None and min(t or 0 for t in ticks) < MIN_TICKS:
                ok = "n/a (too few ticks)"
            add(f"CPU per reading, {mode} (us)", 1, onoff, dim,
                f"<= {DIM_CPU_RATIO} x on/off", ok, 2)
        if self.instructions:
            add("user instructions per reading (callgrind)", 1, self.instructions["pylightd"],
                self.instructions["pylightd-dim"], "info (burst)", None, 0)
        rows.append((f"cluster mode, orders only, one zone: node {self.shadow_node}, which owns "
                     f"no zone (it decides every reading and publishes nothing), beside the "
                     f"relay; node {SHADOW_OWNER}, the owner, answers",))
        for mode in ("pingpong", "burst"):
            rl, py = (self.med("relay", 1, mode, "cpu_us_per_msg"),
                      self.med("pylightd-shadow", 1, mode, "cpu_us_per_msg"))
            ticks = [self.med(k, 1, mode, "cpu_ticks") for k in ("relay", "pylightd-shadow")]
            ok = (py <= SHADOW_CPU_RATIO * rl) if None not in (rl, py) else None
            if ok is not None and min(t or 0 for t in ticks) < MIN_TICKS:
                ok = "n/a (too few ticks)"
            add(f"CPU per msg, {mode} (us)", 1, rl, py, f"<= {SHADOW_CPU_RATIO} x relay", ok, 2)
        rows.append(("a schedule (all day) and a presence sensor on every zone, orders only; "
                     "the ratio is to pylightd without them (the relay column shows that run)",))
        for z in ZONE_COUNTS:
            for mode in ("pingpong", "burst"):
                rl, py = (self.med("pylightd", z, mode, "cpu_us_per_msg"),
                          self.med("pylightd-sched", z, mode, "cpu_us_per_msg"))
                ticks = [self.med(k, z, mode, "cpu_ticks") for k in ("pylightd", "pylightd-sched")]
                ok = (py <= SCHED_CPU_RATIO * rl) if None not in (rl, py) else None
                if ok is not None and min(t or 0 for t in ticks) < MIN_TICKS:
                    ok = "n/a (too few ticks)"
                add(f"CPU per reading, {mode} (us)", z, rl, py,
                    f"<= {SCHED_CPU_RATIO} x pylightd", ok, 2)
        if self.failovers:
            rows.append((f"cluster failover: {self.clusters} two-node clusters side by side, "
                         f"one zone each, its reading flipped every {FAILOVER_INTERVAL_MS} ms; "
                         "the owner killed (its socket closes: the broker sends its will at "
                         "once) or stopped (a hung host: the will waits for the keepalive); "
                         "seconds from the signal to the survivor's first explanation or "
                         "order",))
        for (keepalive, sig), res in self.failovers.items():
            bound = 1.5 * keepalive + 1
            what = f"{dict(FAILOVER_SIGNALS)[sig]}, keepalive {keepalive}:"
            target = f"<= {bound:g} s"
            if res is None:
                add(f"{what} takeover (could not run)", 1, None, None, target, False,
                    ratio=False)
                continue
            whole = res["taken"] == self.clusters and not res["silent"] and \
                not res["unexplained"] and not res["errors"]
            med, top = res["median_s"], res["max_s"]
            add(f"{what} takeover, median (s)", 1, None, med, target,
                whole and med <= bound, 3, ratio=False)
            add(f"  max ({res['taken']:.0f} of {self.clusters} took over, {res['silent']:.0f} "
                f"never ordered, {res['unexplained']:.0f} never explained, "
                f"{res['errors']:.0f} errors)", 1, None, top, target, whole and top <= bound, 3,
                ratio=False)
            add(f"  of which after the will, max ({res['wills']:.0f} wills seen)", 1, None,
                res["after_will_max_s"], "info: pylightd's part", None, 3, ratio=False)
        rows.append(("idle, reload and rename (pylightd, orders only)",))
        rl = statistics.median(r for r, _ in self.idle["relay"])
        py = statistics.median(r for r, _ in self.idle["pylightd"])
        pym = statistics.median(m for _, m in self.idle["pylightd"])
        add(f"idle wakeups/s ({self.idle_s} s)", "-", rl, py, f"<= relay + {IDLE_EXTRA}/s",
            py <= rl + IDLE_EXTRA, 2)
        add("  of which pylightd's main thread", "-", None, pym, "info", None, 2, ratio=False)
        sched = statistics.median(r for r, _ in self.idle["pylightd-sched"])
        add(f"idle wakeups/s, {SCHED_IDLE_ZONES:,} scheduled zones", SCHED_IDLE_ZONES, rl,
            sched, f"<= relay + {IDLE_EXTRA}/s", sched <= rl + IDLE_EXTRA, 2)
        if reload is None:
            add("reload of 10,000 zones (ms)", 10000, None, None, f"<= {RELOAD_MS:.0f} ms", None)
        else:
            ms, _lines = reload
            add("reload of 10,000 zones (ms)", 10000, None, ms, f"<= {RELOAD_MS:.0f} ms",
                (ms <= RELOAD_MS) if ms is not None else None, 2, ratio=False)
        add("rename() -> order, median (ms)", 1, None, rename.get("median_ms"),
            "info (~100 ms debounce)", None, 1, ratio=False)
        if self.instructions:
            add("user instructions per msg (callgrind)", 1, self.instructions["relay"],
                self.instructions["pylightd"], "info (burst)", None, 0)

        head = ("metric", "zones", "relay", "pylightd", "ratio", "target", "result")
        widths = [max(len(r[i]) for r in rows + [head] if len(r) > 1) for i in range(len(head))]
        line = "  ".join("{:<%d}" % w if i in (0, 5) else "{:>%d}" % w
                         for i, w in enumerate(widths))
        out = [line.format(*head)]
        for r in rows:
            out.append(f"-- {r[0]}" if len(r) == 1 else line.format(*r))
        if reload is not None:
            out += [f"reload program: {text}" for text in reload[1]]
        fails = verdicts.count("FAIL")
        out.append(f"targets: {verdicts.count('PASS')} PASS, {fails} FAIL "
                   "(information only; `make bench` exits 0 when it ran)")
        return "\n".join(out)


def web_table(bench):
    """pylight-web's own rows (tests/bench/web.py), on a broker of their own."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import web  # pylint: disable=import-outside-toplevel
    binary = bench.pylightd.parent / "pylight-web"
    if not os.access(binary, os.X_OK):
        print(f"pylight-web: {binary} not found, no figures")
        return
    workdir = bench.tmp / "web"
    workdir.mkdir()
    broker = Broker(workdir, bench.pin_broker, web.BROKER_CONF)
    broker.start()
    try:
        fig = web.measure(binary, broker.port, workdir, free_port, bench.pin_work)
        hist = web.measure_history(binary, broker.port, workdir, free_port, bench.pin_work)
        city = web.measure_scale(binary, broker.port, workdir, free_port, bench.pin_work)
    except (RuntimeError, OSError, AssertionError, ValueError) as e:
        print(f"pylight-web: could not measure: {e}")
        return
    finally:
        broker.stop()
    rs = web.rows(fig) + web.history_rows(hist) + web.scale_rows(city)
    w = max(len(r[0]) for r in rs)
    print(f"\n-- pylight-web (the operators' page), {web.REQUESTS} requests on one connection; "
          f"history over {web.HISTORY_SECONDS} s of readings, {web.HISTORY_REQUESTS} requests; "
          f"{web.SCALE_REQUESTS} filtered pages of 200 and deltas at {web.SCALE_ZONES:,} zones")
    for metric, value, target, verdict in rs:
        print(f"{metric:<{w}}  {value:>8}  {target:<14}  {verdict}")
    bench.raw.append(f"web {fig}")
    bench.raw.append(f"web history {hist}")
    bench.raw.append(f"web city {city}")


def scale_table(bench):
    """The scale rows (tests/bench/scale.py): BENCH_ZONES zones, on a broker of their own."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import scale  # pylint: disable=import-outside-toplevel
    zones = env_int("BENCH_ZONES", 10000 if bench.n < MIN_JUDGED_N else 100000)
    if zones < 2:
        print("\n-- scale: skipped (BENCH_ZONES < 2)")
        return
    workdir = bench.tmp / "scale"
    workdir.mkdir()
    broker = Broker(workdir, bench.pin_broker, scale.BROKER_CONF)
    broker.start()
    try:
        fig = scale.measure(bench.pylightd, bench.loadgen, broker.port, workdir, zones,
                            bench.pin_work)
        try:  # cluster mode at this scale: failover, a shadow's CPU (rows of their own)
            fig.update(scale.measure_cluster(bench.pylightd, bench.loadgen,
                                             bench.loadgen.parent / "takeover", bench.relay,
                                             broker.port, workdir, zones, bench.pin_work))
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            print(f"scale: could not measure cluster mode: {e}")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"scale: could not measure: {e}")
        return
    finally:
        broker.stop()
    scale.print_rows(fig)
    bench.raw.append(f"scale {fig}")


def main():
    if len(sys.argv) != 2:
        print("usage: bench.py BUILD_DIR", file=sys.stderr)
        return 2
    try:
        bench = Bench(sys.argv[1])
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    try:
        load = os.getloadavg()[0]
        placement = (f"mosquitto on CPU {bench.pin_broker[-1]}, controller and loadgen on CPU "
                     f"{bench.pin_work[-1]}" if bench.pinned else "CPUs left to the scheduler")
        print(f"pylight bench: {bench.n} readings per run, {bench.rounds} round(s), medians; "
              f"QoS {bench.qos} for relay, pylightd and loadgen; mosquitto with "
              f"set_tcp_nodelay on 127.0.0.1; {os.cpu_count()} CPUs, load {load:.2f}; "
              f"{placement}", flush=True)
        reload, rename = bench.run()
        print()
        print(bench.table(reload, rename))
        web_table(bench)
        scale_table(bench)
        print(f"raw results: {bench.raw_path}")
    except BenchError as e:
        print(f"bench: could not run: {e}", file=sys.stderr)
        return 1
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
