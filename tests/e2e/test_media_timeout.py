#!/usr/bin/env python3
"""Dead calls end (SPEC 3 media, SPEC 6 cause media_timeout), with media.timeout_s = 2:

1. An answered call whose caller sends RTP for 3.5 s (longer than the timeout) stays up while
   the audio flows; once the caller falls silent, vcsd hangs up with BYE, CDR cause
   media_timeout, hangup_by system.
2. A call the caller holds (re-INVITE a=sendonly) and that then sends nothing for 4.5 s is not
   ended by timeout_s (hold_timeout_s applies); it ends normally when the caller hangs up after
   unholding.
3. A call that never sends RTP at all is ended the same way as 1."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1100$", "wait")),
    "wait": "return function(call)\n  call:answer()\n  call:sleep(60000)\nend\n",
}
CONFIG = "return { media = { timeout_s = 2, hold_timeout_s = 3600 } }\n"


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)

    peer = t.rtp_peer()
    uac = t.uac(v, "1100", peer.port)
    uac.invite()
    peer.send_tone(uac.media, 3.5, freq=440)
    peer.wait_sent(10)
    T.check(not uac.ended(), "vcsd hung up a call whose caller was sending RTP")
    uac.wait_bye(10)
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, hangup_cause="media_timeout", hangup_by="system", sip_code=200)

    hold_peer = t.rtp_peer()
    held = t.sipp("uac_hold", v, "1100", keys={"rtp_port": hold_peer.port},
                  tmpl={"before_hold_ms": 500, "hold_ms": 4500, "after_ms": 500}).start()
    held.wait_ok(what="a call held for 4.5 s without RTP (timeout_s 2, hold_timeout_s 3600)")
    row = v.wait_cdr(held.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="caller")

    silent = t.uac(v, "1100", t.rtp_peer().port)
    silent.invite()
    silent.wait_bye(10)
    T.check_cdr(v.wait_cdr(silent.call_id), hangup_cause="media_timeout", hangup_by="system")


if __name__ == "__main__":
    T.main(run)
