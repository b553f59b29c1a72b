#!/usr/bin/env python3
"""Self-check of the e2e harness itself, runnable before vcsd exists: every caller scenario
against a SIPp UAS standing in for vcsd (scenarios/selfcheck_uas_*.xml and SIPp's built-in
uas with RTP echo), the RTP peer and stream analysis against each other, raw SIP sockets, and
the Vcsd process wrapper against selfcheck_fake_vcsd.py. Exit 0 when the harness works."""

import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

FAKE = [sys.executable, os.path.join(T.HERE, "selfcheck_fake_vcsd.py")]


def ok(what):
    T.log("ok: " + what)


def g711_and_analysis(t):
    for b in range(256):
        if b != 0x7F:
            T.check_eq(T.ulaw_encode_sample(T.ULAW_DECODE[b]), b, "mu-law round trip of %02x" % b)
        T.check_eq(T.alaw_encode_sample(T.ALAW_DECODE[b]), b, "A-law round trip of %02x" % b)
    frame = T.tone(1000, 160)
    T.check_eq(T.dominant(T.decode_payload(0, T.ulaw_encode(frame)), [500, 1000, 1500]), 1000,
               "dominant frequency of a 1 kHz mu-law frame")
    T.check(T.dominant([0] * 160, [1000]) is None, "silence has no dominant frequency")

    def pkts(seqs, gap_ts=False):
        out = []
        for i, s in enumerate(seqs):
            ts = 1000 + 160 * (s - seqs[0]) + (7 if gap_ts and i == 5 else 0)
            out.append(T.RtpPacket(i * 0.02, s & 0xFFFF, ts, 42, i == 0, 0,
                                   T.ulaw_encode(T.tone(1000, 160, start=160 * i)), None))
        return out
    good = T.StreamStats(pkts(list(range(65530, 65550))))  # wraps around 65535
    T.check_stream(good, min_packets=20, what="synthetic stream")
    gap = T.StreamStats(pkts(list(range(10)) + list(range(12, 20))))
    T.check_eq(gap.lost, 2, "lost packets detected in a stream with a gap")
    badts = T.StreamStats(pkts(list(range(20)), gap_ts=True))
    T.check(len(badts.bad_ts) >= 1, "a timestamp jump is detected")
    silent = [p._replace(payload=b"\xff" * 160) for p in pkts(list(range(20)))]
    try:
        T.check_stream(T.StreamStats(silent), min_packets=20, paced=False)
        T.fail("a silent stream passed check_stream")
    except T.TestFailure:
        pass
    T.check_eq(T.frequency_runs([None, 500, 500, 500, 1000, 1000, 1000, 1000, 700, 500, 500, 500]),
               [500, 1000, 500], "frequency runs")
    T.check(T.contains_run([1, 2, 3, 4], [2, 3]) and not T.contains_run([1, 2, 3], [3, 2]),
            "contains_run")
    def flagged(line):
        return any(p.search(line) for p in T.SANITIZER_PATTERNS)
    T.check(flagged("src/sip/sdp.c:12:5: runtime error: signed integer overflow"), "UBSan line")
    T.check(flagged("==7==ERROR: AddressSanitizer: heap-use-after-free"), "ASan line")
    T.check(not flagged("script err_before.lua:3: runtime error: boom"),
            "a Lua script error is not a sanitizer report")
    ok("G.711 tables, Goertzel, stream analysis (gaps, timestamps, silence, wrap-around), "
       "sanitizer patterns")


def rtp_peer_loop(t):
    a, b = t.rtp_peer(), t.rtp_peer()
    a.send_tone(("127.0.0.1", b.port), 1.0, freq=1000)
    a.wait_sent(5)
    b.wait_packets(50, 3)
    st = T.StreamStats(b.packets())
    T.check_stream(st, min_packets=50, what="RtpPeer to RtpPeer")
    doms = [T.dominant(f, [500, 1000, 1500]) for f in st.frames()]
    T.check(doms.count(1000) >= 48, "1 kHz tone received as 1 kHz: %s" % doms)
    T.check_eq(st.sources, [("127.0.0.1", a.port)], "packets come from the sending peer's socket")
    ok("RtpPeer paced tone to another RtpPeer: %s" % st.describe())


