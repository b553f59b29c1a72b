#!/bin/sh
# Runs vcsd on the demo configuration: loopback only, embedded SQLite in ./var, the demo
# dialplans and prompts. Installs and builds what is missing first. Ctrl-C (SIGINT) or SIGTERM
# drains and stops it.
#   call 1000 (hello) or 1001 (echo):  sipp 127.0.0.1:5060 -sn uac -s 1000 -m 1
#   API token: var/admin.token         health: src/vcsctl health
set -e
cd "$(dirname "$0")/.."
sh scripts/build.sh >&2
exec src/vcsd --sip 127.0.0.1:5060 --http 127.0.0.1:8080 --data ./var \
    --dialplans ./dialplans --sounds ./sounds --rtp-ports 20000-29999 "$@"
