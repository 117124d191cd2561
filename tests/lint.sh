#!/bin/sh
# lint.sh -- cppcheck and clang-tidy over src/common, src/pylightd and src/web with the Makefile's flags; any finding fails.
# clang-tidy's checks and the reasons for what is left out are in .clang-tidy.
set -eu

cd "$(dirname "$0")/.."
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
PKGS="libmosquitto inih libsystemd json-c libmicrohttpd sqlite3"

for tool in cppcheck "$CLANG_TIDY" pkg-config; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "lint: $tool not found; on Debian 12 install cppcheck and clang-tidy" >&2
		exit 1
	}
done
# shellcheck disable=SC2086 # one word per package
PCFLAGS=$(pkg-config --cflags $PKGS)
# The Makefile's defines, language and warnings (clang-tidy reports compiler warnings too).
FLAGS="-std=c11 -D_GNU_SOURCE -DPYLIGHT_VERSION=\"lint\" -Iinclude -Isrc/pylightd -Isrc/web $PCFLAGS -Wall -Wextra
	-Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wpointer-arith -Wformat=2 -Wvla"

# cppcheck reads headers it is given a path to, and it does not search the system folders:
# uthash.h and ini.h are its way to see through HASH_* and the inih callbacks, so a folder
# holding just those two stands in for /usr/include (reading all of libc is slow and noisy).
sys=build/lint/include
mkdir -p "$sys"
for h in uthash.h ini.h; do
	ln -sf "/usr/include/$h" "$sys/$h"
done

status=0

# Suppressed, with the reason:
# - variableScope: locals are declared at the top of the function (the tree's kernel style),
#   not in the innermost block.
# - knownConditionTrueFalse in thresholds_parse.c: cppcheck misses that parse_line adds to the
#   error list through the parser struct, so "no new error" looks always true.
# - nullPointerArithmeticRedundantCheck in thresholds_parse.c: file_read allocates the buffer
#   before the first read whenever it is NULL; cppcheck does not follow that.
# - unreachableCode in web/history.c and web/metrics.c: uthash's HASH_ADD expands to exit() on
#   out-of-memory inside a condition; cppcheck takes it as unconditional.
# - readdirCalled: readdir_r is deprecated by glibc; readdir is safe on a stream that one
#   thread owns, as mqtt.c's scan of /proc/self/task is.
# - uninitvar in decide.c: window_median is only called with at least one reading in the
#   window (n >= 1); cppcheck assumes n may be 0 (clang-tidy's NOLINT there says the same).
echo "lint: cppcheck"
# shellcheck disable=SC2046,SC2086 # flag lists
cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	--std=c11 --library=posix -D_GNU_SOURCE -DPYLIGHT_VERSION='"lint"' -Iinclude -Isrc/pylightd -Isrc/web -I"$sys" \
	$(pkg-config --cflags-only-I $PKGS) \
	--suppress=variableScope --suppress=readdirCalled \
	--suppress=knownConditionTrueFalse:src/common/thresholds_parse.c \
	--suppress=nullPointerArithmeticRedundantCheck:src/common/thresholds_parse.c \
	--suppress=unreachableCode:src/web/history.c --suppress=unreachableCode:src/web/metrics.c \
	--suppress=uninitvar:src/pylightd/decide.c \
	--template='{file}:{line}: {severity}: {message} [{id}]' \
	src/common/*.c src/pylightd/*.c src/web/*.c 2>&1 || status=1

echo "lint: clang-tidy ($($CLANG_TIDY --version | sed -n 's/.*LLVM version \([0-9.]*\).*/\1/p'))"
# Two files at a time (the machine has two cores); each failure prints its findings.
# shellcheck disable=SC2016 # $1..$3 belong to the inner sh
printf "%s\n" src/common/*.c src/pylightd/*.c src/web/*.c |
	xargs -P 2 -I {} sh -c '"$1" --quiet "$2" -- $3 2>/dev/null' sh "$CLANG_TIDY" {} "$FLAGS" ||
	status=1

if [ $status -ne 0 ]; then
	echo "lint: FAILED" >&2
	exit 1
fi
echo "lint: clean"
