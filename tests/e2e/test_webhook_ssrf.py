#!/usr/bin/env python3
"""Webhooks reach public addresses only unless the operator allows private ones (SSRF).
With the default configuration: subscribing a URL whose host is an IP literal in a refused
range (loopback 127.0.0.1 and its short form 127.1, ::1, IPv4-mapped ::ffff:127.0.0.1, cloud
metadata 169.254.169.254, RFC 1918 10.0.0.5, CGNAT 100.64.0.1) is 400 naming the range and
webhooks.allow_private, and creates nothing; a name (localhost) is accepted, but its deliveries
fail at once, after one attempt and without retries, with the refusal in last_error (the
loopback address it resolved to), the refusal is logged, and the receiver behind it gets no
connection at all. With webhooks = { allow_private = true } both the literal and the name are
delivered, the name's with Host: localhost:PORT (vcsd connects to the address, by number)."""

import os
import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402
from test_balance_low import order  # noqa: E402
from test_webhooks import ALLOW_PRIVATE, Receiver  # noqa: E402

REFUSED = ["http://127.0.0.1:%d/x", "http://127.1:%d/x", "http://[::1]:%d/x",
           "http://[::ffff:127.0.0.1]:%d/x", "http://169.254.169.254:%d/latest/meta-data",
           "http://10.0.0.5:%d/", "http://100.64.0.1:%d/"]


def localhost_receiver():
    """A receiver on the address vcsd connects to for "localhost": the first that
    getaddrinfo gives (127.0.0.1 or ::1, as /etc/hosts says)."""
    family, _, _, _, addr = socket.getaddrinfo("localhost", None, 0, socket.SOCK_STREAM)[0]
    return Receiver(addr[0])


def deliveries(v, token, hook):
    return v.api_ok("GET", "/v1/webhooks/%d/deliveries" % hook["id"], None, token)["items"]


def run(t):
    lit, named = Receiver(), localhost_receiver()
    literal_url = "http://127.0.0.1:%d/lit" % lit.port
    name_url = "http://localhost:%d/name" % named.port

    # The default: nothing private.
    v = t.vcsd()
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop"})["token"]
    for url in [u % lit.port for u in REFUSED]:
        status, answer = v.api("POST", "/v1/webhooks", {"url": url, "events": ["*"]}, token=shop)
        T.check_eq(status, 400, "subscribing %s: %s" % (url, answer))
        msg = str(answer)
        T.check("public addresses only" in msg and "webhooks.allow_private" in msg,
                "the 400 for %s says why and what allows it: %s" % (url, answer))
    status, answer = v.api("POST", "/v1/webhooks", {"url": literal_url, "events": ["*"]},
                           token=shop)
    T.check("loopback" in str(answer), "127.0.0.1 is named loopback: %s" % answer)
    status, answer = v.api("POST", "/v1/webhooks", {"url": "http://169.254.169.254/", "events":
                                                    ["*"]}, token=shop)
    T.check("link-local" in str(answer), "169.254.169.254 is named link-local: %s" % answer)
    T.check_eq(v.api_ok("GET", "/v1/webhooks", None, shop)["items"], [],
               "nothing created by refused URLs")

    hook = v.api_ok("POST", "/v1/webhooks", {"url": name_url, "events": ["*"]}, shop, 201)
    order(v, shop, "+861055550001", approve=False)
    order(v, shop, "+861055550002", approve=False)

    def both_failed():
        items = deliveries(v, shop, hook)
        return len(items) == 2 and all(d["state"] == "failed" for d in items) and items
    items = T.wait_until(both_failed, 15, "both deliveries to localhost failed")
    for d in items:
        T.check_eq((d["attempts"], d["last_status"], d["delivered_at"]), (1, None, None),
                   "one attempt, no answer, not delivered: %s" % d)
        T.check(d["last_error"].startswith("refused: ") and " is loopback" in d["last_error"] and
                "webhooks.allow_private" in d["last_error"], "the reason: %s" % d)
    v.wait_log(r"events: delivery to localhost refused: .* is loopback", 5,
               what="the refusal logged")
    T.check_eq(len(named.got("/name")), 0, "the receiver behind localhost got nothing")
    v.stop()

    # The operator allows private addresses: the same URLs are delivered.
    v = t.vcsd(config=ALLOW_PRIVATE, name="open")
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop"})["token"]
    v.api_ok("POST", "/v1/webhooks", {"url": literal_url, "events": ["order.rejected"]}, shop, 201)
    hook = v.api_ok("POST", "/v1/webhooks", {"url": name_url, "events": ["order.rejected"]},
                    shop, 201)
    order(v, shop, "+861055550003", approve=False)
    lit.wait("/lit", "order.rejected", 1, 15, "the delivery to 127.0.0.1")
    post = named.wait("/name", "order.rejected", 1, 15, "the delivery to localhost")[0]
    T.check_eq(post[1].get("Host"), "localhost:%d" % named.port,
               "the Host header names the URL's host, not the address connected to")
    T.wait_until(lambda: [d["state"] for d in deliveries(v, shop, hook)] == ["delivered"], 15,
                 "the delivery to localhost listed as delivered")
    lit.close()
    named.close()


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
