#!/usr/bin/env python3
"""A softphone offering audio and video (RFC 3264 section 6): vcsd's answer has one m= line per
offered m= line, in the offer's order, the audio one with vcsd's port and the others with port
0; the call works and RTP flows on the audio stream only. Two offers: audio then video (most
softphones), and video first with an MSRP stream after the audio."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1000$", "echo")),
    "echo": "return function(call)\n  call:answer()\n  call:echo()\nend\n",
}


def offer(audio_port, video_port, video_first):
    audio = ["m=audio %d RTP/AVP 0 8 101" % audio_port, "a=rtpmap:0 PCMU/8000",
             "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"]
    video = ["m=video %d RTP/AVP 96 97" % video_port, "a=rtpmap:96 H264/90000",
             "a=rtpmap:97 VP8/90000", "a=sendrecv"]
    head = ["v=0", "o=- 4711 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"]
    if video_first:
        lines = head + video + audio + ["m=application 9 TCP/MSRP *", "a=path:msrp://x/y;tcp"]
    else:
        lines = head + audio + video
    return ("\r\n".join(lines) + "\r\n").encode()


def m_lines(body):
    return [ln for ln in body.splitlines() if ln.startswith("m=")]


def call(t, v, video_first, want):
    audio, video = t.rtp_peer(), t.rtp_peer()
    uac = t.uac(v, "1000", audio.port, sdp=offer(audio.port, video.port, video_first))
    uac.invite()
    lines = m_lines(uac.final.body)
    T.check(len(lines) == len(want) and all(re.fullmatch(w, ln) for w, ln in zip(want, lines)),
            "m= lines of the answer: expected %s, got %s\n%s" % (want, lines, uac.final.raw))
    port = int(re.match(r"m=audio (\d+) ", [ln for ln in lines if ln.startswith("m=audio")][0]).group(1))
    T.check(port > 0 and uac.media[1] == port,
            "the audio stream of the answer has no usable port: %s" % lines)
    # The caller's tone comes back (echo): RTP flows on the audio stream.
    audio.send_tone(("127.0.0.1", port), 1.5, freq=1000)
    audio.wait_sent(5)
    audio.wait_packets(40, 5, "echoed RTP on the audio stream")
    st = T.StreamStats(audio.packets())
    doms = [T.dominant(f, [1000, 500]) for f in st.frames()]
    T.check(doms.count(1000) >= 20,
            "the echo does not carry the caller's 1000 Hz tone (%d of %d frames)"
            % (doms.count(1000), len(doms)))
    r = uac.bye()
    T.check_eq(r.code, 200, "answer to BYE")
    T.check_eq(video.count(), 0, "RTP packets sent to the refused video stream")


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    call(t, v, False, [r"m=audio [1-9]\d* RTP/AVP 0 101", r"m=video 0 RTP/AVP 96"])
    call(t, v, True, [r"m=video 0 RTP/AVP 96", r"m=audio [1-9]\d* RTP/AVP 0 101",
                      r"m=application 0 TCP/MSRP \*"])


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
