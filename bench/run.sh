#!/bin/bash
# vcsd benchmark driver:
#   bench/run.sh [short|play|play2way|overload|leak|smoke|bridge-short|bridge-hold|conference|
#                 campaign|campaigns-many|api-calls ...] [options]
# Builds bench/rtpsink.c and bench/rtpecho.c, raises the descriptor limit, then runs
# bench/all_bench.py (the
# scenarios of bench/vcs_bench.py and of the modules on top of it: bridge_bench.py,
# campaign_bench.py, api_calls_bench.py), which starts its own vcsd per run (free loopback
# ports, temporary data folder) and drives it with SIPp (and a second SIPp as the carrier for
# the bridge and campaign scenarios). Options: bench/run.sh --help. Environment: VCSD (binary, default
# /tmp/build/src/vcsd), BENCH_WORKDIR (run folders and results.jsonl, default /tmp/vcs-bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_WORKDIR:-/tmp/vcs-bench}
mkdir -p "$work"
for tool in sipp sox gcc python3 vmstat chrt taskset; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install sip-tester sox gcc python3 procps util-linux)" >&2; exit 1; }
done
# SIPp and vcsd need a socket per call (vcsd two: RTP and RTCP).
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 12000 ]; then
    echo "run.sh: warning: ulimit -n is $(ulimit -n); 4000-call runs need about 10000" >&2
fi
for tool in rtpsink rtpecho; do
    if [ ! -x "$work/$tool" ] || [ "$here/$tool.c" -nt "$work/$tool" ]; then
        gcc -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -o "$work/$tool" "$here/$tool.c" -lm
    fi
done
export PYTHONDONTWRITEBYTECODE=1
exec python3 "$here/all_bench.py" --rtpsink "$work/rtpsink" --rtpecho "$work/rtpecho" \
    --workdir "$work" "$@"
