#!/usr/bin/env python3
"""Hold and unhold by re-INVITE: an offer with a=sendonly is answered 200 with a=recvonly on the
same media port and vcsd stops sending audio; an offer with a=sendrecv is answered sendrecv and
the audio resumes; the call then ends normally."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1003$", "holdme")),
    "holdme": "return function(call)\n  call:answer()\n  call:play(\"long\")\nend\n",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds={"long.wav": lambda p: T.tone_wav(p, 20.0, 1000)})
    peer = t.rtp_peer()
    call = t.sipp("uac_hold", v, "1003", keys={"rtp_port": peer.port},
                  tmpl={"before_hold_ms": 1500, "hold_ms": 2500, "after_ms": 1500}).start()
    port = call.rtp_port()
    m = call.wait_log(r"^HOLD_DIR (\S*) PORT (\d*)", 10, "the answer to the hold re-INVITE")
    t_hold = time.monotonic()
    T.check_eq(m.group(1), "recvonly", "direction in the answer to a=sendonly")
    T.check_eq(int(m.group(2) or 0), port, "media port in the answer to the hold re-INVITE")
    call.wait_log("^UNHOLD_SENT$", 10)
    t_unhold = time.monotonic()
    m = call.wait_log(r"^UNHOLD_DIR (\S*) PORT (\d*)", 10, "the answer to the unhold re-INVITE")
    t_resumed = time.monotonic()
    T.check(m.group(1) in ("sendrecv", ""), "direction in the answer to a=sendrecv: %r" % m.group(1))
    T.check_eq(int(m.group(2) or 0), port, "media port in the answer to the unhold re-INVITE")
    call.wait_log("^BYE_SENT$", 10)
    t_bye = time.monotonic()
    call.wait_ok(what="hold / unhold call")

    before = T.StreamStats(peer.packets(until=t_hold))
    held = peer.packets(since=t_hold + 0.3, until=t_unhold - 0.15)
    after = T.StreamStats(peer.packets(since=t_resumed + 0.3, until=t_bye))
    T.check(before.count >= 40, "audio before hold: %s" % before.describe())
    T.check(len(held) <= 2, "vcsd kept sending audio while the caller was on hold (a=recvonly): "
            "%d packets in %.1f s" % (len(held), t_unhold - 0.15 - t_hold - 0.3))
    T.check(after.count >= 30 and after.rms > 200,
            "audio did not resume after unhold: %s" % after.describe())
    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="caller", sip_code=200)


if __name__ == "__main__":
    T.main(run)
