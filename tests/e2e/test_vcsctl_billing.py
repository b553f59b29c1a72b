"""vcsctl's billing commands (SPEC 7 and 8) against a real vcsd with --fake-clock: the
operator recharges an account (a note, --json for scripts), the customer reads its balance and
its month's statement (a summary and tables of lines, or JSON) with its own token and is refused
another's (exit 1) and recharges (exit 1); bad usage exits 2 without a request; the operator
imports the callee region table from a CSV file with per-line errors, which survives a restart
and which a customer may not import."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402
from test_vcsctl_platform import as_customer, check_rc  # noqa: E402

REGIONS = "number_prefix,region\n1390123,beijing\n+86139,mobile_cn\n12x,beijing\n021,Shanghai\n"


def run(t):
    v = t.vcsd(args=["--fake-clock"])
    T.check_eq(v.api("POST", "/v1/admin/clock", {"now": "2027-03-10T04:00:00.000Z"})[0], 200,
               "clock")
    r = v.vcsctl("--json", "accounts", "create", "shop")
    check_rc(r, 0, "accounts create")
    main = json.loads(r.stdout)["token"]
    v.vcsctl("accounts", "create", "rival")

    r = v.vcsctl("--json", "recharge", "shop", "2500", "--note", "March")
    check_rc(r, 0, "recharge")
    got = json.loads(r.stdout)
    T.check_eq((got["amount_fen"], got["balance_fen"], got["note"]), (2500, 2500, "March"),
               "the recharge as JSON")
    r = v.vcsctl("recharge", "shop", "120")
    check_rc(r, 0, "recharge (table)")
    T.check("balance_fen: 2620" in r.stdout, "people see key: value lines: %r" % r.stdout)

    r = as_customer(t, v, main, "--json", "balance", "shop")
    check_rc(r, 0, "balance")
    T.check_eq(json.loads(r.stdout), {"account": "shop", "balance_fen": 2620, "reserved_fen": 0},
               "balance as JSON")
    r = as_customer(t, v, main, "balance", "shop")
    check_rc(r, 0, "balance (table)")
    T.check("balance_fen: 2620" in r.stdout, "balance for people: %r" % r.stdout)

    r = as_customer(t, v, main, "statement", "shop", "--month", "2027-03")
    check_rc(r, 0, "statement")
    out = r.stdout
    T.check("closing_balance_fen: 2620" in out and "recharges:" in out and "March" in out,
            "statement for people: a summary and the lines: %r" % out)
    T.check(any(line.split()[:2] == ["TIME", "AMOUNT_FEN"] for line in out.splitlines()),
            "the lines as a table: %r" % out)
    r = as_customer(t, v, main, "--json", "statement", "shop")
    check_rc(r, 0, "statement of this month (JSON)")
    st = json.loads(r.stdout)
    T.check_eq((st["month"], st["opening_balance_fen"], st["recharges_fen"],
                st["closing_balance_fen"]), ("2027-03", 0, 2620, 2620), "this month")

    check_rc(as_customer(t, v, main, "balance", "rival"), 1, "another's balance")
    r = as_customer(t, v, main, "recharge", "shop", "100")
    check_rc(r, 1, "a customer recharging")
    T.check("403" in r.stderr, "403 shown: %r" % r.stderr)
    check_rc(v.vcsctl("recharge", "shop", "ten"), 2, "amount not an integer")
    check_rc(v.vcsctl("recharge", "shop"), 2, "amount missing")
    check_rc(v.vcsctl("statement", "shop", "--month", "March"), 1, "bad month (the API's 400)")
    check_rc(v.vcsctl("recharge", "shop", "0"), 1, "zero (the API's 400)")
    T.check_eq(v.api("GET", "/v1/accounts/shop/balance")[1]["balance_fen"], 2620,
               "nothing written by refused commands")

    path = t.path("regions.csv")
    with open(path, "w") as f:
        f.write(REGIONS)
    r = v.vcsctl("--json", "regions", "import", path)
    check_rc(r, 0, "regions import")
    got = json.loads(r.stdout)
    T.check_eq((got["imported"], [e["line"] for e in got["errors"]], got["prefixes"]),
               (2, [4, 5], 2), "imported lines and per-line errors")
    check_rc(as_customer(t, v, main, "regions", "import", path), 1, "import by a customer")
    v.stop()
    v.start()
    r = v.vcsctl("--json", "regions", "import", "-")
    check_rc(r, 0, "an empty import from stdin")
    T.check_eq(json.loads(r.stdout)["prefixes"], 2, "the table survived the restart")


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
