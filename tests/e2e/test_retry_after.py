#!/usr/bin/env python3
"""A 503 of admission control carries the Retry-After that admission computed: 1 to 5 s, the
calls refused per call admitted over the last second (never a fixed 30). With engine.max_cps = 1,
eight INVITEs at once: one is admitted (and gets 404: no route), seven get 503 whose
Retry-After grows with the refusals, from 1 to the ceiling of 5."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = "return { engine = { max_cps = 1 } }\n"
N = 8


def run(t):
    v = t.vcsd(dialplans={"routes": "return {}\n"}, config=CONFIG)
    s = T.SipSocket(v.sip_port, "UDP")
    try:
        for i in range(N):
            s.send(T.sip_message("INVITE", "sip:7000@127.0.0.1:%d" % v.sip_port,
                                 local_port=s.local_port, call_id="retry-%d@127.0.0.1" % i,
                                 body=T.sdp_offer(40000), content_type="application/sdp"))
        finals = {}
        T.wait_until(lambda: finals.update(_collect(s)) or len(finals) == N, 10,
                     "final answers to the %d INVITEs" % N)
    finally:
        s.close()
    codes = sorted(r.code for r in finals.values())
    T.check_eq(codes, [404] + [503] * (N - 1), "final answers (one admitted, the rest over max_cps)")
    retry = [int(finals["retry-%d@127.0.0.1" % i].headers.get("retry-after", ["0"])[0])
             for i in range(N) if finals["retry-%d@127.0.0.1" % i].code == 503]
    T.log("Retry-After in order: %s" % retry)
    T.check(all(1 <= r <= 5 for r in retry), "Retry-After must be 1..5 s: %s" % retry)
    T.check_eq(retry, sorted(retry), "Retry-After grows with the refusals")
    T.check_eq((retry[0], retry[-1]), (1, 5), "first and last Retry-After")


def _collect(s):
    out = {}
    while True:
        r = s.recv(0.2)
        if r is None:
            return out
        if r.code >= 200:
            out[r.headers.get("call-id", [""])[0]] = r


if __name__ == "__main__":
    T.main(run)
