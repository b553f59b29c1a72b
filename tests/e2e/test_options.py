#!/usr/bin/env python3
"""OPTIONS is a keepalive (SPEC 4): answered 200 whatever the request-URI user part (or none),
over UDP and TCP, with an Allow header listing the methods vcsd handles."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

REQUIRED = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS")


def check_allow(value, what):
    methods = {m.strip().upper() for m in (value or "").split(",")}
    missing = [m for m in REQUIRED if m not in methods]
    T.check(not missing, "%s: Allow %r lacks %s" % (what, value, missing))


def run(t):
    v = t.vcsd(dialplans={"routes": "return {}\n"})
    for user, transport in (("keepalive", "u1"), ("99999", "u1"), ("keepalive", "t1")):
        what = "OPTIONS sip:%s@ over %s" % (user, "UDP" if transport == "u1" else "TCP")
        probe = t.sipp("options", v, user, tmpl={"code": 200}, transport=transport, timeout=10)
        probe.run_ok(what=what + " must get 200")
        m = probe.find_log(r"^OPTIONS 200 ALLOW (.*)$")
        check_allow(m[0].group(1) if m else None, what)
    for transport in ("UDP", "TCP"):
        s = T.SipSocket(v.sip_port, transport)
        try:
            msg = T.sip_message("OPTIONS", "sip:127.0.0.1:%d" % v.sip_port, local_port=s.local_port,
                                transport=transport)
            rs = [r for r in s.request(msg, 3) if r.code >= 200]
        finally:
            s.close()
        T.check(rs and rs[0].code == 200, "OPTIONS without a user part over %s: %s"
                % (transport, [r.code for r in rs]))
        check_allow(",".join(rs[0].headers.get("allow", [])), "OPTIONS without a user part")


if __name__ == "__main__":
    T.main(run)
