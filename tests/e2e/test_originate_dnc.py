#!/usr/bin/env python3
"""vcs.originate obeys the do-not-call lists and the frequency caps (SPEC 9, 5.2) exactly as
POST /v1/calls does, the two counted together. A customer account "shop" owns a number bound
to a script that originates to a list of callees chosen by the inbound caller's number and
records each result (the id, or the refusal's code) in its CDR vars; the carrier is a SIPp UAS
that logs every INVITE by number.

A. a number on shop's DNC list, one on the operator's global list, and shop's DNC number
   dialled as gw:carrier/NUMBER: vcs.originate gives nil, "dnc" for each, none reaches the
   carrier and none writes a CDR row; a clean number is placed and answered. POST /v1/calls
   refuses the gw:carrier/NUMBER form too (403 dnc).
B. the caps (2 answered a day by default) count both doors: one call answered through POST
   /v1/calls, then vcs.originate within the cap is placed and answered, then vcs.originate
   gives nil, "frequency_cap" and POST /v1/calls 403 frequency_cap; the carrier saw 2 calls.
C. the check never holds the media worker (one worker here): an echo call is up and echoing
   when the test locks vcs.db's readers out (it takes the read-mark locks of the WAL index,
   vcs.db-shm, as SQLite itself would); then a script calls vcs.originate to shop's DNC
   number. While the check waits for the database, the echo call goes on being echoed and the
   script stays suspended (no hangup, no INVITE); once the lock is released it gets nil,
   "dnc".
D. the rules fail closed: with the DNC table unreadable (renamed under the running vcsd),
   POST /v1/calls to a clean number is 503 compliance_unavailable and nothing reaches the
   carrier; once the table is back the same request is placed."""

import fcntl
import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

OURS = "+861055500001"
SHOP_DNC = "+8613800000101"
GLOBAL_DNC = "+8613800000202"
CLEAN = "+8613800000303"
CAPPED = "+8613800000404"

DIALPLANS = {
    "routes": T.routes_lua(("^1001$", "echo")),
    "echo": """return function(call)
  call:answer()
  call:echo(30000)
end
""",
    "quick": """return function(call)
  call:answer()
  call:sleep(300)
end
""",
    "orig": """local plans = {
  ["100"] = { "%s", "%s", "gw:carrier/%s", "%s" },
  ["200"] = { "%s" },
  ["300"] = { "%s" },
}
return function(call)
  call:answer()
  for i, to in ipairs(plans[call.from] or {}) do
    local id, err = vcs.originate{ to = to, from = "%s", script = "quick" }
    call:set("r" .. i, id and "placed" or err)
  end
end
""" % (SHOP_DNC, GLOBAL_DNC, SHOP_DNC, CLEAN, CAPPED, SHOP_DNC, OURS),
}

CONFIG = """return {
  engine = { workers = 1 },
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.0/8" } } },
  gateways = {
  { name = "carrier", address = "127.0.0.1:%d", codecs = { "PCMU" }, max_channels = 100,
    options_interval_s = 0, inbound = false },
} }
"""


# SQLite's WAL index: the read-mark locks are bytes 123..127 of the -shm file (sqlite3.c,
# WAL_READ_LOCK(0) = 3 past the 120-byte lock offset); a reader needs one of them shared.
READ_LOCKS_START, READ_LOCKS_LEN = 123, 5


def lock_readers(shm_path):
    fd = os.open(shm_path, os.O_RDWR)
    deadline = time.monotonic() + 10
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, READ_LOCKS_LEN, READ_LOCKS_START)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                T.fail("cannot lock the readers of %s out" % shm_path)
            time.sleep(0.01)


def unlock_readers(fd):
    fcntl.lockf(fd, fcntl.LOCK_UN, READ_LOCKS_LEN, READ_LOCKS_START)
    os.close(fd)


def invites(uas, number):
    return uas.find_log(r"^INVITE %s " % number.replace("+", r"\+"))


def script_results(v, uac):
    uac.wait_bye(30)
    return v.wait_cdr(uac.call_id)["vars"] or {}


def call_script(t, v, caller):
    """An inbound call from caller to our number, answered by its script."""
    uac = t.uac(v, OURS, t.rtp_peer().port, caller=caller)
    uac.invite()
    return uac


def originate_from_script(t, v, caller):
    """The results (CDR vars) of the script called from caller."""
    return script_results(v, call_script(t, v, caller))


def answered_rows(v, number, n):
    def look():
        rows = v.cdrs("to_number = ? AND direction = 'outbound'", (number,))
        return rows if len(rows) == n and all(r["end_time"] for r in rows) else None
    rows = T.wait_until(look, 20, "%d ended outbound CDR rows to %s" % (n, number))
    T.check(all(r["answer_time"] for r in rows), "the calls to %s answered: %s" % (number, rows))
    return rows


