#!/usr/bin/env python3
"""Callers hanging up while call:dial's b-leg rings, in a burst (SPEC 5.5, 6, 8).

200 callers at 50 calls/s (SIPp, uac_cancel_burst.xml) reach a script that sends 180 and
dials a number through gateway "gw", a SIPp carrier that rings and never answers
(uas_ring.xml). Each caller sends CANCEL a random 50-500 ms after the 180. Checked:
- every caller's CANCEL gets 200 and its INVITE 487 (SIPp re-sends a CANCEL not answered
  within 500 ms: those re-sends, and the slowest answer, are logged, not judged: on a loaded
  box they measure the box);
- the carrier got one INVITE dialog per caller and exactly one CANCEL transaction in each
  (re-sends of it logged), answered 200 + 487 and ACKed;
- afterwards nothing is left: no call up, the gateway's channel count 0 (GET /v1/gateways and
  /metrics), every CDR row ended: 200 a-leg rows cancelled by the caller, and one b-leg row
  for each (parent_call_id), unanswered, cancelled by the caller, sip_code 487 (what its
  CANCEL brought; such rows used to say normal_clearing with no sip_code)."""


import collections
import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CALLS, RATE = 200, 50

DIALPLANS = {
    "routes": T.routes_lua(("^7\\d+$", "ring_dial")),
    "ring_dial": """return function(call)
  call:ring()
  call:dial("5552" .. call.to, { timeout = 20000 })
end
""",
}
# Admission by measured delay off: under a sanitizer build the burst would be shed with 503
# before it reaches what this test is about.
CONFIG = """return {
  engine = { max_delay_ms = 0 },
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.0/8" } } },
  gateways = { { name = "gw", address = "127.0.0.1:%d", max_channels = 1000,
                 options_interval_s = 0, inbound = false } },
}
"""


def transactions(sipp, direction, method):
    """{Call-ID: [the Via branch of each `method` request]} in the SIPp's message trace (a
    re-sent request repeats its branch)."""
    out = collections.defaultdict(list)
    for d, text in sipp.messages():
        if d == direction and text.startswith(method + " "):
            cid = re.search(r"(?im)^(?:Call-ID|i)\s*:\s*(\S+)", text)
            branch = re.search(r"(?im)^(?:Via|v)\s*:[^\n]*branch=([^;\s]+)", text)
            out[cid.group(1) if cid else None].append(branch.group(1) if branch else None)
    return out


def gateway_calls(v):
    st, page = v.api("GET", "/v1/gateways")
    return next(g for g in page["items"] if g["name"] == "gw")["calls"] if st == 200 else None


def run(t):
    carrier = t.sipp_uas("uas_ring", calls=100000, timeout=120).start()
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG % carrier.port)
    callers = t.sipp("uac_cancel_burst", v, "7000", calls=CALLS, rate=RATE, limit=CALLS,
                     timeout=90)
    callers.run_ok(120, what="%d callers cancelling while the b-leg rings" % CALLS)
    T.wait_until(lambda: v.health()[1]["calls"] == 0, 30, "every leg to end")

    sent = transactions(callers, "sent", "CANCEL")
    T.check_eq(len(sent), CALLS, "callers' dialogs with a CANCEL")
    T.log("callers' CANCELs re-sent (not answered within 500 ms): %d in %d dialogs"
          % (sum(len(b) - 1 for b in sent.values()), sum(1 for b in sent.values() if len(b) > 1)))

    invites = transactions(carrier, "received", "INVITE")
    cancels = transactions(carrier, "received", "CANCEL")
    T.check_eq(len(invites), CALLS, "b-leg dialogs at the carrier")
    T.check_eq(set(cancels), set(invites), "the b-leg dialogs that got a CANCEL")
    several = {cid: len(set(b)) for cid, b in cancels.items() if len(set(b)) != 1}
    T.check(not several, "b-legs with more than one CANCEL transaction: %s" % sorted(several.items())[:5])
    acks = transactions(carrier, "received", "ACK")
    T.check_eq(set(acks), set(invites), "the b-leg dialogs whose 487 vcsd ACKed")
    T.log("vcsd's CANCELs re-sent to the carrier: %d in %d dialogs"
          % (sum(len(b) - 1 for b in cancels.values()), sum(1 for b in cancels.values() if len(b) > 1)))

    T.check_eq(gateway_calls(v), 0, "the gateway's calls after all ended")
    m = re.search(r'(?m)^vcs_gateway_calls\{gateway="gw"\} (\d+)$', v.api("GET", "/metrics")[1])
    T.check(m and m.group(1) == "0", "vcs_gateway_calls after all ended: %s" % (m and m.group(0)))
    rows = T.wait_until(lambda: (lambda r: r if all(x["end_time"] for x in r) else None)(v.cdrs()),
                        30, "every CDR row to be ended")
    a_rows = [r for r in rows if not r["parent_call_id"]]
    b_rows = [r for r in rows if r["parent_call_id"]]
    T.check_eq(len(a_rows), CALLS, "a-leg rows")
    T.check_eq(collections.Counter((r["hangup_cause"], r["hangup_by"]) for r in a_rows),
               collections.Counter({("cancelled", "caller"): CALLS}), "how the a-legs ended")
    T.check_eq(sorted(r["parent_call_id"] for r in b_rows), sorted(r["call_id"] for r in a_rows),
               "one b-leg row per a-leg")
    T.check_eq(collections.Counter((r["hangup_cause"], r["hangup_by"], r["sip_code"],
                                    r["answer_time"]) for r in b_rows),
               collections.Counter({("cancelled", "caller", 487, None): CALLS}),
               "how the b-legs ended")
    carrier.kill()


if __name__ == "__main__":
    T.main(run, timeout=240)
