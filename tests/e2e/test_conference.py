#!/usr/bin/env python3
"""Conferences (SPEC 5.5): call:conference, call:mute, vcs.conference_members,
vcs.conference_kick, on a vcsd with two workers and two accounts (two trunks: 127.0.0.1 is
account acme, 127.0.0.2 account beta).

1. Three acme callers A (500 Hz, PCMU), B (1000 Hz, PCMA) and C (1700 Hz) in room "demo": each
   receives the other two tones and not its own (frequency analysis of what it receives); they
   were spread over both workers (vcsd's join log line names the worker) and the room is mixed
   on one of them. A beta caller D (2500 Hz) in its own "demo" hears none of them, and they do
   not hear D: rooms are per account.
2. E joins muted (call:mute(true) before joining): E hears A, B and C; nobody hears E's
   2000 Hz. E presses * (opts.digits): call:conference returns "*" with E still in the room, the
   script calls call:mute(false) and call:conference again: now the others hear E.
3. A script lists the room (vcs.conference_members: call ids, from, muted, moderator) and kicks
   C (vcs.conference_kick): C's call:conference returns "kicked".
4. A moderator with end_on_exit joins and hangs up: everyone else's call:conference returns
   "ended".
5. A's whole-call recording: its right channel is the mix A heard (B's and C's tones)."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

FA, FB, FC, FD, FE = 500, 1000, 1700, 2500, 2000
ALL = [FA, FB, FC, FD, FE]

MEMBER = """return function(call)
  local why = call:conference("demo", { beep = false })
  call:set("left", why)
end
"""
# Joins muted; each * toggles muting while staying in the room.
TOGGLER = """return function(call)
  local muted = true
  call:mute(true)
  while true do
    local r = call:conference("demo", { beep = false, digits = "*" })
    if r ~= "*" then
      call:set("left", r)
      return
    end
    muted = not muted
    call:mute(muted)
    vcs.log("info", "conference mute", tostring(muted))
  end
end
"""
DIALPLANS = {
    "routes": T.routes_lua(("^7001$", "member"), ("^7002$", "muted"), ("^7003$", "moderator"),
                           ("^7004$", "admin")),
    "member": MEMBER,
    "muted": TOGGLER,
    "moderator": """return function(call)
  call:conference("demo", { beep = false, moderator = true, end_on_exit = true })
