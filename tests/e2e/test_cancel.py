#!/usr/bin/env python3
"""A caller who cancels while the script rings gets 487; the script's waiting call:sleep ends
with a hangup (the code after it never runs) and the CDR says cancelled by the caller,
sip_code 487, never answered.
A CANCEL that wins the race against our 200 (the SIP stack answered the INVITE 487 before the
script's 200 went out) is cancelled too, with answer_time NULL and billsec 0: a call counts as
answered when its ACK arrives, not when the script asks for the 200."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^5000$", "ringsleep"), ("^5001$", "ringbusy")),
    "ringsleep": """return function(call)
  call:ring()
  call:sleep(20000)
  call:set("after_sleep", "reached")
end
""",
    # The worker is kept busy (no yield) after the 180, so that the caller's CANCEL is handled
    # by the SIP stack (487) before the script's answer: the race, made certain.
    "ringbusy": """return function(call)
  call:ring()
  local until_ms = vcs.now() + 1000
  while vcs.now() < until_ms do end
  call:answer()
  call:set("after_answer", "reached")
end
""",
}
# The busy wait above runs far longer, in instructions and in time, than a call may by default.
CONFIG = "return { script = { max_instructions = 2000000000, max_run_ms = 5000 } }\n"


def cancelled_call(t, v, number, cancel_after_ms, script, unreached_var):
    """Calls number, cancels cancel_after_ms after the ring; the CDR row, checked."""
    call = t.sipp("uac_cancel", v, number, tmpl={"cancel_after_ms": cancel_after_ms})
    call.run_ok(what="ring, CANCEL, 487 (%s)" % script)
    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, hangup_cause="cancelled", hangup_by="caller", sip_code=487, script=script)
    T.check_cdr_times(row, answered=False)
    T.check_eq(row["billsec"], 0, "billsec of a cancelled call (%s)" % script)
    T.check(unreached_var not in (row["vars"] or {}),
            "the script went on after the caller cancelled: vars %s" % row["vars"])
    return row


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    row = cancelled_call(t, v, "5000", 500, "ringsleep", "after_sleep")
    T.check(row["duration_ms"] < 10000, "the call lasted %s ms: the CANCEL did not end the sleep"
            % row["duration_ms"])
    # The 200 lost to the CANCEL: call:answer() must not return, nothing is billed.
    cancelled_call(t, v, "5001", 1, "ringbusy", "after_answer")


if __name__ == "__main__":
    T.main(run)
