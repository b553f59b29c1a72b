#!/usr/bin/env python3
"""Per-number concurrency limit (SPEC 4 and 8) on inbound calls, exact on every ending.

The number 861088880000 (max_concurrent 2) runs a script that holds the call. Two calls are
answered; the third gets 486 with `Reason: SIP;cause=486;text="number limit"` and a CDR
over_limit (sip_code 486, never answered). Each way a call can end gives its channel back
exactly once: the caller's BYE, the script returning, a script error; after each, two calls fit
again and a third is still refused (nothing leaked, nothing released twice)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

NUMBER = "861088880000"

DIALPLANS = {
    "routes": T.routes_lua(("^9999$", "limit")),
    "limit": """return function(call)
  call:answer()
  if call.from == "ret" then call:sleep(300) return end
  if call.from == "err" then call:sleep(300) error("boom") end
  call:sleep(120000)
end
""",
}


def call(t, v, caller, expect=200):
    peer = t.rtp_peer()
    uac = t.uac(v, NUMBER, peer.port, caller=caller)
    r = uac.invite(expect=expect)
    return uac, r


def check_refused(t, v):
    uac, r = call(t, v, "third", expect=486)
    reasons = r.headers.get("reason", [])
    T.check(any('text="number limit"' in x and "cause=486" in x for x in reasons),
            "the 486 carries Reason: SIP;cause=486;text=\"number limit\" (got %r)" % reasons)
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, hangup_cause="over_limit", sip_code=486, hangup_by="system", answer_time=None)


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    v.admin_number(NUMBER, "limit", 2)

    # The caller's BYE gives the channel back.
    a, _ = call(t, v, "hold")
    b, _ = call(t, v, "hold")
    check_refused(t, v)
    a.bye()
    v.wait_cdr(a.call_id)
    c, _ = call(t, v, "hold")
    check_refused(t, v)
    b.bye()
    c.bye()
    v.wait_cdr(b.call_id)
    v.wait_cdr(c.call_id)

    # The script returning, and a script error, give it back too.
    for how in ("ret", "err"):
        x, _ = call(t, v, how)
        y, _ = call(t, v, how)
        x.wait_bye(10)
        y.wait_bye(10)
        v.wait_cdr(x.call_id)
        v.wait_cdr(y.call_id)
        p, _ = call(t, v, "hold")
        q, _ = call(t, v, "hold")
        check_refused(t, v)
        p.bye()
        q.bye()
        v.wait_cdr(p.call_id)
        v.wait_cdr(q.call_id)
    causes = [r["hangup_cause"] for r in v.cdrs()]
    T.log("causes: %s" % causes)
    T.check(causes.count("over_limit") == 4, "four refusals in the CDRs (got %s)" % causes)
    T.check(causes.count("script_error") == 2, "two script errors in the CDRs (got %s)" % causes)


if __name__ == "__main__":
    T.main(run)
