#!/bin/bash
# demo.sh -- `make demo`: a private broker, pylightd and a simulated day of lux readings, shown live
#
# Usage: demo.sh PATH-TO-PYLIGHTD; pylight-web beside it serves the operators' page (on
# DEMO_WEB_PORT, default a free port). Runs until Ctrl-C, or for DEMO_SECONDS seconds when set.
# DEMO_DAY sets how many seconds a simulated day lasts (60). Everything lives in one
# temporary folder, removed on exit with every process started here.
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
broker_pid=
daemon_pid=
viewer_pid=
web_pid=
PYLIGHT_WEB=$(dirname "$PYLIGHTD")/pylight-web

# Whether pid is still running (a zombie waiting to be reaped is not).
running() {
	[[ -r /proc/$1/stat ]] && [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) != Z ]]
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

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	stop "$viewer_pid"
	stop "$web_pid"
	stop "$daemon_pid"
	if [[ -n $daemon_pid && $stopped_rc -ne 0 ]]; then
		echo "demo: pylightd exited with status $stopped_rc; its log:" >&2
		tail -n 30 "$dir/pylightd.log" >&2
		((rc == 0 || rc >= 128)) && rc=1
	fi
	stop "$broker_pid"
	rm -rf "$dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The sensor and the viewer: one paho client publishing readings and showing what comes back.
cat >"$dir/demo.py" <<'EOF'
"""demo.py -- simulated lux sensors for a few zones, and a live view of pylightd's decisions"""
import collections, json, math, os, random, statistics, sys, threading, time
import paho.mqtt.client as paho

GLOBAL = {"on_below": 200, "off_above": 300, "smoothing": 3}
ZONES = [  # name, its [zone] section, sensor: daylight peak (lux), noise (relative)
    ("hall", {"on_below": 150, "off_above": 250, "smoothing": 5,
              "feedback": "zigbee2mqtt/hall_lamp", "confirm_within": "2s", "retries": 2},
     600, 0.15),
    ("office", {"on_below": 400, "off_above": 550, "min_on": "3s",
                "feedback": "stat/office/POWER", "confirm_within": "2s", "retries": 2},
     900, 0.10),
    ("floor1/kitchen", {"on_below": 250, "off_above": 350, "smoothing": 7}, 700, 0.30),
]
# A zone with three sensors: the median of the fresh ones decides, so the one under a lamp,
# which reads high whenever the lamp is on, cannot switch the room off by itself.
LOBBY = ("lobby", {"on_below": 200, "off_above": 300, "sensors": "lobby/window lobby/door "
                   "lobby/lamp", "aggregate": "median"})
LOBBY_SENSORS = [  # sensor, daylight peak (lux), noise, extra lux while the lamp is ON
    ("lobby/window", 700, 0.10, 0), ("lobby/door", 500, 0.10, 0), ("lobby/lamp", 450, 0.10, 900)]
SENSOR_ZONE = {sensor: LOBBY[0] for sensor, _, _, _ in LOBBY_SENSORS}
# Simulated lamps: the hall's reports every order as Zigbee2MQTT does; the office's, like a
# flaky radio, misses some, so pylightd publishes the order again until it answers.
LAMPS = {"hall": ("zigbee2mqtt/hall_lamp", 1.0, lambda s: json.dumps({"state": s})),
         "office": ("stat/office/POWER", 0.4, lambda s: s)}
TICK = 0.5


