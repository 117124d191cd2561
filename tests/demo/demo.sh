#!/bin/bash
# demo.sh -- `make demo`: a private broker, two pylightd in a cluster and a simulated day of lux
# readings, shown live
#
# Usage: demo.sh PATH-TO-PYLIGHTD; pylight-web beside it serves the operators' page (on
# DEMO_WEB_PORT, default a free port). Runs until Ctrl-C, or for DEMO_SECONDS seconds when set.
# DEMO_DAY sets how many seconds a simulated day lasts (60). A meeting room empties a second
# into the run and goes dark when its vacancy time is over; a shop's opening hours end a few
# seconds into the run (its window is written then, and the daemons' time zone is shifted by
# a few seconds so that a whole minute falls there). Two instances, nodes east and
# west, share the zones ([cluster] node, docs/cluster.md); the viewer stops one of them
# cleanly for a while (from 40% to 80% of DEMO_SECONDS, or twice a simulated day when it
# runs forever) so that the other is seen taking over its zones, then has it started again.
# Everything lives in one temporary folder, removed on exit with every process started here.
set -euo pipefail

PYLIGHTD=${1:?usage: demo.sh PATH-TO-PYLIGHTD}
PY=/usr/bin/python3
MOSQUITTO=/usr/sbin/mosquitto
DEMO_SECONDS=${DEMO_SECONDS:-0}

die() {
	echo "demo: $*" >&2
	exit 1
}

[[ -x $PYLIGHTD ]] || die "$PYLIGHTD is not an executable (run make first)"
[[ -x $MOSQUITTO ]] || die "$MOSQUITTO is missing (apt-get install mosquitto)"
[[ $DEMO_SECONDS =~ ^[0-9]+$ ]] || die "DEMO_SECONDS must be a whole number of seconds"
"$PY" -c 'import paho.mqtt.client' 2>/dev/null || die "python3-paho-mqtt is missing"

dir=$(mktemp -d "${TMPDIR:-/tmp}/pylight-demo.XXXXXX")
NODES=(east west)
broker_pid=
declare -A daemon_pid=() # node -> pid of its running pylightd
for node in "${NODES[@]}"; do daemon_pid[$node]=; done
viewer_pid=
web_pid=
PYLIGHT_WEB=$(dirname "$PYLIGHTD")/pylight-web

# Whether pid is still running (a zombie waiting to be reaped is not). Builtins only: it
# runs in the cleanup of an interrupted demo, where Debian 12's bash 5.2.15 crashes
# (SIGSEGV, the broker left running) on a command substitution.
running() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" && [[ ${stat##*) } != Z* ]]
}

# Stops a child of this shell: SIGTERM, then SIGKILL after 5 s. Sets stopped_rc.
stop() {
	local pid=$1 i
	stopped_rc=0
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		running "$pid" || break
		sleep 0.1
	done
	running "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || stopped_rc=$?
}

# Says that node's pylightd failed (why), and shows the end of its log.
daemon_failed() {
	echo "demo: pylightd $1 $2; its log:" >&2
	tail -n 30 "$dir/pylightd-$1.log" >&2
}

# Starts node's pylightd; its pid goes to daemon_pid and, for the viewer, to pylightd-NODE.pid.
start_daemon() {
	local node=$1
	TZ=$demo_tz "$PYLIGHTD" -c "$dir/pylightd-$node.ini" 2>>"$dir/pylightd-$node.log" 3>&- &
	daemon_pid[$node]=$!
	echo "${daemon_pid[$node]}" >"$dir/pylightd-$node.pid.tmp"
	mv "$dir/pylightd-$node.pid.tmp" "$dir/pylightd-$node.pid"
}

