"""vcstest: the harness of the VCS end-to-end tests (Python 3 standard library only).

Every tests/e2e/test_<name>.py is a standalone program that checks one behaviour of a real
`vcsd`, driven by SIPp (signalling) and by Python sockets (RTP, raw SIP):

    import vcstest as T

    def run(t):                       # t: T.Test, owns every process and file of the test
        v = t.vcsd()                  # vcsd on free loopback ports, shipped dialplans
        peer = t.rtp_peer()           # our RTP endpoint; its port goes into the SDP offer
        call = t.sipp("uac_call", v, "1000", keys={"rtp_port": peer.port},
                      tmpl={"duration_ms": 2000})
        call.run_ok()
        ...

    T.main(run)

Exit status: 0 pass, 1 fail (with a message saying what was expected and what happened),
77 skip (sipp missing). Every wait is bounded; the whole test is bounded by VCS_E2E_TIMEOUT.

Environment:
  VCS_TOP_BUILDDIR   where src/vcsd, src/vcsctl and generated sounds/ are (default: repo root)
  VCS_TOP_SRCDIR     where dialplans/, sounds/ and lua/ are (default: repo root)
  VCS_VCSD, VCS_VCSCTL  explicit binaries (override the two above)
  VCS_E2E_KEEP=1     keep the temporary directory even when the test passes
  VCS_E2E_TIMEOUT    bound for one whole test in seconds (default 180)
  VCS_E2E_START_TIMEOUT  bound for vcsd to become healthy in seconds (default 20)

IVR and DTMF tests use three more pieces: RtpPeer.stream() (RtpStream: a phone's continuous
RTP with key presses as RFC 4733 events or in-band tones), SipUac (a call placed over raw SIP,
with INFO and BYE whenever the test wants; t.uac()), and ToneTracker (which test prompt, each a
tone of its own, vcsd is playing: the order of prompts from the audio). scenarios/uac_dtmf.xml
runs SIPp steps made by sipp_steps() (pauses, INFO with DTMF, BYE or wait for BYE).

SIPp scenarios (scenarios/*.xml) take two kinds of parameters: SIPp keywords (-key NAME VALUE,
written [NAME], substituted in message text, e.g. [rtp_port]) and template values written
{{name|default}}, which this module fills in before SIPp reads the file, because SIPp reads
attributes (status codes, pause and receive timeouts) when it loads the scenario.
"""

import array
import atexit
import collections
import ctypes
import datetime
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SCENARIOS = os.path.join(HERE, "scenarios")

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77

# Sanitizer reports in the vcsd log. UBSan's is "file.c:12:34: runtime error: ..." (with a
# column, unlike a Lua error such as "x.lua:3: ..."), so that a script error that happens to say
# "runtime error" is not taken for one.
SANITIZER_PATTERNS = (re.compile(r"ERROR: AddressSanitizer"),
                      re.compile(r"ERROR: LeakSanitizer|LeakSanitizer: detected"),
                      re.compile(r"\S+:\d+:\d+: runtime error:"),
                      re.compile(r"WARNING: ThreadSanitizer"),
                      re.compile(r"ERROR: MemorySanitizer"))


# ------------------------------------------------------------------------------------------
# Outcomes and bounded waiting

class TestFailure(Exception):
    """The behaviour under test is wrong (or the test could not observe it)."""


