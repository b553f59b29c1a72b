#!/usr/bin/env python3
"""Early media of a parallel call:dial (SPEC 5.5 ringback "relay", docs/dialplan-api.md).

Two carriers ring at once (opts.parallel); each sends 183 with SDP and early media from its
own RTP peer: carrier A a 600 Hz tone, carrier B 900 Hz. A sends its 183 at once, B 500 ms
later.
1. The first early media wins: the caller hears A's 600 Hz while both ring, never B's 900 Hz,
   until B answers (at 2.5 s); then the caller hears B and A gets CANCEL.
2. When the relayed leg ends first (A refuses 480 at 1.5 s), the other one's early media takes
   over: the caller hears 600 Hz, then 900 Hz, both before B answers (at 3 s).
(Early media used to be relayed only when a single leg was ringing: the caller heard nothing
until the answer.)"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

FREQS = [600, 900]


def dialplans(ports):
    return {
        "routes": T.routes_lua(("^\\d$", "parallel")),
        "parallel": """local ports = { %s }
return function(call)
  local i = tonumber(call.to) * 2 - 1
  local r = call:dial({ "sip:a@127.0.0.1:" .. ports[i], "sip:b@127.0.0.1:" .. ports[i + 1] },
                      { parallel = true, timeout = 20000 })
  call:set("dial_target", r.target)
end
""" % ", ".join(str(p) for p in ports),
    }


def labels(peer, since=None, until=None):
    """[(time, dominant frequency)] of the caller's loud mu-law frames."""
    out = []
    for p in peer.packets(since, until):
        if p.pt != 0:
            continue
        pcm = T.decode_payload(0, p.payload)
        if T.rms(pcm) > 300:
            out.append((p.t, T.dominant(pcm, FREQS)))
    return out


def call(t, v, number, a, b):
    """Places the caller's call; both carriers' peers send their tone to vcsd once offered.
    Returns (the caller's RTP peer, the monotonic time its INVITE was answered)."""
    caller = t.rtp_peer()
    uac = t.uac(v, str(number), caller.port)
    answered = {}

    def invite():
        uac.invite(timeout=20)
        answered["t"] = time.monotonic()
    th = threading.Thread(target=invite)
    th.start()
    for carrier, peer, freq in ((a, a.peer, 600), (b, b.peer, 900)):
        port = int(carrier.wait_log(r"OFFERPORT (\d+)", 10, "the offer to %d Hz" % freq).group(1))
        peer.send_tone(("127.0.0.1", port), 7.0, freq=freq, pt=0)
    th.join(30)
    T.check("t" in answered, "the caller's call was answered")
    return uac, caller, answered["t"]


def first_wins(t, v, a, b):
    uac, caller, t_answer = call(t, v, 1, a, b)
    a.wait_log(r"GOTCANCEL", 10, "the CANCEL of the losing leg")
    T.wait_until(lambda: sum(1 for _, f in labels(caller, t_answer + 0.3) if f == 900) >= 25, 10,
                 "the caller to hear the answering leg")
    early = [f for _, f in labels(caller, None, t_answer - 0.2)]
    T.check(early.count(600) >= 25, "the caller heard the first early media (600 Hz) while both "
            "rang: %d frames of 600 Hz" % early.count(600))
    T.check_eq(early.count(900), 0, "frames of the second leg's early media heard before its answer")
    uac.bye()
    b.wait_log(r"GOTBYE", 10, "the answered leg's BYE")


def takeover(t, v, a, b):
    uac, caller, t_answer = call(t, v, 2, a, b)
    a.wait_log(r"FINAL", 10, "the first leg's 480")
    early = labels(caller, None, t_answer - 0.2)
    f600 = [tm for tm, f in early if f == 600]
    f900 = [tm for tm, f in early if f == 900]
    T.check(len(f600) >= 25 and len(f900) >= 10,
            "before the answer the caller heard 600 Hz (%d frames), then 900 Hz (%d frames)"
            % (len(f600), len(f900)))
    T.check(max(f600) < min(f900), "the second leg's early media came after the first leg ended")
    uac.bye()
    b.wait_log(r"GOTBYE", 10, "the answered leg's BYE")


def run(t):
    def carrier(**tmpl):
        peer = t.rtp_peer()
        s = t.sipp_uas("uas_early", keys={"rtp_port": peer.port}, tmpl=tmpl, timeout=60).start()
        s.peer = peer
        return s
    carriers = [carrier(), carrier(early_ms=500, ring_ms=2000),
                carrier(ring_ms=1500, code=480, phrase="Temporarily Unavailable", after_ack="end"),
                carrier(early_ms=500, ring_ms=2500)]
    v = t.vcsd(dialplans=dialplans([c.port for c in carriers]))
    first_wins(t, v, carriers[0], carriers[1])
    takeover(t, v, carriers[2], carriers[3])
    for c in carriers:
        c.wait_ok(what="carrier")


if __name__ == "__main__":
    T.main(run)