def answer_and_play(t):
    """The analysis of test_answer_play against a real C RTP sender: SIPp's rtp_stream plays a
    1 kHz mu-law WAV (SIPp sets no marker bit, so that check is left out here)."""
    wav = t.path("tone_ulaw.wav")
    T.ulaw_wav(wav, T.tone(1000, 8000 * 6))
    uas = t.sipp_uas("selfcheck_uas_play", tmpl={"wav": wav}, timeout=20).start()
    peer = t.rtp_peer()
    call = t.sipp("uac_call", "127.0.0.1:%d" % uas.port, "1000", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 2500}).start()
    port = call.rtp_port()
    call.wait_ok(what="uac_call against a playing UAS")
    uas.wait_ok(what="selfcheck_uas_play")
    st = T.StreamStats(peer.packets())
    T.check_stream(st, min_packets=100, marker=False, what="SIPp rtp_stream")
    T.check_eq(st.sources, [("127.0.0.1", port)], "RTP source is the SDP port")
    doms = [T.dominant(f, [500, 1000, 1500, 2000]) for f in st.frames()]
    T.check(doms.count(1000) >= 0.8 * len(doms), "1 kHz frames: %s" % T.frequency_runs(doms, 1))
    ok("uac_call vs a UAS playing a prompt: %s" % st.describe())


def call_and_echo(t):
    """uac_call against SIPp's built-in UAS with RTP echo: the answer's media port is learned
    from the RTPPORT log line, and audio sent there comes back (what test_echo does)."""
    uas = t.sipp_uas(builtin="uas", rtp_echo=True, timeout=40).start()
    peer = t.rtp_peer()
    call = t.sipp("uac_call", "127.0.0.1:%d" % uas.port, "1001", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 3000}).start()
    port = call.rtp_port()
    T.check_eq(port, uas.media_port, "RTPPORT logged from the 200 OK SDP")
    pattern = [(500, 0.2), (1000, 0.2), (1500, 0.2), (700, 0.2), (1200, 0.2), (900, 0.2)]
    peer.send_pattern(("127.0.0.1", port), pattern)
    peer.wait_sent(5)
    call.wait_ok(what="uac_call against sipp -sn uas")
    st = T.StreamStats(peer.packets())
    T.check_stream(st, min_packets=55, what="echo from SIPp")
    cands = [f for f, _ in pattern]
    runs = T.frequency_runs([T.dominant(f, cands) for f in st.frames()])
    T.check(T.contains_run(runs, cands), "echoed frequency pattern %s contains %s" % (runs, cands))
    cid = call.call_id()
    T.check(cid in call.call_ids() and "@" in cid, "CALLID logged: %r" % cid)
    answers = [r for r in call.responses("INVITE") if r.code == 200]
    sdp = T.parse_sdp(answers[0].body)
    T.check_eq(sdp["port"], port, "SDP parsed from the message trace")
    T.check_eq(sdp["rtpmap"].get(0), "PCMU", "PCMU in the answer")
    T.check_eq(call.find_log("^DONE$") != [], True, "DONE logged")
    uas.kill()
    ok("uac_call vs sipp -sn uas: answer port %d, echo pattern %s" % (port, runs))


def cancel(t):
    uas = t.sipp_uas("selfcheck_uas_ring", timeout=20).start()
    call = t.sipp("uac_cancel", "127.0.0.1:%d" % uas.port, "5000", tmpl={"cancel_after_ms": 200})
    call.run_ok(what="uac_cancel against a ringing UAS")
    T.check_eq(call.final_codes(), [487], "final responses to the INVITE")
    T.check(call.find_log(r"^RINGING 180$"), "RINGING logged")
    uas.wait_ok(what="selfcheck_uas_ring (CANCEL, 487, ACK seen)")
    ok("uac_cancel: 180, CANCEL, 200, 487, ACK matched by the UAS")


