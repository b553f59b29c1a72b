#!/usr/bin/env python3
"""The shipped campaign script dialplans/reminder.lua with a callee's vars (as the dialer passes
them: the CSV's name and when, the campaign's clinic): the reminder is spoken by text to speech,
then the options; 2 hears it again, 1 confirms; the CDR's vars say reminder "confirmed",
reminder_plays 2, reminder_keys "21". A second call with campaign_amd "hangup" sends the
voicemail recording of tests/data/amd/: the script hangs up with reminder "machine" before
speaking."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"notify-options": 500, "invalid": 600, "no-input": 700, "notify-confirmed": 800,
           "notify-no-response": 900}
VOICE = "voice"
VARS = {"name": "Ann", "when": "Monday at ten", "clinic": "Smile Dental"}
ROUTES = T.routes_lua(("^2000$", "reminder", VARS),
                      ("^2001$", "reminder", dict(VARS, campaign_amd="hangup")))


def run(t):
    v = t.vcsd(sounds=T.tone_prompts(PROMPTS), overlay={"routes.lua": ROUTES})
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port, pts=(0, 8, 101))
    tr = T.ToneTracker(peer, PROMPTS.values(), other=VOICE, ended=uac.ended)
    uac.invite()
    stream = peer.stream(uac.media, pt=0)
    options = PROMPTS["notify-options"]
    first = tr.wait_run(VOICE, None, 15, "the reminder spoken by TTS")
    tr.wait_run(options, first.start, 20, "the options after the reminder")
    p2 = stream.press("2", "rfc4733")[0]
    again = tr.wait_run(VOICE, p2.t_first, 15, "the reminder again after 2")
    tr.wait_run(options, again.start, 20, "the options after the reminder again")
    p1 = stream.press("1", "rfc4733")[0]
    tr.wait_run(PROMPTS["notify-confirmed"], p1.t_first, 10, "'confirmed' after 1")
    uac.wait_bye(10)
    stream.stop()
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="reminder", hangup_cause="normal_clearing")
    got = {k: row["vars"].get(k) for k in ("reminder", "reminder_plays", "reminder_keys")}
    T.check_eq(got, {"reminder": "confirmed", "reminder_plays": 2, "reminder_keys": "21"},
               "CDR vars (all: %s)" % row["vars_raw"])

    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", v, "2001", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 15000}).start()
    port = call.rtp_port()
    call.wait_log("^ANSWERED$", 10, "the call to 2001 answered")
    rate, channels, samples = T.read_wav(os.path.join(T.top_srcdir(), "tests", "data", "amd",
                                                      "machine.wav"))
    pcm = T.ulaw_encode(samples)
    peer.send_frames(("127.0.0.1", port), [(pcm[i:i + 160], None)
                                            for i in range(0, len(pcm) - 159, 160)])
    call.wait_ok(what="the reminder to a voicemail (the script hangs up)")
    row = v.wait_cdr(call.call_id())
    T.check_eq({k: row["vars"].get(k) for k in ("reminder", "amd")},
               {"reminder": "machine", "amd": "machine"}, "CDR vars on a machine (%s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
