#!/usr/bin/env python3
"""call:dial failover (SPEC 5.5): a 5xx, 408, transport error or timeout goes on to the next
gateway or target; 486, 600, 603 and 404 stop. Each attempt is a b-leg CDR row with
parent_call_id.

- A bare number, the first gateway (priority 1) answering 503: the second gateway (priority
  2) carries the call, which is bridged; dial says answered via "second"; two b-leg rows (503
  failed, 200).
- The first gateway answering 486: dial stops (busy); the second gateway never sees an INVITE.
- A list of targets whose first answers 603: rejected, the second target is not tried.
- trunk:NAME/NUMBER reaches the customer trunk at its static address (no REGISTER), the row
  names the trunk.
- opts.on_answer runs on each answered b-leg (its call object: vars reach its CDR row, it can
  play to the callee); returning false hangs that leg up and the dial goes on to the next
  target, which it accepts and which is bridged.
- opts.parallel: both targets ring at once; the first answer wins and is bridged, the other
  gets CANCEL (its row cancelled)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402


def config(first, second):
    gw = """    { name = "%s", address = "127.0.0.1:%d", priority = %d, options_interval_s = 0,
      inbound = false },
"""
    return ("return { trunks = { { name = \"pbx\", account = \"admin\", allow = { \"127.0.0.0/8\" },\n"
            "                     address = \"127.0.0.1:%d\" } },\n" % second +
            "  gateways = {\n" + gw % ("first", first, 1) + gw % ("second", second, 2) + "} }\n")


def dialplans(list_targets):
    return {
        "routes": T.routes_lua(("^\\d+$", "bridge")),
        "bridge": """return function(call)
  local target, opts = call.to, { timeout = 10000 }
  if target == "9" or target == "8" or target == "7" then target = { %s } end
  if target == "6" then target = "trunk:pbx/5551234" end
  if call.to == "8" then opts.parallel = true end
  if call.to == "7" then
    opts.on_answer = function(b)
      b:set("screened", "yes")
      b:tone("1000/200", 200)
      return b.to ~= "one"
    end
  end
  local r = call:dial(target, opts)
  for _, k in ipairs({ "status", "code", "hangup_by", "call_id", "gateway", "target" }) do
    call:set("dial_" .. k, r[k])
  end
  if r.status == "answered" then call:tone("800/1000", 500) end
