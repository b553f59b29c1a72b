#!/usr/bin/env python3
"""Per-account concurrency limit (SPEC 8) on inbound calls: the account shop (max_calls 2) owns
two numbers (max_concurrent 10 each) that hold the call. A call to each is answered; a third,
to either number, gets 486 with `Reason: SIP;cause=486;text="account limit"` and a CDR
over_limit. After one call ends a call fits again (and the next is refused again); once all end,
the account counts no legs. Another account without max_calls is not limited by shop's."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

N1, N2, OTHER = "+861066660001", "+861066660002", "+861066660003"
DIALPLANS = {"routes": T.routes_lua(),
             "hold": "return function(call) call:answer() call:sleep(120000) end\n"}
# Admission by measured delay off: under a sanitizer build on a busy machine, calls would be
# shed with 503 before they reach the limit this test is about.
CONFIG = "return { engine = { max_delay_ms = 0 } }\n"


def call(t, v, number, expect=200):
    uac = t.uac(v, number, t.rtp_peer().port, caller="1000")
    return uac, uac.invite(expect=expect)


def check_refused(t, v, number):
    uac, r = call(t, v, number, expect=486)
    reasons = r.headers.get("reason", [])
    T.check(any('text="account limit"' in x and "cause=486" in x for x in reasons),
            "the 486 carries Reason: SIP;cause=486;text=\"account limit\" (got %r)" % reasons)
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, hangup_cause="over_limit", sip_code=486, hangup_by="system",
                answer_time=None)
    T.check_eq(row["account"], "shop", "the refused call's account")


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop", "max_calls": 2})["token"]
    free = v.api_ok("POST", "/v1/accounts", {"name": "free"})["token"]
    for name in ("shop", "free"):
        v.api_ok("POST", "/v1/accounts/%s/recharges" % name, {"amount_fen": 100000})
    v.own_number(shop, N1, "hold")
    v.own_number(shop, N2, "hold")
    v.own_number(free, OTHER, "hold")

    a, _ = call(t, v, N1)
    b, _ = call(t, v, N2)
    check_refused(t, v, N1)
    check_refused(t, v, N2)
    others = [call(t, v, OTHER)[0] for _ in range(3)]  # free has no limit; not shop's legs
    a.bye()
    v.wait_cdr(a.call_id)
    c, _ = call(t, v, N1)  # a channel came back
    check_refused(t, v, N2)
    for u in [b, c] + others:
        u.bye()
        v.wait_cdr(u.call_id)
    d, _ = call(t, v, N1)
    e, _ = call(t, v, N2)
    check_refused(t, v, N1)
    for u in (d, e):
        u.bye()
        v.wait_cdr(u.call_id)
    causes = sorted(r["hangup_cause"] for r in v.cdrs() if r["account"] == "shop")
    T.check_eq(causes.count("over_limit"), 4, "shop's refused calls: %s" % causes)


if __name__ == "__main__":
    T.main(run)
