#!/usr/bin/env python3
"""ivr_bench: N concurrent SIPp callers navigating a vcsd IVR with RFC 4733 keys.

Measures what the issue asks for: keys lost (target 0), vcsd CPU and RSS while all N calls
are up, failed calls, and the TTS cache hit rate (GET /metrics, vcs_tts_requests_total).

Each caller (scenarios/ivr_keys.xml) waits --first-ms after its ACK while vcsd speaks a TTS
welcome, then presses --keys (default 12345) as RFC 4733 events from the sip-tester pcaps,
--gap-ms apart; the dialplan (dialplans-ivr/ivr_load.lua) reads one key per read_digits round
and appends it (or "?" on a timeout) to the call variable `keys`, which lands in the CDR.
After the run the CDRs (<data>/vcs.db, table cdr, column vars) are compared with what was sent.

Reuses bench/vcs_bench.py (imported, not modified): free ports, the /proc sampler, the vmstat
idle check, the SIPp wrapper and its statistics readers. Every wait is bounded; SIPp runs with
-m and -timeout. Run folders go to <workdir>/<stamp>-ivr-<N>/, one JSON line per run to
<workdir>/results-ivr.jsonl.

  python3 bench/ivr_bench.py --calls 500 --rate 100
"""

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vcs_bench as vb  # noqa: E402  (bench-helper's module, used read-only)

PCAP_DIR = "/usr/share/sip-tester"
PCAP_NAME = {"*": "star", "#": "pound"}
SERVICE = "3000"          # routed to ivr_load in dialplans-ivr/routes.lua
ROUNDS = 5                # read_digits rounds in ivr_load.lua
PROMPT = "ivr_bench_enter"


def log(msg):
    print("[ivr %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class IvrVcsd(vb.Vcsd):
    """vb.Vcsd with the IVR dialplans and the round prompt in the run's sounds folder."""

    def __init__(self, run, config, rtp_ports):
        super().__init__(run, config, rtp_ports)
        wav = os.path.join(self.sounds, PROMPT + ".wav")
        raw = wav + ".22k.wav"
        subprocess.run(["espeak-ng", "-w", raw, "Enter a digit."], check=True, timeout=30)
        subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", wav], check=True,
                       timeout=30)
        os.unlink(raw)

    def start(self):
        # vb.Vcsd.start hard-wires bench/dialplans; the same start with ours.
        argv = [self.run.args.vcsd, "-c", self.conf,
                "--sip", "127.0.0.1:%d" % self.sip_port,
                "--http", "127.0.0.1:%d" % self.http_port,
                "--data", self.data, "--dialplans", os.path.join(HERE, "dialplans-ivr"),
                "--sounds", self.sounds, "--rtp-ports", "%d-%d" % (self.rtp_lo, self.rtp_hi),
                "--log-level", self.run.args.log_level]
        self.argv = argv
        self.logf = open(self.log_path, "wb")
        self.proc = vb.spawn(argv, cwd=self.root, stdin=subprocess.DEVNULL, stdout=self.logf,
                             stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 20
        tok = os.path.join(self.data, "admin.token")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vcsd exited with %s at start-up; log %s"
                                   % (self.proc.returncode, self.log_path))
            if os.path.exists(tok):
                with open(tok) as f:
                    self.token = f.read().strip()
                if self.health() is not None:
                    return
            time.sleep(0.1)
        raise RuntimeError("vcsd not healthy after 20 s; log %s" % self.log_path)


class Injection:
    """vb.Sipp wants a sink with an -inf file; the IVR scenario uses no injected field."""

    def __init__(self, run):
        self.inf = os.path.join(run.dir, "inject.csv")
        with open(self.inf, "w") as f:
            f.write("SEQUENTIAL\nunused;\n")


def pcap_path(key):
    return os.path.join(PCAP_DIR, "dtmf_2833_%s.pcap" % PCAP_NAME.get(key, key))


def pcap_rtp_ts(key):
    """RTP timestamp of the first packet of a key's pcap (Ethernet/IPv4/UDP/RTP captures)."""
    path = pcap_path(key)
    try:
        with open(path, "rb") as f:
            data = f.read(24 + 16 + 14 + 60 + 8 + 12)
    except OSError as e:
        raise SystemExit("no pcap for key %r: %s" % (key, e))
    magic, linktype = struct.unpack("<I", data[:4])[0], struct.unpack("<I", data[20:24])[0]
    if magic != 0xa1b2c3d4 or linktype != 1:
        raise SystemExit("%s: not a little-endian Ethernet pcap" % path)
    ip = 24 + 16 + 14
    udp = ip + (data[ip] & 0x0f) * 4
    return struct.unpack("!I", data[udp + 8 + 4:udp + 8 + 8])[0]


