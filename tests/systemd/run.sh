#!/bin/bash
# run.sh -- pylight under the machine's real systemd. Boots /lib/systemd/systemd as PID 1 of
# private pid/mount/cgroup/net/uts/ipc namespaces on a throw-away overlay of /, starts a real
# mosquitto in there, installs pylight with `make install DESTDIR=`, and checks what an
# administrator relies on: start once ready, orders, reload, the watchdog, the refused
# invalid configuration, the journal, a clean stop. Then the Debian package (`make deb`,
# lintian, blhc) is installed, upgraded, removed and purged with apt-get in there; last,
# that nothing is left behind.
# One line per check, then "N passed, N failed"; exit status 1 on any failure. Needs root.
# SAN=1 in the environment installs the ASan+UBSan build (build/san) instead.
# Checks are functions run through check() and wait_until() (SC2317); "A && B || { WHY=...;
# return 1; }" means exactly "unless A and B, fail" (SC2015); '$...' in single quotes is
# meant for the sandbox's shell or awk (SC2016).
# shellcheck disable=SC2317,SC2015,SC2016
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

PORT=18883          # the sandbox has a network namespace of its own: no clash possible
WATCHDOG_SEC=3
TIMEOUT=30          # seconds any awaited behaviour may take on a loaded machine
OP_USER=pylight-op  # an operator, member of pylight-operators (README)
MQ=(-h 127.0.0.1 -p "$PORT" -u tester -P tester-pw)

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS  $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
# check DESCRIPTION COMMAND...: the command fails with WHY set to say what went wrong.
WHY=
check() {
	local desc=$1
	shift
	WHY=
	if "$@"; then
		pass "$desc"
	else
		fail "$desc${WHY:+: $WHY}"
		[ -n "${PID1:-}" ] && in_box journalctl -u pylight.service -n 12 --no-pager -o short-monotonic 2>&1 |
			sed 's/^/    /' >&2
	fi
}
summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
die() {
	echo "systemd tests: $*" >&2
	fail "systemd tests could not run: $*"
	summary
	exit 1
}

# ---------------------------------------------------------------- preconditions ----
[ "$(id -u)" -eq 0 ] || die "need root to boot systemd in private namespaces (CI runs as root)"
for tool in unshare nsenter setpriv mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd \
	systemd-analyze pkg-config; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
[ -x /lib/systemd/systemd ] || die "/lib/systemd/systemd not found"
why=$(unshare --cgroup --mount --pid --fork --uts --ipc --net true 2>&1) ||
	die "cannot create namespaces with unshare: $why"

# ------------------------------------------------------- state and cleanup ----
T=$(mktemp -d /tmp/pylight-sdbox.XXXXXX)
mkdir "$T/mnt"
: >"$T/console.log"
CG2=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
OWN_CG2=
LAUNCHER=
PID1=
CG=
BOX=

in_box() { nsenter --target "$PID1" --all "$@"; }
box_show() { in_box systemctl show -P "$1" pylight.service 2>/dev/null; }

