#!/usr/bin/env python3
"""A dialplan cannot reach outside its sandbox (SPEC 5.3): io.open("/etc/passwd"), require /
dofile / loadfile of a module outside the dialplans, sounds and recordings folders, io.popen,
os.execute and os.exit all fail inside the script (caught with pcall, so the script goes on and
records each result with call:set); the CDR vars show every failure and vcsd is still up."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

SANDBOX = r"""local OUTSIDE = %(outside)s
return function(call)
  call:answer()
  local function try(key, fn)
    local ok, res = pcall(fn)
    call:set(key .. "_ok", tostring(ok))
    call:set(key .. "_res", string.sub(tostring(res), 1, 200))
  end
  try("io_open", function()
    local f = assert(io.open("/etc/passwd", "r"))
    local line = f:read("l")
    f:close()
    return line
  end)
  try("require", function()
    package.path = OUTSIDE .. "/?.lua;" .. package.path
    return require("evil")
  end)
  try("dofile", function() return dofile(OUTSIDE .. "/evil.lua") end)
  try("loadfile", function() return assert(loadfile(OUTSIDE .. "/evil.lua"))() end)
  try("io_popen", function()
    local p = assert(io.popen("cat /etc/passwd"))
    local line = p:read("l")
    p:close()
    return line
  end)
  try("os_execute", function() return assert(os.execute("true")) end)
  try("os_exit", function() os.exit(3) end)
  call:set("done", "yes")
end
"""

EVIL = 'return "EVIL_LOADED"\n'

ATTEMPTS = ("io_open", "require", "dofile", "loadfile", "io_popen", "os_execute", "os_exit")


def run(t):
    outside = t.path("outside")
    os.makedirs(outside)
    with open(os.path.join(outside, "evil.lua"), "w") as f:
        f.write(EVIL)
    v = t.vcsd(dialplans={"routes": T.routes_lua(("^3200$", "sandbox")),
                          "sandbox": SANDBOX % {"outside": T.lua_str(outside)}})
    peer = t.rtp_peer()
    call = t.sipp("uac_wait_bye", v, "3200", keys={"rtp_port": peer.port},
                  tmpl={"bye_timeout_ms": 10000})
    call.run_ok(what="the sandbox script runs to its end and vcsd hangs up")
    v.check_alive("after the sandbox escape attempts")
    row = v.wait_cdr(call.call_id())
    vars_ = row["vars"] or {}
    T.check_eq(vars_.get("done"), "yes", "the script ran to its end (vars %s)" % row["vars_raw"])
    escaped = []
    for key in ATTEMPTS:
        if vars_.get(key + "_ok") != "false" or "EVIL_LOADED" in vars_.get(key + "_res", ""):
            escaped.append("%s: ok=%s result=%r" % (key, vars_.get(key + "_ok"),
                                                    vars_.get(key + "_res")))
    T.check(not escaped, "sandbox escapes succeeded:\n  " + "\n  ".join(escaped))
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script", script="sandbox")


if __name__ == "__main__":
    T.main(run)
