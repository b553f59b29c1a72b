#!/usr/bin/env python3
"""call:dial (SPEC 5.5): a caller's call bridged to a b-leg placed to a SIPp carrier UAS.

- answered: the caller (PCMU) sends 440 Hz and the carrier (PCMA) 1000 Hz; each hears the
  other's tone, transcoded, checked by frequency (the carrier's packets are A-law, the
  caller's mu-law). The callee hangs up: dial returns {status="answered", code=200,
  hangup_by="callee", call_id=the b-leg} and the script goes on (plays 800 Hz to the caller).
  The b-leg's CDR row has parent_call_id = the caller's call id.
- ringback="tone": the caller hears the ringback tone (440+480 Hz) while the callee rings.
- busy (486): dial returns status busy, code 486; the b-leg row says busy.
- no answer: the timeout CANCELs the b-leg; status no_answer.
- the caller hangs up mid-bridge: the carrier gets BYE with Reason Q.850 cause=16, dial raises
  the hangup error (the script's on_hangup sees it), both rows hangup_by caller.
- DTMF relayed in each leg's form: the caller's RFC 4733 key reaches an INFO-only carrier as
  INFO, and the carrier's INFO reaches the caller as RFC 4733 events.
- The whole-call recording of a bridged call: left the caller, right the callee."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

# The called number is a mode digit followed by the carrier's port.
DIALPLANS = {
    "routes": T.routes_lua(("^[1-5]\\d{4,5}$", "bridge")),
    "bridge": """return function(call)
  local mode, port = call.to:match("^(%d)(%d+)$")
  local opts = { timeout = 20000 }
  if mode == "2" then opts.ringback = "tone" end
  if mode == "3" then opts.timeout = 1000 end
  if mode == "4" then opts.ringback, opts.timeout = "tone", 2000 end
  if mode == "5" then opts.record = false end
  call:on_hangup(function() call:set("on_hangup", "ran") end)
  local r = call:dial("sip:carrier@127.0.0.1:" .. port, opts)
  for _, k in ipairs({ "status", "code", "hangup_by", "call_id", "target", "billsec" }) do
    call:set("dial_" .. k, r[k])
  end
  if r.status == "answered" then call:tone("800/1000", 1500) end
