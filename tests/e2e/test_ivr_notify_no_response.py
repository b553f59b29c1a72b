#!/usr/bin/env python3
"""Dialplan "notify" when the callee does not confirm: no key (5 s), a key with no meaning (5),
no key again; each uses one of three tries, plays its apology ("no-input" or "invalid") and the
message again; after the third the callee hears "no response" and vcsd hangs up. The message
comes from the route's vars.text (routes.lua given by the test: a short text keeps the test
short). CDR vars: notify_result "no_response", notify_plays 3, notify_keys "5"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"notify-options": 500, "invalid": 600, "no-input": 700, "notify-confirmed": 800,
           "notify-no-response": 900}
VOICE = "voice"


def run(t):
    routes = T.routes_lua(("^1003$", "notify", {"text": "Your parcel has arrived."}))
    v = t.vcsd(sounds=T.tone_prompts(PROMPTS), overlay={"routes": routes})
    peer = t.rtp_peer()
    uac = t.uac(v, "1003", peer.port)
    uac.invite()
    tr = T.ToneTracker(peer, PROMPTS.values(), other=VOICE)  # vcsd hangs up at the end
    stream = peer.stream(uac.media)
    options = PROMPTS["notify-options"]

    r = tr.wait_run(options, None, 20, "the options after the message")
    r = tr.wait_run(PROMPTS["no-input"], r.start, 10, "'no input' 5 s after the options")
    r = tr.wait_run(options, r.start, 20, "the options after the message again")
    p5 = stream.press("5", "rfc4733")[0]
    r = tr.wait_run(PROMPTS["invalid"], p5.t_first, 10, "the apology after 5")
    r = tr.wait_run(options, r.start, 20, "the options after the third message")
    tr.wait_run(PROMPTS["notify-no-response"], r.start, 10, "'no response' after the third try")
    uac.wait_bye(10)
    stream.stop()

    expected = [VOICE, options, PROMPTS["no-input"], VOICE, options, PROMPTS["invalid"], VOICE,
                options, PROMPTS["no-input"], PROMPTS["notify-no-response"]]
    seq = tr.collapse()
    T.check(seq == expected, "expected %s\n  received %s" % (expected, seq))
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="notify", hangup_cause="normal_clearing", hangup_by="script")
    got = {k: row["vars"].get(k) for k in ("notify_result", "notify_plays", "notify_keys")}
    T.check_eq(got, {"notify_result": "no_response", "notify_plays": 3, "notify_keys": "5"},
               "CDR vars (all: %s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
