#!/usr/bin/env python3
"""A call whose 200 is never acknowledged was not answered (SPEC 6): call:answer() never
returns, and when the SIP stack gives up on the ACK (64*T1, 32 s) the CDR says failed, ended by
the system, with answer_time NULL and billsec 0, though sip_code is the 200 that went out."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^6000$", "answer")),
    "answer": """return function(call)
  call:answer()
  call:set("answered", "yes")
  call:sleep(60000)
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    peer = t.rtp_peer()
    call = t.sipp("uac_no_ack", v, "6000", keys={"rtp_port": peer.port})
    call.run_ok(what="INVITE, 200, no ACK")
    cid = call.call_id()
    row = v.wait_cdr(cid, ended=False)
    T.check(row["answer_time"] is None, "answer_time set before any ACK: %s" % row)
    row = v.wait_cdr(cid, timeout=60)  # the stack retransmits the 200 for 32 s
    T.check_cdr(row, hangup_cause="failed", hangup_by="system", sip_code=200, script="answer")
    T.check_cdr_times(row, answered=False)
    T.check_eq(row["billsec"], 0, "billsec of a call never acknowledged")
    T.check("answered" not in (row["vars"] or {}),
            "call:answer() returned without an ACK: vars %s" % row["vars"])


if __name__ == "__main__":
    T.main(run)
