#!/usr/bin/env python3
"""A prompt that arrives after its method ended is never played (issue 9, item 6).

call:say of a long, uncached text is interrupted by a key while espeak-ng is still rendering
it; the script then says a short, uncached text (queued behind the long one on the TTS thread)
and plays a 1 kHz end prompt. A 600 Hz marker tone before the long say tells the test when to press. The long text's
audio arrives first: it belongs to the wait the
key ended and must be dropped, so what the caller hears after the key is the short text (about
a second of speech), then the end prompt. Before waits carried a generation, the late long text
took the short one's place and played for minutes.
CDR vars: barge = the key that interrupted, short_ms = how long the second say took."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

MARK, END = 600, 1000
# ~1,950 bytes: minutes of speech, seconds of rendering (TTS_MAX_TEXT is 2000).
LONG_TEXT = ("Thank you for calling the customer service line of the example company. " * 27).strip()

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "stale")),
    "stale": """return function(call)
  call:answer()
  call:tone("600/300", 300)
  local key = call:say("%s", { digits = "5" })
  call:set("barge", key or "none")
  local t0 = vcs.now()
  call:say("Short answer.")
  call:set("short_ms", vcs.now() - t0)
  call:play("end")
end
""" % LONG_TEXT,
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds={"end.wav": T.tone_prompt(END, seconds=0.5)})
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port)
    uac.invite()
    tr = T.ToneTracker(peer, [MARK, END])
    tr.wait_run_end(MARK, None, 10, "the marker tone before the long say")
    uac.info_key("5")  # the long say has started: espeak-ng is rendering it
    tr.wait_run(END, None, 60, "the end prompt after the short text")
    uac.wait_bye(10)
    row = v.wait_cdr(uac.call_id)
    T.check_eq(row["vars"].get("barge"), "5", "the key returned by the interrupted say")
    short_ms = int(row["vars"].get("short_ms", -1))
    T.log("second say took %d ms" % short_ms)
    # "Short answer." is about a second of speech; the long text is minutes of it.
    T.check(0 <= short_ms < 15000,
            "the second say took %d ms: the interrupted long text played in its place" % short_ms)


if __name__ == "__main__":
    T.main(run)
