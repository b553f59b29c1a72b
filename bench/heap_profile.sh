#!/bin/bash
# Where a bridged call's memory goes: bench/heap_profile.sh [N] [HOLD_S] [bench/run.sh options]
# Runs the bridge-hold scenario (N bridged recorded calls, default 200, held HOLD_S seconds,
# default 15) on a vcsd traced by heaptrack, then prints bench/heap_breakdown.py's report:
# the heap over time and, at its peak, the bytes per bridged call grouped by the vcsd function
# that asked for them (the SIP thread's are Sofia-SIP's). heaptrack is preloaded into vcsd
# itself (not run through the heaptrack script) so that vcsd keeps the PID the benchmark
# stops with SIGTERM and shuts down cleanly. Needs heaptrack (apt-get install heaptrack) and
# zstd. Environment as bench/run.sh (VCSD, BENCH_WORKDIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-200}
hold=${2:-15}
shift $(($# < 2 ? $# : 2))
vcsd=${VCSD:-/tmp/build/src/vcsd}
work=${BENCH_WORKDIR:-/tmp/vcs-bench}/heap-$(date +%Y%m%d-%H%M%S)
preload=/usr/lib/heaptrack/libheaptrack_preload.so
interpret=/usr/lib/heaptrack/libexec/heaptrack_interpret
for f in "$preload" "$interpret"; do
    [ -e "$f" ] || { echo "heap_profile.sh: $f is missing (apt-get install heaptrack)" >&2; exit 1; }
done
command -v zstd >/dev/null || { echo "heap_profile.sh: zstd is missing (apt-get install zstd)" >&2; exit 1; }
[ -x "$vcsd" ] || { echo "heap_profile.sh: no vcsd at $vcsd (set VCSD=)" >&2; exit 1; }
mkdir -p "$work"
vcsd=$(realpath "$vcsd")
cat > "$work/vcsd" <<WRAP
#!/bin/sh
LD_PRELOAD=$preload DUMP_HEAPTRACK_OUTPUT=$work/raw.\$\$ exec $vcsd "\$@"
WRAP
chmod +x "$work/vcsd"
VCSD="$work/vcsd" BENCH_WORKDIR="$work" "$here/run.sh" bridge-hold --bridge-n "$n" --hold "$hold" \
    "$@" | tee "$work/bench.log"
raw=$(ls "$work"/raw.* | head -1)
"$interpret" < "$raw" | zstd -q > "$work/heap.zst"
rm -f "$work"/raw.*
heaptrack_print -f "$work/heap.zst" --print-flamegraph "$work/peak-stacks.txt" \
    --flamegraph-cost-type peak > /dev/null
python3 "$here/heap_breakdown.py" "$work/heap.zst" "$work/peak-stacks.txt" "$n"
echo "heap_profile.sh: files in $work (heaptrack_print -f $work/heap.zst for the full report)"
