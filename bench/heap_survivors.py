#!/usr/bin/env python3
"""What outlives a load: python3 bench/heap_survivors.py HEAP.zst FROM_S TO_S [TOP]

Reads a heaptrack file interpreted by bench/heap_profile.sh (HEAP.zst) and lists, by allocation
site, the blocks alive at TO_S seconds that were not alive at FROM_S (e.g. FROM_S before the
calls start, TO_S after they have ended): the memory a load left behind, and with it the pages
glibc cannot give back. heaptrack_print's own reports give the peak or the end of the run, not
an arbitrary moment, so this replays the file's allocation events itself.

The interpreted format (heaptrack 1.4, version 3): `s` strings, `i` instruction pointers (address,
module, then function string), `t` trace nodes (ip, parent), `a` allocation sites (size, trace),
`+`/`-` an allocation or free of a site, `c` the time in ms; numbers in hex, indices from 1 except
the sites' (from 0)."""
import collections
import subprocess
import sys


def replay(path, t_from_ms, t_to_ms):
    strings, ips, traces, sites = [""], [None], [(0, 0)], []
    live = collections.Counter()
    at_from = at_to = None
    proc = subprocess.Popen(["zstd", "-dc", path], stdout=subprocess.PIPE, text=True,
                            errors="replace")
    for line in proc.stdout:
        kind, rest = line[0], line[2:].rstrip("\n")
        if kind == "+":
            live[int(rest, 16)] += 1
        elif kind == "-":
            live[int(rest, 16)] -= 1
        elif kind == "c":
            now = int(rest, 16)
            if at_from is None and now >= t_from_ms:
                at_from = live.copy()
            if at_to is None and now >= t_to_ms:
                at_to = live.copy()
        elif kind == "a":
            size, trace = rest.split()
            sites.append((int(size, 16), int(trace, 16)))
        elif kind == "t":
            ip, parent = rest.split()
            traces.append((int(ip, 16), int(parent, 16)))
        elif kind == "i":
            f = rest.split()
            ips.append(strings[int(f[2], 16)] if len(f) > 2 else f[0])
        elif kind == "s":
            strings.append(rest.split(" ", 1)[1] if " " in rest else "")
    proc.wait()
    if at_from is None or at_to is None:
        sys.exit("heap_survivors.py: the run is shorter than %d s" % (t_to_ms // 1000))
    return ips, traces, sites, at_from, at_to


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.split("\n")[0])
    path, t_from, t_to = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    ips, traces, sites, at_from, at_to = replay(path, t_from * 1000, t_to * 1000)

    def stack(trace, depth=7):
        frames = []
        while trace and len(frames) < depth:
            ip, trace = traces[trace]
            frames.append(ips[ip])
        return " < ".join(frames)

    size_by, count_by = collections.Counter(), collections.Counter()
    for site in set(at_from) | set(at_to):
        more = at_to[site] - at_from[site]
        if more > 0:
            size, trace = sites[site]
            key = stack(trace)
            size_by[key] += more * size
            count_by[key] += more
    print("alive at %g s and not at %g s: %d bytes in %d blocks" % (
        t_to, t_from, sum(size_by.values()), sum(count_by.values())))
    for key, size in size_by.most_common(top):
        print("%9d B %7d x  %s" % (size, count_by[key], key[:240]))


if __name__ == "__main__":
    main()
