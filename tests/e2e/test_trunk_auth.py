#!/usr/bin/env python3
"""Digest authentication of a customer trunk and the brute-force lock-out (SPEC 4).

The only trunk, "acme", has credentials and no allow list, so loopback is nobody's trunk. SIPp
as the customer PBX: its INVITE without credentials gets 407 (realm = our SIP host), the
INVITE with SIPp's [authentication] is answered, and its CDR carries the trunk's account and
name. A digest answer replayed with another Call-ID is challenged anew (stale), the next nc of
the same nonce passes. Ten challenges are no failures (no lock-out, the counter stays 0).
Then five INVITEs with a wrong password (each challenged again) lock 127.0.0.1 out: the next
INVITE, even with the right password, gets 403 with no challenge; the warn line says so; /metrics counts 5 failures
and 1 lock-out. Another address (127.0.0.2) is still challenged. The lock-out lasts
sip.auth_lockout_seconds (3 here): afterwards the right password works again."""

import hashlib
import os
import re
import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

LOCKOUT_S = 3
CONFIG = """return {
  sip = { auth_lockout_seconds = %d },
  trunks = { { name = "acme", account = "acme", username = "acme-pbx", password = "s3cret:x" } },
}
""" % LOCKOUT_S
DIALPLANS = {
    "routes": T.routes_lua(("^7000$", "short")),
    "short": """return function(call)
  call:answer()
  call:sleep(5000)
end
""",
}


def metric(text, name):
    m = re.search(r"(?m)^%s (\d+)$" % re.escape(name), text)
    return int(m.group(1)) if m else None


def metrics(v):
    status, text = v.api("GET", "/metrics")
    T.check_eq(status, 200, "GET /metrics")
    return text


def sipp_auth(t, v, password, code=200):
    peer = t.rtp_peer()
    scenario = "uac_auth" if code == 200 else "uac_auth_refused"
    s = t.sipp(scenario, v, "7000", keys={"rtp_port": peer.port}, tmpl={"code": code},
               extra=("-au", "acme-pbx", "-ap", password))
    return s


def challenge_from(v, ip):
    """A raw INVITE without credentials from ip: the status it gets."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ip, 0))
    sock.settimeout(3)
    try:
        msg = T.sip_message("INVITE", "sip:7000@127.0.0.1:%d" % v.sip_port,
                            local_port=sock.getsockname()[1]).replace(
                                b"127.0.0.1:%d;branch" % sock.getsockname()[1],
                                b"%s:%d;branch" % (ip.encode(), sock.getsockname()[1]))
        sock.sendto(msg, ("127.0.0.1", v.sip_port))
        while True:
            r = T.parse_sip_response(sock.recvfrom(65535)[0])
            if r and r.code >= 200:
                return r
    finally:
        sock.close()


class AuthUac(T.SipUac):
    """A raw-SIP caller whose INVITE carries the Proxy-Authorization the test wrote."""
    auth = None

    def _build(self, method, *args, **kw):
        if method == "INVITE" and self.auth:
            kw["extra"] = tuple(kw.get("extra", ())) + ("Proxy-Authorization: " + self.auth,)
        return super()._build(method, *args, **kw)


def digest(nonce, uri, nc, password="s3cret:x", realm="127.0.0.1", cnonce="e2e0cafe"):
    """RFC 2617 qop=auth answer of the client side, as a Proxy-Authorization value."""
    md5 = lambda x: hashlib.md5(x.encode()).hexdigest()  # noqa: E731
    ha1 = md5("acme-pbx:%s:%s" % (realm, password))
    response = md5("%s:%s:%08x:%s:auth:%s" % (ha1, nonce, nc, cnonce, md5("INVITE:" + uri)))
    return ('Digest username="acme-pbx", realm="%s", nonce="%s", uri="%s", response="%s", '
            'algorithm=MD5, qop=auth, nc=%08x, cnonce="%s"' % (realm, nonce, uri, response, nc,
                                                              cnonce))


def check_replay(t, v):
    """An answer overheard once does not pass again (another Call-ID): challenged anew with
    stale=true, counted as no failure; the same nonce with the next nc passes."""
    first = AuthUac(t, v, "7000", t.rtp_peer().port)
    r = first.invite(expect=407)
    nonce = re.search(r'nonce="([^"]+)"', r.headers["proxy-authenticate"][0]).group(1)
    answers = []
    for nc, expect in ((1, 200), (1, 407), (2, 200)):
        u = AuthUac(t, v, "7000", t.rtp_peer().port)
        u.auth = digest(nonce, u.uri, nc)
        answers.append(u.invite(expect=expect))
        if expect == 200:
            u.bye()
            T.check_cdr(v.wait_cdr(u.call_id), account="acme")
    T.check("stale=true" in answers[1].headers["proxy-authenticate"][0],
            "a replayed answer is challenged with stale=true: %r" % answers[1].headers)


def run(t):
    v = t.vcsd(config=CONFIG, dialplans=DIALPLANS)

    # 407, then the call with the right credentials; the CDR is the trunk's.
    s = sipp_auth(t, v, "s3cret:x")
    s.run_ok(what="a call that authenticates after a 407")
    s.wait_log("CHALLENGED", 1)
    row = v.wait_cdr(s.call_id())
    T.check_cdr(row, account="acme", hangup_cause="normal_clearing")
    challenge = [m for d, m in s.messages() if d == "received" and m.startswith("SIP/2.0 407")]
    T.check(challenge and re.search(r'Proxy-Authenticate: Digest realm="127\.0\.0\.1"', challenge[0]),
            "the 407 challenges with realm = our SIP host (got %r)" % challenge[:1])

    check_replay(t, v)

    # Challenges (and a replay, answered as stale) are no failures.
    for _ in range(10):
        r = challenge_from(v, "127.0.0.1")
        T.check_eq(r.code, 407, "an INVITE without credentials")
    T.check_eq(metric(metrics(v), "vcs_sip_auth_failures_total"), 0, "failures after 10 challenges")

    # Five wrong passwords lock the address out.
    for i in range(5):
        sipp_auth(t, v, "wrong", code=407).run_ok(what="wrong password %d is challenged again" % (i + 1))
    v.wait_log(r"security: 127\.0\.0\.1 locked out", 5)
    text = metrics(v)
    T.check_eq(metric(text, "vcs_sip_auth_failures_total"), 5, "failures counted")
    T.check_eq(metric(text, "vcs_sip_auth_lockouts_total"), 1, "lock-outs counted")
    locked = t.sipp("uac_expect_code", v, "7000", keys={"rtp_port": t.rtp_peer().port},
                    tmpl={"code": 403}, extra=("-au", "acme-pbx", "-ap", "s3cret:x"))
    locked.run_ok(what="a locked-out address gets 403 without a challenge")
    T.check(not [m for d, m in locked.messages() if m.startswith("SIP/2.0 407")],
            "no challenge to a locked-out address")
    T.check_eq(challenge_from(v, "127.0.0.2").code, 407, "another address is still challenged")
    T.check(metric(metrics(v), "vcs_sip_auth_locked_refused_total") >= 1, "refusals counted")
    T.check("s3cret" not in v.log_text(0), "the password never reaches the log")

    # The lock-out ends.
    def unlocked():
        return challenge_from(v, "127.0.0.1").code == 407
    T.wait_until(unlocked, LOCKOUT_S + 10, "the lock-out to end", interval=0.5)
    sipp_auth(t, v, "s3cret:x").run_ok(what="the right password after the lock-out")


if __name__ == "__main__":
    T.main(run)
