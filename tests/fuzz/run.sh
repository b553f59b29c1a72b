#!/bin/sh
# Builds one libFuzzer harness from the project's sources with clang
# (-fsanitize=fuzzer,address,undefined) and runs it over its checked-in corpus for a bounded
# time; any crash, leak, sanitizer report, broken promise or input slower than 10 s fails.
#   sh tests/fuzz/run.sh tests/fuzz/NAME.fuzz      (an automake test; or by hand, longer:
#   VCS_FUZZ_SECONDS=3600 sh tests/fuzz/run.sh tests/fuzz/sip.fuzz)
# NAME.fuzz names the harness, the sources it links, their pkg-config packages and the
# largest input. Seeds: tests/fuzz/corpus/NAME/ (read only); what the run finds goes to
# $VCS_TOP_BUILDDIR/tests/fuzz/out/ (crash-* files are the inputs that failed).
# Exit 77 (skip) without clang, and in a sanitizer build (VCS_SAN_CFLAGS set): the harnesses
# are sanitizer builds already, and the normal build's suite runs them.
set -eu
spec=$1
srcdir=${VCS_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${VCS_TOP_BUILDDIR:-$srcdir}
name=$(basename "$spec" .fuzz)
HARNESS= SOURCES= PKGS= MAX_LEN=
. "$srcdir/tests/fuzz/$name.fuzz"
if [ -n "${VCS_SAN_CFLAGS:-}" ]; then
    echo "skipped: fuzzing runs in the normal build's suite"
    exit 77
fi
if ! command -v clang >/dev/null 2>&1; then
    echo "skipped: clang is not installed (scripts/deps.sh installs it)"
    exit 77
fi
out=$builddir/tests/fuzz/out
mkdir -p "$out"
srcs="$srcdir/tests/fuzz/$HARNESS"
for s in $SOURCES; do srcs="$srcs $srcdir/$s"; done
# shellcheck disable=SC2046,SC2086 # pkg-config output and the source list are word lists
clang -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$srcdir/src" $(pkg-config --cflags $PKGS) $srcs $(pkg-config --libs $PKGS) -lpthread \
    -o "$out/fuzz_$name"
work=$out/$name-corpus
rm -rf "$work" "$out/$name-crash-"* "$out/$name-leak-"* "$out/$name-timeout-"* "$out/$name-oom-"*
mkdir -p "$work"
# New inputs go into $work (first directory); the checked-in seeds are only read.
# libFuzzer reports a failure with exit code 77 unless told otherwise: that is "skipped" here.
exec "$out/fuzz_$name" -max_total_time="${VCS_FUZZ_SECONDS:-30}" -max_len="$MAX_LEN" \
    -error_exitcode=1 -timeout_exitcode=1 \
    -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$out/$name-" \
    "$work" "$srcdir/tests/fuzz/corpus/$name"