end
""",
    # Lists the room into call vars, then kicks the member calling from 333.
    "admin": """return function(call)
  call:answer()
  local list = {}
  for _, m in ipairs(vcs.conference_members("demo")) do
    list[#list + 1] = string.format("%s:%s:%s", m.from, tostring(m.muted), tostring(m.moderator))
    assert(m.call_id:match("%S") and m.joined_ms > 0)
    if m.from == "333" then
      call:set("kicked", tostring(vcs.conference_kick("demo", m.call_id)))
    end
  end
  table.sort(list)
  call:set("members", table.concat(list, ","))
  call:set("kick_missing", tostring(vcs.conference_kick("demo", "no-such-call")))
end
""",
}
CONFIG = """return {
  engine = { workers = 2 },
  trunks = {
    { name = "acme", account = "acme", allow = { "127.0.0.1/32" } },
    { name = "beta", account = "beta", allow = { "127.0.0.2/32" } },
  },
}
"""


class Member:
    def __init__(self, t, v, number, caller, freq, pt=0, local_ip="127.0.0.1"):
        self.freq = freq
        self.peer = t.rtp_peer()
        self.uac = t.uac(v, number, self.peer.port, pts=(pt, 101), caller=caller,
                         local_ip=local_ip)
        self.uac.invite()
        self.peer.send_tone(self.uac.media, 40, freq=freq, pt=pt)

    def levels(self, t0, t1):
        """Power per candidate frequency in what this member received between t0 and t1."""
        samples = []
        for p in self.peer.packets(since=t0, until=t1):
            samples.extend(T.decode_payload(p.pt, p.payload))
        T.check(len(samples) >= 8000 * (t1 - t0) * 0.8,
                "caller %s received %d samples in %.1f s" % (self.uac.caller, len(samples), t1 - t0))
        return {f: T.goertzel(samples, f) for f in ALL}


def joined(v, caller_call_id, timeout=10):
    """The worker a call landed on and the one mixing its room, from vcsd's join line."""
    row = v.wait_cdr(caller_call_id, ended=False)
    m = v.wait_log(r"call %s: joined conference 'demo' of account (\w+) on worker (\d+) "
                   r"\(mixed on worker (\d+)" % re.escape(row["call_id"]), timeout)
    return m.group(1), int(m.group(2)), int(m.group(3))


def check_hears(m, lv, heard, not_heard):
    loud = min(lv[f] for f in heard)
    for f in not_heard:
        T.check(lv[f] * 100 < loud,
                "caller %s (%d Hz) must not hear %d Hz: power %.3g vs %.3g for the weakest tone "
                "it should hear (%s)" % (m.uac.caller, m.freq, f, lv[f], loud, lv))


def window(t, seconds=1.5):
    t0 = time.monotonic() + 0.5  # the mix has settled on the newest member
    time.sleep(0.5 + seconds)
    return t0, t0 + seconds


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    a = Member(t, v, "7001", "111", FA)
    b = Member(t, v, "7001", "222", FB, pt=8)
    c = Member(t, v, "7001", "333", FC)
    d = Member(t, v, "7001", "444", FD, local_ip="127.0.0.2")
    places = {x.uac.caller: joined(v, x.uac.call_id) for x in (a, b, c, d)}
    T.log("joins (account, worker, mixing worker): %s" % places)
    T.check_eq([places[k][0] for k in ("111", "222", "333", "444")],
               ["acme", "acme", "acme", "beta"], "accounts of the members")
    T.check(len({places[k][1] for k in ("111", "222", "333")}) == 2,
            "the three acme members are spread over both workers: %s" % places)
    T.check(len({places[k][2] for k in ("111", "222", "333")}) == 1,
            "one worker mixes the acme room: %s" % places)

    t0, t1 = window(t)
    for m, others in ((a, [FB, FC]), (b, [FA, FC]), (c, [FA, FB])):
        lv = m.levels(t0, t1)
        check_hears(m, lv, others, [m.freq, FD, FE])
    lv = d.levels(t0, t1)
    T.check(all(lv[f] < 1e6 for f in ALL),
            "beta's room holds only D: D hears silence, got %s" % lv)

    e = Member(t, v, "7002", "555", FE)
    joined(v, e.uac.call_id)
    t0, t1 = window(t)
    check_hears(e, e.levels(t0, t1), [FA, FB, FC], [FE, FD])
    for m in (a, b, c):
        check_hears(m, m.levels(t0, t1), [f for f in (FA, FB, FC) if f != m.freq], [FE])
    e.uac.info_key("*")
    v.wait_log(r"conference mute +false", 10, what="E's script unmuting after *")
    t0, t1 = window(t)
    for m in (a, b, c):
        check_hears(m, m.levels(t0, t1), [f for f in (FA, FB, FC, FE) if f != m.freq], [m.freq])

    peer = t.rtp_peer()
    admin = t.uac(v, "7004", peer.port, caller="999")
    admin.invite()
    admin.wait_bye(10)
    row = v.wait_cdr(admin.call_id)
    T.check_eq(row["vars"].get("members"),
               "111:false:false,222:false:false,333:false:false,555:false:false",
               "vcs.conference_members of acme's demo (from:muted:moderator)")
    T.check_eq(row["vars"].get("kicked"), "true", "vcs.conference_kick of C")
    T.check_eq(row["vars"].get("kick_missing"), "false", "kicking a call not in the room")
    c.uac.wait_bye(10)
    T.check_eq(v.wait_cdr(c.uac.call_id)["vars"].get("left"), "kicked", "C's call:conference result")

    mod = Member(t, v, "7003", "777", 300)
    joined(v, mod.uac.call_id)
    mod.uac.bye()
    for m in (a, b, e):
        m.uac.wait_bye(10)
        row = v.wait_cdr(m.uac.call_id)
        T.check_eq(row["vars"].get("left"), "ended", "caller %s after the moderator left" % m.uac.caller)
        T.check_cdr(row, hangup_cause="normal_clearing", hangup_by="script")
    T.check_eq(v.wait_cdr(mod.uac.call_id)["hangup_by"], "caller", "the moderator hung up")
    d.uac.bye()
    T.check(v.wait_cdr(d.uac.call_id).get("vars", {}).get("left") is None,
            "D hung up: its call:conference raised the hangup error")

    # A's recording: right = what A heard (B and C), left = A.
    row = v.wait_cdr(a.uac.call_id)
    path = os.path.join(v.data, "recordings", row["recording"])
    T.wait_until(lambda: os.path.exists(path), 10, "A's recording %s" % path)
    rate, channels, samples = T.read_wav(path)
    right = samples[1::2][8000 * 2:8000 * 4]
    left = samples[0::2][8000 * 2:8000 * 4]
    lv = {f: T.goertzel(right, f) for f in ALL}
    T.check(lv[FB] > 100 * lv[FA] and lv[FC] > 100 * lv[FA],
            "A's recording, right channel = the conference mix A heard (B and C, not A): %s" % lv)
    T.check_eq(T.dominant(left, ALL), FA, "A's recording, left channel = A")


if __name__ == "__main__":
    T.main(run)
