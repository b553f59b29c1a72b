#!/usr/bin/env python3
"""1000 (shipped dialplan "hello": answer, play "welcome"): vcsd answers with PCMU in its SDP,
sends the prompt as a well-formed RTP stream (one SSRC, continuous sequence numbers, timestamps
+160, marker on the first packet, 20 ms pacing, from the port in its SDP), and the CDR row is
complete: normal_clearing, hung up by the caller, answered, script "hello".

The prompt is replaced by a 6 s 1 kHz tone so that the caller (hanging up at 2.5 s) always
hangs up first and the audio received can be compared with what was played."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402


def run(t):
    v = t.vcsd(sounds={"welcome.wav": lambda p: T.tone_wav(p, 6.0, freq=1000)})
    peer = t.rtp_peer()
    call = t.sipp("uac_call", v, "1000", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 2500}).start()
    port = call.rtp_port()
    T.check(v.rtp_lo <= port <= v.rtp_hi and port % 2 == 0,
            "SDP answer port %d is not an even port of --rtp-ports %d-%d" % (port, v.rtp_lo, v.rtp_hi))
    call.wait_ok(what="call to 1000 (hello)")

    answer = [r for r in call.responses("INVITE") if r.code == 200][0]
    sdp = T.parse_sdp(answer.body)
    T.check(sdp["pts"] and sdp["pts"][0] in (0, 8) and sdp["rtpmap"].get(sdp["pts"][0]) in ("PCMU", "PCMA"),
            "SDP answer must choose PCMU or PCMA with an a=rtpmap line:\n%s" % answer.body)
    T.check_eq(sdp["conn"], "127.0.0.1", "SDP answer c= address")

    st = T.StreamStats(peer.packets())
    T.check_stream(st, min_packets=100, what="prompt RTP from vcsd")
    T.check_eq(st.pts, [sdp["pts"][0]], "payload type of the RTP stream (the one in the answer)")
    T.check_eq(st.sources, [("127.0.0.1", port)],
               "RTP must come from the port vcsd put in its SDP (symmetric RTP)")
    doms = [T.dominant(f, [500, 1000, 1500, 2000]) for f in st.frames()]
    tone = doms.count(1000)
    T.check(tone >= 0.8 * len(doms),
            "the audio received is not the 1 kHz prompt played: %d of %d frames at 1 kHz (%s)"
            % (tone, len(doms), T.frequency_runs(doms, 1)[:20]))

    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, direction="inbound", to_number="1000", from_number="15550001111",
                script="hello", sip_code=200, hangup_cause="normal_clearing", hangup_by="caller",
                account="admin", parent_call_id=None)
    T.check_cdr_times(row, answered=True)
    T.check(row["call_id"], "CDR call_id is empty: %s" % row)


if __name__ == "__main__":
    T.main(run)
