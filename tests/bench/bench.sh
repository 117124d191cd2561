#!/bin/sh
# bench.sh -- `make bench`: pylightd against a bare libmosquitto relay, printed as one table
#
# usage: tests/bench/bench.sh BUILD_DIR
# BENCH_N, BENCH_ROUNDS, BENCH_IDLE, BENCH_QOS, BENCH_RENAMES, BENCH_FAILOVER, BENCH_KEEPALIVES,
# BENCH_ZONES
# shrink or tune it (see bench.py);
# a CI smoke run: BENCH_N=200 BENCH_ROUNDS=1 BENCH_IDLE=2. Exits 0 when the bench ran,
# whatever PASS/FAIL says; non-zero only when it could not run.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# Debian's python: the python3 on PATH may be another one (pyenv, a venv). Standard library only.
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$1"
