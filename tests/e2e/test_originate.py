#!/usr/bin/env python3
"""Outbound calls (SPEC 5.2, 6, 7): POST /v1/calls and vcs.originate place a leg to a SIPp
carrier UAS on loopback.

- answered: the script runs on answer with call.direction "outbound", call.from our number,
  call.to the callee and call.vars the vars given; its tone reaches the carrier's RTP port
  (checked by frequency); the script's return hangs up (the carrier gets BYE); the CDR row is
  outbound, answered, normal_clearing, sip_code 200.
- busy (486), rejected (603), not found (404), failed (503): no script runs, the CDR says why
  with the final response as sip_code.
- no answer: the ring timeout CANCELs (with a Q.850 Reason), CDR no_answer.
- the calls API and vcsctl: `vcsctl calls originate` places a leg, GET /v1/calls and `vcsctl
  calls list` list it (state up), GET /v1/calls/{id} gives it, a customer account sees neither
  (404) nor may present a number not its own (400); `vcsctl calls hangup` (DELETE) hangs it up
  (the carrier gets BYE), then GET /v1/calls/{id} gives its CDR; bad requests are 400/404 and
  place nothing.
- from "auto": a customer's active number with a free channel; none free is 409 over_limit.
- vcs.originate from an inbound call's script: the new leg's CDR has parent_call_id = the
  inbound call's id."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

OUR_NUMBER = "861012340000"

DIALPLANS = {
    "routes": T.routes_lua(("^5000\\d+$", "caller")),
    # The notification an outbound call runs when answered.
    "notify": """return function(call)
  call:set("direction", call.direction)
  call:set("from", call.from)
  call:set("to", call.to)
  call:set("greeting", call.vars.greeting)
  call:answer()
  if call.vars.hold then call:sleep(60000) end
  call:tone("700/1000", 1500)
end
""",
    # An inbound call that places an outbound one and says so in its CDR.
    "caller": """return function(call)
  local port = call.to:match("^5000(%d+)$")  -- the carrier's port, dialled after 5000
  local id = vcs.originate{ to = "sip:callee@127.0.0.1:" .. port, from = "861012340001",
                            script = "notify", vars = { greeting = "from script" } }
  call:set("originated", id)
  call:answer()
  call:sleep(200)
