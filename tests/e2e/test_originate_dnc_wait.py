#!/usr/bin/env python3
"""vcs.originate's do-not-call check never holds the media worker (SPEC 5.1, 9): with one
worker, an echo call is up and echoing when the test locks vcs.db's readers out (it takes the
read-mark locks of the WAL index, vcs.db-shm, as SQLite itself would); another call's script
then calls vcs.originate to a number on its account's DNC list. While the check waits for the
database, the echo call goes on being echoed and the script stays suspended (no answer, no
INVITE at the carrier); once the lock is released the script gets nil, "dnc" and nothing is
dialled."""

import fcntl
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

OURS = "+861055500001"
SHOP_DNC = "+8613800000101"

DIALPLANS = {
    "routes": T.routes_lua(("^1001$", "echo")),
    "echo": """return function(call)
  call:answer()
  call:echo(30000)
end
""",
    "quick": "return function(call) call:answer() end\n",
    "orig": """return function(call)
  call:answer()
  local id, err = vcs.originate{ to = "%s", from = "%s", script = "quick" }
  call:set("r1", id and "placed" or err)
end
""" % (SHOP_DNC, OURS),
}

CONFIG = """return {
  engine = { workers = 1 },
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.0/8" } } },
  gateways = {
    { name = "carrier", address = "127.0.0.1:%d", codecs = { "PCMU" }, max_channels = 10,
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


def run(t):
    peer = t.rtp_peer()
    uas = t.sipp_uas("uas_campaign", keys={"rtp_port": peer.port}, calls=5, timeout=60).start()
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG % uas.port)
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop"})["token"]
    v.api_ok("POST", "/v1/accounts/shop/recharges", {"amount_fen": 100000})
    v.own_number(shop, OURS, "orig")
    v.api_ok("POST", "/v1/dnc", {"numbers": [SHOP_DNC]}, shop)

    echo_peer = t.rtp_peer()
    echo = t.uac(v, "1001", echo_peer.port)
    echo.invite()
    echo_peer.send_tone(echo.media, 20.0, freq=1000)
    echo_peer.wait_packets(25, 5, "the echo call's first echoed packets")

    fd = lock_readers(v.db_path + "-shm")
    try:
        caller_peer = t.rtp_peer()
        caller = t.uac(v, OURS, caller_peer.port, caller="100")
        caller.invite()
        held = len(echo_peer.packets())
        echo_peer.wait_packets(held + 50, 5, "echoed packets while vcs.originate's check waits")
        T.check(not caller.ended(), "the script waited for the check (it ended early)")
        T.check_eq(len(uas.find_log(r"^INVITE ")), 0, "INVITEs at the carrier during the check")
    finally:
        unlock_readers(fd)
    caller.wait_bye(20)
    row = v.wait_cdr(caller.call_id)
    T.check_eq((row["vars"] or {}).get("r1"), "dnc", "vcs.originate's result (%s)" % row["vars"])
    T.check_eq(len(uas.find_log(r"^INVITE ")), 0, "INVITEs at the carrier")
    echo.bye()


if __name__ == "__main__":
    T.main(run)
