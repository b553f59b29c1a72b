#!/usr/bin/env python3
"""sip.advertise (a NAT's public address) names vcsd in the Contact of its answers as well as in
the SDP, while vcsd still listens on sip.listen: the peer's ACK and BYE then reach the public
address. The dialog itself still works over the listen address."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PUBLIC = "192.0.2.10"  # TEST-NET-1: never a local address
CONFIG = 'return { sip = { advertise = "%s" } }\n' % PUBLIC
DIALPLANS = {
    "routes": T.routes_lua(("^7000$", "answer")),
    "answer": """return function(call)
  call:answer()
  call:sleep(500)
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    peer = t.rtp_peer()
    uac = t.uac(v, "7000", peer.port)
    r = uac.invite()
    contact = ",".join(r.headers.get("contact", []))
    m = re.search(r"sip:(?:[^@>;]*@)?([^:;>]+):(\d+)", contact)
    T.log("Contact: %s" % contact)
    T.check("maddr" not in contact, "the Contact must not send the peer to the bind address: %s" % contact)
    T.check(m is not None, "the 200 OK has no Contact URI: %r" % contact)
    T.check_eq((m.group(1), int(m.group(2))), (PUBLIC, v.sip_port), "Contact host and port of the 200 OK (%s)" % contact)
    T.check_eq(uac.answer["conn"], PUBLIC, "c= address of the SDP answer")
    T.check(uac.wait_bye(10), "the call did not end with vcsd's BYE")
    opts = T.sip_options(v.sip_port, "UDP")
    T.check(opts is not None and opts.code == 200, "OPTIONS on the listen address: %s" % (opts and opts.code))


if __name__ == "__main__":
    T.main(run)
