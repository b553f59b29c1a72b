#!/usr/bin/env python3
"""A corpus of malformed and hostile SIP (after RFC 4475 / 5118 and the Sofia-SIP hardening
notes) sent with raw sockets over UDP and TCP: bad or lying Content-Length, missing mandatory
headers, garbage, NUL bytes, a message over 64 KiB, broken SDP (port 65536, bad address, no
audio, no common codec, multipart without a body, payload types over 127, ptime 0),
Max-Forwards 0, unknown methods (RFC 4475 intmeth: 501), spaces or an unbracketed IPv6 host in
the Request-URI and a header with an empty name (400), a Content-Encoding we cannot decode
(415), a BYE for no dialog. After every message vcsd must be alive and answer OPTIONS with 200; a message that
deserves an answer must get the right status code (a 2xx to a bad INVITE is torn down and
reported)."""

import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1000$", "answer")),
    "answer": "return function(call)\n  call:answer()\n  call:sleep(2000)\nend\n",
}
# The corpus fires many requests from one address in a few seconds; rate limiting is not what
# this test is about.
CONFIG = "return { sip = { rate_limit = { per_second = 0 } } }\n"

ANY4XX = tuple(range(400, 500))
ERR = tuple(range(400, 700))


class Case:
    """name; transport; build(port, local_port) -> bytes or list of (bytes, pause s);
    expect: None (no answer required, any answer or none is fine), or the tuple of acceptable
    final codes (an answer is required); optional: when True, no answer is also fine but an
    answer must be one of expect."""

    def __init__(self, name, transport, build, expect=None, optional=False):
        self.name, self.transport, self.build = name, transport, build
        self.expect, self.optional = expect, optional


def uri(port, user="1000"):
    return "sip:%s@127.0.0.1:%d" % (user, port)


def opts(port, lp, transport="UDP", **kw):
    return T.sip_message("OPTIONS", uri(port, "ping"), local_port=lp, transport=transport, **kw)


def drop_header(msg, name):
    lines = msg.split(b"\r\n")
    return b"\r\n".join(ln for ln in lines if not ln.lower().startswith(name.lower() + b":"))


def invite(port, lp, sdp, transport="UDP", **kw):
    return T.sip_message("INVITE", uri(port), local_port=lp, transport=transport, body=sdp,
                         content_type=kw.pop("content_type", "application/sdp"), **kw)


GOOD_SDP = T.sdp_offer(40000)


