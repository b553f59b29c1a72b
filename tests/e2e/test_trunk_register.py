#!/usr/bin/env python3
"""REGISTER from customer trunks (SPEC 4).

SIPp as the PBX of the API trunk "acme-pbx" (credentials only) registers: 401, then 200 with
its Contact bound for the Expires asked (120 s; 30 is 423 with Min-Expires 60). From then on an
INVITE from the registered address needs no credentials and is the trunk's (CDR trunk);
GET /v1/trunks/acme-pbx shows the contact. The binding survives a restart. A binding restored
near its end expires (the row is moved to 3 s ahead while vcsd is stopped, so nobody waits out
60 s): calls from that address are challenged again. Expires 0 unbinds. With no trunk that
has credentials, a REGISTER gets 403."""

import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = """return {
  trunks = { { name = "cfg", account = "admin", allow = { "127.0.0.9/32" } } },
}
"""
DIALPLANS = {
    "routes": T.routes_lua(("^7000$", "short")),
    "short": """return function(call)
  call:answer()
  call:sleep(200)
end
""",
}


def register(t, v, expires=120, code=200):
    s = t.sipp("uac_register", v, keys={}, tmpl={"expires": expires, "code": code},
               extra=("-au", "acme-user", "-ap", "reg-pw"))
    s.run_ok(what="REGISTER with Expires %d" % expires)
    return s


def call_status(t, v):
    uac = t.uac(v, "7000", t.rtp_peer().port)
    r = uac.invite(expect=None)
    if r.code == 200:
        uac.wait_bye(10)
        T.check_cdr(v.wait_cdr(uac.call_id), trunk="acme-pbx", account="acme")
    return r.code


def registered(v):
    status, tr = v.api("GET", "/v1/trunks/acme-pbx")
    T.check_eq(status, 200, "GET the trunk")
    return tr["registered"]


def run(t):
    v = t.vcsd(config=CONFIG, dialplans=DIALPLANS)
    T.check_eq(v.api("POST", "/v1/accounts", {"name": "acme"})[0], 201, "create acme")
    body = {"name": "acme-pbx", "username": "acme-user", "password": "reg-pw"}
    T.check_eq(v.api("POST", "/v1/trunks?account=acme", body)[0], 201, "create the trunk")

    T.check_eq(call_status(t, v), 407, "an INVITE before the REGISTER")
    s = register(t, v, expires=30, code=423)
    T.check(any("Min-Expires: 60" in m for d, m in s.messages() if d == "received"),
            "423 names Min-Expires 60")
    s = register(t, v)
    T.check(s.find_log(r"FINAL 200 Contact: <sip:pbx@127\.0\.0\.1:%d>;expires=12\d" % s.port),
            "the 200 gives the bound contact back: %s" % s.log_lines())
    T.check_eq(call_status(t, v), 200, "an INVITE from the registered address")
    contact = "sip:pbx@127.0.0.1:%d" % s.port
    T.wait_until(lambda: registered(v) == contact, 10, "the registration in the database")

    v.restart()
    T.check_eq(call_status(t, v), 200, "an INVITE from the registered address after a restart")

    # A binding restored near its end expires on time.
    v.stop()
    db = sqlite3.connect(v.db_path, timeout=10)
    with db:
        db.execute("UPDATE trunk_registrations SET expires_ms = ?",
                   (int(time.time() * 1000) + 3000,))
    db.close()
    v.start()
    T.check_eq(call_status(t, v), 200, "an INVITE before the binding ends")
    T.wait_until(lambda: call_status(t, v) == 407, 15, "the binding to expire", interval=0.5)

    # Expires 0 unbinds.
    register(t, v)
    T.check_eq(call_status(t, v), 200, "an INVITE after registering again")
    register(t, v, expires=0)
    T.check_eq(call_status(t, v), 407, "an INVITE after the unbinding")
    T.wait_until(lambda: registered(v) is None, 10, "the unbinding in the database")

    # No trunk with credentials: REGISTER is 403.
    plain = t.vcsd(dialplans=DIALPLANS, name="plain")
    sock = T.SipSocket(plain.sip_port)
    rs = sock.request(T.sip_message("REGISTER", "sip:127.0.0.1:%d" % plain.sip_port,
                                    local_port=sock.local_port, extra=("Expires: 120",)))
    T.check_eq(rs[-1].code if rs else None, 403, "REGISTER with no trunk that has credentials")
    sock.close()


if __name__ == "__main__":
    T.main(run)
