#!/usr/bin/env python3
"""Scripts that loop without ever waiting (`while true do end` after the answer) are stopped by
the instruction limit (SPEC 5.3; here script.max_instructions = 1,000,000): each gets a BYE from
vcsd and a CDR row with script_error, and a call to "hello" that is up the whole time keeps its
audio flowing normally (no stall, pacing intact) and ends normally.
With an instruction budget too large to matter (2^31 - 1) the wall-clock limit stops them
instead (script.max_run_ms = 100, enforced by the watchdog): a Lua loop and a pattern bomb
(string.rep('a', 400):find('.-.-.-b') under pcall in a loop, which runs inside C) each end with
script_error and "time limit" in the log."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = "return { script = { max_instructions = 1000000 } }\n"
OVERLAY = {
    "routes": T.routes_lua(("^1000$", "hello"), ("^3000$", "spin")),
    "spin": """return function(call)
  call:answer()
  call:set("spinning", "yes")
  while true do end
end
""",
}
SPINNERS = 3

WALL_CONFIG = "return { script = { max_instructions = 2147483647, max_run_ms = 100 } }\n"
WALL_OVERLAY = {
    "routes": T.routes_lua(("^3000$", "spin"), ("^3001$", "bomb")),
    "spin": OVERLAY["spin"],
    "bomb": """return function(call)
  call:answer()
  local s = string.rep("a", 400)
  while true do pcall(string.find, s, ".-.-.-b") end
end
""",
}


def run(t):
    v = t.vcsd(overlay=OVERLAY, config=CONFIG,
               sounds={"welcome.wav": lambda p: T.tone_wav(p, 10.0, 1000)})
    peer = t.rtp_peer()
    good = t.sipp("uac_call", v, "1000", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 5000}).start()
    good.wait_log("^ANSWERED$", 10, "the call to hello answered")
    peer.wait_packets(10, 5, "audio of the call to hello before the runaway scripts start")

    spin_peer = t.rtp_peer()
    spin = t.sipp("uac_wait_bye", v, "3000", keys={"rtp_port": spin_peer.port},
                  tmpl={"bye_timeout_ms": 15000}, calls=SPINNERS, limit=SPINNERS, rate=20)
    spin.run_ok(what="%d runaway scripts must each be ended with a BYE from vcsd" % SPINNERS)
    T.check(good.running(), "the call to hello ended while the runaway scripts ran:\n%s"
            % good.diagnostics())
    good.wait_ok(what="the call to hello during the runaway scripts")

    st = T.StreamStats(peer.packets())
    T.check_stream(st, min_packets=200, what="audio of the call to hello while scripts spun")
    T.check(st.max_gap_ms < 200, "audio of the call to hello stalled for %.0f ms while scripts "
            "spun: %s" % (st.max_gap_ms, st.describe()))

    for cid in spin.call_ids():
        row = v.wait_cdr(cid)
        T.check_cdr(row, hangup_cause="script_error", hangup_by="system", script="spin",
                    sip_code=200)
    T.check_eq(len(spin.call_ids()), SPINNERS, "runaway calls placed")
    row = v.wait_cdr(good.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="caller", script="hello")
    v.check_alive("after the runaway scripts")
    v.stop()

    w = t.vcsd(overlay=WALL_OVERLAY, config=WALL_CONFIG, name="vcsd-wall")
    for number, script in (("3000", "spin"), ("3001", "bomb")):
        mark = w.mark()
        p = t.rtp_peer()
        c = t.sipp("uac_wait_bye", w, number, keys={"rtp_port": p.port},
                   tmpl={"bye_timeout_ms": 15000})
        c.run_ok(what="%s must be ended by the wall-clock limit with a BYE from vcsd" % script)
        T.check_cdr(w.wait_cdr(c.call_id()), hangup_cause="script_error", hangup_by="system",
                    script=script)
        w.wait_log(r"more than 100 ms without waiting \(time limit\)", 5, since=mark,
                   what="the log to say %s hit the time limit" % script)
    w.check_alive("after the wall-clock limit")


if __name__ == "__main__":
    T.main(run)