def corpus():
    c = []
    add = c.append
    # --- garbage and framing (UDP) ---
    add(Case("garbage bytes", "UDP", lambda p, lp: b"\x00\xff\xfegarbage\r\n\r\n"))
    add(Case("empty datagram", "UDP", lambda p, lp: b""))
    add(Case("CRLF keepalive", "UDP", lambda p, lp: b"\r\n\r\n"))
    add(Case("request line only", "UDP", lambda p, lp: b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n\r\n"))
    add(Case("truncated request line", "UDP", lambda p, lp: b"INVITE sip:1000@127.0.0.1"))
    add(Case("NUL bytes in a header", "UDP",
             lambda p, lp: opts(p, lp, extra=["Subject: a\x00b\x00c"])))
    add(Case("NUL bytes in the request line", "UDP",
             lambda p, lp: opts(p, lp).replace(b"OPTIONS sip:", b"OPTIONS\x00sip:", 1)))
    add(Case("Content-Length larger than the body", "UDP",
             lambda p, lp: opts(p, lp, body=b"0123456789", content_length=500), ERR, optional=True))
    add(Case("Content-Length negative", "UDP",
             lambda p, lp: opts(p, lp, body=b"0123456789", content_length=-5), ERR, optional=True))
    add(Case("Content-Length 20 digits", "UDP",
             lambda p, lp: opts(p, lp, body=b"x", content_length=99999999999999999999), ERR,
             optional=True))
    # UDP cannot carry more than 65507 bytes: this one is large but under the 64 KiB limit.
    add(Case("largest datagram (64000-byte header)", "UDP",
             lambda p, lp: opts(p, lp, extra=["Subject: " + "A" * 64000])))
    add(Case("200 Via headers", "UDP",
             lambda p, lp: opts(p, lp, extra=["Via: SIP/2.0/UDP 10.0.0.%d:5060;branch=z9hG4bK%d"
                                              % (i % 250 + 1, i) for i in range(200)]),
             None))
    add(Case("CSeq number out of range", "UDP",
             lambda p, lp: opts(p, lp).replace(b"CSeq: 1 OPTIONS", b"CSeq: 99999999999 OPTIONS"),
             ERR, optional=True))
    add(Case("CSeq method differs from the request method", "UDP",
             lambda p, lp: opts(p, lp).replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"),
             ERR, optional=True))
    for hdr in (b"Call-ID", b"CSeq", b"From", b"To"):
        add(Case("missing %s" % hdr.decode(), "UDP",
                 (lambda h: lambda p, lp: drop_header(opts(p, lp), h))(hdr), ANY4XX, optional=True))
    add(Case("missing Via (cannot be answered)", "UDP", lambda p, lp: drop_header(opts(p, lp), b"Via")))
    add(Case("SIP/3.0 version", "UDP",
             lambda p, lp: opts(p, lp).replace(b" SIP/2.0\r\n", b" SIP/3.0\r\n", 1), ERR, optional=True))
    add(Case("escaped user part (valid)", "UDP",
             lambda p, lp: T.sip_message("OPTIONS", "sip:%%61lice@127.0.0.1:%d" % p, local_port=lp),
             (200,)))
    add(Case("compact header forms (valid)", "UDP", lambda p, lp: compact_options(p, lp), (200,)))
    # --- requests that deserve a precise answer ---
    add(Case("INVITE with Max-Forwards: 0", "UDP",
             lambda p, lp: invite(p, lp, GOOD_SDP, max_forwards=0), (483,)))
    # RFC 3261 8.2: every request whose Via can be read gets its answer, never silence.
    add(Case("unknown method", "UDP",
             lambda p, lp: T.sip_message("FROBNICATE", uri(p), local_port=lp), (501,)))
    add(Case("RFC 4475 intmeth (its NUL byte left out)", "UDP",
             lambda p, lp: intmeth(p, lp, nul=False), (501,)))
    # Sofia's parser reads headers as C strings: the NUL in the To header's quoted string
    # makes the To unreadable, so the answer is a 400.
    add(Case("RFC 4475 intmeth as published", "UDP", lambda p, lp: intmeth(p, lp, nul=True),
             (400, 501)))
    add(Case("OPTIONS with spaces in the Request-URI", "UDP",
             lambda p, lp: request_line(opts(p, lp), "OPTIONS sip:10 00@127.0.0.1:%d" % p), (400,)))
    add(Case("INVITE with spaces in the Request-URI", "UDP",
             lambda p, lp: request_line(invite(p, lp, GOOD_SDP),
                                        "INVITE sip:1000@127.0.0.1:%d;a=b c" % p), (400,)))
    add(Case("OPTIONS to an unbracketed IPv6 host (RFC 5118 4.10)", "UDP",
             lambda p, lp: request_line(opts(p, lp), "OPTIONS sip:ping@2001:db8::10"), (400,)))
    add(Case("INVITE to an unbracketed IPv6 host and port", "UDP",
             lambda p, lp: request_line(invite(p, lp, GOOD_SDP), "INVITE sip:1000@2001:db8::10:5060"),
             (400,)))
    add(Case("OPTIONS with a header of empty name", "UDP",
             lambda p, lp: opts(p, lp, extra=[": no name"]), (400,)))
    add(Case("INVITE with a header of empty name", "UDP",
             lambda p, lp: invite(p, lp, GOOD_SDP, extra=[": no name"]), (400,)))
    add(Case("INVITE with Content-Encoding: gzip", "UDP",
             lambda p, lp: invite(p, lp, GOOD_SDP, extra=["Content-Encoding: gzip"]), (415,)))
    add(Case("OPTIONS with a body in Content-Encoding: br", "UDP",
             lambda p, lp: opts(p, lp, body=b"x", content_type="text/plain",
                                extra=["Content-Encoding: br"]), (415,)))
    add(Case("BYE for no dialog", "UDP",
             lambda p, lp: T.sip_message("BYE", uri(p), local_port=lp, to_tag="nosuchtag"), (481,)))
    add(Case("INVITE with SDP port 65536", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer(65536)), (488, 400)))
    add(Case("INVITE with SDP port of 20 digits", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer("99999999999999999999")), (488, 400)))
    add(Case("INVITE with SDP address 999.1.1.1", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer(40000, conn_ip="999.1.1.1")), (488, 400)))
    add(Case("INVITE with SDP audio port 0 (stream rejected)", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer(0)), (488, 400)))
    add(Case("INVITE with garbage SDP", "UDP",
             lambda p, lp: invite(p, lp, b"hello, I am not SDP\r\n"), (488, 400)))
    add(Case("INVITE with SDP and no m= line", "UDP",
             lambda p, lp: invite(p, lp, b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"),
             (488, 400)))
    add(Case("INVITE offering only G.729", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer(40000, pts=(18,))), (488,)))
    add(Case("INVITE offering only payload types over 127", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer(40000, pts=(200, 300))), (488,)))
    add(Case("INVITE with a=ptime:0", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer(40000, extra=("a=ptime:0",))), (488,)))
    add(Case("INVITE with a=ptime of 20 digits", "UDP",
             lambda p, lp: invite(p, lp, T.sdp_offer(40000, extra=("a=ptime:" + "9" * 20,))),
             (488,)))
    # An empty body is no body, whatever Content-Type says (phones send "application/sdp" with
    # Content-Length 0 for offerless INVITEs): vcsd must survive it (Sofia's multipart parser
    # crashes on a missing payload) and treat it as an INVITE without offer.
    add(Case("INVITE with multipart body type and no body", "UDP",
             lambda p, lp: invite(p, lp, b"", content_type="multipart/mixed;boundary=xyz"),
             (200,) + ERR))
    add(Case("INVITE with multipart body without parts", "UDP",
             lambda p, lp: invite(p, lp, b"--xyz--\r\n", content_type="multipart/mixed;boundary=xyz"),
             ERR))
    # Debian's msg_multipart_parse() aborts vcsd on this body (an assertion; found by
    # tests/fuzz/fuzz_sip.c): vcsd reads multipart bodies with its own scanner.
    add(Case("INVITE with a multipart body with a NUL after its boundary", "UDP",
             lambda p, lp: invite(p, lp, b"--x\x00\n--x--\r\n",
                                  content_type="multipart/mixed;boundary=x"), (415,)))
    add(Case("INVITE with a multipart body, no boundary parameter", "UDP",
             lambda p, lp: invite(p, lp, b"--x\r\n\r\n--x--\r\n", content_type="multipart/mixed"),
             (400,)))
    add(Case("INVITE with SDP inside a multipart body (valid)", "UDP",
             lambda p, lp: invite(p, lp, b"--b1\r\nContent-Type: application/isup\r\n\r\n\x01\x02\r\n"
                                  b"--b1\r\nContent-Type: application/sdp\r\n\r\n" + GOOD_SDP +
                                  b"\r\n--b1--\r\n", content_type='multipart/mixed;boundary="b1"'),
             (200,)))
    add(Case("INVITE with a Content-Length beyond the SDP", "UDP",
             lambda p, lp: invite(p, lp, GOOD_SDP, content_length=len(GOOD_SDP) + 400), ERR,
             optional=True))
    # --- TCP ---
    add(Case("TCP garbage then close", "TCP", lambda p, lp: b"\x16\x03\x01\x02\x00garbage"))
    add(Case("TCP message over 64 KiB", "TCP",
             lambda p, lp: opts(p, lp, "TCP", extra=["Subject: " + "B" * (70 * 1024)]), ERR,
             optional=True))
    add(Case("TCP Content-Length beyond what is sent, then silence", "TCP",
             lambda p, lp: opts(p, lp, "TCP", body=b"abc", content_length=5000), ERR, optional=True))
    add(Case("TCP Content-Length negative", "TCP",
             lambda p, lp: opts(p, lp, "TCP", body=b"abc", content_length=-1), ERR, optional=True))
    add(Case("TCP NUL bytes", "TCP", lambda p, lp: b"OPTIONS \x00\x00\x00 SIP/2.0\r\n\r\n"))
    add(Case("TCP request fragmented in 5 pieces (valid)", "TCP",
             lambda p, lp: fragments(opts(p, lp, "TCP"), 5), (200,)))
    add(Case("TCP INVITE with SDP port 65536", "TCP",
             lambda p, lp: invite(p, lp, T.sdp_offer(65536), "TCP"), (488, 400)))
    add(Case("TCP INVITE with Max-Forwards: 0", "TCP",
             lambda p, lp: invite(p, lp, GOOD_SDP, "TCP", max_forwards=0), (483,)))
    return c


