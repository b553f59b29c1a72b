"""The policy matrix (SPEC 7 and 8): every endpoint that /v1/openapi.json describes, called by
the operator, a main user, a full-control sub-user, a read-only sub-user, a sub-user whose
custom policy covers one number, a sub-user without policy and another account's main user,
on a resource of the caller's own account and on one of another account. The expected status
follows from SPEC 8 (operator actions are the operator's, user and policy management the main
user's, customer actions what the policies grant; another account's resource is 404, never
403, except for the operator on endpoints that name an account) and the success status the
description documents. Every denial must be in the audit log, as must every allowed write.
Endpoints come from the server's own description, and each needs a fixture below: a new
endpoint without one fails this test instead of escaping it."""

import datetime
import itertools
import os
import re
import sqlite3
import sys
from collections import Counter

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402
from test_webhooks import ALLOW_PRIVATE  # noqa: E402  (the fixtures' hooks are on loopback)

CUSTOM_STATEMENTS = [{"actions": ["vcs:GetNumber", "vcs:UpdateNumber"],
                      "resources": ["number:+861000000001"]}]
_seq = itertools.count(1)


def uniq(prefix):
    return "%s%d" % (prefix, next(_seq))


def ok(status, body, what):
    T.check(200 <= status < 300, "%s: got %s %s" % (what, status, body))
    return body


class Acct:
    """An account as seen by its main user: name and token."""

    def __init__(self, v, name, token):
        self.v, self.name, self.token = v, name, token

    def call(self, method, path, body=None):
        return ok(*self.v.api(method, path, body, token=self.token), "%s %s as %s" %
                  (method, path, self.name))

    def sub_user(self, policy=None):
        name = uniq("u")
        self.call("POST", "/v1/users", {"name": name})
        if policy:
            self.call("POST", "/v1/users/%s/policies" % name, {"policy": policy})
        return name

    def token_of(self, user):
        return self.call("POST", "/v1/users/%s/tokens" % user, {})["token"]


# How to call each endpoint on a resource of account `a` (created by a's main user):
# (path params, body). Keyed by "METHOD /pattern" exactly as /v1/openapi.json names them.
def fixture_user(a):
    return {"name": a.sub_user()}, None


def fixture_token(a):
    u = a.sub_user()
    return {"name": u, "id": a.call("POST", "/v1/users/%s/tokens" % u, {})["id"]}, None


def fixture_attached(a):
    u = a.sub_user("AI_VCSReadOnlyAccessPolicy")
    return {"name": u, "policy": "AI_VCSReadOnlyAccessPolicy"}, None


def fixture_policy(a):
    name = uniq("p")
    a.call("POST", "/v1/policies", {"name": name, "statements": CUSTOM_STATEMENTS})
    return {"name": name}, None


def fixture_trunk(a, body=None):
    name = uniq("t")
    n = next(_seq)
    allow = "10.%d.%d.%d" % (n >> 16 & 255, n >> 8 & 255, n & 255)
    a.call("POST", "/v1/trunks", {"name": name, "allow": [allow]})
    return {"name": name}, body


def none(a):
    return {}, None


ONE_NUMBER = "+861000000001"  # acmeA's, the one number of the custom policy
OPERATOR = None                # the operator's Acct, set in run()


def fresh_numbers(n):
    nums = ["+862%010d" % next(_seq) for _ in range(n)]
    OPERATOR.call("POST", "/v1/numbers/import",
                  "".join("%s,beijing,fixed,\n" % x for x in nums))
    return nums


def pending_order(a):
    return a.call("POST", "/v1/orders", {"numbers": fresh_numbers(1)})["id"]


def active_number(a):
    order = pending_order(a)
    return OPERATOR.call("POST", "/v1/orders/%d/approve" % order)["numbers"][0]


def owned_number(a):
    return {"number": ONE_NUMBER if a.name == "acmeA" else active_number(a)}


CARRIER = None  # a SIPp carrier that rings and never answers, set in run()


