#!/usr/bin/env python3
"""1002 (shipped dialplan "ivr_menu"), keys sent by SIPp as in-dialog SIP INFO
(scenarios/uac_dtmf.xml with steps from vcstest.sipp_steps): 9 as application/dtmf-relay
(menu again), 3 as application/dtmf (the caller's number read back), 8 as application/dtmf-relay
(no such option: apology, menu again), then the caller hangs up. vcsd answers every INFO 200.
The INFOs go at fixed times, so the check is on the order of the prompts the keys caused
(a key arriving a little early or late only cuts a prompt shorter). CDR vars.menu_keys = "938"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"ivr-welcome": 400, "ivr-menu": 500, "invalid": 600, "no-input": 700, "goodbye": 800,
           "ivr-your-number": 1300}
CALLER = "15550001111"


def run(t):
    sounds = T.tone_prompts(PROMPTS)
    sounds["ivr-menu.wav"] = T.tone_prompt(PROMPTS["ivr-menu"], seconds=1.5)
    sounds.update(T.en_word_prompts())
    v = t.vcsd(sounds=sounds)
    peer = t.rtp_peer()
    tr = T.ToneTracker(peer, list(PROMPTS.values()) + list(T.EN_WORD_TONES.values()))
    # Welcome ends ~0.4 s after the answer and the menu lasts ~1.6 s: each INFO lands in a menu.
    steps = T.sipp_steps(("pause", 1000), ("info", "9"),
                         ("pause", 1000), ("info", "3", "dtmf"),
                         ("pause", 3800), ("info", "8"),
                         ("pause", 1500), ("bye",))
    call = t.sipp("uac_dtmf", v, "1002", keys={"rtp_port": peer.port, "caller": CALLER},
                  tmpl={"steps": steps})
    call.run_ok(what="call to 1002 navigated by SIP INFO")

    oks = [m.group(1) for m in call.find_log(r"INFO_OK (\S+)")]
    T.check_eq(oks, ["9", "3", "8"], "INFO requests answered 200 by vcsd")
    menu = PROMPTS["ivr-menu"]
    digits = [T.EN_WORD_TONES[n] for n in T.say_digits_names(CALLER)]
    expected = ([PROMPTS["ivr-welcome"], menu, menu, PROMPTS["ivr-your-number"]] + digits
                + [menu, PROMPTS["invalid"], menu])
    seq = tr.sequence()
    T.check(T.is_subsequence(seq, expected) and PROMPTS["no-input"] not in seq,
            "prompts in the wrong order (or a key was not taken):\n  expected %s\n  received %s"
            % (expected, seq))

    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, script="ivr_menu", hangup_cause="normal_clearing", hangup_by="caller")
    T.check_eq(row["vars"].get("menu_keys"), "938", "CDR vars.menu_keys (vars %s)" % row["vars_raw"])
    T.check_eq(row["vars"].get("menu_result"), "hangup", "CDR vars.menu_result (vars %s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