cleanup() {
	set +e
	if [ -n "$PID1" ] && kill -0 "$PID1" 2>/dev/null; then
		in_box timeout 10 systemctl poweroff >/dev/null 2>&1
		for _ in $(seq 100); do kill -0 "$LAUNCHER" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID1" 2>/dev/null # SIGKILL of a pidns init kills the whole namespace
	fi
	if [ -n "$LAUNCHER" ]; then
		kill -KILL "$LAUNCHER" 2>/dev/null
		wait "$LAUNCHER" 2>/dev/null
	fi
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		for _ in $(seq 100); do
			[ -z "$(find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
			sleep 0.1
		done
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	[ -n "$OWN_CG2" ] && umount "$CG2" && rmdir "$CG2"
	# never recurse into a cgroup file system that failed to unmount
	if [ -n "$OWN_CG2" ] && mountpoint -q "$CG2"; then
		echo "systemd tests: cannot unmount $CG2" >&2
	else
		rm -rf "$T"
	fi
	PID1=
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------- unit file checks ----
unit_out=$(tests/systemd/unit-check.sh 2>&1)
echo "$unit_out" | grep -v '^PASS\|^FAIL' >&2
passed=$((passed + $(echo "$unit_out" | grep -c '^PASS')))
failed=$((failed + $(echo "$unit_out" | grep -c '^FAIL')))
echo "$unit_out" | grep '^PASS\|^FAIL'

# make install into an empty tree: PREFIX is honoured, uninstall leaves nothing behind.
make_q() { env -u MAKEFLAGS -u MFLAGS make -s --no-print-directory "$@"; }
SAN=${SAN:-}
[ "$SAN" = 1 ] && BUILD_VARS=(SAN=1) || BUILD_VARS=()
install_uninstall() {
	local d=$T/inst out f unitdir
	unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
	out=$(make_q install DESTDIR="$d" PREFIX=/opt/pylight 2>&1) || { WHY="install: $out"; return 1; }
	for f in /opt/pylight/sbin/pylightd "$unitdir/pylight.service" \
		/opt/pylight/share/man/man8/pylightd.8 /opt/pylight/share/man/man5/pylight.ini.5 \
		/etc/pylight/pylight.ini /etc/pylight/ref.txt; do
		[ -f "$d$f" ] || { WHY="$f not installed"; return 1; }
	done
	grep -qx 'ExecStart=/opt/pylight/sbin/pylightd -c /etc/pylight/pylight.ini' \
		"$d$unitdir/pylight.service" || { WHY="ExecStart not substituted"; return 1; }
	out=$(make_q uninstall DESTDIR="$d" PREFIX=/opt/pylight 2>&1) || { WHY="uninstall: $out"; return 1; }
	out=$(find "$d" -type f)
	[ -z "$out" ] || { WHY="left: $(echo "$out" | tr '\n' ' ')"; return 1; }
}
check "install: PREFIX and DESTDIR honoured; uninstall removes every unchanged file" install_uninstall

# ------------------------------------------------------------------ sandbox ----
if [ -z "$CG2" ]; then
	CG2=$T/cg2
	mkdir "$CG2"
	mount -t cgroup2 none "$CG2" || die "cannot mount cgroup2"
	OWN_CG2=1
fi
CG=$CG2/$(basename "$T") # the sandbox's cgroup root
mkdir "$CG" || die "cannot create cgroup $CG"

# PID 1 of the new namespaces: an overlay of / on a tmpfs, pivot_root into it, exec systemd.
cat >"$T/pid1.sh" <<'EOF'
#!/bin/bash
set -eu
T=$1; M=$T/mnt; R=$M/root
mount -n -t tmpfs -o mode=700 pylight-sdbox "$M"
mkdir "$M/upper" "$M/work" "$R"
mount -n -t overlay overlay -o "lowerdir=/,upperdir=$M/upper,workdir=$M/work" "$R"
mount -n -t proc proc "$R/proc"
mount -n --bind "$R/proc/sys" "$R/proc/sys"; mount -n -o remount,bind,ro "$R/proc/sys"
mount -n -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -n -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"
mount -n -t tmpfs -o mode=755,nosuid pylight-dev "$R/dev"
for d in null zero full random urandom tty; do : >"$R/dev/$d"; mount -n --bind "/dev/$d" "$R/dev/$d"; done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -n -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$R/dev/${i#*:}"; done
: >"$R/dev/console"; mount -n --bind "$T/console.log" "$R/dev/console"
mount -n -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
# none of the host's enabled services in here; a pylight installed on the host is not ours
rm -rf "$R"/etc/systemd/system/*.wants "$R"/etc/systemd/system/pylight.service* \
	"$R/etc/systemd/system/dbus-org.freedesktop.timesync1.service" "$R/etc/pylight"
ln -sf /dev/null "$R/etc/systemd/system/console-getty.service"
mkdir -p "$R/.oldroot"; cd "$R"; pivot_root . .oldroot; umount -n -l /.oldroot; rmdir /.oldroot
# systemd leaves propagation to a container manager; services' mounts (credentials) need it
mount -n --make-rshared /
exec setpriv --bounding-set -sys_module,-sys_rawio,-sys_time,-sys_pacct,-syslog,-wake_alarm,-block_suspend,-mac_admin,-mac_override,-audit_control,-audit_read \
	env -i container=pylight-test TERM=dumb /lib/systemd/systemd --unit=multi-user.target --show-status=no
EOF
chmod +x "$T/pid1.sh"

# Enter $CG before unsharing the cgroup namespace, so that $CG is the sandbox's "/".
# --pdeathsig: unshare dies with this script; --kill-child then kills the sandbox.
sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$CG" setpriv --pdeathsig KILL \
	unshare --cgroup --mount --propagation private --pid --fork --kill-child --uts --ipc --net \
	"$T/pid1.sh" "$T" >"$T/unshare.log" 2>&1 </dev/null &
LAUNCHER=$!
for _ in $(seq 600); do
	PID1=$(awk '{print $1}' "/proc/$LAUNCHER/task/$LAUNCHER/children" 2>/dev/null || true)
	[ -n "$PID1" ] && [ "$(cat "/proc/$PID1/comm" 2>/dev/null)" = systemd ] &&
		[ -S "/proc/$PID1/root/run/systemd/private" ] && break
	sleep 0.05
done
if [ -z "$PID1" ] || [ ! -S "/proc/$PID1/root/run/systemd/private" ]; then
	cat "$T/unshare.log" "$T/console.log" >&2
	die "systemd did not boot in the sandbox"
fi
state=$(in_box timeout 60 systemctl is-system-running --wait 2>&1)
case $state in
running | degraded) pass "sandbox: systemd booted as PID 1 ($state)" ;;
*) die "sandbox: systemd state '$state'" ;;
esac
BOX=/proc/$PID1/root

# ----------------------------------------------------------------- helpers ----
# wait_until SECONDS COMMAND...: polls the command until it succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}
MQTT_LOG=$BOX/run/pylight-test/mqtt.log # everything the broker carries, "topic payload"
mark() { wc -l <"$MQTT_LOG"; }
# seen_since MARK "TOPIC PAYLOAD": that message went through after the mark.
seen_since() { tail -n "+$(($1 + 1))" "$MQTT_LOG" | grep -qxF "$2"; }
expect_msg() {
	wait_until "$TIMEOUT" seen_since "$1" "$2" || { WHY="no '$2' on the broker within $TIMEOUT s"; return 1; }
}
pub() { in_box mosquitto_pub "${MQ[@]}" -q 1 -t "$1" -m "$2"; }
# journal_has PATTERN...: one journal entry of pylight.service (JSON) holds every pattern.
journal_has() {
	local lines
	lines=$(in_box journalctl -u pylight.service -o json --no-pager 2>/dev/null)
	for p in "$@"; do lines=$(echo "$lines" | grep -F -- "$p") || return 1; done
}
expect_journal() {
	wait_until "$TIMEOUT" journal_has "$@" || { WHY="no journal entry with: $*"; return 1; }
}
prop_is() { [ "$(box_show "$1")" = "$2" ]; }
expect_prop() {
	wait_until "$TIMEOUT" prop_is "$1" "$2" || { WHY="$1=$(box_show "$1"), expected $2"; return 1; }
}
# how the last run of pylight.service ended: "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS"
last_end_is() { [ "$(tail -n 1 "$BOX/run/pylight-test/ends" 2>/dev/null)" = "$1" ]; }
expect_end() {
	wait_until "$TIMEOUT" last_end_is "$1" ||
		{ WHY="ended '$(tail -n 1 "$BOX/run/pylight-test/ends" 2>/dev/null)', expected '$1'"; return 1; }
}
as_operator() { in_box runuser -u "$OP_USER" -- sh -c "umask 002; $1"; }

# ---------------------------------------------------- broker and subscriber ----
mkdir -p "$BOX/etc/pylight-test" "$BOX/run/pylight-test"
cat >"$BOX/etc/pylight-test/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous false
password_file /etc/pylight-test/passwd
persistence false
set_tcp_nodelay true
log_dest stderr
EOF
: >"$BOX/etc/pylight-test/passwd"
in_box mosquitto_passwd -b /etc/pylight-test/passwd tester tester-pw
in_box mosquitto_passwd -b /etc/pylight-test/passwd pylight pylight-secret-pw
chmod 644 "$BOX/etc/pylight-test/passwd"
broker_up() { in_box mosquitto_pub "${MQ[@]}" -t pylight-test/ping -m ping 2>/dev/null; }
in_box systemd-run --quiet --unit=pylight-test-broker /usr/sbin/mosquitto \
	-c /etc/pylight-test/mosquitto.conf
wait_until "$TIMEOUT" broker_up || die "mosquitto did not start in the sandbox"
: >"$MQTT_LOG"
in_box systemd-run --quiet --unit=pylight-test-sub -p StandardOutput=file:/run/pylight-test/mqtt.log \
	mosquitto_sub "${MQ[@]}" -v -t '#'
sub_up() { pub pylight-test/hello hello && seen_since 0 "pylight-test/hello hello"; }
wait_until "$TIMEOUT" sub_up || die "mosquitto_sub did not start in the sandbox"

# ------------------------------------------------------------------ install ----
OPS_REF='# the operators own thresholds
on_below = 300
off_above = 400'
mkdir -p "$BOX/etc/pylight"
printf '%s\n' "$OPS_REF" >"$BOX/etc/pylight/ref.txt"
install_box() {
	local out
	out=$(make_q install DESTDIR="$BOX" "${BUILD_VARS[@]}" 2>&1) || { WHY=$out; return 1; }
	in_box test -x /usr/local/sbin/pylightd || { WHY="no /usr/local/sbin/pylightd"; return 1; }
	cmp -s conf/pylight.ini "$BOX/etc/pylight/pylight.ini" || { WHY="pylight.ini not installed"; return 1; }
	[ "$(cat "$BOX/etc/pylight/ref.txt")" = "$OPS_REF" ] || { WHY="the existing ref.txt was overwritten"; return 1; }
	for f in /usr/local/share/man/man8/pylightd.8 /usr/local/share/man/man5/pylight.ini.5; do
		[ -f "$BOX$f" ] || { WHY="$f not installed"; return 1; }
	done
	in_box systemctl daemon-reload
	prop_is FragmentPath "$(pkg-config --variable=systemdsystemunitdir systemd)/pylight.service" ||
		{ WHY="systemd does not see the installed unit"; return 1; }
	out=$(in_box systemd-analyze verify pylight.service 2>&1)
	[ -z "$out" ] || { WHY="verify in the sandbox said: $out"; return 1; }
}
check "install: make install DESTDIR=sandbox installs, keeps the existing ref.txt, unit verifies" install_box

# The README's setup: operators' group owns /etc/pylight (setgid, 2775), ref.txt 664.
in_box groupadd --system pylight-operators
in_box useradd --system --no-create-home --shell /bin/sh --groups pylight-operators "$OP_USER"
in_box chgrp pylight-operators /etc/pylight /etc/pylight/ref.txt
in_box chmod 2775 /etc/pylight
in_box chmod 664 /etc/pylight/ref.txt
# The broker password as a credential (pylight.ini(5)), in a root-only file.
printf 'pylight-secret-pw\n' >"$BOX/etc/pylight/mqtt-password"
chmod 600 "$BOX/etc/pylight/mqtt-password"

write_ini() {
	cat >"$BOX/etc/pylight/pylight.ini" <<EOF
[mqtt]
host = 127.0.0.1
port = $PORT
username = pylight
password_file = /run/credentials/pylight.service/mqtt-password
reconnect_max = 2
$1
[thresholds]
file = ref.txt

[log]
level = info
EOF
}
write_ini ""
TEST_INI=$(cat "$BOX/etc/pylight/pylight.ini")
mkdir -p "$BOX/etc/systemd/system/pylight.service.d"
cat >"$BOX/etc/systemd/system/pylight.service.d/test.conf" <<EOF
[Service]
WatchdogSec=$WATCHDOG_SEC
RestartSec=1
LimitCORE=0
# LeakSanitizer needs ptrace, which the unit forbids; leaks are the black-box tests' business.
Environment=ASAN_OPTIONS=detect_leaks=0
LoadCredential=mqtt-password:/etc/pylight/mqtt-password
# An inactive unit is garbage-collected with its ExecMain* properties: keep how it ended.
ExecStopPost=+/bin/sh -c 'echo "\$\$SERVICE_RESULT \$\$EXIT_CODE \$\$EXIT_STATUS" >>/run/pylight-test/ends'
EOF
in_box systemctl daemon-reload

reinstall_keeps() {
	local out
	out=$(make_q install DESTDIR="$BOX" "${BUILD_VARS[@]}" 2>&1) || { WHY=$out; return 1; }
	[ "$(cat "$BOX/etc/pylight/pylight.ini")" = "$TEST_INI" ] || { WHY="pylight.ini overwritten"; return 1; }
	[ "$(cat "$BOX/etc/pylight/ref.txt")" = "$OPS_REF" ] || { WHY="ref.txt overwritten"; return 1; }
	[ "$(in_box stat -c %G:%a /etc/pylight)" = pylight-operators:2775 ] ||
		{ WHY="/etc/pylight is now $(in_box stat -c %G:%a /etc/pylight)"; return 1; }
}
check "install: make install again keeps the operator's pylight.ini, ref.txt and folder mode" reinstall_keeps

# -------------------------------------------------------------------- start ----
start_ready() {
	local out
	out=$(in_box timeout 60 systemctl start pylight.service 2>&1) || { WHY="systemctl start: $out"; return 1; }
	# Type=notify: start returned after READY=1, and the status line was sent before it.
	prop_is ActiveState active && prop_is SubState running ||
		{ WHY="$(box_show ActiveState)/$(box_show SubState) right after start"; return 1; }
	case $(box_show StatusText) in
	*zones*thresholds*) ;;
	*) WHY="no STATUS= at READY: '$(box_show StatusText)'"; return 1 ;;
	esac
}
check "start: systemctl start returns once ready, unit active, STATUS= set" start_ready
START_PID=$(box_show MainPID)
START_TIME=$SECONDS

runs_unprivileged() {
	local pid uid
	pid=$(box_show MainPID)
	uid=$(in_box awk '/^Uid:/ {print $2}' "/proc/$pid/status")
	[ -n "$uid" ] && [ "$uid" -ne 0 ] || { WHY="MainPID $pid has uid '$uid'"; return 1; }
	in_box grep -q '^CapEff:[[:space:]]*0*$' "/proc/$pid/status" || { WHY="has capabilities"; return 1; }
}
check "start: daemon runs as a dynamic user without capabilities" runs_unprivileged

connected_status() {
	case $(box_show StatusText) in
	"connected to 127.0.0.1:$PORT"*) return 0 ;;
	*) return 1 ;;
	esac
}
connects() {
	expect_msg 0 "pylight/status online" || return 1
	wait_until "$TIMEOUT" connected_status || { WHY="StatusText '$(box_show StatusText)'"; return 1; }
}
check "start: connects with the credential password, publishes online, STATUS= says connected" connects

# ------------------------------------------------------------------- orders ----
orders() {
	local m
	m=$(mark)
	pub value/light/hall 100 && expect_msg "$m" "light/order/hall ON" || return 1
	m=$(mark)
	pub value/light/hall 500 && expect_msg "$m" "light/order/hall OFF"
}
check "orders: readings 100 then 500 in zone hall give ON then OFF" orders

# ------------------------------------------------------------------ journal ----
journal_priorities() {
	pub value/light/hall abc || return 1
	expect_journal '"PRIORITY":"4"' '"ZONE":"hall"' 'bad reading' '"SYSLOG_IDENTIFIER":"pylightd"' || return 1
	expect_journal '"PRIORITY":"5"' 'pylightd 0.1.0 started' || return 1
	expect_journal '"PRIORITY":"6"' '"ZONE":"hall"' "zone 'hall': ON" || return 1
	local warn
	warn=$(in_box journalctl -u pylight.service -p warning -o cat --no-pager)
	echo "$warn" | grep -q "zone 'hall': bad reading" || { WHY="-p warning lacks the warning"; return 1; }
	! echo "$warn" | grep -q 'started' || { WHY="-p warning shows a notice"; return 1; }
}
check "journal: entries carry PRIORITY (4 bad reading, 5 start, 6 order) and ZONE=hall" journal_priorities

# ------------------------------------------------------------------- reload ----
# hall's last reading was 500 and it is OFF; a reload re-decides every zone at once.
operator_edit_applies() {
	local m
	m=$(mark)
	as_operator 'printf "on_below = 600\noff_above = 700\n" >/etc/pylight/ref.txt.new &&
		mv /etc/pylight/ref.txt.new /etc/pylight/ref.txt' || { WHY="operator cannot save ref.txt"; return 1; }
	[ "$(in_box stat -c %G:%a /etc/pylight/ref.txt)" = pylight-operators:664 ] ||
		{ WHY="saved ref.txt is $(in_box stat -c %G:%a /etc/pylight/ref.txt)"; return 1; }
	expect_msg "$m" "light/order/hall ON" || return 1
	expect_journal 'reloaded (file changed)'
}
check "reload: an operator's save of ref.txt applies by itself (hall 500 lux -> ON)" operator_edit_applies

bad_edit_reported() {
	as_operator 'printf "on_below = 600\nbogus = 1\n" >/etc/pylight/ref.txt' || return 1
	expect_journal '"PRIORITY":"3"' '/etc/pylight/ref.txt:2: unknown key' || return 1
	status_has_failed() { case $(box_show StatusText) in *"failed, previous kept"*) ;; *) return 1 ;; esac; }
	wait_until "$TIMEOUT" status_has_failed || { WHY="StatusText '$(box_show StatusText)'"; return 1; }
	prop_is ActiveState active || { WHY="ActiveState $(box_show ActiveState)"; return 1; }
}
check "reload: an invalid ref.txt is refused, logged at err with PATH:LINE, STATUS= says so" bad_edit_reported

systemctl_reload() {
	local m out n
	n=$(in_box journalctl -u pylight.service -o cat --no-pager | grep -c 'reloaded (SIGHUP)')
	m=$(mark)
	as_operator 'printf "on_below = 300\noff_above = 400\n" >/etc/pylight/ref.txt' || return 1
	out=$(in_box timeout 60 systemctl reload pylight.service 2>&1) || { WHY="systemctl reload: $out"; return 1; }
	sighup_reloaded() {
		[ "$(in_box journalctl -u pylight.service -o cat --no-pager | grep -c 'reloaded (SIGHUP)')" -gt "$n" ]
	}
	wait_until "$TIMEOUT" sighup_reloaded || { WHY="no 'reloaded (SIGHUP)' in the journal"; return 1; }
	expect_msg "$m" "light/order/hall OFF" || return 1
	expect_prop ActiveState active || return 1
	status_reloaded() { case $(box_show StatusText) in *"(reloaded "*) ;; *) return 1 ;; esac; }
	wait_until "$TIMEOUT" status_reloaded || { WHY="StatusText '$(box_show StatusText)'"; return 1; }
}
check "reload: systemctl reload rereads the edited ref.txt (hall -> OFF), unit active again" systemctl_reload

# ---------------------------------------------------------------- pylight-web ----
# The operators' page as installed: pylight-web.socket on 127.0.0.1:8080 starts
# pylight-web.service (Type=notify) on the first connection; it reads the same pylight.ini.
# Two things only the administrator can give it (a drop-in, as README says for pylightd):
# the operators' group, to replace ref.txt in /etc/pylight, and the broker password, which
# the ini names at pylight.service's credential path; its own copy is bound there.
mkdir -p "$BOX/etc/systemd/system/pylight-web.service.d"
cat >"$BOX/etc/systemd/system/pylight-web.service.d/test.conf" <<EOF
[Service]
SupplementaryGroups=pylight-operators
LoadCredential=mqtt-password:/etc/pylight/mqtt-password
BindReadOnlyPaths=%d/mqtt-password:/run/credentials/pylight.service/mqtt-password
LimitCORE=0
Environment=ASAN_OPTIONS=detect_leaks=0
EOF
in_box systemctl daemon-reload
web_show() { in_box systemctl show -P "$1" pylight-web.service 2>/dev/null; }
web_journal() { in_box journalctl -u pylight-web.service -o cat --no-pager 2>/dev/null; }
# web_http METHOD PATH [JSON]: "STATUS BODY" of one request to the page, from inside the box.
web_http() {
	in_box curl -s -m 10 -o - -w '\n%{http_code}' -X "$1" ${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
		"http://127.0.0.1:8080$2"
}
web_socket_activation() {
	local out code
	out=$(in_box timeout 60 systemctl enable --now pylight-web.socket 2>&1) ||
		{ WHY="enable --now: $out"; return 1; }
	[ "$(in_box systemctl is-active pylight-web.socket)" = active ] || { WHY="socket not active"; return 1; }
	[ "$(web_show ActiveState)" = inactive ] || { WHY="the service started before any visit"; return 1; }
	out=$(web_http GET /) || { WHY="GET / failed: $out"; return 1; }
	code=$(echo "$out" | tail -n 1)
	[ "$code" = 200 ] && echo "$out" | grep -q '<textarea name="ref"' ||
		{ WHY="GET / answered $code"; return 1; }
	[ "$(web_show ActiveState)/$(web_show SubState)" = active/running ] ||
		{ WHY="pylight-web.service $(web_show ActiveState)/$(web_show SubState)"; return 1; }
	case $(web_show StatusText) in
	*"the socket systemd passed"*) ;;
	*) WHY="StatusText '$(web_show StatusText)'"; return 1 ;;
	esac
	out=$(web_http GET /api/zones)
	code=$(echo "$out" | tail -n 1)
	[ "$code" = 200 ] && echo "$out" | grep -q '"zone": *"hall"' ||
		{ WHY="GET /api/zones: $code $(echo "$out" | head -c 300)"; return 1; }
	# it is connected to the broker: an override from the page reaches it
	connected() { web_journal | grep -q 'mqtt: connected'; }
	wait_until "$TIMEOUT" connected || { WHY="no 'mqtt: connected' in its journal: $(web_journal | tail -n 5)"; return 1; }
}
check "web: enable --now pylight-web.socket; the first GET / starts it, GET /api/zones lists hall" \
	web_socket_activation

# hall's last reading is 500 and it is OFF under 300/400; a save of 600/700 from the page
# switches it on once pylightd has reloaded the file.
web_save_applies() {
	local out code etag m n text='# saved from the page\non_below = 600\noff_above = 700\n'
	n=$(in_box journalctl -u pylight.service -o cat --no-pager | grep -c 'reloaded (file changed)')
	out=$(web_http GET /api/ref)
	etag=$(echo "$out" | sed -n 's/.*"etag": *"\([0-9a-f]*\)".*/\1/p' | head -n 1)
	[ -n "$etag" ] || { WHY="GET /api/ref: $out"; return 1; }
	m=$(mark)
	out=$(web_http PUT /api/ref "{\"text\": \"$text\", \"etag\": \"$etag\"}")
	code=$(echo "$out" | tail -n 1)
	[ "$code" = 200 ] || { WHY="PUT /api/ref: $out; journal: $(web_journal | tail -n 3)"; return 1; }
	[ "$(cat "$BOX/etc/pylight/ref.txt")" = "$(printf "$text")" ] || { WHY="ref.txt: $(cat "$BOX/etc/pylight/ref.txt")"; return 1; }
	[ "$(in_box stat -c %G:%a /etc/pylight/ref.txt)" = pylight-operators:664 ] ||
		{ WHY="saved ref.txt is $(in_box stat -c %G:%a /etc/pylight/ref.txt)"; return 1; }
	expect_msg "$m" "light/order/hall ON" || return 1
	reloaded() { [ "$(in_box journalctl -u pylight.service -o cat --no-pager | grep -c 'reloaded (file changed)')" -gt "$n" ]; }
	wait_until "$TIMEOUT" reloaded || { WHY="no new 'reloaded (file changed)' in pylightd's journal"; return 1; }
	# a save based on the old text is a conflict, and nothing is written
	out=$(web_http PUT /api/ref "{\"text\": \"on_below = 1\\noff_above = 2\\n\", \"etag\": \"$etag\"}")
	[ "$(echo "$out" | tail -n 1)" = 409 ] || { WHY="a stale save answered $(echo "$out" | tail -n 1)"; return 1; }
	[ "$(cat "$BOX/etc/pylight/ref.txt")" = "$(printf "$text")" ] || { WHY="the stale save was written"; return 1; }
}
check "web: PUT /api/ref saves ref.txt (group and mode kept), pylightd reloads it (hall -> ON)" \
	web_save_applies

# The history lives in the unit's StateDirectory: /var/lib/pylight, the link DynamicUser makes
# to /var/lib/private/pylight, owned by the service's user; it holds hall's order from above.
HISTORY_DB=/var/lib/private/pylight/history.db
history_orders() {
	in_box python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
      .execute("SELECT COUNT(*) FROM orders").fetchone()[0])' "$HISTORY_DB" 2>&1
}
web_history_in_state_dir() {
	local out
	out=$(in_box readlink /var/lib/pylight)
	[ "$out" = private/pylight ] || { WHY="/var/lib/pylight links to '$out'"; return 1; }
	out=$(in_box stat -c '%u %a' /var/lib/private/pylight 2>&1)
	case $out in
	0\ * | *[!0-9\ ]*) WHY="/var/lib/private/pylight: owner and mode '$out'"; return 1 ;;
	*\ 750) ;;
	*) WHY="/var/lib/private/pylight: owner and mode '$out'"; return 1 ;;
	esac
	has_orders() { history_orders | grep -qx '[1-9][0-9]*'; }
	wait_until "$TIMEOUT" has_orders ||
		{ WHY="orders in the history: $(history_orders); journal: $(web_journal | tail -n 5)"; return 1; }
	[ "$(in_box stat -c %u "$HISTORY_DB" 2>&1)" = "${out% *}" ] ||
		{ WHY="history.db: $(in_box ls -l "$HISTORY_DB" 2>&1)"; return 1; }
	out=$(web_journal | grep -m1 'history:')
	[ -z "$out" ] || { WHY="its journal has: $out"; return 1; }
}
check "web: the history is in StateDirectory /var/lib/pylight, the service user's, with hall's order" \
	web_history_in_state_dir

