#!/usr/bin/env python3
"""1002 (shipped dialplan "ivr_menu", built on lua/vcs/ivr.lua), keys sent as RFC 4733
telephone-events: welcome, then the menu; 9 plays the menu again, 3 reads the caller's number
back digit by digit, 1 says the time (UTC hours and minutes), 7 (no such option) plays the
apology and the menu again; the caller hangs up. Every prompt is replaced by a tone of its own
(and the English number words by short tones), so the order of the tones vcsd sends is the
order of the prompts played. Each key is pressed while the menu prompt plays (barge-in).
The CDR row has vars.menu_keys = "9317" and vars.menu_result = "hangup"."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"ivr-welcome": 400, "ivr-menu": 500, "invalid": 600, "no-input": 700, "goodbye": 800,
           "ivr-time-is": 900, "ivr-hours": 1100, "ivr-minutes-utc": 1200,
           "ivr-your-number": 1300, "ivr-number-unknown": 1400}
CALLER = "15550001111"


def sounds():
    s = T.tone_prompts(PROMPTS)
    s["ivr-menu.wav"] = T.tone_prompt(PROMPTS["ivr-menu"], seconds=1.5)
    s.update(T.en_word_prompts())
    return s


def expected_time(t):
    """The prompt frequencies that say the UTC time t (seconds since the epoch)."""
    tm = time.gmtime(t)
    names = (T.say_number_names(tm.tm_hour) + ["ivr-hours"] + T.say_number_names(tm.tm_min))
    return [T.EN_WORD_TONES.get(n) or PROMPTS[n] for n in names]


def run(t):
    v = t.vcsd(sounds=sounds())
    peer = t.rtp_peer()
    uac = t.uac(v, "1002", peer.port, caller=CALLER)
    tr = T.ToneTracker(peer, list(PROMPTS.values()) + list(T.EN_WORD_TONES.values()),
                       ended=uac.ended)
    uac.invite()
    stream = peer.stream(uac.media)
    menu = PROMPTS["ivr-menu"]

    def press_during_menu(key, since):
        tr.wait_run(menu, since, 10, "the menu prompt (%d Hz) before pressing %s" % (menu, key))
        return stream.press(key, "rfc4733")[0]

    welcome = tr.wait_run(PROMPTS["ivr-welcome"], None, 10, "the welcome prompt")
    p9 = press_during_menu("9", welcome.start)
    p3 = press_during_menu("3", p9.t_first)          # 9 played the menu again
    tr.wait_run(PROMPTS["ivr-your-number"], p3.t_first, 10, "the number read-back after 3")
    t_before = time.time()
    p1 = press_during_menu("1", p3.t_first)
    tr.wait_run(PROMPTS["ivr-minutes-utc"], p1.t_first, 15, "the time after 1")
    t_after = time.time()
    p7 = press_during_menu("7", p1.t_first)
    tr.wait_run(PROMPTS["invalid"], p7.t_first, 10, "the apology after 7")
    tr.wait_run(menu, p7.t_first, 10, "the menu again after the apology")
    uac.bye()
    stream.stop()

    seq = tr.sequence()
    digits = [T.EN_WORD_TONES[n] for n in T.say_digits_names(CALLER)]
    head = [PROMPTS["ivr-welcome"], menu, menu, PROMPTS["ivr-your-number"]] + digits + [menu]
    T.check(seq[:len(head)] == head,
            "expected welcome, menu, menu (after 9), 'you are calling from' and the digits of %s, "
            "menu (after 3):\n  expected %s\n  received %s" % (CALLER, head, seq))
    rest = seq[len(head):]
    T.check(rest and rest[0] == PROMPTS["ivr-time-is"], "1 must start with 'the time is': %s" % rest)
    end = rest.index(PROMPTS["ivr-minutes-utc"]) if PROMPTS["ivr-minutes-utc"] in rest else -1
    T.check(end > 0, "no 'minutes, universal time' after 1: %s" % rest)
    said = rest[1:end]
    options = [expected_time(t_before), expected_time(t_after)]
    T.check(said in options, "the time said after 1 is %s; expected %s (UTC between %s and %s)"
            % (said, " or ".join(map(str, options)), time.strftime("%H:%M", time.gmtime(t_before)),
               time.strftime("%H:%M", time.gmtime(t_after))))
    tail = rest[end + 1:]
    T.check(tail == [menu, PROMPTS["invalid"], menu],
            "after the time: menu, then 7 -> apology and menu again; received %s" % tail)

    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="ivr_menu", hangup_cause="normal_clearing", hangup_by="caller",
                sip_code=200, from_number=CALLER, to_number="1002")
    T.check_eq(row["vars"].get("menu_keys"), "9317", "CDR vars.menu_keys (vars %s)" % row["vars_raw"])
    T.check_eq(row["vars"].get("menu_result"), "hangup", "CDR vars.menu_result (vars %s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