def call_body(a):
    """POST /v1/calls of account a: a call to the carrier that rings until cancelled, from a
    number of its own (a fresh one: the number's channel limit must not refuse it)."""
    return {"to": "sip:callee@127.0.0.1:%d" % CARRIER.port,
            "from": "+8610999000001" if a.name == "admin" else active_number(a),
            "script": "hello", "timeout_s": 600}


def live_call(a):
    return {"id": a.call("POST", "/v1/calls", call_body(a))["id"]}, None
# Open only on the weekday three days from now (UTC): the dialer places no call of these
# campaigns while the test runs (their calls would take the accounts' number channels).
CAMPAIGN = {"name": "matrix", "script": "hello", "caller_id": "auto",
            "window": {"tz": "UTC", "start": "00:00", "end": "24:00",
                       "days": (datetime.datetime.now(datetime.timezone.utc) +
                                datetime.timedelta(days=3)).strftime("%a").lower()}}


def campaign(a, *moves):
    """A campaign of a in the state the moves give. Its one callee, waiting for the window,
    keeps a started campaign running."""
    cid = a.call("POST", "/v1/campaigns", CAMPAIGN)["id"]
    a.call("POST", "/v1/campaigns/%d/callees" % cid, "number\n+8613%09d\n" % next(_seq))
    for m in moves:
        a.call("POST", "/v1/campaigns/%d/%s" % (cid, m))
    return {"id": str(cid)}


def dnc_number(a):
    n = "+8613%09d" % next(_seq)
    a.call("POST", "/v1/dnc", {"numbers": [n]})
    return {"number": n}, None


def fixture_recording(a):
    """A finished call of a's with its recording, as the call layer leaves them."""
    call_id = uniq("rec")
    rel = "calls/2026-11-24/%s.wav" % call_id
    path = os.path.join(a.v.data, "recordings", rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    T.tone_wav(path, 0.1)
    conn = sqlite3.connect(a.v.db_path, timeout=10)
    with conn:
        conn.execute("INSERT INTO cdr(call_id, account, start_time, end_time, recording)"
                     " VALUES (?, ?, '2026-11-24T06:00:00.000Z', '2026-11-24T06:01:00.000Z', ?)",
                     (call_id, a.name, rel))
    conn.close()
    return {"call_id": call_id}, None


def fixture_webhook(a):
    hook = a.call("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook",
                                           "events": ["order.approved"]})
    return {"id": str(hook["id"])}, None


