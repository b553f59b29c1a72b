#!/usr/bin/env python3
"""1002 (shipped dialplan "ivr_menu") from a phone that offers no telephone-event (PCMU only):
vcsd answers without telephone-event, and the keys, sent as DTMF tone pairs in the G.711
audio, are detected in-band. 3 reads the caller's number back, # (no such option) plays the
apology and the menu again, 9 plays the menu again; the caller hangs up. The audio the phone
sends is continuous (silence between the keys), as a phone's is.
CDR vars.menu_keys = "3#9", vars.menu_result = "hangup"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"ivr-welcome": 400, "ivr-menu": 500, "invalid": 600, "no-input": 700, "goodbye": 800,
           "ivr-your-number": 1300}
CALLER = "8613912345678"


def run(t):
    sounds = T.tone_prompts(PROMPTS)
    sounds["ivr-menu.wav"] = T.tone_prompt(PROMPTS["ivr-menu"], seconds=1.5)
    sounds.update(T.en_word_prompts())
    v = t.vcsd(sounds=sounds)
    peer = t.rtp_peer()
    uac = t.uac(v, "1002", peer.port, pts=(0,), caller=CALLER)
    tr = T.ToneTracker(peer, list(PROMPTS.values()) + list(T.EN_WORD_TONES.values()),
                       ended=uac.ended)
    uac.invite()
    T.check("telephone-event" not in uac.answer["rtpmap"].values(),
            "vcsd's answer offers telephone-event although the caller did not: %s" % uac.final.body)
    T.check_eq(uac.answer["pts"], [0], "payload types in vcsd's answer")
    stream = peer.stream(uac.media, pt=0)
    menu = PROMPTS["ivr-menu"]

    def press_during_menu(key, since):
        tr.wait_run(menu, since, 10, "the menu prompt (%d Hz) before pressing %s" % (menu, key))
        return stream.press(key, "inband")[0]

    welcome = tr.wait_run(PROMPTS["ivr-welcome"], None, 10, "the welcome prompt")
    p3 = press_during_menu("3", welcome.start)
    tr.wait_run(PROMPTS["ivr-your-number"], p3.t_first, 10, "the number read-back after 3 (in-band)")
    p_hash = press_during_menu("#", p3.t_first)
    tr.wait_run(PROMPTS["invalid"], p_hash.t_first, 10, "the apology after # (in-band)")
    p9 = press_during_menu("9", p_hash.t_first)
    tr.wait_run(menu, p9.t_first, 10, "the menu again after 9 (in-band)")
    uac.bye()
    stream.stop()

    digits = [T.EN_WORD_TONES[n] for n in T.say_digits_names(CALLER)]
    expected = ([PROMPTS["ivr-welcome"], menu, PROMPTS["ivr-your-number"]] + digits
                + [menu, PROMPTS["invalid"], menu, menu])
    seq = tr.sequence()
    T.check(seq == expected, "prompts after in-band keys 3, #, 9:\n  expected %s\n  received %s"
            % (expected, seq))
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="ivr_menu", hangup_cause="normal_clearing", hangup_by="caller",
                from_number=CALLER)
    T.check_eq(row["vars"].get("menu_keys"), "3#9", "CDR vars.menu_keys (vars %s)" % row["vars_raw"])
    T.check_eq(row["vars"].get("menu_result"), "hangup", "CDR vars.menu_result (vars %s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
