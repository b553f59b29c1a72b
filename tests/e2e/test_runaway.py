#!/usr/bin/env python3
"""Scripts that loop without ever waiting (`while true do end` after the answer) are stopped by
the instruction limit (SPEC 5.3; here script.max_instructions = 1,000,000): each gets a BYE from
vcsd and a CDR row with script_error, and a call to "hello" that is up the whole time keeps its
audio flowing normally (no stall, pacing intact) and ends normally."""

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


if __name__ == "__main__":
    T.main(run)
