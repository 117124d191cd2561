#!/bin/sh
# run.sh -- builds the libFuzzer targets (clang, ASan+UBSan) into build/fuzz/, replays the inputs
# that once failed (tests/fuzz/regressions/TARGET/), then fuzzes each target for FUZZ_SECONDS
# from a copy of its seed corpus (tests/fuzz/corpus/TARGET/) under build/fuzz/run/.
# Exits non-zero on any crash, leak, timeout or out-of-memory. Never writes into tests/.
set -eu

cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-20}
TARGETS=${FUZZ_TARGETS:-"thresholds config reading override web schedule presence"}
CC_FUZZ=${CC_FUZZ:-clang}
OUT=build/fuzz
RUN=$OUT/run

command -v "$CC_FUZZ" >/dev/null 2>&1 || {
	echo "fuzz: $CC_FUZZ not found; on Debian 12 install clang and libclang-rt-14-dev" >&2
	exit 1
}
case $SECONDS_EACH in
'' | *[!0-9]*)
	echo "fuzz: FUZZ_SECONDS must be a whole number of seconds, not '$SECONDS_EACH'" >&2
	exit 2
	;;
esac
# FUZZ_SECONDS=0 only replays the regression inputs and the seed corpus.
limit=-max_total_time=$SECONDS_EACH
[ "$SECONDS_EACH" -gt 0 ] || limit=-runs=0

# The Makefile's language and warning flags; -O1 -g keeps stacks readable at full speed.
CFLAGS="-std=c11 -D_GNU_SOURCE -Iinclude -Isrc/pylightd -Isrc/web $(pkg-config --cflags inih json-c) -g -O1
	-fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wpointer-arith
	-Wformat=2 -Wvla"
LIBS="$(pkg-config --libs inih json-c) -lm"

srcs() {
	case $1 in
	thresholds) echo "src/common/number.c src/common/names.c src/common/errlist.c src/common/buf.c src/common/file.c \
		src/common/thresholds.c src/common/thresholds_parse.c src/common/schedule.c src/common/sun.c" ;;
	config) echo "src/common/errlist.c src/common/names.c src/common/cluster.c src/common/number.c src/common/password.c \
		src/common/config.c" ;;
	reading | override | presence) echo "src/common/number.c src/common/reading.c" ;;
	schedule) echo "src/common/schedule.c src/common/sun.c" ;;
	web) echo "src/common/number.c src/common/names.c src/common/errlist.c src/common/buf.c src/common/file.c \
		src/common/thresholds.c src/common/thresholds_parse.c src/common/schedule.c src/common/sun.c \
		src/common/reading.c src/web/body.c \
		src/web/edit.c" ;;
	esac
}

mkdir -p "$OUT"
for t in $TARGETS; do
	[ -f "tests/fuzz/fuzz_$t.c" ] || {
		echo "fuzz: no target tests/fuzz/fuzz_$t.c" >&2
		exit 2
	}
	# shellcheck disable=SC2046,SC2086 # word splitting of flag and file lists is intended
	$CC_FUZZ $CFLAGS -o "$OUT/fuzz_$t" "tests/fuzz/fuzz_$t.c" $(srcs "$t") $LIBS
done

# Leaks are checked after every input that allocated more than it freed, and at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The lines of a sanitizer or libFuzzer report worth showing: what, where, the stack.
REPORT='ERROR|SUMMARY|runtime error|^ +#[0-9]+ '
failed=
summary=
for t in $TARGETS; do
	dir=$RUN/$t
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/tmp"
	cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"

	# Every input that once crashed is run once, before any new fuzzing.
	if [ -n "$(find "tests/fuzz/regressions/$t" -type f 2>/dev/null)" ]; then
		if TMPDIR=$dir/tmp "$OUT/fuzz_$t" -artifact_prefix="$dir/artifacts/" \
			tests/fuzz/regressions/"$t"/* </dev/null >"$dir/regressions.log" 2>&1; then
			n=$(find "tests/fuzz/regressions/$t" -type f | wc -l)
			echo "fuzz_$t: $n regression inputs pass"
		else
			echo "fuzz_$t: a regression input fails again, see $dir/regressions.log" >&2
			grep -E "^Running:|$REPORT" "$dir/regressions.log" | head -n 25 >&2
			summary="${summary}fuzz_$t: regression input FAILED
"
			failed="$failed $t"
			continue
		fi
	fi

	# shellcheck disable=SC2086 # $dict is empty or one word
	if TMPDIR=$dir/tmp "$OUT/fuzz_$t" $limit -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $dict \
		-artifact_prefix="$dir/artifacts/" "$dir/corpus" \
		</dev/null >"$dir/fuzz.log" 2>&1; then
		status=ok
	else
		status=FAILED
		failed="$failed $t"
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -n 1)
	n=$(find "$dir/corpus" -type f | wc -l)
	if [ $status = ok ]; then
		line="fuzz_$t: ${execs:-?} executions in $SECONDS_EACH s, corpus $n inputs, ok"
	else
		line="fuzz_$t: FAILED after ${execs:-?} executions"
	fi
	echo "$line"
	summary="$summary$line
"
	if [ $status = FAILED ]; then
		grep -E "$REPORT|Test unit written" "$dir/fuzz.log" | head -n 25 >&2
		echo "fuzz_$t: full log in $dir/fuzz.log;" \
			"add the input (artifacts/) to tests/fuzz/regressions/$t/" >&2
	fi
done

printf '%s' "$summary" >"$RUN/summary.txt"
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
echo "fuzz: all targets ran without a crash, leak or timeout"