web_disable() {
	local out
	out=$(in_box timeout 60 systemctl disable --now pylight-web.socket pylight-web.service 2>&1) ||
		{ WHY="disable --now: $out"; return 1; }
	[ "$(web_show ActiveState)" = inactive ] || { WHY="pylight-web.service $(web_show ActiveState)"; return 1; }
	[ "$(web_show Result)" = success ] || { WHY="Result=$(web_show Result)"; return 1; }
	out=$(web_journal | grep -m1 -i 'warning\|Sanitizer\|runtime error')
	[ -z "$out" ] || { WHY="its journal has: $out"; return 1; }
}
check "web: disable --now stops socket and service cleanly, its journal holds no warning" web_disable
rm -rf "$BOX/etc/systemd/system/pylight-web.service.d"
in_box systemctl daemon-reload

# ----------------------------------------------------------------- watchdog ----
watchdog_fed() {
	prop_is WatchdogUSec "${WATCHDOG_SEC}s" || { WHY="WatchdogUSec=$(box_show WatchdogUSec)"; return 1; }
	# Well past two intervals since the start, the daemon has fed the watchdog throughout.
	while [ $((SECONDS - START_TIME)) -le $((2 * WATCHDOG_SEC + 1)) ]; do sleep 0.2; done
	prop_is NRestarts 0 && prop_is MainPID "$START_PID" && prop_is ActiveState active ||
		{ WHY="NRestarts=$(box_show NRestarts) MainPID $START_PID -> $(box_show MainPID)"; return 1; }
}
check "watchdog: a healthy daemon feeds it (same MainPID, NRestarts=0 after 2 x WatchdogSec)" watchdog_fed

