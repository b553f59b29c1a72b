#!/usr/bin/env python3
"""Channel limits on outbound legs are exact under churn (SPEC 8): a gateway's max_channels and
a number's max_concurrent are never exceeded, over-limit legs end over_limit without leaving,
and every channel comes back once the legs end.

60 calls are placed as fast as the API takes them through a gateway of max_channels 10, half
of them from our number of max_concurrent 3; the carrier answers each after 200 ms and hangs
up 5 s later. While they run, /metrics (vcs_gateway_calls, the gateway's channel count) and
GET /v1/calls are sampled: never more than 10 legs through the gateway, never more than 3 from
the number past "calling" (a leg is listed as "calling" from the moment POST returns, before its
worker claims channels or refuses it, so a leg about to be refused may show there for a moment).
The CDR rows give the exact answer afterwards: the answered legs' [start, end] spans never
overlap more than 10 at once, nor more than 3 from the number. Every CDR row is answered or
over_limit, the carrier saw exactly the answered ones, and the gateway, the number and the
engine are back to 0 legs."""

import os
import re
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

NUMBER = "861077700001"
CALLS = 60

DIALPLANS = {
    "routes": T.routes_lua(),
    "hold": """return function(call)
  call:answer()
  call:sleep(60000)
end
""",
}


def gateway_calls(v):
    st, text = v.api("GET", "/metrics")
    m = re.search(r'^vcs_gateway_calls\{gateway="carrier"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else None


def most_at_once(rows):
    """The most [start, end] spans open at one instant (an end at the same ms as a start does
    not overlap it). A span covers the time the leg held its channels, so this bounds them."""
    edges = sorted([(T.parse_iso(r["start_time"]), 1) for r in rows] +
                   [(T.parse_iso(r["end_time"]), -1) for r in rows])
    most = now = 0
    for _, d in edges:
        now += d
        most = max(most, now)
    return most


def run(t):
    peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": peer.port}, tmpl={"hangup_ms": 5000},
                     calls=CALLS, timeout=90).start()
    v = t.vcsd(dialplans=DIALPLANS, config="""return { gateways = {
  { name = "carrier", address = "127.0.0.1:%d", max_channels = 10, options_interval_s = 0,
    inbound = false } } }
""" % uas.port)
    v.admin_number(NUMBER, "hold", 3)

    peaks = {"gateway": 0, "number": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            g = gateway_calls(v) or 0
            st, lst = v.api("GET", "/v1/calls?limit=1000")
            n = sum(1 for c in lst.get("items", []) if c["from"] == NUMBER and
                    c["state"] != "calling") if st == 200 else 0
            peaks["gateway"] = max(peaks["gateway"], g)
            peaks["number"] = max(peaks["number"], n)
            stop.wait(0.05)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    ids = []
    for i in range(CALLS):
        st, body = v.api("POST", "/v1/calls", {
            "to": "1380000%04d" % i, "from": NUMBER if i % 2 else "861099900%03d" % i,
            "script": "hold"})
        T.check_eq(st, 201, "POST /v1/calls %d (%s)" % (i, body))
        ids.append(body["id"])

    def all_ended():
        rows = v.cdrs("direction = 'outbound' AND end_time IS NOT NULL")
        return len(rows) == CALLS and rows
    rows = T.wait_until(all_ended, 60, "every leg to end")
    stop.set()
    sampler.join(5)

    T.check(peaks["gateway"] <= 10, "legs through the gateway at once: %d (max 10)" % peaks["gateway"])
    T.check(peaks["number"] <= 3, "legs from the number at once: %d (max 3)" % peaks["number"])
    causes = {}
    for r in rows:
        causes[r["hangup_cause"]] = causes.get(r["hangup_cause"], 0) + 1
    T.check(set(causes) <= {"normal_clearing", "over_limit"} and causes.get("over_limit"),
            "every leg answered or over_limit: %s" % causes)
    answered = [r for r in rows if r["answer_time"]]
    T.check(most_at_once(answered) <= 10, "answered legs at once by the CDR: %d (max 10)"
            % most_at_once(answered))
    from_number = [r for r in answered if r["from_number"] == NUMBER]
    T.check(most_at_once(from_number) <= 3, "legs from the number at once by the CDR: %d (max 3)"
            % most_at_once(from_number))
    T.check(all(r["hangup_cause"] == "normal_clearing" for r in answered) and
            all(r["gateway"] == "carrier" for r in rows), "answered legs ended normally via carrier")
    T.check_eq(len(uas.find_log(r"ANSWERED")), len(answered),
               "the carrier answered exactly the legs that were not over a limit")
    T.wait_until(lambda: gateway_calls(v) == 0 and v.health()[1]["calls"] == 0, 20,
                 "the gateway's and the engine's legs back to 0")
    T.log("%d legs: %s; peaks: gateway %d, number %d" % (CALLS, causes, peaks["gateway"],
                                                         peaks["number"]))


if __name__ == "__main__":
    T.main(run)
