#!/usr/bin/env python3
"""Campaigns and do-not-call lists through the API (SPEC 9) on a real vcsd: every setting of
POST /v1/campaigns checked (400, nothing created); callee upload with per-line rejections
(invalid, duplicate in the file or in the campaign, on the account's or the operator's global
DNC list) and the vars of the extra columns; a list holding 10 consecutive numbers in any
order refused whole with 422 sequential_numbers naming the run (9 are fine); the state
machine with 409 naming both states; another account's campaign is 404; results as JSON and
CSV; DNC add, list, delete; a 20,000-line upload."""

import csv
import io
import os
import random
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1$", "remind")),
    "remind": "return function(call) call:answer() end\n",
}

GOOD = {
    "name": "dentist reminders", "script": "remind", "caller_id": "auto",
    "max_concurrent": 5, "cps": 2,
    "window": {"tz": "Asia/Shanghai", "days": "mon-fri", "start": "09:00", "end": "20:00"},
    "retry": {"on": ["busy", "no_answer"], "max_attempts": 2, "interval_s": 600},
    "ring_timeout_s": 25, "amd": "hangup", "vars": {"clinic": "Smile"},
}


def expect(v, method, path, body, token, status, what, headers=None):
    got, answer = v.api(method, path, body, token=token, headers=headers)
    T.check(got == status, "%s: %s %s: want %d, got %d %s" % (what, method, path, status, got,
                                                                str(answer)[:2000]))
    return answer


def with_(**changes):
    body = dict(GOOD)
    for k, val in changes.items():
        if val is None:
            body.pop(k, None)
        else:
            body[k] = val
    return body