class TestSkip(Exception):
    """The test cannot run here (a tool is missing)."""


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a true value (returned) or timeout seconds pass (failure
    naming `what`). The sleep is only the polling interval, never the assertion."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def log(msg):
    print("[e2e %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def tail(path, lines=40, max_bytes=200000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(data.splitlines()[-lines:])


# ------------------------------------------------------------------------------------------
# Locations

def top_builddir():
    return os.path.abspath(os.environ.get("VCS_TOP_BUILDDIR") or REPO)


def top_srcdir():
    return os.path.abspath(os.environ.get("VCS_TOP_SRCDIR") or REPO)


def vcsd_path():
    return os.environ.get("VCS_VCSD") or os.path.join(top_builddir(), "src", "vcsd")


def vcsctl_path():
    return os.environ.get("VCS_VCSCTL") or os.path.join(top_builddir(), "src", "vcsctl")


def sipp_path():
    return shutil.which("sipp")


# ------------------------------------------------------------------------------------------
# Free loopback ports. A port found free can be taken by someone else before we use it; the
# window is short and every user of these helpers binds explicitly, so a clash shows as a
# clear bind error rather than as cross-talk.

def _udp_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _tcp_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


_HANDED_OUT = set()  # never hand a port out twice


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _below_ephemeral():
    """(single ports, RTP blocks): two ranges below the kernel's ephemeral one, which bind(0)
    and connect() hand out to every process on the machine (tests running in parallel too), so
    that nothing else takes a port between our check and the bind of the program we give it to.
    None when the ephemeral range leaves no room below it."""
    eph_lo, _ = _ephemeral_range()
    if eph_lo - 10000 < 8000:
        return None
    split = max(10000, eph_lo - 12000)
    return (10000, split), (split, eph_lo)


def free_port(udp=True, tcp=True):
    """A loopback port free for the asked transports (SIP listens on both), below the ephemeral
    range (see _below_ephemeral) and apart from the RTP blocks."""
    ranges = _below_ephemeral()
    rnd = random.SystemRandom()
    for _ in range(500):
        if ranges:
            port = rnd.randrange(*ranges[0])
        else:
            kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
        if port in _HANDED_OUT:
            continue
        if (not udp or _udp_free(port)) and (not tcp or _tcp_free(port)):
            _HANDED_OUT.add(port)
            return port
    fail("no free loopback port found")


def free_udp_block(n, align=2, lo=None, hi=None):
    """n consecutive free UDP ports starting on a multiple of align, chosen at random and
    checked port by port. By default the block lies below the kernel's ephemeral range, apart
    from the single ports of free_port (see _below_ephemeral); 30000-60000 when the ephemeral
    range leaves no room."""
    if lo is None or hi is None:
        ranges = _below_ephemeral()
        lo, hi = ranges[1] if ranges and ranges[1][1] - ranges[1][0] >= 10 * n else (30000, 60000)
    rnd = random.SystemRandom()
    for _ in range(500):
        start = rnd.randrange(lo, hi - n) // align * align
        if all(_udp_free(p) for p in range(start, start + n)):
            return start
    fail("no block of %d free UDP ports in %d-%d" % (n, lo, hi))


# ------------------------------------------------------------------------------------------
# G.711 and audio helpers

def _ulaw_to_linear(u):
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if (u & 0x80) else (t - 0x84)


def _alaw_to_linear(a):
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t += 0x108
        t <<= seg - 1
    return t if (a & 0x80) else -t


ULAW_DECODE = [_ulaw_to_linear(i) for i in range(256)]
ALAW_DECODE = [_alaw_to_linear(i) for i in range(256)]


def ulaw_encode_sample(s):
    s = max(-32635, min(32635, int(s)))
    sign = 0x80 if s < 0 else 0
    if s < 0:
        s = -s
    s += 0x84
    exp = 7
    mask = 0x4000
    while exp > 0 and not (s & mask):
        exp -= 1
        mask >>= 1
    mant = (s >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


_ALAW_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def alaw_encode_sample(s):
    v = max(-32768, min(32767, int(s))) >> 3
    if v >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        v = -v - 1
    seg = next((i for i, end in enumerate(_ALAW_SEG_END) if v <= end), 8)
    if seg >= 8:
        return 0x7F ^ mask
    a = seg << 4
    a |= ((v >> 1) if seg < 2 else (v >> seg)) & 0x0F
    return a ^ mask


def ulaw_encode(samples):
    return bytes(ulaw_encode_sample(s) for s in samples)


def alaw_encode(samples):
    return bytes(alaw_encode_sample(s) for s in samples)


def decode_payload(pt, payload):
    table = ULAW_DECODE if pt == 0 else ALAW_DECODE if pt == 8 else None
    if table is None:
        return []
    return [table[b] for b in payload]


def tone(freq, n, amp=8000.0, rate=8000, start=0):
    """n samples of a sine at freq Hz, continuing from sample index start (phase-continuous)."""
    w = 2.0 * math.pi * freq / rate
    return [amp * math.sin(w * (start + i)) for i in range(n)]


def rms(samples):
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def goertzel(samples, freq, rate=8000):
    """Power of samples at freq (Goertzel); cheap enough for a few candidates per 20 ms."""
    w = 2.0 * math.pi * freq / rate
    c = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + c * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - c * s1 * s2


def dominant(samples, candidates, rate=8000):
    """The candidate frequency holding most of the frame's energy, or None when no candidate
    holds at least half of it (silence, noise, or something we did not send)."""
    total = sum(x * x for x in samples) * len(samples) / 2.0
    if total <= 0:
        return None
    best, bestp = None, 0.0
    for f in candidates:
        p = goertzel(samples, f, rate)
        if p > bestp:
            best, bestp = f, p
    return best if bestp >= 0.5 * total else None


def write_wav(path, samples, rate=8000):
    """16-bit mono WAV (the prompt format every libsndfile build reads)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    data = array.array("h", (max(-32768, min(32767, int(s))) for s in samples))
    if sys.byteorder != "little":
        data.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def tone_wav(path, seconds, freq=1000, amp=8000.0, rate=8000):
    write_wav(path, tone(freq, int(seconds * rate), amp, rate), rate)


def read_wav(path):
    """(rate, channels, samples as ints, interleaved) of a WAV file in 16-bit PCM, 8-bit PCM,
    A-law or mu-law (format tags 1, 6, 7; WAVE_FORMAT_EXTENSIBLE with those sub-formats)."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:4] == b"RIFF" and data[8:12] == b"WAVE", "%s is not a RIFF/WAVE file" % path)
    pos, fmt, body = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunk = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = chunk
        elif cid == b"data":
            body = chunk
        pos += 8 + size + (size & 1)
    check(fmt is not None and body is not None, "%s has no fmt or data chunk" % path)
    tag, channels, rate = struct.unpack("<HHI", fmt[:8])
    bits = struct.unpack("<H", fmt[14:16])[0]
    if tag == 0xFFFE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if tag == 1 and bits == 16:
        pcm = array.array("h")
        pcm.frombytes(body[:len(body) // 2 * 2])
        if sys.byteorder != "little":
            pcm.byteswap()
        samples = list(pcm)
    elif tag == 1 and bits == 8:
        samples = [(b - 128) << 8 for b in body]
    elif tag == 6:
        samples = [ALAW_DECODE[b] for b in body]
    elif tag == 7:
        samples = [ULAW_DECODE[b] for b in body]
    else:
        fail("%s: WAV format tag %d with %d bits is not one the tests read" % (path, tag, bits))
    return rate, channels, samples


def tone_prompt(freq, seconds=0.3, silence=0.1, lead=0.04, amp=8000.0):
    """A callable(path) for Vcsd(sounds=...): a test prompt of lead seconds of silence, freq Hz
    for seconds, then silence seconds of silence, so that the same prompt played twice in a
    row (also after a barge-in) gives two tone runs (ToneTracker)."""
    def make(path):
        write_wav(path, [0] * int(lead * 8000) + tone(freq, int(seconds * 8000), amp)
                  + [0] * int(silence * 8000))
    return make


def tone_prompts(freqs, seconds=0.3, silence=0.1, lead=0.04):
    """{prompt name: Hz} -> the sounds dict for Vcsd: each prompt a tone_prompt WAV."""
    return {name + ".wav": tone_prompt(f, seconds, silence, lead) for name, f in freqs.items()}


# The English word prompts of say_digits/say_number that tests replace by tones: 0-19, the
# tens to 50 (enough for a time of day), star and pound, 50 Hz apart from 2000 Hz up.
EN_WORDS = [str(i) for i in range(20)] + ["20", "30", "40", "50", "star", "pound"]
EN_WORD_TONES = {"en/" + w: 2000 + 50 * i for i, w in enumerate(EN_WORDS)}


def en_word_prompts(seconds=0.15, silence=0.05, lead=0.0):
    """The sounds dict that turns EN_WORDS into short tones (see EN_WORD_TONES)."""
    return tone_prompts(EN_WORD_TONES, seconds, silence, lead)


def say_digits_names(digits):
    """The prompt names say_digits plays for a digit string in English."""
    return ["en/" + {"*": "star", "#": "pound"}.get(d, d) for d in digits]


def say_number_names(n):
    """The prompt names say_number plays in English, for 0 <= n < 60 (a time of day)."""
    check(0 <= n < 60, "say_number_names covers 0-59, not %r" % n)
    if n < 20:
        return ["en/%d" % n]
    return ["en/%d" % (n // 10 * 10)] + (["en/%d" % (n % 10)] if n % 10 else [])


def ulaw_wav(path, samples):
    """An 8 kHz mono mu-law WAV (format tag 7), the kind SIPp's rtp_stream plays."""
    data = ulaw_encode(samples)
    fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
        f.write(b"data" + struct.pack("<I", len(data)) + data)


# ------------------------------------------------------------------------------------------
# RTP

RtpPacket = collections.namedtuple(
    "RtpPacket", "t seq ts ssrc marker pt payload src")


def parse_rtp(data, t=0.0, src=None):
    """An RtpPacket, or None for anything that is not RTP version 2 (RTCP included)."""
    if len(data) < 12 or (data[0] >> 6) != 2:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    if 72 <= (b1 & 0x7F) <= 76:  # RTCP SR/RR/SDES/BYE/APP sharing the port (rtcp-mux)
        return None
    off = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # header extension
        if len(data) < off + 4:
            return None
        off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
    end = len(data)
    if b0 & 0x20:  # padding
        if end == 0 or data[-1] > end - off:
            return None
        end -= data[-1]
    if off > end:
        return None
    return RtpPacket(t, seq, ts, ssrc, bool(b1 & 0x80), b1 & 0x7F, bytes(data[off:end]), src)


def build_rtp(seq, ts, ssrc, pt, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt,
                       seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


class RtpPeer:
    """One UDP socket on 127.0.0.1: a thread records every RTP packet that arrives, and
    send_* methods send a paced G.711 stream (20 ms, 160 samples) from the same socket, as a
    phone does (symmetric RTP)."""

    def __init__(self, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._lock = threading.Lock()
        self._pkts = []
        self.non_rtp = 0
        self.sent = []  # (monotonic time, seq, ts, freq or None, payload)
        self._stop = threading.Event()
        self._senders = []
        self._streams = []
        self._rx = threading.Thread(target=self._recv_loop, name="rtp-rx-%d" % self.port,
                                    daemon=True)
        self._rx.start()

    def _recv_loop(self):
        while not self._stop.is_set():
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            p = parse_rtp(data, time.monotonic(), src)
            with self._lock:
                if p is None:
                    self.non_rtp += 1
                else:
                    self._pkts.append(p)

    def packets(self, since=None, until=None):
        with self._lock:
            pk = list(self._pkts)
        return [p for p in pk if (since is None or p.t >= since) and (until is None or p.t < until)]

    def count(self):
        with self._lock:
            return len(self._pkts)

    def wait_packets(self, n, timeout, what=None):
        try:
            return wait_until(lambda: self.count() >= n, timeout,
                              what or "%d RTP packets on port %d" % (n, self.port))
        except TestFailure as e:
            fail("%s (received %d)" % (e, self.count()))

    def send_frames(self, dest, frames, pt=0, ptime_ms=20, background=True, ssrc=None):
        """Sends frames, a list of (payload bytes, freq label or None), one per ptime, to dest
        (host, port), with a random SSRC/seq/ts start, ts += samples per frame, marker on the
        first packet. Paced on the monotonic clock: a late frame goes out at once, never in a
        burst of catch-up frames."""
        ssrc = ssrc if ssrc is not None else random.getrandbits(32)
        seq0 = random.getrandbits(16)
        ts0 = random.getrandbits(32)

        step = ptime_ms / 1000.0

        def run():
            start = time.monotonic()
            for i, (payload, label) in enumerate(frames):
                if self._stop.is_set():
                    return
                due = start + i * step
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                elif now - due > step:
                    start = now - i * step  # we were descheduled: shift the clock, no burst
                seq = (seq0 + i) & 0xFFFF
                ts = (ts0 + i * len(payload)) & 0xFFFFFFFF
                try:
                    self.sock.sendto(build_rtp(seq, ts, ssrc, pt, payload, marker=(i == 0)), dest)
                except OSError:
                    return
                with self._lock:
                    self.sent.append((time.monotonic(), seq, ts, label, payload))

        if not background:
            run()
            return None
        th = threading.Thread(target=run, name="rtp-tx-%d" % self.port, daemon=True)
        th.start()
        self._senders.append(th)
        return th

    def send_tone(self, dest, seconds, freq=1000, pt=0, amp=8000.0, background=True):
        return self.send_pattern(dest, [(freq, seconds)], pt, amp, background)

    def send_pattern(self, dest, segments, pt=0, amp=8000.0, background=True):
        """segments: list of (freq Hz, seconds); freq 0 sends silence. Returns the sender thread."""
        enc = ulaw_encode if pt == 0 else alaw_encode
        frames = []
        n = 0
        for freq, seconds in segments:
            for _ in range(int(round(seconds * 50))):
                pcm = tone(freq, 160, amp, start=n) if freq else [0] * 160
                frames.append((enc(pcm), freq or None))
                n += 160
        return self.send_frames(dest, frames, pt, background=background)

    def stream(self, dest, pt=0, dtmf_pt=101, start=True):
        """A phone's continuous outgoing stream to dest from this socket (RtpStream): audio,
        RFC 4733 key presses (on dtmf_pt) and in-band key tones share one SSRC and timeline."""
        st = RtpStream(self, dest, pt=pt, dtmf_pt=dtmf_pt)
        self._streams.append(st)
        if start:
            st.start()
        return st

    def wait_sent(self, timeout):
        for th in self._senders:
            th.join(timeout)
            check(not th.is_alive(), "RTP sender on port %d did not finish in %.1f s"
                  % (self.port, timeout))

    def close(self):
        for st in self._streams:
            st.stop()
        self._stop.set()
        self._rx.join(2)
        for th in self._senders:
            th.join(2)
        self.sock.close()


# ------------------------------------------------------------------------------------------
# DTMF: RFC 4733 events and in-band tones, and a phone's continuous outgoing RTP stream

DTMF_KEYS = "0123456789*#ABCD"  # index = RFC 4733 event code
DTMF_ROWS = (697, 770, 852, 941)
DTMF_COLS = (1209, 1336, 1477, 1633)
DTMF_LAYOUT = ("123A", "456B", "789C", "*0#D")

DtmfEvent = collections.namedtuple("DtmfEvent", "event key end volume duration")


def dtmf_code(key):
    """The RFC 4733 event code of a key (0-9 * # A-D, any case)."""
    k = str(key).upper()
    check(len(k) == 1 and k in DTMF_KEYS, "%r is not a DTMF key (0-9 * # A-D)" % (key,))
    return DTMF_KEYS.index(k)


def dtmf_freqs(key):
    """(row Hz, column Hz) of a key's in-band tone pair."""
    k = str(key).upper()
    for r, row in enumerate(DTMF_LAYOUT):
        c = row.find(k)
        if c >= 0 and len(k) == 1:
            return DTMF_ROWS[r], DTMF_COLS[c]
    fail("%r is not a DTMF key (0-9 * # A-D)" % (key,))


def dtmf_payload(event, end, duration, volume=10):
    """The 4 bytes of an RFC 4733 telephone-event: event, E bit, volume (-dBm0), duration."""
    return struct.pack("!BBH", event, (0x80 if end else 0) | (volume & 0x3F), duration & 0xFFFF)


def parse_dtmf_payload(payload):
    """DtmfEvent of the first event block, or None when shorter than 4 bytes."""
    if len(payload) < 4:
        return None
    event, flags, duration = struct.unpack("!BBH", payload[:4])
    key = DTMF_KEYS[event] if event < 16 else None
    return DtmfEvent(event, key, bool(flags & 0x80), flags & 0x3F, duration)


def dtmf_tone(key, n, amp=5000.0, start=0):
    """n samples of a key's dual tone (each component at amp, about -13 dBm0 in G.711)."""
    lo, hi = dtmf_freqs(key)
    a, b = tone(lo, n, amp, start=start), tone(hi, n, amp, start=start)
    return [x + y for x, y in zip(a, b)]


KeyPress = collections.namedtuple("KeyPress", "key method t_first t_last event_ts")
SentPacket = collections.namedtuple("SentPacket", "t seq ts pt marker payload label")


class RtpStream:
    """A phone's outgoing RTP, sent from an RtpPeer's socket (symmetric RTP): one SSRC,
    sequence numbers +1 per packet, a 20 ms tick clock with timestamps +160 per tick, and a
    packet every tick from start() to stop(): silence unless something is queued.

    press() queues key presses, sent
      - "rfc4733": on dtmf_pt, instead of audio: the first packet with the marker bit, then
        updates whose duration grows by 160 per packet, then the end packet (E bit, final
        duration) three times, all with the timestamp of the tick the key started on (the event
        timestamp); the stream timeline goes on underneath, so audio afterwards continues at
        +160 per tick;
      - "inband": as the key's dual tone in the G.711 audio.
    Each key is followed by gap_ms of silence (the three end packets take 40 ms of it).
    audio() queues tones (segments of (Hz, seconds), 0 Hz = silence), e.g. a message to record.
    Every packet sent is in .sent (SentPacket); every key in .presses (KeyPress: monotonic
    times of its first and last packet, and the event timestamp)."""

    def __init__(self, peer, dest, pt=0, dtmf_pt=101, ptime_ms=20):
        check(pt in (0, 8), "RtpStream sends G.711 only (payload type 0 or 8), not %r" % pt)
        self.peer = peer
        self.dest = dest
        self.pt = pt
        self.dtmf_pt = dtmf_pt
        self.step = ptime_ms / 1000.0
        self.samples = 8 * ptime_ms
        self.ssrc = random.getrandbits(32)
        self.seq0 = random.getrandbits(16)
        self.ts0 = random.getrandbits(32)
        self._enc = ulaw_encode if pt == 0 else alaw_encode
        self._silence = self._enc([0] * self.samples)
        self._q = collections.deque()
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._thread = None
        self.sent = []
        self.presses = []
        self._press_by_tag = {}
        self._press_no = 0
        self.error = None

    def start(self):
        check(self._thread is None, "RtpStream started twice")
        self._thread = threading.Thread(target=self._run, name="rtp-stream-%d" % self.peer.port,
                                        daemon=True)
        self._thread.start()
        return self

    def _run(self):
        start = time.monotonic()
        tick = 0
        event_ts = 0
        first_of = {}
        while not self._stop.is_set():
            due = start + tick * self.step
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > self.step:
                start = now - tick * self.step  # descheduled: shift the clock, no burst
            ts = (self.ts0 + tick * self.samples) & 0xFFFFFFFF
            with self._cv:
                item = self._q.popleft() if self._q else None
            marker = False
            if item is None:
                pt, payload, label = self.pt, self._silence, None
            elif item["kind"] == "audio":
                pt, payload, label = self.pt, item["payload"], item.get("label")
            else:
                if item["first"]:
                    event_ts = ts
                    marker = True
                pt, label = self.dtmf_pt, item["label"]
                payload = dtmf_payload(item["event"], item["end"], item["duration"], item["volume"])
                ts = event_ts
            seq = (self.seq0 + tick) & 0xFFFF
            try:
                self.peer.sock.sendto(build_rtp(seq, ts, self.ssrc, pt, payload, marker), self.dest)
            except OSError as e:
                self.error = e
                return
            t = time.monotonic()
            with self._cv:
                self.sent.append(SentPacket(t, seq, ts, pt, marker, payload, label))
                if item is not None and item.get("press") is not None:
                    idx = item["press"]
                    if idx not in first_of:
                        first_of[idx] = (t, ts if pt == self.dtmf_pt else None)
                    if item.get("last_of_press"):
                        key, method = item["key"], item["method"]
                        t0, ets = first_of.pop(idx)
                        kp = KeyPress(key, method, t0, t, ets)
                        self.presses.append(kp)
                        self._press_by_tag[idx] = kp
                if item is not None and item.get("done") is not None:
                    item["done"].set()
                self._cv.notify_all()
            tick += 1

    def _enqueue(self, items, wait, timeout):
        check(self._thread is not None and self._thread.is_alive(),
              "RtpStream on port %d is not running%s" % (self.peer.port,
                                                         " (%s)" % self.error if self.error else ""))
        if not items:
            return
        done = threading.Event()
        items[-1]["done"] = done
        with self._cv:
            self._q.extend(items)
        if wait:
            bound = timeout if timeout is not None else len(self._q) * self.step + 5.0
            check(done.wait(bound), "RtpStream on port %d did not send what was queued within %.1f s"
                  % (self.peer.port, bound))

    def press(self, keys, method="rfc4733", duration_ms=100, gap_ms=100, volume=10, wait=True,
              timeout=None):
        """Queues key presses (a string of keys). With wait, returns when the last one and its
        gap are sent, with the KeyPress records of these keys; without, returns [] at once
        (the records appear in .presses as the keys go out)."""
        check(method in ("rfc4733", "inband"), "unknown DTMF method %r" % method)
        check(duration_ms >= 40 and duration_ms % 20 == 0, "duration_ms must be a multiple of 20, >= 40")
        n_tone = duration_ms // 20
        n_gap = max(0, gap_ms // 20)
        items = []
        tags = []
        for key in keys:
            code = dtmf_code(key)
            k = DTMF_KEYS[code]
            with self._cv:
                self._press_no += 1
                tag = self._press_no
            tags.append(tag)
            press_items = []
            if method == "rfc4733":
                for i in range(n_tone):
                    press_items.append({"kind": "event", "event": code, "end": i == n_tone - 1,
                                        "first": i == 0, "duration": self.samples * (i + 1),
                                        "volume": volume, "label": "dtmf:%s" % k})
                for _ in range(2):  # the end packet, three times in all
                    press_items.append(dict(press_items[-1], first=False))
                n_after = max(0, n_gap - 2)
            else:
                pcm = dtmf_tone(k, n_tone * self.samples)
                for i in range(n_tone):
                    press_items.append({"kind": "audio", "label": "tone:%s" % k,
                                        "payload": self._enc(pcm[i * self.samples:(i + 1) * self.samples])})
                n_after = n_gap
            for it in press_items:
                it.update(press=tag, key=k, method=method)
            press_items[-1]["last_of_press"] = True
            items.extend(press_items)
            items.extend({"kind": "audio", "payload": self._silence} for _ in range(n_after))
        self._enqueue(items, wait, timeout)
        with self._cv:
            return [self._press_by_tag[t] for t in tags if t in self._press_by_tag]

    def audio(self, segments, amp=8000.0, wait=True, timeout=None):
        """Queues tones: segments of (freq Hz, seconds); freq 0 is silence."""
        items = []
        n = 0
        for freq, seconds in segments:
            for _ in range(int(round(seconds * 1000 / (self.step * 1000)))):
                pcm = tone(freq, self.samples, amp, start=n) if freq else [0] * self.samples
                items.append({"kind": "audio", "payload": self._enc(pcm), "label": freq or None})
                n += self.samples
        self._enqueue(items, wait, timeout)

    def idle(self):
        with self._cv:
            return not self._q

    def wait_idle(self, timeout=10):
        wait_until(self.idle, timeout, "RtpStream on port %d to send its queue" % self.peer.port)

    def packets(self, pt=None):
        with self._cv:
            return [p for p in self.sent if pt is None or p.pt == pt]

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)


class StreamStats:
    """What a received RTP stream looked like (audio payload types 0 and 8 only)."""

    def __init__(self, packets):
        audio = [p for p in packets if p.pt in (0, 8)]
        self.packets = audio
        self.count = len(audio)
        self.other_pts = sorted({p.pt for p in packets if p.pt not in (0, 8)})
        self.pts = sorted({p.pt for p in audio})
        self.ssrcs = sorted({p.ssrc for p in audio})
        self.sources = sorted({p.src for p in audio if p.src})
        self.lost = 0          # sequence numbers skipped
        self.dups = 0
        self.reordered = 0
        self.bad_ts = []       # (seq, ts step, seq step) where ts step != 160 * seq step
        self.iat_ms = []
        for a, b in zip(audio, audio[1:]):
            self.iat_ms.append((b.t - a.t) * 1000.0)
            if a.ssrc != b.ssrc:
                continue
            d = (b.seq - a.seq) & 0xFFFF
            if d == 0:
                self.dups += 1
            elif d >= 0x8000:
                self.reordered += 1
            else:
                self.lost += d - 1
                dts = (b.ts - a.ts) & 0xFFFFFFFF
                if dts != 160 * d:
                    self.bad_ts.append((b.seq, dts, d))
        self.median_iat_ms = statistics.median(self.iat_ms) if self.iat_ms else None
        self.max_gap_ms = max(self.iat_ms) if self.iat_ms else None
        self.marker_first = bool(audio and audio[0].marker)
        self.payload_sizes = sorted({len(p.payload) for p in audio})
        self.silent_packets = sum(1 for p in audio if _silent_payload(p))
        self.pcm = []
        for p in audio:
            self.pcm.extend(decode_payload(p.pt, p.payload))
        self.rms = rms(self.pcm)

    def frames(self):
        """Decoded samples per packet."""
        return [decode_payload(p.pt, p.payload) for p in self.packets]

    def describe(self):
        return ("%d audio packets, pts %s (other %s), ssrcs %s, lost %d, dups %d, reordered %d, "
                "bad ts steps %d, median inter-arrival %s ms, max gap %s ms, marker on first %s, "
                "payload sizes %s, silent packets %d, rms %.1f" % (
                    self.count, self.pts, self.other_pts, ["%08x" % s for s in self.ssrcs],
                    self.lost, self.dups, self.reordered, len(self.bad_ts),
                    "%.2f" % self.median_iat_ms if self.median_iat_ms is not None else "-",
                    "%.1f" % self.max_gap_ms if self.max_gap_ms is not None else "-",
                    self.marker_first, self.payload_sizes, self.silent_packets, self.rms))


def _silent_payload(p):
    quiet = (0xFF, 0x7F) if p.pt == 0 else (0xD5, 0x55)
    return all(b in quiet for b in p.payload)


def check_stream(st, *, min_packets, paced=True, iat_range=(18.0, 22.0), non_silent=True,
                 min_rms=200.0, marker=True, what="RTP from vcsd"):
    """Asserts a well-formed G.711 stream: enough packets, one SSRC, no sequence gaps,
    timestamps +160 per packet, 160-byte payloads, paced at ~20 ms, audible."""
    d = st.describe()
    check(st.count >= min_packets, "%s: expected at least %d packets, got %s" % (what, min_packets, d))
    check(len(st.ssrcs) == 1, "%s: expected one SSRC: %s" % (what, d))
    check(st.lost == 0 and st.dups == 0 and st.reordered == 0,
          "%s: sequence numbers not continuous: %s" % (what, d))
    check(not st.bad_ts, "%s: timestamp step is not 160 per packet (first bad: %s): %s"
          % (what, st.bad_ts[:3], d))
    check(st.payload_sizes == [160], "%s: expected 160-byte (20 ms) payloads: %s" % (what, d))
    if paced:
        lo, hi = iat_range
        check(lo <= st.median_iat_ms <= hi,
              "%s: median inter-arrival %.2f ms outside %.0f-%.0f ms: %s"
              % (what, st.median_iat_ms, lo, hi, d))
    if non_silent:
        check(st.rms >= min_rms and st.silent_packets < st.count,
              "%s: audio is silent (rms %.1f < %.0f): %s" % (what, st.rms, min_rms, d))
    if marker:
        check(st.marker_first, "%s: first packet has no marker bit: %s" % (what, d))


def frequency_runs(labels, min_run=3):
    """Collapses a per-frame sequence of labels into the runs at least min_run long."""
    runs = []
    cur, n = None, 0
    for lab in labels + [object()]:
        if lab == cur:
            n += 1
            continue
        if cur is not None and n >= min_run:
            if not runs or runs[-1] != cur:
                runs.append(cur)
        cur, n = lab, 1
    return runs


def contains_run(haystack, needle):
    """True when needle occurs in haystack as a contiguous sub-list."""
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def is_subsequence(haystack, needle):
    """True when needle's items occur in haystack in the same order (others may lie between)."""
    it = iter(haystack)
    return all(any(x == y for y in it) for x in needle)


ToneRun = collections.namedtuple("ToneRun", "freq start end frames")


class ToneTracker:
    """Follows the audio vcsd sends to an RtpPeer and tells which test prompt is playing: each
    audio packet is labelled with the candidate frequency it carries (dominant(), None for
    silence or anything else), and consecutive packets with the same frequency form a run
    (ToneRun: freq, arrival times of its first and last packet, packet count). A run needs
    min_frames packets; silence or another label ends it, so a prompt made of a tone followed
    by silence gives one run per play even when it is played twice in a row.
    Tests give every prompt its own frequency (multiples of 50 Hz), so the runs are the order
    in which prompts were played. With other="voice", loud packets that carry no candidate
    (speech from TTS) are labelled "voice"; collapse() merges the runs a sentence breaks into."""

    def __init__(self, peer, candidates, min_frames=3, other=None, other_rms=300.0, ended=None):
        self.ended = ended          # callable: true once the call is over (waits then fail fast)
        self.peer = peer
        self.candidates = list(candidates)
        self.min_frames = min_frames
        self.other = other          # label for loud packets that are no candidate (e.g. speech)
        self.other_rms = other_rms
        self._labels = []  # (arrival time, label) per audio packet
        self._seen = 0

    def _label(self, p):
        pcm = decode_payload(p.pt, p.payload)
        lab = dominant(pcm, self.candidates)
        if lab is None and self.other is not None and rms(pcm) >= self.other_rms:
            lab = self.other
        return lab

    def update(self):
        pk = self.peer.packets()
        for p in pk[self._seen:]:
            if p.pt in (0, 8):
                self._labels.append((p.t, self._label(p)))
        self._seen = len(pk)
        return self

    def labels(self, since=None):
        self.update()
        return [(t, lab) for t, lab in self._labels if since is None or t >= since]

    def runs(self, since=None, until=None):
        self.update()
        out = []
        cur, start, end, n = None, None, None, 0
        for t, lab in self._labels + [(None, object())]:
            if t is not None and ((since is not None and t < since) or (until is not None and t >= until)):
                continue
            if lab == cur and lab is not None:
                end, n = t, n + 1
                continue
            if cur is not None and n >= self.min_frames:
                out.append(ToneRun(cur, start, end, n))
            cur, start, end, n = lab, t, t, 1
        return out

    def sequence(self, since=None, until=None):
        """The frequencies of the runs, in order."""
        return [r.freq for r in self.runs(since, until)]

    def collapse(self, since=None, until=None):
        """sequence() with consecutive equal labels merged (speech pauses between words)."""
        out = []
        for f in self.sequence(since, until):
            if not out or out[-1] != f:
                out.append(f)
        return out

    def _wait(self, look, since, timeout, what):
        ended_at = []

        def poll():
            r = look()
            if r is not None:
                return r
            if self.ended is not None and self.ended():
                # The call is over: what was sent before its BYE has arrived by now.
                ended_at.append(time.monotonic())
                if ended_at[-1] - ended_at[0] > 0.5:
                    fail("the call ended while waiting for %s; runs received since then: %s"
                         % (what, self.sequence(since)))
            return None
        try:
            return wait_until(poll, timeout, what)
        except TestFailure as e:
            if "the call ended" in str(e):
                raise
            fail("%s; runs received since then: %s" % (e, self.sequence(since)))

    def wait_run(self, freq, since=None, timeout=10.0, what=None):
        """The first run of freq that starts at or after since (monotonic time), as soon as it
        has min_frames packets. A run returned may still be growing: pass its start as a later
        since, or its end only once it is over (wait_run_end)."""
        def look():
            for r in self.runs(since):
                if r.freq == freq:
                    return r
            return None
        return self._wait(look, since, timeout, what or "a run of %s from vcsd" % (freq,))

    def wait_run_end(self, freq, since=None, timeout=10.0, what=None):
        """Like wait_run, but returns the run once it is over (a packet with another label
        came after it)."""
        def look():
            for r in self.runs(since):
                if r.freq == freq:
                    return r if self._labels and self._labels[-1][0] > r.end else None
            return None
        return self._wait(look, since, timeout, what or "a run of %s from vcsd to end" % (freq,))

    def last_time(self, freq, since=None):
        """Arrival time of the last packet labelled freq (after since), or None."""
        ts = [t for t, lab in self.labels(since) if lab == freq]
        return ts[-1] if ts else None


# ------------------------------------------------------------------------------------------
# Raw SIP over Python sockets (for malformed input and quick probes)

SipResponse = collections.namedtuple("SipResponse", "code reason headers body raw")


def parse_sip_response(data):
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
    if not m:
        return None
    headers = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            headers.setdefault(_canon_header(k.strip()), []).append(v.strip())
    return SipResponse(int(m.group(1)), m.group(2), headers, body, text)


_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
            "l": "content-length", "c": "content-type", "k": "supported"}


def _canon_header(k):
    k = k.lower()
    return _COMPACT.get(k, k)


def sip_message(method, uri, *, local_port, transport="UDP", call_id=None, cseq=1, branch=None,
                from_tag=None, to_tag=None, extra=(), body=b"", content_type=None,
                max_forwards=70, content_length=None):
    """A request as bytes. extra: header lines without CRLF. content_length overrides the
    computed value (to test bad lengths)."""
    call_id = call_id or "%x@127.0.0.1" % random.getrandbits(64)
    branch = branch or "z9hG4bK-e2e-%x" % random.getrandbits(48)
    from_tag = from_tag or "%x" % random.getrandbits(32)
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s SIP/2.0" % (method, uri),
             "Via: SIP/2.0/%s 127.0.0.1:%d;branch=%s;rport" % (transport, local_port, branch),
             "From: <sip:e2e@127.0.0.1:%d>;tag=%s" % (local_port, from_tag),
             "To: <%s>%s" % (uri, ";tag=" + to_tag if to_tag else ""),
             "Call-ID: %s" % call_id,
             "CSeq: %d %s" % (cseq, method),
             "Contact: <sip:e2e@127.0.0.1:%d>" % local_port]
    if max_forwards is not None:
        lines.append("Max-Forwards: %d" % max_forwards)
    lines.extend(extra)
    if content_type:
        lines.append("Content-Type: %s" % content_type)
    lines.append("Content-Length: %d" % (len(body) if content_length is None else content_length))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def sdp_offer(rtp_port, *, pts=(0, 8, 101), direction="sendrecv", conn_ip="127.0.0.1",
              extra=()):
    lines = ["v=0", "o=- %d 1 IN IP4 127.0.0.1" % random.getrandbits(31), "s=-",
             "c=IN IP4 %s" % conn_ip, "t=0 0",
             "m=audio %s RTP/AVP %s" % (rtp_port, " ".join(str(p) for p in pts))]
    names = {0: "PCMU/8000", 8: "PCMA/8000", 101: "telephone-event/8000", 18: "G729/8000",
             9: "G722/8000"}
    for p in pts:
        if p in names:
            lines.append("a=rtpmap:%d %s" % (p, names[p]))
    lines.extend(extra)
    lines.append("a=%s" % direction)
    return ("\r\n".join(lines) + "\r\n").encode()


class SipSocket:
    """A UDP or TCP client socket on loopback that sends raw bytes and collects responses."""

    def __init__(self, server_port, transport="UDP"):
        self.transport = transport.upper()
        self.server = ("127.0.0.1", server_port)
        if self.transport == "UDP":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
        else:
            self.sock = socket.create_connection(self.server, timeout=5)
        self.local_port = self.sock.getsockname()[1]
        self._buf = b""
        self.closed_by_peer = False

    def send(self, data):
        if self.transport == "UDP":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def _read_tcp_message(self, deadline):
        while True:
            head_end = self._buf.find(b"\r\n\r\n")
            if head_end >= 0:
                m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", self._buf[:head_end])
                clen = int(m.group(1)) if m else 0
                total = head_end + 4 + clen
                if len(self._buf) >= total:
                    msg, self._buf = self._buf[:total], self._buf[total:]
                    return msg
            left = deadline - time.monotonic()
            if left <= 0 or self.closed_by_peer:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                self.closed_by_peer = True
                return None
            if not chunk:
                self.closed_by_peer = True
                return None
            self._buf += chunk

    def recv(self, timeout):
        """One response (SipResponse) or None after timeout. Requests sent to us (e.g. a BYE
        or OPTIONS from the server) are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.transport == "UDP":
                self.sock.settimeout(left)
                try:
                    data, _ = self.sock.recvfrom(65536)
                except socket.timeout:
                    return None
            else:
                data = self._read_tcp_message(deadline)
                if data is None:
                    return None
            r = parse_sip_response(data)
            if r is not None:
                return r

    def request(self, data, timeout=3.0, until_final=True):
        """Sends data and returns the list of responses received until a final one (>= 200)
        or timeout."""
        self.send(data)
        out = []
        deadline = time.monotonic() + timeout
        while True:
            r = self.recv(max(0.0, deadline - time.monotonic()))
            if r is None:
                return out
            out.append(r)
            if until_final and r.code >= 200:
                return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def sip_options(port, transport="UDP", timeout=3.0, user="ping"):
    """Sends one OPTIONS and returns the final SipResponse or None."""
    s = SipSocket(port, transport)
    try:
        msg = sip_message("OPTIONS", "sip:%s@127.0.0.1:%d" % (user, port), local_port=s.local_port,
                          transport=s.transport)
        rs = s.request(msg, timeout)
        finals = [r for r in rs if r.code >= 200]
        return finals[0] if finals else None
    finally:
        s.close()


def parse_sdp(body):
    """{'port': int|None, 'pts': [...], 'rtpmap': {pt: name}, 'direction': str, 'conn': ip}"""
    out = {"port": None, "pts": [], "rtpmap": {}, "direction": "sendrecv", "conn": None}
    for ln in body.replace("\r\n", "\n").split("\n"):
        ln = ln.strip()
        m = re.match(r"m=audio (\d+) RTP/AVP ([\d ]+)", ln)
        if m:
            out["port"] = int(m.group(1))
            out["pts"] = [int(x) for x in m.group(2).split()]
        m = re.match(r"a=rtpmap:(\d+) ([^/\s]+)", ln)
        if m:
            out["rtpmap"][int(m.group(1))] = m.group(2)
        m = re.match(r"a=(sendrecv|sendonly|recvonly|inactive)$", ln)
        if m:
            out["direction"] = m.group(1)
        m = re.match(r"c=IN IP4 (\S+)", ln)
        if m:
            out["conn"] = m.group(1)
    return out


class SipUac:
    """One call placed from Python over SIP/UDP, for what SIPp scenarios make awkward: an INFO
    or a BYE at the moment the test chooses (after it heard a prompt), an SDP offer of the
    test's choice (e.g. no telephone-event, so that keys go in-band).

        uac = T.SipUac(t, v, "1002", peer.port, pts=(0,))
        uac.invite()                       # 200 OK, ACK sent; uac.answer is the parsed SDP
        stream = peer.stream(uac.media)    # our RTP to vcsd's media address
        uac.info_key("5")                  # application/dtmf-relay, Signal=5, Duration=160
        uac.wait_bye(10)                   # the server hung up (answered 200)
        uac.bye()                          # or we hang up

    Requests from the server (BYE, INFO, OPTIONS) are answered 200 by a receiver thread.
    Client transactions are retransmitted (T1 500 ms doubling, up to 4 s) until answered."""

    def __init__(self, test, vcsd, number, rtp_port, pts=(0, 8, 101), caller="15550001111",
                 sdp=None, local_ip="127.0.0.1"):
        self.test = test
        self.server = ("127.0.0.1", vcsd.sip_port)
        self.local_ip = local_ip  # another loopback address plays another source (a carrier)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.sock.settimeout(0.1)
        self.local_port = self.sock.getsockname()[1]
        self.caller = caller
        self.uri = "sip:%s@127.0.0.1:%d" % (number, vcsd.sip_port)
        self.target = self.uri
        self.call_id = "%x@127.0.0.1" % random.getrandbits(64)
        self.from_tag = "%x" % random.getrandbits(32)
        self.to_tag = None
        self.cseq = 0
        self.offer = sdp if sdp is not None else sdp_offer(rtp_port, pts=pts)
        self.answer = None        # parse_sdp() of the 200's body
        self.media = None         # (host, port) from the answer
        self.final = None         # final response to the INVITE
        self.responses = []       # every response received (SipResponse)
        self.requests = []        # (monotonic time, method, raw text) of requests received
        self.bye_received = threading.Event()
        self.state = "idle"       # idle, calling, up, ended
        self._ack = None
        self._cv = threading.Condition()
        self._stop = threading.Event()
        test.uacs.append(self)
        self._rx = threading.Thread(target=self._recv_loop, name="uac-%d" % self.local_port,
                                    daemon=True)
        self._rx.start()

    # -- messages --------------------------------------------------------------------------------
    def _build(self, method, cseq, branch, uri=None, body=b"", content_type=None, extra=(),
               to_tag=True):
        if isinstance(body, str):
            body = body.encode()
        lines = ["%s %s SIP/2.0" % (method, uri or self.target),
                 "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.local_ip, self.local_port, branch),
                 "From: <sip:%s@%s:%d>;tag=%s" % (self.caller, self.local_ip, self.local_port,
                                                  self.from_tag),
                 "To: <%s>%s" % (self.uri, ";tag=" + self.to_tag if to_tag and self.to_tag else ""),
                 "Call-ID: %s" % self.call_id,
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: <sip:%s@%s:%d>" % (self.caller, self.local_ip, self.local_port),
                 "Max-Forwards: 70",
                 "User-Agent: vcs-e2e-uac"]
        lines.extend(extra)
        if content_type:
            lines.append("Content-Type: %s" % content_type)
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def _send(self, data):
        self.sock.sendto(data, self.server)

    def _recv_loop(self):
        while not self._stop.is_set():
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if data.startswith(b"SIP/2.0"):
                r = parse_sip_response(data)
                if r is None:
                    continue
                cseq = r.headers.get("cseq", [""])[0].split()
                if (self._ack is not None and len(cseq) == 2 and cseq[1] == "INVITE"
                        and 200 <= r.code < 300):
                    self._send(self._ack)  # a retransmitted 200: our ACK was lost
                with self._cv:
                    self.responses.append(r)
                    self._cv.notify_all()
            else:
                self._answer_request(data, src)

    def _answer_request(self, data, src):
        text = data.decode("utf-8", "replace")
        head = text.partition("\r\n\r\n")[0]
        lines = head.split("\r\n")
        method = lines[0].split(" ", 1)[0]
        with self._cv:
            self.requests.append((time.monotonic(), method, text))
            self._cv.notify_all()
        if method == "ACK":
            return
        keep = []
        for ln in lines[1:]:
            name = _canon_header(ln.split(":", 1)[0].strip()) if ":" in ln else ""
            if name in ("via", "from", "to", "call-id", "cseq"):
                keep.append(ln)
        resp = "\r\n".join(["SIP/2.0 200 OK"] + keep + ["Content-Length: 0"]) + "\r\n\r\n"
        try:
            self.sock.sendto(resp.encode(), src)
        except OSError:
            return
        if method == "BYE":
            self.state = "ended"
            self.bye_received.set()

    def _responses_for(self, cseq, method):
        out = []
        for r in self.responses:
            c = r.headers.get("cseq", [""])[0].split()
            if len(c) == 2 and c[0] == str(cseq) and c[1] == method:
                out.append(r)
        return out

    def _transact(self, method, data, cseq, timeout):
        """Sends data (retransmitting until a response, or for INVITE a provisional one) and
        returns the final response, or fails after timeout."""
        deadline = time.monotonic() + timeout
        interval = 0.5
        next_send = 0.0
        provisional = False
        while True:
            now = time.monotonic()
            if not provisional and now >= next_send:
                self._send(data)
                next_send = now + interval
                interval = min(interval * 2, 4.0)
            with self._cv:
                rs = self._responses_for(cseq, method)
                finals = [r for r in rs if r.code >= 200]
                if finals:
                    return finals[0]
                if rs and method == "INVITE":
                    provisional = True
                left = min(deadline, next_send if not provisional else deadline) - time.monotonic()
                if time.monotonic() >= deadline:
                    fail("%s to %s: no final response within %.1f s (responses: %s)"
                         % (method, self.uri, timeout, [r.code for r in rs]))
                self._cv.wait(max(0.01, min(left, 0.2)))

    # -- the call ----------------------------------------------------------------------------------
    def invite(self, timeout=10.0, expect=200):
        """Sends the INVITE and ACKs the final response; checks its code is expect (None: any).
        Returns the final SipResponse."""
        check(self.state == "idle", "SipUac: INVITE sent twice")
        self.state = "calling"
        self.cseq += 1
        branch = "z9hG4bK-uac-%x" % random.getrandbits(48)
        msg = self._build("INVITE", self.cseq, branch, uri=self.uri, body=self.offer,
                          content_type="application/sdp", to_tag=False)
        r = self._transact("INVITE", msg, self.cseq, timeout)
        self.final = r
        m = re.search(r";\s*tag=([^;>\s]+)", r.headers.get("to", [""])[0])
        self.to_tag = m.group(1) if m else None
        if 200 <= r.code < 300:
            contact = r.headers.get("contact", [""])[0]
            m = re.search(r"<([^>]+)>", contact) or re.match(r"\s*([^;\s]+)", contact)
            if m:
                self.target = m.group(1)
            ack_branch = "z9hG4bK-uac-%x" % random.getrandbits(48)
            self._ack = self._build("ACK", self.cseq, ack_branch)
            self._send(self._ack)
            self.answer = parse_sdp(r.body)
            check(self.answer["port"], "the 200 OK to the INVITE has no SDP answer:\n%s" % r.raw)
            self.media = (self.answer["conn"] or "127.0.0.1", self.answer["port"])
            self.state = "up"
        else:
            # A non-2xx final is ACKed in the INVITE's own transaction (same branch).
            self._send(self._build("ACK", self.cseq, branch, uri=self.uri))
            self.state = "ended"
        if expect is not None and r.code != expect:
            fail("INVITE %s: expected %d, got %d %s\n%s" % (self.uri, expect, r.code, r.reason, r.raw))
        return r

    def request(self, method, body=b"", content_type=None, extra=(), timeout=5.0):
        """An in-dialog request; returns the final SipResponse."""
        check(self.state == "up", "SipUac: %s outside an established call (state %s)"
              % (method, self.state))
        self.cseq += 1
        branch = "z9hG4bK-uac-%x" % random.getrandbits(48)
        msg = self._build(method, self.cseq, branch, body=body, content_type=content_type,
                          extra=extra)
        return self._transact(method, msg, self.cseq, timeout)

    def info(self, body, content_type="application/dtmf-relay", timeout=5.0):
        return self.request("INFO", body=body, content_type=content_type, timeout=timeout)

    def info_key(self, key, kind="dtmf-relay", duration=160, expect=200):
        """One key as SIP INFO: kind "dtmf-relay" (Signal=K, Duration=D) or "dtmf" (the key as
        the body). Returns the monotonic time the INFO was sent."""
        if kind == "dtmf-relay":
            body, ctype = "Signal=%s\r\nDuration=%d\r\n" % (key, duration), "application/dtmf-relay"
        elif kind == "dtmf":
            body, ctype = "%s" % key, "application/dtmf"
        else:
            fail("unknown INFO kind %r" % kind)
        t = time.monotonic()
        r = self.info(body, ctype)
        if expect is not None and r.code != expect:
            fail("INFO %s %r: expected %d, got %d %s" % (ctype, body, expect, r.code, r.reason))
        return t

    def bye(self, timeout=5.0):
        r = self.request("BYE", timeout=timeout)
        self.state = "ended"
        return r

    def ended(self):
        """True once the server hung up (for ToneTracker(ended=...): waits then fail fast)."""
        return self.bye_received.is_set()

    def wait_bye(self, timeout):
        """Waits for the server's BYE (answered 200 by the receiver); fails when it does not come."""
        if not self.bye_received.wait(timeout):
            fail("no BYE from vcsd within %.1f s (call %s)" % (timeout, self.call_id))
        return self

    def close(self):
        """Hangs up a call still up (so that vcsd is not left draining it), then closes."""
        if self.state == "up" and not self._stop.is_set():
            try:
                self.bye(timeout=2.0)
            except (TestFailure, OSError):
                pass
        self._stop.set()
        self._rx.join(2)
        self.sock.close()


# ------------------------------------------------------------------------------------------
# SIPp

_TEMPLATE = re.compile(r"\{\{(\w+)(?:\|([^}]*))?\}\}")

DEFAULT_KEYS = {"caller": "15550001111", "rtp_port": "9"}


def render_scenario(path, values):
    with open(path, encoding="iso-8859-1") as f:
        text = f.read()
    missing = []

    def sub(m):
        name, default = m.group(1), m.group(2)
        if name in values:
            return str(values[name])
        if default is not None:
            return default
        missing.append(name)
        return m.group(0)

    names = set(m.group(1) for m in _TEMPLATE.finditer(text))
    text = _TEMPLATE.sub(sub, text)
    if missing:
        fail("scenario %s needs template values %s" % (os.path.basename(path), sorted(set(missing))))
    unknown = set(values) - names
    if unknown:
        fail("scenario %s has no template values %s" % (os.path.basename(path), sorted(unknown)))
    return text


def scenario_path(name):
    if os.path.isabs(name) or os.path.exists(name):
        return name
    if not name.endswith(".xml"):
        name += ".xml"
    return os.path.join(SCENARIOS, name)


_SIPP_INDIALOG = """  <send retrans="500">
    <![CDATA[

      %(method)s [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %(cseq)d %(method)s
      [routes]
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
%(ctype)s      Content-Length: [len]
%(body)s
    ]]>
    <action><log message="%(sent)s"/></action>
  </send>
  <recv response="200"%(crlf)s>
    <action><log message="%(ok)s"/></action>
  </recv>
"""


def sipp_steps(*steps):
    """The {{steps}} of scenarios/uac_dtmf.xml, from tuples:
        ("pause", ms)                      wait
        ("info", key)                      INFO application/dtmf-relay "Signal=K\\r\\nDuration=160"
        ("info", key, "dtmf")              INFO application/dtmf "K"
        ("info_raw", content_type, body)   INFO with any body
        ("bye",)                           the caller hangs up (BYE, waits for its 200)
        ("wait_bye", timeout_ms)           waits for the server's BYE and answers 200
    The call must end with "bye" or "wait_bye". CSeqs count from 2 (the INVITE is 1)."""
    out = []
    cseq = 1
    ended = False
    for st in steps:
        check(not ended, "sipp_steps: nothing may follow the end of the call (%r)" % (st,))
        kind = st[0]
        if kind == "pause":
            out.append('  <pause milliseconds="%d"/>\n' % int(st[1]))
        elif kind in ("info", "info_raw"):
            cseq += 1
            if kind == "info":
                key = str(st[1])
                fmt = st[2] if len(st) > 2 else "dtmf-relay"
                check(fmt in ("dtmf-relay", "dtmf"), "sipp_steps: unknown INFO format %r" % fmt)
                if fmt == "dtmf-relay":
                    ctype, body = "application/dtmf-relay", "Signal=%s\nDuration=160\n" % key
                else:
                    ctype, body = "application/dtmf", "%s\n" % key
                label = key
            else:
                ctype, body = st[1], st[2]
                label = "raw"
            check("]]>" not in body, "sipp_steps: an INFO body may not contain ]]>")
            body_lines = "".join("      %s\n" % ln for ln in body.rstrip("\n").split("\n"))
            out.append(_SIPP_INDIALOG % {
                "method": "INFO", "cseq": cseq, "ctype": "      Content-Type: %s\n" % ctype,
                "body": "\n" + body_lines, "sent": "INFO_SENT %s" % label,
                "ok": "INFO_OK %s" % label, "crlf": ""})
        elif kind == "bye":
            cseq += 1
            out.append(_SIPP_INDIALOG % {
                "method": "BYE", "cseq": cseq, "ctype": "", "body": "", "sent": "BYE_SENT",
                "ok": "DONE", "crlf": ' crlf="true"'})
            ended = True
        elif kind == "wait_bye":
            out.append('''  <recv request="BYE" timeout="%d">
    <action><log message="GOTBYE"/></action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
    <action><log message="DONE"/></action>
  </send>
  <timewait milliseconds="500"/>
''' % int(st[1]))
            ended = True
        else:
            fail("sipp_steps: unknown step %r" % (st,))
    check(ended, "sipp_steps: the steps must end the call with ('bye',) or ('wait_bye', ms)")
    return "".join(out)


class Sipp:
    """One SIPp run, in its own directory under the test's temp dir, with explicit ports
    (-p, -mp, -cp) and every trace on: errors, messages, <log> actions, screens.

    Exit codes (SIPp 3.6): 0 every call succeeded, 1 at least one failed, 97 stopped by an
    internal command, 99 stopped with no call processed, 255/254 fatal (bad scenario, bind)."""

    def __init__(self, test, scenario, target=None, service=None, *, keys=None, tmpl=None,
                 calls=1, rate=None, limit=None, timeout=30, transport="u1", builtin=None,
                 extra=(), rtp_echo=False, name=None):
        self.test = test
        self.builtin = builtin
        self.scenario = scenario
        base = name or builtin or os.path.splitext(os.path.basename(scenario))[0]
        self.name = "%s-%d" % (base, test.next_id())
        self.dir = test.path("sipp", self.name)
        os.makedirs(self.dir)
        if builtin is None:
            self.scenario_file = os.path.join(self.dir, base + ".xml")
            with open(self.scenario_file, "w", encoding="iso-8859-1") as f:
                f.write(render_scenario(scenario_path(scenario), tmpl or {}))
        else:
            self.scenario_file = None
        if isinstance(target, Vcsd):
            target = "127.0.0.1:%d" % target.sip_port
        self.target = target
        self.timeout = timeout
        self.port = free_port(udp=True, tcp=True)
        self.media_port = free_udp_block(4, align=2)  # SIPp binds -mp and -mp+2
        self.control_port = free_port(udp=True, tcp=False)
        self.log_file = os.path.join(self.dir, "logs.log")
        self.err_file = os.path.join(self.dir, "errors.log")
        self.msg_file = os.path.join(self.dir, "messages.log")
        self.screen_file = os.path.join(self.dir, "screen.log")
        self.out_file = os.path.join(self.dir, "stdout.log")
        k = dict(DEFAULT_KEYS)
        k.update({n: str(v) for n, v in (keys or {}).items()})
        cmd = [sipp_path()]
        cmd += ["-sn", builtin] if builtin else ["-sf", self.scenario_file]
        if target:
            cmd.append(target)
        cmd += ["-i", "127.0.0.1", "-p", str(self.port), "-mp", str(self.media_port),
                "-cp", str(self.control_port), "-t", transport, "-m", str(calls),
                "-timeout", "%ds" % timeout, "-timeout_error", "-nostdin",
                "-trace_err", "-error_file", self.err_file,
                "-trace_msg", "-message_file", self.msg_file,
                "-trace_logs", "-log_file", self.log_file,
                "-trace_screen", "-screen_file", self.screen_file]
        if target:
            # -aa: a keepalive OPTIONS/UPDATE/INFO inside the dialog is answered, not "unexpected".
            cmd.append("-aa")
        if service is not None:
            cmd += ["-s", str(service)]
        if rate is not None:
            cmd += ["-r", str(rate)]
        if limit is not None:
            cmd += ["-l", str(limit)]
        if rtp_echo:
            cmd.append("-rtp_echo")
        if builtin is None:
            for n, v in sorted(k.items()):
                cmd += ["-key", n, v]
        cmd += list(extra)
        self.cmd = cmd
        self.proc = None
        self.rc = None
        test.sipps.append(self)

    def start(self):
        self._out = open(self.out_file, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        if not self.target:
            # A UAS must be listening before a caller is started against it (over TCP the
            # caller's connect would fail outright).
            tcp = self.cmd[self.cmd.index("-t") + 1].startswith("t")

            def bound():
                if self.proc.poll() is not None:
                    fail("SIPp %s exited (code %s) at start-up\n%s"
                         % (self.name, self.proc.returncode, self.diagnostics()))
                return not (_tcp_free(self.port) if tcp else _udp_free(self.port))
            wait_until(bound, 10, "SIPp %s to listen on port %d" % (self.name, self.port))
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout=None):
        """Exit code; a SIPp still running after its own -timeout plus a margin is killed and
        reported."""
        bound = timeout if timeout is not None else self.timeout + 15
        try:
            self.rc = self.proc.wait(bound)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("SIPp %s still running after %.0f s; killed.\n%s" % (self.name, bound, self.diagnostics()))
        finally:
            self._out.close()
        return self.rc

    def run(self, timeout=None):
        self.start()
        return self.wait(timeout)

    def run_ok(self, timeout=None, what=None):
        rc = self.run(timeout)
        if rc != 0:
            fail("%s: SIPp %s exited %s (0 = every call succeeded)\n%s"
                 % (what or "call", self.name, rc, self.diagnostics()))
        return self

    def wait_ok(self, timeout=None, what=None):
        rc = self.wait(timeout)
        if rc != 0:
            fail("%s: SIPp %s exited %s (0 = every call succeeded)\n%s"
                 % (what or "call", self.name, rc, self.diagnostics()))
        return self

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)

    def log_lines(self):
        try:
            with open(self.log_file, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def find_log(self, regex):
        r = re.compile(regex)
        return [m for m in (r.search(ln) for ln in self.log_lines()) if m]

    def wait_log(self, regex, timeout, what=None):
        """The first match of regex in the <log> lines; fails early when SIPp has exited
        without writing it."""
        r = re.compile(regex)

        def look():
            for ln in self.log_lines():
                m = r.search(ln)
                if m:
                    return m
            if self.proc is not None and self.proc.poll() is not None:
                # One last read: the line may have been written just before the exit.
                for ln in self.log_lines():
                    m = r.search(ln)
                    if m:
                        return m
                fail("SIPp %s exited (code %s) without logging %s\n%s"
                     % (self.name, self.proc.returncode, what or regex, self.diagnostics()))
            return None
        return wait_until(look, timeout, what or "SIPp %s to log %r" % (self.name, regex))

    def rtp_port(self, timeout=10):
        """The server's media port, from the answer SDP (the scenario logs RTPPORT)."""
        return int(self.wait_log(r"RTPPORT (\d+)", timeout, "the 200 OK (RTPPORT)").group(1))

    def call_ids(self):
        return [m.group(1) for m in self.find_log(r"CALLID (\S+)")]

    def call_id(self, timeout=10):
        return self.wait_log(r"CALLID (\S+)", timeout, "CALLID").group(1)

    def messages(self):
        """[(direction 'sent'|'received', text)] from the -trace_msg file."""
        try:
            with open(self.msg_file, encoding="utf-8", errors="replace") as f:
                data = f.read()
        except OSError:
            return []
        out = []
        for block in re.split(r"\n-{20,}[^\n]*\n", "\n" + data):
            m = re.match(r"\s*(UDP|TCP|TLS|SCTP) message (sent|received)[^\n]*\n\n?", block)
            if m:
                out.append((m.group(2), block[m.end():].strip("\n")))
        return out

    def responses(self, method=None):
        """Received responses (SipResponse), optionally only those whose CSeq method matches."""
        out = []
        for direction, text in self.messages():
            if direction != "received" or not text.startswith("SIP/2.0"):
                continue
            r = parse_sip_response(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
            if r is None:
                continue
            if method is not None:
                cseq = r.headers.get("cseq", [""])[0].split()
                if len(cseq) < 2 or cseq[1].upper() != method.upper():
                    continue
            out.append(r)
        return out

    def requests_received(self, method=None):
        out = []
        for direction, text in self.messages():
            if direction == "received" and not text.startswith("SIP/2.0"):
                if method is None or text.startswith(method + " "):
                    out.append(text)
        return out

    def final_codes(self, method="INVITE"):
        return [r.code for r in self.responses(method) if r.code >= 200]

    def diagnostics(self, lines=30):
        parts = ["  command: %s" % " ".join(self.cmd)]
        for label, path in (("error log", self.err_file), ("<log> lines", self.log_file),
                            ("messages", self.msg_file), ("stdout", self.out_file)):
            if os.path.exists(path) and os.path.getsize(path):
                parts.append("  --- SIPp %s (%s), last %d lines ---\n%s"
                             % (label, path, lines, tail(path, lines)))
        return "\n".join(parts)


# ------------------------------------------------------------------------------------------
# vcsd

def _pdeathsig():
    """Child-side: the daemon gets SIGKILL if the test process dies, so no orphan survives a
    killed test run. Only async-signal-safe work: one prctl call through a preloaded handle."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def parse_iso(s):
    """A SPEC 6 timestamp ("2026-11-24T06:15:13.123Z") as an aware UTC datetime."""
    check(isinstance(s, str) and ISO_RE.match(s),
          "timestamp %r is not ISO-8601 UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ)" % (s,))
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def dialplan_files(d):
    """{name: source} -> {file name: source}; "routes" -> routes.lua."""
    return {(k if k.endswith(".lua") else k + ".lua"): v for k, v in d.items()}


def dial_carrier_dialplans(first):
    """Dialplans bridging a call to "<first><port>" (first: one digit) with call:dial to
    sip:carrier@127.0.0.1:<port>; the result's status goes to the CDR var dial_status."""
    return {
        "routes": routes_lua(("^%s\\d{4,5}$" % first, "bridge")),
        "bridge": """return function(call)
  local r = call:dial("sip:carrier@127.0.0.1:" .. call.to:sub(2), { timeout = 20000 })
  call:set("dial_status", r.status)
end
""",
    }


def routes_lua(*routes):
    """routes_lua(("^1000$", "hello"), ("^2\\d+$", "x", {"lang": "zh"})) -> routes.lua source."""
    out = ["return {"]
    for r in routes:
        match, script = r[0], r[1]
        line = "  { match = %s, script = %s" % (lua_str(match), lua_str(script))
        if len(r) > 2 and r[2]:
            line += ", vars = { %s }" % ", ".join("[%s] = %s" % (lua_str(k), lua_str(v))
                                                  for k, v in sorted(r[2].items()))
        out.append(line + " },")
    out.append("}")
    return "\n".join(out) + "\n"


def lua_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Vcsd:
    """A vcsd on free loopback ports with its own data, dialplans and sounds folders under
    the test's temp dir.

    dialplans: None = a copy of the shipped dialplans/; a dict {name: source} = exactly those
    files (name "routes" is routes.lua); overlay: a dict laid over the chosen set.
    sounds: the shipped prompts (builddir/sounds over srcdir/sounds) plus this dict
    {file name: bytes | callable(path)}; a file "welcome.wav" removes any other "welcome.*"
    (and "en/1.wav" any other "en/1.*") so that the prompt played is the one given.
    config: Lua source of a configuration file passed with -c (None: no -c)."""

    def __init__(self, test, dialplans=None, overlay=None, sounds=None, config=None,
                 rtp_ports=200, log_level="debug", start=True, name="vcsd", args=()):
        self.test = test
        self.root = test.path(name)
        os.makedirs(self.root)
        self.data = os.path.join(self.root, "data")
        self.dialplans = os.path.join(self.root, "dialplans")
        self.sounds = os.path.join(self.root, "sounds")
        os.makedirs(self.data)
        self._setup_dialplans(dialplans, overlay)
        self._setup_sounds(sounds or {})
        # The shipped Lua modules (require "vcs.ivr") resolve from ./lua by default.
        lua_src = os.path.join(top_srcdir(), "lua")
        if os.path.isdir(lua_src):
            shutil.copytree(lua_src, os.path.join(self.root, "lua"))
        self.config_file = None
        if config is not None:
            self.config_file = os.path.join(self.root, "vcsd.conf")
            with open(self.config_file, "w") as f:
                f.write(config)
        self.sip_port = free_port(udp=True, tcp=True)
        self.http_port = free_port(udp=False, tcp=True)
        self.rtp_lo = free_udp_block(rtp_ports, align=2)
        self.rtp_hi = self.rtp_lo + rtp_ports - 1
        self.log_level = log_level
        self.extra_args = list(args)  # more vcsd flags, e.g. ["--fake-clock"]
        self.proc = None
        self.pid = None
        self.logs = []          # one log file per start
        self.exit_codes = []
        self._token = None
        self.started_at = None  # wall clock (UTC) when the last start became healthy
        self.stop_problem = None
        test.daemons.append(self)
        if start:
            self.start()

    # -- set-up ------------------------------------------------------------------------------
    def _setup_dialplans(self, dialplans, overlay):
        if dialplans is None:
            src = os.path.join(top_srcdir(), "dialplans")
            check(os.path.isdir(src), "shipped dialplans folder %s is missing" % src)
            shutil.copytree(src, self.dialplans)
        else:
            os.makedirs(self.dialplans)
            self.write_dialplans(dialplans)
        if overlay:
            self.write_dialplans(overlay)

    def write_dialplans(self, d):
        """Writes {name: source} into the dialplans folder (atomically, file by file, so that a
        reload never reads a half-written file)."""
        for fname, src in dialplan_files(d).items():
            path = os.path.join(self.dialplans, fname)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".tmp~"
            with open(tmp, "w") as f:
                f.write(src)
            os.replace(tmp, path)

    def _setup_sounds(self, extra):
        os.makedirs(self.sounds)
        for base in (top_srcdir(), top_builddir()):
            src = os.path.join(base, "sounds")
            if os.path.isdir(src):
                shutil.copytree(src, self.sounds, dirs_exist_ok=True)
        for fname, content in extra.items():
            # "en/1.wav" replaces any other en/1.* in sounds/en/, like "welcome.wav" at the top.
            folder = os.path.join(self.sounds, os.path.dirname(fname))
            os.makedirs(folder, exist_ok=True)
            stem = os.path.splitext(os.path.basename(fname))[0]
            for old in os.listdir(folder):
                if os.path.splitext(old)[0] == stem and old != os.path.basename(fname):
                    os.remove(os.path.join(folder, old))
            path = os.path.join(self.sounds, fname)
            if callable(content):
                content(path)
            else:
                with open(path, "wb") as f:
                    f.write(content)

    # -- process -----------------------------------------------------------------------------
    def argv(self):
        exe = self.test.vcsd_cmd()
        a = list(exe) + ["--sip", "127.0.0.1:%d" % self.sip_port,
                         "--http", "127.0.0.1:%d" % self.http_port,
                         "--data", self.data, "--dialplans", self.dialplans,
                         "--sounds", self.sounds,
                         "--rtp-ports", "%d-%d" % (self.rtp_lo, self.rtp_hi),
                         "--log-level", self.log_level]
        if self.config_file:
            a += ["-c", self.config_file]
        return a + self.extra_args

    @property
    def log_file(self):
        return self.logs[-1] if self.logs else None

    def start(self, timeout=None):
        check(self.proc is None or self.proc.poll() is not None, "vcsd already running")
        timeout = timeout or float(os.environ.get("VCS_E2E_START_TIMEOUT", "20"))
        logpath = os.path.join(self.root, "vcsd.%d.log" % (len(self.logs) + 1))
        self.logs.append(logpath)
        self._logf = open(logpath, "wb")
        argv = self.argv()
        log("starting %s" % " ".join(argv))
        self.proc = subprocess.Popen(argv, cwd=self.root, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=subprocess.STDOUT,
                                     preexec_fn=_pdeathsig)
        self.pid = self.proc.pid
        self._token = None

        def healthy():
            if self.proc.poll() is not None:
                self._exited()
                fail("vcsd exited with code %s during start-up\n%s"
                     % (self.proc.returncode, self.log_tail()))
            tok = os.path.join(self.data, "admin.token")
            if not os.path.exists(tok):
                return False
            try:
                st, _ = self.api("GET", "/v1/health", timeout=2)
            except (OSError, http.client.HTTPException):
                return False
            return st == 200
        wait_until(healthy, timeout, "vcsd to answer GET /v1/health with 200 (log %s)" % logpath,
                   interval=0.1)
        self.started_at = utcnow()
        return self

    def _exited(self):
        if self.proc is not None and self.proc.returncode is not None and not self._logf.closed:
            self._logf.close()
            self.exit_codes.append(self.proc.returncode)
            self.check_sanitizers()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self, what="vcsd"):
        if not self.alive():
            self._exited()
            fail("%s: vcsd is not running (exit code %s)\n%s"
                 % (what, self.proc.returncode if self.proc else None, self.log_tail()))

    def signal(self, sig):
        check(self.alive(), "vcsd is not running (cannot send signal %s)" % sig)
        os.kill(self.pid, sig)

    def sighup(self):
        self.signal(signal.SIGHUP)

    def sigterm(self):
        self.signal(signal.SIGTERM)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.proc.wait(10)
        self._exited()

    def wait_exit(self, timeout):
        """Exit code after the process ends (bounded); fails when it does not."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            fail("vcsd (pid %d) did not exit within %.0f s\n%s" % (self.pid, timeout, self.log_tail()))
        self._exited()
        return rc

    def stop(self, grace=15):
        """SIGTERM, then SIGKILL after grace seconds; only our own PID. Returns the exit code.
        A vcsd that does not exit 0 on this SIGTERM is noted in stop_problem (the test fails
        on it when everything else passed: a crash or a hang at shutdown is a bug)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                rc = self.proc.wait(grace)
                if rc != 0:
                    self.stop_problem = "vcsd exited with code %s on SIGTERM" % rc
            except subprocess.TimeoutExpired:
                log("vcsd pid %d ignored SIGTERM for %d s: SIGKILL" % (self.pid, grace))
                self.stop_problem = "vcsd did not exit within %d s of SIGTERM" % grace
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
        self._exited()
        return self.proc.returncode

    def restart(self, timeout=None):
        """Starts again on the same data dir, ports and dialplans (the old process must be gone)."""
        if self.alive():
            self.stop()
        return self.start(timeout)

    # -- logs --------------------------------------------------------------------------------
    def mark(self):
        """Position in the current log; pass to wait_log(since=) to see only later lines."""
        try:
            return os.path.getsize(self.log_file)
        except OSError:
            return 0

    def log_text(self, since=0, path=None):
        try:
            with open(path or self.log_file, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, regex, timeout, since=0, what=None):
        """The first match of regex (multiline) in the log after offset since."""
        r = re.compile(regex, re.M)

        def look():
            m = r.search(self.log_text(since))
            if m:
                return m
            if not self.alive():
                m = r.search(self.log_text(since))
                if m:
                    return m
                self._exited()
                fail("vcsd exited (code %s) without logging %s\n%s"
                     % (self.proc.returncode, what or repr(regex), self.log_tail()))
            return None
        return wait_until(look, timeout, what or "vcsd to log %r" % regex)

    def log_tail(self, lines=60):
        if not self.log_file:
            return "(no vcsd log)"
        return "  --- vcsd log %s, last %d lines ---\n%s" % (self.log_file, lines,
                                                              tail(self.log_file, lines))

    def sanitizer_reports(self):
        out = []
        for path in self.logs:
            text = self.log_text(0, path)
            for pat in SANITIZER_PATTERNS:
                m = pat.search(text)
                if m:
                    start = text.rfind("\n", 0, max(0, m.start() - 200)) + 1
                    out.append("%s (%s):\n%s" % (m.group(0), path,
                                                  "\n".join(text[start:].splitlines()[:120])))
                    break
        return out

    def check_sanitizers(self):
        reps = self.sanitizer_reports()
        if reps:
            self.test.sanitizer_failures.extend(r for r in reps if r not in self.test.sanitizer_failures)

    # -- management API --------------------------------------------------------------------------
    @property
    def token(self):
        if not self._token:  # re-read until vcsd has written it
            with open(os.path.join(self.data, "admin.token")) as f:
                self._token = f.read().strip()
        return self._token

    def api(self, method, path, body=None, token=True, timeout=10, headers=None):
        """(HTTP status, parsed JSON or text). body: dict/list (sent as JSON), str or bytes."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        data = body
        if body is not None and not isinstance(body, (bytes, str)):
            data = json.dumps(body).encode()
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            raw = r.read()
        finally:
            conn.close()
        try:
            return r.status, json.loads(raw.decode("utf-8"))
        except ValueError:
            return r.status, raw.decode("utf-8", "replace")

    def api_ok(self, method, path, body=None, token=True, status=None):
        """The parsed answer of a request that must succeed (2xx, or exactly status)."""
        got, answer = self.api(method, path, body, token=token)
        check(200 <= got < 300 if status is None else got == status,
              "%s %s: %s %s" % (method, path, got, answer))
        return answer

    def own_number(self, token, number, script):
        """Gives the account of token the number (imported, ordered, approved by the operator)
        bound to script, routed from now on (reload)."""
        self.api_ok("POST", "/v1/numbers/import", number + ",beijing,fixed,\n")
        order = self.api_ok("POST", "/v1/orders", {"numbers": [number]}, token)
        self.api_ok("POST", "/v1/orders/%d/approve" % order["id"])
        self.api_ok("PATCH", "/v1/numbers/" + number, {"script": script}, token)
        self.api_ok("POST", "/v1/reload")

    def admin_number(self, number, script, max_concurrent, kind="fixed"):
        """Puts number into the number table, the admin's, bound to script with a limit of
        max_concurrent calls, routed from now on (reload)."""
        conn = sqlite3.connect(self.db_path, timeout=10)
        with conn:
            conn.execute("INSERT INTO numbers(number, account, region, type, state, script,"
                         " max_concurrent) VALUES (?, 'admin', 'beijing', ?, 'active', ?, ?)",
                         (number, kind, script, max_concurrent))
        conn.close()
        self.reload()

    def health(self):
        return self.api("GET", "/v1/health", timeout=3)

    def try_health(self):
        """(status, body), or None when the API does not answer."""
        try:
            return self.health()
        except (OSError, http.client.HTTPException):
            return None

    def reload(self):
        return self.api("POST", "/v1/reload", timeout=30)

    def vcsctl(self, *args, timeout=30):
        """Runs vcsctl against this server; returns CompletedProcess (text)."""
        exe = self.test.vcsctl_cmd()
        env = {k: v for k, v in os.environ.items() if k not in ("VCS_HTTP", "VCS_TOKEN")}
        argv = list(exe) + ["--http", "127.0.0.1:%d" % self.http_port, "--data", self.data] + list(args)
        try:
            return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            fail("vcsctl %s did not finish within %d s" % (" ".join(args), timeout))

    # -- CDRs --------------------------------------------------------------------------------------
    @property
    def db_path(self):
        return os.path.join(self.data, "vcs.db")

    def cdrs(self, where="1=1", params=()):
        """CDR rows as dicts ordered by id; 'vars' is parsed from JSON when it is valid JSON."""
        if not os.path.exists(self.db_path):
            return []
        conn = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=5)
        try:
            conn.row_factory = lambda cur, row: {c[0]: v for c, v in zip(cur.description, row)}
            rows = conn.execute("SELECT * FROM cdr WHERE %s ORDER BY id" % where, params).fetchall()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e) or "locked" in str(e) or "unable to open" in str(e):
                return []
            raise
        finally:
            conn.close()
        for r in rows:
            r["vars_raw"] = r.get("vars")
            try:
                r["vars"] = json.loads(r["vars"]) if r.get("vars") else {}
            except ValueError:
                pass
        return rows

    def cdr(self, sip_call_id):
        rows = self.cdrs("sip_call_id = ?", (sip_call_id,))
        return rows[-1] if rows else None

    def wait_cdr(self, sip_call_id, timeout=10, ended=True):
        """The row for this SIP Call-ID, once it exists (and, with ended, once end_time is set)."""
        def look():
            r = self.cdr(sip_call_id)
            if r and (not ended or r.get("end_time")):
                return r
            return None
        try:
            return wait_until(look, timeout, "the CDR row of Call-ID %s%s"
                              % (sip_call_id, " to be completed" if ended else ""))
        except TestFailure as e:
            fail("%s\n  rows now: %s" % (e, json.dumps(self.cdrs(), default=str)[:3000]))


def check_cdr(row, **expected):
    """Asserts column values; the message shows the whole row."""
    bad = ["%s: expected %r, got %r" % (k, v, row.get(k)) for k, v in expected.items()
           if row.get(k) != v]
    if bad:
        fail("CDR row differs: %s\n  row: %s" % ("; ".join(bad), json.dumps(row, default=str)))


def check_cdr_times(row, answered):
    """start/answer/end are SPEC timestamps, ordered, and duration/billsec agree with them."""
    start = parse_iso(row["start_time"])
    end = parse_iso(row["end_time"])
    check(start <= end, "CDR end_time before start_time: %s" % row)
    if answered:
        ans = parse_iso(row["answer_time"])
        check(start <= ans <= end, "CDR answer_time not between start and end: %s" % row)
        billed_ms = (end - ans).total_seconds() * 1000.0
        check(row["billsec"] == math.ceil(round(billed_ms) / 1000.0),
              "CDR billsec %r is not the answered time %.0f ms rounded up to seconds"
              % (row["billsec"], billed_ms))
        check(row["bill_minutes"] == math.ceil(row["billsec"] / 60.0),
              "CDR bill_minutes %r is not the started minutes of %r s" % (row["bill_minutes"], row["billsec"]))
    else:
        check(row["answer_time"] is None, "CDR answer_time set for an unanswered call: %s" % row)
    dur = round((end - start).total_seconds() * 1000.0)
    check(abs(row["duration_ms"] - dur) <= 1,
          "CDR duration_ms %r differs from end - start = %d ms" % (row["duration_ms"], dur))


# ------------------------------------------------------------------------------------------
# The test context

def call_until_hangup(t, v, number, seconds, freq=440):
    """Calls number, sends a tone for seconds, waits for the server's BYE; (SIP Call-ID, the
    completed CDR row)."""
    peer = t.rtp_peer()
    uac = t.uac(v, number, peer.port)
    uac.invite()
    peer.send_tone(uac.media, seconds, freq=freq)
    uac.wait_bye(15)
    return uac.call_id, v.wait_cdr(uac.call_id)


class Test:
    def __init__(self, name):
        self.name = name
        self.root = tempfile.mkdtemp(prefix="vcs-e2e-%s-" % name)
        self.daemons = []
        self.sipps = []
        self.peers = []
        self.uacs = []
        self.sanitizer_failures = []
        self._id = 0
        self.vcsd_override = None    # argv list used instead of the vcsd binary (self-check)
        self.vcsctl_override = None

    def next_id(self):
        self._id += 1
        return self._id

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def vcsd_cmd(self):
        if self.vcsd_override:
            return self.vcsd_override
        p = vcsd_path()
        check(os.access(p, os.X_OK), "vcsd binary not found at %s (build it, or set VCS_TOP_BUILDDIR "
              "or VCS_VCSD)" % p)
        return [p]

    def vcsctl_cmd(self):
        if self.vcsctl_override:
            return self.vcsctl_override
        p = vcsctl_path()
        check(os.access(p, os.X_OK), "vcsctl binary not found at %s" % p)
        return [p]

    def vcsd(self, **kw):
        return Vcsd(self, **kw)

    def rtp_peer(self, port=0):
        p = RtpPeer(port)
        self.peers.append(p)
        return p

    def uac(self, vcsd, number, rtp_port, **kw):
        return SipUac(self, vcsd, number, rtp_port, **kw)

    def sipp(self, scenario, target=None, service=None, **kw):
        return Sipp(self, scenario, target, service, **kw)

    def sipp_uas(self, scenario=None, builtin=None, **kw):
        return Sipp(self, scenario, None, None, builtin=builtin, **kw)

    def cleanup(self):
        for s in self.sipps:
            try:
                s.kill()
            except Exception:  # cleanup must reach the daemons whatever happened
                traceback.print_exc()
        for u in self.uacs:
            try:
                u.close()
            except Exception:
                traceback.print_exc()
        for p in self.peers:
            try:
                p.close()
            except Exception:
                traceback.print_exc()
        for d in self.daemons:
            try:
                d.stop()
                d.check_sanitizers()
            except Exception:
                traceback.print_exc()

    def diagnostics(self):
        parts = []
        for d in self.daemons:
            if d.log_file:
                parts.append(d.log_tail(80))
        return "\n".join(parts)


def main(fn, needs_sipp=True, timeout=None):
    """Runs fn(Test) as one test program and exits 0 (pass), 1 (fail) or 77 (skip)."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    if needs_sipp and not sipp_path():
        print("SKIP %s: sipp not found (Debian package sip-tester)" % name, flush=True)
        sys.exit(EXIT_SKIP)
    bound = int(timeout or os.environ.get("VCS_E2E_TIMEOUT", "180"))

    def on_alarm(signum, frame):
        raise TestFailure("the whole test took longer than %d s (VCS_E2E_TIMEOUT)" % bound)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(EXIT_FAIL))
    t = Test(name)
    atexit.register(t.cleanup)
    log("%s: temp dir %s" % (name, t.root))
    status = EXIT_PASS
    msg = None
    signal.alarm(bound)
    try:
        fn(t)
    except TestSkip as e:
        status, msg = EXIT_SKIP, "SKIP %s: %s" % (name, e)
    except TestFailure as e:
        status, msg = EXIT_FAIL, "FAIL %s: %s" % (name, e)
    except Exception:
        status, msg = EXIT_FAIL, "FAIL %s: unexpected error\n%s" % (name, traceback.format_exc())
    finally:
        signal.alarm(0)
    if status == EXIT_FAIL:
        print(msg, flush=True)
        print(t.diagnostics(), flush=True)
    try:
        t.cleanup()
    finally:
        atexit.unregister(t.cleanup)
    if status == EXIT_PASS:
        problems = ["%s\n%s" % (d.stop_problem, d.log_tail(30)) for d in t.daemons if d.stop_problem]
        if problems:
            status = EXIT_FAIL
            print("FAIL %s: at the end of the test %s" % (name, "\n".join(problems)), flush=True)
    if t.sanitizer_failures:
        status = EXIT_FAIL
        print("FAIL %s: sanitizer report in the vcsd log:\n%s" % (name, "\n\n".join(t.sanitizer_failures)),
              flush=True)
    if status == EXIT_PASS:
        print("PASS %s" % name, flush=True)
        if os.environ.get("VCS_E2E_KEEP") != "1":
            shutil.rmtree(t.root, ignore_errors=True)
    else:
        if status == EXIT_SKIP:
            print(msg, flush=True)
        print("(files kept in %s)" % t.root, flush=True)
    sys.exit(status)