watchdog_restart() {
	local pid n0 m
	pid=$(box_show MainPID)
	n0=$(box_show NRestarts)
	m=$(mark)
	[ "${pid:-0}" -gt 1 ] || { WHY="no MainPID ('$pid')"; return 1; }
	in_box kill -STOP "$pid" || { WHY="cannot stop $pid"; return 1; }
	restarted() { [ "$(box_show NRestarts)" -gt "$n0" ]; }
	wait_until $((TIMEOUT + WATCHDOG_SEC)) restarted || { WHY="NRestarts still $(box_show NRestarts)"; return 1; }
	new_main() {
		local p
		p=$(box_show MainPID)
		prop_is ActiveState active && [ "$p" != 0 ] && [ "$p" != "$pid" ]
	}
	wait_until "$TIMEOUT" new_main || { WHY="not active again with a new MainPID"; return 1; }
	expect_journal 'Watchdog timeout' || return 1
	expect_msg "$m" "pylight/status online" || return 1
	m=$(mark)
	pub value/light/hall 100 && expect_msg "$m" "light/order/hall ON"
}
check "watchdog: kill -STOP of the daemon gets it restarted (NRestarts up), orders flow again" watchdog_restart

# --------------------------------------------------------------------- stop ----
clean_stop() {
	local m out
	m=$(mark)
	out=$(in_box timeout 60 systemctl stop pylight.service 2>&1) || { WHY="systemctl stop: $out"; return 1; }
	expect_msg "$m" "pylight/status offline" || return 1
	prop_is ActiveState inactive || { WHY="ActiveState=$(box_show ActiveState)"; return 1; }
	expect_end "success exited 0" || return 1
	out=$(in_box mosquitto_sub "${MQ[@]}" -t pylight/status -C 1 -W 10 2>&1)
	[ "$out" = offline ] || { WHY="retained status '$out'"; return 1; }
	expect_journal '"PRIORITY":"5"' '"MESSAGE":"stopped"'
}
check "stop: systemctl stop publishes retained offline, exits 0 (ExecMainStatus=0)" clean_stop

