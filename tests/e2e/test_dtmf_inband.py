#!/usr/bin/env python3
"""In-band DTMF: when the caller offers no telephone-event, vcsd answers without it and detects
keys as tone pairs in the G.711 audio. A fixture dialplan collects keys with call:get_digit
until 2.5 s pass without one and stores them in the CDR vars.
  1. PCMU only: all sixteen keys 0-9 * # A-D, 100 ms tone / 100 ms pause -> all, in order;
  2. PCMA only: "2580#" (A-law decoding) -> "2580#"; a telephone-event packet on PT 101,
     which this call did not negotiate, is not a key;
  3. PCMU + telephone-event 101: keys are taken from RFC 4733 only, so a tone pair in the
     audio ("5") is not a key, while an RFC 4733 "6" is -> "6"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "keys")),
    "keys": """return function(call)
  call:answer()
  local keys = ""
  while true do
    local k = call:get_digit(2500)
    if not k then break end
    keys = keys .. k
    call:set("keys", keys)
  end
  call:set("done", true)
end
""",
}


def keys_of(v, uac):
    uac.wait_bye(15)
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="keys", hangup_cause="normal_clearing", hangup_by="script")
    return row["vars"].get("keys")


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)

    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port, pts=(0,))
    uac.invite()
    T.check_eq((uac.answer["pts"], sorted(uac.answer["rtpmap"].values())), ([0], ["PCMU"]),
               "vcsd's answer to a PCMU-only offer (no telephone-event)")
    stream = peer.stream(uac.media, pt=0)
    stream.audio([(0, 0.3)])
    stream.press(T.DTMF_KEYS, "inband")
    T.check_eq(keys_of(v, uac), T.DTMF_KEYS, "keys detected in-band (PCMU)")
    stream.stop()

    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port, pts=(8,))
    uac.invite()
    T.check_eq(uac.answer["pts"], [8], "payload types in vcsd's answer to a PCMA-only offer")
    stream = peer.stream(uac.media, pt=8, dtmf_pt=101)
    stream.audio([(0, 0.3)])
    stream.press("25", "inband")
    stream.press("7", "rfc4733")  # PT 101 was not negotiated: not a key
    stream.press("80#", "inband")
    T.check_eq(keys_of(v, uac), "2580#", "keys detected in-band (PCMA)")
    stream.stop()

    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port, pts=(0, 101))
    uac.invite()
    stream = peer.stream(uac.media, pt=0, dtmf_pt=101)
    stream.audio([(0, 0.3)])
    stream.press("5", "inband")
    stream.press("6", "rfc4733")
    T.check_eq(keys_of(v, uac), "6", "keys with telephone-event negotiated (tones in the audio ignored)")
    stream.stop()


if __name__ == "__main__":
    T.main(run)
