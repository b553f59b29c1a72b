"""Prepaid billing (SPEC 8) on a real vcsd started with --fake-clock, billing.tz Asia/Shanghai:
rent charged on issue and on each monthly anniversary (issued Jan 31: Feb 28, Mar 31, Apr 30),
suspension when the balance cannot pay it (calls to the number get 403 "no balance", CDR
no_balance) until a recharge settles it at once, catch-up of missed anniversaries exactly once
each, release at the end of the paid month, recharges with Idempotency-Key, bad bodies (400,
nothing written); a seeded money property test: over several months of random days,
recharges, orders, releases and PSTN calls (from a carrier gateway, billed by the minute),
every month's statement closes at opening + recharges - rent - usage, opens at the previous
closing, the last one closes at the balance, and the usage lines add up to the calls' CDR
costs; and an account cut at zero balance mid-call: a PSTN call that can pay one minute
hears a beep before the minute ends and is hung up at its boundary (no_balance, 20 fen); an
outbound leg through a gateway is refused with nothing left and costs its minute once paid;
caller ID "auto" presents the number of the callee's region from the imported region table."""

import collections
import datetime
import os
import random
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

SEED = int(os.environ.get("VCS_BILLING_SEED", "20270131"))
DIALPLANS = {
    "routes": T.routes_lua(),
    "hold": "return function(call) call:answer() call:sleep(100) end\n",
}
NUMBER = "+861012340001"
LONG = "return function(call) call:answer() call:sleep(300000) end\n"


def expect(v, method, path, body, status, what, token=True, headers=None):
    got, answer = v.api(method, path, body, token=token, headers=headers)
    T.check(got == status, "%s: %s %s: want %d, got %d %s" % (what, method, path, status, got,
                                                                answer))
    return answer


def clock(v, now):
    """Moves the billing clock to now (UTC); rent that fell due is settled before the answer."""
    return expect(v, "POST", "/v1/admin/clock", {"now": now}, 200, "clock to " + now)


def balance(v, acct):
    return expect(v, "GET", "/v1/accounts/%s/balance" % acct, None, 200, "balance")


def number(v, num):
    return expect(v, "GET", "/v1/numbers/" + num, None, 200, "number " + num)


def statement(v, acct, month):
    s = expect(v, "GET", "/v1/accounts/%s/statements?month=%s" % (acct, month), None, 200,
               "statement " + month)
    for kind, total in (("recharges", "recharges_fen"), ("rent", "rent_fen"),
                        ("usage", "usage_fen")):
        T.check_eq(sum(line["amount_fen"] for line in s[kind]), s[total], "%s %s lines" %
                   (month, kind))
    T.check_eq(s["closing_balance_fen"], s["opening_balance_fen"] + s["recharges_fen"] -
               s["rent_fen"] - s["usage_fen"], "%s %s closing = opening + recharges - rent - "
               "usage" % (acct, month))
    return s


def check_months(v, acct, months):
    """Every month reconciles, opens at the previous closing, and the last closes at the
    balance."""
    prev = None
    for m in months:
        s = statement(v, acct, m)
        if prev is not None:
            T.check_eq(s["opening_balance_fen"], prev, "%s %s opens at the last closing"
                       % (acct, m))
        prev = s["closing_balance_fen"]
    T.check_eq(prev, balance(v, acct)["balance_fen"], "%s: the last closing is the balance"
               % acct)


def order(v, acct, token, nums):
    o = expect(v, "POST", "/v1/orders", {"numbers": nums}, 201, "order", token=token)
    return expect(v, "POST", "/v1/orders/%d/approve" % o["id"], None, 200, "approve")


