"""Hostile input to the management API (SPEC 7: a malformed body is 400 and writes nothing,
never a crash): for every endpoint /v1/openapi.json describes, as the operator, bodies that
are not JSON, nested too deep, of wrong types or huge, path parameters that are too long,
encoded oddly or not UTF-8, and odd query strings. Every answer must be a JSON error below
500 (or a success where the input happens to be acceptable), the server must stay healthy,
and the accounts, users and policies must be as they were. A fixed seed keeps it
reproducible; the number of requests is bounded."""

import json
import os
import random
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

BODIES = [
    b"{", b"[]", b"null", b"\"x\"", b"{\"name\": }", b"\xff\xfe{}", b"{\"a\":\"\x00\"}",
    b"[" * 5000 + b"]" * 5000, b"{\"name\": " + b"[" * 3000 + b"]" * 3000 + b"}",
    json.dumps({"name": "x" * 5000}).encode(), json.dumps({"name": 1e308}).encode(),
    json.dumps({"name": None}).encode(), json.dumps({"statements": [{}] * 500}).encode(),
    json.dumps({"numbers": ["+8610"] * 2000}).encode(), json.dumps({"count": -5}).encode(),
    json.dumps({"count": 2 ** 62}).encode(), json.dumps({"expires_at": "9999-99-99T99:99:99Z"}).encode(),
    json.dumps({"name": "a", "name2": {"deep": [1, 2, {"x": None}]}}).encode(),
    b"number,region\n" + b"+86,\x00,,,\n" * 100,
]
PARAMS = ["x" * 300, "%00", "%2F", "%ff%fe", "..", "%25", "+861000000001%20", "%C3%A9", "%e9", "0",
          "-1", "99999999999999999999999", "a%2Fb"]
QUERIES = ["?limit=-1", "?limit=99999999999999999999", "?after=" + "z" * 500, "?account=",
           "?account=%00", "?available=maybe", "?&&&=", "?limit=5&limit=6", "?%zz"]


def snapshot(v):
    out = []
    for path in ("/v1/accounts?limit=1000", "/v1/users?limit=1000", "/v1/policies?limit=1000",
                 "/v1/numbers?limit=1000", "/v1/orders?limit=1000"):
        status, body = v.api("GET", path)
        T.check_eq(status, 200, "GET " + path)
        out.append(body["items"])
    return out


def run(t):
    rnd = random.Random(7)
    v = t.vcsd()
    status, spec = v.api("GET", "/v1/openapi.json")
    T.check_eq(status, 200, "openapi")
    ops = [(m.upper(), p) for p, item in spec["paths"].items() for m in item]
    before = snapshot(v)
    count = 0
    for method, pattern in ops:
        for _ in range(12):
            path = re.sub(r"\{\w+\}", lambda m: rnd.choice(PARAMS), pattern)
            if rnd.random() < 0.4:
                path += rnd.choice(QUERIES)
            body = rnd.choice(BODIES) if method in ("POST", "PATCH") else None
            status, answer = v.api(method, path, body)
            count += 1
            T.check(status < 500, "%s %s with %r: %d %s" % (method, path, body and body[:60],
                                                           status, answer))
            if status >= 400 and status != 413:
                T.check(isinstance(answer, dict) and "error" in answer,
                        "%s %s: error not JSON: %r" % (method, path, answer))
            if method == "POST" and pattern == "/v1/numbers/import" and status == 200:
                T.check_eq(answer["imported"], 0, "import of garbage")
    T.check_eq(v.health()[0], 200, "health after %d hostile requests" % count)
    after = snapshot(v)
    # Reload may have run (its body is ignored); nothing else may have changed.
    T.check_eq(after, before, "accounts, users, policies, numbers and orders")
    T.log("%d hostile requests, all answered below 500" % count)


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
