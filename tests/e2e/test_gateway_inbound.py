#!/usr/bin/env python3
"""PSTN calls from a carrier gateway (SPEC 4, source kind 1).

vcsd has one gateway at 127.0.0.2 (any port) and one trunk for 127.0.0.3; loopback 127.0.0.1 is
then no trunk any more (403). From the gateway's address:
  - a call to an active number bound to a script runs it; the CDR's account is the number's
    owner (not the admin) and its gateway the gateway's name;
  - a call to an active number that is not bound goes through routes.lua, where an entry with
    source = "trunk" is skipped and one with source = "gateway" is taken;
  - a call to a number that is not in the number table is 404 (routes.lua is not consulted,
    although an entry would match).
From the trunk, the unbound number goes to the trunk's route. A binding changed through the API
(PATCH /v1/numbers/N) routes the very next call, with no reload."""

import os
import sqlite3
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

BOUND = "861088880001"
UNBOUND = "861088880002"
UNKNOWN = "861088880003"

ANSWER = """return function(call)
  call:answer()
  call:set("script", "%s")
  call:sleep(200)
end
"""

DIALPLANS = {
    "routes": """return {
  { match = "^8610", script = "from_trunk", source = "trunk" },
  { match = "^8610", script = "from_gateway", source = "gateway" },
}
""",
    "bound": ANSWER % "bound",
    "from_trunk": ANSWER % "from_trunk",
    "from_gateway": ANSWER % "from_gateway",
}

CONFIG = """return {
  gateways = { { name = "carrier", address = "127.0.0.2:5099", options_interval_s = 0 } },
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.3/32" } } },
}
"""


def add_numbers(v):
    st, body = v.api("POST", "/v1/accounts", {"name": "acme"})
    T.check(st == 201, "account acme created (%s %s)" % (st, body))
    # A PSTN leg is billed: the account must be able to pay its first minute.
    st, body = v.api("POST", "/v1/accounts/acme/recharges", {"amount_fen": 10000})
    T.check(st == 201, "acme recharged (%s %s)" % (st, body))
    conn = sqlite3.connect(v.db_path, timeout=10)
    with conn:
        for number, script in ((BOUND, "bound"), (UNBOUND, None)):
            conn.execute("INSERT INTO numbers(number, account, region, type, state, script)"
                         " VALUES (?, 'acme', 'beijing', 'fixed', 'active', ?)", (number, script))
    conn.close()
    v.reload()  # the routing snapshot reads the number table


def call(t, v, number, local_ip, expect):
    peer = t.rtp_peer()
    uac = t.uac(v, number, peer.port, local_ip=local_ip)
    uac.invite(expect=expect)
    if expect == 200:
        uac.wait_bye(10)
    return v.wait_cdr(uac.call_id) if expect in (200, 404) else None


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=CONFIG)
    add_numbers(v)

    row = call(t, v, BOUND, "127.0.0.2", 200)
    T.check_cdr(row, account="acme", gateway="carrier", script="bound",
                hangup_cause="normal_clearing")

    row = call(t, v, UNBOUND, "127.0.0.2", 200)
    T.check_cdr(row, account="acme", gateway="carrier", script="from_gateway")

    row = call(t, v, UNKNOWN, "127.0.0.2", 404)
    T.check_cdr(row, gateway="carrier", hangup_cause="not_found", sip_code=404)

    row = call(t, v, UNBOUND, "127.0.0.3", 200)
    T.check_cdr(row, account="admin", gateway=None, script="from_trunk")

    st, body = v.api("PATCH", "/v1/numbers/" + UNBOUND, {"script": "bound"})
    T.check(st == 200, "number bound through the API (%s %s)" % (st, body))
    row = call(t, v, UNBOUND, "127.0.0.2", 200)
    T.check_cdr(row, account="acme", gateway="carrier", script="bound")

    # With a gateway configured, loopback is only what the configuration says.
    call(t, v, BOUND, "127.0.0.1", 403)


if __name__ == "__main__":
    T.main(run)
