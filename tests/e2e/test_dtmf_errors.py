#!/usr/bin/env python3
"""Bad arguments to the DTMF methods are script errors with a message naming the method and the
problem (caught here with pcall, so one call checks them all), never a crash:
  read_digits: a PCRE2 pattern that does not compile, min > max, an unknown option, a timeout
  of 0; play: a digits set with a non-key; send_dtmf: a non-key digit, an empty string, and,
  on a second call whose caller offered no telephone-event, any digits at all.
The messages reach the CDR vars; vcsd keeps running and the calls end normally."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": T.routes_lua(("^2000$", "errors")),
    "errors": """return function(call)
  call:answer()
  local function try(name, f, ...)
    local ok, err = pcall(f, call, ...)
    call:set(name, ok and "no error" or tostring(err))
  end
  try("rd_valid", call.read_digits, { valid = "(" })
  try("rd_minmax", call.read_digits, { min = 5, max = 2 })
  try("rd_unknown", call.read_digits, { bogus = 1 })
  try("rd_timeout", call.read_digits, { timeout = 0 })
  try("play_digits", call.play, "beep", { digits = "12x" })
  try("send_bad", call.send_dtmf, "12x")
  try("send_empty", call.send_dtmf, "")
  call:set("done", true)
end
""",
}

EXPECTED = {
    "rd_valid": ("read_digits", "valid", "parenthesis"),
    "rd_minmax": ("read_digits", "min", "max"),
    "rd_unknown": ("read_digits", "bogus"),
    "rd_timeout": ("read_digits", "timeout"),
    "play_digits": ("digits", "'x'"),
    "send_bad": ("send_dtmf", "12x"),
    "send_empty": ("send_dtmf",),
}


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds={"beep.wav": T.tone_prompt(1000, 0.2)})
    peer = t.rtp_peer()
    uac = t.uac(v, "2000", peer.port)
    uac.invite()
    uac.wait_bye(10)
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, script="errors", hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq(row["vars"].get("done"), True, "the script went on after the errors (vars %s)" % row["vars_raw"])
    bad = []
    for name, words in EXPECTED.items():
        msg = row["vars"].get(name, "")
        if msg == "no error" or not all(w in msg for w in words):
            bad.append("%s: %r should name %s" % (name, msg, " and ".join(words)))

    uac = t.uac(v, "2000", peer.port, pts=(0, 8))
    uac.invite()
    uac.wait_bye(10)
    row = v.wait_cdr(uac.call_id)
    msg = row["vars"].get("send_bad", "")
    if not ("telephone-event" in msg and "send_dtmf" in msg):
        bad.append("send_dtmf to a caller without telephone-event must say so: %r" % msg)
    v.check_alive("after the errors")
    T.check(not bad, "error messages:\n  " + "\n  ".join(bad))


if __name__ == "__main__":
    T.main(run)
