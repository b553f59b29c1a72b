#!/usr/bin/env python3
"""Campaigns dialled for real (SPEC 9): vcsd's dialer places each attempt through the carrier
gateway, a SIPp UAS (scenarios/uas_campaign.xml: numbers ending in 9 are busy, the others
answer; every line carries SIPp's clock) whose log is where pacing is measured.

A. max_concurrent 3, cps 2, ten answering callees, one busy (retry on busy after 60 s), one on
   the operator's global DNC list: on the carrier side never more than 3 calls up nor more than
   2 INVITEs in any sliding second, and spread (see check_pacing); the DNC number never called; the busy
   one called once and pending its retry; progress, results (JSON and CSV) and the CDR rows
   (campaign_id) agree.
A'. POST /v1/calls refuses the DNC number (403 dnc) and a third call to a number answered
   twice today (403 frequency_cap), neither reaching the carrier.
E. cps 20, 40 short calls: at the carrier no 1000 ms holds more than 20 INVITEs and they come
   spaced (no burst of a second's quota in one step).
B. pause stops new calls, resume goes on, cancel stops for good.
C. a window closed today (UTC): no call.
D. kill -9 while two answered calls are up, restart: the campaign goes on, the two answered
   before the crash are never dialled again, every callee answered exactly once, attempts add
   up."""

import csv
import datetime
import io
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(),
    "quick": """return function(call)
  call:answer()
  call:set("who", call.vars.name or "?")
  call:sleep(tonumber(call.vars.hold_ms) or 1500)
end
""",
}

CONFIG = """return { gateways = {
  { name = "carrier", address = "127.0.0.1:%d", codecs = { "PCMU" }, max_channels = 100,
    priority = 1, options_interval_s = 0, inbound = false },
} }
"""

ALL_WEEK = {"tz": "UTC", "days": "sun-sat", "start": "00:00", "end": "24:00"}
TRANSIT_MS = 50
STEP_MS = 20  # the dialer's step: the slack its even spacing allows


def campaign(v, name, numbers, **over):
    body = {"name": name, "script": "quick", "caller_id": "+861012340000", "max_concurrent": 3,
            "cps": 2, "window": ALL_WEEK, "retry": {"on": ["busy"], "max_attempts": 2,
                                                    "interval_s": 60}}
    body.update(over)
    st, c = v.api("POST", "/v1/campaigns", body)
    T.check_eq(st, 201, "create campaign %s (%s)" % (name, c))
    text = "number,name\n" + "".join("%s,n%d\n" % (n, i) for i, n in enumerate(numbers))
    st, up = v.api("POST", "/v1/campaigns/%d/callees" % c["id"], text,
                   headers={"Content-Type": "text/csv"})
    T.check_eq(st, 200, "upload to %s (%s)" % (name, up))
    return c["id"], up


def move(v, cid, action):
    st, c = v.api("POST", "/v1/campaigns/%d/%s" % (cid, action))
    T.check_eq(st, 200, "%s campaign %d (%s)" % (action, cid, c))


def get(v, cid):
    st, c = v.api("GET", "/v1/campaigns/%d" % cid)
    T.check_eq(st, 200, "GET campaign %d" % cid)
    return c


def carrier_events(uas):
    """[(kind, user or None, ms, call_id)] from the carrier's log."""
    out = []
    for m in uas.find_log(r"^(INVITE|BUSY|ANSWERED|GOTBYE) (?:(\+?\d+) )?(\d+) (\S+)"):
        out.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
    return out


def invites(uas, numbers=None):
    return [e for e in carrier_events(uas) if e[0] == "INVITE" and
            (numbers is None or e[1] in numbers)]