def presses_xml(keys, gap_ms):
    out = []
    for i, k in enumerate(keys):
        pcap = pcap_path(k)
        out.append('  <nop><action><exec play_pcap_audio="%s"/></action></nop>' % pcap)
        if i + 1 < len(keys):
            out.append('  <pause milliseconds="%d"/>' % gap_ms)
    return "\n".join(out)


def lcs(a, b):
    """Length of the longest common subsequence: keys that arrived in order."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def read_cdrs(db, keys):
    """Keys lost per call, from the CDRs' vars: a key sent that is not in `keys`, in order."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = con.execute("SELECT call_id, sip_code, hangup_cause, hangup_by, duration_ms, vars "
                       "FROM cdr WHERE to_number = ?", (SERVICE,)).fetchall()
    con.close()
    out = {"cdrs": len(rows), "calls_ok": 0, "calls_bad": 0, "keys_lost": 0, "early": 0,
           "causes": {}, "bad_examples": [], "say_ms": [], "round_end_ms": [[] for _ in keys]}
    for call_id, code, cause, by, dur, vars_json in rows:
        v = json.loads(vars_json or "{}")
        got = v.get("keys", "")
        out["causes"]["%s/%s/%s" % (code, cause, by)] = \
            out["causes"].get("%s/%s/%s" % (code, cause, by), 0) + 1
        if "say_ms" in v:
            out["say_ms"].append(float(v["say_ms"]))
        for i, t in enumerate(str(v.get("rt", "")).split(",")[:len(keys)]):
            if t:
                out["round_end_ms"][i].append(float(t))
        if "early" in v:
            out["early"] += 1
        if got == keys:
            out["calls_ok"] += 1
        else:
            out["calls_bad"] += 1
            out["keys_lost"] += len(keys) - lcs(got, keys)
            if len(out["bad_examples"]) < 10:
                out["bad_examples"].append({"call_id": call_id, "keys": got, "vars": v,
                                            "cause": cause, "duration_ms": dur})
    out["say_ms"] = summary(out["say_ms"])
    out["round_end_ms"] = [summary(x) for x in out["round_end_ms"]]
    return out


def summary(vals):
    if not vals:
        return None
    return {"n": len(vals), "min": min(vals), "p50": vb.percentile(vals, 50),
            "p99": vb.percentile(vals, 99), "max": max(vals)}


def wait_for_bench_helper(max_wait, small):
    """Full load never runs while bench-helper's vcs_bench.py does (shared 2-core box)."""
    if small:
        return
    deadline = time.monotonic() + max_wait
    while True:
        r = subprocess.run(["pgrep", "-f", "vcs_bench.py"], capture_output=True, text=True)
        pids = [p for p in r.stdout.split() if int(p) != os.getpid()]
        if not pids:
            return
        if time.monotonic() >= deadline:
            raise SystemExit("vcs_bench.py still running (pids %s): not loading the box" % pids)
        log("vcs_bench.py running (pids %s): waiting" % " ".join(pids))
        time.sleep(15)


