#!/usr/bin/env python3
"""campaign_bench: the campaign benchmarks (issue 8 item 8) on top of vcs_bench.

  campaign        one campaign of --callees (20000) at --cps (200) with --max-concurrent
                  (1000) through vcsd's dialer to a SIPp carrier on 127.0.0.2
                  (scenarios/uas_campaign_carrier.xml: 180, 200 after --ring-ms, default 1000
                  here) that logs every INVITE and BYE; the script (dialplans/campaign.lua) says
                  a TTS reminder and keeps the call up --campaign-hold-ms (10000)
  campaigns-many  --campaigns (100) campaigns at once, --many-cps (2) each, --many-max-concurrent
                  (30) each, --many-callees (200) callees each
  campaign-smoke  tiny versions of the two, to check the harness (~2 min)

Everything is set up through the real API: an account (max_calls unlimited) recharged, numbers
imported (each --number-channels channels) and ordered for it and approved, campaigns created
with caller_id "auto", no retry (max_attempts 1), a window open all week, callees uploaded as
CSV (number,name; never 10 consecutive numbers). Measured: the carrier's INVITEs per second
(sustained rate, pacing error vs cps, the most INVITEs in any 1000 ms, the most calls up at
once: never above cps nor max_concurrent), vcsd's CPU (process and threads) and RSS (at rest,
peak, after the drain), the data folder and the database (size before/after, bytes/s, bytes
written to storage, rows inserted per table and per second), the campaigns' progress counts.
"""

import argparse
import csv
import os
import sqlite3
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vcs_bench as vb  # noqa: E402
import bridge_bench as bb  # noqa: E402

SCENARIOS = ("campaign", "campaigns-many", "campaign-smoke")
DOC = __doc__
ALL_WEEK = {"tz": "UTC", "days": "sun-sat", "start": "00:00", "end": "24:00"}
TRANSIT_MS = 50          # an INVITE's transit jitter allowed when counting cps at the carrier
NAMES = ("Ann", "Bob", "Chen", "Dora", "Emil", "Fang", "Gus", "Hana", "Ivan", "Jing", "Kai",
         "Lena", "Ming", "Nora", "Otto", "Ping", "Quin", "Rosa", "Sven", "Tao")
MAX_PER_CAMPAIGN = 50000  # callee numbers of a campaign: +86139 CCC NNNNN, N odd


def add_args(ap):
    g = ap.add_argument_group("campaign, campaigns-many")
    g.add_argument("--callees", type=int, default=20000, help="campaign: callees")
    g.add_argument("--cps", type=int, default=200, help="campaign: its cps")
    g.add_argument("--max-concurrent", type=int, default=1000,
                   help="campaign: its max_concurrent")
    g.add_argument("--campaigns", type=int, default=100, help="campaigns-many: campaigns")
    g.add_argument("--many-callees", type=int, default=200,
                   help="campaigns-many: callees of each campaign")
    g.add_argument("--many-cps", type=int, default=2, help="campaigns-many: cps of each")
    g.add_argument("--many-max-concurrent", type=int, default=30,
                   help="campaigns-many: max_concurrent of each (2 cps x 11 s: 22 calls up)")
    g.add_argument("--campaign-ring-ms", type=int, default=1000,
                   help="the carrier's 180 -> 200 delay (the callee answers after 1 s)")
    g.add_argument("--campaign-hold-ms", type=int, default=10000,
                   help="how long the script keeps an answered call (TTS prompt included)")
    g.add_argument("--tts-texts", type=int, default=10,
                   help="distinct TTS texts (callee names) over the list (at most %d)"
                        % len(NAMES))
    g.add_argument("--numbers", type=int, default=10,
                   help="the account's numbers (caller ID \"auto\" picks among them)")
    g.add_argument("--campaign-drain", type=int, default=40,
                   help="seconds after the campaigns end at which RSS at rest is read\n"
                        "(vcsd trims its heap every 30 s while no call is up)")


# ------------------------------------------------------------------------------------------
# The carrier

