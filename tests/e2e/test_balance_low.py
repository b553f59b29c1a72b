#!/usr/bin/env python3
"""balance.low (SPEC 10) against a real receiver on loopback: an account with low_balance_fen
1200 and 2000 fen pays 1500 of rent for its first number (500 left): one balance.low with
{account, balance_fen 500, low_balance_fen 1200}, validly signed. A recharge that leaves it
below (600) sends nothing; one that lifts it above (1600), then the rent of a second number
(100 left), sends it once more. A later order.rejected on the same hook (deliveries go out
oldest first) shows that nothing else was sent; another account hears none of it."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402
from test_webhooks import ALLOW_PRIVATE, Receiver, check_signed  # noqa: E402


def order(v, token, number, approve=True):
    v.api_ok("POST", "/v1/numbers/import", number + ",beijing,fixed,\n")
    o = v.api_ok("POST", "/v1/orders", {"numbers": [number]}, token)
    v.api_ok("POST", "/v1/orders/%d/%s" % (o["id"], "approve" if approve else "reject"),
             {"reason": "no"} if not approve else None)


def run(t):
    rx = Receiver()
    v = t.vcsd(config=ALLOW_PRIVATE)
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop", "low_balance_fen": 1200})["token"]
    rival = v.api_ok("POST", "/v1/accounts", {"name": "rival", "low_balance_fen": 1200})["token"]
    base = "http://127.0.0.1:%d" % rx.port
    hook = v.api_ok("POST", "/v1/webhooks", {"url": base + "/shop",
                                          "events": ["balance.low", "order.rejected"]}, shop, 201)
    v.api_ok("POST", "/v1/webhooks", {"url": base + "/rival", "events": ["*"]}, rival, 201)

    v.api_ok("POST", "/v1/accounts/shop/recharges", {"amount_fen": 2000})
    order(v, shop, "+861055550001")  # rent 1500: 500 left, below 1200
    first = check_signed(rx.wait("/shop", "balance.low", 1, 15, "the first balance.low")[0],
                         hook["secret"])
    T.check_eq(first["data"], {"account": "shop", "balance_fen": 500, "low_balance_fen": 1200},
               "balance.low data")
    v.api_ok("POST", "/v1/accounts/shop/recharges", {"amount_fen": 100})   # 600: still low
    v.api_ok("POST", "/v1/accounts/shop/recharges", {"amount_fen": 1000})  # 1600: above
    order(v, shop, "+861055550002")  # rent 1500: 100 left
    order(v, shop, "+861055550003", approve=False)  # the marker: nothing comes after it
    rx.wait("/shop", "order.rejected", 1, 15, "order.rejected")
    lows = [check_signed(p, hook["secret"])["data"] for p in rx.got("/shop", "balance.low")]
    T.check_eq(lows, [first["data"], {"account": "shop", "balance_fen": 100,
                                      "low_balance_fen": 1200}],
               "balance.low once per crossing, again after a recharge lifted it above")
    T.check_eq(v.api_ok("GET", "/v1/accounts/shop/balance", None, shop)["balance_fen"], 100,
               "the balance")
    T.check_eq(len(rx.got("/rival")), 0, "another account hears nothing of shop")
    rx.close()


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