# ---------------------------------------------------------- invalid config ----
invalid_config() {
	write_ini "bogus_key = 1"
	if in_box timeout 60 systemctl start pylight.service >/dev/null 2>&1; then
		WHY="systemctl start succeeded"
		return 1
	fi
	expect_prop ActiveState failed || return 1
	prop_is Result exit-code && prop_is ExecMainStatus 78 ||
		{ WHY="Result=$(box_show Result) ExecMainStatus=$(box_show ExecMainStatus)"; return 1; }
	expect_end "exit-code exited 78" || return 1
	expect_journal '"PRIORITY":"3"' "/etc/pylight/pylight.ini:7: unknown key 'bogus_key' in [mqtt]" || return 1
	# No restart loop: well past RestartSec=1, nothing was restarted.
	local end=$((SECONDS + 5))
	while [ $SECONDS -lt $end ]; do
		prop_is NRestarts 0 && prop_is ActiveState failed ||
			{ WHY="NRestarts=$(box_show NRestarts) ActiveState=$(box_show ActiveState)"; return 1; }
		sleep 0.2
	done
}
check "config: an invalid pylight.ini fails the start with exit 78, no restart (NRestarts=0)" invalid_config

# ---------------------------------------------------------------- uninstall ----
uninstall_box() {
	local out f
	out=$(make_q uninstall DESTDIR="$BOX" "${BUILD_VARS[@]}" 2>&1) || { WHY=$out; return 1; }
	for f in /usr/local/sbin/pylightd "$(pkg-config --variable=systemdsystemunitdir systemd)/pylight.service" \
		/usr/local/share/man/man8/pylightd.8 /usr/local/share/man/man5/pylight.ini.5; do
		[ ! -e "$BOX$f" ] || { WHY="$f left"; return 1; }
	done
	[ -f "$BOX/etc/pylight/pylight.ini" ] && [ -f "$BOX/etc/pylight/ref.txt" ] ||
		{ WHY="the operator's changed files were removed"; return 1; }
}
check "uninstall: removes binary, unit and man pages, keeps changed files in /etc/pylight" uninstall_box

