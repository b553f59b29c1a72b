#!/usr/bin/env python3
"""Barge-in and type-ahead with call:play(files, {digits=}), for each way a key arrives
(RFC 4733, SIP INFO, in-band tones; one call each):
  1. a long 1 kHz prompt plays; a key pressed half a second into it stops it: the RTP from vcsd
     switches from the prompt to what the script does next (a 600 Hz tone): every 1 kHz packet
     after the key comes before the first 600 Hz one, and the last of them arrives within a
     generous 250 ms of the key (in principle one packet time; in-band detection needs ~50 ms);
     call:play returns the key;
  2. a key pressed during a prompt that takes no keys is typed ahead: the next interruptible
     call:play of the long prompt returns it at once, without playing (no 1 kHz at all).
CDR vars: barge = the key of 1, typed = the key of 2."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

LONG, AFTER, GAP, END = 1000, 600, 400, 1500
BOUND_S = 0.25

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "barge")),
    "barge": """return function(call)
  call:answer()
  local key = call:play("long", { digits = "0123456789*#" })
  call:set("barge", key or "none")
  call:tone("600/800", 800)
  call:play("gap")
  local typed = call:play("long", { digits = "0123456789*#" })
  call:set("typed", typed or "none")
  call:play("end")
end
""",
}


def one_call(t, v, method):
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port, pts=(0,) if method == "inband" else (0, 8, 101))
    uac.invite()
    tr = T.ToneTracker(peer, [LONG, AFTER, GAP, END])  # vcsd hangs up at the end
    stream = peer.stream(uac.media)

    def press(key):
        if method == "info":
            return uac.info_key(key)
        return stream.press(key, method)[0].t_first

    long_run = tr.wait_run(LONG, None, 10, "the long prompt (%s call)" % method)
    T.wait_until(lambda: tr.runs(long_run.start)[0].frames >= 25, 5, "half a second of the long prompt")
    t_key = press("5")
    after = tr.wait_run(AFTER, t_key, 5, "the 600 Hz tone after the key (%s)" % method)
    late = [t for t, lab in tr.labels(t_key) if lab == LONG]
    T.check(all(x < after.start for x in late),
            "%s: prompt audio came after the next tone had started" % method)
    if late and late[-1] - t_key > BOUND_S:
        T.fail("%s: the prompt went on %.0f ms after the key (%d packets); expected it to stop "
               "within %.0f ms" % (method, (late[-1] - t_key) * 1000, len(late), BOUND_S * 1000))
    T.log("%s: %d prompt packets arrived after the key, the last %.0f ms after it"
          % (method, len(late), (late[-1] - t_key) * 1000 if late else 0))

    gap = tr.wait_run(GAP, after.start, 10, "the prompt that takes no keys (%s)" % method)
    t_typed = press("7")
    T.check(t_typed < gap.start + 0.8, "%s: the key was not pressed during the 1 s prompt" % method)
    tr.wait_run(END, gap.start, 10, "the last prompt (%s)" % method)
    uac.wait_bye(10)
    stream.stop()
    T.check(tr.last_time(LONG, gap.start) is None,
            "%s: the long prompt played although a key was typed ahead: %s"
            % (method, tr.sequence(gap.start)))
    T.check_eq(tr.sequence(), [LONG, AFTER, GAP, END], "%s: prompts played" % method)
    row = v.wait_cdr(uac.call_id)
    T.check_eq({k: row["vars"].get(k) for k in ("barge", "typed")}, {"barge": "5", "typed": "7"},
               "%s: CDR vars (all: %s)" % (method, row["vars_raw"]))


def run(t):
    sounds = {"long.wav": T.tone_prompt(LONG, seconds=8.0),
              "gap.wav": T.tone_prompt(GAP, seconds=1.0),
              "end.wav": T.tone_prompt(END, seconds=0.3)}
    v = t.vcsd(dialplans=DIALPLANS, sounds=sounds)
    for method in ("rfc4733", "info", "inband"):
        one_call(t, v, method)


if __name__ == "__main__":
    T.main(run)