def anniversaries(t, v):
    clock(v, "2027-01-30T16:00:00.000Z")  # 2027-01-31 00:00 in Shanghai
    tok = expect(v, "POST", "/v1/accounts", {"name": "acme"}, 201, "account")["token"]
    expect(v, "POST", "/v1/numbers/import", NUMBER + ",beijing,fixed,\n", 200, "import")
    expect(v, "POST", "/v1/accounts/acme/recharges", {"amount_fen": 2000, "note": "first"}, 201,
           "recharge")
    order(v, "acme", tok, [NUMBER])
    T.check_eq(balance(v, "acme"), {"account": "acme", "balance_fen": 500, "reserved_fen": 0},
               "rent of the first month paid on issue")
    expect(v, "PATCH", "/v1/numbers/" + NUMBER, {"script": "hold"}, 200, "bind", token=tok)

    # Issued Jan 31: the next anniversary is Feb 28 (no Feb 31), local midnight.
    clock(v, "2027-02-27T15:59:59.000Z")
    T.check_eq((number(v, NUMBER)["state"], balance(v, "acme")["balance_fen"]), ("active", 500),
               "Feb 27 23:59:59: nothing due")
    uac = t.uac(v, NUMBER, t.rtp_peer().port, caller="before")
    uac.invite(expect=200)
    uac.wait_bye(10)
    clock(v, "2027-02-27T16:00:00.000Z")
    T.check_eq((number(v, NUMBER)["state"], balance(v, "acme")["balance_fen"]),
               ("suspended", 500), "Feb 28: rent of 1500 unpaid with 500: suspended")
    uac = t.uac(v, NUMBER, t.rtp_peer().port, caller="suspended")
    r = uac.invite(expect=403)
    reasons = r.headers.get("reason", [])
    T.check(any('text="no balance"' in x and "cause=403" in x for x in reasons),
            "403 carries Reason: SIP;cause=403;text=\"no balance\" (got %r)" % reasons)
    T.check_cdr(v.wait_cdr(uac.call_id), hangup_cause="no_balance", sip_code=403,
                answer_time=None)

    clock(v, "2027-02-28T16:00:00.000Z")  # Mar 1
    expect(v, "POST", "/v1/accounts/acme/recharges", {"amount_fen": 1000}, 201, "recharge 1000")
    T.check_eq((number(v, NUMBER)["state"], balance(v, "acme")["balance_fen"]), ("active", 0),
               "the recharge paid the owed rent at once")
    uac = t.uac(v, NUMBER, t.rtp_peer().port, caller="reinstated")
    uac.invite(expect=200)
    uac.wait_bye(10)

    # Mar 31 (not Mar 28): the anniversary follows the day of issue.
    expect(v, "POST", "/v1/accounts/acme/recharges", {"amount_fen": 10000}, 201, "recharge")
    clock(v, "2027-03-29T16:00:00.000Z")
    T.check_eq(balance(v, "acme")["balance_fen"], 10000, "nothing due on Mar 30")
    clock(v, "2027-03-30T16:00:00.000Z")
    T.check_eq(balance(v, "acme")["balance_fen"], 8500, "Mar 31 rent")

    # Downtime of two anniversaries (Apr 30, May 31): each caught up exactly once.
    clock(v, "2027-06-10T04:00:00.000Z")
    T.check_eq(balance(v, "acme")["balance_fen"], 5500, "Apr 30 and May 31 caught up")
    expect(v, "POST", "/v1/admin/clock", {"advance_s": 0}, 200, "run again")
    T.check_eq(balance(v, "acme")["balance_fen"], 5500, "never charged twice")

    # Release on Jun 10: paid until Jun 30 (the anniversary), active until then.
    got = expect(v, "POST", "/v1/numbers/%s/release" % NUMBER, None, 200, "release", token=tok)
    T.check_eq((got["state"], got["release_at"]), ("active", "2027-06-29T16:00:00.000Z"),
               "released at the end of the paid month")
    expect(v, "POST", "/v1/numbers/%s/release" % NUMBER, None, 409, "release twice", token=tok)
    clock(v, "2027-06-29T15:59:59.000Z")
    T.check_eq(number(v, NUMBER)["state"], "active", "still active on its last paid day")
    clock(v, "2027-07-31T00:00:00.000Z")
    got = number(v, NUMBER)
    T.check_eq((got["state"], got["script"]), ("released", None), "released, unbound")
    T.check_eq(balance(v, "acme")["balance_fen"], 5500, "no rent after the release")
    expect(v, "PATCH", "/v1/numbers/" + NUMBER, {"script": "hold"}, 409, "bind a released "
           "number", token=tok)

    s = statement(v, "acme", "2027-01")
    T.check_eq((s["opening_balance_fen"], s["recharges_fen"], s["rent_fen"],
                s["closing_balance_fen"]), (0, 2000, 1500, 500), "January")
    T.check_eq(s["recharges"][0]["note"], "first", "the recharge's note")
    T.check_eq(s["rent"][0]["note"], NUMBER, "the rent line names the number")
    s = statement(v, "acme", "2027-02")
    T.check_eq((s["rent_fen"], s["closing_balance_fen"]), (0, 500), "February: rent unpaid")
    s = statement(v, "acme", "2027-03")
    T.check_eq((s["recharges_fen"], s["rent_fen"], len(s["rent"])), (11000, 3000, 2),
               "March: the owed February rent paid on Mar 1, and Mar 31's")
    check_months(v, "acme", ["2027-%02d" % m for m in range(1, 8)])
    return tok


