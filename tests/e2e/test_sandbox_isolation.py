#!/usr/bin/env python3
"""Scripts on one worker cannot touch each other or escape their budget (issue 9, item 2), on
one vcsd with a single worker so that every call shares the same Lua state:
- library tables are read-only: a call that tries string.format = f, rawset(string, ...),
  the strings' metatable, setmetatable(string, ...) and writes to _G fails at each, and
  string.format is intact in a concurrent call and in a call after a reload;
- io.open writes only under recordings: "w" and "r+" on routes.lua, "w" in sounds, through a
  symlink in recordings to routes.lua and through a dangling one to a file outside are refused,
  routes.lua can be read, a note under recordings is written;
- pcall(coroutine.wrap(spin)) (and resume(create(spin))) in a loop ends with script_error;
- the pattern bomb string.rep('a', 400):find('.-.-.-b') under pcall in a loop ends with
  script_error while a call to hello on the same worker keeps its audio flowing;
- a call making 1 MiB of garbage every 20 ms while another call runs collectgarbage("collect")
  is not killed: its garbage freed during the other call's run is credited to it;
- an error object whose __tostring raises, or loops, ends its call with script_error (vcsd
  used to abort: the message was made unprotected)."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = "return { engine = { workers = 1 }, script = { max_memory_mb = 16 } }\n"

TAMPER = r"""return function(call)
  call:answer()
  local function evil() return "PWNED" end
  local function try(key, fn)
    local ok, err = pcall(fn)
    call:set(key, tostring(ok) .. " " .. string.sub(tostring(err), 1, 120))
  end
  try("assign", function() string.format = evil end)
  try("rawset", function() rawset(string, "format", evil) end)
  try("string_mt", function()
    local mt = getmetatable("")
    call:set("string_mt_type", type(mt))
    mt.__index = { format = evil }
  end)
  try("setmetatable", function() setmetatable(string, { __index = evil }) end)
  try("global", function() _G.tostring = evil end)
  try("rawset_global", function() rawset(_G, "tostring", evil) end)
  try("rawset_table", function() rawset(table, "concat", evil) end)
  call:set("methods", ("x"):rep(3) .. ("%%d"):format(7))
  local n = 0
  for k in pairs(string) do if k == "format" then n = n + 1 end end
  call:set("pairs", tostring(n))
  vcs.log("info", "tamper attempts done")
  call:sleep(%(sleep_ms)d)
end
"""

CHECK = r"""-- version %(version)d
return function(call)
  call:answer()
  call:set("format", string.format("%%d-%%s", 5, "x"))
  call:set("tostring", tostring(12))
  call:set("concat", table.concat({ "a", "b" }, ","))
  call:set("method", ("ab"):upper())
end
"""

FILES = r"""local ROUTES, REC, SOUNDS = %(routes)s, %(rec)s, %(sounds)s
return function(call)
  call:answer()
  local function try(key, path, mode)
    local f, err = io.open(path, mode)
    call:set(key, f and "opened" or ("refused " .. tostring(err)))
    if f then f:close() end
  end
  try("w_routes", ROUTES, "w")
  try("rplus_routes", ROUTES, "r+")
  try("a_routes", ROUTES, "a")
  try("w_sounds", SOUNDS .. "/new.wav", "w")
  try("w_link", REC .. "/link_to_routes", "w")
  try("w_dangling", REC .. "/dangling", "w")
  local f = assert(io.open(ROUTES, "r"))
  call:set("read_routes", f:read("l"))
  f:close()
  local w = assert(io.open(REC .. "/note.txt", "w"))
  w:write("hello from a script")
  w:close()
  call:set("wrote", "yes")
end
"""

COSPIN = r"""return function(call)
  call:answer()
  call:set("spinning", "yes")
  local function spin() while true do end end
  while true do
    pcall(coroutine.wrap(spin))
    coroutine.resume(coroutine.create(spin))
  end
end
"""

BOMB = r"""return function(call)
  call:answer()
  call:set("bomb", "started")
  local s = string.rep("a", 400)
  while true do
    pcall(string.find, s, ".-.-.-b")
    pcall(function() return s:match(".-.-.-b") end)
  end
