#!/usr/bin/env python3
"""Customer trunks over the API and vcsctl (SPEC 7), used by the SIP side at once.

A configured trunk "cfg" (127.0.0.9 only) keeps loopback from being the admin's. The customer
"acme" creates a trunk with credentials over the API: the password is never returned, another
account's trunk is 404, names and usernames are unique (also against the configuration),
hostile values are 400. SIPp as acme's PBX then authenticates with those credentials (407, then
answered; CDR account and trunk are acme's). PATCH adds 127.0.0.1 to the allow list and
max_calls 1: a second call while one is up gets 486 with Reason "trunk limit" (CDR over_limit,
trunk filled); after the first ends, a call fits again. DELETE takes the trunk away: loopback
is only challenged again. vcsctl trunks create|list|show|update|delete drive the same API (the
password read from stdin with --password -), and the new password works at once."""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = """return {
  trunks = { { name = "cfg", account = "admin", allow = { "127.0.0.9/32" },
               username = "cfg-user", password = "cfgpw" } },
}
"""
DIALPLANS = {
    "routes": T.routes_lua(("^7000$", "hold")),
    "hold": """return function(call)
  call:answer()
  call:sleep(120000)
end
""",
}


def ok(status, body, what, want=200):
    T.check(status == want, "%s: want %d, got %d %s" % (what, want, status, body))
    return body


