#!/usr/bin/env python3
"""call:read_digits rules, one call through a fixture dialplan, keys as RFC 4733 events sent
while each prompt plays (keys during the prompt count and stop it):
  a  terminator:  "12#" -> "12"
  b  max:         max=3, "3456" -> "345"; the 6 stays queued
  c  type-ahead:  "7" pressed during a prompt that takes no keys; read_digits{max=2} then
                  returns "67" at once, without playing its prompt
  d  min:         min=4, "12" then 1 s of nothing (digit_timeout) -> invalid prompt, prompt
                  again, "1234" -> "1234"
  e  valid:       valid="^[0-5]+$", "789" -> invalid prompt, prompt again, "012" -> "012"
  f  digit_timeout=1000: "55" then nothing -> "55", no sooner than 1 s after the last key
  g  timeout:     timeout=1000, tries=2, no key -> invalid, prompt, invalid -> nil
  h  too short:   "#" alone (min 1) -> invalid, prompt again, "9#" -> "9"
(Errors for bad options are in test_dtmf_errors.py.)
Results go to the CDR vars; the order of the prompts is checked from the audio (each a tone)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"p1": 400, "p2": 500, "p3": 600, "p4": 700, "p5": 800, "p6": 900, "p7": 1000,
           "p8": 1100, "inv": 1300, "ta": 1400, "done": 1500}

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "digits")),
    "digits": """return function(call)
  call:answer()
  local function rd(name, opts)
    local r = call:read_digits(opts)
    call:set(name, r == nil and "nil" or r)
  end
  rd("a", { prompt = "p1", max = 10 })
  rd("b", { prompt = "p2", max = 3 })
  call:play("ta")
  rd("c", { prompt = "p3", max = 2 })
  rd("d", { prompt = "p4", invalid_prompt = "inv", min = 4, max = 4, tries = 2, digit_timeout = 1000 })
  rd("e", { prompt = "p5", invalid_prompt = "inv", valid = "^[0-5]+$", max = 3, tries = 2 })
  rd("f", { prompt = "p6", max = 10, digit_timeout = 1000 })
  rd("g", { prompt = "p7", invalid_prompt = "inv", timeout = 1000, tries = 2 })
  rd("h", { prompt = "p8", invalid_prompt = "inv", max = 5, tries = 2 })
  call:play("done")
end
""",
}


def run(t):
    sounds = T.tone_prompts(PROMPTS, seconds=1.0)
    sounds["inv.wav"] = T.tone_prompt(PROMPTS["inv"], seconds=0.3)
    sounds["ta.wav"] = T.tone_prompt(PROMPTS["ta"], seconds=1.5)
    v = t.vcsd(dialplans=DIALPLANS, sounds=sounds)
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port)
    uac.invite()
    tr = T.ToneTracker(peer, PROMPTS.values())  # vcsd hangs up at the end
    stream = peer.stream(uac.media)
    P = PROMPTS

    def during(name, keys, since):
        r = tr.wait_run(P[name], since, 10, "prompt %s (%d Hz) before keys %s" % (name, P[name], keys))
        return stream.press(keys, "rfc4733")

    a = during("p1", "12#", None)
    b = during("p2", "3456", a[0].t_first)
    c = during("ta", "7", b[0].t_first)
    d1 = during("p4", "12", c[0].t_first)
    inv = tr.wait_run(P["inv"], d1[-1].t_last, 5, "the invalid prompt after a short entry")
    d2 = during("p4", "1234", inv.start)
    e1 = during("p5", "789", d2[0].t_first)
    inv = tr.wait_run(P["inv"], e1[-1].t_last, 5, "the invalid prompt after a non-matching entry")
    e2 = during("p5", "012", inv.start)
    f = during("p6", "55", e2[0].t_first)
    p7 = tr.wait_run(P["p7"], f[0].t_first, 10, "the next prompt after the digit timeout")
    T.check(p7.start - f[-1].t_last >= 0.9,
            "read_digits returned %.2f s after the last key; digit_timeout is 1 s"
            % (p7.start - f[-1].t_last))
    h1 = during("p8", "#", p7.start)
    inv = tr.wait_run(P["inv"], h1[0].t_first, 5, "the invalid prompt after # alone")
    h2 = during("p8", "9#", inv.start)
    tr.wait_run(P["done"], h2[0].t_first, 10, "the last prompt")
    uac.wait_bye(10)
    stream.stop()

    expected = [P[n] for n in ("p1", "p2", "ta", "p4", "inv", "p4", "p5", "inv", "p5", "p6",
                               "p7", "inv", "p7", "inv", "p8", "inv", "p8", "done")]
    seq = tr.sequence()
    T.check(seq == expected, "prompts played (p3 never: its key was typed ahead):\n  expected %s\n"
            "  received %s" % (expected, seq))
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="digits", hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq(row["vars"], {"a": "12", "b": "345", "c": "67", "d": "1234", "e": "012", "f": "55",
                       "g": "nil", "h": "9"}, "read_digits results (CDR vars)")


if __name__ == "__main__":
    T.main(run)
