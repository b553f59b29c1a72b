#!/usr/bin/env python3
"""The whole-call recording (SPEC 8, SPEC 5.1 record_call/pause_recording/resume_recording).

1. Every answered call is recorded by default: one stereo WAV whose path is in the CDR; left =
   what the caller sent (a 440 Hz tone), right = what the caller heard (a 1000 Hz prompt).
2. call:pause_recording() / call:resume_recording(): the paused second is silence on both
   sides, and the CDR var recording_paused names the interval ("from-to" in seconds).
3. call:record_call{enabled=false} before answer: no file, CDR recording NULL.
4. recording.all_calls = false: calls are not recorded unless the script asks
   (call:record_call{enabled=true}).
5. kill -9 during a recorded call: after the restart the CDR still names the recording, and the
   file is a readable stereo WAV holding the audio up to the crash."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CALLER, HEARD = 440, 1000
DIALPLANS = {
    "routes": T.routes_lua(("^3000$", "whole"), ("^3001$", "pause"), ("^3002$", "off"),
                           ("^3003$", "on"), ("^3004$", "long")),
    "whole": """return function(call)
  call:answer()
  call:play("heard2")
end
""",
    "pause": """return function(call)
  call:answer()
  call:play("heard1")
  call:pause_recording()
  call:play("heard1")
  call:resume_recording()
  call:play("heard1")
end
""",
    "off": """return function(call)
  call:record_call{ enabled = false }
  call:answer()
  call:play("heard1")
end
""",
    "long": """return function(call)
  call:answer()
  call:play("heard2")
  call:sleep(60000)
end
""",
    "on": """return function(call)
  call:record_call{ enabled = true }
  call:answer()
  call:play("heard1")
end
""",
}
SOUNDS = {"heard1.wav": T.tone_prompt(HEARD, seconds=1.0, silence=0.0, lead=0.0),
          "heard2.wav": T.tone_prompt(HEARD, seconds=2.0, silence=0.0, lead=0.0)}


def place(t, v, number, seconds):
    peer = t.rtp_peer()
    uac = t.uac(v, number, peer.port)
    uac.invite()
    peer.send_tone(uac.media, seconds, freq=CALLER)
    uac.wait_bye(15)
    return v.wait_cdr(uac.call_id)


def wav_of(v, row):
    T.check(row["recording"], "the CDR names the recording: %s" % row)
    path = os.path.join(v.data, "recordings", row["recording"])
    T.wait_until(lambda: os.path.exists(path), 10, "the recording %s to be complete" % path)
    rate, channels, samples = T.read_wav(path)
    T.check_eq((rate, channels), (8000, 2), "recording format (rate, channels)")
    return samples[0::2], samples[1::2]


def window(x, start_s, end_s):
    return x[int(start_s * 8000):int(end_s * 8000)]


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds=SOUNDS)

    row = place(t, v, "3000", 2.5)
    T.check_cdr(row, hangup_cause="normal_clearing")
    left, right = wav_of(v, row)
    T.check(1.8 <= len(left) / 8000.0 <= 3.5, "the recording lasts the call (%.2f s)" % (len(left) / 8000.0))
    mid_l, mid_r = window(left, 0.5, 1.5), window(right, 0.5, 1.5)
    T.check_eq(T.dominant(mid_l, [CALLER, HEARD]), CALLER, "left channel = the caller's tone")
    T.check_eq(T.dominant(mid_r, [CALLER, HEARD]), HEARD, "right channel = what the caller heard")

    row = place(t, v, "3001", 3.5)
    left, right = wav_of(v, row)
    paused = row["vars"].get("recording_paused", "")
    T.log("recording_paused = %r" % paused)
    T.check(paused.count("-") == 1 and "," not in paused, "one pause interval in the CDR var: %r" % paused)
    p0, p1 = (float(x) for x in paused.split("-"))
    T.check(0.7 <= p1 - p0 <= 1.6, "the pause lasted the middle prompt (%.3f s)" % (p1 - p0))
    quiet_l, quiet_r = window(left, p0 + 0.2, p1 - 0.2), window(right, p0 + 0.2, p1 - 0.2)
    T.check(T.rms(quiet_l) < 30 and T.rms(quiet_r) < 30,
            "paused audio is silence (rms left %.0f, right %.0f)" % (T.rms(quiet_l), T.rms(quiet_r)))
    T.check_eq(T.dominant(window(right, p1 + 0.2, p1 + 0.7), [CALLER, HEARD]), HEARD,
               "recording goes on after resume")
    T.check_eq(T.dominant(window(left, max(0.0, p0 - 0.6), p0 - 0.1), [CALLER, HEARD]), CALLER,
               "the caller was recorded before the pause")

    row = place(t, v, "3002", 1.5)
    T.check(row["recording"] is None, "record_call{enabled=false}: no recording (%r)" % row["recording"])

    v2 = t.vcsd(dialplans=DIALPLANS, sounds=SOUNDS, config="return { recording = { all_calls = false } }", name="vcsd-off")
    row = place(t, v2, "3000", 2.5)
    T.check(row["recording"] is None, "all_calls = false: no recording (%r)" % row["recording"])
    row = place(t, v2, "3003", 1.5)
    left, right = wav_of(v2, row)
    T.check_eq(T.dominant(window(right, 0.3, 0.8), [CALLER, HEARD]), HEARD, "record_call{enabled=true} records")
    calls_dir = os.path.join(v2.data, "recordings", "calls")
    files = [f for _, _, fs in os.walk(calls_dir) for f in fs]
    T.check_eq(len(files), 1, "files under recordings/calls with all_calls = false")

    peer = t.rtp_peer()
    uac = t.uac(v, "3004", peer.port)
    uac.invite()
    peer.send_tone(uac.media, 1.5, freq=CALLER)
    T.wait_until(lambda: (v.cdr(uac.call_id) or {}).get("recording"), 10, "the recording in the CDR")
    tr = T.ToneTracker(peer, [HEARD])
    tr.wait_run_end(HEARD, None, 10, "the 2 s prompt to be sent")
    v.kill9()
    v.restart()
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, hangup_cause="system_crash")
    left, right = wav_of(v, row)
    T.check(len(right) / 8000.0 >= 1.5, "the repaired recording keeps the audio before the crash "
            "(%.2f s)" % (len(right) / 8000.0))
    T.check_eq(T.dominant(window(right, 0.5, 1.5), [CALLER, HEARD]), HEARD, "repaired right channel")
    T.check_eq(T.dominant(window(left, 0.3, 1.2), [CALLER, HEARD]), CALLER, "repaired left channel")


if __name__ == "__main__":
    T.main(run)
