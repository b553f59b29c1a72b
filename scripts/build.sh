#!/bin/sh
# Builds vcsd in this checkout (installing what is missing first): src/vcsd, src/vcsctl, sounds/.
set -e
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)"
