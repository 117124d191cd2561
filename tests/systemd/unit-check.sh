#!/bin/bash
# unit-check.sh -- the shipped units as `make install` writes them: `systemd-analyze verify` says
# nothing about it, and `systemd-analyze security --offline=true` rates its exposure <= MAX.
# Prints one "PASS  ..." or "FAIL  ..." line per check; exits non-zero on any failure.
# Needs a private mount namespace (root, or unprivileged user namespaces) so that the
# installed binary and man pages sit where the unit names them, as on an installed system.
# shellcheck disable=SC2016 # single-quoted $ is for the unit file and the inner sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

MAX_EXPOSURE=${MAX_EXPOSURE:-1.5}
MAX_WEB_EXPOSURE=${MAX_WEB_EXPOSURE:-2.0}
PREFIX=/usr/local
failed=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failed=$((failed + 1)); }

tmp=$(mktemp -d /tmp/pylight-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! out=$(env -u MAKEFLAGS -u MFLAGS make -s --no-print-directory install \
	DESTDIR="$tmp/root" PREFIX="$PREFIX" 2>&1); then
	fail "unit: make install DESTDIR=$tmp/root: $out"
	exit 1
fi
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
unit=$tmp/root$unitdir/pylight.service

if grep -q '@[A-Z]*@' "$unit"; then
	fail "unit: placeholders left in the installed unit: $(grep '@[A-Z]*@' "$unit" | head -n1)"
elif grep -qx "ExecStart=$PREFIX/sbin/pylightd -c /etc/pylight/pylight.ini" "$unit"; then
	pass "unit: make install writes ExecStart=$PREFIX/sbin/pylightd -c /etc/pylight/pylight.ini"
else
	fail "unit: unexpected ExecStart: $(grep '^ExecStart=' "$unit")"
fi

# What the service relies on; the sandbox tests override WatchdogSec= and so cannot see it.
missing=
for line in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' \
	'RestartPreventExitStatus=78' 'DynamicUser=yes' 'ProtectSystem=strict' 'CapabilityBoundingSet=' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'SystemCallFilter=@system-service'; do
	grep -qxF "$line" "$unit" || missing="$missing '$line'"
done
grep -qx 'WatchdogSec=[1-9][0-9]*s\{0,1\}' "$unit" || missing="$missing 'WatchdogSec=N'"
if [ -z "$missing" ]; then
	pass "unit: Type=notify, ExecReload, WatchdogSec, Restart=on-failure, RestartPreventExitStatus=78, hardening"
else
	fail "unit: missing:$missing"
fi

# verify checks that ExecStart's binary exists and that the Documentation= man pages are
# found: show it the installed $PREFIX over the real one, in a mount namespace of its own.
if [ "$(id -u)" -eq 0 ]; then ns=(unshare --mount --propagation private); else ns=(unshare -rm); fi
verify=$("${ns[@]}" sh -c 'mount --bind "$1$2" "$2" && exec systemd-analyze verify "$3"' sh \
	"$tmp/root" "$PREFIX" "$unit" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$verify" ]; then
	pass "unit: systemd-analyze verify prints nothing"
else
	fail "unit: systemd-analyze verify (exit $rc) said: $(echo "$verify" | tr '\n' ' ')"
fi

# Exposure of a unit: at most its limit (pylight.service MAX_EXPOSURE, pylight-web.service
# MAX_WEB_EXPOSURE, as it listens and writes ref.txt's folder).
exposure_check() {
	local unit=$1 max=$2 name security exposure
	name=$(basename "$unit")
	security=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
	exposure=$(echo "$security" |
		sed -n "s/.*Overall exposure level for ${name//./\\.}: \([0-9.]*\).*/\1/p")
	if [ -z "$exposure" ]; then
		fail "$name: no exposure level in systemd-analyze security output: $(echo "$security" | tail -n 3)"
	elif awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }'; then
		pass "$name: systemd-analyze security exposure $exposure <= $max"
	else
		fail "$name: systemd-analyze security exposure $exposure > $max"
		echo "$security" | grep '✗' >&2
	fi
}
exposure_check "$unit" "$MAX_EXPOSURE"

# pylight-web: its service and socket as installed, verified the same way.
web=$tmp/root$unitdir/pylight-web.service
if grep -qx "ExecStart=$PREFIX/sbin/pylight-web -c /etc/pylight/pylight.ini" "$web" &&
	grep -qx 'Type=notify' "$web" && grep -qx 'ReadWritePaths=/etc/pylight' "$web" &&
	grep -qx 'StateDirectory=pylight' "$web" &&
	grep -qx 'ListenStream=127.0.0.1:8080' "$tmp/root$unitdir/pylight-web.socket"; then
	pass "pylight-web: Type=notify, ReadWritePaths=/etc/pylight only, StateDirectory=pylight, socket on 127.0.0.1:8080"
else
	fail "pylight-web: unexpected unit: $(grep -E '^(ExecStart|Type|ReadWritePaths|StateDirectory)=' "$web" | tr '\n' ' ')"
fi
verify=$("${ns[@]}" sh -c 'mount --bind "$1$2" "$2" && exec systemd-analyze verify "$3" "$4"' sh \
	"$tmp/root" "$PREFIX" "$web" "$tmp/root$unitdir/pylight-web.socket" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$verify" ]; then
	pass "pylight-web: systemd-analyze verify prints nothing for its service and socket"
else
	fail "pylight-web: systemd-analyze verify (exit $rc) said: $(echo "$verify" | tr '\n' ' ')"
fi
exposure_check "$web" "$MAX_WEB_EXPOSURE"

exit $((failed > 0))
