"""SIP over TCP cannot be held open by a silent peer (hardening note): with
sip.tcp_idle_seconds = 2, Sofia's transport closes a connection that has been silent that long
after its last request, and a new connection is served afterwards. (A connection that never
sends a byte is not timed out by Debian's Sofia-SIP: the per-source cap on connections is the
operating system's, docs/operations.md, nftables `ct count`.)"""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

IDLE_S = 2
CONFIG = "return { sip = { tcp_idle_seconds = %d } }\n" % IDLE_S


def options_over(s, v):
    msg = T.sip_message("OPTIONS", "sip:ping@127.0.0.1:%d" % v.sip_port, local_port=s.local_port,
                        transport="TCP")
    finals = [r for r in s.request(msg, 3) if r.code >= 200]
    return finals[0].code if finals else None


def wait_closed(s, timeout):
    """Reads until vcsd closes the connection; bounded by timeout. True when it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not s.closed_by_peer:
        s.recv(0.5)
    return s.closed_by_peer


def run(t):
    v = t.vcsd(dialplans={"routes": "return {}\n"}, config=CONFIG)
    used = T.SipSocket(v.sip_port, "TCP")
    T.check_eq(options_over(used, v), 200, "OPTIONS on a fresh TCP connection")
    start = time.monotonic()
    T.check(wait_closed(used, IDLE_S + 20), "an idle TCP connection must be closed after %d s" % IDLE_S)
    T.check(time.monotonic() - start >= IDLE_S - 0.5,
            "the connection was closed before it had been idle %d s" % IDLE_S)
    used.close()
    again = T.SipSocket(v.sip_port, "TCP")
    T.check_eq(options_over(again, v), 200, "OPTIONS on a new TCP connection afterwards")
    again.close()


if __name__ == "__main__":
    T.main(run)
