#!/usr/bin/env python3
"""Live reload (SPEC 5.4): a call up during POST /v1/reload keeps the script version it started
with while new calls get the new one; a script that does not compile makes the reload fail
(422 naming file and line, `vcsctl reload` exits 1 printing it) and changes nothing; SIGHUP
reloads too and logs "reload failed:" or "reload ok"."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402


def version_script(version, sleep_ms):
    return """return function(call)
  call:answer()
  call:sleep(%d)
  call:set("version", "%s")
end
""" % (sleep_ms, version)


BROKEN = """return function(call)
  call:answer()
  call:set("version", "broken"
end
"""


def call_version(t, v, what):
    peer = t.rtp_peer()
    c = t.sipp("uac_wait_bye", v, "4000", keys={"rtp_port": peer.port},
               tmpl={"bye_timeout_ms": 15000})
    c.run_ok(what=what)
    return (v.wait_cdr(c.call_id())["vars"] or {}).get("version")


def run(t):
    v = t.vcsd(dialplans={"routes": T.routes_lua(("^4000$", "ver")),
                          "ver": version_script(1, 5000)})

    # A call that will still be running (5 s sleep) across the reload.
    peer = t.rtp_peer()
    first = t.sipp("uac_wait_bye", v, "4000", keys={"rtp_port": peer.port},
                   tmpl={"bye_timeout_ms": 20000}).start()
    first.wait_log("^ANSWERED$", 10, "the first call answered")

    v.write_dialplans({"ver": version_script(2, 300)})
    st, body = v.reload()
    T.check_eq(st, 200, "POST /v1/reload status (body %s)" % body)
    T.check(isinstance(body, dict) and isinstance(body.get("version"), int)
            and "ver" in body.get("scripts", []),
            "reload body must be {\"version\": N, \"scripts\": [..., \"ver\"]}: %s" % body)
    T.check(first.running() and not first.find_log("^GOTBYE$"),
            "the first call ended before the reload completed; the test proves nothing")
    version_after = body["version"]

    T.check_eq(call_version(t, v, "a call after the reload"), "2", "version seen by a new call")
    first.wait_ok(what="the call that was up during the reload")
    T.check_eq((v.wait_cdr(first.call_id())["vars"] or {}).get("version"), "1",
               "version seen by the call that started before the reload")

    # A script that does not compile: nothing changes, the error names file and line.
    v.write_dialplans({"ver": BROKEN})
    st, body = v.reload()
    T.check_eq(st, 422, "POST /v1/reload with a broken script (body %s)" % body)
    err = body.get("error", {}) if isinstance(body, dict) else {}
    T.check_eq(err.get("code"), "script_error", "error code of the failed reload")
    T.check(re.search(r"ver\.lua:\d+", err.get("message", "")),
            "the reload error must name the file and line (ver.lua:N): %r" % err.get("message"))
    r = v.vcsctl("reload")
    T.check_eq(r.returncode, 1, "vcsctl reload exit code with a broken script (stdout %r, "
               "stderr %r)" % (r.stdout, r.stderr))
    T.check(re.search(r"ver\.lua:\d+", r.stdout + r.stderr),
            "vcsctl reload must print the error: stdout %r stderr %r" % (r.stdout, r.stderr))
    T.check_eq(call_version(t, v, "a call after the failed reload"), "2",
               "version after a failed reload (must be unchanged)")

    mark = v.mark()
    v.sighup()
    v.wait_log(r"reload failed:", 10, since=mark, what="'reload failed:' after SIGHUP with a broken script")

    v.write_dialplans({"ver": version_script(3, 300)})
    mark = v.mark()
    v.sighup()
    v.wait_log(r"reload ok", 10, since=mark, what="'reload ok' after SIGHUP")
    T.check_eq(call_version(t, v, "a call after the SIGHUP reload"), "3",
               "version after the SIGHUP reload")

    r = v.vcsctl("reload")
    T.check_eq(r.returncode, 0, "vcsctl reload exit code with good scripts (stdout %r, stderr %r)"
               % (r.stdout, r.stderr))
    st, body = v.reload()
    T.check(st == 200 and body.get("version", 0) > version_after,
            "reload versions must increase: first %s, now %s" % (version_after, body))


if __name__ == "__main__":
    T.main(run)
