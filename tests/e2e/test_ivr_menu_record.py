#!/usr/bin/env python3
"""1002 (shipped dialplan "ivr_menu"), option 2: leave a message (call:record with a beep,
# to finish, 5 s of silence ends it too). Three calls, keys as RFC 4733:
  1. 2, a 1 s "message" (a 1900 Hz tone), then #: record prompt, beep, "message saved", the
     menu again; CDR vars message_reason "digit", message_ms about 1 s, message = the path of a
     WAV under <data>/recordings/ that holds the tone;
  2. 2, a 0.6 s message, then silence: recording ends after 5 s of silence, reason "silence",
     the trailing silence trimmed (message_ms well under the 5.6 s recorded);
  3. 2, then the caller hangs up while recording: reason "hangup", and the CDR still has it;
  4. 2, and the caller is already talking when the beep ends (talking over it): the recording
     still ends after 5 s of silence once the caller stops, reason "silence".
Prompts are tones (the beep is call:record's own, 1000 Hz)."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"ivr-welcome": 400, "ivr-menu": 500, "invalid": 600, "no-input": 700, "goodbye": 800,
           "ivr-record": 1500, "ivr-message-saved": 1600, "ivr-no-message": 1700}
BEEP = 1000
VOICE = 1900


def recording_file(v, path):
    """The file a message path from the CDR points at (absolute, or under <data>/recordings)."""
    T.check(isinstance(path, str) and path, "CDR vars.message is not a path: %r" % (path,))
    full = path if os.path.isabs(path) else os.path.join(v.data, "recordings", path)
    rec_root = os.path.realpath(os.path.join(v.data, "recordings"))
    T.check(os.path.realpath(full).startswith(rec_root + os.sep),
            "message %s is not under %s" % (full, rec_root))
    T.check(os.path.isfile(full), "message file %s does not exist" % full)
    return full


def start_message(t, v, tr, peer, beep_end=True):
    """Calls 1002, presses 2 during the menu, waits for the beep (its end, or with
    beep_end=False its start); returns (uac, stream, beep run)."""
    uac = t.uac(v, "1002", peer.port)
    tr.ended = uac.ended
    uac.invite()
    stream = peer.stream(uac.media)
    tr.wait_run(PROMPTS["ivr-menu"], None, 10, "the menu")
    p2 = stream.press("2", "rfc4733")[0]
    rec = tr.wait_run(PROMPTS["ivr-record"], p2.t_first, 10, "the record prompt after 2")
    if beep_end:
        beep = tr.wait_run_end(BEEP, rec.start, 10, "the beep before recording")
    else:
        beep = tr.wait_run(BEEP, rec.start, 10, "the beep before recording")
    return uac, stream, beep


def run(t):
    v = t.vcsd(sounds=T.tone_prompts(PROMPTS))

    # 1. # ends the message.
    peer = t.rtp_peer()
    tr = T.ToneTracker(peer, list(PROMPTS.values()) + [BEEP])
    uac, stream, beep = start_message(t, v, tr, peer)
    stream.audio([(VOICE, 1.0)])
    hash_key = stream.press("#", "rfc4733")[0]
    tr.wait_run(PROMPTS["ivr-message-saved"], hash_key.t_first, 10, "'message saved' after #")
    tr.wait_run(PROMPTS["ivr-menu"], hash_key.t_first, 10, "the menu after the message")
    uac.bye()
    stream.stop()
    row = v.wait_cdr(uac.call_id)
    vars_ = row["vars"]
    T.check_eq(vars_.get("message_reason"), "digit", "CDR vars.message_reason after # (vars %s)" % row["vars_raw"])
    ms = vars_.get("message_ms")
    T.check(isinstance(ms, (int, float)) and 700 <= ms <= 1600,
            "CDR vars.message_ms %r is not about the 1 s spoken (vars %s)" % (ms, row["vars_raw"]))
    path = recording_file(v, vars_.get("message"))
    rate, channels, samples = T.read_wav(path)
    T.check_eq(channels, 1, "channels of the message WAV")
    frames = [samples[i:i + rate // 50] for i in range(0, len(samples) - rate // 50 + 1, rate // 50)]
    voiced = sum(1 for f in frames if T.dominant(f, [VOICE, BEEP, 500], rate) == VOICE)
    T.check(voiced >= 35, "the message WAV %s holds %d frames of the %d Hz message (expected about 50 "
            "of %d)" % (path, voiced, VOICE, len(frames)))
    T.check_eq(vars_.get("menu_keys"), "2", "CDR vars.menu_keys")

    # 2. 5 s of silence ends the message; the silence is trimmed.
    peer2 = t.rtp_peer()
    tr2 = T.ToneTracker(peer2, list(PROMPTS.values()) + [BEEP])
    uac, stream, beep = start_message(t, v, tr2, peer2)
    stream.audio([(0, 0.3), (VOICE, 0.6)])  # the caller starts talking a moment after the beep
    t_voice_end = time.monotonic()
    saved = tr2.wait_run(PROMPTS["ivr-message-saved"], t_voice_end, 12, "'message saved' after 5 s of silence")
    T.check(saved.start - t_voice_end >= 4.5,
            "the recording ended %.1f s after the caller fell silent; silence_seconds is 5"
            % (saved.start - t_voice_end))
    uac.bye()
    stream.stop()
    row = v.wait_cdr(uac.call_id)
    T.check_eq(row["vars"].get("message_reason"), "silence", "CDR vars.message_reason (vars %s)" % row["vars_raw"])
    ms = row["vars"].get("message_ms")
    T.check(isinstance(ms, (int, float)) and 300 <= ms <= 2000,
            "CDR vars.message_ms %r: expected the 0.6 s spoken with the trailing silence trimmed" % (ms,))
    recording_file(v, row["vars"].get("message"))

    # 3. The caller hangs up while recording: the message is kept.
    peer3 = t.rtp_peer()
    tr3 = T.ToneTracker(peer3, list(PROMPTS.values()) + [BEEP])
    uac, stream, beep = start_message(t, v, tr3, peer3)
    stream.audio([(0, 0.3), (VOICE, 0.8)])
    uac.bye()
    stream.stop()
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="caller", script="ivr_menu")
    T.check_eq(row["vars"].get("message_reason"), "hangup", "CDR vars.message_reason (vars %s)" % row["vars_raw"])
    T.check_eq(row["vars"].get("menu_result"), "hangup", "CDR vars.menu_result (vars %s)" % row["vars_raw"])
    recording_file(v, row["vars"].get("message"))

    # 4. The caller talks over the end of the beep: the first audio recorded is voice. Speech
    # comes in syllables with short dips between them (a steady tone from the very first frame
    # would be indistinguishable from line noise, and is taken as the noise floor).
    peer4 = t.rtp_peer()
    tr4 = T.ToneTracker(peer4, list(PROMPTS.values()) + [BEEP])
    uac, stream, beep = start_message(t, v, tr4, peer4, beep_end=False)
    stream.audio([(VOICE, 0.25), (0, 0.08)] * 4)
    t_voice_end = time.monotonic()
    tr4.wait_run(PROMPTS["ivr-message-saved"], t_voice_end, 12,
                 "'message saved' 5 s after the caller, who talked over the beep, fell silent")
    uac.bye()
    stream.stop()
    row = v.wait_cdr(uac.call_id)
    T.check_eq(row["vars"].get("message_reason"), "silence", "CDR vars.message_reason (vars %s)" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