def bad_bodies(v, tok):
    before = balance(v, "acme")
    st = statement(v, "acme", "2027-07")
    for body, what in (({}, "no amount"), ({"amount_fen": 0}, "zero"),
                       ({"amount_fen": -5}, "negative"), ({"amount_fen": "100"}, "a string"),
                       ({"amount_fen": 1.5}, "a fraction"), ({"amount_fen": 10 ** 13}, "huge"),
                       ({"amount_fen": 100, "bonus": 1}, "unknown field"),
                       ({"amount_fen": 100, "note": "x" * 300}, "long note"),
                       ("{not json", "malformed"), ([100], "an array")):
        expect(v, "POST", "/v1/accounts/acme/recharges", body, 400, "recharge " + what)
    expect(v, "POST", "/v1/accounts/acme/recharges", {"amount_fen": 100}, 403, "by a customer",
           token=tok)
    expect(v, "POST", "/v1/accounts/nobody/recharges", {"amount_fen": 100}, 404, "no account")
    for month in ("2027-13", "2027-1", "27-01", "2027-01-01", "x"):
        expect(v, "GET", "/v1/accounts/acme/statements?month=" + month, None, 400,
               "statement of " + month)
    for body in ({"now": "yesterday"}, {}, {"now": "2027-01-01T00:00:00.000Z", "advance_s": 1},
                 {"advance_s": -1}):
        expect(v, "POST", "/v1/admin/clock", body, 400, "clock %s" % body)
    expect(v, "POST", "/v1/admin/clock", {"advance_s": 1}, 403, "clock by a customer", token=tok)
    T.check_eq(balance(v, "acme"), before, "nothing written by bad requests")
    T.check_eq(statement(v, "acme", "2027-07"), st, "no ledger line by bad requests")

    key = {"Idempotency-Key": "recharge-once"}
    a = expect(v, "POST", "/v1/accounts/acme/recharges", {"amount_fen": 700}, 201, "keyed",
               headers=key)
    b = expect(v, "POST", "/v1/accounts/acme/recharges", {"amount_fen": 700}, 201, "replayed",
               headers=key)
    T.check_eq(a, b, "the replay answers the first")
    T.check_eq(balance(v, "acme")["balance_fen"], before["balance_fen"] + 700, "added once")
    other = expect(v, "POST", "/v1/accounts", {"name": "other"}, 201, "account")["token"]
    expect(v, "GET", "/v1/accounts/acme/balance", None, 404, "another's balance", token=other)
    expect(v, "GET", "/v1/accounts/acme/statements", None, 404, "another's statement",
           token=other)
    T.check_eq(expect(v, "GET", "/v1/accounts/other/balance", None, 200, "own balance",
                      token=other)["balance_fen"], 0, "a new account's balance")


