#!/usr/bin/env python3
"""call:dial relays fast keys without losing one (SPEC 5.5 DTMF relay, RFC 4733 section 2.5).

The caller is bridged to a carrier that negotiated telephone-event. The caller presses "123#"
as RFC 4733 events (80 ms each, 60 ms apart: faster than vcsd sends a key, 100 ms of tone and
100 ms of pause), then "456*" as SIP INFO, about 50 ms apart. Each key reaches the carrier, in
order, as an event of its own: a timestamp of its own, the marker on its first packet, and
the end packet three times. (A key arriving while the previous one was still being sent used
to be dropped.)"""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = T.dial_carrier_dialplans("1")


def events_of(peer):
    """The RFC 4733 events the peer received, in order of arrival: [(key, timestamp,
    marker on the first packet, number of end packets)]."""
    events = {}
    order = []
    for p in peer.packets():
        if p.pt != 101:
            continue
        ev = T.parse_dtmf_payload(p.payload)
        if ev is None:
            continue
        if p.ts not in events:
            events[p.ts] = {"key": ev.key, "marker": p.marker, "ends": 0, "keys": set()}
            order.append(p.ts)
        e = events[p.ts]
        e["keys"].add(ev.key)
        e["ends"] += 1 if ev.end else 0
    return [(events[ts]["key"], ts, events[ts]["marker"], events[ts]["ends"], events[ts]["keys"])
            for ts in order]


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    carrier_peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": carrier_peer.port}, timeout=40).start()
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "1%d" % uas.port, caller_peer.port)
    uac.invite(timeout=15)
    uas.wait_log(r"ANSWERED", 10, "the carrier's answer")
    stream = caller_peer.stream(uac.media)
    stream.press("123#", duration_ms=80, gap_ms=60)
    for key in "456*":
        uac.info_key(key, duration=480)
        time.sleep(0.05)

    def keys():
        return "".join(e[0] for e in events_of(carrier_peer))

    def all_ended():  # eight events, the last one's end packets in
        events = events_of(carrier_peer)
        return len(events) >= 8 and events[-1][3] >= 3
    try:
        T.wait_until(all_ended, 15, "eight keys at the carrier, the last one ended")
    except T.TestFailure:
        T.fail("the carrier got %r, not every key of '123#456*'" % keys())
    events = events_of(carrier_peer)
    T.check_eq(keys(), "123#456*", "the keys the carrier got, in order")
    T.check_eq(len(set(e[1] for e in events)), 8, "a timestamp of its own for each key")
    for key, ts, marker, ends, seen in events:
        T.check(marker, "key %s (ts %d): the marker on its first packet" % (key, ts))
        T.check_eq(ends, 3, "end packets of key %s (ts %d)" % (key, ts))
        T.check_eq(seen, {key}, "events under the timestamp of key %s" % key)
    stream.stop()
    uac.bye()
    uas.wait_ok(what="carrier")
    a = v.wait_cdr(uac.call_id)
    T.check_cdr(a, hangup_by="caller")


if __name__ == "__main__":
    T.main(run)
