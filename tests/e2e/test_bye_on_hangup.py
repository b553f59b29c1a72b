#!/usr/bin/env python3
"""The caller hangs up in the middle of a long prompt: the waiting call:play raises a hangup
(the script does not go on), the on_hangup handler runs and its call:set reaches the CDR, and
the row says normal_clearing, hung up by the caller (a hangup is not a script error)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1002$", "hangup")),
    "hangup": """return function(call)
  call:on_hangup(function()
    call:set("cleanup", "done")
  end)
  call:answer()
  call:play("long")
  call:set("after_play", "reached")
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds={"long.wav": lambda p: T.tone_wav(p, 20.0, 800)})
    peer = t.rtp_peer()
    call = t.sipp("uac_call", v, "1002", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 1500})
    call.run_ok(what="call hung up by the caller during the prompt")
    T.check(peer.count() >= 25, "no prompt audio before the hangup (%d packets)" % peer.count())
    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="caller", sip_code=200,
                script="hangup")
    T.check_cdr_times(row, answered=True)
    T.check_eq((row["vars"] or {}).get("cleanup"), "done",
               "CDR vars.cleanup set by on_hangup (vars %s)" % row["vars_raw"])
    T.check("after_play" not in (row["vars"] or {}),
            "the script went on after the caller hung up: vars %s" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
