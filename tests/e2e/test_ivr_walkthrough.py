#!/usr/bin/env python3
"""The "Write your first IVR" dialplan of docs/dialplan-api.md, taken from the page itself (so
the walk-through cannot rot), routed to 1010 and driven with RFC 4733 keys: 1 (opening hours,
then the menu), 2 and the order number 123456# (read_digits, then the status spoken by TTS, then
the menu), 0 (a message: beep, a second of "voice", #), then goodbye and vcsd hangs up.
CDR vars: keys "120", order "123456", result "message", message = a recording path."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"shop-welcome": 400, "shop-menu": 500, "shop-hours": 600, "shop-order": 700,
           "shop-sorry": 800, "shop-bye": 900}
BEEP, VOICE_IN = 1000, 1900


def walkthrough_lua():
    path = os.path.join(T.top_srcdir(), "docs", "dialplan-api.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    start = doc.find("## Write your first IVR")
    T.check(start >= 0, "%s has no 'Write your first IVR' section" % path)
    m = re.search(r"\n( *)```lua\n(.*?)\n\1```", doc[start:], re.S)
    T.check(m, "no Lua block in the walk-through of %s" % path)
    indent = len(m.group(1))
    return "\n".join(ln[indent:] for ln in m.group(2).split("\n")) + "\n"


def run(t):
    dialplans = {"routes": T.routes_lua(("^1010$", "shop")), "shop": walkthrough_lua()}
    v = t.vcsd(dialplans=dialplans, sounds=T.tone_prompts(PROMPTS))
    peer = t.rtp_peer()
    uac = t.uac(v, "1010", peer.port)
    uac.invite()
    tr = T.ToneTracker(peer, list(PROMPTS.values()) + [BEEP], other="voice")
    stream = peer.stream(uac.media)
    menu = PROMPTS["shop-menu"]

    r = tr.wait_run(menu, None, 10, "the menu")
    p1 = stream.press("1")[0]
    r = tr.wait_run(PROMPTS["shop-hours"], p1.t_first, 10, "the opening hours after 1")
    r = tr.wait_run(menu, r.start, 10, "the menu after the hours")
    p2 = stream.press("2")[0]
    r = tr.wait_run(PROMPTS["shop-order"], p2.t_first, 10, "the order prompt after 2")
    stream.press("123456#")
    r = tr.wait_run("voice", r.start, 15, "the order status spoken by TTS")
    r = tr.wait_run(menu, r.start, 15, "the menu after the order status")
    p0 = stream.press("0")[0]
    tr.wait_run_end(BEEP, p0.t_first, 10, "the beep before the message")
    stream.audio([(VOICE_IN, 1.0)])
    stream.press("#")
    tr.wait_run(PROMPTS["shop-bye"], p0.t_first, 10, "goodbye after the message")
    uac.wait_bye(10)
    stream.stop()

    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="shop", hangup_cause="normal_clearing", hangup_by="script")
    got = {k: row["vars"].get(k) for k in ("keys", "order", "result")}
    T.check_eq(got, {"keys": "120", "order": "123456", "result": "message"},
               "CDR vars (all: %s)" % row["vars_raw"])
    T.check(isinstance(row["vars"].get("message"), str) and row["vars"]["message"].endswith(".wav"),
            "CDR vars.message is not the recording's path: %s" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
