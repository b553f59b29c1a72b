#!/usr/bin/env python3
"""1001 (shipped dialplan "echo": a short intro, then call:echo): the caller sends a sequence of tones (ten 200 ms segments at
different frequencies) from the port in its SDP; vcsd sends the caller's audio back: the stream
received is well-formed (one SSRC, continuous, +160, paced) and carries the same sequence of
tones in the same order."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

# Frequencies on multiples of 50 Hz (the 20 ms frame's bins), none a neighbour of another.
PATTERN = [600, 1000, 1400, 800, 1200, 500, 1600, 900, 1300, 700]


def run(t):
    # The shipped echo plays "echo-intro" first: a 200 ms silent intro keeps the test short,
    # and the caller leads with 400 ms of silence so that no tone is sent during it.
    v = t.vcsd(sounds={"echo-intro.wav": lambda p: T.write_wav(p, [0] * 1600)})
    peer = t.rtp_peer()
    call = t.sipp("uac_call", v, "1001", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 3500}).start()
    port = call.rtp_port()
    call.wait_log("^ANSWERED$", 5)
    sent_from = len(peer.packets())
    peer.send_pattern(("127.0.0.1", port), [(0, 0.4)] + [(f, 0.2) for f in PATTERN])
    peer.wait_sent(5)
    call.wait_ok(what="call to 1001 (echo)")

    st = T.StreamStats(peer.packets())
    T.check_stream(st, min_packets=100, marker=False, what="echo RTP from vcsd")
    T.check(st.sources == [("127.0.0.1", port)],
            "echo RTP must come from the port in vcsd's SDP (%d): %s" % (port, st.sources))
    doms = [T.dominant(f, PATTERN) for f in st.frames()]
    runs = T.frequency_runs(doms)
    # The first and last segments may be cut by latching and by the hangup.
    inner = PATTERN[1:-1]
    T.check(T.contains_run(runs, inner),
            "the audio sent back is not the audio sent: expected the tone sequence %s in order, "
            "received %s (%d packets sent, %d received before we started sending)"
            % (inner, runs, len(peer.sent), sent_from))


if __name__ == "__main__":
    T.main(run)