class CampaignCarrier(bb.CarrierSipp):
    """The bridge benchmarks' carrier (127.0.0.2, same SIPp options) with the campaign
    scenario: media to rtpsink's injection file instead of rtpecho, every INVITE and BYE
    logged (-trace_logs) for the pacing figures."""

    def __init__(self, args, calls, timeout_s, ring_ms):
        super().__init__(args, calls, timeout_s)
        self.ring_ms = ring_ms

    def prepare(self, run, sink):
        super().prepare(run)
        self.name = "uas_campaign_carrier"
        self.scen = vb.render_scenario(run.dir, self.name, {"ring_ms": self.ring_ms})
        self.echo_argv = None
        argv = list(self.argv)
        argv[argv.index("-sf") + 1] = self.scen
        self.argv = argv + ["-inf", sink.inf, "-trace_logs"]

    def calls_seen(self):
        """{call_id: [user, invite_ms, bye_ms or None]} from the scenario's log lines (SIPp's
        clock, ms)."""
        out = {}
        path = self._file("_logs.log")
        if not path:
            return out
        with open(path, errors="replace") as f:
            for line in f:
                w = line.split()
                if len(w) >= 4 and w[0] == "INVITE":
                    out.setdefault(w[3], [w[1], int(w[2]), None])
                elif len(w) == 3 and w[0] == "BYE" and w[2] in out:
                    out[w[2]][2] = int(w[1])
        return out


# ------------------------------------------------------------------------------------------
# Figures

def max_in_window(starts, width_ms):
    """The most INVITEs in any window of width_ms (starts sorted)."""
    best, lo = 0, 0
    for hi, t in enumerate(starts):
        while t - starts[lo] >= width_ms:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def peak_up(spans):
    """The most calls up at once, from (invite_ms, bye_ms) spans (a BYE at the same ms as an
    INVITE ends first); a call with no BYE stays up."""
    points = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans if b is not None])
    up = peak = 0
    for _, d in points:
        up += d
        peak = max(peak, up)
    return peak