end
""",
}


def carrier(t, scenario, **tmpl):
    peer = t.rtp_peer()
    uas = t.sipp_uas(scenario, keys={"rtp_port": peer.port}, tmpl=tmpl, timeout=30)
    uas.start()
    return uas, peer


def originate(v, uas, token=True, **over):
    body = {"to": "sip:callee@127.0.0.1:%d" % uas.port, "from": OUR_NUMBER, "script": "notify",
            "vars": {"greeting": "hello"}}
    body.update(over)
    return v.api("POST", "/v1/calls", body, token=token)


def cdr_of(v, call_id, timeout=15):
    def look():
        rows = v.cdrs("call_id = ?", (call_id,))
        return rows[0] if rows and rows[0].get("end_time") else None
    return T.wait_until(look, timeout, "the CDR row of %s to be completed" % call_id)


def answered(t, v):
    uas, peer = carrier(t, "uas_carrier")
    st, body = originate(v, uas)
    T.check_eq(st, 201, "POST /v1/calls status (%s)" % body)
    cid = body["id"]
    uas.wait_log(r"ANSWERED", 10, "the carrier to get the ACK of its 200")
    uas.wait_log(r"GOTBYE", 15, "vcsd's BYE once the script returned")
    uas.wait_ok(what="carrier UAS (answered)")
    tones = [T.dominant(T.decode_payload(p.pt, p.payload), [700, 1000, 440])
             for p in peer.packets() if p.pt == 0]
    T.check(tones.count(700) >= 40,
            "the carrier heard the script's 700 Hz tone (frames by tone: %s)"
            % {f: tones.count(f) for f in set(tones)})
    row = cdr_of(v, cid)
    T.check_cdr(row, direction="outbound", account="admin", from_number=OUR_NUMBER,
                to_number="callee", script="notify", hangup_cause="normal_clearing",
                hangup_by="script", sip_code=200, parent_call_id=None)
    T.check(row["answer_time"] is not None, "the leg is answered: %s" % row)
    T.check_eq(row["vars"].get("direction"), "outbound", "call.direction")
    T.check_eq(row["vars"].get("from"), OUR_NUMBER, "call.from")
    T.check_eq(row["vars"].get("to"), "callee", "call.to")
    T.check_eq(row["vars"].get("greeting"), "hello", "call.vars.greeting")
    T.check(row["sip_call_id"], "the CDR has the leg's SIP Call-ID: %s" % row)
    T.check_cdr_times(row, answered=True)


def refused(t, v, code, cause):
    uas, _ = carrier(t, "uas_refuse", code=code)
    st, body = originate(v, uas)
    T.check_eq(st, 201, "POST /v1/calls status (%s)" % body)
    uas.wait_ok(what="carrier UAS refusing %d" % code)
    row = cdr_of(v, body["id"])
    T.check_cdr(row, direction="outbound", hangup_cause=cause, sip_code=code, answer_time=None,
                billsec=0)
    T.check("greeting" not in (row["vars"] or {}), "no script ran on a refused leg: %s" % row)


def no_answer(t, v):
    uas, _ = carrier(t, "uas_ring")
    st, body = originate(v, uas, timeout_s=1)
    T.check_eq(st, 201, "POST /v1/calls status (%s)" % body)
    m = uas.wait_log(r"GOTCANCEL REASON (.*)", 10, "vcsd's CANCEL after the ring timeout")
    T.check("Q.850" in m.group(1) and "cause=19" in m.group(1),
            "the CANCEL says why: Reason %r" % m.group(1))
    uas.wait_ok(what="carrier UAS that never answers")
    row = cdr_of(v, body["id"])
    T.check_cdr(row, hangup_cause="no_answer", hangup_by="system", answer_time=None)


def api_live(t, v):
    uas, _ = carrier(t, "uas_carrier")
    r = v.vcsctl("calls", "originate", "sip:callee@127.0.0.1:%d" % uas.port, OUR_NUMBER, "notify",
                 "--vars", '{"greeting": "live", "hold": true}', "--timeout-s", "20", "--json")
    T.check_eq(r.returncode, 0, "vcsctl calls originate (%s %s)" % (r.stdout, r.stderr))
    cid = json.loads(r.stdout)["id"]
    uas.wait_log(r"ANSWERED", 10, "the carrier to answer")

    def listed():
        st, lst = v.api("GET", "/v1/calls")
        items = [c for c in lst.get("items", []) if c["id"] == cid] if st == 200 else []
        return items[0] if items and items[0]["state"] == "up" else None
    item = T.wait_until(listed, 10, "GET /v1/calls to list %s as up" % cid)
    T.check_eq(item["direction"], "outbound", "listed direction")
    T.check_eq(item["to"], "callee", "listed to")
    T.check_eq(item["from"], OUR_NUMBER, "listed from")
    T.check(item["answer_time"] and item["start_time"], "listed times: %s" % item)
    st, one = v.api("GET", "/v1/calls/" + cid)
    T.check_eq((st, one.get("state")), (200, "up"), "GET /v1/calls/{id} of a live leg")
    r = v.vcsctl("calls", "list")
    T.check(r.returncode == 0 and cid in r.stdout and "outbound" in r.stdout,
            "vcsctl calls list shows the leg:\n%s%s" % (r.stdout, r.stderr))

    # Another account sees none of it.
    st, acc = v.api("POST", "/v1/accounts", {"name": "acme"})
    T.check_eq(st, 201, "account created (%s)" % acc)
    st, lst = v.api("GET", "/v1/calls", token=acc["token"])
    T.check_eq((st, [c["id"] for c in lst["items"]]), (200, []), "acme's live calls")
    st, _ = v.api("GET", "/v1/calls/" + cid, token=acc["token"])
    T.check_eq(st, 404, "acme reading admin's call")
    st, _ = v.api("DELETE", "/v1/calls/" + cid, token=acc["token"])
    T.check_eq(st, 404, "acme hanging up admin's call")
    # ... nor may it present a number that is not its own.
    st, err = originate(v, uas, token=acc["token"])
    T.check_eq(st, 400, "acme originating from a number not its own (%s)" % err)

    r = v.vcsctl("calls", "hangup", cid)
    T.check_eq(r.returncode, 0, "vcsctl calls hangup (%s %s)" % (r.stdout, r.stderr))
    uas.wait_log(r"GOTBYE", 10, "the BYE of the hung-up leg")
    uas.wait_ok(what="carrier UAS (hung up by the API)")
    row = cdr_of(v, cid)
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="system", sip_code=200)
    st, ended = v.api("GET", "/v1/calls/" + cid)
    T.check_eq((st, ended.get("state"), ended.get("hangup_cause")), (200, "ended", "normal_clearing"),
               "GET /v1/calls/{id} of an ended leg (its CDR)")
    st, _ = v.api("DELETE", "/v1/calls/" + cid)
    T.check_eq(st, 404, "DELETE of an ended leg")


def caller_id_auto(t, v):
    """from "auto" (SPEC 8): the account's active number with a free channel; none free is
    409 over_limit."""
    number = "+861055500001"
    st, r = v.api("POST", "/v1/numbers/import", "%s,beijing,fixed,1\n" % number,
                  headers={"Content-Type": "text/csv"})
    T.check_eq(st, 200, "number import (%s)" % r)
    st, tok = v.api("POST", "/v1/accounts", {"name": "shop"})
    T.check_eq(st, 201, "account shop (%s)" % tok)
    st, order = v.api("POST", "/v1/orders", {"numbers": [number]}, token=tok["token"])
    T.check_eq(st, 201, "order (%s)" % order)
    st, r = v.api("POST", "/v1/orders/%d/approve" % order["id"])
    T.check_eq(st, 200, "approval (%s)" % r)
    uas, _ = carrier(t, "uas_carrier")
    st, body = originate(v, uas, token=tok["token"], **{"from": "auto", "vars": {"hold": True}})
    T.check_eq(st, 201, "POST /v1/calls from auto (%s)" % body)
    uas.wait_log(r"ANSWERED", 10, "the carrier to answer")
    st, live = v.api("GET", "/v1/calls/" + body["id"], token=tok["token"])
    T.check_eq((st, live.get("from")), (200, number), "auto picked the account's number")
    st, err = originate(v, uas, token=tok["token"], **{"from": "auto"})
    T.check_eq((st, err.get("error", {}).get("code")), (409, "over_limit"),
               "auto with the only number's only channel taken (%s)" % err)
    st, _ = v.api("DELETE", "/v1/calls/" + body["id"], token=tok["token"])
    T.check_eq(st, 204, "hang up the auto call")
    uas.wait_ok(what="carrier (caller ID auto)")


def bad_requests(v):
    before = len(v.cdrs())
    cases = [({"to": "callee", "from": OUR_NUMBER, "script": "notify"}, 400),
             ({"to": "sip:x@127.0.0.1", "from": OUR_NUMBER, "script": "nosuch"}, 404),
             ({"to": "sip:x@127.0.0.1", "from": "not a number", "script": "notify"}, 400),
             ({"to": "sip:x@127.0.0.1\r\nX: y", "from": OUR_NUMBER, "script": "notify"}, 400),
             ({"to": "sip:x@127.0.0.1", "from": OUR_NUMBER, "script": "notify", "timeout_s": 0}, 400),
             ({"to": "sip:x@127.0.0.1", "from": OUR_NUMBER, "script": "notify", "vars": {"a": [1]}}, 400),
             ({"to": "sip:x@127.0.0.1", "script": "notify"}, 400)]
    for body, want in cases:
        st, err = v.api("POST", "/v1/calls", body)
        T.check_eq(st, want, "POST /v1/calls %r (%s)" % (body, err))
    T.check_eq(len(v.cdrs()), before, "CDR rows after refused requests")


def from_script(t, v):
    uas, _ = carrier(t, "uas_carrier")
    peer = t.rtp_peer()
    uac = t.uac(v, "5000%d" % uas.port, peer.port)
    uac.invite()
    inbound = v.wait_cdr(uac.call_id, timeout=15)
    out_id = inbound["vars"].get("originated")
    T.check(out_id, "vcs.originate returned an id: %s" % inbound)
    uas.wait_ok(what="carrier UAS (originated by a script)")
    row = cdr_of(v, out_id)
    T.check_cdr(row, direction="outbound", parent_call_id=inbound["call_id"], account="admin",
                from_number="861012340001", hangup_cause="normal_clearing", sip_code=200)
    T.check_eq(row["vars"].get("greeting"), "from script", "vars passed by vcs.originate")


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    bad_requests(v)
    answered(t, v)
    for code, cause in ((486, "busy"), (603, "rejected"), (404, "not_found"), (503, "failed")):
        refused(t, v, code, cause)
    no_answer(t, v)
    api_live(t, v)
    caller_id_auto(t, v)
    from_script(t, v)


if __name__ == "__main__":
    T.main(run)
