#!/usr/bin/env python3
"""A script that allocates without bound (1 MiB strings, up to 256 MiB) is stopped at the
per-call memory limit (SPEC 5.3, default 32 MiB): its call ends with a BYE from vcsd and a CDR
row with script_error, the log says it ran out of memory, and vcsd keeps serving calls."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^3100$", "hog"), ("^3101$", "fine")),
    "hog": """return function(call)
  call:answer()
  local t = {}
  for i = 1, 256 do
    t[i] = string.rep("x", 1024 * 1024)
  end
  call:set("survived", "yes")
  call:sleep(20000)
end
""",
    "fine": """return function(call)
  call:answer()
  call:sleep(300)
  call:set("fine", "yes")
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    mark = v.mark()
    peer = t.rtp_peer()
    hog = t.sipp("uac_wait_bye", v, "3100", keys={"rtp_port": peer.port},
                 tmpl={"bye_timeout_ms": 15000})
    hog.run_ok(what="the memory hog must be ended with a BYE from vcsd")
    row = v.wait_cdr(hog.call_id())
    T.check_cdr(row, hangup_cause="script_error", hangup_by="system", script="hog")
    T.check("survived" not in (row["vars"] or {}),
            "the script allocated 256 MiB without being stopped: vars %s" % row["vars_raw"])
    v.wait_log(r"(?i)memory", 5, since=mark, what="the log to say the script ran out of memory")
    v.wait_log(r"\bhog\b", 5, since=mark, what="the log to name the script (hog)")

    v.check_alive("after the memory hog")
    peer2 = t.rtp_peer()
    fine = t.sipp("uac_wait_bye", v, "3101", keys={"rtp_port": peer2.port},
                  tmpl={"bye_timeout_ms": 10000})
    fine.run_ok(what="a normal call after the memory hog")
    row = v.wait_cdr(fine.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq((row["vars"] or {}).get("fine"), "yes", "vars of the normal call")


if __name__ == "__main__":
    T.main(run)
