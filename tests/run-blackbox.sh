#!/bin/sh
# run-blackbox.sh -- runs the black-box tests against $PYLIGHTD (default build/plain/pylightd)
# and $PYLIGHT_WEB (default: pylight-web beside $PYLIGHTD)
#
# Extra arguments go to pytest (e.g. -k restart, -x, -v); test files among them
# (tests/blackbox/test_web.py) run alone, else the whole folder runs. Debian's
# /usr/bin/python3 is used on purpose: it is the one that sees python3-paho-mqtt and
# python3-pytest.
set -eu
cd "$(dirname "$0")/.."
PYLIGHTD=$(realpath -m "${PYLIGHTD:-build/plain/pylightd}")
PYLIGHT_WEB=$(realpath -m "${PYLIGHT_WEB:-$(dirname "$PYLIGHTD")/pylight-web}")
export PYLIGHTD PYLIGHT_WEB
echo "black-box tests of $PYLIGHTD and $PYLIGHT_WEB"
what=tests/blackbox
for arg; do
	case $arg in
	tests/blackbox/*) what= ;;
	esac
done
# shellcheck disable=SC2086 # empty when files were named
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider $what "$@"
