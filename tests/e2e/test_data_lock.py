#!/usr/bin/env python3
"""A second vcsd started on the data directory of a running one exits non-zero at once, naming
the PID that holds <data>/vcsd.lock, before it touches anything there: the first one's
admin.token is unchanged and its live call's CDR row stays open (a second store would have
closed it as system_crash), and the first vcsd carries on. Once the first has stopped, the
directory can be used again."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^6000$", "long")),
    "long": "return function(call)\n  call:answer()\n  call:sleep(60000)\nend\n",
}


CONFIG = "return { shutdown = { grace_seconds = 1 } }\n"


def start_expecting_exit(v, timeout):
    """Runs v (own ports, maybe another's data) to its exit; returns (exit code, log text)."""
    logpath = os.path.join(v.root, "vcsd.%d.log" % (len(v.logs) + 1))
    v.logs.append(logpath)
    v._logf = open(logpath, "wb")
    v.proc = subprocess.Popen(v.argv(), cwd=v.root, stdin=subprocess.DEVNULL, stdout=v._logf,
                              stderr=subprocess.STDOUT, preexec_fn=T._pdeathsig)
    v.pid = v.proc.pid
    return v.wait_exit(timeout), v.log_text(0, logpath)


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", v, "6000", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 60000}, timeout=90).start()
    call.wait_log("^ANSWERED$", 10, "the call answered")
    cid = call.call_id()
    v.wait_cdr(cid, ended=False)
    token_path = os.path.join(v.data, "admin.token")
    with open(token_path, "rb") as f:
        token = f.read()
    token_mtime = os.stat(token_path).st_mtime_ns

    second = t.vcsd(dialplans=DIALPLANS, name="second", start=False)
    second.data = v.data
    rc, text = start_expecting_exit(second, 10)
    T.check(rc != 0, "a second vcsd on the same data exited with %s\n%s" % (rc, text))
    T.check("in use by another vcsd (pid %d " % v.pid in text,
            "the second vcsd does not name the first one's PID %d:\n%s" % (v.pid, text))
    T.check("ready" not in text, "the second vcsd got ready:\n%s" % text)

    with open(token_path, "rb") as f:
        T.check(f.read() == token, "admin.token changed")
    T.check_eq(os.stat(token_path).st_mtime_ns, token_mtime, "admin.token mtime")
    row = v.cdr(cid)
    T.check(row is not None and row["end_time"] is None and row["hangup_cause"] is None,
            "the live call's CDR row was touched by the second vcsd: %s" % row)
    v.check_alive("after the second vcsd was refused")
    r = T.sip_options(v.sip_port)
    T.check(r is not None and r.code == 200, "OPTIONS to the first vcsd: %s" % (r and r.code))

    T.check_eq(v.stop(), 0, "exit code of the first vcsd")  # ends the call: BYE after 1 s
    row = v.wait_cdr(cid)
    T.check_cdr(row, hangup_cause="shutdown")
    call.kill()
    second.start()  # the lock went with the first process
    T.check_eq(len(second.cdrs("sip_call_id = ?", (cid,))), 1, "rows of the call")


if __name__ == "__main__":
    T.main(run)