def request_line(msg, line):
    return line.encode() + msg[msg.index(b" SIP/2.0\r\n"):]


def intmeth(p, lp, nul):
    """RFC 4475 3.1.1.3 (an unusual but valid method and URI), sent to vcsd over UDP."""
    to = b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F"' if nul else b'To: "BEL:\\\x07 DEL:\\\x7F"'
    return (b"!interesting-Method0123456789_*+`.%indeed'~ "
            b"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
            b"(doesn't-it)@127.0.0.1:" + str(p).encode() + b" SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:" + str(lp).encode() + b";branch=z9hG4bK-.!%66*_+`'~"
            + b"%x\r\n" % random.getrandbits(32)
            + to + b" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
            b"From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
            + '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"'.encode()
            + b";tag=_token~1'+`*%!-.\r\n"
            b"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{" + b"%x\r\n" % random.getrandbits(32)
            + b"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
            b"Max-Forwards: 255\r\n"
            + "extensionHeader-!.%*+_`'~: \ufeff\u5927\u505c\u96fb\r\n".encode()
            + b"Content-Length: 0\r\n\r\n")


def compact_options(p, lp):
    call_id = "%x@127.0.0.1" % random.getrandbits(48)
    return ("OPTIONS sip:ping@127.0.0.1:%d SIP/2.0\r\n"
            "v: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-c%x\r\n"
            "f: <sip:e2e@127.0.0.1:%d>;tag=c1\r\n"
            "t: <sip:ping@127.0.0.1:%d>\r\n"
            "i: %s\r\n"
            "CSeq: 7 OPTIONS\r\n"
            "Max-Forwards: 70\r\n"
            "l: 0\r\n\r\n" % (p, lp, random.getrandbits(32), lp, p, call_id)).encode()


