"""Numbers and orders (SPEC 7 and 8) on a real vcsd: CSV import with per-line errors,
inventory search, orders by list and by region/type/count reserving their numbers, approval
and rejection by the operator, the state machine's 409 naming both states, binding to a
script or a trunk, release; and two orders racing for the last number from concurrent real
requests: exactly one wins."""

import os
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CSV = """number,region,type,max_concurrent
+861012340001,beijing,fixed,
+861012340002,beijing,fixed,4
+8613800000001,beijing,mobile,
+862112340001,shanghai,fixed,
86101234,beijing,fixed,
+861012340001,beijing,fixed,
+861012340003,Beijing,fixed,
+861012340004,beijing,landline,
+861012340005,beijing,fixed,-1
+861012340006
"""


def expect(v, method, path, body, token, status, what):
    got, answer = v.api(method, path, body, token=token)
    T.check(got == status, "%s: %s %s: want %d, got %d %s" % (what, method, path, status, got,
                                                                answer))
    return answer


def numbers(v, token, query=""):
    page = expect(v, "GET", "/v1/numbers?limit=1000" + query, None, token, 200, "numbers")
    return {n["number"]: n for n in page["items"]}


def run(t):
    v = t.vcsd()
    op = True
    shop = expect(v, "POST", "/v1/accounts", {"name": "shop"}, op, 201, "account")["token"]
    rival = expect(v, "POST", "/v1/accounts", {"name": "rival"}, op, 201, "account")["token"]
    # Rent is paid from the balance on issue (an unpaid one suspends the number).
    expect(v, "POST", "/v1/accounts/shop/recharges", {"amount_fen": 100000}, op, 201, "recharge")

    got = expect(v, "POST", "/v1/numbers/import", CSV, op, 200, "import")
    T.check_eq(got["imported"], 4, "numbers imported")
    T.check_eq([e["line"] for e in got["errors"]], [6, 7, 8, 9, 10, 11], "lines in error")
    T.check("exists" in got["errors"][1]["message"], "duplicate line: %s" % got["errors"][1])
    expect(v, "POST", "/v1/numbers/import", CSV, shop, 403, "import by a customer")

    found = numbers(v, shop, "&available=true&region=beijing&type=fixed")
    T.check_eq(sorted(found), ["+861012340001", "+861012340002"], "beijing fixed inventory")
    T.check_eq(found["+861012340002"]["max_concurrent"], 4, "imported max_concurrent")
    T.check_eq(numbers(v, shop, "&available=true&type=mobile")["+8613800000001"]
               ["max_concurrent"], 3, "mobile default max_concurrent")
    T.check_eq(numbers(v, shop), {}, "shop owns nothing yet")

    # Bad orders: 400 and nothing reserved.
    for body in ({}, {"numbers": []}, {"numbers": ["x"]}, {"numbers": ["+861012340001"] * 2},
                 {"region": "beijing", "type": "fixed"}, {"region": "beijing", "type": "fax",
                                                           "count": 1},
                 {"region": "beijing", "type": "fixed", "count": 0},
                 {"numbers": ["+861012340001"], "count": 1}, {"numbers": "+861012340001"}):
        expect(v, "POST", "/v1/orders", body, shop, 400, "bad order %r" % (body,))
    T.check_eq(len(numbers(v, shop, "&available=true")), 4, "inventory after bad orders")

    # By list: reserved; a second order for it is 409 naming both states.
    first = expect(v, "POST", "/v1/orders", {"numbers": ["+861012340001"]}, shop, 201, "order")
    T.check_eq(first["state"], "pending", "new order")
    err = expect(v, "POST", "/v1/orders", {"numbers": ["+861012340001"]}, rival, 409,
                 "order a reserved number")
    T.check("ordered" in err["error"]["message"], "message names the state: %s" % err)
    expect(v, "POST", "/v1/orders", {"numbers": ["+869999999999"]}, rival, 404,
           "order a number not in the inventory")
    T.check_eq(numbers(v, shop)["+861012340001"]["state"], "ordered", "reserved number")
    expect(v, "GET", "/v1/numbers/+861012340001", None, rival, 404, "another's number")

    # By region/type/count; too many is 409.
    second = expect(v, "POST", "/v1/orders", {"region": "beijing", "type": "fixed", "count": 1},
                    rival, 201, "order by region")
    T.check_eq(second["numbers"], ["+861012340002"], "picked number")
    err = expect(v, "POST", "/v1/orders", {"region": "beijing", "type": "fixed", "count": 1},
                 shop, 409, "no fixed number left")

    # Approve, reject, and the illegal moves.
    expect(v, "POST", "/v1/orders/%d/approve" % first["id"], None, shop, 403,
           "approval by a customer")
    done = expect(v, "POST", "/v1/orders/%d/approve" % first["id"], None, op, 200, "approve")
    T.check_eq(done["state"], "approved", "approved order")
    err = expect(v, "POST", "/v1/orders/%d/reject" % first["id"], {"reason": "late"}, op, 409,
                 "reject an approved order")
    msg = err["error"]["message"]
    T.check("approved" in msg and "rejected" in msg, "409 names both states: %s" % msg)
    expect(v, "POST", "/v1/orders/%d/reject" % second["id"], {"reason": "no"}, op, 200, "reject")
    T.check("+861012340002" in numbers(v, shop, "&available=true"), "rejected number is back")
    expect(v, "POST", "/v1/orders/999/approve", None, op, 404, "no such order")
    mine = expect(v, "GET", "/v1/orders", None, shop, 200, "orders")["items"]
    T.check_eq([o["id"] for o in mine], [first["id"]], "shop's orders")
    T.check_eq(len(expect(v, "GET", "/v1/orders", None, op, 200, "all orders")["items"]), 2,
               "the operator's view")

    # Binding and release.
    num = numbers(v, shop)["+861012340001"]
    T.check(num["state"] == "active" and num["issued_at"], "issued number: %s" % num)
    got = expect(v, "PATCH", "/v1/numbers/+861012340001", {"script": "ivr_demo"}, shop, 200,
                 "bind to a script")
    T.check_eq(got["script"], "ivr_demo", "binding")
    expect(v, "PATCH", "/v1/numbers/+861012340001", {"script": "a", "trunk": "b"}, shop, 400,
           "script and trunk at once")
    expect(v, "PATCH", "/v1/numbers/+861012340001", {"max_concurrent": 2}, shop, 403,
           "max_concurrent by a customer")
    got = expect(v, "PATCH", "/v1/numbers/+861012340001", {"max_concurrent": 2}, op, 200,
                 "max_concurrent by the operator")
    T.check_eq((got["max_concurrent"], got["script"]), (2, "ivr_demo"), "after the operator")
    got = expect(v, "PATCH", "/v1/numbers/+861012340001", {"script": "", "trunk": "pbx"}, shop,
                 200, "bind to a trunk")
    T.check_eq((got["script"], got["trunk"]), (None, "pbx"), "rebinding")
    # The release takes effect at the end of the paid month (test_billing.py goes there).
    got = expect(v, "POST", "/v1/numbers/+861012340001/release", None, shop, 200, "release")
    T.check(got["state"] == "active" and got["release_at"], "release pending: %s" % got)
    err = expect(v, "POST", "/v1/numbers/+861012340001/release", None, shop, 409,
                 "release twice")
    T.check("released" in err["error"]["message"], "409 names the state: %s" % err)

    # The race: the last shanghai number, ordered at once by many callers.
    tokens = [shop, rival] * 4
    results = []
    barrier = threading.Barrier(len(tokens))

    def racer(tok):
        barrier.wait(10)
        results.append(v.api("POST", "/v1/orders", {"numbers": ["+862112340001"]}, token=tok)[0])
    threads = [threading.Thread(target=racer, args=(tok,)) for tok in tokens]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    T.check_eq(sorted(results), [201] + [409] * (len(tokens) - 1), "racing orders")
    owners = [a for a, tok in (("shop", shop), ("rival", rival))
              if "+862112340001" in numbers(v, tok)]
    T.check_eq(len(owners), 1, "owners of the raced number")


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
