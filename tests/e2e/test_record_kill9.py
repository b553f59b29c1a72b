"""A recording is valid even if vcsd is killed during it (issue: IVR, call:record): the caller
talks, vcsd gets SIGKILL mid-recording, and after a restart on the same data directory the file
is a readable WAV under its final name holding the audio recorded until the kill."""

import glob
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^6100$", "rec")),
    "rec": """
return function(call)
  call:answer()
  call:record{ path = "crash/message.wav", max_seconds = 60, silence_seconds = 0, beep = false }
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", v, "6100", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 60000}, timeout=90).start()
    port = call.rtp_port()
    call.wait_log("^ANSWERED$", 10, "the call answered")
    peer.send_tone(("127.0.0.1", port), 6.0, freq=700)
    partial = os.path.join(v.data, "recordings", "crash", "message.wav.inprogress")
    # The writer hands audio to the file every 500 ms and fixes the header every 2 s; wait
    # until the file holds more than 3 s of audio (8 kHz 16-bit: 16000 bytes a second).
    T.wait_until(lambda: os.path.exists(partial) and os.path.getsize(partial) > 3 * 16000 + 44,
                 15, "the recording in progress to hold 3 s of audio")
    written = os.path.getsize(partial) - 44
    v.kill9()
    call.kill()
    v.restart()

    final = os.path.join(v.data, "recordings", "crash", "message.wav")
    T.check(os.path.exists(final) and not os.path.exists(partial),
            "after the restart the recording must be repaired under its final name: %s"
            % glob.glob(os.path.join(v.data, "recordings", "crash", "*")))
    rate, channels, samples = T.read_wav(final)
    T.check_eq((rate, channels), (8000, 1), "rate and channels of the repaired recording")
    T.check(len(samples) * 2 >= written - 320,
            "the repaired file holds %d samples, but %d bytes of audio were on disk before the kill"
            % (len(samples), written))
    frames = [samples[i:i + 160] for i in range(0, len(samples) - 160 + 1, 160)]
    tone = sum(1 for f in frames if T.dominant(f, [700, 1400], rate) == 700)
    T.check(tone >= len(frames) // 2, "the repaired file should be mostly the caller's 700 Hz "
            "tone: %d of %d frames" % (tone, len(frames)))


if __name__ == "__main__":
    T.main(run)
