#!/usr/bin/env python3
"""vcsctl campaign create|upload|start|pause|resume|cancel|status|results|list and vcsctl dnc
against a real vcsd: each prints what the API answered (tables and key: value for people,
--json for scripts), an API refusal exits 1 with its message, status shows the counts and a
progress bar (printed once when stdout is not a terminal)."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1$", "remind")),
    "remind": "return function(call) call:answer() end\n",
}

CAMPAIGN = {"name": "reminders", "script": "remind", "caller_id": "auto", "max_concurrent": 2,
            "cps": 1, "window": {"tz": "Asia/Shanghai", "days": "mon-fri", "start": "09:00",
                                 "end": "20:00"}}


def ok(r, what, rc=0):
    T.check(r.returncode == rc, "%s: exit %d, wanted %d (stdout %r, stderr %r)" %
            (what, r.returncode, rc, r.stdout, r.stderr))
    return r.stdout


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    body = os.path.join(t.root, "campaign.json")
    with open(body, "w") as f:
        json.dump(CAMPAIGN, f)
    created = json.loads(ok(v.vcsctl("--json", "campaign", "create", body), "campaign create"))
    cid = str(created["id"])
    T.check_eq(created["state"], "draft", "created state")
    bad = os.path.join(t.root, "bad.json")
    with open(bad, "w") as f:
        json.dump(dict(CAMPAIGN, window=dict(CAMPAIGN["window"], tz="Nowhere/Land")), f)
    r = v.vcsctl("campaign", "create", bad)
    ok(r, "a refused campaign", 1)
    T.check("Nowhere/Land" in r.stderr, "the refusal's message on stderr: %r" % r.stderr)

    csv = os.path.join(t.root, "callees.csv")
    with open(csv, "w") as f:
        f.write("number,name\n+8613800000001,Ann\n+8613800000005,Bo\nnot-a-number,X\n")
    out = ok(v.vcsctl("--json", "campaign", "upload", cid, csv), "campaign upload")
    got = json.loads(out)
    T.check_eq((got["accepted"], [x["line"] for x in got["rejected"]]), (2, [4]), "upload")
    seq = os.path.join(t.root, "seq.csv")
    with open(seq, "w") as f:
        f.write("number\n" + "".join("+86139000000%02d\n" % i for i in range(12)))
    r = v.vcsctl("campaign", "upload", cid, seq)
    ok(r, "a sequential list", 1)
    T.check("+8613900000000..+8613900000011" in r.stderr, "the run named: %r" % r.stderr)

    out = ok(v.vcsctl("campaign", "status", cid), "campaign status")
    T.check("0/2 draft" in out and "pending 2" in out and "[" in out,
            "status shows the bar and counts: %r" % out)
    st = json.loads(ok(v.vcsctl("--json", "campaign", "status", cid), "status --json"))
    T.check_eq(st["progress"]["total"], 2, "status --json total")

    out = ok(v.vcsctl("campaign", "list"), "campaign list")
    T.check("reminders" in out and "draft" in out, "list: %r" % out)
    out = ok(v.vcsctl("campaign", "results", cid), "campaign results")
    T.check("+8613800000001" in out and "+8613800000005" in out, "results: %r" % out)

    r = v.vcsctl("campaign", "pause", cid)
    ok(r, "pause a draft", 1)
    T.check("draft" in r.stderr and "paused" in r.stderr, "409 names both states: %r" % r.stderr)
    for verb, state in (("start", "running"), ("pause", "paused"), ("resume", "running"),
                        ("cancel", "cancelled")):
        got = json.loads(ok(v.vcsctl("--json", "campaign", verb, cid), "campaign " + verb))
        T.check_eq(got["state"], state, "state after " + verb)

    ok(v.vcsctl("dnc", "add", "--numbers", "+8613800000007,+8613800000008"), "dnc add")
    out = ok(v.vcsctl("dnc", "list"), "dnc list")
    T.check("+8613800000007" in out and "+8613800000008" in out, "dnc list: %r" % out)
    ok(v.vcsctl("dnc", "delete", "+8613800000007"), "dnc delete")
    ok(v.vcsctl("dnc", "delete", "+8613800000007"), "dnc delete again", 1)
    got = json.loads(ok(v.vcsctl("--json", "dnc", "list"), "dnc list --json"))
    T.check_eq([x["number"] for x in got["items"]], ["+8613800000008"], "dnc after delete")


if __name__ == "__main__":
    T.main(run)
