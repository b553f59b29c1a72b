#!/usr/bin/env python3
"""Webhooks (SPEC 10) against a real receiver on loopback: subscriptions are created with a
secret shown once (and never listed), bad URLs and events are 400 with nothing created; an
order approval reaches a receiver that fails twice and then succeeds, with vcsd restarted
between the attempts: it is delivered, sent once more at most, every attempt carries a valid
X-VCS-Signature over TIMESTAMP.BODY and the same delivery id, and the deliveries list says
delivered after 3 attempts; a real call of the account produces call.completed (the CDR row)
and recording.ready; a campaign of the account that completes produces campaign.completed
with its counts; an event that comes while another connection holds the database is delivered
once it is free; a receiver that does not answer within 10 s is a failed attempt, retried;
another account sees none of it; DELETE unsubscribes."""

import hashlib
import hmac
import http.server
import json
import os
import socket
import sqlite3
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

NUMBER = "+861055550001"
# Answered and recorded for half a second; the script's return hangs up.
DIALPLANS = {"routes": T.routes_lua(), "rec": "return function(call) call:answer()"
                                              " call:sleep(500) end\n"}
# The receivers here are on loopback, which vcsd refuses by default (test_webhook_ssrf).
ALLOW_PRIVATE = "return { webhooks = { allow_private = true } }\n"


class Receiver:
    """An HTTP server on loopback (host: "127.0.0.1" or "::1") recording every POST; /flaky
    fails the first two of each delivery id with 500."""

    def __init__(self, host="127.0.0.1"):
        self.lock = threading.Lock()
        self.posts = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec.lock:
                    rec.posts.append((self.path, dict(self.headers), body))
                    tries = sum(1 for p in rec.posts if p[0] == self.path and
                                p[1].get("X-VCS-Delivery") == self.headers.get("X-VCS-Delivery"))
                if self.path == "/silent":
                    time.sleep(12)  # longer than vcsd waits for an answer
                status = 500 if self.path == "/flaky" and tries <= 2 else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def got(self, path, event=None):
        with self.lock:
            return [p for p in self.posts if p[0] == path and
                    (event is None or p[1].get("X-VCS-Event") == event)]

    def wait(self, path, event, n, timeout, what):
        return T.wait_until(lambda: len(self.got(path, event)) >= n and self.got(path, event),
                            timeout, what)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def check_signed(post, secret):
    _, h, body = post
    ts = h["X-VCS-Timestamp"]
    want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    T.check_eq(h["X-VCS-Signature"], want, "signature of delivery %s" % h["X-VCS-Delivery"])
    msg = json.loads(body)
    T.check_eq((str(msg["id"]), msg["event"]), (h["X-VCS-Delivery"], h["X-VCS-Event"]),
               "body id and event against the headers")
    T.check(msg["created_at"].endswith("Z"), "created_at: %s" % msg)
    return msg


