#!/usr/bin/env python3
"""Admission after identity (SPEC 4): a scanner sending 3000 INVITEs a second from 127.0.0.2,
which is no trunk's, while a customer trunk (127.0.0.1) places calls at 100/s. Every real call
is answered; every scanner INVITE that is answered gets 403 (never 503: it took no calls/s
slot); the scanner writes no CDR; /metrics counts the 403s."""

import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = """return {
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.1/32" } } },
}
"""
DIALPLANS = {
    "routes": T.routes_lua(("^7000$", "short")),
    "short": """return function(call)
  call:answer()
  call:sleep(300)
end
""",
}
REAL_CALLS, REAL_RATE = 400, 100
SCAN_RATE, SCAN_SECONDS = 3000, 5
SCANNER_IP = "127.0.0.2"


class Scanner:
    """A raw UDP INVITE flood from SCANNER_IP, paced to SCAN_RATE a second, bounded in count
    and time; collects the status codes of what comes back (it never ACKs, like a scanner)."""

    def __init__(self, sip_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((SCANNER_IP, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.dest = ("127.0.0.1", sip_port)
        self.sent = 0
        self.codes = {}
        self.finals = set()  # Call-IDs that got a final response
        self.done = threading.Event()
        self.stop_rx = threading.Event()
        self.rx = threading.Thread(target=self._receive, daemon=True)

    def _receive(self):
        while not self.stop_rx.is_set():
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            r = T.parse_sip_response(data)
            if r is None or r.code < 200:
                continue
            cid = (r.headers.get("call-id") or [""])[0]
            if cid not in self.finals:  # count each transaction once, not its retransmissions
                self.finals.add(cid)
                self.codes[r.code] = self.codes.get(r.code, 0) + 1

    def run(self):
        self.rx.start()
        body = T.sdp_offer(40000)
        start = time.monotonic()
        total = SCAN_RATE * SCAN_SECONDS
        while self.sent < total and time.monotonic() - start < SCAN_SECONDS + 5:
            due = int((time.monotonic() - start) * SCAN_RATE) + 1
            while self.sent < min(due, total):
                msg = T.sip_message("INVITE", "sip:7000@127.0.0.1:%d" % self.dest[1],
                                    local_port=self.port, call_id="scan-%d@%s" % (self.sent, SCANNER_IP),
                                    body=body, content_type="application/sdp")
                msg = msg.replace(b"127.0.0.1:%d;branch" % self.port,
                                  b"%s:%d;branch" % (SCANNER_IP.encode(), self.port))
                self.sock.sendto(msg, self.dest)
                self.sent += 1
            time.sleep(0.002)
        self.done.set()

    def close(self):
        self.stop_rx.set()
        self.rx.join(2)
        self.sock.close()


def metric(text, name):
    m = re.search(r"(?m)^%s (\d+)$" % re.escape(name), text)
    return int(m.group(1)) if m else None


def run(t):
    # Enough RTP ports that a moment of SIP backlog (calls ending late) cannot exhaust them.
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG, rtp_ports=2000)
    peer = t.rtp_peer()
    scanner = Scanner(v.sip_port)
    flood = threading.Thread(target=scanner.run, daemon=True)
    flood.start()
    try:
        real = t.sipp("uac_wait_bye", v, "7000", keys={"rtp_port": peer.port},
                      tmpl={"bye_timeout_ms": 10000}, calls=REAL_CALLS, rate=REAL_RATE,
                      limit=200, timeout=60)
        real.run_ok(what="%d calls at %d/s from the trunk during a %d/s scan"
                    % (REAL_CALLS, REAL_RATE, SCAN_RATE))
        T.check(scanner.done.wait(SCAN_SECONDS + 10), "the scanner did not finish")
        # Under a flood the kernel drops some datagrams: wait until the answers stop coming.
        seen = [-1]

        def settled():
            n = len(scanner.finals)
            done, seen[0] = n == seen[0], n
            return done
        T.wait_until(settled, 15, "the answers to the scanner to settle", interval=1.0)
    finally:
        flood.join(SCAN_SECONDS + 10)
        scanner.close()
    T.log("scanner: %d INVITEs sent, finals %s" % (scanner.sent, scanner.codes))
    T.check(set(scanner.codes) == {403}, "the scanner must get 403 only, got %s" % scanner.codes)
    T.check(scanner.codes[403] >= scanner.sent // 10, "too few answers to the scanner")
    T.wait_until(lambda: len(v.cdrs("account = 'admin' AND end_time IS NOT NULL")) >= REAL_CALLS, 15,
                 "the CDRs of the %d real calls" % REAL_CALLS)
    T.check_eq(len(v.cdrs("sip_call_id LIKE 'scan-%'")), 0, "CDRs written for the scanner")
    status, text = v.api("GET", "/metrics")
    T.check_eq(status, 200, "GET /metrics")
    forbidden = metric(text, "vcs_sip_forbidden_total")
    T.check(forbidden is not None and forbidden >= scanner.codes.get(403, 0),
            "vcs_sip_forbidden_total %s must count the %d 403s the scanner got"
            % (forbidden, scanner.codes.get(403, 0)))
    T.check_eq(metric(text, "vcs_calls_refused_total"), 0, "calls refused by admission control")
    T.check(v.wait_log(r"refused \(403\): source not allowed", 5),
            "a warn line about the refused source")


if __name__ == "__main__":
    T.main(run)
