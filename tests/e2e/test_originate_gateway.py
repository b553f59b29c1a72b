#!/usr/bin/env python3
"""Outbound calls to numbers through the carrier gateways (SPEC 3, 5.2, 8).

- A number goes to the gateway with the lowest priority, its prefix prepended, its first codec
  offered (PCMA here: the script's tone reaches the carrier as A-law, checked by frequency),
  and the carrier's digest challenge (401) answered once with the gateway's credentials; the
  CDR names the gateway.
- max_channels: with the first gateway full (one leg up) the next leg goes to the second; with
  both full a leg is refused over_limit ("gateway limit") and never leaves; once the legs end,
  the channels are free again (a new leg goes to the first gateway).
- gw:NAME/NUMBER and {"gateway": NAME} pick that gateway; an unknown one is 404."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(),
    "notify": """return function(call)
  call:set("to", call.to)
  call:answer()
  if call.vars.hold then call:sleep(60000) end
  call:tone("700/1000", 1500)
end
""",
}


def config(first, second):
    gw = """    { name = "%s", address = "127.0.0.1:%d", username = "vcs", password = "s3cret",
      prefix = "%s", codecs = { "PCMA", "PCMU" }, max_channels = 1, priority = %d,
      options_interval_s = 0, inbound = false },
"""
    return ("return { gateways = {\n" + gw % ("first", first, "0", 1) +
            gw % ("second", second, "", 2) + "} }\n")


def cdr_of(v, call_id, timeout=15):
    def look():
        rows = v.cdrs("call_id = ?", (call_id,))
        return rows[0] if rows and rows[0].get("end_time") else None
    return T.wait_until(look, timeout, "the CDR row of %s to be completed" % call_id)


def originate(v, to, **over):
    body = {"to": to, "from": "861012340000", "script": "notify"}
    body.update(over)
    st, r = v.api("POST", "/v1/calls", body)
    T.check_eq(st, 201, "POST /v1/calls to %s (%s)" % (to, r))
    return r["id"]


def live_state(v, cid):
    st, c = v.api("GET", "/v1/calls/" + cid)
    return c.get("state") if st == 200 else None


def run(t):
    peer1, peer2 = t.rtp_peer(), t.rtp_peer()
    # The first carrier challenges each call; it takes two calls over the test.
    uas1 = t.sipp_uas("uas_auth", keys={"rtp_port": peer1.port}, tmpl={"codec": "PCMA", "pt": 8},
                      calls=2, timeout=60).start()
    uas2 = t.sipp_uas("uas_carrier", keys={"rtp_port": peer2.port},
                      tmpl={"codec": "PCMA", "pt": 8}, timeout=60).start()
    v = t.vcsd(dialplans=DIALPLANS, config=config(uas1.port, uas2.port))

    # 1. The first gateway: prefix, A-law, the challenge answered.
    first = originate(v, "13800138000", vars={"hold": True})
    uas1.wait_log(r"CHALLENGED", 10, "the first carrier's 401")
    m = uas1.wait_log(r"AUTH (\w+) INVITE (\S*)", 10, "the INVITE with credentials")
    T.check_eq(m.group(1), "true", "the digest answer verifies")
    T.check_eq(m.group(2), "013800138000", "the request URI's user: prefix + number")
    T.wait_until(lambda: live_state(v, first) == "up", 10, "the first leg to be up")

    # 2. The first gateway is full (max_channels 1): the next leg takes the second one.
    second = originate(v, "13900139000")
    uas2.wait_log(r"INVITE 13900139000", 10, "the second carrier's INVITE (no prefix)")
    uas2.wait_log(r"GOTBYE", 15, "the second leg's end (its script returned)")
    uas2.wait_ok(what="second carrier")
    row = cdr_of(v, second)
    T.check_cdr(row, gateway="second", to_number="13900139000", hangup_cause="normal_clearing",
                sip_code=200)
    tones = [T.dominant(T.decode_payload(p.pt, p.payload), [700, 1000]) for p in peer2.packets()]
    T.check(all(p.pt == 8 for p in peer2.packets()) and tones.count(700) >= 40,
            "the second carrier heard the tone in A-law (pts %s, 700 Hz frames %d)"
            % (sorted(set(p.pt for p in peer2.packets())), tones.count(700)))

    # 3. A leg asked onto the full gateway: over_limit, nothing sent.
    third = originate(v, "gw:first/13700137000")
    row = cdr_of(v, third)
    T.check_cdr(row, hangup_cause="over_limit", gateway="first", answer_time=None,
                hangup_by="system")
    st, err = v.api("POST", "/v1/calls", {"to": "13700137000", "from": "861012340000",
                                          "script": "notify", "gateway": "nosuch"})
    T.check_eq(st, 404, "an unknown gateway (%s)" % err)

    # 4. The first leg ends: its channel is free again for the next one.
    st, _ = v.api("DELETE", "/v1/calls/" + first)
    T.check_eq(st, 204, "DELETE the first leg")
    row = cdr_of(v, first)
    T.check_cdr(row, gateway="first", to_number="13800138000", hangup_cause="normal_clearing",
                sip_code=200)
    fourth = originate(v, "13600136000", gateway="first")
    uas1.wait_log(r"INVITE 013600136000", 10, "the first carrier's second call")
    uas1.wait_ok(what="first carrier (two calls)")
    row = cdr_of(v, fourth)
    T.check_cdr(row, gateway="first", hangup_cause="normal_clearing", sip_code=200)


if __name__ == "__main__":
    T.main(run)
