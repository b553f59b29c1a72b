#!/usr/bin/env python3
"""kill -9 mid-bridge, then a restart on the same data directory (SPEC 6, 8): a caller's call
bridged by call:dial to a SIPp carrier, audio flowing both ways (the caller 440 Hz PCMU, the
carrier 1000 Hz PCMA) and recorded. vcsd gets SIGKILL while both legs are up. After the
restart both CDR rows, the caller's (a-leg) and the carrier leg's (b-leg, parent_call_id = the
a-leg), are ended: hangup_cause system_crash, hangup_by system, end_time set, not before
start_time nor after the restart, answer_time kept. The a-leg's whole-call recording is a
readable stereo WAV holding the bridge until the crash: the caller's tone left, the callee's
right (the b-leg has none of its own)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = T.dial_carrier_dialplans("7")
CALLER, CALLEE = 440, 1000


def heard(peer, pt, freq):
    return sum(1 for p in peer.packets() if p.pt == pt and
               T.dominant(T.decode_payload(pt, p.payload), [CALLER, CALLEE]) == freq)


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    carrier_peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": carrier_peer.port},
                     tmpl={"codec": "PCMA", "pt": 8}, timeout=60).start()
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "7%d" % uas.port, caller_peer.port)
    uac.invite(timeout=15)
    offer = int(uas.wait_log(r"OFFERPORT (\d+)", 5, "the b-leg's offer").group(1))
    caller_peer.send_tone(uac.media, 20.0, freq=CALLER, pt=0)
    carrier_peer.send_tone(("127.0.0.1", offer), 20.0, freq=CALLEE, pt=8)
    # The bridge carries audio both ways (and so into the recording) before the kill.
    T.wait_until(lambda: heard(caller_peer, 0, CALLEE) >= 50 and heard(carrier_peer, 8, CALLER) >= 50,
                 15, "50 frames of each tone across the bridge")
    a = v.wait_cdr(uac.call_id, ended=False)
    b = T.wait_until(lambda: (v.cdrs("parent_call_id = ?", (a["call_id"],)) or [None])[0], 10,
                     "the b-leg's CDR row")
    T.check(a["recording"] and a["answer_time"] and b["answer_time"],
            "both legs answered, the a-leg recorded: %s %s" % (a, b))
    T.wait_until(lambda: len(v.api("GET", "/v1/calls")[1]["items"]) == 2, 10,
                 "both legs listed up")

    v.kill9()
    uas.kill()
    v.restart()
    restarted = v.started_at

    rows = {r["call_id"]: r for r in v.cdrs() if r["call_id"] in (a["call_id"], b["call_id"])}
    T.check_eq(len(rows), 2, "CDR rows of the two legs")
    for leg, row in (("a-leg", rows[a["call_id"]]), ("b-leg", rows[b["call_id"]])):
        T.check_cdr(row, hangup_cause="system_crash", hangup_by="system")
        T.check(row["end_time"] is not None and row["answer_time"] is not None,
                "%s ended and still answered: %s" % (leg, row))
        start, end = T.parse_iso(row["start_time"]), T.parse_iso(row["end_time"])
        T.check(start <= end <= restarted, "%s: end_time %s between start_time %s and the restart %s"
                % (leg, row["end_time"], row["start_time"], restarted.isoformat()))
    T.check_eq(rows[b["call_id"]]["parent_call_id"], a["call_id"], "the b-leg's parent")
    T.check(rows[b["call_id"]]["recording"] is None, "the b-leg has no recording of its own")

    path = os.path.join(v.data, "recordings", rows[a["call_id"]]["recording"])
    T.wait_until(lambda: os.path.exists(path), 10, "the repaired recording %s" % path)
    rate, channels, samples = T.read_wav(path)
    T.check_eq((rate, channels), (8000, 2), "recording format (rate, channels)")
    left, right = samples[0::2], samples[1::2]
    frames = [(T.dominant(left[i:i + 160], [CALLER, CALLEE]),
               T.dominant(right[i:i + 160], [CALLER, CALLEE]))
              for i in range(0, min(len(left), len(right)) - 160, 160)]
    both = sum(1 for lf, rf in frames if lf == CALLER and rf == CALLEE)
    T.check(both >= 25, "the repaired recording holds the bridge, caller left and callee right: "
            "%d of %d frames" % (both, len(frames)))


if __name__ == "__main__":
    T.main(run)
