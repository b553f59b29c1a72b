#!/usr/bin/env python3
"""The campaign option amd = "hangup" (SPEC 9) applied by the engine: on answer, before the
campaign's script, vcsd runs call:detect_machine's analysis on what the callee sends. The
carrier (scenarios/uas_campaign.xml) answers both callees; the test's RTP peer plays
tests/data/amd/machine.wav to the first and human.wav to the second, one call at a time. The
machine is hung up without the script running, its callee's result "machine" (progress counts
it); the human's call runs the script, which sees call.vars.amd = "human"; both CDRs carry the
var amd. A second campaign with amd = "continue" runs the script for the machine too, with
call.vars.amd = "machine"."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402
from test_amd import recording_frames  # noqa: E402
from test_campaign import CONFIG, ALL_WEEK, campaign, get, move  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(),
    "survey": """return function(call)
  call:set("script_ran", "yes")
  call:set("script_saw_amd", call.vars.amd or "nil")
  call:sleep(300)
end
""",
}

MACHINE, HUMAN = "+8613500000012", "+8613500000022"


def play_on_answer(uas, peer, number, wav):
    """Waits for the carrier to answer number's call, then plays wav to vcsd's RTP port."""
    inv = T.wait_until(lambda: next((m for m in uas.find_log(r"^INVITE (\S+) \d+ (\S+)")
                                     if m.group(1) == number), None), 30, "the call to %s" % number)
    call_id = inv.group(2)
    port = int(T.wait_until(lambda: next((m.group(2) for m in uas.find_log(r"^MEDIA (\S+) (\d+)")
                                          if m.group(1) == call_id), None),
                            5, "vcsd's RTP port of %s" % number))
    T.wait_until(lambda: any(m.group(1) == call_id for m in uas.find_log(r"^ANSWERED \d+ (\S+)")),
                 10, "%s answered" % number)
    peer.send_frames(("127.0.0.1", port), recording_frames(wav))
    return call_id


def run(t):
    peer = t.rtp_peer()
    uas = t.sipp_uas("uas_campaign", keys={"rtp_port": peer.port}, calls=100, timeout=60).start()
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG % uas.port)
    cid, _ = campaign(v, "amd", [MACHINE, HUMAN], script="survey", amd="hangup",
                      max_concurrent=1, cps=1, window=ALL_WEEK, retry={"on": ["busy"], "max_attempts": 1, "interval_s": 60})
    move(v, cid, "start")
    machine_call = play_on_answer(uas, peer, MACHINE, "machine.wav")
    human_call = play_on_answer(uas, peer, HUMAN, "human.wav")
    c = T.wait_until(lambda: (lambda c: c if c["progress"]["in_progress"] == 0 and
                              c["progress"]["pending"] == 0 else None)(get(v, cid)),
                     30, "both callees done")
    p = c["progress"]
    T.check_eq((p["machine"], p["answered"]), (1, 1), "progress: one machine, one answered (%s)" % p)
    st, res = v.api("GET", "/v1/campaigns/%d/results" % cid)
    T.check_eq(st, 200, "results")
    by_number = {r["number"]: r["result"] for r in res["items"]}
    T.check_eq(by_number, {MACHINE: "machine", HUMAN: "answered"}, "results by callee")
    rows = T.wait_until(lambda: (lambda rs: rs if len(rs) == 2 and all(r["end_time"] for r in rs)
                                 else None)(v.cdrs("campaign_id = ?", (cid,))),
                        15, "the 2 CDR rows of the campaign, ended")
    cdr_vars = {r["to_number"]: r["vars"] or {} for r in rows}
    T.log("CDR vars: %s" % cdr_vars)
    T.check_eq(cdr_vars[MACHINE].get("amd"), "machine", "the machine's CDR var amd")
    T.check("script_ran" not in cdr_vars[MACHINE], "the script ran for the machine: %s" % cdr_vars)
    h = cdr_vars[HUMAN]
    T.check_eq((h.get("amd"), h.get("script_ran"), h.get("script_saw_amd")),
               ("human", "yes", "human"), "the human's CDR vars (%s)" % h)
    T.log("carrier calls: machine %s, human %s" % (machine_call, human_call))

    machine2 = "+8613500000032"
    cid, _ = campaign(v, "amd continue", [machine2], script="survey", amd="continue",
                      max_concurrent=1, cps=1, window=ALL_WEEK,
                      retry={"on": ["busy"], "max_attempts": 1, "interval_s": 60})
    move(v, cid, "start")
    play_on_answer(uas, peer, machine2, "machine.wav")
    rows = T.wait_until(lambda: (lambda rs: rs if len(rs) == 1 and rs[0]["end_time"] else None)(
        v.cdrs("campaign_id = ?", (cid,))), 30, "the CDR row of the continue campaign, ended")
    m = rows[0]["vars"] or {}
    T.check_eq((m.get("amd"), m.get("script_ran"), m.get("script_saw_amd")),
               ("machine", "yes", "machine"), "amd continue: the machine's CDR vars (%s)" % m)


if __name__ == "__main__":
    T.main(run)
