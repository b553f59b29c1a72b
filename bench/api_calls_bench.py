#!/usr/bin/env python3
"""api_calls_bench: the management API under load while calls are up (issue 7 item 9) on top
of vcs_bench.

  api-calls        --api-n (500) calls up (SIPp uac_hold to 2001: loop.lua plays a prompt
                   without end; rtpsink reads every call's audio), a CDR table of
                   --api-cdr-rows (1000000) generated rows; once all are up: a quiet phase of
                   --api-seconds (20), then wrk (--api-conns 200 connections, 2 threads) for
                   --api-seconds against each of --api-paths in turn, then another quiet phase.
                   Reported per phase: the calls' media lateness (late > 5 ms share of the
                   packets vcsd sent, from rtpsink's per-second lines), vcsd's CPU per thread
                   and its threads' preemptions; per wrk phase: requests/s, latency p50/p90/p99,
                   non-2xx answers, socket errors. The calls' SIPp must end with no failed call.
  api-calls-smoke  the same with 50 calls, 5 s phases and 5000 CDR rows (~1 min)

wrk runs like the other generators (--gen-sched, here `chrt --idle 0` by default): it gets a
core only when vcsd's threads leave it, so what is measured is vcsd's API thread competing with
its own media workers.
"""

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vcs_bench as vb  # noqa: E402

# The callers send no audio (rtpsink only listens): without this vcsd would end every call at
# media.timeout_s (60 s), in the middle of the wrk phases.
SILENT_CALLERS = "  media = { timeout_s = 0 },\n"

SCENARIOS = ("api-calls", "api-calls-smoke")
DOC = __doc__
SETTLE_S = 5  # after the last call is up, before the first phase


def add_args(ap):
    g = ap.add_argument_group("api-calls")
    g.add_argument("--api-n", type=int, default=500, help="calls up during the API load")
    g.add_argument("--api-conns", type=int, default=200, help="wrk connections")
    g.add_argument("--api-seconds", type=int, default=20, help="seconds of each phase")
    g.add_argument("--api-paths", default="/v1/calls?limit=50,/v1/cdrs?limit=50,/v1/health",
                   help="API paths loaded by wrk one after the other (operator token)")
    g.add_argument("--api-cdr-rows", type=int, default=1000000,
                   help="generated CDR rows (bench/cdr_fill.sql) before the calls")


