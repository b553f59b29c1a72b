#!/usr/bin/env python3
"""Scheduling classes of vcsd's threads (docs/operations.md, "Capacity and protection"): the
threads with slack of their own (recorder, store, TTS, prompt loader...) run SCHED_BATCH so that
their wake-ups never preempt a media worker; with engine.realtime_priority = P the media
workers (threads named vcs-worker<N>) run SCHED_RR at P, and calls work as before. Where the
kernel refuses real-time (no CAP_SYS_NICE), vcsd logs a warning per worker and goes on with
ordinary workers."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

SCHED_OTHER, SCHED_RR, SCHED_BATCH = 0, 2, 3
PRIORITY = 7
DIALPLANS = {
    "routes": 'return { { match = "^7000$", script = "hello" } }\n',
    "hello": """return function(call)
  call:answer()
  call:say("Thread classes.")
  call:sleep(10000)
end
""",
}


def threads(pid):
    """{tid: (name, policy, rt_priority)} from /proc (stat fields 41 and 40)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                name = f.read().strip()
            with open(base + "stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        # After the ")" ending comm, field 3 (state) is index 0: field N is index N - 3.
        out[int(tid)] = (name, int(fields[41 - 3]), int(fields[40 - 3]))
    return out


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config="return { engine = { workers = 2, realtime_priority = %d } }\n"
               % PRIORITY)
    ths = threads(v.pid)
    workers = [th for th in ths.values() if th[0].startswith("vcs-worker")]
    T.check_eq(sorted(th[0] for th in workers), ["vcs-worker0", "vcs-worker1"],
               "the media workers, named (threads %s)" % sorted(ths.values()))
    refused = re.findall(r"worker \d: cannot run real-time \(SCHED_RR %d\)[^\n]*" % PRIORITY,
                         v.log_text())
    if refused:
        T.log("the kernel refused real-time here: %s" % refused[0])
        T.check_eq(len(refused), 2, "a warning per worker")
        T.check(all(th[1] == SCHED_OTHER for th in workers), "workers left ordinary: %s" % workers)
    else:
        T.check(all(th[1] == SCHED_RR and th[2] == PRIORITY for th in workers),
                "workers SCHED_RR at %d: %s" % (PRIORITY, workers))
    background = {th[0]: th[1] for th in ths.values()
                  if th[0] in ("vcs-recorder", "vcs-tts", "vcs-prompts")}
    T.check_eq(background, {"vcs-recorder": SCHED_BATCH, "vcs-tts": SCHED_BATCH,
                            "vcs-prompts": SCHED_BATCH}, "background threads SCHED_BATCH")
    # The main thread (the API) stays an ordinary thread: only the workers go real-time.
    T.check_eq(ths[v.pid][1], SCHED_OTHER, "the main thread's class")

    peer = t.rtp_peer()
    call = t.sipp("uac_call", v, "7000", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 2000}).start()
    peer.wait_packets(25, 15, "half a second of the prompt from the worker")
    call.wait_ok(what="a call through the workers")
    T.wait_until(lambda: v.cdrs("hangup_cause = 'normal_clearing'"), 10, "the call's CDR")


if __name__ == "__main__":
    T.main(run)
