#!/usr/bin/env python3
"""1002 (shipped dialplan "ivr_menu"), invalid keys and timeouts (RFC 4733 keys): the menu
allows three failed tries in a row, each followed by an apology ("invalid" after a wrong key,
"no-input" after 5 s without one) and the menu again; a valid choice (9) gives three tries
again; after the third failure in a row the caller hears goodbye and vcsd hangs up.
Keys: 8 (wrong), nothing (timeout), 9 (repeat: resets), 0, #, * (three wrong in a row).
CDR: hangup_by script, vars.menu_keys = "890#*", vars.menu_result = "tries"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"ivr-welcome": 400, "ivr-menu": 500, "invalid": 600, "no-input": 700, "goodbye": 800}


def run(t):
    v = t.vcsd(sounds=T.tone_prompts(PROMPTS))
    peer = t.rtp_peer()
    uac = t.uac(v, "1002", peer.port)
    tr = T.ToneTracker(peer, PROMPTS.values())  # vcsd hangs up at the end: no ended=
    uac.invite()
    stream = peer.stream(uac.media)
    menu, invalid, no_input = PROMPTS["ivr-menu"], PROMPTS["invalid"], PROMPTS["no-input"]

    since = tr.wait_run(PROMPTS["ivr-welcome"], None, 10, "the welcome prompt").start
    # Each key goes after the menu prompt has been heard; the script waits 5 s for it.
    for key in ("8", None, "9", "0", "#", "*"):
        r = tr.wait_run(menu, since, 10, "the menu before %s" % (key or "the timeout"))
        if key is None:
            since = tr.wait_run(no_input, r.start, 10, "'no input' 5 s after the menu").start
        else:
            since = stream.press(key, "rfc4733")[0].t_first
    tr.wait_run(PROMPTS["goodbye"], since, 10, "goodbye after the third failure in a row")
    uac.wait_bye(10)
    stream.stop()

    expected = [PROMPTS["ivr-welcome"], menu, invalid, menu, no_input, menu, menu, invalid, menu,
                invalid, menu, invalid, PROMPTS["goodbye"]]
    seq = tr.sequence()
    T.check(seq == expected, "prompts for 8, timeout, 9, 0, #, *:\n  expected %s\n  received %s"
            % (expected, seq))
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="ivr_menu", hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq(row["vars"].get("menu_keys"), "890#*", "CDR vars.menu_keys (vars %s)" % row["vars_raw"])
    T.check_eq(row["vars"].get("menu_result"), "tries", "CDR vars.menu_result (vars %s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
