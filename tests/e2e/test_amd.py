#!/usr/bin/env python3
"""call:detect_machine (SPEC 5.1) on real RTP: a caller sends each recording of tests/data/amd/
(espeak-ng voices with line noise, made by make.sh there) to 8000, whose dialplan answers,
calls detect_machine and call:set's what it returned. The voicemail greeting is a "machine"
(its greeting too long), the short "Hello?" followed by silence a "human" (silence after the
greeting); the CDR's vars carry the result and the measurements."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^8000$", "amd")),
    "amd": """return function(call)
  call:answer()
  local result, m = call:detect_machine{ timeout = 6000 }
  call:set("amd", result)
  call:set("amd_cause", m.cause)
  call:set("amd_words", m.words)
  call:set("amd_initial_silence_ms", m.initial_silence_ms)
  call:set("amd_greeting_ms", m.greeting_ms)
end
""",
}


def recording_frames(name):
    path = os.path.join(T.top_srcdir(), "tests", "data", "amd", name)
    rate, channels, samples = T.read_wav(path)
    T.check(rate == 8000 and channels == 1, "%s must be 8 kHz mono" % path)
    pcm = T.ulaw_encode(samples)
    return [(pcm[i:i + 160], None) for i in range(0, len(pcm) - 159, 160)]


def detect(t, v, name):
    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", v, "8000", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 15000}).start()
    port = call.rtp_port()
    call.wait_log("^ANSWERED$", 10, "the call to 8000 answered")
    peer.send_frames(("127.0.0.1", port), recording_frames(name))
    call.wait_ok(what="call to 8000 with %s (the server hangs up after detect_machine)" % name)
    row = v.wait_cdr(call.call_id())
    T.check(isinstance(row["vars"], dict) and "amd" in row["vars"],
            "%s: the CDR has no amd var (detect_machine did not return): %s" % (name, row))
    T.log("%s: %s" % (name, row["vars"]))
    return row["vars"]


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    machine = detect(t, v, "machine.wav")
    T.check_eq(machine["amd"], "machine", "detect_machine on the voicemail greeting")
    T.check(machine["amd_cause"] in ("long_greeting", "max_words"),
            "the greeting must be judged by its length or words: %s" % machine)
    human = detect(t, v, "human.wav")
    T.check_eq(human["amd"], "human", "detect_machine on \"Hello?\" then silence")
    T.check_eq(human["amd_cause"], "after_greeting_silence", "why \"Hello?\" is a person")
    T.check_eq(str(human["amd_words"]), "1", "words in \"Hello?\"")


if __name__ == "__main__":
    T.main(run)