def upload(v, token, cid, text, status=200, what="upload"):
    return expect(v, "POST", "/v1/campaigns/%s/callees" % cid, text, token, status, what,
                  headers={"Content-Type": "text/csv"})


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    op = True
    shop = expect(v, "POST", "/v1/accounts", {"name": "shop"}, op, 201, "account")["token"]
    rival = expect(v, "POST", "/v1/accounts", {"name": "rival"}, op, 201, "account")["token"]

    bad = [
        (with_(window=None), "window"),
        (with_(window=dict(GOOD["window"], tz="Mars/Olympus_Mons")), "Mars/Olympus_Mons"),
        (with_(window=dict(GOOD["window"], tz="../../etc/passwd")), "window.tz"),
        (with_(window=dict(GOOD["window"], days="funday")), "window.days"),
        (with_(window=dict(GOOD["window"], start="9:00")), "window.start"),
        (with_(window=dict(GOOD["window"], start="20:00", end="09:00")), "window.start"),
        (with_(window=dict(GOOD["window"], extra=1)), "extra"),
        (with_(retry={"on": ["answered"]}), "retry.on"),
        (with_(retry={"max_attempts": 11}), "max_attempts"),
        (with_(retry={"interval_s": 5}), "interval_s"),
        (with_(max_concurrent=0), "max_concurrent"),
        (with_(cps=5000), "cps"),
        (with_(ring_timeout_s=1), "ring_timeout_s"),
        (with_(script="nosuch"), "nosuch"),
        (with_(script="routes"), "routes"),
        (with_(caller_id="+861012349999"), "caller_id"),
        (with_(caller_id="me"), "caller_id"),
        (with_(amd="maybe"), "amd"),
        (with_(vars={"x": [1]}), "vars.x"),
        (with_(name=""), "name"),
    ]
    for body, word in bad:
        err = expect(v, "POST", "/v1/campaigns", body, shop, 400, "bad campaign (%s)" % word)
        T.check(word in err["error"]["message"], "the 400 must name %s: %s" % (word, err))
    T.check_eq(expect(v, "GET", "/v1/campaigns", None, shop, 200, "list")["items"], [],
               "campaigns after refused creations")

    c = expect(v, "POST", "/v1/campaigns", GOOD, shop, 201, "create")
    cid = c["id"]
    T.check_eq(c["state"], "draft", "new campaign's state")
    for k in ("script", "caller_id", "max_concurrent", "cps", "window", "retry", "ring_timeout_s",
              "amd", "vars", "name"):
        T.check_eq(c[k], GOOD[k], "campaign setting %s" % k)
    T.check_eq(c["progress"]["total"], 0, "progress.total before upload")
    dflt = expect(v, "POST", "/v1/campaigns", with_(retry=None, max_concurrent=None, cps=None,
                                                      amd=None, vars=None, ring_timeout_s=None),
                  shop, 201, "create with defaults")
    T.check_eq((dflt["retry"], dflt["max_concurrent"], dflt["cps"], dflt["amd"], dflt["ring_timeout_s"]),
               ({"on": ["busy", "no_answer", "failed"], "max_attempts": 3, "interval_s": 600}, 10, 1,
                "off", 30), "defaults")

    # DNC: the account's own list and the operator's global one.
    expect(v, "POST", "/v1/dnc", {"numbers": ["+8613700000003"]}, shop, 200, "shop dnc")
    expect(v, "POST", "/v1/dnc", {"numbers": ["+8613700000004"]}, op, 200, "global dnc")
    expect(v, "POST", "/v1/dnc", {"numbers": ["+8613700000005"]}, rival, 200, "rival dnc")
    expect(v, "POST", "/v1/dnc", {"numbers": ["12345"]}, shop, 400, "bad dnc number")
    T.check_eq([n["number"] for n in expect(v, "GET", "/v1/dnc", None, shop, 200, "dnc")["items"]],
               ["+8613700000003"], "shop's DNC list")
    T.check_eq([n["number"] for n in expect(v, "GET", "/v1/dnc", None, op, 200, "dnc")["items"]],
               ["+8613700000004"], "the global DNC list")

    text = ("number,name,appt\n"
            "+8613700000001,Ann,Mon 10:00\n"
            "+8613700000017,\"Lee, Bo\",\"Tue \"\"late\"\"\"\n"
            "13700000002,Bad,x\n"
            "+8613700000001,Again,y\n"
            "+8613700000003,Dnc,z\n"
            "+8613700000004,Global,z\n"
            "+8613700000005,RivalsDnc,z\n"
            "+8613700000029,TooFew\n"
            "\n")
    got = upload(v, shop, cid, text)
    T.check_eq(got["accepted"], 3, "callees accepted")
    T.check_eq([(r["line"], r["reason"]) for r in got["rejected"]],
               [(4, "invalid"), (5, "duplicate"), (6, "dnc"), (7, "dnc"), (9, "invalid")],
               "rejected lines")
    got = upload(v, shop, cid, "number\n+8613700000001\n+8613700000041\n")
    T.check_eq((got["accepted"], [(r["line"], r["reason"]) for r in got["rejected"]]),
               (1, [(2, "duplicate")]), "a second upload: the number already a callee")
    upload(v, shop, cid, "phone,name\n+8613700000051,x\n", 400, "a header without number")
    upload(v, shop, cid, "number,1x\n+8613700000051,x\n", 400, "a bad var name")

    # Segment dialing: ten consecutive numbers in any order refuse the whole list.
    run = ["+86139000000%02d" % i for i in range(10)]
    random.Random(7).shuffle(run)
    text = "number\n+8613700000061\n" + "\n".join(run) + "\n+8613700000071\n"
    err = upload(v, shop, cid, text, 422, "a list with 10 consecutive numbers")
    T.check_eq(err["error"]["code"], "sequential_numbers", "the refusal's code")
    T.check_eq(err["error"].get("runs"), ["+8613900000000..+8613900000009 (10 numbers)"],
               "the runs named")
    T.check("+8613900000000..+8613900000009" in err["error"]["message"], "message: %s" % err)
    T.check_eq(expect(v, "GET", "/v1/campaigns/%s" % cid, None, shop, 200, "get")["progress"]["total"],
               4, "callees after the refused list (nothing stored)")
    got = upload(v, shop, cid, "number\n" + "\n".join(run[:9]) + "\n")
    T.check_eq(got["accepted"], 9, "nine consecutive numbers are fine")

    # Another account sees nothing; the operator sees everything.
    expect(v, "GET", "/v1/campaigns/%s" % cid, None, rival, 404, "rival get")
    expect(v, "POST", "/v1/campaigns/%s/start" % cid, None, rival, 404, "rival start")
    upload(v, rival, cid, "number\n+8613700000081\n", 404, "rival upload")
    expect(v, "GET", "/v1/campaigns/%s/results" % cid, None, rival, 404, "rival results")
    T.check_eq(expect(v, "GET", "/v1/campaigns", None, rival, 200, "rival list")["items"], [],
               "rival's campaigns")
    T.check_eq(len(expect(v, "GET", "/v1/campaigns", None, op, 200, "operator list")["items"]), 2,
               "the operator's view")

    # Results, JSON and CSV.
    res = expect(v, "GET", "/v1/campaigns/%s/results?limit=1000" % cid, None, shop, 200, "results")
    T.check_eq([r["number"] for r in res["items"]][:3],
               ["+8613700000001", "+8613700000017", "+8613700000005"], "results in upload order (another account's DNC does not apply)")
    T.check_eq(len(res["items"]), 13, "results rows")
    T.check(all(r["attempts"] == 0 and r["result"] is None for r in res["items"]),
            "nobody called yet: %s" % res["items"][:2])
    st, body = v.api("GET", "/v1/campaigns/%s/results" % cid, token=shop,
                     headers={"Accept": "text/csv"})
    T.check_eq(st, 200, "CSV results status")
    rows = list(csv.reader(io.StringIO(body)))
    T.check_eq(rows[0], ["number", "attempts", "result", "last_call_id", "answered_at", "billsec",
                         "vars"], "CSV header")
    T.check_eq(len(rows), 14, "CSV rows")

    # The state machine.
    def move(action, status, want_state=None, words=()):
        got = expect(v, "POST", "/v1/campaigns/%s/%s" % (cid, action), None, shop, status, action)
        if want_state:
            T.check_eq(got["state"], want_state, "state after %s" % action)
        for w in words:
            T.check(w in got["error"]["message"], "409 must name %s: %s" % (w, got))
    move("pause", 409, words=("draft", "paused"))
    move("resume", 409, words=("draft", "running"))
    move("start", 200, "running")
    move("start", 409, words=("running",))
    move("pause", 200, "paused")
    move("resume", 200, "running")
    move("cancel", 200, "cancelled")
    move("resume", 409, words=("cancelled", "running"))
    upload(v, shop, cid, "number\n+8613700000091\n", 409, "upload to a cancelled campaign")

    # DNC removal.
    expect(v, "DELETE", "/v1/dnc/%2B8613700000003", None, shop, 204, "dnc delete")
    expect(v, "DELETE", "/v1/dnc/%2B8613700000003", None, shop, 404, "dnc delete again")
    expect(v, "DELETE", "/v1/dnc/%2B8613700000004", None, shop, 404, "the global list is the operator's")

    # A big list: 20,000 numbers, none consecutive.
    big = dflt["id"]
    base = 8613800000000
    lines = ["number,n"] + ["+%d,%d" % (base + 3 * i, i) for i in range(20000)]
    got = upload(v, shop, big, "\n".join(lines) + "\n")
    T.check_eq((got["accepted"], got["rejected"]), (20000, []), "a 20,000-line upload")
    T.check_eq(expect(v, "GET", "/v1/campaigns/%s" % big, None, shop, 200, "get")["progress"]["total"],
               20000, "callees of the big list")


if __name__ == "__main__":
    T.main(run)
