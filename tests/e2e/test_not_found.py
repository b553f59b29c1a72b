#!/usr/bin/env python3
"""A called number that no number record and no route matches gets 404 (SPEC 4, step 4), and
the attempt still has a completed CDR row: not_found, sip_code 404, never answered."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^1000$", "answer")),
    "answer": "return function(call)\n  call:answer()\n  call:sleep(500)\nend\n",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    call = t.sipp("uac_expect_code", v, "5550000", tmpl={"code": 404})
    call.run_ok(what="INVITE to an unrouted number must get 404 (final codes seen: see below)")
    row = v.wait_cdr(call.call_id())
    T.check_cdr(row, to_number="5550000", sip_code=404, hangup_cause="not_found",
                direction="inbound")
    T.check_cdr_times(row, answered=False)
    T.check_eq(len(v.cdrs()), 1, "CDR rows for one attempt")


if __name__ == "__main__":
    T.main(run)