no_sanitizer_report() {
	local r
	r=$(in_box journalctl -u pylight.service -o cat --no-pager | grep -m1 'Sanitizer\|runtime error')
	[ -z "$r" ] || { WHY=$r; return 1; }
}
[ "$SAN" = 1 ] && check "san: no AddressSanitizer or UBSan report in the journal" no_sanitizer_report

# ------------------------------------------------------------ Debian package ----
# The package as an operator meets it: built by `make deb`, then installed, upgraded, removed
# and purged with apt-get in the sandbox, whose dpkg database lives on the overlay (the
# host's is never touched). The packaged pylight.ini expects a broker on localhost:1883 that
# takes clients without a password, as Debian's mosquitto does out of the box: a second
# broker listens there, and the helpers above now talk to it.
ARCH=$(dpkg --print-architecture)
PKG_VERSION=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
DEB= # the package make deb built, once it has

deb_build() {
	local out tool
	for tool in dpkg-buildpackage dh lintian blhc; do
		command -v "$tool" >/dev/null || { WHY="$tool not found (make deps installs it)"; return 1; }
	done
	out=$(make_q deb 2>&1) || { WHY="make deb: $(echo "$out" | tail -n 5)"; return 1; }
	[ -f "build/deb/pylight_${PKG_VERSION}_$ARCH.deb" ] ||
		{ WHY="no build/deb/pylight_${PKG_VERSION}_$ARCH.deb"; return 1; }
	DEB=build/deb/pylight_${PKG_VERSION}_$ARCH.deb
}
check "deb: make deb builds build/deb/pylight_${PKG_VERSION}_$ARCH.deb" deb_build

no_deb() { [ -n "$DEB" ] && return 1; WHY="make deb built no package"; }

# Overrides are allowed only with a reason, which lintian shows with the override.
deb_lintian() {
	local out rc
	no_deb && return 1
	out=$(lintian --display-info --fail-on error,warning,info "${DEB%.deb}.changes" 2>&1)
	rc=$?
	out=$(echo "$out" | grep -v '^running with root privileges')
	[ $rc -eq 0 ] && ! echo "$out" | grep -q '^[EWI]:' || { WHY="lintian (exit $rc): $out"; return 1; }
}
check "deb: lintian reports no error, warning or info tag on the .deb, .changes and .buildinfo" \
	deb_lintian

deb_blhc() {
	local out log
	no_deb && return 1
	log=${DEB%.deb}.build
	grep -q -- '-D_FORTIFY_SOURCE=2 .* -c -o build/plain/obj/pylightd/main.o src/pylightd/main.c' "$log" &&
		grep -q -- '-Wl,-z,now .* -o build/plain/pylightd' "$log" ||
		{ WHY="$log lacks the compile and link lines with the flags"; return 1; }
	out=$(blhc --all --debian "$log" 2>&1) || { WHY=$(echo "$out" | head -n 3); return 1; }
}
check "deb: blhc --all finds dpkg's hardening flags on every compile and link line" deb_blhc