def pacing(spans, cps, max_concurrent, hold_s):
    """The carrier-side figures of one campaign (or of all, with the sums of cps and
    max_concurrent): per-second INVITE counts from the first INVITE; the sustained rate over
    the steady seconds (from one call length + 2 s after the first INVITE, when calls end as
    fast as new ones start, to 2 s before the last; all seconds when the run is too short for
    that) and its error vs the rate the settings allow (cps, or max_concurrent / call length
    when that binds); the most INVITEs in any 1000 ms (cps allows `cps`), the shortest span of
    cps + 1 INVITEs (1000 ms or more when paced exactly; one shorter by more than the transit
    jitter counts in over_cps_windows); the most calls up at once."""
    starts = sorted(a for a, _ in spans)
    if not starts:
        return {"invites": 0}, []
    t0 = starts[0]
    per_s = [0] * ((starts[-1] - t0) // 1000 + 1)
    for t in starts:
        per_s[(t - t0) // 1000] += 1
    lengths = [b - a for a, b in spans if b is not None]
    call_s = statistics.mean(lengths) / 1000.0 if lengths else hold_s
    allowed = min(float(cps), max_concurrent / call_s)
    first = int(call_s) + 3
    steady = per_s[first:-2] if len(per_s) >= first + 5 else per_s
    spans_cps = [starts[i + cps] - starts[i] for i in range(len(starts) - cps)]
    over = sum(1 for d in spans_cps if d < 1000 - TRANSIT_MS)
    sustained = statistics.mean(steady)
    return {"invites": len(starts), "seconds": len(per_s),
            "rate_overall": round(len(starts) / max(1.0, (starts[-1] - t0) / 1000.0), 2),
            "rate_sustained": round(sustained, 2), "rate_allowed": round(allowed, 2),
            "pacing_error_pct": round(100.0 * (sustained - allowed) / allowed, 2),
            "per_s_min": min(steady), "per_s_max": max(steady),
            "per_s_stdev": round(statistics.pstdev(steady), 2),
            "per_s_mean_abs_err_vs_cps": round(statistics.mean(abs(c - cps) for c in steady), 2),
            "seconds_over_cps": sum(1 for c in per_s if c > cps),
            "max_invites_1s": max_in_window(starts, 1000), "over_cps_windows": over,
            "shortest_cps_span_ms": min(spans_cps, default=None),
            "peak_up": peak_up(spans), "call_s_mean": round(call_s, 2),
            "calls_without_bye": sum(1 for _, b in spans if b is None)}, per_s


def proc_write_bytes(pid):
    """Bytes the process caused to be written to storage (/proc/PID/io write_bytes)."""
    return vb.proc_value(pid, "io", "write_bytes:")


def db_snapshot(data):
    """The database files' sizes, the data folder's bytes and the row count of every table
    (read-only connection: WAL lets it read while vcsd writes)."""
    db = os.path.join(data, "vcs.db")
    out = {"data_bytes": bb.dir_bytes(data)}
    for suffix in ("", "-wal", "-shm"):
        try:
            out["db%s_bytes" % suffix.replace("-", "_")] = os.path.getsize(db + suffix)
        except OSError:
            out["db%s_bytes" % suffix.replace("-", "_")] = 0
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite_%'")]
        out["rows"] = {t: con.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0]
                       for t in tables}
    finally:
        con.close()
    return out


def db_rates(before, after, seconds):
    rows = {t: after["rows"][t] - before["rows"].get(t, 0) for t in after["rows"]}
    rows = {t: n for t, n in rows.items() if n}
    return {"seconds": round(seconds, 1),
            "data_bytes_per_s": round((after["data_bytes"] - before["data_bytes"]) / seconds),
            "rows_inserted": rows, "rows_inserted_per_s": round(sum(rows.values()) / seconds, 1)}


# ------------------------------------------------------------------------------------------
# The run

def callee_number(campaign, i):
    """Callee i of a campaign: odd last digits, so no two numbers of a list are consecutive
    (a run of 10 is refused as segment dialing)."""
    return "+86139%03d%05d" % (campaign, 2 * i + 1)


def setup_account(vcsd, args, channels):
    """The customer side through the API: account, balance, numbers (ordered and approved);
    returns the account's token."""
    tok = vcsd.api_ok("POST", "/v1/accounts", {"name": "bench"})["token"]
    # Every call reserves a minute (20 fen) while up and costs at least a minute.
    vcsd.api_ok("POST", "/v1/accounts/bench/recharges", {"amount_fen": 1000000000})
    per = -(-channels * 2 // args.numbers)  # twice what the campaigns can use
    numbers = ["+861088%06d" % (2 * k + 1) for k in range(args.numbers)]
    vcsd.api_ok("POST", "/v1/numbers/import",
                "".join("%s,beijing,fixed,%d\n" % (n, per) for n in numbers),
                headers={"Content-Type": "text/csv"})
    order = vcsd.api_ok("POST", "/v1/orders", {"numbers": numbers}, tok)
    vcsd.api_ok("POST", "/v1/orders/%d/approve" % order["id"])
    return tok


def create_campaign(vcsd, tok, args, index, callees, cps, max_concurrent):
    c = vcsd.api_ok("POST", "/v1/campaigns", {
        "name": "bench-%d" % index, "script": "campaign", "caller_id": "auto",
        "max_concurrent": max_concurrent, "cps": cps, "window": ALL_WEEK,
        "retry": {"on": [], "max_attempts": 1, "interval_s": 60}, "ring_timeout_s": 30,
        "amd": "off", "vars": {"hold_ms": args.campaign_hold_ms}}, tok)
    names = NAMES[:max(1, min(args.tts_texts, len(NAMES)))]
    text = "number,name\n" + "".join("%s,%s\n" % (callee_number(index, i), names[i % len(names)])
                                     for i in range(callees))
    up = vcsd.api_ok("POST", "/v1/campaigns/%d/callees" % c["id"], text, tok,
                     {"Content-Type": "text/csv"})
    if up.get("accepted") != callees:
        raise RuntimeError("campaign %d: %s of %d callees accepted: %s"
                           % (c["id"], up.get("accepted"), callees, str(up)[:500]))
    return c["id"]


def wait_done(vcsd, tok, ids, timeout_s, progress_csv):
    """Polls until every campaign is completed or cancelled (bounded); one campaign's
    progress is written once a second to progress_csv. Returns the states left running."""
    deadline = time.monotonic() + timeout_s
    with open(progress_csv, "w") as f:
        f.write("t_s,running,pending,in_progress,answered,attempts\n")
        t0 = time.monotonic()
        while True:
            states = {}
            after = None
            while True:
                page = vcsd.api_ok("GET", "/v1/campaigns?limit=1000" +
                                   ("&after=%s" % after if after else ""), token=tok)
                states.update({c["id"]: c["state"] for c in page["items"]})
                after = page["next"]
                if not after:
                    break
            running = [i for i in ids if states.get(i) not in ("completed", "cancelled")]
            p = vcsd.api_ok("GET", "/v1/campaigns/%d" % ids[0], token=tok)["progress"]
            f.write("%.1f,%d,%d,%d,%d,%d\n" % (time.monotonic() - t0, len(running),
                                               p["pending"], p["in_progress"], p["answered"],
                                               p["attempts"]))
            f.flush()
            if not running or time.monotonic() > deadline:
                return running
            time.sleep(1)


def run_campaigns(args, name, layout):
    """layout: [(callees, cps, max_concurrent)] one per campaign, all started together."""
    total = sum(n for n, _, _ in layout)
    if any(n > MAX_PER_CAMPAIGN for n, _, _ in layout) or len(layout) > 999:
        raise SystemExit("at most 999 campaigns of %d callees" % MAX_PER_CAMPAIGN)
    call_s = (args.campaign_ring_ms + args.campaign_hold_ms) / 1000.0
    up_max = sum(min(mc, cps * call_s + cps) for _, cps, mc in layout)
    expect_s = max(n / min(cps, mc / call_s) for n, cps, mc in layout) + call_s
    timeout_s = int(2 * expect_s + 120)
    carrier = CampaignCarrier(args, total, timeout_s + 60, args.campaign_ring_ms)
    extra = ("  gateways = { { name = \"carrier\", address = \"%s:%d\", inbound = false,\n"
             "                 options_interval_s = 0, max_channels = 0,"
             " codecs = { \"PCMU\" } } },\n"
             % (bb.CARRIER_IP, carrier.port))
    config = vb.bench_config(record=bb.recording_on(args, vb.RECORD_CALLS), extra=extra)
    run, vcsd, labels, sink, sampler = vb.start_run(args, name, config,
                                                    int(2 * up_max) + 2000, False,
                                                    args.rtp_sample)
    res = run.result
    win_rows = []
    res.update({"layout": layout, "callees": total, "ring_ms": args.campaign_ring_ms,
                "hold_ms": args.campaign_hold_ms, "tts_texts": args.tts_texts,
                "config": config, "vcsd_argv": vcsd.argv, "expected_s": round(expect_s)})
    try:
        carrier.prepare(run, sink)
        carrier.start()
        time.sleep(0.5)
        if carrier.proc.poll() is not None:
            raise RuntimeError("the carrier SIPp exited at start (%s): see %s"
                               % (carrier.proc.returncode, run.dir))
        res["carrier_argv"] = carrier.argv
        sampler.add("sipp", carrier.pid)
        sampler.add_probe("data_bytes", lambda: bb.dir_bytes(vcsd.data))
        sampler.add_probe("write_bytes", lambda: proc_write_bytes(vcsd.pid))
        t = time.monotonic()
        tok = setup_account(vcsd, args, int(up_max))
        ids = [create_campaign(vcsd, tok, args, i, n, cps, mc)
               for i, (n, cps, mc) in enumerate(layout)]
        res["setup_s"] = round(time.monotonic() - t, 1)
        res["rss_after_upload_kb"] = vb.proc_rss_kb(vcsd.pid)
        db0 = db_snapshot(vcsd.data)
        io0 = proc_write_bytes(vcsd.pid)
        vb.log("%d campaign(s), %d callees set up in %.1f s; starting them (expected ~%d s)"
            % (len(ids), total, res["setup_s"], expect_s))
        t_start = time.monotonic()
        for cid in ids:
            vcsd.api_ok("POST", "/v1/campaigns/%d/start" % cid, token=tok)
        left = wait_done(vcsd, tok, ids, timeout_s, os.path.join(run.dir, "progress.csv"))
        t_done = time.monotonic()
        if left:
            vb.log("WARNING: %d campaign(s) still running after %d s" % (len(left), timeout_s))
        res["campaigns_not_done"] = len(left)
        res["run_s"] = round(t_done - t_start, 1)
        db1 = db_snapshot(vcsd.data)
        io1 = proc_write_bytes(vcsd.pid)
        res["db_before"], res["db_after"] = db0, db1
        res["db"] = db_rates(db0, db1, t_done - t_start)
        if io0 is not None and io1 is not None:
            res["db"]["storage_write_kib_per_s"] = round((io1 - io0) / 1024 / (t_done - t_start), 1)
        progress = [vcsd.api_ok("GET", "/v1/campaigns/%d" % cid, token=tok)["progress"]
                    for cid in ids]
        res["progress"] = {k: sum(p[k] for p in progress) for k in progress[0]}
        win_rows = sampler.rows_between(t_start, t_done)
        res["cpu"] = vb.cpu_over(sampler, win_rows, labels)
        if res["cpu"]:
            res["cpu_ms_per_call"] = round(10.0 * res["cpu"]["vcsd"] * res["cpu"]["seconds"] /
                                           max(1, res["progress"]["attempts"]), 3)
        res["rss_peak_kb"] = max((r["rss_kb"] or 0) for r in sampler.rows)
        res["carrier"] = carrier.finish(30)
        res["calls_left_after"] = vb.wait_calls_zero(vcsd, 20)
        vb.log("waiting %d s for the rest RSS" % args.campaign_drain)
        while time.monotonic() < t_done + args.campaign_drain and vcsd.alive():
            time.sleep(0.5)
        res["rss_after_drain_kb"] = {str(args.campaign_drain): vb.proc_rss_kb(vcsd.pid)}
        carrier_figures(run, carrier, layout, call_s)
    finally:
        if carrier.proc is not None and carrier.proc.poll() is None:
            carrier.proc.kill()
        vb.finish_run(args, run, vcsd, sink, sampler, win_rows, args.rtp_sample)
    print_campaign(res)
    return [res]


def carrier_figures(run, carrier, layout, call_s):
    """Pacing figures from the carrier's log: all campaigns together, and per campaign (the
    number's digits name its campaign); per-second INVITE counts in carrier_per_second.csv."""
    res = run.result
    seen = carrier.calls_seen()
    by_camp = {}
    for user, a, b in seen.values():
        by_camp.setdefault(int(user[-8:-5]), []).append((a, b))
    res["pacing"], per_s = pacing([(a, b) for _, a, b in seen.values()],
                                  sum(cps for _, cps, _ in layout),
                                  sum(mc for _, _, mc in layout), call_s)
    with open(os.path.join(run.dir, "carrier_per_second.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["second", "invites"])
        w.writerows(enumerate(per_s))
    if len(layout) > 1:
        each = {}
        for i, (n, cps, mc) in enumerate(layout):
            each[i] = pacing(by_camp.get(i, []), cps, mc, call_s)[0]
        called = [p for p in each.values() if p["invites"]]
        errs = [p["pacing_error_pct"] for p in called]
        res["pacing_per_campaign"] = {
            "campaigns_called": len(called),
            "invites_min": min((p["invites"] for p in each.values()), default=0),
            "max_invites_1s": max((p["max_invites_1s"] for p in called), default=0),
            "over_cps_windows": sum(p["over_cps_windows"] for p in called),
            "shortest_cps_span_ms": min((p["shortest_cps_span_ms"] for p in called
                                         if p["shortest_cps_span_ms"] is not None), default=None),
            "peak_up_max": max((p["peak_up"] for p in called), default=0),
            "pacing_error_pct_min": min(errs, default=None),
            "pacing_error_pct_median": statistics.median(errs) if errs else None,
            "pacing_error_pct_max": max(errs, default=None)}
        with open(os.path.join(run.dir, "pacing_per_campaign.csv"), "w") as f:
            keys = sorted({k for p in each.values() for k in p})
            w = csv.writer(f)
            w.writerow(["campaign"] + keys)
            for i, p in sorted(each.items()):
                w.writerow([i] + [p.get(k) for k in keys])


def print_campaign(res):
    c = res.get("cpu") or {}
    p = res.get("pacing") or {}
    db = res.get("db") or {}
    vb.log("== %s: %d callees in %d campaign(s), ran %s s (expected ~%s s); not done %s"
        % (res["name"], res["callees"], len(res["layout"]), res.get("run_s"),
           res.get("expected_s"), res.get("campaigns_not_done")))
    vb.log("   progress: %s" % res.get("progress"))
    vb.log("   carrier: %s INVITEs, sustained %s/s (allowed %s/s: error %s%%), per second %s..%s "
        "(stdev %s), most in any 1 s %s, shortest span of cps+1 %s ms, windows over cps %s, "
        "most up at once %s, calls %s s"
        % (p.get("invites"), p.get("rate_sustained"), p.get("rate_allowed"),
           p.get("pacing_error_pct"), p.get("per_s_min"), p.get("per_s_max"),
           p.get("per_s_stdev"), p.get("max_invites_1s"), p.get("shortest_cps_span_ms"),
           p.get("over_cps_windows"),
           p.get("peak_up"), p.get("call_s_mean")))
    k = res.get("carrier") or {}
    vb.log("   carrier SIPp: ok %s failed %s retrans %s (exit %s); calls left in vcsd %s"
        % (k.get("successful"), k.get("failed"), k.get("retransmissions"), k.get("exit"),
           res.get("calls_left_after")))
    if res.get("pacing_per_campaign"):
        vb.log("   per campaign: %s" % res["pacing_per_campaign"])
    vb.log("   vcsd CPU %s%% of a core over %s s (%s ms per call), threads %s"
        % (c.get("vcsd"), c.get("seconds"), res.get("cpu_ms_per_call"), c.get("threads")))
    vb.log("   RSS KiB: at rest %s, after upload %s, peak %s, after drain %s; vcsd exit %s"
        % (res.get("rss_before_kb"), res.get("rss_after_upload_kb"), res.get("rss_peak_kb"),
           res.get("rss_after_drain_kb"), res.get("vcsd_exit")))
    vb.log("   data: %s -> %s bytes (db %s -> %s, wal %s); %s B/s, storage writes %s KiB/s, rows "
        "inserted %s/s %s" % ((res.get("db_before") or {}).get("data_bytes"),
                              (res.get("db_after") or {}).get("data_bytes"),
                              (res.get("db_before") or {}).get("db_bytes"),
                              (res.get("db_after") or {}).get("db_bytes"),
                              (res.get("db_after") or {}).get("db_wal_bytes"),
                              db.get("data_bytes_per_s"), db.get("storage_write_kib_per_s"),
                              db.get("rows_inserted_per_s"), db.get("rows_inserted")))
    r = res.get("rtp") or {}
    vb.log("   callee audio (1 call in %s): %s" % (res.get("rtp_sample"), vb.fmt_rtp(r)))


def scen_campaign(args, callees=None, cps=None, max_concurrent=None, tag="campaign"):
    n = callees or args.callees
    cps = cps or args.cps
    mc = max_concurrent or args.max_concurrent
    return run_campaigns(args, "%s-%dx%dcps-mc%d" % (tag, n, cps, mc), [(n, cps, mc)])


def scen_many(args, campaigns=None, callees=None, tag="campaigns-many"):
    k = campaigns or args.campaigns
    n = callees or args.many_callees
    return run_campaigns(args, "%s-%dx%d-%dcps" % (tag, k, n, args.many_cps),
                         [(n, args.many_cps, args.many_max_concurrent)] * k)


def scen_smoke(args):
    """Tiny versions of both, with short calls, to check the harness (no figure to keep)."""
    a = argparse.Namespace(**dict(vars(args), campaign_hold_ms=3000, campaign_drain=5))
    return (scen_campaign(a, callees=300, cps=50, max_concurrent=100, tag="smoke-campaign") +
            scen_many(a, campaigns=10, callees=20, tag="smoke-campaigns-many"))


def scenarios(args):
    own = argparse.Namespace(**vars(args))  # the generators at SCHED_IDLE, as the bridges'
    own.gen_sched = args.gen_sched or "idle"
    return {"campaign": lambda: scen_campaign(own),
            "campaigns-many": lambda: scen_many(own),
            "campaign-smoke": lambda: scen_smoke(own)}
