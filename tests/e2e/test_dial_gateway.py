#!/usr/bin/env python3
"""call:dial to a carrier gateway (SPEC 3, 5.5).

- codecs offered in order: the gateway lists { "PCMU", "PCMA" }; our INVITE offers
  "0 8 101" in that order; the carrier answers with the second codec (PCMA), which the b-leg
  then uses: the caller (PCMU) and the carrier (PCMA) each hear the other's tone, transcoded,
  checked by frequency.
- the callee hangs up: the caller's BYE (sent when the script ends after dial) carries
  Reason: Q.850;cause=16.
- ringback = a prompt name: the caller hears that prompt (1300 Hz, 0.3 s of tone in 0.44 s),
  looped, while the callee rings (2 s, then the timeout CANCELs it): more 1300 Hz frames than
  one playing of the prompt holds."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^[78]\\d+$", "bridge")),
    "bridge": """return function(call)
  local gw, opts = "carrier", { timeout = 20000 }
  if call.to:sub(1, 1) == "8" then gw, opts.ringback, opts.timeout = "ringer", "ring", 2000 end
  local r = call:dial("gw:" .. gw .. "/" .. call.to, opts)
  call:set("dial_status", r.status)
end
""",
}


def config(port, ring_port):
    return """return {
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.0/8" } } },
  gateways = {
    { name = "carrier", address = "127.0.0.1:%d", codecs = { "PCMU", "PCMA" },
      options_interval_s = 0, inbound = false },
    { name = "ringer", address = "127.0.0.1:%d", options_interval_s = 0, inbound = false },
} }
""" % (port, ring_port)


def tones_heard(peer, pt, freqs):
    """How many of peer's received packets in payload type pt are dominated by each of freqs."""
    labels = [T.dominant(T.decode_payload(pt, p.payload), freqs) for p in peer.packets() if p.pt == pt]
    return {f: labels.count(f) for f in freqs}


def ringback_prompt(t, v, uas):
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "8100", caller_peer.port)
    uac.invite(timeout=15, expect=None)
    uas.wait_ok(what="carrier (ringing)")
    heard = tones_heard(caller_peer, 0, [1300, 1000])
    T.check(heard[1300] >= 30, "the caller heard the ringback prompt looped: %s" % heard)
    a = v.wait_cdr(uac.call_id)
    T.check_eq(a["vars"].get("dial_status"), "no_answer", "dial's result (%s)" % a["vars"])


def run(t):
    carrier_peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": carrier_peer.port},
                     tmpl={"codec": "PCMA", "pt": 8, "hangup_ms": 4000}, timeout=40).start()
    ring = t.sipp_uas("uas_ring", timeout=30).start()
    v = t.vcsd(dialplans=DIALPLANS, config=config(uas.port, ring.port),
               sounds={"ring.wav": T.tone_prompt(1300)})
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "7100", caller_peer.port)
    uac.invite(timeout=15)
    m = uas.wait_log(r"OFFERPORT (\d+) m=audio \d+ RTP/AVP ([ 0-9]*)", 5, "the b-leg's offer")
    T.check_eq(m.group(2).split(), ["0", "8", "101"],
               "the offer lists the gateway's codecs in order, then telephone-event")
    caller_peer.send_tone(uac.media, 3.0, freq=440, pt=0)
    carrier_peer.send_tone(("127.0.0.1", int(m.group(1))), 3.0, freq=1000, pt=8)
    uas.wait_log(r"SENTBYE", 15, "the callee's BYE")
    uac.wait_bye(15)
    uas.wait_ok(what="carrier")
    bye = [text for _, method, text in uac.requests if method == "BYE"]
    reason = re.search(r"^Reason: *(.*?)\r$", bye[0], re.M | re.I) if bye else None
    T.check(reason and reason.group(1) == 'Q.850;cause=16;text="Normal call clearing"',
            "the caller's BYE names the cause: %r" % (reason.group(1) if reason else bye))
    by_carrier = tones_heard(carrier_peer, 8, [440, 1000])
    by_caller = tones_heard(caller_peer, 0, [440, 1000])
    T.check(by_carrier[440] >= 50, "the carrier heard the caller's 440 Hz as A-law: %s (pts %s)"
            % (by_carrier, sorted(set(p.pt for p in carrier_peer.packets()))))
    T.check(by_caller[1000] >= 50, "the caller heard the carrier's 1000 Hz as mu-law: %s"
            % by_caller)
    a = v.wait_cdr(uac.call_id)
    T.check_eq(a["vars"].get("dial_status"), "answered", "dial's result (%s)" % a["vars"])
    ringback_prompt(t, v, ring)


if __name__ == "__main__":
    T.main(run)
