#!/usr/bin/env python3
"""1003 (shipped dialplan "notify", route var text): the message is spoken by text to speech
(call:say), then "1 to confirm, 2 to repeat" (a tone here); the result reaches the CDR.
Three calls, one per way of sending keys:
  1. RFC 4733: 2 during the options (the message is spoken again), then 1 during the options:
     "confirmed" prompt, vcsd hangs up; vars notify_result "confirmed", notify_plays 2,
     notify_keys "21";
  2. SIP INFO (SIPp, scenarios/uac_dtmf.xml): 1 while the message is still being spoken
     (barge-in on speech): "confirmed" at once, without the options prompt; notify_plays 1;
  3. in-band tones (the caller offers no telephone-event): 2, then 1, as in call 1.
Speech is told from the test's tone prompts by loudness (ToneTracker other="voice")."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"notify-options": 500, "invalid": 600, "no-input": 700, "notify-confirmed": 800,
           "notify-no-response": 900}
VOICE = "voice"


def check_row(v, call_id, plays, keys, what):
    row = v.wait_cdr(call_id)
    T.check_cdr(row, script="notify", to_number="1003", hangup_cause="normal_clearing",
                hangup_by="script")
    got = {k: row["vars"].get(k) for k in ("notify_result", "notify_plays", "notify_keys")}
    T.check_eq(got, {"notify_result": "confirmed", "notify_plays": plays, "notify_keys": keys},
               "%s: CDR vars (all: %s)" % (what, row["vars_raw"]))


def confirm_after_repeat(t, v, method, pts):
    peer = t.rtp_peer()
    uac = t.uac(v, "1003", peer.port, pts=pts)
    tr = T.ToneTracker(peer, PROMPTS.values(), other=VOICE, ended=uac.ended)
    uac.invite()
    stream = peer.stream(uac.media, pt=pts[0])
    options = PROMPTS["notify-options"]
    first = tr.wait_run(VOICE, None, 15, "the message spoken by TTS (%s call)" % method)
    tr.wait_run(options, first.start, 20, "the options after the message")
    p2 = stream.press("2", method)[0]
    again = tr.wait_run(VOICE, p2.t_first, 15, "the message again after 2")
    tr.wait_run(options, again.start, 20, "the options after the message again")
    p1 = stream.press("1", method)[0]
    tr.wait_run(PROMPTS["notify-confirmed"], p1.t_first, 10, "'confirmed' after 1")
    uac.wait_bye(10)
    stream.stop()
    seq = tr.collapse()
    expected = [VOICE, options, VOICE, options, PROMPTS["notify-confirmed"]]
    T.check(seq == expected, "%s: expected message, options, message, options, confirmed: %s"
            % (method, seq))
    check_row(v, uac.call_id, 2, "21", method)


def run(t):
    v = t.vcsd(sounds=T.tone_prompts(PROMPTS))

    confirm_after_repeat(t, v, "rfc4733", (0, 8, 101))

    peer = t.rtp_peer()
    tr = T.ToneTracker(peer, PROMPTS.values(), other=VOICE)
    steps = T.sipp_steps(("pause", 1500), ("info", "1"), ("wait_bye", 15000))
    call = t.sipp("uac_dtmf", v, "1003", keys={"rtp_port": peer.port}, tmpl={"steps": steps})
    call.run_ok(what="notification confirmed by SIP INFO during the message")
    seq = tr.collapse()
    T.check(seq == [VOICE, PROMPTS["notify-confirmed"]],
            "INFO 1 during the message must stop it and confirm at once: %s" % seq)
    check_row(v, call.call_id(), 1, "1", "SIP INFO")

    confirm_after_repeat(t, v, "inband", (0,))


if __name__ == "__main__":
    T.main(run)