def fragments(data, n):
    size = max(1, len(data) // n)
    return [(data[i:i + size], 0.1) for i in range(0, len(data), size)]


def to_tag(resp):
    m = re.search(r"tag=([^;>\s]+)", (resp.headers.get("to") or [""])[0])
    return m.group(1) if m else None


def finish_invite(sock, sent, resp):
    """ACKs a final response to one of our INVITEs; a 2xx is also hung up (BYE)."""
    text = sent.decode("utf-8", "replace")
    call_id = re.search(r"(?m)^Call-ID: (\S+)", text).group(1)
    from_tag = re.search(r"(?m)^From: .*;tag=(\S+)", text).group(1)
    branch = re.search(r"(?m)^Via: .*;branch=([^;\s]+)", text).group(1)
    tag = to_tag(resp)
    port = sock.server[1]
    if resp.code >= 300:
        sock.send(T.sip_message("ACK", uri(port), local_port=sock.local_port, transport=sock.transport,
                                call_id=call_id, branch=branch, from_tag=from_tag, to_tag=tag))
        return
    contact = re.search(r"<([^>]+)>", (resp.headers.get("contact") or ["<%s>" % uri(port)])[0]).group(1)
    sock.send(T.sip_message("ACK", contact, local_port=sock.local_port, transport=sock.transport,
                            call_id=call_id, from_tag=from_tag, to_tag=tag))
    sock.send(T.sip_message("BYE", contact, local_port=sock.local_port, transport=sock.transport,
                            call_id=call_id, from_tag=from_tag, to_tag=tag, cseq=2))
    sock.recv(2)


def send_case(v, case):
    """Sends the case; returns (final response or None, all responses)."""
    try:
        sock = T.SipSocket(v.sip_port, case.transport)
    except OSError as e:
        T.fail("cannot open a %s connection to vcsd: %s" % (case.transport, e))
    try:
        data = case.build(v.sip_port, sock.local_port)
        pieces = data if isinstance(data, list) else [(data, 0)]
        try:
            for chunk, pause in pieces:
                sock.send(chunk)
                if pause:
                    time.sleep(pause)  # pacing of TCP fragments, not an assertion
        except OSError:
            return None, []   # vcsd closed the connection: a fine answer to garbage
        wait = 0.5 if case.expect is None else 1.0 if case.optional else 3.0
        got = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            r = sock.recv(deadline - time.monotonic())
            if r is None:
                break
            got.append(r)
            if r.code >= 200:
                break
        final = next((r for r in got if r.code >= 200), None)
        if final is not None and pieces[0][0].startswith(b"INVITE"):
            try:
                finish_invite(sock, pieces[0][0], final)
            except (OSError, AttributeError):
                pass
        return final, got
    finally:
        sock.close()


def options_ok(v):
    for _ in range(3):
        r = T.sip_options(v.sip_port, "UDP", timeout=2)
        if r is not None:
            return r
    return None


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    problems = []
    for case in corpus():
        final, got = send_case(v, case)
        code = final.code if final else None
        T.log("%-55s -> %s" % (case.name, code if code else "no final answer"))
        if case.expect is not None:
            if code is None and not case.optional:
                problems.append("%s: expected one of %s, got no answer" % (case.name, _codes(case.expect)))
            elif code is not None and code not in case.expect:
                problems.append("%s: expected %s, got %d %s" % (case.name, _codes(case.expect), code,
                                                                final.reason))
        elif code is not None and 200 <= code < 300 and case.name.startswith(("INVITE", "TCP INVITE")):
            problems.append("%s: a malformed INVITE was answered %d" % (case.name, code))
        if not v.alive():
            v.check_alive("after %r" % case.name)
        r = options_ok(v)
        if r is None or r.code != 200:
            T.fail("after %r vcsd no longer answers OPTIONS with 200 (got %s)%s"
                   % (case.name, r.code if r else "nothing",
                      "\n  earlier problems:\n  " + "\n  ".join(problems) if problems else ""))
    st = v.try_health()
    T.check(st and st[0] == 200, "health after the corpus: %s" % (st,))
    T.check(not problems, "wrong answers to %d of the malformed messages:\n  %s"
            % (len(problems), "\n  ".join(problems)))


def _codes(expect):
    if expect == ANY4XX:
        return "a 4xx"
    if expect == ERR:
        return "an error (4xx-6xx)"
    return "/".join(str(c) for c in expect)


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