def run(args):
    n = args.calls
    wait_for_bench_helper(args.wait_other, n <= 10)
    r = vb.Run(args, "ivr-%d" % n)
    vm_text, idle = vb.wait_idle(args.min_idle, args.idle_wait)
    r.result.update({"vmstat_before": vm_text, "idle_before_pct": idle,
                     "vcsd_binary": dict(args.vcsd_source, copy=args.vcsd)})
    log("run %s (machine idle %.0f%%)" % (r.dir, idle))
    vcsd = IvrVcsd(r, vb.bench_config(), rtp_ports=2 * n + 2000)
    vcsd.start()
    labels = vb.thread_labels(vcsd.pid)
    sampler = vb.Sampler(r, vcsd)
    sampler.start()
    time.sleep(2)
    rss_before = vb.proc_rss_kb(vcsd.pid)
    metrics_before = vcsd.metrics()
    ramp_s = n / args.rate
    call_s = (args.first_ms + args.gap_ms * (len(args.keys) - 1)) / 1000.0
    timeout_s = int(ramp_s + call_s + args.bye_timeout_ms / 1000.0 + 60)
    tmpl = {"first_ms": args.first_ms, "bye_timeout_ms": args.bye_timeout_ms,
            "presses": presses_xml(args.keys, args.gap_ms)}
    sipp = vb.Sipp(r, vcsd, Injection(r), "ivr_keys", SERVICE, args.rate, n, n, timeout_s,
                   tmpl)
    r.result.update({"calls": n, "rate": args.rate, "keys_sent": args.keys,
                     "first_ms": args.first_ms, "gap_ms": args.gap_ms,
                     "vcsd_argv": vcsd.argv, "sipp_argv": sipp.argv,
                     "rss_before_kb": rss_before})
    log("SIPp: %d calls at %d/s, keys %s, first key %d ms after the ACK, then every %d ms"
        % (n, args.rate, args.keys, args.first_ms, args.gap_ms))
    sipp.start()
    sampler.add("sipp", sipp.pid)
    r.result["sipp_exit"] = sipp.wait()
    rows = sampler.rows
    # CPU window: while all N calls are up (trimmed 1 s each side), else the whole SIPp run.
    up = [x for x in rows if x["calls"] is not None and x["calls"] >= n]
    win = sampler.rows_between(up[0]["t"] + 1, up[-1]["t"] - 1) if len(up) >= 4 else []
    r.result["plateau_seconds"] = round(up[-1]["t"] - up[0]["t"], 1) if up else 0
    if len(win) < 2:
        win = sampler.rows_between(sipp.t0, sipp.t1)
        r.result["cpu_window"] = "whole SIPp run (no plateau of %d calls)" % n
    else:
        r.result["cpu_window"] = "all %d calls up" % n
    r.result["cpu"] = vb.cpu_over(sampler, win, labels)
    whole = sampler.rows_between(sipp.t0, sipp.t1)
    r.result["cpu_whole_run"] = vb.cpu_over(sampler, whole, labels)
    r.result["peak_calls"] = max((x["calls"] or 0) for x in rows)
    rss_win = [x["rss_kb"] for x in win if x["rss_kb"]]
    r.result["rss_window_kb"] = int(statistics.mean(rss_win)) if rss_win else None
    r.result["rss_peak_kb"] = max((x["rss_kb"] or 0) for x in rows)
    r.result["sipp"] = vb.sipp_summary(sipp)
    r.result["calls_left_after"] = vb.wait_calls_zero(vcsd, 20)
    m = vcsd.metrics()
    hit = m.get('vcs_tts_requests_total{result="hit"}', 0) - \
        metrics_before.get('vcs_tts_requests_total{result="hit"}', 0)
    miss = m.get('vcs_tts_requests_total{result="miss"}', 0) - \
        metrics_before.get('vcs_tts_requests_total{result="miss"}', 0)
    r.result["tts"] = {"hit": int(hit), "miss": int(miss),
                       "hit_rate_pct": round(100.0 * hit / (hit + miss), 2) if hit + miss else None,
                       "entries": m.get("vcs_tts_cache_entries")}
    r.result["metrics_after"] = m
    r.result["vcsd_alive_at_end"] = vcsd.alive()
    sampler.stop()
    r.result["vcsd_exit"] = vcsd.stop()
    r.result["vcsd_log_counts"], r.result["vcsd_log_first"] = vcsd.log_summary()
    r.result["cdr"] = read_cdrs(os.path.join(vcsd.data, "vcs.db"), args.keys)
    others = [sampler.window(a, b)["other"] for a, b in zip(win, win[1:])]
    r.result["other_cpu_max_pct"] = round(max(others), 1) if others else None
    r.result["other_cpu_mean_pct"] = round(statistics.mean(others), 1) if others else None
    with open(os.path.join(r.dir, "result.json"), "w") as f:
        json.dump(r.result, f, indent=1, sort_keys=True)
    with open(os.path.join(args.workdir, "results-ivr.jsonl"), "a") as f:
        f.write(json.dumps(r.result, sort_keys=True) + "\n")
    report(r.result)
    return r.result