def property_test(t, v):
    """Random days, recharges, orders and releases over several months; statements checked
    every month, every time."""
    rng = random.Random(SEED)
    T.log("billing property test: seed %d (VCS_BILLING_SEED reproduces it)" % SEED)
    expect(v, "POST", "/v1/numbers/import", "".join(
        "+86105555%04d,beijing,fixed,\n" % i for i in range(40)), 200, "import")
    free = ["+86105555%04d" % i for i in range(40)]
    accts = {}
    for name, rent in (("p1", 1500), ("p2", 999), ("p3", 1)):
        accts[name] = {"token": expect(v, "POST", "/v1/accounts", {
            "name": name, "rent_fen_per_month": rent}, 201, "account")["token"], "numbers": [],
            "calls": 0, "cost": 0}
    states = collections.Counter()
    day_ms = 86400 * 1000
    now_ms = 1833000000000  # 2028-01-31T...
    for step in range(60):
        now_ms += rng.randint(1, 6) * day_ms + rng.randint(0, day_ms - 1)
        clock(v, iso(now_ms))
        for name, a in accts.items():
            what = rng.random()
            if what < 0.35:
                expect(v, "POST", "/v1/accounts/%s/recharges" % name,
                       {"amount_fen": rng.randint(1, 4000)}, 201, "recharge")
            elif what < 0.55 and free:
                num = free.pop(rng.randrange(len(free)))
                order(v, name, a["token"], [num])
                if number(v, num)["state"] == "active":
                    expect(v, "PATCH", "/v1/numbers/" + num, {"script": "hold"}, 200, "bind",
                           token=a["token"])
                a["numbers"].append(num)
            elif what < 0.75 and a["numbers"]:
                # A PSTN call: paid by the minute, or refused when the number is suspended
                # or the balance cannot pay a minute.
                num = rng.choice(a["numbers"])
                uac = t.uac(v, num, t.rtp_peer().port, local_ip="127.0.0.2")
                code = uac.invite(expect=None).code
                T.check(code in (200, 403, 404), "PSTN call to %s: %d" % (num, code))
                if code == 200:
                    uac.wait_bye(10)
                    a["calls"] += 1
                if code != 404:  # 404: still unbound (issued while suspended)
                    row = v.wait_cdr(uac.call_id)
                    T.check_eq(row["cost_fen"], 20 * row["bill_minutes"] if code == 200 else 0,
                               "cost of %s" % row["call_id"])
                    a["cost"] += row["cost_fen"]
                    states["no_balance"] += row["hangup_cause"] == "no_balance"
            elif what < 0.8 and a["numbers"]:
                num = a["numbers"].pop(rng.randrange(len(a["numbers"])))
                expect(v, "POST", "/v1/numbers/%s/release" % num, None, 200, "release",
                       token=a["token"])
        for a in accts.values():
            for num in a["numbers"]:
                states[number(v, num)["state"]] += 1
        if step % 10 == 9:
            for name in accts:
                check_months(v, name, month_range(1833000000000, now_ms))
    for name, a in accts.items():
        months = month_range(1833000000000, now_ms)
        check_months(v, name, months)
        usage = sum(statement(v, name, m)["usage_fen"] for m in months)
        T.check_eq(usage, a["cost"], "%s: the usage lines are the calls' CDR costs" % name)
    T.log("property test: %d calls answered, %d refused for no balance; number-days by state %s"
          % (sum(a["calls"] for a in accts.values()), states["no_balance"], dict(states)))
    T.check(states["suspended"] and states["active"] and states["no_balance"],
            "the random walk went through suspensions and refusals (%s)" % dict(states))


