"""IAM behaviours of SPEC 7 and 8 on a real vcsd: tokens hashed at rest under a 0600 server
key, shown once, revocable, expiring, gone with their user; policies immutable and deletable
only when attached to nobody; malformed bodies are 400 and write nothing; Idempotency-Key
replays the first answer (without the secret) and refuses another body with 422; lists page
with ?limit= and ?after=."""

import datetime
import glob
import hashlib
import os
import stat
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

STATEMENTS = [{"actions": ["vcs:ListCdrs"], "resources": ["*"]}]


def expect(v, method, path, body, token, status, what, headers=None):
    got, answer = v.api(method, path, body, token=token, headers=headers)
    T.check(got == status, "%s: %s %s: want %d, got %d %s" % (what, method, path, status, got,
                                                                answer))
    return answer


def names(v, path, token):
    """Every item name of a list, following the cursor."""
    out, after = [], None
    while True:
        page = expect(v, "GET", path + ("?after=" + after if after else ""), None, token, 200,
                      "list")
        out += [i["name"] for i in page["items"]]
        after = page["next"]
        if not after:
            return out


def utc_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(t):
    v = t.vcsd()
    op = True  # the operator's admin.token
    key = os.path.join(v.data, "server.key")
    st = os.stat(key)
    T.check_eq(stat.S_IMODE(st.st_mode), 0o600, "mode of server.key")
    T.check_eq(st.st_size, 32, "size of server.key")

    acct = expect(v, "POST", "/v1/accounts", {"name": "shop", "rate_fen_per_minute": 25}, op,
                  201, "create account")
    main = acct["token"]
    T.check(main.startswith("vcs_") and acct["user"] == "shop", "account answer %s" % acct)
    got = expect(v, "GET", "/v1/accounts/shop", None, main, 200, "own account")
    T.check_eq(got["rate_fen_per_minute"], 25, "rate")

    # Hashed at rest: neither the token nor its plain SHA-256 is anywhere in the database.
    v.api("GET", "/v1/health")
    blob = b"".join(open(p, "rb").read() for p in glob.glob(os.path.join(v.data, "vcs.db*")))
    T.check(main.encode() not in blob, "the token is stored in clear")
    T.check(hashlib.sha256(main.encode()).hexdigest().encode() not in blob,
            "the token is stored as a plain SHA-256")

    # Tokens: revocable, expiring, gone with their user.
    expect(v, "POST", "/v1/users", {"name": "clerk"}, main, 201, "create sub-user")
    expect(v, "POST", "/v1/users/clerk/policies", {"policy": "AI_VCSReadOnlyAccessPolicy"}, main,
           201, "attach")
    expect(v, "POST", "/v1/users/clerk/policies", {"policy": "AI_VCSReadOnlyAccessPolicy"}, main,
           200, "attach again")
    tok = expect(v, "POST", "/v1/users/clerk/tokens", {}, main, 201, "token")
    expect(v, "GET", "/v1/audit", None, tok["token"], 200, "read-only sub-user reads the audit")
    expect(v, "DELETE", "/v1/users/clerk/tokens/" + tok["id"], None, main, 204, "revoke")
    expect(v, "GET", "/v1/audit", None, tok["token"], 401, "revoked token")
    expect(v, "DELETE", "/v1/users/clerk/tokens/" + tok["id"], None, main, 404, "revoke twice")
    expect(v, "POST", "/v1/users/clerk/tokens", {"expires_at": "2001-01-01T00:00:00Z"}, main,
           400, "expiry in the past")
    expect(v, "POST", "/v1/users/clerk/tokens", {"expires_at": "tomorrow"}, main, 400,
           "unreadable expiry")
    short = expect(v, "POST", "/v1/users/clerk/tokens", {"expires_at": utc_in(4)}, main, 201,
                   "expiring token")
    expect(v, "GET", "/v1/audit", None, short["token"], 200, "token before its expiry")
    T.wait_until(lambda: v.api("GET", "/v1/audit", token=short["token"])[0] == 401, 30,
                 "the token refused after its expiry")
    kept = expect(v, "POST", "/v1/users/clerk/tokens", {}, main, 201, "token")["token"]
    expect(v, "DELETE", "/v1/users/clerk", None, main, 204, "delete sub-user")
    expect(v, "GET", "/v1/audit", None, kept, 401, "token of a deleted user")
    expect(v, "DELETE", "/v1/users/shop", None, main, 409, "delete the main user")

    # The operator acts on a customer's users by naming the account; nobody else may.
    got = expect(v, "GET", "/v1/users?account=shop", None, op, 200, "operator lists shop's users")
    T.check_eq([u["name"] for u in got["items"]], ["shop"], "shop's users (clerk is gone)")
    expect(v, "POST", "/v1/users?account=shop", {"name": "helper"}, op, 201,
           "operator creates a sub-user in shop")
    expect(v, "DELETE", "/v1/users/helper", None, op, 404, "shop's user without ?account=")
    expect(v, "DELETE", "/v1/users/helper?account=shop", None, op, 204, "and with it")
    expect(v, "GET", "/v1/users?account=nosuch", None, op, 404, "unknown account")
    expect(v, "GET", "/v1/users?account=admin", None, main, 400, "?account= by a customer")
    expect(v, "GET", "/v1/audit?account=shop", None, op, 400, "?account= where not allowed")

    # Policies: deleted only when attached to nobody; system ones are nobody's to delete.
    expect(v, "POST", "/v1/policies", {"name": "cdrs", "statements": STATEMENTS}, main, 201,
           "create policy")
    expect(v, "POST", "/v1/policies", {"name": "cdrs", "statements": STATEMENTS}, main, 409,
           "create it twice")
    expect(v, "POST", "/v1/users", {"name": "auditor"}, main, 201, "create sub-user")
    expect(v, "POST", "/v1/users/auditor/policies", {"policy": "cdrs"}, main, 201, "attach")
    expect(v, "DELETE", "/v1/policies/cdrs", None, main, 409, "delete an attached policy")
    expect(v, "DELETE", "/v1/users/auditor/policies/cdrs", None, main, 204, "detach")
    expect(v, "DELETE", "/v1/users/auditor/policies/cdrs", None, main, 404, "detach twice")
    expect(v, "DELETE", "/v1/policies/cdrs", None, main, 204, "delete a free policy")
    expect(v, "DELETE", "/v1/policies/AI_VCSReadOnlyAccessPolicy", None, main, 404,
           "delete a system policy")
    expect(v, "POST", "/v1/users/auditor/policies", {"policy": "cdrs"}, main, 404,
           "attach a deleted policy")

    # Malformed bodies: 400, and nothing written.
    before = (names(v, "/v1/users", main), names(v, "/v1/policies", main),
              names(v, "/v1/accounts", op))
    bad = [
        ("/v1/users", main, '{"name": "x"'),
        ("/v1/users", main, "[]"),
        ("/v1/users", main, {}),
        ("/v1/users", main, {"name": 7}),
        ("/v1/users", main, {"name": "ok", "admin": True}),
        ("/v1/users", main, {"name": "no spaces"}),
        ("/v1/users", main, {"name": "x" * 33}),
        ("/v1/policies", main, {"name": "p1"}),
        ("/v1/policies", main, {"name": "p2", "statements": []}),
        ("/v1/policies", main, {"name": "p3", "statements": [{"actions": ["vcs:Nope"],
                                                              "resources": ["*"]}]}),
        ("/v1/policies", main, {"name": "p4", "statements": [{"actions": ["vcs:ManageUsers"],
                                                              "resources": ["*"]}]}),
        ("/v1/accounts", op, {"name": "neg", "rate_fen_per_minute": -1}),
        ("/v1/accounts", op, {"name": "flt", "rent_fen_per_month": 1.5}),
        ("/v1/accounts", op, {"name": "9starts-with-digit"}),
    ]
    for path, token, body in bad:
        answer = expect(v, "POST", path, body, token, 400, "bad body %r" % (body,))
        T.check_eq(answer["error"]["code"], "bad_request", "error code for %r" % (body,))
    after = (names(v, "/v1/users", main), names(v, "/v1/policies", main),
             names(v, "/v1/accounts", op))
    T.check_eq(after, before, "users, policies and accounts after the bad bodies")

    # Idempotency-Key: the first answer again, nothing new; another body is 422.
    h = {"Idempotency-Key": "create-temp-1"}
    first = expect(v, "POST", "/v1/users", {"name": "temp"}, main, 201, "keyed create", h)
    again = expect(v, "POST", "/v1/users", {"name": "temp"}, main, 201, "keyed replay", h)
    T.check_eq(again, first, "replayed answer")
    expect(v, "POST", "/v1/users", {"name": "other"}, main, 422, "same key, other body", h)
    T.check_eq(names(v, "/v1/users", main).count("temp"), 1, "users named temp")
    T.check("other" not in names(v, "/v1/users", main), "the 422 created a user")
    h = {"Idempotency-Key": "acct-2"}
    expect(v, "POST", "/v1/accounts", {"name": "shop2"}, op, 201, "keyed account", h)
    replay = expect(v, "POST", "/v1/accounts", {"name": "shop2"}, op, 201, "replayed account", h)
    T.check(replay["token"] is None and replay["name"] == "shop2",
            "a replay must not show the secret again: %s" % replay)
    expect(v, "POST", "/v1/users", {"name": "k"}, main, 400, "empty key",
           {"Idempotency-Key": ""})

    # Pagination: every item exactly once, bounded limits.
    for i in range(5):
        expect(v, "POST", "/v1/users", {"name": "page%d" % i}, main, 201, "create")
    everyone = names(v, "/v1/users", main)
    paged, cursor = [], None
    while True:
        page = expect(v, "GET", "/v1/users?limit=2" + ("&after=" + cursor if cursor else ""),
                      None, main, 200, "page")
        T.check(len(page["items"]) <= 2, "page longer than its limit")
        paged += [i["name"] for i in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    T.check_eq(paged, everyone, "users paged by 2")
    for q in ("limit=0", "limit=1001", "limit=abc", "limit="):
        expect(v, "GET", "/v1/users?" + q, None, main, 400, "bad " + q)
    expect(v, "GET", "/v1/audit?after=xyz", None, main, 400, "bad audit cursor")


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
