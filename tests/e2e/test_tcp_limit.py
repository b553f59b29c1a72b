"""sip.max_tcp_connections caps the SIP TCP connections held at once (hardening note): with a
cap of 3, three connections are served, a fourth is closed by vcsd at once, and after one of the
three closes a new connection is served again. UDP is not affected."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = "return { sip = { max_tcp_connections = 3 } }\n"


def options_over(s, v):
    msg = T.sip_message("OPTIONS", "sip:ping@127.0.0.1:%d" % v.sip_port, local_port=s.local_port,
                        transport="TCP")
    finals = [r for r in s.request(msg, 3) if r.code >= 200]
    return finals[0].code if finals else None


def open_served(v, n):
    socks = []
    for i in range(n):
        s = T.SipSocket(v.sip_port, "TCP")
        socks.append(s)
        T.check_eq(options_over(s, v), 200, "OPTIONS on TCP connection %d of %d" % (i + 1, n))
    return socks


def wait_served(v, timeout):
    """A new connection is served once vcsd has seen a close; bounded wait on that event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = T.SipSocket(v.sip_port, "TCP")
        try:
            if options_over(s, v) == 200:
                return True
        finally:
            s.close()
        time.sleep(0.1)
    return False


def run(t):
    v = t.vcsd(dialplans={"routes": "return {}\n"}, config=CONFIG)
    held = open_served(v, 3)
    extra = T.SipSocket(v.sip_port, "TCP")
    code = options_over(extra, v)
    T.check(code is None and extra.closed_by_peer,
            "a 4th TCP connection over the cap of 3 must be closed by vcsd, got answer %s" % code)
    extra.close()
    r = T.sip_options(v.sip_port, "UDP")
    T.check(r is not None and r.code == 200, "UDP OPTIONS while TCP is full: %s" % (r and r.code))
    held.pop().close()
    T.check(wait_served(v, 10), "after one of the 3 connections closed, a new one was not served")
    for s in held:
        s.close()


if __name__ == "__main__":
    T.main(run)
