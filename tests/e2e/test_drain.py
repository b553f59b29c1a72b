#!/usr/bin/env python3
"""SIGTERM drains (SPEC 3): while a call is up, vcsd answers new INVITEs and OPTIONS with 503
and /v1/health with 503 "draining"; the running call completes (its script plays a 4 s prompt
and hangs up, audio flowing throughout); then vcsd exits 0 with the CDR row complete."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = "return { shutdown = { grace_seconds = 20 } }\n"
DIALPLANS = {
    "routes": T.routes_lua(("^7000$", "play4")),
    "play4": """return function(call)
  call:answer()
  call:play("tone4s")
  call:set("played", "yes")
end
""",
}


def health_draining(v):
    r = v.try_health()
    return r if r and r[0] == 503 else None


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG,
               sounds={"tone4s.wav": lambda p: T.tone_wav(p, 4.0, 1000)})
    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", v, "7000", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 20000}).start()
    call.wait_log("^ANSWERED$", 10, "the call answered")
    peer.wait_packets(5, 5)

    v.sigterm()
    st, body = T.wait_until(lambda: health_draining(v), 5, "GET /v1/health to answer 503 while draining")
    T.check(isinstance(body, dict) and body.get("status") == "draining",
            "health while draining must say status draining: %s" % body)

    refused = t.sipp("uac_expect_code", v, "7000", tmpl={"code": 503}, timeout=10)
    refused.run_ok(what="a new INVITE while draining must get 503")
    probe = t.sipp("options", v, "keepalive", tmpl={"code": 503}, timeout=10)
    probe.run_ok(what="OPTIONS while draining must get 503")
    T.check(call.running(), "the call up at SIGTERM ended before the 503 checks:\n%s"
            % call.diagnostics())

    call.wait_ok(what="the call up at SIGTERM must complete (BYE from its script)")
    rc = v.wait_exit(25)
    T.check_eq(rc, 0, "vcsd exit code after draining")

    st = T.StreamStats(peer.packets())
    T.check_stream(st, min_packets=150, what="audio of the call during the drain")
    row = v.wait_cdr(call.call_id(), timeout=2)
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script", script="play4")
    T.check_cdr_times(row, answered=True)
    T.check_eq((row["vars"] or {}).get("played"), "yes", "the script finished its prompt")


if __name__ == "__main__":
    T.main(run)