def run(t):
    rx = Receiver()
    v = t.vcsd(dialplans=DIALPLANS, config=ALLOW_PRIVATE)
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop"})["token"]
    rival = v.api_ok("POST", "/v1/accounts", {"name": "rival"})["token"]
    # Rent is paid from the balance on issue (an unpaid one suspends the number).
    v.api_ok("POST", "/v1/accounts/shop/recharges", {"amount_fen": 100000})
    base = "http://127.0.0.1:%d" % rx.port

    flaky = v.api_ok("POST", "/v1/webhooks", {"url": base + "/flaky",
                                           "events": ["order.approved"]}, shop, 201)
    T.check(flaky["secret"].startswith("whsec_") and len(flaky["secret"]) == 70,
            "a secret shown at creation: %s" % flaky)
    every = v.api_ok("POST", "/v1/webhooks", {"url": base + "/all?k=1", "events": ["*"]}, shop,
                     201)
    v.api_ok("POST", "/v1/webhooks", {"url": base + "/rival", "events": ["*"]}, rival, 201)
    listed = v.api_ok("GET", "/v1/webhooks", None, shop)["items"]
    T.check_eq([(h["id"], h["url"], h["events"]) for h in listed],
               [(flaky["id"], base + "/flaky", ["order.approved"]),
                (every["id"], base + "/all?k=1", ["*"])], "shop's webhooks")
    T.check(all("secret" not in h for h in listed), "the secret is never listed")
    for body in ({"url": "https://127.0.0.1/x", "events": ["*"]},
                 {"url": "ftp://127.0.0.1/x", "events": ["*"]},
                 {"url": "not a url", "events": ["*"]}, {"url": "http://", "events": ["*"]},
                 {"url": "http://u:p@127.0.0.1/", "events": ["*"]},
                 {"url": "/relative", "events": ["*"]},
                 {"url": base, "events": []}, {"url": base, "events": ["call.started"]},
                 {"url": base, "events": "*"}, {"url": base}, {"events": ["*"]},
                 {"url": base, "events": ["*"], "secret": "mine"}):
        status, answer = v.api("POST", "/v1/webhooks", body, token=shop)
        T.check(status == 400, "bad webhook %s: want 400, got %s %s" % (body, status, answer))
    T.check_eq(len(v.api_ok("GET", "/v1/webhooks", None, shop)["items"]), 2,
               "nothing created by bad requests")
    T.check_eq(v.api("GET", "/v1/webhooks?after=x", token=shop)[0], 400, "a bad cursor")

    # order.approved to the flaky receiver, with a restart between its attempts.
    v.own_number(shop, NUMBER, "rec")  # the order's approval is the event
    rx.wait("/flaky", "order.approved", 2, 15, "two failed attempts")
    v.stop()
    T.check_eq(v.exit_codes[-1] if v.exit_codes else 0, 0, "vcsd exit")
    v.start()
    posts = rx.wait("/flaky", "order.approved", 3, 30, "the third attempt after the restart")
    msgs = [check_signed(p, flaky["secret"]) for p in posts]
    T.check_eq({m["id"] for m in msgs}, {msgs[0]["id"]}, "one delivery, retried")
    T.check_eq((msgs[0]["data"]["numbers"], msgs[0]["data"]["state"],
                msgs[0]["data"]["account"]), ([NUMBER], "approved", "shop"),
               "order.approved data")

    def delivered():
        items = v.api_ok("GET", "/v1/webhooks/%d/deliveries" % flaky["id"], None, shop)["items"]
        return items if items and items[0]["state"] == "delivered" else None
    items = T.wait_until(delivered, 15, "the delivery to be marked delivered")
    T.check_eq((len(items), items[0]["last_status"], items[0]["event"]),
               (1, 200, "order.approved"), "deliveries of the flaky hook")
    T.check(items[0]["attempts"] in (2, 3), "attempts counted: %s" % items[0])

    # A real call: call.completed with the CDR row, recording.ready with the file.
    sip_call_id, row = T.call_until_hangup(t, v, NUMBER, 1.0)
    done = check_signed(rx.wait("/all?k=1", "call.completed", 1, 15, "call.completed")[0],
                        every["secret"])["data"]
    T.check_eq((done["call_id"], done["sip_call_id"], done["account"], done["to_number"],
                done["hangup_cause"], done["billsec"], done["recording"]),
               (row["call_id"], sip_call_id, "shop", NUMBER, row["hangup_cause"], row["billsec"],
                row["recording"]), "call.completed carries the CDR row")
    ready = check_signed(rx.wait("/all?k=1", "recording.ready", 1, 15, "recording.ready")[0],
                         every["secret"])["data"]
    T.check_eq((ready["call_id"], ready["path"]), (row["call_id"], row["recording"]),
               "recording.ready data")
    T.check(ready["duration_ms"] > 0, "recording duration: %s" % ready)

    # Another writer holds vcs.db past the delivery thread's busy timeout when a call's
    # recording.ready comes: the event waits and is delivered once the database is free.
    lock = sqlite3.connect(v.db_path, timeout=10, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    since = v.mark()
    peer = t.rtp_peer()
    uac = t.uac(v, NUMBER, peer.port)
    uac.invite()
    peer.send_tone(uac.media, 1.0)
    uac.wait_bye(15)
    v.wait_log(r"events: cannot write events for delivery yet", 30, since=since,
               what="the events held while the database is busy")
    lock.execute("ROLLBACK")
    lock.close()
    rx.wait("/all?k=1", "recording.ready", 2, 30, "recording.ready of the call made while busy")

    # A campaign whose only callee went on the DNC list after upload completes at once:
    # campaign.completed with the campaign and its final counts.
    camp = v.api_ok("POST", "/v1/campaigns", {
        "name": "hooked", "script": "rec", "caller_id": "auto", "max_concurrent": 1, "cps": 1,
        "window": {"tz": "UTC", "days": "sun-sat", "start": "00:00", "end": "24:00"},
        "retry": {"on": [], "max_attempts": 1, "interval_s": 60}}, shop, 201)
    st, up = v.api("POST", "/v1/campaigns/%d/callees" % camp["id"], "number\n+8613800000505\n",
                   token=shop, headers={"Content-Type": "text/csv"})
    T.check_eq((st, up["accepted"]), (200, 1), "the campaign's callee (%s)" % up)
    v.api_ok("POST", "/v1/dnc", {"numbers": ["+8613800000505"]}, shop)
    v.api_ok("POST", "/v1/campaigns/%d/start" % camp["id"], None, shop)
    fin = check_signed(rx.wait("/all?k=1", "campaign.completed", 1, 15, "campaign.completed")[0],
                       every["secret"])["data"]
    T.check_eq((fin["id"], fin["name"], fin["state"], fin["account"], fin["progress"]["total"],
                fin["progress"]["skipped_dnc"], fin["progress"]["attempts"]),
               (camp["id"], "hooked", "completed", "shop", 1, 1, 0),
               "campaign.completed carries the campaign and its counts")

    # Once more at most: after another restart and a later event, the old delivery is not
    # sent again (deliveries go out oldest first, so it would have come before this one).
    v.stop()
    v.start()
    v.api_ok("POST", "/v1/numbers/import", "+861055550002,beijing,fixed,\n")
    order2 = v.api_ok("POST", "/v1/orders", {"numbers": ["+861055550002"]}, shop)
    v.api_ok("POST", "/v1/orders/%d/reject" % order2["id"], {"reason": "no"})
    rx.wait("/all?k=1", "order.rejected", 1, 15, "order.rejected")
    flaky_posts = rx.got("/flaky")
    T.check(len(flaky_posts) <= 4, "the flaky delivery was sent %d times (3, once more at most)"
            % len(flaky_posts))
    T.check_eq(len(rx.got("/rival")), 0, "another account's webhook hears nothing of shop")

    T.check_eq(v.api("GET", "/v1/webhooks/%d/deliveries" % flaky["id"], token=rival)[0], 404,
               "another account's deliveries")
    T.check_eq(v.api("DELETE", "/v1/webhooks/%d" % flaky["id"], token=rival)[0], 404,
               "deleting another account's webhook")
    v.api_ok("DELETE", "/v1/webhooks/%d" % flaky["id"], None, shop, 204)
    T.check_eq([h["id"] for h in v.api_ok("GET", "/v1/webhooks", None, shop)["items"]],
               [every["id"]], "after the delete")
    T.check_eq(v.api("GET", "/v1/webhooks/%d/deliveries" % flaky["id"], token=shop)[0], 404,
               "deliveries of a deleted webhook")
    # No answer within 10 s is a failed attempt, retried.
    silent = v.api_ok("POST", "/v1/webhooks", {"url": base + "/silent",
                                               "events": ["order.approved"]}, shop, 201)
    v.api_ok("POST", "/v1/numbers/import", "+861055550003,beijing,fixed,\n")
    order3 = v.api_ok("POST", "/v1/orders", {"numbers": ["+861055550003"]}, shop)
    v.api_ok("POST", "/v1/orders/%d/approve" % order3["id"])

    def timed_out():
        items = v.api_ok("GET", "/v1/webhooks/%d/deliveries" % silent["id"], None,
                         shop)["items"]
        return items if items and items[0]["attempts"] >= 1 else None
    item = T.wait_until(timed_out, 25, "the silent receiver's attempt to time out")[0]
    T.check_eq((item["state"], item["last_status"], item["last_error"]),
               ("pending", None, "no answer within 10 s"), "a delivery without answer")
    T.check(item["next_attempt_at"], "retried later: %s" % item)
    v.api_ok("DELETE", "/v1/webhooks/%d" % silent["id"], None, shop, 204)

    # vcsctl, as the operator acting for shop.
    r = v.vcsctl("--json", "webhooks", "create", base + "/ctl", "--events",
                 "order.approved,order.rejected", "--account", "shop")
    T.check_eq(r.returncode, 0, "vcsctl webhooks create: %s" % r.stderr)
    made = json.loads(r.stdout)
    T.check(made["secret"].startswith("whsec_") and made["account"] == "shop",
            "vcsctl webhooks create: %s" % made)
    r = v.vcsctl("webhooks", "list", "--account", "shop")
    T.check(r.returncode == 0 and base + "/ctl" in r.stdout and "whsec_" not in r.stdout,
            "vcsctl webhooks list: %r" % r.stdout)
    r = v.vcsctl("webhooks", "deliveries", str(every["id"]))
    T.check(r.returncode == 0 and "call.completed" in r.stdout and "delivered" in r.stdout,
            "vcsctl webhooks deliveries: %r" % r.stdout)
    r = v.vcsctl("webhooks", "create", "https://x/", "--events", "*", "--account", "shop")
    T.check(r.returncode == 1 and "http://" in r.stderr, "vcsctl refused URL: %r" % r.stderr)
    T.check_eq(v.vcsctl("webhooks", "delete", str(made["id"])).returncode, 0,
               "vcsctl webhooks delete")
    T.check_eq(v.vcsctl("webhooks", "delete", str(made["id"])).returncode, 1,
               "vcsctl webhooks delete again")
    T.log("webhooks: %d POSTs received" % len(rx.posts))
    rx.close()


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
