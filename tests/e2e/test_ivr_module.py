#!/usr/bin/env python3
"""lua/vcs/ivr.lua (require "vcs.ivr") in fixture dialplans, keys as RFC 4733:
  menu 1: the prompt is a list (a key during its first prompt stops the whole list); option
     "1" is a prompt name (played, then the menu again); option "a" (lower case) is a function
     that returns nothing (runs with the key "A", then the menu again); option "#" returns
     "hash", which ends the menu: ivr.menu returns "hash", "#"; var collects the keys;
  menu 2: no key twice (timeout 1 s, tries 2): the invalid prompt stands in for no_input;
     ivr.menu returns nil, "tries";
  menu 3: the prompt is a function(call, keys): it gets every key as its interrupt set and
     returns the key; option 9 returns 9.
And a menu with a bad option is a script error naming the dialplan's line and the option."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"m1": 400, "m2": 500, "m3": 600, "info": 700, "inv": 800}

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "menus"), ("^2001$", "menu_bad")),
    "menus": """local ivr = require "vcs.ivr"
return function(call)
  call:answer()
  local result, key = ivr.menu(call, {
    prompt = { "m1", "m2" },
    invalid = "inv",
    var = "keys",
    options = {
      ["1"] = "info",
      ["a"] = function(c, k) c:set("a_key", k) end,
      ["#"] = function() return "hash" end,
    },
  })
  call:set("result", tostring(result))
  call:set("key", tostring(key))
  local r2, why = ivr.menu(call, { prompt = "m3", invalid = "inv", tries = 2, timeout = 1000,
                                   options = { ["5"] = ivr.REPEAT } })
  call:set("r2", tostring(r2))
  call:set("why", tostring(why))
  local r3 = ivr.menu(call, {
    prompt = function(c, keys)
      c:set("keys_arg", keys)
      return c:play("m3", { digits = keys })
    end,
    options = { ["9"] = function() return 9 end },
  })
  call:set("r3", r3)
end
""",
    "menu_bad": """local ivr = require "vcs.ivr"
return function(call)
  call:answer()
  ivr.menu(call, { prompt = "m1", options = { ["1"] = 42 } })
end
""",
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds=T.tone_prompts(PROMPTS, seconds=0.8))
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port)
    uac.invite()
    tr = T.ToneTracker(peer, PROMPTS.values())  # vcsd hangs up at the end
    stream = peer.stream(uac.media)
    P = PROMPTS
    since = None
    for key in ("1", "A", "#"):
        r = tr.wait_run(P["m1"], since, 10, "the first prompt of menu 1 before %s" % key)
        since = stream.press(key)[0].t_first
        T.check(since < r.start + 0.7, "the key %s was not pressed during the prompt" % key)
    r = tr.wait_run_end(P["inv"], since, 10, "menu 2: the invalid prompt after the first timeout")
    r = tr.wait_run(P["inv"], r.end + 0.001, 10, "menu 2: the invalid prompt after the second timeout")
    r = tr.wait_run(P["m3"], r.start, 10, "menu 3's prompt")
    stream.press("9")
    uac.wait_bye(10)
    stream.stop()

    expected = [P[n] for n in ("m1", "info", "m1", "m1", "m3", "inv", "m3", "inv", "m3")]
    T.check_eq(tr.sequence(), expected, "prompts (m2 never: a key stops the whole list)")
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="menus", hangup_cause="normal_clearing", hangup_by="script")
    got = {k: row["vars"].get(k) for k in ("keys", "a_key", "result", "key", "r2", "why", "r3", "keys_arg")}
    T.check_eq(got, {"keys": "1A#", "a_key": "A", "result": "hash", "key": "#", "r2": "nil",
                     "why": "tries", "r3": 9, "keys_arg": "0123456789*#ABCD"}, "CDR vars")

    mark = v.mark()
    uac = t.uac(v, "2001", peer.port)
    uac.invite()
    uac.wait_bye(10)
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="menu_bad", hangup_cause="script_error")
    m = v.wait_log(r"menu_bad\.lua:(\d+): ivr\.menu\(\): options\['1'\] must be", 5, since=mark,
                   what="the script error naming the dialplan line and the bad option")
    T.check_eq(m.group(1), "4", "line named by the error (the ivr.menu call)")
    T.check(not re.search(r"ivr\.lua:\d+: ivr\.menu", v.log_text(mark)),
            "the error must point at the dialplan, not inside ivr.lua")


if __name__ == "__main__":
    T.main(run)
