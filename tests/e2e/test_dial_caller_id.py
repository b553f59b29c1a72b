#!/usr/bin/env python3
"""call:dial's caller ID and its b-leg CDR rows (SPEC 5.5, 6, 8).

- A caller whose From user is not a number (sip:alice@...) calls a script that dials with the
  default caller ID and with caller_id = "auto": the operator's account has a number, which
  "auto" presents (SPEC 8); no script error; the b-leg row's from_number is that number.
- The same with the operator's account owning no number: dial returns nil, "no_caller_id"
  (no leg placed, no script error).
- The b-leg row's script is what ran on the b-leg: the a-leg's script when opts.on_answer
  ran there (the handler is that script's function), NULL when nothing ran (plain bridge);
  the a-leg row keeps its own script."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

OURS = "861055500009"

DIALPLANS = {
    "routes": T.routes_lua(("^1$", "plain"), ("^2$", "screen"), ("^3$", "auto")),
    # dial with the default caller ID, nothing on the b-leg
    "plain": """return function(call)
  local r, err = call:dial("sip:callee@127.0.0.1:" .. CARRIER, { timeout = 5000 })
  call:set("status", r and r.status or err)
end
""",
    # dial with an on_answer handler that runs on the b-leg
    "screen": """return function(call)
  local r, err = call:dial("sip:callee@127.0.0.1:" .. CARRIER, { timeout = 5000,
    on_answer = function(b) b:set("screened", "yes") return true end })
  call:set("status", r and r.status or err)
end
""",
    # dial with caller_id = "auto"
    "auto": """return function(call)
  local r, err = call:dial("sip:callee@127.0.0.1:" .. CARRIER, { timeout = 5000, caller_id = "auto" })
  call:set("status", r and r.status or err)
end
""",
}


def dialplans(port):
    return {k: v.replace("CARRIER", '"%d"' % port) for k, v in DIALPLANS.items()}


CONFIG = """return { trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.0/8" } } } }
"""


def call(t, v, number, caller="alice"):
    peer = t.rtp_peer()
    uac = t.uac(v, number, peer.port, caller=caller)
    uac.invite(timeout=20, expect=None)
    return v.wait_cdr(uac.call_id, timeout=30)


def b_rows(v, a):
    return T.wait_until(lambda: v.cdrs("parent_call_id = ? AND end_time IS NOT NULL",
                                       (a["call_id"],)) or None, 15, "the b-leg row")


def run(t):
    peer = t.rtp_peer()
    uas = t.sipp_uas("uas_carrier", keys={"rtp_port": peer.port}, tmpl={"hangup_ms": 300},
                     calls=4, timeout=90).start()
    v = t.vcsd(dialplans=dialplans(uas.port), config=CONFIG)

    # No number of the account: a clear result, no script error.
    for number in ("1", "3"):
        a = call(t, v, number)
        T.check_eq((a["vars"].get("status"), a["hangup_cause"]), ("no_caller_id", "normal_clearing"),
                   "dial from sip:alice@ with no number of the account (route %s)" % number)
        T.check_eq(v.cdrs("parent_call_id = ?", (a["call_id"],)), [], "b-legs placed")

    v.admin_number(OURS, "plain", 10)
    froms = []
    for number, script in (("1", "plain"), ("3", "auto"), ("2", "screen")):
        a = call(t, v, number)
        T.check_eq((a["vars"].get("status"), a["script"]), ("answered", script),
                   "dial from sip:alice@ (route %s)" % number)
        b = b_rows(v, a)
        T.check_eq([r["from_number"] for r in b], [OURS], "the b-leg's caller ID (route %s)" % number)
        froms.append(b[0])
    T.check_eq([r["script"] for r in froms], [None, None, "screen"],
               "the b-leg rows' script: what ran on the b-leg")
    T.check_eq(froms[2]["vars"].get("screened"), "yes", "on_answer ran on the b-leg")


if __name__ == "__main__":
    T.main(run)
