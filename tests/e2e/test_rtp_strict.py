#!/usr/bin/env python3
"""Strict RTP (SPEC 5.5: VCS anchors every stream). An attacker on another loopback address
sprays every port of a small --rtp-ports range (40 ports) with RTP, alternating audio (a tone
of its own) and RFC 4733 key events, from before the first call until after the last:
  1. an IVR call (3000: read_digits of 4 keys, a 2 s recording, then a "secret" prompt standing
     for a verification code): the attacker's packets reach the call's port both before the
     caller's first packet and all through the call. The code read is the caller's, the
     recording holds only the caller's tone, the attacker receives nothing at all, and
     /metrics counted at least every attacker packet sent to the call's port while it was up;
  2. a re-INVITE moving the media to another port (3001: keys before and after the move): after
     it the caller's new socket is heard and gets the audio, while its old socket, still
     sending keys, is dropped and gets nothing more."""

import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"ask": 500, "next": 600, "secret": 700}
VOICE = 1900
ATTACK_TONE = 3100
ATTACK_KEY = "9"

DIALPLANS = {
    "routes": T.routes_lua(("^3000$", "ivr"), ("^3001$", "move")),
    "ivr": """return function(call)
  call:answer()
  local code = call:read_digits{ prompt = "ask", min = 4, max = 4, timeout = 10000,
                                 digit_timeout = 5000 }
  call:set("code", code or "nil")
  local msg = call:record{ beep = false, max_seconds = 2, silence_seconds = 0, terminators = "" }
  call:set("rec", msg.path)
  call:set("rec_reason", msg.reason)
  call:play("secret")
end
""",
    "move": """return function(call)
  call:answer()
  local a = call:read_digits{ prompt = "ask", max = 2, timeout = 10000 }
  call:set("before", a or "nil")
  local b = call:read_digits{ prompt = "next", max = 2, timeout = 15000 }
  call:set("after", b or "nil")
  call:play("secret")
end
""",
}


class Sprayer:
    """From 127.0.0.2, every 20 ms one RTP packet to each port lo..hi (a stream per port: own
    SSRC, sequence and timestamps): even rounds a tone, odd rounds the end packet of a new key
    event (marker set, new event timestamp), so that any packet admitted would be heard as
    audio or counted as a key. Records when each round went out; whatever vcsd sends back
    waits in the socket's buffer for received()."""

    def __init__(self, lo, hi):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.2", 0))
        self.ports = list(range(lo, hi + 1))
        self.rounds = []          # (monotonic start, monotonic end) per round
        self._stop = threading.Event()
        self._audio = T.ulaw_encode(T.tone(ATTACK_TONE, 160))
        self._tx = threading.Thread(target=self._send_loop, name="sprayer-tx", daemon=True)
        self._tx.start()

    def _send_loop(self):
        ssrc = {p: (0x5EED0000 + p) & 0xFFFFFFFF for p in self.ports}
        start = time.monotonic()
        r = 0
        while not self._stop.is_set() and r < 6000:  # bounded: 2 minutes at most
            due = start + r * 0.02
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            t0 = time.monotonic()
            for p in self.ports:
                if r % 2 == 0:
                    pkt = T.build_rtp(r, r * 160, ssrc[p], 0, self._audio)
                else:
                    ev = T.dtmf_payload(T.dtmf_code(ATTACK_KEY), True, 800)
                    pkt = T.build_rtp(r, r * 160, ssrc[p], 101, ev, marker=True)
                try:
                    self.sock.sendto(pkt, ("127.0.0.1", p))
                except OSError:
                    pass  # an ICMP error from an earlier packet to a closed port
            self.rounds.append((t0, time.monotonic()))
            r += 1

    def rounds_between(self, t1, t2):
        """Rounds sent entirely inside [t1, t2]: one packet to each port each."""
        return sum(1 for a, b in list(self.rounds) if a >= t1 and b <= t2)

    def stop(self):
        self._stop.set()
        self._tx.join(5)

    def received(self):
        """(source, length) of every datagram that reached the attacker's socket."""
        self.sock.setblocking(False)
        got = []
        while len(got) < 100000:
            try:
                data, src = self.sock.recvfrom(65536)
            except BlockingIOError:
                break
            except OSError:
                continue  # an ICMP error reported on the socket, not a datagram
            got.append((src, len(data)))
        return got


def metric(v, name):
    status, text = v.api("GET", "/metrics")
    T.check_eq(status, 200, "GET /metrics")
    m = re.search(r"(?m)^%s (\d+)$" % re.escape(name), text)
    T.check(m is not None, "/metrics has no %s:\n%s" % (name, text))
    return int(m.group(1))


def reinvite(uac, rtp_port):
    """A re-INVITE offering rtp_port, ACKed; returns the 200's parsed SDP answer."""
    r = uac.request("INVITE", body=T.sdp_offer(rtp_port), content_type="application/sdp")
    T.check_eq(r.code, 200, "answer to the re-INVITE moving the media")
    # SipUac has no re-INVITE of its own: ACK it the way invite() does (and re-ACK a
    # retransmitted 200 with this ACK).
    uac._ack = uac._build("ACK", uac.cseq, "z9hG4bK-uac-ack-%d" % uac.cseq)
    uac._send(uac._ack)
    return T.parse_sdp(r.body)