def expect_code(t):
    uas = t.sipp_uas("selfcheck_uas_code", tmpl={"code": 404}, timeout=20).start()
    call = t.sipp("uac_expect_code", "127.0.0.1:%d" % uas.port, "9999", tmpl={"code": 404})
    call.run_ok(what="uac_expect_code 404 against a 404 UAS")
    uas.wait_ok(what="selfcheck_uas_code (ACK for the 404 seen)")
    T.check_eq(call.find_log(r"^FINAL (\d+)$")[0].group(1), "404", "FINAL logged")
    # A mismatch must fail and show the code seen.
    uas2 = t.sipp_uas("selfcheck_uas_code", tmpl={"code": 500}, timeout=20).start()
    bad = t.sipp("uac_expect_code", "127.0.0.1:%d" % uas2.port, "9999", tmpl={"code": 404},
                 timeout=10)
    rc = bad.run()
    T.check(rc != 0, "uac_expect_code 404 must fail when the answer is 500 (rc %s)" % rc)
    T.check_eq(bad.final_codes(), [500], "final code seen in the failing run")
    uas2.kill()
    ok("uac_expect_code: 404 passes, 500-instead-of-404 fails with rc %d" % rc)


def wait_bye(t):
    uas = t.sipp_uas("selfcheck_uas_bye", tmpl={"bye_after_ms": 500}, timeout=20).start()
    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", "127.0.0.1:%d" % uas.port, "2001", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 5000})
    call.run_ok(what="uac_wait_bye against a UAS that hangs up")
    uas.wait_ok(what="selfcheck_uas_bye (200 to its BYE)")
    T.check(call.find_log("^GOTBYE$"), "GOTBYE logged")
    T.check_eq(len(call.requests_received("BYE")), 1, "one BYE received")
    # Several calls at once, as test_runaway places them.
    uas = t.sipp_uas("selfcheck_uas_bye", tmpl={"bye_after_ms": 300}, calls=3, timeout=20).start()
    many = t.sipp("uac_wait_bye", "127.0.0.1:%d" % uas.port, "3000", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 5000}, calls=3, limit=3, rate=20)
    many.run_ok(what="three concurrent uac_wait_bye calls")
    uas.wait_ok(what="selfcheck_uas_bye x3")
    T.check_eq(len(set(many.call_ids())), 3, "three distinct Call-IDs logged")
    ok("uac_wait_bye: BYE from the far end answered 200 (1 call, then 3 concurrent)")


def options(t):
    for code, transport in ((200, "u1"), (503, "u1"), (200, "t1")):
        uas = t.sipp_uas("selfcheck_uas_options", tmpl={"code": code}, transport=transport,
                         timeout=20).start()
        probe = t.sipp("options", "127.0.0.1:%d" % uas.port, "keepalive", tmpl={"code": code},
                       transport=transport)
        probe.run_ok(what="options %d over %s" % (code, transport))
        m = probe.find_log(r"^OPTIONS (\d+) ALLOW (.*)$")
        T.check(m and m[0].group(1) == str(code) and "INVITE" in m[0].group(2),
                "OPTIONS code and Allow logged: %s" % probe.log_lines())
        uas.wait_ok(what="selfcheck_uas_options")
    uas = t.sipp_uas("selfcheck_uas_options", tmpl={"code": 200}, timeout=20).start()
    r = T.wait_until(lambda: T.sip_options(uas.port, "UDP", timeout=1), 5, "raw UDP OPTIONS answer")
    T.check_eq(r.code, 200, "raw UDP OPTIONS")
    T.check("INVITE" in r.headers.get("allow", [""])[0], "Allow parsed from a raw response")
    uas.wait_ok(what="selfcheck_uas_options (raw)")
    uas = t.sipp_uas("selfcheck_uas_options", tmpl={"code": 200}, transport="t1", timeout=20).start()
    r = T.wait_until(lambda: _try_tcp_options(uas.port), 5, "raw TCP OPTIONS answer")
    T.check_eq(r.code, 200, "raw TCP OPTIONS")
    uas.wait_ok(what="selfcheck_uas_options (raw TCP)")
    ok("options.xml 200/503 over UDP and TCP; raw SIP OPTIONS over UDP and TCP")


def _try_tcp_options(port):
    try:
        return T.sip_options(port, "TCP", timeout=1)
    except OSError:
        return None


