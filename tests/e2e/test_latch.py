#!/usr/bin/env python3
"""Latching under strict RTP (src/media/rtp_session.h): vcsd sends RTP to where the caller's RTP
really comes from when the caller may be behind NAT, and never to a host the signalling does
not vouch for. Three calls to the echo (1001), each caller sending a sequence of tones:
  1. behind NAT: the SDP has an address nobody listens on (127.0.0.9, standing for the phone's
     private address, not where its SIP comes from); the caller's RTP comes from 127.0.0.1:
     it is learned after its probation, and the echoed tones arrive at the socket it sent from;
  2. same host, other port: the SDP offers one port, the caller sends from another socket of
     the same address (SIPp): that socket is learned and gets the echo;
  3. not behind NAT (SDP address = SIP source), RTP from another host (127.0.0.2): never
     learned; that host receives nothing, the echo goes on to the SDP port (silence), and
     /metrics counts the drops."""

import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PATTERN = [600, 1000, 1400, 800, 1200, 500, 1600, 900, 1300, 700]
# 400 ms of silence first; the probation of a learned source (RTP_LEARN_CONFIRM_MS, 500 ms)
# swallows it and the start of the first tone, so the check starts at the third tone.
SEGMENTS = [(0, 0.4)] + [(f, 0.2) for f in PATTERN]


def echo_runs(peer):
    return T.frequency_runs([T.dominant(f, PATTERN) for f in T.StreamStats(peer.packets()).frames()])


def check_echo(peer, what):
    """Waits (bounded) for the echo of the pattern at the socket the caller sent from."""
    try:
        T.wait_until(lambda: T.contains_run(echo_runs(peer), PATTERN[2:-1]), 10, "the echo")
    except T.TestFailure:
        st = T.StreamStats(peer.packets())
        T.fail("%s: the echo of %s did not come back to the socket the caller sent from: "
               "%d packets came back (%s), tones %s"
               % (what, PATTERN[2:-1], st.count, st.describe(), echo_runs(peer)))


def behind_nat(t, v):
    real_peer = t.rtp_peer()  # the NAT's public side: where the caller's RTP really comes from
    uac = t.uac(v, "1001", 40000, sdp=T.sdp_offer(40000, conn_ip="127.0.0.9"))
    uac.invite()
    real_peer.send_pattern(uac.media, SEGMENTS)
    real_peer.wait_sent(10)
    check_echo(real_peer, "caller behind NAT")
    uac.bye()


def other_port(t, v):
    sdp_peer = t.rtp_peer()     # the port in the SDP; it never sends
    real_peer = t.rtp_peer()    # where the caller's RTP really comes from
    call = t.sipp("uac_call", v, "1001", keys={"rtp_port": sdp_peer.port},
                  tmpl={"duration_ms": 3500}).start()
    port = call.rtp_port()
    call.wait_log("^ANSWERED$", 5)
    real_peer.send_pattern(("127.0.0.1", port), SEGMENTS)
    real_peer.wait_sent(5)
    call.wait_ok(what="call to 1001 (echo)")
    check_echo(real_peer, "same host, other port (%d reached the SDP port)" % sdp_peer.count())


def metric(v, name):
    m = re.search(r"(?m)^%s (\d+)$" % re.escape(name), v.api("GET", "/metrics")[1])
    return int(m.group(1)) if m else None


def other_host(t, v):
    sdp_peer = t.rtp_peer()
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.2", 0))
    stranger.settimeout(0.1)
    try:
        before = metric(v, 'vcs_rtp_dropped_total{reason="source"}')
        uac = t.uac(v, "1001", sdp_peer.port)
        uac.invite()
        audio = T.ulaw_encode(T.tone(1000, 160))
        for i in range(100):  # 2 s of a tone, paced
            stranger.sendto(T.build_rtp(i, i * 160, 0x1234, 0, audio), uac.media)
            time.sleep(0.02)
        got = 0
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                stranger.recvfrom(2048)
                got += 1
            except socket.timeout:
                pass
        uac.bye()
        T.check(got == 0, "vcsd sent %d packets to a host its SIP peer did not name" % got)
        st = T.StreamStats(sdp_peer.packets())
        T.check(st.count >= 50 and st.rms < 100,
                "the SDP port should get the echo of nothing (silence): %s" % st.describe())
        after = metric(v, 'vcs_rtp_dropped_total{reason="source"}')
        T.check(before is not None and after is not None and after - before >= 90,
                "/metrics dropped for their source: %r before, %r after 100 packets from a "
                "stranger" % (before, after))
    finally:
        stranger.close()


def run(t):
    # The shipped echo plays "echo-intro" first: a 200 ms silent intro keeps the test short.
    v = t.vcsd(sounds={"echo-intro.wav": lambda p: T.write_wav(p, [0] * 1600)})
    behind_nat(t, v)
    other_port(t, v)
    other_host(t, v)


if __name__ == "__main__":
    T.main(run)
