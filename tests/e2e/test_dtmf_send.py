#!/usr/bin/env python3
"""call:send_dtmf sends RFC 4733 telephone-events to the caller on the payload type the caller
offered (101), inside the call's RTP stream. The script plays a prompt, sends "19*#" (default
100 ms per key), then "5" with {duration=200}, then plays another prompt. Checked on what the
caller receives:
  - one SSRC and continuous sequence numbers across audio and events;
  - per key: the first packet has the marker bit, every packet of the key has the same RTP
    timestamp (the event timestamp, the stream's timestamp when the key started) and the same
    event code; durations grow by 160 per packet; the last three packets have the E bit and the
    same final duration (800 for 100 ms, 1600 for 200 ms); no E bit before them; the volume is
    the same within a key and at most 63;
  - keys do not overlap and come in order; audio resumes on the continuous timeline (timestamp
    = previous audio + 160 per packet in between); call:send_dtmf returned only after the last
    end packet (the next prompt starts after it).
CDR vars.sent is set after both calls returned."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PRE, POST = 400, 600

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "send")),
    "send": """return function(call)
  call:answer()
  call:play("pre")
  call:send_dtmf("19*#")
  call:send_dtmf("5", { duration = 200 })
  call:play("post")
  call:set("sent", true)
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds={"pre.wav": T.tone_prompt(PRE, 0.5),
                                            "post.wav": T.tone_prompt(POST, 0.5)})
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port)
    uac.invite()
    T.check_eq(uac.answer["rtpmap"].get(101), "telephone-event", "telephone-event PT in vcsd's answer")
    stream = peer.stream(uac.media)
    uac.wait_bye(15)
    stream.stop()

    pk = sorted(peer.packets(), key=lambda p: p.t)
    T.check(pk, "no RTP from vcsd")
    T.check_eq(sorted({p.ssrc for p in pk}), [pk[0].ssrc], "SSRCs of audio and events (one stream)")
    steps = [(b.seq - a.seq) & 0xFFFF for a, b in zip(pk, pk[1:])]
    T.check(all(s == 1 for s in steps), "sequence numbers not continuous across audio and events: "
            "steps %s" % sorted(set(steps)))
    T.check_eq(sorted({p.pt for p in pk}), [0, 101], "payload types from vcsd")

    # The stream timeline: audio timestamps advance 160 per packet, events ride on it.
    seq0, ts0 = pk[0].seq, pk[0].ts

    def timeline(p):
        return (ts0 + 160 * ((p.seq - seq0) & 0xFFFF)) & 0xFFFFFFFF

    audio = [p for p in pk if p.pt == 0]
    bad = [p.seq for p in audio if p.ts != timeline(p)]
    T.check(not bad, "audio timestamps leave the +160 timeline around the events (seq %s)" % bad[:5])

    keys = []  # [[(packet, event)]]
    for p in pk:
        if p.pt != 101:
            continue
        ev = T.parse_dtmf_payload(p.payload)
        T.check(ev is not None, "short telephone-event payload (seq %d)" % p.seq)
        if not keys or p.ts != keys[-1][0][0].ts:
            keys.append([])
        keys[-1].append((p, ev))
    got = "".join(k[0][1].key or "?" for k in keys)
    T.check_eq(got, "19*#5", "keys sent (one event timestamp each)")

    for i, k in enumerate(keys):
        first, ev0 = k[0]
        name = "key %d (%s)" % (i + 1, ev0.key)
        T.check(first.marker and not any(p.marker for p, _ in k[1:]),
                "%s: marker must be on the first packet only: %s" % (name, [p.marker for p, _ in k]))
        T.check_eq(first.ts, timeline(first), "%s: event timestamp (the stream's when the key started)" % name)
        T.check(len({e.event for _, e in k}) == 1, "%s: event code changes within the key" % name)
        T.check(len({e.volume for _, e in k}) == 1 and ev0.volume <= 63, "%s: volume %s" % (name, [e.volume for _, e in k]))
        ends = [e.end for _, e in k]
        T.check(len(k) >= 4 and ends[-3:] == [True] * 3 and not any(ends[:-3]),
                "%s: expected updates then three end packets: E bits %s" % (name, ends))
        durs = [e.duration for _, e in k]
        final = 1600 if ev0.key == "5" else 800
        T.check_eq(durs[-3:], [final] * 3, "%s: duration of the three end packets" % name)
        T.check_eq(durs[:-2], [160 * (j + 1) for j in range(len(durs) - 2)],
                   "%s: durations must grow by 160 per packet" % name)
    for a, b in zip(keys, keys[1:]):
        between = [p for p in audio if a[-1][0].seq < p.seq < b[0][0].seq]
        T.check(between, "keys %s and %s overlap (no pause between them)" % (a[0][1].key, b[0][1].key))

    labels = [(p.seq, T.dominant(T.decode_payload(0, p.payload), [PRE, POST])) for p in audio]
    post = [s for s, lab in labels if lab == POST]
    pre = [s for s, lab in labels if lab == PRE]
    last_event = keys[-1][-1][0].seq
    T.check(pre and post and max(pre) < keys[0][0][0].seq and min(post) > last_event,
            "the prompts must come before the first key and after the last end packet "
            "(send_dtmf returns when sent)")
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="send", hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq(row["vars"].get("sent"), True, "CDR vars.sent")


if __name__ == "__main__":
    T.main(run)
