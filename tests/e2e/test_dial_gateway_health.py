#!/usr/bin/env python3
"""call:dial through the carrier gateways (SPEC 3, 5.5; issue 6 item 10): health by OPTIONS
and the carrier's digest challenge on a dialled leg.

Gateway "first" (priority 1) is probed every second; "second" (priority 2, not probed) wants
digest authentication (user vcs, password s3cret).
1. "first" is a socket that swallows everything: after 3 missed probes GET /v1/gateways says
   down. A dial to a number then skips it: the INVITE goes straight to "second" (the silent
   socket never gets one), which challenges it with 401; vcsd answers the challenge with the
   gateway's credentials (SIPp's verifyauth says AUTH true) and the call is bridged until the
   caller hangs up: one b-leg row, answered, gateway "second".
2. A carrier on "first"'s port answers probes again: the first answer brings it up, and the next
   dial goes to "first" (dial's result and the one b-leg row name it; "second" is not tried)."""

import os
import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = """return {
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.0/8" } } },
  gateways = {
    { name = "first", address = "127.0.0.1:%d", priority = 1, options_interval_s = 1,
      inbound = false },
    { name = "second", address = "127.0.0.1:%d", priority = 2, options_interval_s = 0,
      username = "vcs", password = "s3cret", inbound = false },
  },
}
"""
DIALPLANS = {
    "routes": T.routes_lua(("^\\d+$", "bridge")),
    "bridge": """return function(call)
  local r = call:dial(call.to, { timeout = 10000 })
  for _, k in ipairs({ "status", "code", "gateway", "call_id" }) do call:set("dial_" .. k, r[k]) end
end
""",
}


def gateway(v, name):
    st, page = v.api("GET", "/v1/gateways")
    T.check_eq(st, 200, "GET /v1/gateways")
    return next(g for g in page["items"] if g["name"] == name)


def dial(t, v, number, hang_up_after=None):
    peer = t.rtp_peer()
    uac = t.uac(v, number, peer.port)
    uac.invite(timeout=20)
    if hang_up_after:
        hang_up_after()
        uac.bye()
    a = v.wait_cdr(uac.call_id, timeout=20)
    rows = v.cdrs("parent_call_id = ? AND end_time IS NOT NULL", (a["call_id"],))
    return a, rows


def run(t):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    first_port = silent.getsockname()[1]
    p2 = t.rtp_peer()
    second = t.sipp_uas("uas_auth", keys={"rtp_port": p2.port},
                        tmpl={"user": "vcs", "password": "s3cret"}, timeout=60).start()
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG % (first_port, second.port))

    T.wait_until(lambda: gateway(v, "first")["state"] == "down", 20, "first down after 3 misses")
    a, rows = dial(t, v, "5551000",
                   lambda: second.wait_log(r"^ANSWERED$", 10, "second to answer"))
    second.wait_log(r"^CHALLENGED$", 1, "second's 401")
    second.wait_log(r"^AUTH true", 1, "vcsd's answer to the challenge, with the right password")
    second.wait_ok(what="the second gateway's carrier")
    T.check_eq([(r["gateway"], r["sip_code"], r["answer_time"] is not None) for r in rows],
               [("second", 200, True)], "b-leg rows with first down (the caller hung up)")
    silent.setblocking(False)
    got = []
    while True:
        try:
            got.append(silent.recv(65535).split(b" ", 1)[0])
        except BlockingIOError:
            break
    T.check(got and set(got) == {b"OPTIONS"}, "the down gateway got probes only: %s" % got)
    silent.close()

    p1 = t.rtp_peer()
    first = t.sipp_uas("uas_carrier", keys={"rtp_port": p1.port}, tmpl={"hangup_ms": 1000},
                       calls=100000, timeout=60)  # each probe answered is a SIPp call
    first.cmd[first.cmd.index("-p") + 1] = str(first_port)
    first.port = first_port
    first.start()
    T.wait_until(lambda: gateway(v, "first")["state"] == "up", 15, "first up after one answer")
    a, rows = dial(t, v, "5551001")
    first.wait_log(r"^SENTBYE$", 10, "first's callee to hang up")
    T.check_eq((a["vars"].get("dial_status"), a["vars"].get("dial_gateway")), ("answered", "first"),
               "dial with first up again (%s)" % a["vars"])
    T.check_eq([(r["gateway"], r["sip_code"]) for r in rows], [("first", 200)],
               "b-leg rows with first up again")


if __name__ == "__main__":
    T.main(run)
