#!/usr/bin/env python3
"""Keys sent as SIP INFO, in the body formats phones use. A fixture dialplan collects keys with
call:get_digit until 3 s pass without one and stores them in the CDR vars.
  1. SIPp (scenarios/uac_dtmf.xml): application/dtmf-relay "Signal=5", application/dtmf "6",
     dtmf-relay with RFC 4733 codes "Signal=10" (*) and "Signal=11" (#), and
     "signal = a" (any case, spaces) -> "56*#A"; every INFO answered 200.
  2. Raw SIP: INFOs that carry no key (Signal=16 is flash, a dtmf-relay body without Signal,
     text/plain "7", an empty application/dtmf) are answered (200, or 415 for the foreign
     type) and ignored; then application/dtmf "8" -> "8"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "keys")),
    "keys": """return function(call)
  call:answer()
  local keys = ""
  while true do
    local k = call:get_digit(3000)
    if not k then break end
    keys = keys .. k
    call:set("keys", keys)
  end
  call:set("done", true)
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    peer = t.rtp_peer()
    steps = T.sipp_steps(("pause", 300), ("info", "5"),
                         ("pause", 300), ("info", "6", "dtmf"),
                         ("pause", 300), ("info", "10"),
                         ("pause", 300), ("info", "11"),
                         ("pause", 300), ("info_raw", "application/dtmf-relay", "signal = a\nduration=100"),
                         ("wait_bye", 10000))
    call = t.sipp("uac_dtmf", v, "2000", keys={"rtp_port": peer.port}, tmpl={"steps": steps})
    call.run_ok(what="keys by SIP INFO")
    T.check_eq(len(call.find_log(r"INFO_OK")), 5, "INFO requests answered 200")
    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, script="keys", hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq(row["vars"].get("keys"), "56*#A", "keys from INFO bodies (vars %s)" % row["vars_raw"])

    uac = t.uac(v, "2000", peer.port)
    uac.invite()
    for ctype, body in (("application/dtmf-relay", "Signal=16\r\nDuration=160\r\n"),
                        ("application/dtmf-relay", "Duration=160\r\n"),
                        ("text/plain", "7"),
                        ("application/dtmf", "")):
        r = uac.info(body, ctype)
        T.check(r.code in (200, 415), "INFO %s %r: expected 200 (or 415), got %d" % (ctype, body, r.code))
    uac.info_key("8", kind="dtmf")
    uac.wait_bye(10)
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="keys", hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq(row["vars"].get("keys"), "8", "only the real key counts (vars %s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
