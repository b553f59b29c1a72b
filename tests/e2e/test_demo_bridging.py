#!/usr/bin/env python3
"""The README's bridging demos, run the way the README runs them (SPEC 5.5, issue 6 item 9):
the shipped dialplans and routes.lua (only the carrier's port 5080 replaced by a free one) and
the shipped SIPp carrier, contrib/sipp/carrier.xml, with -rtp_echo.

- Call forwarding, number 2000: the caller hears the ringback tone (440+480 Hz) while the
  carrier rings, then, once it answers, its own 1000 Hz tone echoed by the carrier through the
  bridge; the carrier gets BYE when the caller hangs up; the caller's CDR row (script forward)
  names a stereo recording holding the caller left and the echo right; the b-leg's row has the
  caller's row as parent_call_id.
- Outbound notification: `vcsctl calls originate sip:notify@... 1003 notify --vars
  '{"text": ...}'` rings the carrier, which answers; the notify dialplan speaks the text three
  times (nobody presses 1) and hangs up: CDR notify_result no_response, notify_plays 3.
- Conference room 9000: two callers, each hears the other's tone and not its own."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CARRIER = os.path.join(T.top_srcdir(), "contrib", "sipp", "carrier.xml")
TONE = 1000


def shipped_routes(carrier_port):
    with open(os.path.join(T.top_srcdir(), "dialplans", "routes.lua")) as f:
        src = f.read()
    T.check("127.0.0.1:5080" in src, "routes.lua forwards 2000 to the README's carrier on 5080")
    return src.replace("127.0.0.1:5080", "127.0.0.1:%d" % carrier_port)


def ringback_frames(peer):
    n = 0
    for p in peer.packets():
        pcm = T.decode_payload(p.pt, p.payload)
        if p.pt == 0 and T.rms(pcm) > 300 and \
                min(T.goertzel(pcm, 440), T.goertzel(pcm, 480)) > 20 * T.goertzel(pcm, TONE):
            n += 1
    return n


def echoed_frames(peer):
    return sum(1 for p in peer.packets() if p.pt == 0 and
               T.dominant(T.decode_payload(0, p.payload), [440, TONE]) == TONE)


def forwarding(t, v, carrier):
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port)
    uac.invite(timeout=20)  # answered once the carrier answers (after its 2 s of ringing)
    carrier.wait_log(r"^ANSWERED$", 5, "the carrier to answer")
    T.check(ringback_frames(peer) >= 40, "the caller heard the ringback tone while it rang "
            "(%d frames)" % ringback_frames(peer))
    peer.send_tone(uac.media, 3.0, freq=TONE, pt=0)
    T.wait_until(lambda: echoed_frames(peer) >= 50, 15,
                 "the caller to hear its tone echoed by the carrier through the bridge")
    uac.bye()
    carrier.wait_log(r"^GOTBYE$", 10, "the carrier's BYE after the caller hung up")
    a = v.wait_cdr(uac.call_id)
    T.check_cdr(a, script="forward", to_number="2000", hangup_by="caller")
    bs = v.cdrs("parent_call_id = ?", (a["call_id"],))
    T.check(len(bs) == 1 and bs[0]["answer_time"] is not None and bs[0]["end_time"],
            "one answered b-leg row with parent_call_id: %s" % bs)
    path = os.path.join(v.data, "recordings", a["recording"] or "")
    T.check(a["recording"], "the forwarded call is recorded: %s" % a)
    T.wait_until(lambda: os.path.isfile(path), 10, "the recording %s" % path)
    rate, channels, samples = T.read_wav(path)
    T.check_eq((rate, channels), (8000, 2), "recording format")
    left, right = samples[0::2], samples[1::2]
    both = sum(1 for i in range(0, min(len(left), len(right)) - 160, 160)
               if T.dominant(left[i:i + 160], [440, TONE]) == TONE and
               T.dominant(right[i:i + 160], [440, TONE]) == TONE)
    T.check(both >= 25, "recording: the caller's tone left and its echo right (%d frames)" % both)


def notification(t, v, carrier):
    text = "Your parcel arrives today between 2 and 4 pm."
    r = v.vcsctl("calls", "originate", "sip:notify@127.0.0.1:%d" % carrier.port, "1003", "notify",
                 "--vars", json.dumps({"text": text}), "--json")
    T.check_eq(r.returncode, 0, "vcsctl calls originate (%s %s)" % (r.stdout, r.stderr))
    cid = json.loads(r.stdout)["id"]

    def ended():
        rows = v.cdrs("call_id = ?", (cid,))
        return rows[0] if rows and rows[0].get("end_time") else None
    row = T.wait_until(ended, 120, "the notification to end (three plays, no key)")
    T.check_cdr(row, direction="outbound", script="notify", from_number="1003",
                hangup_by="script", sip_code=200)
    T.check_eq((row["vars"].get("notify_result"), row["vars"].get("notify_plays")),
               ("no_response", 3), "the notification's outcome (%s)" % row["vars"])
    carrier.wait_log(r"^GOTBYE$", 10, "the carrier's BYE after the notification")


def conference(t, v):
    peers = [t.rtp_peer(), t.rtp_peer()]
    uacs = [t.uac(v, "9000", p.port) for p in peers]
    for u in uacs:
        u.invite()
    for u, p, f in zip(uacs, peers, (500, 1700)):
        p.send_tone(u.media, 6.0, freq=f, pt=0)

    def hears(p, f):
        return sum(1 for k in p.packets() if k.pt == 0 and
                   T.dominant(T.decode_payload(0, k.payload), [500, 1700]) == f and
                   T.rms(T.decode_payload(0, k.payload)) > 300)
    T.wait_until(lambda: hears(peers[0], 1700) >= 50 and hears(peers[1], 500) >= 50, 20,
                 "each member to hear the other")
    T.check(hears(peers[0], 500) < 10 and hears(peers[1], 1700) < 10,
            "nobody hears itself: %d %d" % (hears(peers[0], 500), hears(peers[1], 1700)))
    for u in uacs:
        u.bye()
        T.check_cdr(v.wait_cdr(u.call_id), script="conference", to_number="9000")


def run(t):
    carrier = t.sipp_uas(CARRIER, calls=2, rtp_echo=True, timeout=150).start()
    v = t.vcsd(overlay={"routes": shipped_routes(carrier.port)})
    forwarding(t, v, carrier)
    conference(t, v)
    notification(t, v, carrier)
    carrier.wait_ok(what="the demo carrier")


if __name__ == "__main__":
    T.main(run, timeout=240)