def run(t):
    peer = t.rtp_peer()
    uas = t.sipp_uas("uas_campaign", keys={"rtp_port": peer.port}, calls=20, timeout=120).start()
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG % uas.port)
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop"})["token"]
    v.api_ok("POST", "/v1/accounts/shop/recharges", {"amount_fen": 100000})
    v.own_number(shop, OURS, "orig")
    v.api_ok("POST", "/v1/dnc", {"numbers": [SHOP_DNC]}, shop)
    v.api_ok("POST", "/v1/dnc", {"numbers": [GLOBAL_DNC]})

    # A. the lists.
    got = originate_from_script(t, v, "100")
    T.check_eq(got, {"r1": "dnc", "r2": "dnc", "r3": "dnc", "r4": "placed"},
               "vcs.originate to shop's DNC number, the global one, shop's as gw:, a clean one")
    answered_rows(v, CLEAN, 1)
    for n in (SHOP_DNC, GLOBAL_DNC):
        T.check_eq(len(invites(uas, n)), 0, "INVITEs to the DNC number %s" % n)
        T.check_eq(v.cdrs("to_number = ?", (n,)), [], "CDR rows of the refused calls to %s" % n)
    st, err = v.api("POST", "/v1/calls", {"to": "gw:carrier/" + SHOP_DNC, "from": OURS,
                                          "script": "quick"}, token=shop)
    T.check_eq((st, err.get("error", {}).get("code")), (403, "dnc"),
               "POST /v1/calls to gw:carrier/%s (%s)" % (SHOP_DNC, err))

    # B. the caps, both doors counted together.
    st, made = v.api("POST", "/v1/calls", {"to": CAPPED, "from": OURS, "script": "quick"},
                     token=shop)
    T.check_eq(st, 201, "POST /v1/calls to %s (%s)" % (CAPPED, made))
    answered_rows(v, CAPPED, 1)
    T.check_eq(originate_from_script(t, v, "200"), {"r1": "placed"},
               "vcs.originate to %s with one answered call today (cap 2)" % CAPPED)
    answered_rows(v, CAPPED, 2)
    T.check_eq(originate_from_script(t, v, "200"), {"r1": "frequency_cap"},
               "vcs.originate to %s with two answered calls today" % CAPPED)
    st, err = v.api("POST", "/v1/calls", {"to": CAPPED, "from": OURS, "script": "quick"},
                    token=shop)
    T.check_eq((st, err.get("error", {}).get("code")), (403, "frequency_cap"),
               "POST /v1/calls to %s after the script's call (%s)" % (CAPPED, err))
    T.check_eq(len(invites(uas, CAPPED)), 2, "INVITEs to %s at the carrier" % CAPPED)
    T.check_eq(len(answered_rows(v, CAPPED, 2)), 2, "CDR rows to %s" % CAPPED)

    # C. the worker goes on while a check waits.
    echo_peer = t.rtp_peer()
    echo = t.uac(v, "1001", echo_peer.port)
    echo.invite()
    echo_peer.send_tone(echo.media, 20.0, freq=1000)
    echo_peer.wait_packets(25, 5, "the echo call's first echoed packets")
    before = len(uas.find_log(r"^INVITE "))
    fd = lock_readers(v.db_path + "-shm")
    try:
        caller = call_script(t, v, "300")
        held = len(echo_peer.packets())
        echo_peer.wait_packets(held + 50, 5, "echoed packets while vcs.originate's check waits")
        T.check(not caller.ended(), "the script waited for the check (it ended early)")
        T.check_eq(len(uas.find_log(r"^INVITE ")), before, "INVITEs during the check")
    finally:
        unlock_readers(fd)
    T.check_eq(script_results(v, caller), {"r1": "dnc"}, "vcs.originate after the wait")
    T.check_eq(len(invites(uas, SHOP_DNC)), 0, "INVITEs to %s" % SHOP_DNC)
    echo.bye()

    # D. unreadable lists refuse.
    fresh = "+8613800000505"

    def dnc_table(frm, to):
        conn = sqlite3.connect(v.db_path, timeout=10)
        conn.execute("ALTER TABLE %s RENAME TO %s" % (frm, to))
        conn.commit()
        conn.close()
    dnc_table("dnc", "dnc_moved")
    try:
        st, err = v.api("POST", "/v1/calls", {"to": fresh, "from": OURS, "script": "quick"},
                        token=shop)
        T.check_eq((st, err.get("error", {}).get("code")), (503, "compliance_unavailable"),
                   "POST /v1/calls with the DNC table unreadable (%s)" % err)
    finally:
        dnc_table("dnc_moved", "dnc")
    T.check_eq(len(invites(uas, fresh)), 0, "INVITEs to %s while the lists were unreadable" % fresh)
    st, made = v.api("POST", "/v1/calls", {"to": fresh, "from": OURS, "script": "quick"},
                     token=shop)
    T.check_eq(st, 201, "POST /v1/calls to %s once the lists read again (%s)" % (fresh, made))
    T.check_eq(len(answered_rows(v, fresh, 1)), 1, "the call to %s" % fresh)


if __name__ == "__main__":
    T.main(run)
