#!/usr/bin/env python3
"""Reads a heaptrack profile of a bridge-hold run (bench/heap_profile.sh): prints the heap in
use every 2 s while it changes (from the interpreted trace's allocation records) and the peak
heap split by the innermost vcsd function on each allocation's stack, per bridged call. Start-up
allocations (db_open, tts_create, lockout_create, ...) are fixed: they show up divided by N.
Usage: heap_breakdown.py HEAP.zst PEAK_STACKS.txt N"""

import collections
import re
import subprocess
import sys

# Frames that name a place in vcsd's own sources (heaptrack prints "function (file.c)").
OURS = re.compile(r"^(\w+) \((\w+)\.c\)$")
NOT_OURS = {"malloc", "calloc", "realloc", "dl-init", "rtld", "pthread_create", "clone3"}


def timeline(path):
    sizes, in_use, last, shown = [], 0, -1, None
    proc = subprocess.Popen(["zstdcat", path], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        kind = line[0]
        if kind == "a":
            sizes.append(int(line.split()[1], 16))
        elif kind == "+":
            in_use += sizes[int(line.split()[1], 16)]
        elif kind == "-":
            in_use -= sizes[int(line.split()[1], 16)]
        elif kind == "c":
            ms = int(line.split()[1], 16)
            if ms // 2000 != last and in_use != shown:
                last, shown = ms // 2000, in_use
                print("  %6.1f s  %9.0f KiB" % (ms / 1000, in_use / 1024))
    proc.wait()


def breakdown(path, n):
    by, total = collections.Counter(), 0
    with open(path) as f:
        for line in f:
            stack, _, cost = line.rstrip().rpartition(" ")
            total += int(cost)
            ours = [m.group(1) for m in map(OURS.match, stack.split(";"))
                    if m and m.group(2) not in NOT_OURS]
            by[ours[-1] if ours else "(outside vcsd: libraries' start-up)"] += int(cost)
    print("peak heap %.0f KiB; per bridged call (N=%d), by the vcsd function that allocated:"
          % (total / 1024, n))
    for fn, cost in by.most_common(25):
        print("  %8.2f KiB  %s" % (cost / 1024 / n, fn))


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    print("heap in use over the run:")
    timeline(sys.argv[1])
    breakdown(sys.argv[2], int(sys.argv[3]))


if __name__ == "__main__":
    main()