end
"""

CHURN = r"""return function(call)
  call:answer()
  local keep
  for i = 1, 64 do
    keep = string.rep("x", 1024 * 1024) -- the previous one is garbage now
    call:sleep(20)
  end
  call:set("churned", tostring(#keep))
end
"""

COLLECT = r"""return function(call)
  call:answer()
  for i = 1, 150 do
    collectgarbage("collect")
    call:sleep(10)
  end
  call:set("collected", "yes")
end
"""


BAD_ERROR = r"""return function(call)
  call:answer()
  error(setmetatable({}, { __tostring = function() %s end }))
end
"""


def dialplans(root, version, tamper_sleep_ms=6000):
    dp = os.path.join(root, "dialplans")
    return {
        "routes": T.routes_lua(("^1000$", "hello"), ("^4100$", "tamper"), ("^4101$", "check"),
                               ("^4102$", "files"), ("^4103$", "cospin"), ("^4104$", "bomb"),
                               ("^4105$", "churn"), ("^4106$", "collect"),
                               ("^4107$", "bad_error"), ("^4108$", "spin_error")),
        "tamper": TAMPER % {"sleep_ms": tamper_sleep_ms},
        "check": CHECK % {"version": version},
        "files": FILES % {"routes": T.lua_str(os.path.join(dp, "routes.lua")),
                          "rec": T.lua_str(os.path.join(root, "data", "recordings")),
                          "sounds": T.lua_str(os.path.join(root, "sounds"))},
        "cospin": COSPIN,
        "bomb": BOMB,
        "churn": CHURN,
        "collect": COLLECT,
        "bad_error": BAD_ERROR % 'error("no text for you")',
        "spin_error": BAD_ERROR % "while true do end",
    }


def call_vars(t, v, number, what, timeout_ms=10000):
    peer = t.rtp_peer()
    c = t.sipp("uac_wait_bye", v, number, keys={"rtp_port": peer.port},
               tmpl={"bye_timeout_ms": timeout_ms})
    c.run_ok(what=what)
    return v.wait_cdr(c.call_id())


def check_libraries(t, v):
    mark = v.mark()
    peer = t.rtp_peer()
    tamper = t.sipp("uac_wait_bye", v, "4100", keys={"rtp_port": peer.port},
                    tmpl={"bye_timeout_ms": 20000}).start()
    v.wait_log("tamper attempts done", 10, since=mark, what="the tampering call's attempts")
    for label in ("a concurrent call", "a call after the reload"):
        row = call_vars(t, v, "4101", label)
        got = row["vars"] or {}
        T.check_eq(got.get("format"), "5-x", "string.format in %s (vars %s)" % (label, row["vars_raw"]))
        T.check_eq(got.get("tostring"), "12", "tostring in %s" % label)
        T.check_eq(got.get("concat"), "a,b", "table.concat in %s" % label)
        T.check_eq(got.get("method"), "AB", "a string method in %s" % label)
        if label == "a concurrent call":
            T.check(tamper.running(), "the tampering call ended before the check; it proves nothing")
            v.write_dialplans({"check": CHECK % {"version": 2}})
            st, body = v.reload()
            T.check_eq(st, 200, "POST /v1/reload status (body %s)" % body)
    tamper.wait_ok(what="the tampering call")
    row = v.wait_cdr(tamper.call_id())
    got = row["vars"] or {}
    for key in ("assign", "rawset", "string_mt", "setmetatable", "global", "rawset_global",
                "rawset_table"):
        T.check(got.get(key, "").startswith("false "), "%s must fail in the script: %r (vars %s)"
                % (key, got.get(key), row["vars_raw"]))
    T.check("read-only" in got.get("assign", ""), "the error for string.format = f must say the "
            "table is read-only: %r" % got.get("assign"))
    T.check_eq(got.get("string_mt_type"), "boolean", "type(getmetatable(\"\"))")
    T.check_eq(got.get("methods"), "xxx7", "string methods in the tampering call")
    T.check_eq(got.get("pairs"), "1", "pairs(string) lists format")
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script", script="tamper")


def check_files(t, v, root):
    rec = os.path.join(root, "data", "recordings")
    routes = os.path.join(v.dialplans, "routes.lua")
    with open(routes) as f:
        routes_before = f.read()
    outside = t.path("outside")
    os.makedirs(outside)
    os.symlink(routes, os.path.join(rec, "link_to_routes"))
    os.symlink(os.path.join(outside, "created"), os.path.join(rec, "dangling"))
    row = call_vars(t, v, "4102", "the io.open call")
    got = row["vars"] or {}
    for key in ("w_routes", "rplus_routes", "a_routes", "w_sounds", "w_link", "w_dangling"):
        T.check(got.get(key, "").startswith("refused "), "io.open %s must be refused: %r (vars %s)"
                % (key, got.get(key), row["vars_raw"]))
    T.check("recordings" in got.get("w_routes", ""), "the refusal must name the recordings "
            "folder: %r" % got.get("w_routes"))
    T.check_eq(got.get("read_routes"), routes_before.splitlines()[0], "routes.lua read by the script")
    T.check_eq(got.get("wrote"), "yes", "the script wrote under recordings")
    with open(os.path.join(rec, "note.txt")) as f:
        T.check_eq(f.read(), "hello from a script", "the note written under recordings")
    with open(routes) as f:
        T.check(f.read() == routes_before, "routes.lua changed")
    T.check(not os.path.exists(os.path.join(outside, "created")),
            "a file was created outside through a dangling symlink")


def check_cospin(t, v):
    mark = v.mark()
    row = call_vars(t, v, "4103", "the coroutine spinner must be ended with a BYE from vcsd", 15000)
    T.check_cdr(row, hangup_cause="script_error", hangup_by="system", script="cospin")
    v.wait_log("instruction limit", 5, since=mark, what="the log to name the instruction limit")


def check_bomb(t, v):
    peer = t.rtp_peer()
    good = t.sipp("uac_call", v, "1000", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 4000}).start()
    good.wait_log("^ANSWERED$", 10, "the call to hello answered")
    peer.wait_packets(10, 5, "audio of the call to hello before the bomb")
    mark = v.mark()
    started = time.monotonic()
    row = call_vars(t, v, "4104", "the pattern bomb must be ended with a BYE from vcsd", 15000)
    T.log("pattern bomb call ended after %.2f s (answer, bomb, BYE)" % (time.monotonic() - started))
    T.check_cdr(row, hangup_cause="script_error", hangup_by="system", script="bomb")
    v.wait_log("pattern matching ran too long|instruction limit|time limit", 5, since=mark,
               what="the log to say why the bomb stopped")
    T.check(good.running(), "the call to hello ended during the bomb:\n%s" % good.diagnostics())
    good.wait_ok(what="the call to hello during the bomb")
    st = T.StreamStats(peer.packets())
    T.check_stream(st, min_packets=150, what="audio of the call to hello during the bomb")
    T.check(st.max_gap_ms < 200, "audio of the call to hello stalled for %.0f ms during the "
            "bomb: %s" % (st.max_gap_ms, st.describe()))


def check_memory(t, v):
    peer1, peer2 = t.rtp_peer(), t.rtp_peer()
    churn = t.sipp("uac_wait_bye", v, "4105", keys={"rtp_port": peer1.port},
                   tmpl={"bye_timeout_ms": 20000}).start()
    collect = t.sipp("uac_wait_bye", v, "4106", keys={"rtp_port": peer2.port},
                     tmpl={"bye_timeout_ms": 20000}).start()
    churn.wait_ok(what="the garbage-making call")
    collect.wait_ok(what="the collecting call")
    row = v.wait_cdr(churn.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script", script="churn")
    T.check_eq((row["vars"] or {}).get("churned"), str(1024 * 1024),
               "the garbage-making call ran to its end (vars %s)" % row["vars_raw"])
    row = v.wait_cdr(collect.call_id())
    T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script", script="collect")


def check_error_objects(t, v):
    for number, script in (("4107", "bad_error"), ("4108", "spin_error")):
        mark = v.mark()
        row = call_vars(t, v, number, "%s must end with a BYE from vcsd" % script)
        T.check_cdr(row, hangup_cause="script_error", hangup_by="system", script=script)
        v.wait_log(r"script error: \(error object cannot be shown", 5, since=mark,
                   what="the log to say the error of %s could not be shown" % script)
        v.check_alive("after %s" % script)


def run(t):
    root = t.path("vcsd")
    v = t.vcsd(overlay=dialplans(root, 1), config=CONFIG,
               sounds={"welcome.wav": lambda p: T.tone_wav(p, 10.0, 1000)})
    check_libraries(t, v)
    check_files(t, v, root)
    check_cospin(t, v)
    check_bomb(t, v)
    check_memory(t, v)
    check_error_objects(t, v)
    v.check_alive("after the escape attempts")


if __name__ == "__main__":
    T.main(run)