end
""" % ", ".join(T.lua_str(x) for x in list_targets),
    }


def b_rows(v, a):
    rows = v.cdrs("parent_call_id = ? AND end_time IS NOT NULL", (a["call_id"],))
    return rows


def setup(t, first, first_tmpl, second, second_tmpl):
    p1, p2 = t.rtp_peer(), t.rtp_peer()
    u1 = t.sipp_uas(first, keys={"rtp_port": p1.port}, tmpl=first_tmpl, timeout=30).start()
    u2 = t.sipp_uas(second, keys={"rtp_port": p2.port}, tmpl=second_tmpl, timeout=30).start()
    targets = ["sip:one@127.0.0.1:%d" % u1.port, "sip:two@127.0.0.1:%d" % u2.port]
    v = t.vcsd(dialplans=dialplans(targets), config=config(u1.port, u2.port),
               name="vcsd%d" % t.next_id())
    return v, u1, u2


def call(t, v, number):
    peer = t.rtp_peer()
    uac = t.uac(v, number, peer.port)
    uac.invite(timeout=20, expect=None)
    return v.wait_cdr(uac.call_id, timeout=20)


def failover_503(t):
    v, u1, u2 = setup(t, "uas_refuse", {"code": 503}, "uas_carrier", {"hangup_ms": 1000})
    a = call(t, v, "13800138000")
    got = a["vars"]
    T.check_eq((got.get("dial_status"), got.get("dial_gateway"), got.get("dial_target")),
               ("answered", "second", "13800138000"), "dial after the first gateway's 503 (%s)" % got)
    T.wait_until(lambda: len(b_rows(v, a)) == 2, 10, "two b-leg rows")
    rows = b_rows(v, a)
    T.check_eq([(r["gateway"], r["sip_code"], r["hangup_cause"]) for r in rows],
               [("first", 503, "failed"), ("second", 200, "normal_clearing")], "the attempts")
    u1.wait_ok(what="first carrier (503)")
    u2.wait_ok(what="second carrier (answers)")


def stop_486(t):
    v, u1, u2 = setup(t, "uas_refuse", {"code": 486}, "uas_carrier", {})
    a = call(t, v, "13900139000")
    got = a["vars"]
    T.check_eq((got.get("dial_status"), got.get("dial_code"), got.get("dial_gateway")),
               ("busy", 486, "first"), "dial after the first gateway's 486 (%s)" % got)
    T.check_eq(len(b_rows(v, a)), 1, "one attempt only")
    u1.wait_ok(what="first carrier (486)")
    T.check(not u2.find_log(r"INVITE"), "the second gateway got no INVITE")


def list_stop_603(t):
    v, u1, u2 = setup(t, "uas_refuse", {"code": 603}, "uas_carrier", {})
    a = call(t, v, "9")
    got = a["vars"]
    T.check_eq((got.get("dial_status"), got.get("dial_code")), ("rejected", 603),
               "dial of a list whose first target declines (%s)" % got)
    T.check_eq(len(b_rows(v, a)), 1, "one attempt only")
    u1.wait_ok(what="first target (603)")
    T.check(not u2.find_log(r"INVITE"), "the second target got no INVITE")


def second_wins(t, number, first, first_log, columns, expected, what):
    """Both targets answer or ring; the second is the one bridged. Returns nothing; checks the
    b-leg rows' columns (sorted by callee) against expected."""
    v, u1, u2 = setup(t, first, {}, "uas_carrier", {"hangup_ms": 1500})
    a = call(t, v, number)
    got = a["vars"]
    T.check_eq((got.get("dial_status"), got.get("dial_target")),
               ("answered", "sip:two@127.0.0.1:%d" % u2.port), "%s (%s)" % (what, got))
    u1.wait_log(first_log, 10, "what the first target got")
    T.wait_until(lambda: len(b_rows(v, a)) == 2, 10, "two b-leg rows")
    rows = sorted(b_rows(v, a), key=lambda r: r["to_number"])
    T.check_eq([tuple(col(r) for col in columns) for r in rows], expected, what)
    u1.wait_ok(what="the first target")
    u2.wait_ok(what="the second target")


def parallel(t):
    second_wins(t, "8", "uas_ring", r"GOTCANCEL",
                [lambda r: r["to_number"], lambda r: r["hangup_cause"],
                 lambda r: r["answer_time"] is not None],
                [("one", "cancelled", False), ("two", "normal_clearing", True)],
                "parallel dial: the loser CANCELled")


def on_answer(t):
    second_wins(t, "7", "uas_carrier", r"GOTBYE",
                [lambda r: r["to_number"], lambda r: r["hangup_by"],
                 lambda r: r["vars"].get("screened")],
                [("one", "script", "yes"), ("two", "callee", "yes")],
                "on_answer refusing the first, accepting the second")


def trunk_target(t):
    v, u1, u2 = setup(t, "uas_carrier", {}, "uas_carrier", {"hangup_ms": 1000})
    a = call(t, v, "6")
    got = a["vars"]
    T.check_eq(got.get("dial_status"), "answered", "dial trunk:pbx/5551234 (%s)" % got)
    u2.wait_log(r"INVITE 5551234", 5, "the INVITE at the trunk's static address")
    rows = b_rows(v, a)
    T.check_eq([(r["trunk"], r["to_number"], r["sip_code"]) for r in rows],
               [("pbx", "5551234", 200)], "the b-leg row names the trunk")
    u2.wait_ok(what="the trunk's PBX")
    T.check(not u1.find_log(r"INVITE"), "the gateway got nothing")


def run(t):
    trunk_target(t)
    on_answer(t)
    parallel(t)
    failover_503(t)
    stop_486(t)
    list_stop_603(t)


if __name__ == "__main__":
    T.main(run)
