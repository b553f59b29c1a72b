#!/usr/bin/env python3
"""RFC 4028 session timers (SPEC 3 session_timer.interval_s), through Sofia-SIP's nua:

1. A caller that asks for Session-Expires 90 with refresher=uac and then never refreshes (a
   vanished PBX) is hung up by vcsd with a BYE before the session expires; the CDR says
   hangup_cause session_timeout, hangup_by system.
2. A caller that leaves the refreshing to vcsd (refresher=uas) sees the 200 carry the session
   timer with refresher=uas and receives a refresh (UPDATE) within the interval; the call then
   ends normally.
3. A caller's own refresh, an UPDATE without SDP, is answered 200 with its Session-Expires,
   once (vcsd does not try a 405 after nua's 200); an in-call REFER still gets 405.
4. An INVITE asking for Session-Expires 60 (below the RFC's floor) is refused 422 with Min-SE 90.
The calls run at once (1 and 2 take most of the 90 s minimum interval)."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1200$", "wait")),
    "wait": "return function(call)\n  call:answer()\n  call:sleep(300000)\nend\n",
}
# No media timeout here: the callers send no RTP, only the session timer may end the calls.
CONFIG = "return { media = { timeout_s = 0 }, session_timer = { interval_s = 1800 } }\n"


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    silent = t.sipp("uac_session_silent", v, "1200", keys={"rtp_port": t.rtp_peer().port},
                    tmpl={"se": 90, "refresher_param": ";refresher=uac", "wait_ms": 120000},
                    timeout=150).start()
    refresh = t.sipp("uac_session_refresh", v, "1200", keys={"rtp_port": t.rtp_peer().port},
                     tmpl={"se": 90, "refresher_param": ";refresher=uas", "wait_ms": 120000},
                     timeout=150).start()

    uac = t.uac(v, "1200", t.rtp_peer().port)
    uac.invite()
    r = uac.request("UPDATE", extra=["Supported: timer", "Session-Expires: 90;refresher=uac"])
    T.check(r.code == 200 and re.match(r"\s*90\s*;\s*refresher=uac",
                                       (r.headers.get("session-expires") or [""])[0]),
            "the caller's refresh (UPDATE) is answered 200 with its Session-Expires: %d %s"
            % (r.code, r.headers.get("session-expires")))
    T.check("Responding to a Non-Existing Request" not in v.log_text(),
            "vcsd tried to answer the UPDATE nua had answered already (a 405 after the 200)")
    r = uac.request("REFER", extra=["Refer-To: <sip:x@127.0.0.1>"])
    T.check_eq(r.code, 405, "an in-call REFER (not supported) is still refused")
    uac.bye()

    sock = T.SipSocket(v.sip_port)
    uri = "sip:1200@127.0.0.1:%d" % v.sip_port
    rs = sock.request(T.sip_message("INVITE", uri, local_port=sock.local_port,
                                     extra=["Supported: timer", "Session-Expires: 60"],
                                     body=T.sdp_offer(t.rtp_peer().port),
                                     content_type="application/sdp"))
    final = rs[-1] if rs else None
    T.check(final is not None and final.code == 422
            and (final.headers.get("min-se") or [""])[0].strip() == "90",
            "Session-Expires 60 is refused 422 with Min-SE 90: %s"
            % (final.raw if final else "no answer"))
    sock.send(T.sip_message("ACK", uri, local_port=sock.local_port, call_id=final.headers["call-id"][0],
                            branch=re.search(r"branch=([^;\s]+)", final.headers["via"][0]).group(1),
                            from_tag=re.search(r"tag=([^;>\s]+)", final.headers["from"][0]).group(1),
                            to_tag=re.search(r"tag=([^;>\s]+)", final.headers["to"][0]).group(1)))
    sock.close()

    m = silent.wait_log(r"^SESSION_EXPIRES (.*)$", 10, "the 200 to the silent caller")
    T.check(re.match(r"\s*90\s*;\s*refresher=uac", m.group(1)),
            "the 200 keeps the caller's session timer (90;refresher=uac): %r" % m.group(1))
    m = refresh.wait_log(r"^SESSION_EXPIRES (.*)$", 10, "the 200 to the caller leaving refreshes to us")
    T.check(re.match(r"\s*90\s*;\s*refresher=uas", m.group(1)),
            "vcsd takes the refresher role it was given (90;refresher=uas): %r" % m.group(1))

    refresh.wait_log(r"^REFRESH UPDATE SE", 100, "vcsd's session refresh (UPDATE) within 90 s")
    refresh.wait_ok(timeout=30, what="the refreshed call")
    T.check_cdr(v.wait_cdr(refresh.call_id()), hangup_cause="normal_clearing", hangup_by="caller")

    m = silent.wait_log(r"^GOTBYE REASON (.*)$", 100, "vcsd's BYE to the caller that never refreshed")
    T.log("BYE Reason from vcsd: %r" % m.group(1))
    silent.wait_ok(timeout=30, what="the silent caller")
    T.check_cdr(v.wait_cdr(silent.call_id()), hangup_cause="session_timeout", hangup_by="system")


if __name__ == "__main__":
    T.main(run)