# Stops node's pylightd cleanly (SIGTERM), as the viewer asked; it must exit 0.
stop_daemon() {
	local node=$1
	[[ -n ${daemon_pid[$node]} ]] || return 0
	rm -f "$dir/pylightd-$node.pid"
	stop "${daemon_pid[$node]}"
	daemon_pid[$node]=
	((stopped_rc == 0)) || {
		daemon_failed "$node" "exited with status $stopped_rc when stopped"
		exit 1
	}
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	stop "$viewer_pid"
	stop "$web_pid"
	for node in "${NODES[@]}"; do
		stop "${daemon_pid[$node]}"
		if [[ -n ${daemon_pid[$node]} && $stopped_rc -ne 0 ]]; then
			daemon_failed "$node" "exited with status $stopped_rc"
			((rc == 0 || rc >= 128)) && rc=1
		fi
	done
	stop "$broker_pid"
	rm -rf "$dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The sensor and the viewer: one paho client publishing readings and showing what comes back.
cat >"$dir/demo.py" <<'EOF'
"""demo.py -- simulated lux sensors for a few zones, and a live view of the decisions of two
pylightd in a cluster, one of which it has stopped and started again now and then"""
import collections, json, math, os, random, statistics, sys, threading, time
import paho.mqtt.client as paho

GLOBAL = {"on_below": 200, "off_above": 300, "smoothing": 3}
# The shop's opening hours end EDGE seconds after the ref is written (see tz_text).
EDGE = 7
ZONES = [  # name, its [zone] section, sensor: daylight peak (lux), noise (relative)
    ("hall", {"on_below": 150, "off_above": 250, "smoothing": 5,
              "feedback": "zigbee2mqtt/hall_lamp", "confirm_within": "2s", "retries": 2},
     600, 0.15),
    ("office", {"on_below": 400, "off_above": 550, "min_on": "3s",
                "feedback": "stat/office/POWER", "confirm_within": "2s", "retries": 2},
     900, 0.10),
    ("floor1/kitchen", {"on_below": 250, "off_above": 350, "smoothing": 7}, 700, 0.30),
    # Dark rooms, lit while somebody is there / while the shop is open.
    ("meeting", {"occupancy": "zigbee2mqtt/meeting_pir", "vacancy_after": "2s"}, 60, 0.10),
    ("shop", {"schedule": None, "outside": "off"}, 60, 0.10),
]
PIR = "zigbee2mqtt/meeting_pir"


def tz_text():
    """A time zone EDGE seconds short of a whole minute, for the daemons: a window's edge
    then comes within the run however short it is."""
    shift = math.ceil(-(time.time() + EDGE)) % 60
    return f"DEMO-00:00:{shift:02d}"


def shop_hours():
    """Two hours ending at the next whole minute of local time (TZ is tz_text's, so that
    minute comes about EDGE seconds after tz_text ran)."""
    now = time.localtime(time.time() + EDGE - 3)
    end = now.tm_hour * 60 + now.tm_min + 1
    start = (end - 120) % 1440
    end %= 1440
    return f"daily {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


# A zone with three sensors: the median of the fresh ones decides, so the one under a lamp,
# which reads high whenever the lamp is on, cannot switch the room off by itself.
LOBBY = ("lobby", {"on_below": 200, "off_above": 300, "sensors": "lobby/window lobby/door "
                   "lobby/lamp", "aggregate": "median"})
LOBBY_SENSORS = [  # sensor, daylight peak (lux), noise, extra lux while the lamp is ON
    ("lobby/window", 700, 0.10, 0), ("lobby/door", 500, 0.10, 0), ("lobby/lamp", 450, 0.10, 900)]
SENSOR_ZONE = {sensor: LOBBY[0] for sensor, _, _, _ in LOBBY_SENSORS}
# A dimmed desk: pylightd keeps 500 lux there with just the light daylight lacks, and
# publishes the lamp's level on light/level/desk. The simulated lamp gives 20 % less than
# the lamp_lux written in ref.txt, as real lamps do: the level still settles.
DESK = ("desk", {"target_lux": 500, "lamp_lux": 600})
DESK_DAYLIGHT, DESK_NOISE, DESK_SHARE = 800, 0.05, 600 * 0.8
# Simulated lamps: the hall's reports every order as Zigbee2MQTT does; the office's, like a
# flaky radio, misses some, so pylightd publishes the order again until it answers.
LAMPS = {"hall": ("zigbee2mqtt/hall_lamp", 1.0, lambda s: json.dumps({"state": s})),
         "office": ("stat/office/POWER", 0.4, lambda s: s)}
TICK = 0.5
# Running forever, the viewer stops one instance from 07:30 to 09:30 and the other from 15:30
# to 17:30 of each simulated day, the hours when the lights switch: the other one takes over.
OUTAGES = [(7.5, 9.5), (15.5, 17.5)]


def ref_text():
    out = ["# pylight demo thresholds (edit while the demo runs: pylightd reloads on save)", ""]
    out += [f"{k} = {v}" for k, v in GLOBAL.items()]
    for name, keys in [(z[0], z[1]) for z in ZONES] + [LOBBY, DESK]:
        keys = {k: shop_hours() if k == "schedule" else v for k, v in keys.items()}
        out += ["", f"[zone {name}]"] + [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(out) + "\n"


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class Demo:
    def __init__(self, port, folder, nodes, seconds, day):
        self.port, self.folder, self.nodes = port, folder, nodes
        self.seconds, self.day = seconds, day
        self.lock = threading.Lock()
        self.came_online = {node: threading.Event() for node in nodes}
        self.went_offline = None  # an instance gone offline that the demo did not stop
        self.stopped = set()  # instances the demo stopped, until they are back online
        self.down = None  # the instance the demo stopped and has not started again
        self.outage_now = None  # the outage of the schedule that stopped it
        self.first = None  # the instance the first outage stops
        self.expect = None  # (node, "offline" or "online", by when), after asking for it
        self.owner = {}  # zone -> the instance named by its last explanation
        self.handed = {}  # node -> the zones it owned when the demo stopped it
        self.announced = set()  # zones shown as announced to Home Assistant
        self.windows = {z: collections.deque(maxlen=k.get("smoothing", GLOBAL["smoothing"]))
                        for z, k, _, _ in ZONES}
        self.light = {z: "-" for z, _, _, _ in ZONES}
        self.light[LOBBY[0]] = "-"
        self.level = 0  # the desk's level, as last published
        self.readings = self.orders = 0
        self.present = None  # what the meeting room's presence sensor said last
        self.t0 = time.monotonic()
        tty = sys.stdout.isatty() and os.environ.get("TERM", "dumb") != "dumb"
        self.colour = {"ON": "\033[1;33m", "OFF": "\033[1;34m", "dim": "\033[2m",
                       "cluster": "\033[1;35m", "end": "\033[0m"} if tty \
            else collections.defaultdict(str)
        self.client = paho.Client(client_id=f"pylight-demo-sensor-{os.getpid()}")
        self.client.on_connect = self.on_connect
        self.client.on_message = self.on_message

    def clock(self):
        hours = (5 + 24 * (time.monotonic() - self.t0) / self.day) % 24
        return f"{int(hours):02d}:{int(hours % 1 * 60):02d}"

    def pid(self, node):
        """The pid of node's pylightd as demo.sh last started it, or None while it is not."""
        try:
            with open(os.path.join(self.folder, f"pylightd-{node}.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def ask(self, verb, node):
        """Asks demo.sh, which started every pylightd, to stop or start node's."""
        with open(os.path.join(self.folder, "control"), "w") as f:
            f.write(f"{verb} {node}\n")

    def zones_of(self, node):
        """The zones whose last explanation node published, as a list for people."""
        with self.lock:
            zones = sorted(z for z, n in self.owner.items() if n == node)
        return ", ".join(zones) if zones else "none yet"

    def lux(self, peak, noise):
        hours = (5 + 24 * (time.monotonic() - self.t0) / self.day) % 24
        sun = max(0.0, math.sin(math.pi * (hours - 6) / 12))
        return max(0.0, round(3 + peak * sun ** 1.3 * (1 + random.gauss(0, noise)), 1))

    def show(self, zone, what, text, colour=""):
        c = self.colour
        with self.lock:
            print(f"{c['dim']}{self.clock()}{c['end']}  {zone:<16} {colour}{what:<8}{c['end']} "
                  f"{text}", flush=True)

    def on_connect(self, client, userdata, flags, rc):
        client.subscribe([("value/light/#", 1), ("light/order/#", 1), ("pylight/zone/#", 1),
                          ("homeassistant/+/+/+/config", 1),
                          ("zigbee2mqtt/hall_lamp", 1), ("stat/office/POWER", 1), (PIR, 1),
                          ("pylight/status/+", 1), ("light/level/#", 1)])

    def on_message(self, client, userdata, msg):
        payload = msg.payload.decode(errors="replace")
        topic = msg.topic
        if topic.startswith("homeassistant/"):
            # One line per zone, on its last entity: what Home Assistant would show. Every
            # instance announces the same configs: the first announcement is shown.
            if topic.endswith("_mode/config") and payload:
                doc = json.loads(payload)
                zone = doc["device"]["name"][len("pylight "):]
                if zone not in self.announced:
                    self.announced.add(zone)
                    self.show(zone, "HA", "announced to Home Assistant: light, lux and mode "
                              f"({doc['unique_id'][:-5]})", self.colour["dim"])
            return
        if topic.startswith("pylight/status/"):
            self.on_status(topic[len("pylight/status/"):], payload)
        elif topic == f"value/light/{DESK[0]}":
            self.readings += 1
            self.show(DESK[0], "reading", f"{float(payload):7.1f} lx   level {self.level} %   "
                      f"(target {DESK[1]['target_lux']} lx)")
        elif topic.startswith("light/level/"):
            self.level = int(payload)
            self.show(topic[len("light/level/"):], "level", f"{payload} %",
                      self.colour["ON"] if self.level else self.colour["OFF"])
        elif topic == PIR:
            there = json.loads(payload)["occupancy"]
            self.show("meeting", "presence", "somebody there" if there else
                      "nobody there any more", self.colour["dim"])
        elif topic.startswith("value/light/") and topic[len("value/light/"):] in SENSOR_ZONE:
            sensor = topic[len("value/light/"):]
            self.readings += 1
            self.show(sensor, "reading", f"{float(payload):7.1f} lx   (a sensor of "
                      f"{SENSOR_ZONE[sensor]})")
        elif topic.startswith("value/light/"):
            zone = topic[len("value/light/"):]
            window = self.windows.get(zone)
            if window is None:
                return
            self.readings += 1
            window.append(float(payload))
            light = self.light[zone]
            self.show(zone, "reading", f"{float(payload):7.1f} lx   median of {len(window)} "
                      f"{statistics.median(window):7.1f}   light "
                      f"{self.colour.get(light, '')}{light}{self.colour['end']}")
        elif topic.startswith("light/order/"):
            zone = topic[len("light/order/"):]
            self.orders += 1
            self.light[zone] = payload
            self.show(zone, "ORDER", f"{self.colour.get(payload, '')}{payload}"
                      f"{self.colour['end']}", self.colour.get(payload, ""))
            if zone in LAMPS:
                lamp_topic, p_report, fmt = LAMPS[zone]
                if random.random() < p_report:
                    threading.Timer(0.2, client.publish, (lamp_topic, fmt(payload))).start()
                else:
                    self.show(zone, "lamp", "(no answer: the order was lost)",
                              self.colour["dim"])
        elif topic in [t for t, _, _ in LAMPS.values()]:
            zone = next(z for z, (t, _, _) in LAMPS.items() if t == topic)
            self.show(zone, "lamp", f"reports {payload}", self.colour["dim"])
        elif topic.startswith("pylight/zone/"):
            zone = topic[len("pylight/zone/"):]
            try:
                why = json.loads(payload)
                if "sensors" in why and why["lux"] is not None:
                    parts = ", ".join(f"{name.split('/')[-1]} {s['lux']:g}"
                                      for name, s in why["sensors"].items()
                                      if s.get("lux") is not None)
                    self.show(zone, "sensors", f"{why['aggregate']} of {parts} = "
                              f"{why['lux']:g} lx", self.colour["dim"])
                lamp = (f", lamp {why['lamp'] or '-'} "
                        f"{'confirmed' if why['confirmed'] else 'unconfirmed'}, retries "
                        f"{why['retries']}") if "confirmed" in why else ""
                node = why.get("node")
                with self.lock:
                    self.owner[zone] = node
                smoothed = "" if why["smoothed"] is None \
                    else f"smoothed {why['smoothed']:g} lx: "
                self.show(zone, "why", f"[{node}] {smoothed}{why['reason']} "
                          f"(mode {why['mode']}, switches {why['switches']}{lamp})",
                          self.colour["dim"])
            except (ValueError, KeyError, TypeError):
                self.show(zone, "why", payload, self.colour["dim"])

    def on_status(self, node, payload):
        if node not in self.nodes:
            return
        others = " and ".join(n for n in self.nodes if n != node)
        if payload == "online":
            self.came_online[node].set()
            if node in self.stopped and node != self.down:
                self.stopped.discard(node)
                self.expect = None
                self.show("cluster", node, f"started again: it takes back its zones "
                          f"({self.handed.get(node)}) from {others}", self.colour["cluster"])
        elif node in self.stopped:
            if self.expect and self.expect[:2] == (node, "offline"):
                self.expect = None
                self.show("cluster", node, f"stopped: {others} takes over its zones "
                          f"({self.handed.get(node)})", self.colour["cluster"])
        else:
            self.went_offline = node

    def wait_online(self):
        deadline = time.monotonic() + 15
        while not all(e.wait(0.1) for e in self.came_online.values()):
            for node in self.nodes:
                if not self.came_online[node].is_set() and not alive(self.pid(node)):
                    sys.exit(f"demo: pylightd {node} exited before coming online")
            if time.monotonic() > deadline:
                late = " and ".join(n for n in self.nodes if not self.came_online[n].is_set())
                sys.exit(f"demo: pylightd {late} did not come online within 15 s")

    def outage(self, elapsed):
        """The outage (0, 1, ...) elapsed seconds into the run fall in, or None."""
        if self.seconds:
            return 0 if 0.4 <= elapsed / self.seconds < 0.8 else None
        hours = 5 + 24 * elapsed / self.day
        for i, (start, end) in enumerate(OUTAGES):
            if start <= hours % 24 < end:
                return len(OUTAGES) * int(hours // 24) + i
        return None

    def victim(self, outage):
        """The instance an outage stops: first the one owning the most zones, then in turn."""
        if self.first is None:
            with self.lock:
                owned = collections.Counter(self.owner.values())
            self.first = max(reversed(self.nodes), key=lambda node: owned[node])
        return self.nodes[(self.nodes.index(self.first) + outage) % len(self.nodes)]

    def takeover(self, elapsed):
        """Stops or starts an instance when the schedule says so; checks the others."""
        if self.went_offline:
            sys.exit(f"demo: pylightd {self.went_offline} went offline")
        for node in self.nodes:
            pid = self.pid(node)
            if node != self.down and pid is not None and not alive(pid):
                sys.exit(f"demo: pylightd {node} exited" + (" before coming online" if
                                                           node in self.stopped else ""))
        expect = self.expect  # on_status clears it when it comes
        if expect and time.monotonic() > expect[2]:
            sys.exit(f"demo: pylightd {expect[0]} did not go {expect[1]} within 15 s")
        want = self.outage(elapsed)
        if want == self.outage_now or self.expect:
            return
        if self.outage_now is not None:
            node, self.down, self.outage_now = self.down, None, None
            self.show("cluster", node, "starting again", self.colour["cluster"])
            self.expect = (node, "online", time.monotonic() + 15)
            self.ask("start", node)
        else:
            self.outage_now = want
            want = self.down = self.victim(want)
            self.stopped.add(want)
            self.handed[want] = self.zones_of(want)
            self.show("cluster", want, "stopping (SIGTERM, as systemctl stop does)",
                      self.colour["cluster"])
            self.expect = (want, "offline", time.monotonic() + 15)
            self.ask("stop", want)

    def presence(self, elapsed):
        """The meeting room empties a second into a short run; running forever, it is
        occupied from 08:00 to 18:00 of each simulated day. Reported on change only, as
        most sensors do, and retained (Zigbee2MQTT's `retain: true`): an instance started
        again learns who is there from the broker."""
        if self.seconds:
            there = elapsed < 1.0
        else:
            there = 8 <= (5 + 24 * elapsed / self.day) % 24 < 18
        if there != self.present:
            self.present = there
            self.client.publish(PIR, json.dumps({"occupancy": there}), qos=1, retain=True)

    def run(self):
        self.client.connect_async("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        self.wait_online()
        print(f"{'time':<5}  {'zone':<16} {'event':<8} details (a day lasts {self.day:g} s)",
              flush=True)
        self.t0 = time.monotonic()
        tick = 0
        while not self.seconds or time.monotonic() - self.t0 < self.seconds:
            self.takeover(time.monotonic() - self.t0)
            self.presence(time.monotonic() - self.t0)
            for zone, _, peak, noise in ZONES:
                self.client.publish(f"value/light/{zone}", f"{self.lux(peak, noise)}", qos=1)
            lamp_on = self.light[LOBBY[0]] == "ON"
            for sensor, peak, noise, lamp in LOBBY_SENSORS:
                lux = self.lux(peak, noise) + (lamp if lamp_on else 0)
                self.client.publish(f"value/light/{sensor}", f"{lux:.1f}", qos=1)
            lux = self.lux(DESK_DAYLIGHT, DESK_NOISE) + DESK_SHARE * self.level / 100
            self.client.publish(f"value/light/{DESK[0]}", f"{lux:.1f}", qos=1)
            tick += 1
            time.sleep(max(0.0, self.t0 + tick * TICK - time.monotonic()))
        self.client.disconnect()
        self.client.loop_stop()
        print(f"demo: {self.readings} readings, {self.orders} orders in "
              f"{time.monotonic() - self.t0:.0f} s", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "ref":
        sys.stdout.write(ref_text())
    elif sys.argv[1] == "tz":
        print(tz_text())
    else:
        Demo(int(sys.argv[2]), sys.argv[4], sys.argv[5:], int(sys.argv[3]),
             float(os.environ.get("DEMO_DAY", "60"))).run()
EOF

# A free loopback port, checked by starting the broker on it (retried if taken meanwhile).
wait_listening() {
	local i
	for ((i = 0; i < 100; i++)); do
		running "$broker_pid" || return 1
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
for _ in 1 2 3; do
	port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
	{
		echo "listener $port 127.0.0.1"
		echo "allow_anonymous true"
		echo "set_tcp_nodelay true"
		echo "persistence false"
		echo "log_dest stderr"
		if [[ $EUID -eq 0 ]]; then echo "user root"; fi
	} >"$dir/mosquitto.conf"
	"$MOSQUITTO" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.log" 2>&1 &
	broker_pid=$!
	wait_listening && break
	stop "$broker_pid"
	broker_pid=
done
[[ -n $broker_pid ]] || die "mosquitto did not start: $(tail -n 5 "$dir/mosquitto.log")"

# The daemons' clock: a few seconds short of a whole minute, where the shop closes.
demo_tz=$("$PY" "$dir/demo.py" tz)
TZ=$demo_tz "$PY" "$dir/demo.py" ref >"$dir/ref.txt"
web_port=${DEMO_WEB_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')}
# pylight.ini is pylight-web's; each pylightd reads it plus its [cluster] node.
cat >"$dir/pylight.ini" <<EOF
; pylight demo settings (written by demo.sh)
[mqtt]
host = 127.0.0.1
port = $port
client_id = pylight-demo-$$
reconnect_max = 2

[thresholds]
file = ref.txt

[log]
level = info

[homeassistant]
discovery = true

[web]
listen = 127.0.0.1:$web_port
# the demo's history lives and goes with its folder, never in /var/lib/pylight
history = $dir/history.db
EOF
for node in "${NODES[@]}"; do
	{
		cat "$dir/pylight.ini"
		printf '\n[cluster]\nnode = %s\n' "$node"
	} >"$dir/pylightd-$node.ini"
done
# The viewer asks for an instance to be stopped or started again with a line on this pipe.
mkfifo "$dir/control"
exec 3<>"$dir/control"
for node in "${NODES[@]}"; do start_daemon "$node"; done
web_url=
if [[ -x $PYLIGHT_WEB ]]; then
	"$PYLIGHT_WEB" -c "$dir/pylight.ini" 2>"$dir/pylight-web.log" 3>&- &
	web_pid=$!
	web_url="http://127.0.0.1:$web_port/"
fi

echo "pylight demo: mosquitto on 127.0.0.1:$port, files in $dir"
echo "a cluster of two pylightd sharing the zones: east (pid ${daemon_pid[east]}) and west" \
	"(pid ${daemon_pid[west]}); the why lines say which one published them, [east] or [west]"
if [[ -n $web_url ]]; then
	echo "the operators' page (pylight-web, pid $web_pid): $web_url"
fi
echo "thresholds ($dir/ref.txt):"
sed 's/^/    /' "$dir/ref.txt"
if ((DEMO_SECONDS)); then
	echo "running for $DEMO_SECONDS s; from $((DEMO_SECONDS * 4 / 10)) s to" \
		"$((DEMO_SECONDS * 8 / 10)) s the instance owning the most zones is stopped, and the" \
		"other serves them meanwhile"
else
	echo "Ctrl-C stops the demo and removes everything it started; each simulated day one" \
		"instance is stopped from 07:30 to 09:30, the other from 15:30 to 17:30, and the" \
		"one left serves all the zones meanwhile"
fi
echo

"$PY" "$dir/demo.py" run "$port" "$DEMO_SECONDS" "$dir" "${NODES[@]}" 3>&- &
viewer_pid=$!
while running "$viewer_pid"; do
	read -r -t 0.2 verb node <&3 || continue
	[[ -n $node && -v daemon_pid[$node] ]] || die "the viewer asked for '$verb $node'"
	case $verb in
	stop) stop_daemon "$node" ;;
	start) [[ -n ${daemon_pid[$node]} ]] || start_daemon "$node" ;;
	*) die "the viewer asked for '$verb $node'" ;;
	esac
done
viewer_rc=0
wait "$viewer_pid" || viewer_rc=$?
viewer_pid=
exit "$viewer_rc"
