#!/bin/sh
# Installs the Debian 12 packages vcsd needs to build, run and test, when any is missing.
# Used by the README commands and by .ci/run; safe to run again.
set -e
PKGS="build-essential autoconf automake libtool pkg-config
 libsofia-sip-ua-dev libevent-dev liblua5.4-dev libsndfile1-dev libsqlite3-dev sqlite3
 libpcre2-dev libjansson-dev libspandsp-dev libspeexdsp-dev liburing-dev libespeak-ng-dev espeak-ng
 libssl-dev libcmocka-dev sip-tester python3 curl sox tzdata
 clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $missing