def iso(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def month_range(first_ms, last_ms):
    """The Shanghai months from first_ms to last_ms, "YYYY-MM"."""
    tz = datetime.timezone(datetime.timedelta(hours=8))
    a = datetime.datetime.fromtimestamp(first_ms / 1000, tz)
    b = datetime.datetime.fromtimestamp(last_ms / 1000, tz)
    out, y, m = [], a.year, a.month
    while (y, m) <= (b.year, b.month):
        out.append("%04d-%02d" % (y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


GW_CONFIG = """return {
  gateways = { { name = "carrier", address = "127.0.0.2:5099", options_interval_s = 0 }%s },
  trunks = { { name = "pbx", account = "admin", allow = { "127.0.0.1/32" } } },
}
"""
OUT_GATEWAY = """,
    { name = "out", address = "127.0.0.1:%d", options_interval_s = 0, inbound = false }"""
SHORT = "return function(call) call:answer() call:sleep(1500) end\n"
GW_NUMBER = "+861012349999"


def gateway_call(t, v, expect):
    uac = t.uac(v, GW_NUMBER, t.rtp_peer().port, local_ip="127.0.0.2")
    r = uac.invite(expect=expect)
    return uac, r


def cut_at_zero(t):
    """A PSTN call (from the carrier gateway) whose account can pay exactly one minute: a
    second call is refused while it is up, it hears a beep before the minute ends and is hung
    up at the boundary with cause no_balance, costing one minute, and the balance is 0."""
    carrier = t.sipp_uas("uas_carrier", keys={"rtp_port": t.rtp_peer().port},
                         tmpl={"codec": "PCMU", "pt": 0}, calls=3, timeout=180).start()
    v = t.vcsd(dialplans={"routes": T.routes_lua(), "long": LONG, "short": SHORT},
               config=GW_CONFIG % (OUT_GATEWAY % carrier.port), name="gw")
    tok = expect(v, "POST", "/v1/accounts", {"name": "cut", "rate_fen_per_minute": 20}, 201,
                 "account")["token"]
    expect(v, "POST", "/v1/numbers/import", GW_NUMBER + ",beijing,fixed,\n", 200, "import")
    expect(v, "POST", "/v1/accounts/cut/recharges", {"amount_fen": 1500 + 20}, 201, "recharge")
    order(v, "cut", tok, [GW_NUMBER])
    expect(v, "PATCH", "/v1/numbers/" + GW_NUMBER, {"script": "long"}, 200, "bind", token=tok)
    T.check_eq(balance(v, "cut")["balance_fen"], 20, "one minute left after the rent")

    peer = t.rtp_peer()
    uac = t.uac(v, GW_NUMBER, peer.port, local_ip="127.0.0.2")
    uac.invite(expect=200)
    T.check_eq(balance(v, "cut"), {"account": "cut", "balance_fen": 20, "reserved_fen": 20},
               "the first minute reserved")
    other, r = gateway_call(t, v, 403)
    reasons = r.headers.get("reason", [])
    T.check(any('text="no balance"' in x for x in reasons), "no balance: %r" % reasons)
    T.check_cdr(v.wait_cdr(other.call_id), hangup_cause="no_balance", sip_code=403,
                gateway="carrier")
    uac.wait_bye(90)  # the minute (60 s) and a margin for a loaded machine
    row = v.wait_cdr(uac.call_id)
    T.check_cdr(row, hangup_cause="no_balance", hangup_by="system", billsec=60,
                bill_minutes=1, cost_fen=20, gateway="carrier", account="cut")
    beeps = [p for p in peer.packets() if p.pt in (0, 8) and
             T.dominant(T.decode_payload(p.pt, p.payload), [1000, 450]) == 1000]
    T.log("%d frames of the 1000 Hz beep before the cut" % len(beeps))
    T.check(len(beeps) >= 5, "the caller heard the beep before the cut (%d frames of 1000 Hz)"
            % len(beeps))
    T.wait_until(lambda: balance(v, "cut")["balance_fen"] == 0, 10, "the cost in the ledger")
    T.check_eq(balance(v, "cut")["reserved_fen"], 0, "nothing reserved after the call")
    s = expect(v, "GET", "/v1/accounts/cut/statements", None, 200, "this month's statement")
    T.check_eq([(u["amount_fen"], u["ref"]) for u in s["usage"]], [(20, row["call_id"])],
               "one usage line for the call")
    gateway_call(t, v, 403)  # nothing left

    # An outbound leg through a gateway is billed the same way: refused while nothing is
    # left, then paid by the minute.
    leg = originate(v, tok)
    T.check_cdr(completed_cdr(v, leg), hangup_cause="no_balance", cost_fen=0, gateway="out")
    expect(v, "POST", "/v1/accounts/cut/recharges", {"amount_fen": 50}, 201, "recharge")
    leg = originate(v, tok)
    T.check_cdr(completed_cdr(v, leg), hangup_cause="normal_clearing", bill_minutes=1,
                cost_fen=20, gateway="out", direction="outbound")
    T.wait_until(lambda: balance(v, "cut")["balance_fen"] == 30, 10, "the outbound cost")

    # Caller ID "auto" presents the account's number of the callee's region (the region table).
    expect(v, "POST", "/v1/numbers/import", "+862112349999,shanghai,fixed,\n", 200, "import")
    expect(v, "POST", "/v1/accounts/cut/recharges", {"amount_fen": 5000}, 201, "recharge")
    order(v, "cut", tok, ["+862112349999"])
    expect(v, "POST", "/v1/regions/import", "138,shanghai\n139,beijing\n", 200, "regions")
    for callee, presented in (("13800138000", "+862112349999"), ("13900139000", GW_NUMBER)):
        body = {"to": callee, "from": "auto", "script": "short", "gateway": "out"}
        leg = expect(v, "POST", "/v1/calls", body, 201, "originate", token=tok)["id"]
        T.check_cdr(completed_cdr(v, leg), from_number=presented, hangup_cause="normal_clearing")


def originate(v, tok):
    body = {"to": "13800138000", "from": GW_NUMBER, "script": "short", "gateway": "out"}
    return expect(v, "POST", "/v1/calls", body, 201, "originate", token=tok)["id"]


def completed_cdr(v, call_id):
    def look():
        rows = v.cdrs("call_id = ?", (call_id,))
        return rows[0] if rows and rows[0].get("end_time") else None
    return T.wait_until(look, 20, "the CDR of %s to be completed" % call_id)


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, config=GW_CONFIG % "", args=["--fake-clock"])
    tok = anniversaries(t, v)
    bad_bodies(v, tok)
    property_test(t, v)
    v.stop()
    cut_at_zero(t)


if __name__ == "__main__":
    T.main(run)
