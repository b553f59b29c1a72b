#!/usr/bin/env python3
"""A caller who cancels while the script rings gets 487; the script's waiting call:sleep ends
with a hangup (the code after it never runs) and the CDR says cancelled by the caller,
sip_code 487, never answered."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^5000$", "ringsleep")),
    "ringsleep": """return function(call)
  call:ring()
  call:sleep(20000)
  call:set("after_sleep", "reached")
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    call = t.sipp("uac_cancel", v, "5000", tmpl={"cancel_after_ms": 500})
    call.run_ok(what="ring, CANCEL, 487")
    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, hangup_cause="cancelled", hangup_by="caller", sip_code=487,
                script="ringsleep")
    T.check_cdr_times(row, answered=False)
    T.check("after_sleep" not in (row["vars"] or {}),
            "the script went on after the caller cancelled: vars %s" % row["vars"])
    T.check(row["duration_ms"] < 10000, "the call lasted %s ms: the CANCEL did not end the sleep"
            % row["duration_ms"])


if __name__ == "__main__":
    T.main(run)
