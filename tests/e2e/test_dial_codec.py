#!/usr/bin/env python3
"""call:dial checks the codec of the callee's answer (SPEC 5.5, RFC 3264 section 6.1).

vcsd offers PCMU and PCMA on a b-leg to a sip: URI. The first target answers 200 OK with
G.729 (payload type 18) alone: vcsd cannot bridge that, so it hangs the leg up at once with
BYE and Reason Q.850 cause 88 (incompatible destination); the attempt is a failure, not an
answer (its CDR row: no answer_time, hangup_cause incompatible_destination, hangup_by system),
and the dial goes on to the second target, which answers PCMU, is bridged, and hangs up. A dial to the
G.729 carrier alone returns status "failed"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

G729 = {"codec": "G729", "pt": 18}


def dialplans(g729_port, pcmu_port, g729_alone_port):
    return {
        "routes": T.routes_lua(("^\\d+$", "bridge")),
        "bridge": """return function(call)
  local targets = { "sip:carrier@127.0.0.1:%d", "sip:carrier@127.0.0.1:%d" }
  if call.to == "2" then targets = "sip:carrier@127.0.0.1:%d" end
  local r = call:dial(targets, { timeout = 10000 })
  for _, k in ipairs({ "status", "code", "call_id", "target" }) do call:set("dial_" .. k, r[k]) end
end
""" % (g729_port, pcmu_port, g729_alone_port),
    }


def b_legs(v, a):
    def ended():
        rows = v.cdrs("parent_call_id = ?", (a["call_id"],))
        return rows if rows and all(r.get("end_time") for r in rows) else None
    return sorted(T.wait_until(ended, 15, "the b-leg rows"), key=lambda r: r["start_time"])


def failover(t, v, g729, pcmu):
    peer = t.rtp_peer()
    uac = t.uac(v, "1", peer.port)
    uac.invite(timeout=20)
    offer = g729.wait_log(r"OFFERPORT \d+ (.*)", 10, "the first b-leg's offer").group(1)
    T.check("RTP/AVP 0 8 101" in offer, "the b-leg offers PCMU and PCMA: %r" % offer)
    reason = g729.wait_log(r"GOTBYE REASON (.*)", 10, "the G.729 leg's BYE").group(1)
    T.check("Q.850" in reason and "cause=88" in reason,
            "the G.729 leg is hung up as incompatible: Reason %r" % reason)
    pcmu.wait_log(r"SENTBYE", 10, "the second target's answer, then its BYE")
    uac.wait_bye(10)  # the dial returned, the script ended
    a = v.wait_cdr(uac.call_id)
    T.check_eq((a["vars"].get("dial_status"), a["vars"].get("dial_code")), ("answered", 200),
               "dial's result (%s)" % a["vars"])
    rows = b_legs(v, a)
    T.check_eq(len(rows), 2, "b-leg rows")
    T.check_cdr(rows[0], hangup_cause="incompatible_destination", hangup_by="system",
                answer_time=None, sip_code=200, billsec=0)
    T.check(rows[1]["answer_time"] is not None, "the PCMU leg was answered: %s" % rows[1])
    T.check_eq(a["vars"].get("dial_call_id"), rows[1]["call_id"], "the bridged b-leg")


def alone(t, v, g729):
    uac = t.uac(v, "2", t.rtp_peer().port)
    uac.invite(timeout=20, expect=None)  # the script returns unanswered: 480
    g729.wait_log(r"GOTBYE REASON .*cause=88", 10, "the G.729 leg's BYE")
    a = v.wait_cdr(uac.call_id)
    T.check_eq(a["vars"].get("dial_status"), "failed", "dial's result (%s)" % a["vars"])
    rows = b_legs(v, a)
    T.check_eq(len(rows), 1, "b-leg rows")
    T.check_cdr(rows[0], hangup_cause="incompatible_destination", answer_time=None)


def run(t):
    def carrier(tmpl):
        return t.sipp_uas("uas_carrier", keys={"rtp_port": t.rtp_peer().port}, tmpl=tmpl,
                          timeout=60).start()
    g729, pcmu, g729_alone = carrier(G729), carrier({"hangup_ms": 1000}), carrier(G729)
    v = t.vcsd(dialplans=dialplans(g729.port, pcmu.port, g729_alone.port))
    failover(t, v, g729, pcmu)
    pcmu.wait_ok(what="the PCMU carrier")
    g729.wait_ok(what="the G.729 carrier (failover)")
    alone(t, v, g729_alone)
    g729_alone.wait_ok(what="the G.729 carrier (alone)")


if __name__ == "__main__":
    T.main(run)