def fill_cdrs(data, rows):
    con = sqlite3.connect(os.path.join(data, "vcs.db"), timeout=30)
    try:
        with open(os.path.join(HERE, "cdr_fill.sql")) as f:
            con.execute(f.read(), {"rows": rows})
        con.commit()
    finally:
        con.close()


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text):
    """Requests/s, latency percentiles (ms), non-2xx answers and socket errors of wrk's
    output (--latency)."""
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["requests_per_s"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else None
    for p, v, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        out["p%s_ms" % p] = round(float(v) * UNITS_MS[unit], 3)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return out


class ApiLoad:
    """vcs_bench.run_one hooks: a thread that waits until the n calls are up, then runs the
    phases (quiet, one wrk per path, quiet), noting when each began and ended; after the run,
    each phase's lateness and CPU."""

    def __init__(self, args, n, seconds, paths, cdr_rows):
        self.args = args
        self.n = n
        self.seconds = seconds
        self.paths = paths
        self.cdr_rows = cdr_rows
        self.phases = []   # [(name, t_from, t_to, wrk figures or None)]
        self.error = None

    def duration_s(self):
        """How long the calls must stay up once all are up (with margins for wrk's start)."""
        return SETTLE_S + self.seconds * (2 + len(self.paths)) + 5 * len(self.paths) + 10

    def start(self, run, vcsd, sampler):
        t = time.monotonic()
        fill_cdrs(vcsd.data, self.cdr_rows)
        run.result["cdr_fill_s"] = round(time.monotonic() - t, 1)
        self.run, self.vcsd, self.sampler = run, vcsd, sampler
        self.thread = threading.Thread(target=self.drive, daemon=True)
        self.thread.start()

    def drive(self):
        try:
            deadline = time.monotonic() + self.n / self.args.setup_rate + 60
            while (self.vcsd.health() or 0) < self.n:
                if time.monotonic() > deadline:
                    raise RuntimeError("the %d calls were never all up" % self.n)
                time.sleep(0.5)
            vb.log("%d calls up: phases of %d s" % (self.n, self.seconds))
            time.sleep(SETTLE_S)
            self.quiet("before")
            for path in self.paths:
                self.wrk(path)
            self.quiet("after")
        except Exception as e:  # reported in the result, never a silent thread death
            self.error = repr(e)
            vb.log("api-calls: %s" % self.error)

    def quiet(self, name):
        t = time.monotonic()
        time.sleep(self.seconds)
        self.phases.append((name, t, time.monotonic(), None))

    def wrk(self, path):
        argv = vb.gen_sched(self.args, ["nice", "-n", "19"]) + [
            "wrk", "-t2", "-c%d" % self.args.api_conns, "-d%ds" % self.seconds, "--latency",
            "-H", "Authorization: Bearer " + self.vcsd.token,
            "http://127.0.0.1:%d%s" % (self.vcsd.http_port, path)]
        out_path = os.path.join(self.run.dir, "wrk-%d.txt" % len(self.phases))
        with open(out_path, "wb") as out:
            p = vb.spawn(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            self.sampler.add("wrk", p.pid)
            t = time.monotonic()
            p.wait(self.seconds + 30)
            t1 = time.monotonic()
        with open(out_path, errors="replace") as f:
            figures = dict(parse_wrk(f.read()), path=path, exit=p.returncode)
        self.phases.append(("wrk " + path, t, t1, figures))
        vb.log("   wrk %s: %s" % (path, figures))

    def stop(self, run, win_rows):
        self.thread.join(self.duration_s() + 60)
        run.result["api_error"] = self.error

    def after_vcsd(self, run, vcsd):
        """Per phase: lateness from rtpsink's per-second lines, vcsd CPU and preemptions (the
        first and last second of a phase left out: wrk starts and stops)."""
        timeline = vb.sink_timeline(os.path.join(run.dir, "rtpsink.log"))
        out = []
        for name, t0, t1, figures in self.phases:
            lines = [x for x in timeline if t0 + 1 < x[0] <= t1 - 1]
            rx = sum(x[2] for x in lines)
            late = sum(x[3] for x in lines)
            rows = self.sampler.rows_between(t0 + 1, t1 - 1)
            cpu = vb.cpu_over(self.sampler, rows, run.labels) or {}
            wrk_cpu = self.sampler.window(rows[0], rows[-1]).get("wrk") if figures else None
            out.append({"phase": name, "seconds": round(t1 - t0, 1), "packets": rx,
                        "late5": late, "late5_pct": round(100.0 * late / rx, 4) if rx else None,
                        "streams_min": min((x[1] for x in lines), default=None),
                        "vcsd_cpu": cpu.get("vcsd"), "threads": cpu.get("threads"),
                        "preempted_per_s": cpu.get("preempted_per_s"),
                        "other_cpu": cpu.get("other"),
                        "wrk_cpu": round(wrk_cpu, 1) if wrk_cpu is not None else None,
                        "wrk": figures})
        run.result["api_phases"] = out


def scen_api_calls(args, n=None, seconds=None, cdr_rows=None, tag="api-calls"):
    n = n or args.api_n
    seconds = seconds or args.api_seconds
    paths = [p for p in args.api_paths.split(",") if p]
    hooks = ApiLoad(args, n, seconds, paths, cdr_rows or args.api_cdr_rows)
    ramp_s = n / args.setup_rate
    hold_ms = int((ramp_s + hooks.duration_s()) * 1000)
    res = vb.run_one(args, "%s-%d" % (tag, n), scenario="uac_hold", service="2001",
                     rate=args.setup_rate, calls=n, limit=n,
                     timeout_s=int(ramp_s + hold_ms / 1000 + 60), tmpl={"hold_ms": hold_ms},
                     config=vb.bench_config(extra=SILENT_CALLERS), rtp_ports=2 * n + 2000, plateau_calls=n,
                     sample=1, hooks=hooks)
    vb.print_result(res)
    for p in res.get("api_phases") or []:
        w = p["wrk"] or {}
        vb.log("   %-24s late>5ms %s%% of %s packets; vcsd %s%% (threads %s), preempted/s %s; "
            "others %s%%, wrk %s%%%s"
            % (p["phase"], p["late5_pct"], p["packets"], p["vcsd_cpu"], p["threads"],
               p["preempted_per_s"], p["other_cpu"], p["wrk_cpu"],
               "" if not w else "; %s req/s, p50 %s ms, p99 %s ms, non-2xx %s, errors %s"
               % (w.get("requests_per_s"), w.get("p50_ms"), w.get("p99_ms"), w.get("non_2xx"),
                  w.get("socket_errors"))))
    vb.log("   => %d calls: failed %d, API error %s"
           % (n, res["sipp"]["failed"], res.get("api_error")))
    return [res]


def scenarios(args):
    own = argparse.Namespace(**vars(args))
    own.gen_sched = args.gen_sched or "idle"
    return {"api-calls": lambda: scen_api_calls(own),
            "api-calls-smoke": lambda: scen_api_calls(own, n=50, seconds=5, cdr_rows=5000,
                                                      tag="smoke-api-calls")}
