#!/usr/bin/env python3
"""RFC 3261 15: a callee must not send BYE before the ACK of its 2xx. A call hung up (here from
the API) while its 200 waits for the ACK gets its BYE once the ACK arrives: under load the first
200 or ACK is often lost, and an early BYE ends a call the caller still sets up (SIPp aborts on
the unexpected BYE). The call ended before its ACK, so the CDR bills nothing (SPEC 6)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^6000$", "answer")),
    "answer": """return function(call)
  call:answer()
  call:sleep(60000)
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    peer = t.rtp_peer()
    call = t.sipp("uac_late_ack", v, "6000", keys={"rtp_port": peer.port}).start()
    call.wait_log("OK_RECEIVED", 15)
    legs = v.api_ok("GET", "/v1/calls")["items"]
    T.check_eq([leg["state"] for leg in legs], ["answering"], "the call waiting for its ACK")
    v.api_ok("DELETE", "/v1/calls/%s" % legs[0]["id"])
    call.wait_ok(what="BYE only after the late ACK")
    T.check(call.find_log("ACK_SENT"), "SIPp never sent its ACK")
    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", sip_code=200)
    T.check_eq(row["billsec"], 0, "billsec of a call hung up before its ACK")


if __name__ == "__main__":
    T.main(run)
