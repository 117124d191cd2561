#!/bin/sh
# deps.sh -- installs the Debian 12 packages pylight's make targets need, when missing
#
# Usage: deps.sh [demo]. With `demo`, only what `make demo` runs: the build, a broker and the
# simulated sensors' Python client. Without, also what the tests, lint, fuzz, bench and
# `make deb` use (a browser and the packaging tools among them), which a newcomer's first
# demo has no use for.
set -eu

# The build (debian/control's Build-Depends name the same) and what the demo runs.
DEMO_PACKAGES="build-essential pkg-config libmosquitto-dev libinih-dev libsystemd-dev libjson-c-dev
uthash-dev libxxhash-dev libmicrohttpd-dev libsqlite3-dev xxd mosquitto python3 python3-paho-mqtt"
# The tests, the lint and fuzz tools, and what `make deb` and its checks use.
PACKAGES="libcmocka-dev mosquitto-clients python3-pytest faketime libfaketime python3-jinja2
openssl valgrind systemd clang libclang-rt-14-dev cppcheck clang-tidy prometheus
chromium chromium-driver python3-selenium dpkg-dev debhelper lintian blhc"
case ${1:-} in
demo) PACKAGES=$DEMO_PACKAGES ;;
"") PACKAGES="$DEMO_PACKAGES $PACKAGES" ;;
*)
	echo "usage: $0 [demo]" >&2
	exit 2
	;;
esac

command -v dpkg-query >/dev/null 2>&1 || {
	echo "deps: dpkg-query not found; this needs Debian 12 with: $PACKAGES" >&2
	exit 1
}

missing=
for pkg in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0

echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "deps: not root and no sudo; as root run:" >&2
	echo "    apt-get update && apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
$sudo apt-get update
# shellcheck disable=SC2086 # one word per package
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
