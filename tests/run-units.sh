#!/bin/sh
# run-units.sh -- runs every test_* program in the given folders and sums up the results
set -u

[ $# -gt 0 ] || {
	echo "usage: $0 DIR..." >&2
	exit 2
}

passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for dir; do
	if [ ! -d "$dir" ]; then
		echo "FAIL $dir: no such folder (were the unit tests built?)"
		failed=$((failed + 1))
		continue
	fi
	for test in "$dir"/test_*; do
		[ -f "$test" ] || continue
		[ -x "$test" ] || continue
		# A hung test must not hang `make check`.
		if timeout 300 "$test" >"$out" 2>&1; then
			echo "PASS $test"
			passed=$((passed + 1))
		else
			rc=$?
			why="exit $rc"
			[ "$rc" -ne 124 ] || why="timed out"
			echo "FAIL $test ($why)"
			sed 's/^/    /' "$out"
			failed=$((failed + 1))
		fi
	done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