# Every program (one per man page in section 8), unit and man page of the tree, and the
# samples as conffiles.
deb_contents() {
	local list want f
	no_deb && return 1
	list=$(dpkg-deb -c "$DEB" | awk '{print $6}')
	want="./etc/pylight/pylight.ini ./etc/pylight/ref.txt ./usr/share/doc/pylight/copyright"
	for f in systemd/*.service systemd/*.socket; do
		[ -e "$f" ] && want="$want ./lib/systemd/system/${f#systemd/}"
	done
	for f in man/*.8; do
		want="$want ./usr/sbin/$(basename "$f" .8) ./usr/share/man/man8/${f#man/}.gz"
	done
	for f in man/*.5; do want="$want ./usr/share/man/man5/${f#man/}.gz"; done
	for f in $want; do
		echo "$list" | grep -qxF "$f" || { WHY="$f not in the package"; return 1; }
	done
	f=$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)
	[ "$f" = $'/etc/pylight/pylight.ini\n/etc/pylight/ref.txt' ] || { WHY="conffiles: $f"; return 1; }
}
check "deb: the package holds the programs, units, man pages, and the samples as conffiles" \
	deb_contents

# Back to a machine without pylight: the make install tests' service, drop-in and files go.
in_box systemctl stop pylight.service >/dev/null 2>&1
in_box systemctl reset-failed pylight.service >/dev/null 2>&1
rm -rf "$BOX/etc/pylight" "$BOX/etc/systemd/system/pylight.service.d" \
	"$BOX/var/lib/private/pylight" "$BOX/var/lib/pylight"
# A policy-rc.d that forbids starting services (container images ship one) is the host's
# business, not the machine's under test.
rm -f "$BOX/usr/sbin/policy-rc.d"
in_box systemctl daemon-reload
# What purge must come back to: every file named after pylight, and the users and groups.
pylight_traces() {
	in_box find /etc /lib/systemd /usr/lib/systemd /usr/sbin /usr/share/doc /usr/share/man \
		/var/lib/systemd /var/lib/dpkg/info -name '*pylight*' -not -path '/etc/pylight-test*' \
		2>/dev/null | sort
	in_box find /var/lib /var/lib/private -maxdepth 1 -name '*pylight*' 2>/dev/null | sort
	in_box cat /etc/passwd /etc/group
}
TRACES_BEFORE=$(pylight_traces)

cat >"$BOX/etc/pylight-test/mosquitto-local.conf" <<EOF
listener 1883 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
log_dest stderr
EOF
MQ=(-h 127.0.0.1 -p 1883)
MQTT_LOG=$BOX/run/pylight-test/mqtt-local.log
in_box systemd-run --quiet --unit=pylight-test-local-broker /usr/sbin/mosquitto \
	-c /etc/pylight-test/mosquitto-local.conf
wait_until "$TIMEOUT" broker_up || die "mosquitto did not start on localhost:1883 in the sandbox"
: >"$MQTT_LOG"
in_box systemd-run --quiet --unit=pylight-test-local-sub \
	-p StandardOutput=file:/run/pylight-test/mqtt-local.log mosquitto_sub "${MQ[@]}" -v -t '#'
wait_until "$TIMEOUT" sub_up || die "mosquitto_sub did not start on localhost:1883 in the sandbox"

# apt_box ARGS...: apt-get in the sandbox, as an operator runs it; WHY holds its last lines.
apt_box() {
	local out
	out=$(in_box env DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" 2>&1 </dev/null) ||
		{ WHY="apt-get $*: $(echo "$out" | tail -n 5)"; return 1; }
}
# put_deb FILE: copies the package where apt-get in the sandbox finds it; prints that path.
put_deb() {
	mkdir -p "$BOX/tmp/pylight-deb" && cp "$1" "$BOX/tmp/pylight-deb/" &&
		echo "/tmp/pylight-deb/$(basename "$1")"
}

deb_install() {
	local out pkg
	no_deb && return 1
	pkg=$(put_deb "$DEB") && apt_box install --no-install-recommends "$pkg" || return 1
	out=$(in_box systemctl is-enabled pylight.service 2>&1)
	[ "$out" = enabled ] || { WHY="is-enabled: $out"; return 1; }
	prop_is ActiveState active && prop_is SubState running ||
		{ WHY="$(box_show ActiveState)/$(box_show SubState)"; return 1; }
	prop_is FragmentPath /lib/systemd/system/pylight.service || { WHY="$(box_show FragmentPath)"; return 1; }
	out=$(in_box readlink "/proc/$(box_show MainPID)/exe")
	[ "$out" = /usr/sbin/pylightd ] || { WHY="MainPID runs '$out'"; return 1; }
	out=$(in_box systemd-analyze verify pylight.service 2>&1)
	[ -z "$out" ] || { WHY="verify said: $out"; return 1; }
	# Any other unit (pylight-web's) is shipped for an operator to turn on.
	for f in systemd/*.service systemd/*.socket; do
		[ -e "$f" ] && [ "$f" != systemd/pylight.service ] || continue
		out=$(in_box systemctl is-enabled "${f#systemd/}" 2>&1)
		case $out in disabled | static) ;; *) WHY="${f#systemd/} is $out"; return 1 ;; esac
		! in_box systemctl -q is-active "${f#systemd/}" || { WHY="${f#systemd/} started"; return 1; }
	done
}
check "deb: apt-get install ./pylight_${PKG_VERSION}_$ARCH.deb enables and starts pylight.service" \
	deb_install

# porch has no section in the packaged ref.txt: the global 300/400 apply, without dwell.
deb_orders() {
	local m
	no_deb && return 1
	expect_msg 0 "pylight/status online" || return 1
	m=$(mark)
	pub value/light/porch 100 && expect_msg "$m" "light/order/porch ON" || return 1
	m=$(mark)
	pub value/light/porch 500 && expect_msg "$m" "light/order/porch OFF"
}
check "deb: the packaged settings reach the broker on localhost; porch 100, 500 give ON, OFF" \
	deb_orders

# The next release: the same tree built with a higher version.
OPS_PKG_REF='# thresholds an operator changed
on_below = 600
off_above = 700'
deb_upgrade() {
	local up=$T/up/pylight version=$PKG_VERSION+test1 out pid m pkg
	no_deb && return 1
	mkdir -p "$up"
	tar -cf - --exclude=./build --exclude=./.git --exclude=./pylightd . | tar -xf - -C "$up"
	{
		printf 'pylight (%s) unstable; urgency=medium\n\n  * A later release.\n\n' "$version"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l debian/changelog -S Maintainer)" "$(date -R)"
		cat debian/changelog
	} >"$up/debian/changelog"
	out=$(make_q -C "$up" deb 2>&1) || { WHY="make deb of $version: $(echo "$out" | tail -n 5)"; return 1; }
	# The operator's edit applies at once: porch (500) turns ON under on_below = 600.
	m=$(mark)
	in_box sh -c "printf '%s\n' '$OPS_PKG_REF' >/etc/pylight/ref.txt" || return 1
	expect_msg "$m" "light/order/porch ON" || return 1
	pid=$(box_show MainPID)
	m=$(mark)
	pkg=$(put_deb "$up/build/deb/pylight_${version}_$ARCH.deb") && apt_box install "$pkg" || return 1
	out=$(in_box dpkg-query -W -f '${Version}' pylight)
	[ "$out" = "$version" ] || { WHY="version $out installed"; return 1; }
	[ "$(cat "$BOX/etc/pylight/ref.txt")" = "$OPS_PKG_REF" ] || { WHY="the edited ref.txt was replaced"; return 1; }
	out=$(in_box find /etc/pylight -name '*.dpkg-*')
	[ -z "$out" ] || { WHY="dpkg left $out"; return 1; }
	expect_prop ActiveState active || return 1
	[ "$(box_show MainPID)" != "$pid" ] || { WHY="MainPID $pid: not restarted"; return 1; }
	expect_msg "$m" "pylight/status offline" && expect_msg "$m" "pylight/status online" || return 1
	# A new daemon decides porch's first reading afresh: ON under the edit (OFF under 300/400).
	m=$(mark)
	pub value/light/porch 500 && expect_msg "$m" "light/order/porch ON"
}
check "deb: an upgrade to $PKG_VERSION+test1 keeps the edited ref.txt, restarts, porch 500 -> ON" \
	deb_upgrade

# pylight-web from the package, started by hand: systemd makes its StateDirectory (the package
# ships none), and remove keeps the history there while purge removes it (debian/postrm).
deb_web_state() {
	local out
	no_deb && return 1
	out=$(in_box timeout 60 systemctl start pylight-web.service 2>&1) || { WHY="start: $out"; return 1; }
	created() { in_box test -s "$HISTORY_DB"; }
	wait_until "$TIMEOUT" created || { WHY="no $HISTORY_DB: $(in_box ls -la /var/lib/private 2>&1)"; return 1; }
	out=$(in_box timeout 60 systemctl stop pylight-web.service 2>&1) || { WHY="stop: $out"; return 1; }
	in_box systemctl reset-failed pylight-web.service >/dev/null 2>&1
	return 0
}
check "deb: pylight-web.service started by hand gets /var/lib/pylight from systemd" deb_web_state

deb_remove() {
	local m out
	no_deb && return 1
	m=$(mark)
	apt_box remove pylight || return 1
	expect_msg "$m" "pylight/status offline" || return 1
	prop_is ActiveState inactive || { WHY="ActiveState=$(box_show ActiveState)"; return 1; }
	! in_box pgrep -x pylightd >/dev/null || { WHY="pylightd still runs"; return 1; }
	out=$(in_box dpkg-query -W -f '${db:Status-Abbrev}' pylight)
	[ "$out" = "rc " ] || { WHY="dpkg status '$out'"; return 1; }
	[ ! -e "$BOX/usr/sbin/pylightd" ] && [ ! -e "$BOX/lib/systemd/system/pylight.service" ] ||
		{ WHY="the program or the unit is left"; return 1; }
	[ "$(cat "$BOX/etc/pylight/ref.txt" 2>/dev/null)" = "$OPS_PKG_REF" ] &&
		cmp -s conf/pylight.ini "$BOX/etc/pylight/pylight.ini" || { WHY="/etc/pylight was not kept"; return 1; }
	in_box test -s "$HISTORY_DB" || { WHY="remove took the history"; return 1; }
}
check "deb: apt-get remove stops the service and keeps /etc/pylight with the edited ref.txt" deb_remove

deb_purge() {
	local out
	no_deb && return 1
	apt_box purge pylight || return 1
	[ ! -e "$BOX/etc/pylight" ] || { WHY="/etc/pylight left: $(find "$BOX/etc/pylight" -mindepth 1 -printf '%P ')"; return 1; }
	! in_box test -e /var/lib/private/pylight -o -L /var/lib/pylight || { WHY="the history is left"; return 1; }
	out=$(in_box dpkg-query -W -f '${db:Status-Abbrev}' pylight 2>/dev/null)
	[ -z "$out" ] || [ "$out" = "un " ] || { WHY="dpkg status '$out'"; return 1; }
	prop_is LoadState not-found || { WHY="pylight.service is $(box_show LoadState)"; return 1; }
	out=$(in_box systemctl list-unit-files --no-legend 'pylight.*' 'pylight-web.*')
	[ -z "$out" ] || { WHY="units left: $out"; return 1; }
	! in_box getent passwd pylight >/dev/null || { WHY="user pylight left"; return 1; }
	! in_box pgrep pylightd >/dev/null || { WHY="a pylightd process is left"; return 1; }
	out=$(diff <(echo "$TRACES_BEFORE") <(pylight_traces))
	[ -z "$out" ] || { WHY="left: $(echo "$out" | grep '^>' | tr '\n' ' ')"; return 1; }
}
check "deb: apt-get purge removes /etc/pylight and the history, and leaves no unit, user, file or process" deb_purge

# ------------------------------------------------------------------ teardown ----
BOX_PID1=$PID1
cleanup
nothing_left() {
	local left
	kill -0 "$LAUNCHER" 2>/dev/null && { WHY="launcher $LAUNCHER alive"; return 1; }
	kill -0 "$BOX_PID1" 2>/dev/null && { WHY="PID1 $BOX_PID1 alive"; return 1; }
	left=$(grep -l "$(basename "$T")" /proc/[0-9]*/cgroup 2>/dev/null)
	[ -z "$left" ] || { WHY="processes left: $left"; return 1; }
	[ ! -e "$CG" ] || { WHY="cgroup $CG left"; return 1; }
	! grep -qF "$T" /proc/self/mountinfo || { WHY="mounts left under $T"; return 1; }
	[ ! -e "$T" ] || { WHY="$T left"; return 1; }
}
check "teardown: no process, mount, cgroup or file left behind" nothing_left
trap - EXIT
summary
