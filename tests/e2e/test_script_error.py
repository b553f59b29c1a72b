#!/usr/bin/env python3
"""A script error ends only its own call (SPEC 5.3): raised before the answer the caller gets
500, raised after it vcsd sends BYE; both CDR rows say script_error, hung up by the system;
the log names the script and the line; vcsd keeps serving."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

ERR_BEFORE = """return function(call)
  call:set("stage", "before")
  error("boom before answer")
end
"""
ERR_AFTER = """return function(call)
  call:answer()
  call:set("stage", "after")
  call:sleep(300)
  error("boom after answer")
end
"""
DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "err_before"), ("^2001$", "err_after")),
    "err_before": ERR_BEFORE,
    "err_after": ERR_AFTER,
}


def line_of(src, needle):
    return next(i for i, ln in enumerate(src.splitlines(), 1) if needle in ln)


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)

    mark = v.mark()
    before = t.sipp("uac_expect_code", v, "2000", tmpl={"code": 500})
    before.run_ok(what="script error before answer must give 500")
    row = v.wait_cdr(before.call_id())
    T.check_cdr(row, hangup_cause="script_error", hangup_by="system", sip_code=500,
                script="err_before")
    T.check_cdr_times(row, answered=False)
    T.check_eq((row["vars"] or {}).get("stage"), "before", "vars set before the error reach the CDR")
    n = line_of(ERR_BEFORE, "error(")
    v.wait_log(r"err_before(\.lua)?:%d\b" % n, 5, since=mark,
               what="the script error logged with script name and line (err_before.lua:%d)" % n)
    v.wait_log(r"(?i)traceback", 5, since=mark, what="a traceback logged with the script error")

    peer = t.rtp_peer()
    after = t.sipp("uac_wait_bye", v, "2001", keys={"rtp_port": peer.port},
                   tmpl={"bye_timeout_ms": 10000})
    after.run_ok(what="script error after answer must end the call with a BYE from vcsd")
    row = v.wait_cdr(after.call_id())
    T.check_cdr(row, hangup_cause="script_error", hangup_by="system", sip_code=200,
                script="err_after")
    T.check_cdr_times(row, answered=True)
    n = line_of(ERR_AFTER, "error(")
    v.wait_log(r"err_after(\.lua)?:%d\b" % n, 5, what="err_after.lua:%d in the log" % n)

    v.check_alive("after two script errors")
    st, body = v.health()
    T.check_eq(st, 200, "health after two script errors (%s)" % body)


if __name__ == "__main__":
    T.main(run)
