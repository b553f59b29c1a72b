#!/usr/bin/env python3
"""A full disk loses no CDR (issue 9 item 5): with the data directory on a small tmpfs that is
filled up, a call's CDR cannot be written; vcsd keeps it queued, counts the failures in
/metrics (vcs_cdr_write_errors_total, vcs_cdr_pending) and keeps serving; once there is room
again the row lands complete, without a restart. A SIGTERM while the disk is still full ends
after a bounded wait with exit status 1 and the unwritten changes named in the log.
Needs root (mount); skipped otherwise."""

import errno
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

# The 2 MB var makes the final CDR change far larger than any room the WAL has left.
DIALPLANS = {
    "routes": T.routes_lua(("^6000$", "big")),
    "big": """return function(call)
  call:answer()
  call:set("pad", string.rep("x", 2 * 1024 * 1024))
end
""",
}


def metric(v, name):
    _, text = v.api("GET", "/metrics")
    m = re.search(r"(?m)^%s (\d+)$" % re.escape(name), text)
    T.check(m is not None, "%s missing from /metrics:\n%s" % (name, text))
    return int(m.group(1))


def fill(path):
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as e:
            T.check(e.errno == errno.ENOSPC, "filling the disk: %s" % e)


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, start=False)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
                                            v.data], capture_output=True).returncode != 0:
        raise T.TestSkip("cannot mount a tmpfs (needs root)")
    try:
        v.start()
        T.check_eq(metric(v, "vcs_cdr_write_errors_total"), 0, "write errors before")
        filler = os.path.join(v.data, "filler")
        fill(filler)

        peer = t.rtp_peer()
        call = t.sipp("uac_wait_bye", v, "6000", keys={"rtp_port": peer.port},
                      tmpl={"bye_timeout_ms": 10000})
        call.run_ok(what="a call while the disk is full")
        T.wait_until(lambda: metric(v, "vcs_cdr_write_errors_total") > 0, 10,
                     "a failed CDR write counted in /metrics")
        T.check(metric(v, "vcs_cdr_pending") > 0, "no CDR change pending while the disk is full")
        row = v.cdr(call.call_id())
        T.check(row is None or row["end_time"] is None,
                "the CDR row was completed on a full disk: %s" % row)
        r = T.sip_options(v.sip_port)
        T.check(r is not None and r.code == 200, "OPTIONS while the disk is full: %s"
                % (r and r.code))

        os.unlink(filler)
        row = v.wait_cdr(call.call_id(), timeout=20)  # retried every 2 s at most
        T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script", script="big")
        T.check_eq(len(row["vars"].get("pad", "")), 2 * 1024 * 1024, "length of the var pad")
        T.wait_until(lambda: metric(v, "vcs_cdr_pending") == 0, 10, "nothing pending")

        # Full again at shutdown: vcsd waits a bounded time, names what it could not write
        # and says so with its exit status.
        fill(filler)
        call = t.sipp("uac_wait_bye", v, "6000", keys={"rtp_port": peer.port},
                      tmpl={"bye_timeout_ms": 10000})
        call.run_ok(what="a second call while the disk is full")
        T.wait_until(lambda: metric(v, "vcs_cdr_pending") > 0, 10, "the second CDR pending")
        mark = v.mark()
        v.sigterm()
        T.check_eq(v.wait_exit(30), 1, "exit status of a SIGTERM that could not write every CDR")
        T.check("not written: CDR " in v.log_text(mark),
                "the log does not name the unwritten CDR:\n" + v.log_text(mark))
    finally:
        v.stop()
        subprocess.run(["umount", "-l", v.data], capture_output=True)


if __name__ == "__main__":
    T.main(run)
