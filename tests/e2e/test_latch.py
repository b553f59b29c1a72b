#!/usr/bin/env python3
"""vcsd sends RTP to where the caller's RTP really comes from, not only to the SDP address
(latching, for callers behind NAT or, like SIPp, sending from another port): the SDP offers one
port, the caller sends its audio from another socket to vcsd's echo (1001), and the echoed
tones arrive at that other socket."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PATTERN = [600, 1000, 1400, 800, 1200, 500, 1600, 900, 1300, 700]


def run(t):
    # The shipped echo plays "echo-intro" first: a 200 ms silent intro keeps the test short,
    # and the caller leads with 400 ms of silence so that no tone is sent during it.
    v = t.vcsd(sounds={"echo-intro.wav": lambda p: T.write_wav(p, [0] * 1600)})
    sdp_peer = t.rtp_peer()     # the port in the SDP; it never sends
    real_peer = t.rtp_peer()    # where the caller's RTP really comes from
    call = t.sipp("uac_call", v, "1001", keys={"rtp_port": sdp_peer.port},
                  tmpl={"duration_ms": 3500}).start()
    port = call.rtp_port()
    call.wait_log("^ANSWERED$", 5)
    real_peer.send_pattern(("127.0.0.1", port), [(0, 0.4)] + [(f, 0.2) for f in PATTERN])
    real_peer.wait_sent(5)
    call.wait_ok(what="call to 1001 (echo)")

    st = T.StreamStats(real_peer.packets())
    T.check(st.count >= 50, "vcsd did not latch: of %d packets sent, %d came back to the socket "
            "the caller sent from (%d reached the SDP port)"
            % (len(real_peer.sent), st.count, sdp_peer.count()))
    runs = T.frequency_runs([T.dominant(f, PATTERN) for f in st.frames()])
    T.check(T.contains_run(runs, PATTERN[2:-1]),
            "the echo at the latched address is not the audio sent: expected %s in order, got %s"
            % (PATTERN[2:-1], runs))


if __name__ == "__main__":
    T.main(run)