def ivr_call(t, v, spray):
    peer = t.rtp_peer()
    tr = T.ToneTracker(peer, PROMPTS.values())
    uac = t.uac(v, "3000", peer.port)
    tr.ended = uac.ended
    uac.invite()
    t_answer = time.monotonic()
    # The attacker's packets reach the new call's port before the caller's first packet.
    T.wait_until(lambda: spray.rounds_between(t_answer, time.monotonic()) >= 5, 10,
                 "5 attacker rounds after the answer")
    stream = peer.stream(uac.media)
    tr.wait_run(PROMPTS["ask"], None, 10, "the 'ask' prompt")
    stream.press("1234", "rfc4733")
    stream.audio([(VOICE, 2.6)], wait=False)
    secret = tr.wait_run(PROMPTS["secret"], None, 15, "the secret prompt after the recording")
    uac.wait_bye(15)
    stream.stop()
    sent_to_call = spray.rounds_between(t_answer, secret.start)

    row = v.wait_cdr(uac.call_id)
    vars_ = row["vars"]
    T.check_eq(vars_.get("code"), "1234", "code read while the attacker sent key %s (vars %s)"
               % (ATTACK_KEY, row["vars_raw"]))
    T.check_eq(vars_.get("rec_reason"), "max", "recording end (vars %s)" % row["vars_raw"])
    path = os.path.join(v.data, "recordings", vars_.get("rec") or "?")
    T.check(os.path.isfile(path), "recording %s does not exist" % path)
    rate, channels, samples = T.read_wav(path)
    T.check_eq((rate, channels), (8000, 1), "recording format")
    frames = [samples[i:i + 160] for i in range(0, len(samples) - 159, 160)]
    voiced = attacked = 0
    for f in frames:
        energy = sum(x * x for x in f) * len(f) / 2.0
        if energy <= 0:
            continue
        if T.goertzel(f, ATTACK_TONE) >= 0.1 * energy and T.rms(f) > 100:
            attacked += 1
        if T.dominant(f, [VOICE, ATTACK_TONE]) == VOICE:
            voiced += 1
    T.check(attacked == 0, "the recording holds the attacker's %d Hz tone in %d of %d frames"
            % (ATTACK_TONE, attacked, len(frames)))
    T.check(voiced >= 60, "the recording holds the caller's %d Hz tone in only %d of %d frames"
            % (VOICE, voiced, len(frames)))
    return uac.media[1], sent_to_call


def move_call(t, v, spray):
    old, new = t.rtp_peer(), t.rtp_peer()
    tr_old = T.ToneTracker(old, PROMPTS.values())
    tr_new = T.ToneTracker(new, PROMPTS.values())
    uac = t.uac(v, "3001", old.port)
    tr_old.ended = tr_new.ended = uac.ended
    uac.invite()
    s_old = old.stream(uac.media)
    tr_old.wait_run(PROMPTS["ask"], None, 10, "the 'ask' prompt")
    s_old.press("12", "rfc4733")
    tr_old.wait_run(PROMPTS["next"], None, 10, "the 'next' prompt at the first socket")
    answer = reinvite(uac, new.port)
    t_move = time.monotonic()
    T.check_eq((answer["conn"] or "127.0.0.1", answer["port"]), uac.media,
               "our media address in the answer to the re-INVITE")
    s_new = new.stream(uac.media)
    s_old.press("99", "rfc4733")   # the old socket goes on: it must not count any more
    s_new.press("34", "rfc4733")
    tr_new.wait_run(PROMPTS["secret"], t_move, 15, "the secret prompt at the new socket")
    uac.wait_bye(15)
    s_old.stop()
    s_new.stop()
    row = v.wait_cdr(uac.call_id)
    T.check_eq(row["vars"].get("before"), "12", "keys before the move (vars %s)" % row["vars_raw"])
    T.check_eq(row["vars"].get("after"), "34", "keys after the move (vars %s)" % row["vars_raw"])
    late = [r for r in tr_old.runs(since=t_move + 0.2) if r.freq == PROMPTS["secret"]]
    T.check(not late, "the old socket still got the secret prompt after the move: %s" % late)


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds=T.tone_prompts(PROMPTS, seconds=0.5), rtp_ports=40)
    spray = Sprayer(v.rtp_lo, v.rtp_hi)
    try:
        T.wait_until(lambda: len(spray.rounds) >= 5, 10, "the attacker's first rounds")
        port, sent_to_call = ivr_call(t, v, spray)
        move_call(t, v, spray)
    finally:
        spray.stop()
    received = spray.received()
    spray.sock.close()
    T.check(not received, "the attacker received %d datagrams (first: %s)"
            % (len(received), received[:3]))
    dropped = metric(v, 'vcs_rtp_dropped_total{reason="source"}')
    T.log("attacker: %d rounds of %d packets, %d to the IVR call's port while it was up; "
          "dropped for their source: %d" % (len(spray.rounds), len(spray.ports), sent_to_call, dropped))
    T.check(sent_to_call > 50 and dropped >= sent_to_call,
            "/metrics counted %d packets dropped for their source; the attacker sent %d to the "
            "IVR call's port %d while it was up" % (dropped, sent_to_call, port))


if __name__ == "__main__":
    T.main(run)