def hold(t):
    uas = t.sipp_uas("selfcheck_uas_hold", timeout=30).start()
    peer = t.rtp_peer()
    call = t.sipp("uac_hold", "127.0.0.1:%d" % uas.port, "1000", keys={"rtp_port": peer.port},
                  tmpl={"before_hold_ms": 300, "hold_ms": 500, "after_ms": 300})
    call.run_ok(what="uac_hold against a UAS")
    uas.wait_ok(what="selfcheck_uas_hold")
    T.check_eq(call.find_log(r"^HOLD_DIR (\S*) ")[0].group(1), "recvonly", "HOLD_DIR")
    T.check_eq(call.find_log(r"^UNHOLD_DIR (\S*) ")[0].group(1), "sendrecv", "UNHOLD_DIR")
    ok("uac_hold: sendonly answered recvonly, sendrecv answered sendrecv")


def vcsd_wrapper(t):
    t.vcsd_override = FAKE
    v = t.vcsd(dialplans={"routes": T.routes_lua(("^1000$", "hello")),
                          "hello": "return function(call) call:answer() end\n"},
               config="return { script = { max_instructions = 1000000 } }\n",
               sounds={"welcome.wav": lambda p: T.tone_wav(p, 0.5)})
    st, body = v.health()
    T.check_eq((st, body.get("status")), (200, "ok"), "health through the token")
    st, body = v.api("GET", "/v1/health", token="wrong")
    T.check_eq(st, 401, "health with a wrong token")
    st, body = v.reload()
    T.check_eq((st, body.get("scripts")), (200, ["hello"]), "reload result")
    mark = v.mark()
    v.sighup()
    v.wait_log(r"reload ok", 5, since=mark)
    rows = v.cdrs()
    T.check_eq(len(rows), 1, "CDR rows read read-only")
    T.check_eq(rows[0]["vars"], {"k": "v"}, "vars parsed from JSON")
    T.check_cdr_times(rows[0], answered=True)
    T.check_eq(v.wait_cdr("fake-call@127.0.0.1")["hangup_cause"], "normal_clearing", "wait_cdr")
    T.check(os.path.exists(os.path.join(v.sounds, "welcome.wav")), "sound overlay written")
    v.sigterm()
    T.check_eq(v.wait_exit(10), 0, "exit code after SIGTERM")
    v.start()
    pid1 = v.pid
    v.kill9()
    T.check_eq(v.exit_codes[-1], -signal.SIGKILL, "kill -9 recorded")
    v.restart()
    T.check(v.pid != pid1 and v.alive(), "restarted with a new pid")
    T.check_eq(len(v.cdrs()), 3, "same data dir after restarts (one row per fake start)")
    v.stop()
    T.check(not t.sanitizer_failures, "no sanitizer report yet")
    # A sanitizer report in the log must be caught.
    os.environ["FAKE_VCSD_REPORT"] = "1"
    try:
        w = t.vcsd(dialplans={"routes": "return {}\n"}, name="vcsd-report")
        w.stop()
    finally:
        del os.environ["FAKE_VCSD_REPORT"]
    T.check(t.sanitizer_failures and "LeakSanitizer" in t.sanitizer_failures[0],
            "sanitizer report detected: %s" % t.sanitizer_failures)
    t.sanitizer_failures.clear()
    t.daemons.remove(w)  # its report was expected; the final scan must not count it
    os.environ["FAKE_VCSD_EXIT"] = "3"
    try:
        w = t.vcsd(dialplans={"routes": "return {}\n"}, name="vcsd-exit3")
        w.stop()
    finally:
        del os.environ["FAKE_VCSD_EXIT"]
    T.check(w.stop_problem and "code 3" in w.stop_problem, "bad exit noted: %r" % w.stop_problem)
    t.daemons.remove(w)
    ok("Vcsd wrapper against the fake daemon: start, token, api, reload, SIGHUP log, CDR read, "
       "SIGTERM exit 0, kill -9, restart, sanitizer scan, bad exit code at stop")


def run(t):
    for step in (g711_and_analysis, rtp_peer_loop, vcsd_wrapper, answer_and_play, call_and_echo, cancel,
                 expect_code, wait_bye, options, hold):
        T.log("--- %s" % step.__name__)
        step(t)


if __name__ == "__main__":
    T.main(run, timeout=240)