end
""",
}


def cdr_by_id(v, call_id, timeout=15):
    def look():
        rows = v.cdrs("call_id = ?", (call_id,))
        return rows[0] if rows and rows[0].get("end_time") else None
    return T.wait_until(look, timeout, "the CDR row of %s to be completed" % call_id)


def frames_of(peer, pt, freqs, since=None):
    pk = [p for p in peer.packets(since) if p.pt == pt]
    labels = [T.dominant(T.decode_payload(pt, p.payload), freqs) for p in pk]
    return {f: labels.count(f) for f in freqs}


def answered(t, v):
    carrier_peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": carrier_peer.port},
                     tmpl={"codec": "PCMA", "pt": 8, "hangup_ms": 4000}, timeout=40).start()
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "1%d" % uas.port, caller_peer.port)
    uac.invite(timeout=15)  # answered by dial once the callee answered
    offer = int(uas.wait_log(r"OFFERPORT (\d+)", 5, "the b-leg's offer").group(1))
    caller_peer.send_tone(uac.media, 3.0, freq=440, pt=0)
    carrier_peer.send_tone(("127.0.0.1", offer), 3.0, freq=1000, pt=8)
    uas.wait_log(r"SENTBYE", 15, "the callee's BYE")
    uac.wait_bye(15)  # the script went on: its tone, then its end
    heard_by_carrier = frames_of(carrier_peer, 8, [440, 1000, 800])
    heard_by_caller = frames_of(caller_peer, 0, [440, 1000, 800])
    T.check(heard_by_carrier[440] >= 50,
            "the carrier heard the caller's 440 Hz as A-law: %s (pts %s)"
            % (heard_by_carrier, sorted(set(p.pt for p in carrier_peer.packets()))))
    T.check(heard_by_caller[1000] >= 50,
            "the caller heard the carrier's 1000 Hz as mu-law: %s" % heard_by_caller)
    T.check(heard_by_caller[800] >= 25, "the script went on after the bridge: %s" % heard_by_caller)
    a = v.wait_cdr(uac.call_id)
    vars_ = a["vars"]
    T.check_eq((vars_.get("dial_status"), vars_.get("dial_code"), vars_.get("dial_hangup_by")),
               ("answered", 200, "callee"), "dial's result (%s)" % vars_)
    T.check(vars_.get("dial_billsec", 0) >= 1, "billsec of the bridge: %s" % vars_)
    b = cdr_by_id(v, vars_["dial_call_id"])
    T.check_cdr(b, parent_call_id=a["call_id"], direction="outbound", sip_code=200,
                hangup_cause="normal_clearing", hangup_by="callee", account=a["account"])
    T.check(b["answer_time"] is not None, "the b-leg was answered: %s" % b)
    uas.wait_ok(what="carrier (answered)")
    # The whole-call recording: left = the caller's tone, right = the callee's (what the
    # caller heard in the bridge).
    T.check(a["recording"], "the caller's row names its recording: %s" % a)
    T.check(b["recording"] is None, "the b-leg has no recording of its own: %s" % b)
    path = os.path.join(v.data, "recordings", a["recording"])
    T.wait_until(lambda: os.path.exists(path), 10, "the recording %s" % path)
    rate, channels, samples = T.read_wav(path)
    T.check_eq((rate, channels), (8000, 2), "recording format")
    left, right = samples[0::2], samples[1::2]
    frames = [(T.dominant(left[i:i + 160], [440, 1000, 800]),
               T.dominant(right[i:i + 160], [440, 1000, 800]))
              for i in range(0, min(len(left), len(right)) - 160, 160)]
    both = sum(1 for lf, rf in frames if lf == 440 and rf == 1000)
    T.check(both >= 50, "recording frames with the caller left and the callee right: %d of %d"
            % (both, len(frames)))


def ringback_tone(t, v):
    """Mode 4: ringback="tone" and a 2 s timeout; the caller hears 440+480 Hz before the end."""
    uas = t.sipp_uas("uas_ring", timeout=30).start()
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "4%d" % uas.port, caller_peer.port)
    uac.invite(timeout=15, expect=None)
    ring = 0
    for p in caller_peer.packets():
        pcm = T.decode_payload(p.pt, p.payload)
        if p.pt == 0 and T.rms(pcm) > 300 and \
                min(T.goertzel(pcm, 440), T.goertzel(pcm, 480)) > 20 * T.goertzel(pcm, 1000):
            ring += 1
    T.check(ring >= 40, "the caller heard the ringback tone as early media (%d frames)" % ring)
    a = v.wait_cdr(uac.call_id)
    T.check_eq(a["vars"].get("dial_status"), "no_answer", "dial's result (%s)" % a["vars"])
    uas.wait_ok(what="carrier (ringback)")


def refused(t, v, mode, scenario, tmpl, status, code):
    uas = t.sipp_uas(scenario, tmpl=tmpl, timeout=30).start()
    peer = t.rtp_peer()
    uac = t.uac(v, "%d%d" % (mode, uas.port), peer.port)
    uac.invite(timeout=15, expect=None)  # the script returns unanswered
    a = v.wait_cdr(uac.call_id)
    T.check_eq((a["vars"].get("dial_status"), a["vars"].get("dial_code")), (status, code),
               "dial's result (%s)" % a["vars"])
    b = cdr_by_id(v, a["vars"]["dial_call_id"])
    T.check_cdr(b, parent_call_id=a["call_id"], answer_time=None, sip_code=code)
    uas.wait_ok(what="carrier (%s)" % status)
    return uas


def caller_hangs_up(t, v):
    carrier_peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": carrier_peer.port}, timeout=40).start()
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "1%d" % uas.port, caller_peer.port)
    uac.invite(timeout=15)
    caller_peer.send_tone(uac.media, 1.0, freq=440, pt=0, background=False)
    uac.bye()
    m = uas.wait_log(r"GOTBYE REASON (.*)", 10, "the b-leg's BYE after the caller left")
    T.check("Q.850" in m.group(1) and "cause=16" in m.group(1),
            "the b-leg's BYE says normal clearing: %r" % m.group(1))
    uas.wait_ok(what="carrier (caller hung up)")
    a = v.wait_cdr(uac.call_id)
    T.check_cdr(a, hangup_by="caller", hangup_cause="normal_clearing")
    T.check_eq(a["vars"].get("on_hangup"), "ran", "on_hangup after dial raised the hangup")
    T.check("dial_status" not in a["vars"], "dial raised instead of returning: %s" % a["vars"])
    rows = v.cdrs("parent_call_id = ?", (a["call_id"],))
    T.check_eq(len(rows), 1, "one b-leg row")
    b = cdr_by_id(v, rows[0]["call_id"])
    T.check_cdr(b, hangup_by="caller", hangup_cause="normal_clearing", sip_code=200)


def dtmf_relay(t, v):
    """The caller presses 5 as RFC 4733; the carrier, which negotiated no telephone-event,
    gets it as INFO; its INFO 7 reaches the caller as RFC 4733 events."""
    carrier_peer = t.rtp_peer()
    uas = t.sipp_uas("uas_info", keys={"rtp_port": carrier_peer.port}, timeout=30).start()
    caller_peer = t.rtp_peer()
    uac = t.uac(v, "1%d" % uas.port, caller_peer.port)
    uac.invite(timeout=15)
    stream = caller_peer.stream(uac.media)
    stream.press("5")
    m = uas.wait_log(r"GOTINFO (\S*)", 10, "the carrier's INFO for the caller's key")
    T.check_eq(m.group(1), "5", "the key relayed as INFO")
    uas.wait_log(r"SENTINFO", 10, "the carrier's own key")

    def caller_got_7():
        return any(p.pt == 101 and T.parse_dtmf_payload(p.payload) and
                   T.parse_dtmf_payload(p.payload).key == "7" for p in caller_peer.packets())
    T.wait_until(caller_got_7, 10, "the carrier's INFO key 7 as RFC 4733 events to the caller")
    stream.stop()
    uac.bye()
    uas.wait_ok(what="carrier (INFO)")
    a = v.wait_cdr(uac.call_id)
    T.check_cdr(a, hangup_by="caller")


def no_recording(t, v):
    """opts.record = false: the bridged call leaves no whole-call recording."""
    peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": peer.port}, tmpl={"hangup_ms": 500},
                     timeout=30).start()
    uac = t.uac(v, "5%d" % uas.port, t.rtp_peer().port)
    uac.invite(timeout=15)
    uac.wait_bye(15)
    a = v.wait_cdr(uac.call_id)
    T.check_eq(a["vars"].get("dial_status"), "answered", "dial's result (%s)" % a["vars"])
    T.check(a["recording"] is None, "record = false: no recording (%r)" % a["recording"])
    uas.wait_ok(what="carrier (no recording)")


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    answered(t, v)
    refused(t, v, 1, "uas_refuse", {"code": 486}, "busy", 486)
    uas = refused(t, v, 3, "uas_ring", {}, "no_answer", 487)
    T.check(uas.find_log(r"GOTCANCEL"), "the carrier got the CANCEL of the ring timeout")
    caller_hangs_up(t, v)
    ringback_tone(t, v)
    dtmf_relay(t, v)
    no_recording(t, v)


if __name__ == "__main__":
    T.main(run)
