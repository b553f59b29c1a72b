#!/usr/bin/env python3
"""A call that is up when vcsd is killed with SIGKILL is still in the CDR table after a restart
on the same data directory, ended: hangup_cause system_crash, hung up by the system, end_time
set and no later than the restart (SPEC 6). The end is vcsd's last heartbeat (every 2 s), not
the restart: the call had been billed until the kill at most, never for the downtime."""

import datetime
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^6000$", "long")),
    "long": "return function(call)\n  call:answer()\n  call:sleep(60000)\nend\n",
}


DOWNTIME_S = 6


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", v, "6000", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 60000}, timeout=90).start()
    call.wait_log("^ANSWERED$", 10, "the call answered")
    cid = call.call_id()
    row = v.wait_cdr(cid, ended=False)
    T.check(row["end_time"] is None and row["hangup_cause"] is None,
            "a CDR row of a call that is up must have end_time and hangup_cause NULL: %s" % row)

    time.sleep(3)  # a heartbeat or two while the call is up
    v.kill9()
    killed = T.utcnow()
    call.kill()
    time.sleep(DOWNTIME_S)  # the downtime: several heartbeat periods
    v.restart()
    restarted = v.started_at

    rows = v.cdrs("sip_call_id = ?", (cid,))
    T.check_eq(len(rows), 1, "CDR rows for the crashed call")
    row = rows[0]
    T.check_cdr(row, hangup_cause="system_crash", hangup_by="system", script="long")
    T.check(row["end_time"] is not None, "end_time of the crashed call is NULL: %s" % row)
    end = T.parse_iso(row["end_time"])
    start = T.parse_iso(row["start_time"])
    T.check(start <= end <= restarted,
            "end_time %s must lie between start_time %s and the restart (%s)"
            % (row["end_time"], row["start_time"], restarted.isoformat()))
    # The last heartbeat was written before the kill; the downtime is not billed.
    T.check(end <= killed,
            "end_time %s is after the kill (%s): the downtime until the restart (%s) was billed"
            % (row["end_time"], killed.isoformat(), restarted.isoformat()))
    T.check(restarted - end >= datetime.timedelta(seconds=DOWNTIME_S),
            "end_time %s is not before the downtime (restart %s)"
            % (row["end_time"], restarted.isoformat()))
    T.check(row["answer_time"] is not None, "the answered call has no answer_time: %s" % row)
    T.check_cdr_times(row, answered=True)

    r = T.sip_options(v.sip_port)
    T.check(r is not None and r.code == 200, "OPTIONS after the restart: %s" % (r and r.code))


if __name__ == "__main__":
    T.main(run)
