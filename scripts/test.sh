#!/bin/sh
# Runs every test (unit tests and end-to-end tests against a real vcsd), installing and building
# what is missing first. With --sanitizers the suite runs on an AddressSanitizer +
# UndefinedBehaviorSanitizer build made in build-asan/ (a copy of this checkout).
# Ends with one line "N passed, N failed, N skipped".
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
if [ "${1:-}" = "--sanitizers" ]; then
    sh scripts/deps.sh
    rm -rf build-asan
    mkdir build-asan
    git ls-files -co --exclude-standard | grep -v '^build-asan/' | tar -cf - -T - | tar -xf - -C build-asan
    cd build-asan
    autoreconf -fi >/dev/null
    ./configure --enable-werror --enable-sanitizers >/dev/null
    make -j"$(nproc)" >/dev/null
else
    sh scripts/build.sh >/dev/null
fi
rc=0
make -j"$(nproc)" check || rc=$?
python3 "$top/scripts/test-summary.py" .
exit $rc