# "METHOD /pattern" -> (the action SPEC 8 says it needs, or None for any caller; fixture).
FIXTURES = {
    "GET /v1/health": (None, none),
    "GET /v1/openapi.json": (None, none),
    "POST /v1/reload": ("vcs:Reload", none),
    "GET /metrics": ("vcs:ViewMetrics", none),
    "POST /v1/accounts": ("vcs:ManageAccounts", lambda a: ({}, {"name": uniq("acct")})),
    "GET /v1/accounts": ("vcs:ManageAccounts", none),
    "GET /v1/accounts/{name}": ("vcs:ViewBilling", lambda a: ({"name": a.name}, None)),
    "POST /v1/accounts/{name}/recharges": ("vcs:Recharge", lambda a: (
        {"name": a.name}, {"amount_fen": 1, "note": "matrix"})),
    "GET /v1/accounts/{name}/balance": ("vcs:ViewBilling", lambda a: ({"name": a.name}, None)),
    "GET /v1/accounts/{name}/statements": ("vcs:ViewBilling",
                                           lambda a: ({"name": a.name}, None)),
    "POST /v1/admin/clock": ("vcs:SetClock", lambda a: ({}, {"advance_s": 1})),
    "GET /v1/users": ("vcs:ManageUsers", none),
    "POST /v1/users": ("vcs:ManageUsers", lambda a: ({}, {"name": uniq("n")})),
    "DELETE /v1/users/{name}": ("vcs:ManageUsers", fixture_user),
    "POST /v1/users/{name}/tokens": ("vcs:ManageUsers", lambda a: ({"name": a.sub_user()}, {})),
    "DELETE /v1/users/{name}/tokens/{id}": ("vcs:ManageUsers", fixture_token),
    "POST /v1/users/{name}/policies": ("vcs:ManageUsers", lambda a: (
        {"name": a.sub_user()}, {"policy": "AI_VCSReadOnlyAccessPolicy"})),
    "DELETE /v1/users/{name}/policies/{policy}": ("vcs:ManageUsers", fixture_attached),
    "GET /v1/policies": ("vcs:ManagePolicies", none),
    "POST /v1/policies": ("vcs:ManagePolicies", lambda a: (
        {}, {"name": uniq("q"), "statements": CUSTOM_STATEMENTS})),
    "DELETE /v1/policies/{name}": ("vcs:ManagePolicies", fixture_policy),
    "GET /v1/audit": ("vcs:ViewAudit", none),
    "POST /v1/numbers/import": ("vcs:ImportNumbers", lambda a: (
        {}, "+863%010d,shanghai,mobile,\n" % next(_seq))),
    "POST /v1/regions/import": ("vcs:ImportRegions", lambda a: ({}, "1390123,beijing\n")),
    "GET /v1/numbers": ("vcs:ListNumbers", none),
    "GET /v1/numbers/{number}": ("vcs:GetNumber", lambda a: (owned_number(a), None)),
    "PATCH /v1/numbers/{number}": ("vcs:UpdateNumber", lambda a: (
        owned_number(a), {"script": "ivr_demo"})),
    "POST /v1/numbers/{number}/release": ("vcs:ReleaseNumber", lambda a: (
        {"number": active_number(a)}, None)),
    "POST /v1/orders": ("vcs:OrderNumbers", lambda a: ({}, {"numbers": fresh_numbers(1)})),
    "GET /v1/orders": ("vcs:ListOrders", none),
    "POST /v1/orders/{id}/approve": ("vcs:ApproveOrders", lambda a: (
        {"id": str(pending_order(a))}, None)),
    "POST /v1/orders/{id}/reject": ("vcs:ApproveOrders", lambda a: (
        {"id": str(pending_order(a))}, {"reason": "matrix"})),
    "POST /v1/calls": ("vcs:Originate", lambda a: ({}, call_body(a))),
    "GET /v1/calls": ("vcs:ListCalls", none),
    "GET /v1/calls/{id}": ("vcs:ListCalls", live_call),
    "DELETE /v1/calls/{id}": ("vcs:HangupCall", live_call),
    "GET /v1/trunks": ("vcs:ViewTrunks", none),
    "GET /v1/gateways": ("vcs:ViewGateways", none),
    "POST /v1/trunks": ("vcs:ManageTrunks", lambda a: (
        {}, {"name": uniq("t"), "username": uniq("user"), "password": "pw"})),
    "GET /v1/trunks/{name}": ("vcs:ViewTrunks", fixture_trunk),
    "PATCH /v1/trunks/{name}": ("vcs:ManageTrunks", lambda a: fixture_trunk(a, {"max_calls": 3})),
    "DELETE /v1/trunks/{name}": ("vcs:ManageTrunks", fixture_trunk),
    "GET /v1/cdrs": ("vcs:ListCdrs", none),
    "GET /v1/recordings/{call_id}": ("vcs:GetRecording", fixture_recording),
    "DELETE /v1/recordings/{call_id}": ("vcs:DeleteRecording", fixture_recording),
    "GET /v1/webhooks": ("vcs:ManageWebhooks", none),
    "POST /v1/webhooks": ("vcs:ManageWebhooks", lambda a: (
        {}, {"url": "http://127.0.0.1:9/hook", "events": ["*"]})),
    "DELETE /v1/webhooks/{id}": ("vcs:ManageWebhooks", fixture_webhook),
    "GET /v1/webhooks/{id}/deliveries": ("vcs:ManageWebhooks", fixture_webhook),
    "POST /v1/campaigns": ("vcs:ManageCampaigns", lambda a: ({}, CAMPAIGN)),
    "GET /v1/campaigns": ("vcs:ViewCampaigns", none),
    "GET /v1/campaigns/{id}": ("vcs:ViewCampaigns", lambda a: (campaign(a), None)),
    "GET /v1/campaigns/{id}/results": ("vcs:ViewCampaigns", lambda a: (campaign(a), None)),
    "POST /v1/campaigns/{id}/callees": ("vcs:ManageCampaigns", lambda a: (
        campaign(a), "number\n+8613%09d\n" % next(_seq))),
    "POST /v1/campaigns/{id}/start": ("vcs:ManageCampaigns", lambda a: (campaign(a), None)),
    "POST /v1/campaigns/{id}/pause": ("vcs:ManageCampaigns", lambda a: (
        campaign(a, "start"), None)),
    "POST /v1/campaigns/{id}/resume": ("vcs:ManageCampaigns", lambda a: (
        campaign(a, "start", "pause"), None)),
    "POST /v1/campaigns/{id}/cancel": ("vcs:ManageCampaigns", lambda a: (campaign(a), None)),
    "GET /v1/dnc": ("vcs:ManageDnc", none),
    "POST /v1/dnc": ("vcs:ManageDnc", lambda a: ({}, {"numbers": ["+8613%09d" % next(_seq)]})),
    "DELETE /v1/dnc/{number}": ("vcs:ManageDnc", dnc_number),
}
# SPEC 8: accounts, recharges, order approval, number import, gateways, reload (and metrics)
# are the operator's alone; user and policy management the main user's alone.
OPERATOR_ACTIONS = {"vcs:ManageAccounts", "vcs:Recharge", "vcs:ApproveOrders",
                    "vcs:ImportNumbers", "vcs:ViewGateways", "vcs:Reload", "vcs:ViewMetrics",
                    "vcs:SetClock", "vcs:ImportRegions"}