def run(t):
    v = t.vcsd(config=CONFIG, dialplans=DIALPLANS)
    acme = ok(*v.api("POST", "/v1/accounts", {"name": "acme"}), "create acme", 201)["token"]
    beta = ok(*v.api("POST", "/v1/accounts", {"name": "beta"}), "create beta", 201)["token"]

    body = {"name": "acme-pbx", "username": "acme-user", "password": "pa55:word", "max_calls": 0}
    tr = ok(*v.api("POST", "/v1/trunks", body, token=acme), "create a trunk", 201)
    T.check_eq(tr["account"], "acme", "the trunk's account")
    T.check("password" not in tr and "ha1" not in tr, "no password in %s" % tr)
    page = ok(*v.api("GET", "/v1/trunks", token=acme), "list")
    T.check_eq([x["name"] for x in page["items"]], ["acme-pbx"], "acme's trunks")
    T.check("pa55" not in json.dumps(page), "the list holds no password")
    T.check_eq(ok(*v.api("GET", "/v1/trunks", token=beta), "beta's list")["items"], [],
               "beta sees none")
    ok(*v.api("GET", "/v1/trunks/acme-pbx", token=beta), "beta reads acme's trunk", 404)
    ok(*v.api("PATCH", "/v1/trunks/acme-pbx", {"max_calls": 1}, token=beta), "beta changes it", 404)
    ok(*v.api("DELETE", "/v1/trunks/acme-pbx", token=beta), "beta deletes it", 404)
    ok(*v.api("POST", "/v1/trunks", dict(body, username="other"), token=beta), "same name", 409)
    ok(*v.api("POST", "/v1/trunks", {"name": "b2", "username": "acme-user", "password": "x"},
              token=beta), "same username", 409)
    ok(*v.api("POST", "/v1/trunks", {"name": "cfg", "allow": ["10.0.0.1"]}, token=beta),
       "a configured trunk's name", 409)
    ok(*v.api("POST", "/v1/trunks", {"name": "b3", "username": "cfg-user", "password": "x"},
              token=beta), "a configured trunk's username", 409)
    for bad in ({"name": "b4", "allow": ["10.0.0.0/33"]}, {"name": "b5", "username": "u"},
                {"name": "b6"}, {"name": "b7", "allow": ["10.0.0.1"], "max_calls": -1},
                {"name": "b8", "allow": ["10.0.0.1"], "address": "pbx.example:5060"},
                {"name": "b9", "allow": "10.0.0.1"}):
        ok(*v.api("POST", "/v1/trunks", bad, token=beta), "hostile %s" % bad, 400)
    T.check_eq(ok(*v.api("GET", "/v1/trunks", token=beta), "beta's list")["items"], [],
               "nothing was created by refused requests")

    # The SIP side knows the trunk at once: SIPp authenticates as acme's PBX.
    peer = t.rtp_peer()
    s = t.sipp("uac_auth", v, "7000", keys={"rtp_port": peer.port}, tmpl={"duration_ms": 300},
               extra=("-au", "acme-user", "-ap", "pa55:word"))
    s.run_ok(what="a call with the API trunk's credentials")
    T.check_cdr(v.wait_cdr(s.call_id()), account="acme", trunk="acme-pbx",
                hangup_cause="normal_clearing")

    # Allow list and max_calls take effect at once.
    tr = ok(*v.api("PATCH", "/v1/trunks/acme-pbx", {"allow": ["127.0.0.1/32"], "max_calls": 1},
                   token=acme), "PATCH")
    T.check_eq((tr["allow"], tr["max_calls"], tr["username"]),
               (["127.0.0.1/32"], 1, "acme-user"), "the changed trunk")
    first = t.uac(v, "7000", t.rtp_peer().port)
    first.invite()
    second = t.uac(v, "7000", t.rtp_peer().port)
    r = second.invite(expect=486)
    reasons = r.headers.get("reason", [])
    T.check(any('text="trunk limit"' in x and "cause=486" in x for x in reasons),
            "486 with Reason trunk limit (got %r)" % reasons)
    T.check_cdr(v.wait_cdr(second.call_id), hangup_cause="over_limit", sip_code=486,
                trunk="acme-pbx", account="acme")
    first.bye()
    T.check_cdr(v.wait_cdr(first.call_id), trunk="acme-pbx", hangup_cause="normal_clearing")
    third = t.uac(v, "7000", t.rtp_peer().port)
    third.invite()
    third.bye()
    v.wait_cdr(third.call_id)

    # DELETE: loopback is nobody's trunk again (only challenged, for cfg's credentials).
    ok(*v.api("DELETE", "/v1/trunks/acme-pbx", token=acme), "DELETE", 204)
    ok(*v.api("GET", "/v1/trunks/acme-pbx", token=acme), "GET after DELETE", 404)
    t.uac(v, "7000", t.rtp_peer().port).invite(expect=407)

    # vcsctl: the operator manages trunks of any account.
    def ctl(*args):
        r = v.vcsctl(*args)
        T.check(r.returncode == 0, "vcsctl %s: %d %s %s" % (" ".join(args), r.returncode,
                                                             r.stdout, r.stderr))
        return r.stdout
    ctl("trunks", "create", "ops-pbx", "--allow", "10.1.0.0/16,10.2.0.1", "--max-calls", "5")
    out = ctl("trunks", "list")
    T.check("ops-pbx" in out and "10.1.0.0/16" in out, "vcsctl trunks list:\n%s" % out)
    r = subprocess.run(list(t.vcsctl_cmd()) + ["--http", "127.0.0.1:%d" % v.http_port, "--data",
                                               v.data, "trunks", "update", "ops-pbx",
                                               "--username", "ops", "--password", "-"],
                       input="secret1\n", capture_output=True, text=True, timeout=30)
    T.check(r.returncode == 0, "vcsctl trunks update --password - (stdin): %s" % r.stderr)
    s = t.sipp("uac_auth", v, "7000", keys={"rtp_port": t.rtp_peer().port},
               tmpl={"duration_ms": 200}, extra=("-au", "ops", "-ap", "secret1"))
    s.run_ok(what="a call with the password vcsctl read from stdin")
    shown = json.loads(ctl("--json", "trunks", "show", "ops-pbx"))
    T.check_eq((shown["username"], shown["max_calls"]), ("ops", 5), "vcsctl trunks show")
    T.check("secret1" not in json.dumps(shown), "vcsctl shows no password")
    ctl("trunks", "delete", "ops-pbx")
    r = v.vcsctl("trunks", "show", "ops-pbx")
    T.check_eq(r.returncode, 1, "vcsctl trunks show of a deleted trunk")
    T.check("pa55" not in v.log_text(0) and "secret1" not in v.log_text(0),
            "no password in the log")


if __name__ == "__main__":
    T.main(run)