def report(res):
    s, c, cdr, t = res["sipp"], res["cpu"] or {}, res["cdr"], res["tts"]
    log("== %s (%s)" % (res["name"], res["dir"]))
    log("   SIPp created %d ok %d failed %d (timeout recv %d, unexpected %d) retrans %d; "
        "set-up ms p50 %s p99 %s max %s"
        % (s["created"], s["successful"], s["failed"], s["failed_timeout_recv"],
           s["failed_unexpected"], s["retransmissions"], s["setup_ms_p50"], s["setup_ms_p99"],
           s["setup_ms_max"]))
    log("   calls up: peak %s, plateau %s s; CPU window: %s" % (res["peak_calls"],
                                                               res["plateau_seconds"],
                                                               res["cpu_window"]))
    log("   CPU %% of one core over %ss: vcsd %s (threads %s), sipp %s, other %s"
        % (c.get("seconds"), c.get("vcsd"), c.get("threads"), c.get("sipp"), c.get("other")))
    wc = res["cpu_whole_run"] or {}
    log("   CPU whole SIPp run (%ss): vcsd %s, sipp %s" % (wc.get("seconds"), wc.get("vcsd"),
                                                          wc.get("sipp")))
    log("   RSS KiB: before %s, all calls up %s, peak %s; calls left after %s; vcsd exit %s"
        % (res["rss_before_kb"], res["rss_window_kb"], res["rss_peak_kb"],
           res["calls_left_after"], res["vcsd_exit"]))
    log("   TTS: hit %d miss %d -> hit rate %s%% (cache entries %s)"
        % (t["hit"], t["miss"], t["hit_rate_pct"], t["entries"]))
    log("   CDRs %d: keys == %s in %d, different in %d; keys lost %d of %d sent; key during "
        "the welcome %d" % (cdr["cdrs"], res["keys_sent"], cdr["calls_ok"], cdr["calls_bad"],
                            cdr["keys_lost"], len(res["keys_sent"]) * res["calls"],
                            cdr["early"]))
    log("   CDR causes %s" % cdr["causes"])
    log("   welcome (say) ms %s" % cdr["say_ms"])
    for i, rs in enumerate(cdr["round_end_ms"]):
        log("   round %d ended at ms after answer: %s" % (i + 1, rs))
    for ex in cdr["bad_examples"]:
        log("   bad: %s" % ex)
    if res["vcsd_log_counts"]["error"] or res["vcsd_log_counts"]["warn"]:
        log("   vcsd log %s: %s" % (res["vcsd_log_counts"], res["vcsd_log_first"][:3]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--vcsd", default=os.environ.get("VCSD", "/tmp/build/src/vcsd"))
    ap.add_argument("--workdir", default=os.environ.get("BENCH_WORKDIR", "/tmp/vcs-bench-ivr"))
    ap.add_argument("--calls", type=int, default=500, help="callers, all up together")
    ap.add_argument("--rate", type=int, default=100, help="call set-up rate (calls/s)")
    ap.add_argument("--keys", default="12345", help="keys each caller presses (%d rounds)"
                    % ROUNDS)
    ap.add_argument("--first-ms", type=int, default=4500,
                    help="pause after the ACK before the first key (the welcome is ~2.9 s)")
    ap.add_argument("--gap-ms", type=int, default=2500, help="between key presses")
    ap.add_argument("--bye-timeout-ms", type=int, default=30000)
    ap.add_argument("--min-idle", type=int, default=80, help="vmstat idle %% wanted before")
    ap.add_argument("--idle-wait", type=int, default=60, help="max seconds to wait for it")
    ap.add_argument("--wait-other", type=int, default=900,
                    help="max seconds to wait for a running vcs_bench.py to finish")
    ap.add_argument("--log-level", default="warn")
    args = ap.parse_args()
    if args.calls < 1 or args.rate < 1:
        raise SystemExit("--calls and --rate must be at least 1")
    if len(args.keys) != ROUNDS:
        raise SystemExit("--keys: give exactly %d keys (the dialplan's rounds)" % ROUNDS)
    ts = [pcap_rtp_ts(k) for k in args.keys]
    if any(b <= a for a, b in zip(ts, ts[1:])):
        # SIPp replays a pcap's RTP header unchanged, and the sip-tester pcaps were cut from one
        # stream: a key whose timestamp is not after the previous key's is, to vcsd, a late or
        # repeated packet of an earlier press (src/media/dtmf.c), as it would be from a phone.
        raise SystemExit("--keys %s: the pcaps' RTP timestamps (%s) must increase from key to "
                         "key; usable order: 1 0 2 3 4 5 6 7 8 9 * #"
                         % (args.keys, ", ".join(map(str, ts))))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # SIPp and vcsd inherit it
    if hard < 4 * args.calls + 1000:
        log("warning: descriptor limit %d is low for %d calls" % (hard, args.calls))
    for tool in ("sipp", "sox", "vmstat", "espeak-ng"):
        if not shutil.which(tool):
            raise SystemExit("%s is missing" % tool)
    if not os.access(args.vcsd, os.X_OK):
        raise SystemExit("no vcsd binary at %s (set VCSD=)" % args.vcsd)
    os.makedirs(args.workdir, exist_ok=True)
    ident = vb.vcsd_identity(args.vcsd)
    copy = os.path.join(args.workdir, "vcsd-%s" % ident["sha256"])
    if not os.path.exists(copy):
        shutil.copy2(args.vcsd, copy)
    log("vcsd: %s (built %s, repo HEAD %s), running the copy %s"
        % (args.vcsd, ident["mtime"], ident["repo_head"], copy))
    args.vcsd_source, args.vcsd = ident, copy
    try:
        run(args)
    finally:
        vb.kill_children()


if __name__ == "__main__":
    main()
