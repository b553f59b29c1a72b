#!/usr/bin/env python3
"""DELETE /v1/calls/{id} right after POST /v1/calls (SPEC 7): the id POST returns names a leg
that GET and DELETE find at once, before its worker has placed it. Hammered: THREADS clients
at once, each ROUNDS times POST then DELETE back to back, against a SIPp carrier that rings forever; every GET right after POST
finds the leg (state "calling"), every DELETE is 204, the carrier gets a CANCEL for every
INVITE, each CDR row ends `cancelled`, and nothing is left up (GET /v1/calls empty, health 0
calls). On the old code the worker published the leg only after POST returned and a DELETE
answered 404 "no such call up" whenever the worker was behind (seen once in
test_policy_matrix; here made certain by a script that keeps the only worker busy)."""

import os
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

OUR_NUMBER = "861012340000"
THREADS = 4
ROUNDS = 20  # per client

DIALPLANS = {
    "routes": T.routes_lua(("^6000$", "busy")),
    "notify": "return function(call) call:answer() call:sleep(60000) end\n",
    # Keeps the only worker busy (no yield) for a while after the answer: a leg originated
    # meanwhile waits in the worker's inbox, the race made certain.
    "busy": """return function(call)
  call:answer()
  local until_ms = vcs.now() + 1500
  while vcs.now() < until_ms do end
end
""",
}
# One worker, and a busy wait longer, in instructions and in time, than a call may by default.
CONFIG = ("return { engine = { workers = 1 },"
          " script = { max_instructions = 2000000000, max_run_ms = 5000 } }\n")
BEHIND = 5  # legs originated while the worker is busy


def hammer(v, body, n, ids, seen, deleted):
    for i in range(n):
        st, created = v.api("POST", "/v1/calls", body)
        if st != 201:
            deleted.append(("POST", st, created))
            continue
        cid = created["id"]
        ids.append(cid)
        if i % 2:  # half are read first (GET must find the leg live), half deleted at once
            st, one = v.api("GET", "/v1/calls/" + cid)
            seen.append((cid, st, one.get("state") if isinstance(one, dict) else one))
        st, err = v.api("DELETE", "/v1/calls/" + cid)
        deleted.append((cid, st, err))


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    uas = t.sipp_uas("uas_ring", calls=BEHIND + THREADS * ROUNDS, timeout=90)
    uas.start()
    body = {"to": "sip:callee@127.0.0.1:%d" % uas.port, "from": OUR_NUMBER, "script": "notify"}
    ids, seen, deleted = [], [], []
    # The worker behind: an answered call busies it, then POST, GET and DELETE.
    uac = t.uac(v, "6000", t.rtp_peer().port)
    uac.invite()
    hammer(v, body, BEHIND, ids, seen, deleted)
    v.wait_cdr(uac.call_id, timeout=15)  # the worker is free again
    # Several clients at once keep the workers' inboxes busy, so that a leg's worker is often
    # still behind when its POST has answered.
    threads = [threading.Thread(target=hammer, args=(v, body, ROUNDS, ids, seen, deleted))
               for _ in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    T.check(not any(th.is_alive() for th in threads), "the clients finished")
    bad = [d for d in deleted if d[1] != 204]
    T.check(not bad, "every POST is 201 and every DELETE right after it 204; not (%d of %d): %s"
            % (len(bad), len(deleted), bad[:5]))
    T.check_eq(len(ids), BEHIND + THREADS * ROUNDS, "legs placed")
    T.check(all(s[1] == 200 and s[2] in ("calling", "early") for s in seen),
            "every GET right after POST finds the leg live: %s"
            % [s for s in seen if s[1] != 200 or s[2] not in ("calling", "early")][:5])
    uas.wait_ok(what="carrier UAS (every INVITE CANCELled)")
    for cid in ids:
        row = T.wait_until(lambda: next(iter(r for r in v.cdrs("call_id = ?", (cid,))
                                              if r.get("end_time")), None),
                           15, "the CDR row of %s to be completed" % cid)
        T.check_cdr(row, direction="outbound", hangup_cause="cancelled", answer_time=None)
    T.wait_until(lambda: v.health()[1]["calls"] == 0, 30, "every leg to end")
    st, lst = v.api("GET", "/v1/calls")
    T.check_eq((st, lst.get("items")), (200, []), "no leg left listed")

if __name__ == "__main__":
    T.main(run)
