"""vcsctl's platform commands (SPEC 7 and 8) against a real vcsd: the operator creates an
account (--json for scripts), its main user acts through VCS_TOKEN to create a sub-user,
attach a policy, issue a token and read the audit log as a table; numbers imported from CSV
on stdin, searched, ordered by region, approved, bound to a script (a PATCH) and released;
exit status 0 on success, 1 with the server's message when the API says no, 2 on bad
usage."""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402


def as_customer(t, v, token, *args, stdin=None):
    """vcsctl with VCS_TOKEN and no --data: how a customer runs it."""
    env = {k: val for k, val in os.environ.items() if k not in ("VCS_HTTP", "VCS_TOKEN")}
    env["VCS_TOKEN"] = token
    argv = list(t.vcsctl_cmd()) + ["--http", "127.0.0.1:%d" % v.http_port] + list(args)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30,
                          env=env, cwd=t.root)


def check_rc(r, rc, what):
    T.check(r.returncode == rc, "%s: exit %d, wanted %d (stdout %r, stderr %r)" %
            (what, r.returncode, rc, r.stdout, r.stderr))


def run(t):
    v = t.vcsd()
    r = v.vcsctl("--json", "accounts", "create", "shop", "--rate-fen-per-minute", "25")
    check_rc(r, 0, "accounts create")
    created = json.loads(r.stdout)
    T.check_eq(created["user"], "shop", "main user")
    main = created["token"]

    r = v.vcsctl("accounts", "list")
    check_rc(r, 0, "accounts list")
    header = r.stdout.splitlines()[0].split()
    T.check_eq(header[:3], ["NAME", "BALANCE_FEN", "RATE_FEN_PER_MINUTE"], "table header")
    T.check(any(line.split()[:3] == ["shop", "0", "25"] for line in r.stdout.splitlines()),
            "shop in the table: %r" % r.stdout)

    check_rc(as_customer(t, v, main, "users", "create", "clerk"), 0, "users create")
    check_rc(as_customer(t, v, main, "users", "attach", "clerk", "AI_VCSReadOnlyAccessPolicy"),
             0, "users attach")
    statements = json.dumps([{"actions": ["vcs:ListCdrs"], "resources": ["*"]}])
    check_rc(as_customer(t, v, main, "policies", "create", "cdrs", "-", stdin=statements), 0,
             "policies create from stdin")
    r = as_customer(t, v, main, "--json", "policies", "list")
    check_rc(r, 0, "policies list")
    T.check_eq(sorted(p["name"] for p in json.loads(r.stdout)["items"]),
               ["AI_VCSFullControlAccessPolicy", "AI_VCSReadOnlyAccessPolicy", "cdrs"],
               "policies")
    r = as_customer(t, v, main, "--json", "tokens", "create", "clerk")
    check_rc(r, 0, "tokens create")
    clerk = json.loads(r.stdout)

    r = as_customer(t, v, clerk["token"], "audit")
    check_rc(r, 0, "audit by the read-only sub-user")
    T.check("/v1/users/clerk/tokens" in r.stdout, "the token creation in the audit: %r" % r.stdout)

    # The API says no: 1 with its message. Bad usage: 2.
    r = as_customer(t, v, clerk["token"], "users", "create", "intruder")
    check_rc(r, 1, "sub-user creating a user")
    T.check("403" in r.stderr and "forbidden" in r.stderr, "message of a 403: %r" % r.stderr)
    r = as_customer(t, v, main, "accounts", "get", "admin")
    check_rc(r, 1, "another account")
    T.check("404" in r.stderr, "another account is not found: %r" % r.stderr)
    check_rc(as_customer(t, v, main, "users", "create"), 2, "missing argument")
    check_rc(as_customer(t, v, main, "users", "frobnicate"), 2, "unknown verb")
    check_rc(as_customer(t, v, main, "users", "list", "--bogus", "1"), 2, "unknown option")
    check_rc(as_customer(t, v, main, "accounts", "create", "x", "--max-calls", "many"), 2,
             "not an integer")

    # The operator on the customer's users.
    r = v.vcsctl("--json", "users", "list", "--account", "shop")
    check_rc(r, 0, "operator lists shop's users")
    T.check_eq(sorted(u["name"] for u in json.loads(r.stdout)["items"]), ["clerk", "shop"],
               "shop's users")
    check_rc(v.vcsctl("users", "create", "temp", "--account", "shop"), 0, "operator creates one")
    check_rc(v.vcsctl("users", "delete", "temp", "--account", "shop"), 0, "and deletes it")

    # Numbers and orders.
    r = subprocess.run(list(t.vcsctl_cmd()) + ["--http", "127.0.0.1:%d" % v.http_port, "--data",
                                              v.data, "--json", "numbers", "import", "-"],
                       input="+861099990001,beijing,fixed,\nx,y,z\n", capture_output=True,
                       text=True, timeout=30)
    check_rc(r, 0, "numbers import")
    got = json.loads(r.stdout)
    T.check_eq((got["imported"], [e["line"] for e in got["errors"]]), (1, [2]), "import result")
    r = as_customer(t, v, main, "numbers", "list", "--available", "true", "--region", "beijing")
    check_rc(r, 0, "inventory search")
    T.check("+861099990001" in r.stdout and r.stdout.startswith("NUMBER"), "search: %r" % r.stdout)
    # Rent is paid from the balance on issue (an unpaid one suspends the number).
    T.check_eq(v.api("POST", "/v1/accounts/shop/recharges", {"amount_fen": 100000})[0], 201,
               "recharge")
    r = as_customer(t, v, main, "--json", "orders", "create", "--region", "beijing", "--type",
                    "fixed", "--count", "1")
    check_rc(r, 0, "orders create")
    order = json.loads(r.stdout)
    check_rc(as_customer(t, v, main, "orders", "approve", str(order["id"])), 1,
             "approval by a customer")
    check_rc(v.vcsctl("orders", "approve", str(order["id"])), 0, "approval by the operator")
    r = as_customer(t, v, main, "--json", "numbers", "bind", "+861099990001", "--script",
                    "ivr_demo")
    check_rc(r, 0, "numbers bind")
    T.check_eq(json.loads(r.stdout)["script"], "ivr_demo", "binding sent in the PATCH body")
    check_rc(as_customer(t, v, main, "numbers", "release", "+861099990001"), 0, "release")
    r = as_customer(t, v, main, "numbers", "release", "+861099990001")
    check_rc(r, 1, "release twice")
    T.check("409" in r.stderr, "409 on release twice: %r" % r.stderr)

    check_rc(as_customer(t, v, main, "tokens", "revoke", "clerk", clerk["id"]), 0, "revoke")
    check_rc(as_customer(t, v, clerk["token"], "audit"), 1, "revoked token")


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