def ref_text():
    out = ["# pylight demo thresholds (edit while the demo runs: pylightd reloads on save)", ""]
    out += [f"{k} = {v}" for k, v in GLOBAL.items()]
    for name, keys in [(z[0], z[1]) for z in ZONES] + [LOBBY]:
        out += ["", f"[zone {name}]"] + [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(out) + "\n"


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class Demo:
    def __init__(self, port, daemon_pid, seconds, day):
        self.port, self.daemon_pid, self.seconds, self.day = port, daemon_pid, seconds, day
        self.lock = threading.Lock()
        self.online = threading.Event()
        self.offline = threading.Event()
        self.windows = {z: collections.deque(maxlen=k.get("smoothing", GLOBAL["smoothing"]))
                        for z, k, _, _ in ZONES}
        self.light = {z: "-" for z, _, _, _ in ZONES}
        self.light[LOBBY[0]] = "-"
        self.readings = self.orders = 0
        self.t0 = time.monotonic()
        tty = sys.stdout.isatty() and os.environ.get("TERM", "dumb") != "dumb"
        self.colour = {"ON": "\033[1;33m", "OFF": "\033[1;34m", "dim": "\033[2m",
                       "end": "\033[0m"} if tty else collections.defaultdict(str)
        self.client = paho.Client(client_id=f"pylight-demo-sensor-{os.getpid()}")
        self.client.on_connect = self.on_connect
        self.client.on_message = self.on_message

    def clock(self):
        hours = (5 + 24 * (time.monotonic() - self.t0) / self.day) % 24
        return f"{int(hours):02d}:{int(hours % 1 * 60):02d}"

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
                          ("zigbee2mqtt/hall_lamp", 1), ("stat/office/POWER", 1),
                          ("pylight/status", 1)])

    def on_message(self, client, userdata, msg):
        payload = msg.payload.decode(errors="replace")
        topic = msg.topic
        if topic.startswith("homeassistant/"):
            # One line per zone, on its last entity: what Home Assistant would show.
            if topic.endswith("_mode/config") and payload:
                doc = json.loads(payload)
                self.show(doc["device"]["name"][len("pylight "):], "HA", "announced to Home "
                          f"Assistant: light, lux and mode ({doc['unique_id'][:-5]})",
                          self.colour["dim"])
            return
        if topic == "pylight/status":
            (self.online if payload == "online" else self.offline).set()
            if payload == "online":
                self.offline.clear()
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
                if "sensors" in why:
                    parts = ", ".join(f"{name.split('/')[-1]} {s['lux']:g}"
                                      for name, s in why["sensors"].items()
                                      if s.get("lux") is not None)
                    self.show(zone, "sensors", f"{why['aggregate']} of {parts} = "
                              f"{why['lux']:g} lx", self.colour["dim"])
                lamp = (f", lamp {why['lamp'] or '-'} "
                        f"{'confirmed' if why['confirmed'] else 'unconfirmed'}, retries "
                        f"{why['retries']}") if "confirmed" in why else ""
                self.show(zone, "why", f"smoothed {why['smoothed']:g} lx: {why['reason']} "
                          f"(mode {why['mode']}, switches {why['switches']}{lamp})",
                          self.colour["dim"])
            except (ValueError, KeyError, TypeError):
                self.show(zone, "why", payload, self.colour["dim"])

    def wait_online(self):
        deadline = time.monotonic() + 15
        while not self.online.wait(0.1):
            if not alive(self.daemon_pid):
                sys.exit("demo: pylightd exited before coming online")
            if time.monotonic() > deadline:
                sys.exit("demo: pylightd did not come online within 15 s")

    def run(self):
        self.client.connect_async("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        self.wait_online()
        print(f"{'time':<5}  {'zone':<16} {'event':<8} details (a day lasts {self.day:g} s)",
              flush=True)
        self.t0 = time.monotonic()
        tick = 0
        while not self.seconds or time.monotonic() - self.t0 < self.seconds:
            if self.offline.is_set():
                sys.exit("demo: pylightd went offline")
            for zone, _, peak, noise in ZONES:
                self.client.publish(f"value/light/{zone}", f"{self.lux(peak, noise)}", qos=1)
            lamp_on = self.light[LOBBY[0]] == "ON"
            for sensor, peak, noise, lamp in LOBBY_SENSORS:
                lux = self.lux(peak, noise) + (lamp if lamp_on else 0)
                self.client.publish(f"value/light/{sensor}", f"{lux:.1f}", qos=1)
            tick += 1
            time.sleep(max(0.0, self.t0 + tick * TICK - time.monotonic()))
        self.client.disconnect()
        self.client.loop_stop()
        print(f"demo: {self.readings} readings, {self.orders} orders in "
              f"{time.monotonic() - self.t0:.0f} s", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "ref":
        sys.stdout.write(ref_text())
    else:
        Demo(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
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

"$PY" "$dir/demo.py" ref >"$dir/ref.txt"
web_port=${DEMO_WEB_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')}
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
EOF
"$PYLIGHTD" -c "$dir/pylight.ini" 2>"$dir/pylightd.log" &
daemon_pid=$!
web_url=
if [[ -x $PYLIGHT_WEB ]]; then
	"$PYLIGHT_WEB" -c "$dir/pylight.ini" 2>"$dir/pylight-web.log" &
	web_pid=$!
	web_url="http://127.0.0.1:$web_port/"
fi

echo "pylight demo: mosquitto on 127.0.0.1:$port, pylightd (pid $daemon_pid), files in $dir"
if [[ -n $web_url ]]; then
	echo "the operators' page (pylight-web, pid $web_pid): $web_url"
fi
echo "thresholds ($dir/ref.txt):"
sed 's/^/    /' "$dir/ref.txt"
if ((DEMO_SECONDS)); then
	echo "running for $DEMO_SECONDS s"
else
	echo "Ctrl-C stops the demo and removes everything it started"
fi
echo

"$PY" "$dir/demo.py" run "$port" "$daemon_pid" "$DEMO_SECONDS" &
viewer_pid=$!
viewer_rc=0
wait "$viewer_pid" || viewer_rc=$?
viewer_pid=
exit "$viewer_rc"