MAIN_ACTIONS = {"vcs:ManageUsers", "vcs:ManagePolicies"}


def glob_match(pattern, text):
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), text) is not None


def allowed(who, action, resource):
    """SPEC 8, written independently of the server's matcher."""
    if action is None or who == "operator":
        return True
    if action in OPERATOR_ACTIONS:
        return False
    if who in ("main", "other"):
        return True
    if action in MAIN_ACTIONS:
        return False
    if who == "full":
        return True
    if who == "readonly":
        return re.match(r"vcs:(List|Get|View)", action) is not None
    if who == "custom":
        return any(any(glob_match(a, action) for a in s["actions"]) and
                   any(glob_match(r, resource) for r in s["resources"])
                   for s in CUSTOM_STATEMENTS)
    return False


def run(t):
    v = t.vcsd(args=["--fake-clock"],  # POST /v1/admin/clock answers only then
               config=ALLOW_PRIVATE)
    status, spec = v.api("GET", "/v1/openapi.json")
    T.check_eq(status, 200, "GET /v1/openapi.json")
    T.check_eq(spec.get("openapi"), "3.1.0", "OpenAPI version")
    ops = [(m.upper(), path, op) for path, item in spec["paths"].items()
           for m, op in item.items()]
    missing = sorted("%s %s" % (m, p) for m, p, _ in ops if "%s %s" % (m, p) not in FIXTURES)
    T.check(not missing, "endpoints without a matrix fixture (add them to FIXTURES): %s" % missing)
    stale = sorted(set(FIXTURES) - set("%s %s" % (m, p) for m, p, _ in ops))
    T.check(not stale, "fixtures for endpoints the server does not describe: %s" % stale)
    for m, p, op in ops:
        T.check_eq(op["x-vcs-action"], FIXTURES["%s %s" % (m, p)][0], "action of %s %s" % (m, p))

    global OPERATOR, CARRIER
    operator = OPERATOR = Acct(v, "admin", v.token)
    CARRIER = t.sipp_uas("uas_ring", calls=1000, timeout=170).start()
    accounts = {}
    for name in ("acmeA", "acmeB"):
        created = ok(*v.api("POST", "/v1/accounts", {"name": name}), "create " + name)
        T.check_eq(created["user"], name, "main user of " + name)
        accounts[name] = Acct(v, name, created["token"])
        # Numbers issued to it stay active: their rent is paid.
        ok(*v.api("POST", "/v1/accounts/%s/recharges" % name, {"amount_fen": 10 ** 9}),
           "recharge " + name)
    a, b = accounts["acmeA"], accounts["acmeB"]
    a.call("POST", "/v1/policies", {"name": "one_number", "statements": CUSTOM_STATEMENTS})
    operator.call("POST", "/v1/numbers/import", ONE_NUMBER + ",beijing,fixed,\n")
    order = a.call("POST", "/v1/orders", {"numbers": [ONE_NUMBER]})["id"]
    operator.call("POST", "/v1/orders/%d/approve" % order)
    subs = {"full": "AI_VCSFullControlAccessPolicy", "readonly": "AI_VCSReadOnlyAccessPolicy",
            "custom": "one_number", "none": None}
    # who -> (account it belongs to, user, token, the account used as "foreign")
    principals = {"operator": (operator, "admin", v.token, a),
                  "main": (a, a.name, a.token, b),
                  "other": (b, b.name, b.token, a)}
    for who, policy in subs.items():
        user = a.sub_user(policy)
        principals[who] = (a, user, a.token_of(user), b)

    expected_audit = Counter()
    cases = 0
    for (method, pattern, op), (who, (home, user, token, foreign)) in itertools.product(
            ops, principals.items()):
        success = int(next(s for s in op["responses"] if s.startswith("2")))
        targets = [("own", home)] + ([("foreign", foreign)] if "{" in pattern else [])
        for where, owner in targets:
            action, fixture = FIXTURES["%s %s" % (method, pattern)]
            params, body = fixture(owner)
            path = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], pattern)
            # The operator acts on another account's users, policies and orders by naming it.
            as_other = who == "operator" and where == "foreign" and op["x-vcs-operator-account"]
            if as_other:
                path += "?account=" + owner.name
            resource = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)],
                              op["x-vcs-resource"] or "")
            if not allowed(who, action, resource):
                want = 403
            elif where == "foreign" and not (as_other or who == "operator" and
                                             op["x-vcs-any-account"]):
                want = 404
            else:
                want = success
            status, answer = v.api(method, path, body, token=token)
            T.check(status == want, "%s %s by %s (%s resource, %s/%s): want %d, got %d %s" %
                    (method, path, who, where, home.name, user, want, status, answer))
            if want == 403:
                T.check_eq(answer["error"]["code"], "forbidden", "error code of a denial")
            if want == 403 or method != "GET":
                expected_audit[(home.name, user, method, path, want != 403, want)] += 1
            cases += 1

    seen = Counter()
    after = None
    while True:
        q = "/v1/audit?limit=1000" + ("&after=" + after if after else "")
        page = ok(*v.api("GET", q), "GET " + q)
        for e in page["items"]:
            seen[(e["account"], e["user"], e["method"], e["path"], e["allowed"],
                  e["status"])] += 1
        after = page["next"]
        if not after:
            break
    lacking = expected_audit - seen
    T.check(not lacking, "audit entries missing: %s" % sorted(lacking.items())[:10])
    # The fixtures' calls still ringing are hung up (CANCEL), and none is left over.
    for c in ok(*v.api("GET", "/v1/calls?limit=1000"), "live calls")["items"]:
        v.api("DELETE", "/v1/calls/" + c["id"])
    # Ended at SIP level too (the carrier answered each CANCEL), before the carrier goes away.
    T.wait_until(lambda: v.health()[1]["calls"] == 0, 30, "every call to end")
    T.log("policy matrix: %d endpoints x %d principals, %d requests checked, %d audit entries"
          % (len(ops), len(principals), cases, sum(expected_audit.values())))


if __name__ == "__main__":
    T.main(run)