def check_pacing(uas, numbers, max_concurrent, cps, what):
    ev = [e for e in carrier_events(uas)]
    mine = {e[3] for e in ev if e[0] == "INVITE" and e[1] in numbers}
    starts = sorted(e[2] for e in ev if e[0] == "INVITE" and e[3] in mine)
    # k+1 INVITEs span k * 1000/cps ms (one dialer step less, but never less than 1000 ms for
    # cps+1 of them), less what transit may shift them by.
    for k in range(1, cps + 1):
        need = (1000 if k == cps else k * 1000 // cps - STEP_MS) - TRANSIT_MS
        for i in range(len(starts) - k):
            T.check(starts[i + k] - starts[i] >= need,
                    "%s: %d INVITEs within %d ms at the carrier (cps %d): %s"
                    % (what, k + 1, starts[i + k] - starts[i], cps, starts))
    spans = {}
    for kind, _, ms, cid in ev:
        if cid in mine:
            a, b = spans.get(cid, (None, None))
            spans[cid] = (ms, b) if kind == "INVITE" else (a, ms) if kind in ("GOTBYE", "BUSY") else (a, b)
    points = sorted([(a, 1) for a, b in spans.values()] + [(b, -1) for a, b in spans.values() if b])
    up = peak = 0
    for _, d in points:
        up += d
        peak = max(peak, up)
    T.check(peak <= max_concurrent, "%s: %d calls up at once at the carrier (max_concurrent %d)"
            % (what, peak, max_concurrent))
    return peak


def wait_progress(v, cid, pred, timeout, what):
    return T.wait_until(lambda: (lambda c: c if pred(c["progress"], c) else None)(get(v, cid)),
                        timeout, what)


def run(t):
    peer = t.rtp_peer()
    uas = t.sipp_uas("uas_campaign", keys={"rtp_port": peer.port}, calls=10000, timeout=170).start()
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG % uas.port)
    T.check_eq(v.api("POST", "/v1/dnc", {"numbers": ["+8613800000505"]})[0], 200, "global DNC")

    # A. pacing, busy and retry, DNC.
    good = ["+86138000%05d" % (10 * i + 2) for i in range(10)]
    numbers_a = good + ["+8613800000909", "+8613800000505"]
    a, up = campaign(v, "A", numbers_a)
    T.check_eq(up["rejected"], [{"line": 13, "number": "+8613800000505", "reason": "dnc"}],
               "the DNC number refused at upload")
    # Put it back on the list after upload: the dialer must skip it too.
    st, _ = v.api("POST", "/v1/campaigns/%d/callees" % a, "number\n+8613800000707\n",
                  headers={"Content-Type": "text/csv"})
    v.api("POST", "/v1/dnc", {"numbers": ["+8613800000707"]})
    move(v, a, "start")
    c = wait_progress(v, a, lambda p, c: p["answered"] == 10 and p["in_progress"] == 0 and
                      p["skipped_dnc"] == 1 and p["pending"] == 1, 60,
                      "campaign A: 10 answered, the DNC one skipped, the busy one pending")
    p = c["progress"]
    T.check_eq((p["total"], p["attempts"], p["busy"]), (12, 11, 0), "A's progress %s" % p)
    peak = check_pacing(uas, set(numbers_a), 3, 2, "campaign A")
    T.log("campaign A: peak %d calls up at the carrier" % peak)
    T.check_eq(len(invites(uas, {"+8613800000707", "+8613800000505"})), 0, "DNC numbers called")
    T.check_eq(len(invites(uas, {"+8613800000909"})), 1, "the busy number called once so far")
    rows = T.wait_until(lambda: (lambda rs: rs if len(rs) == 11 and all(r["end_time"] for r in rs)
                                 else None)(v.cdrs("campaign_id = ?", (a,))),
                        15, "the 11 CDR rows of campaign A, ended")
    T.check_eq(sorted(r["to_number"] for r in rows if r["answer_time"]), sorted(good),
               "answered CDR rows of A")
    st, body = v.api("GET", "/v1/campaigns/%d/results" % a, headers={"Accept": "text/csv"})
    res = list(csv.DictReader(io.StringIO(body)))
    answered = {r["number"]: r for r in res if r["result"] == "answered"}
    T.check_eq(sorted(answered), sorted(good), "results CSV: answered callees")
    by_call = {r["call_id"]: r for r in rows}
    for n, r in answered.items():
        cdr = by_call.get(r["last_call_id"])
        T.check(cdr is not None and cdr["to_number"] == n and int(r["billsec"]) == cdr["billsec"]
                and r["answered_at"] == cdr["answer_time"],
                "results row %s matches its CDR %s" % (r, cdr))
    busy = [r for r in res if r["number"] == "+8613800000909"][0]
    T.check_eq((busy["attempts"], busy["result"]), ("1", "busy"), "the busy callee awaiting its retry")

    # A'. POST /v1/calls obeys the same DNC lists and caps (2 answered a day by default).
    call = {"from": "+861012340000", "script": "quick", "vars": {"hold_ms": 200}}
    st, err = v.api("POST", "/v1/calls", dict(call, to="+8613800000505"))
    T.check_eq((st, err.get("error", {}).get("code")), (403, "dnc"), "calling a DNC number (%s)" % err)
    st, made = v.api("POST", "/v1/calls", dict(call, to=good[0]))
    T.check_eq(st, 201, "a second call to %s today (%s)" % (good[0], made))
    T.wait_until(lambda: (lambda rs: rs and rs[0]["end_time"] and rs[0]["answer_time"])(
        v.cdrs("call_id = ?", (made["id"],))), 15, "the second call answered and ended")
    st, err = v.api("POST", "/v1/calls", dict(call, to=good[0]))
    T.check_eq((st, err.get("error", {}).get("code")), (403, "frequency_cap"),
               "a third call to %s today (%s)" % (good[0], err))
    T.check_eq(len(invites(uas, {"+8613800000505"})), 0, "DNC number called by POST /v1/calls")
    T.check_eq(len(invites(uas, {good[0]})), 2, "calls to %s at the carrier" % good[0])

    # E. a higher cps, where a second's quota released in one step is a burst the carrier sees.
    numbers_e = ["+86135000%05d" % (10 * i + 2) for i in range(40)]
    e, _ = campaign(v, "E", numbers_e, max_concurrent=40, cps=20, vars={"hold_ms": 300})
    move(v, e, "start")
    wait_progress(v, e, lambda p, c: c["state"] == "completed", 60, "E completed")
    T.check_eq(len(invites(uas, set(numbers_e))), 40, "E's INVITEs at the carrier")
    check_pacing(uas, set(numbers_e), 40, 20, "campaign E")

    # B. pause, resume, cancel.
    numbers_b = ["+86139000%05d" % (10 * i + 4) for i in range(6)]
    b, _ = campaign(v, "B", numbers_b, max_concurrent=1, cps=1,
                    vars={"hold_ms": 300})
    move(v, b, "start")
    T.wait_until(lambda: len(invites(uas, set(numbers_b))) >= 1, 10, "B's first call")
    move(v, b, "pause")
    wait_progress(v, b, lambda p, c: p["in_progress"] == 0, 10, "B's call to end after pause")
    n = len(invites(uas, set(numbers_b)))
    time.sleep(3)  # observing that nothing happens while paused
    T.check_eq(len(invites(uas, set(numbers_b))), n, "calls placed while paused")
    move(v, b, "resume")
    T.wait_until(lambda: len(invites(uas, set(numbers_b))) > n, 10, "B's calls after resume")
    move(v, b, "cancel")
    T.check_eq(get(v, b)["state"], "cancelled", "B cancelled")
    time.sleep(1.5)
    n = len(invites(uas, set(numbers_b)))
    time.sleep(3)
    T.check_eq(len(invites(uas, set(numbers_b))), n, "calls placed after cancel")
    T.check(n < len(numbers_b), "cancel stopped B before its end (%d of %d called)" % (n, len(numbers_b)))

    # C. the window is closed today.
    tomorrow = (datetime.datetime.utcnow() + datetime.timedelta(days=1)).strftime("%a").lower()
    numbers_c = ["+86137000%05d" % (10 * i + 6) for i in range(3)]
    cc, _ = campaign(v, "C", numbers_c, window=dict(ALL_WEEK, days=tomorrow))
    move(v, cc, "start")
    time.sleep(3)  # observing that nothing happens outside the window
    T.check_eq(len(invites(uas, set(numbers_c))), 0, "calls outside the window")
    T.check_eq(get(v, cc)["progress"]["pending"], 3, "C's callees still pending")

    # D. kill -9 with answered calls up.
    numbers_d = ["+86136000%05d" % (10 * i + 8) for i in range(6)]
    d, _ = campaign(v, "D", numbers_d, max_concurrent=2, cps=2, vars={"hold_ms": 4000})
    move(v, d, "start")
    answered_ids = lambda: {e[3] for e in carrier_events(uas) if e[0] == "ANSWERED"}
    d_calls = lambda: {e[3]: e[1] for e in invites(uas, set(numbers_d))}
    T.wait_until(lambda: len(set(d_calls()) & answered_ids()) >= 2, 15, "two of D's calls answered")
    before = {d_calls()[cid] for cid in set(d_calls()) & answered_ids()}
    v.kill9()
    v.restart()
    c = wait_progress(v, d, lambda p, c: c["state"] == "completed", 60, "D completed after the restart")
    calls_per_number = {}
    for e in invites(uas, set(numbers_d)):
        calls_per_number[e[1]] = calls_per_number.get(e[1], 0) + 1
    for nbr in before:
        T.check_eq(calls_per_number.get(nbr), 1, "%s answered before the crash: calls" % nbr)
    p = c["progress"]
    T.check_eq((p["total"], p["answered"], p["pending"], p["in_progress"]), (6, 6, 0, 0),
               "D's progress after the restart: %s" % p)
    T.check_eq(sorted(calls_per_number), sorted(numbers_d), "every D callee called")
    T.check(all(k <= 2 for k in calls_per_number.values()),
            "no callee over max_attempts: %s" % calls_per_number)
    T.check_eq(p["attempts"], sum(calls_per_number.values()), "D's attempts = carrier INVITEs")


if __name__ == "__main__":
    T.main(run)
