#!/usr/bin/env python3
"""Prints Markdown tables of benchmark results from results.jsonl (written by vcs_bench.py
and bridge_bench.py).

    python3 bench/summarize.py [/tmp/vcs-bench/results.jsonl] [--since 2026-11-24T09:00]

One row per run, in the order they ran; repeated runs of one configuration stay separate rows,
so the spread caused by the shared machine stays visible. smoke runs are left out.
"""

import argparse
import json
import os
import sys


def pct(a, b, digits=2):
    return ("%.*f" % (digits, 100.0 * a / b)) if b else "-"


def mib(kb):
    return "%.1f" % (kb / 1024.0) if kb else "-"


def rtp_cols(r):
    q = r.get("rtp") or {}
    rec = q.get("received", 0)
    quiet = r.get("rtp_quiet") or {}
    qs = quiet.get("quiet_late5_pct")
    return (pct(q.get("lost_seq", 0), q.get("expected_seq", 0), 3),
            pct(max(0, q.get("expected_time", 0) - q.get("expected_seq", 0)),
                q.get("expected_time", 0), 2),
            pct(q.get("late5", 0), rec, 2),
            "%s (%s s)" % ("-" if qs is None else "%.2f" % qs, quiet.get("quiet_seconds", 0)),
            "%.0f" % q.get("max_late_ms", 0))


def threads(c):
    t = c.get("threads", {})
    keep = [k for k in ("sip", "worker0", "worker1", "store") if k in t]
    return " / ".join("%.0f" % t[k] for k in keep)


def short_table(rows, title):
    print("\n### %s\n" % title)
    print("| run (UTC) | config | offered calls/s | ok | failed | 503 | SIPp retrans | set-up p50/p99/max ms "
          "| vcsd CPU % | sip / w0 / w1 / store % | SIPp % | rtpsink % | others % "
          "| RSS peak MiB | RTP lost % | not sent % | late>5ms % | late>5ms % quiet (s) "
          "| max late ms |")
    print("|" + "---|" * 20)
    for r in rows:
        s = r["sipp"]
        c = r.get("cpu") or {}
        lost, short, late, quiet, mx = rtp_cols(r)
        cfg = ("shipped" if r["config"].strip() == "return {}" else
                "max_cps %s" % r["config"].split("max_cps = ")[1].split(",")[0]
                if "max_cps = " in r["config"] else "?")
        if r["name"].startswith(("short-", "bridge-short-")):
            cfg = "no limits"
        print("| %s | %s | %d | %d | %d | %d | %d | %s/%s/%s | %.1f | %s | %.0f | %.0f | %.0f "
              "| %s | %s | %s | %s | %s | %s |" % (
                  when(r), cfg, r["rate"], s["successful"] - r.get("sipp_503", 0),
                  s["failed"], r.get("sipp_503", 0), s["retransmissions"], fmt(s["setup_ms_p50"]),
                  fmt(s["setup_ms_p99"]), fmt(s["setup_ms_max"]), c.get("vcsd", 0), threads(c),
                  c.get("sipp", 0), c.get("sink", 0), c.get("other", 0),
                  mib(r.get("rss_peak_kb")), lost, short, late, quiet, mx))


def when(r):
    """Start time; '+perf' when perf record ran during it (it costs CPU); [wrapper] when vcsd
    ran under one (e.g. chrt)."""
    return (r["date"][11:16]
            + (" +perf" if os.path.exists(os.path.join(r["dir"], "perf.data")) else "")
            + (" [%s]" % r["vcsd_wrap"] if r.get("vcsd_wrap") else ""))


def fmt(v):
    return "-" if v is None else "%.0f" % v


def play_table(rows, title):
    print("\n### %s\n" % title)
    print("| run (UTC) | N | failed | set-up p99 ms | vcsd CPU % | per call % | w0 / w1 % "
          "| preempted/s w0+w1 | rtpsink % | others % | RSS before / window / peak MiB "
          "| KiB per call | RSS +40 s / +75 s MiB | RTP lost % | not sent % | late>5ms % "
          "| late>5ms % quiet (s) | max late ms |")
    print("|" + "---|" * 18)
    for r in rows:
        s = r["sipp"]
        c = r.get("cpu") or {}
        lost, short, late, quiet, mx = rtp_cols(r)
        t = c.get("threads", {})
        pre = c.get("preempted_per_s", {})
        dr = r.get("rss_after_drain_kb") or {}
        if not isinstance(dr, dict):   # early runs kept one checkpoint, at 40 s
            dr = {"40": dr}
        n = r["calls"]
        per_kib = ("%.1f" % ((r["rss_window_kb"] - r["rss_before_kb"]) / n)
                   if r.get("rss_window_kb") and r.get("rss_before_kb") else "-")
        preempt = ("%.0f" % (pre.get("worker0", 0) + pre.get("worker1", 0))
                   if "preempted_per_s" in c else "-")
        print("| %s | %d | %d | %s | %.1f | %.4f | %.0f / %.0f | %s | %.0f | %.0f "
              "| %s / %s / %s | %s | %s / %s | %s | %s | %s | %s | %s |" % (
                  when(r), n, s["failed"] + (n - s["successful"]),
                  fmt(s["setup_ms_p99"]), c.get("vcsd", 0), c.get("vcsd", 0) / n,
                  t.get("worker0", 0), t.get("worker1", 0), preempt, c.get("sink", 0),
                  c.get("other", 0), mib(r.get("rss_before_kb")), mib(r.get("rss_window_kb")),
                  mib(r.get("rss_peak_kb")), per_kib,
                  mib(dr.get("40")), mib(dr.get("75")), lost, short, late, quiet, mx))


def bridge_table(rows, title):
    """What only the bridge runs have: the carrier's side, the audio that crossed the bridge
    both ways, the recordings."""
    print("\n### %s\n" % title)
    print("| run (UTC) | run | carrier ok / failed | vcsd ms per call (rate runs) | caller audio "
          "back silent % | vcsd RTP drops | recording KiB/s | recorded s | sample sound "
          "left / right % |")
    print("|" + "---|" * 9)
    for r in rows:
        c = r.get("carrier") or {}
        q = r.get("rtp") or {}
        rec = r.get("recordings") or {}
        print("| %s | %s | %s / %s | %s | %s | %s | %s | %s | %s / %s |" % (
            when(r), r["name"], c.get("successful", "-"), c.get("failed", "-"),
            r.get("cpu_ms_per_call", "-"),
            pct(q.get("silent", 0), q.get("received", 0), 2) if r.get("sink_sends") else "-",
            r.get("rtp_dropped_by_vcsd", "-"), r.get("recording_write_kib_s", "-"),
            rec.get("seconds", "-"), rec.get("sample_left_sound_pct", "-"),
            rec.get("sample_right_sound_pct", "-")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", default="/tmp/vcs-bench/results.jsonl")
    ap.add_argument("--since", default="", help="only runs from this UTC time on "
                    "(YYYY-MM-DD HH:MM)")
    args = ap.parse_args()
    runs = []
    with open(args.path) as f:
        for line in f:
            r = json.loads(line)
            if r["name"].startswith("smoke") or r["date"] < args.since:
                continue
            runs.append(r)
    by = lambda prefix: [r for r in runs if r["name"].startswith(prefix)]
    short_table([r for r in by("short-")], "(a) short calls")
    play_table(by("play-"), "(b) playing calls, caller silent")
    play_table(by("play2way-"), "(c) playing calls, caller sending RTP")
    short_table(by("overload"), "(e) overload")
    short_table(by("bridge-short-"), "bridging (a) bridged short calls")
    play_table(by("bridge-hold-"), "bridging (b) bridged calls, audio both ways (per call = per "
               "bridged call)")
    play_table(by("conference-"), "bridging (c) conferences (per call = per member)")
    bridge_table(by("bridge-"), "bridging (a), (b): carrier, audio across the bridge, recordings")
    for r in by("leak"):
        print("\n### (d) repeated loads: %s\n" % r["name"])
        print("| point | RSS MiB |\n|---|---|")
        for point, kb in r["rss_kb"]:
            print("| %s | %s |" % (point, mib(kb)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
