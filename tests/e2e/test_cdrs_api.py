#!/usr/bin/env python3
"""GET /v1/cdrs (SPEC 6 and 7) on a real vcsd and a real SQLite table: an account sees its own
rows only (the operator all of them, or one account with ?account=); filters since, until,
number, cause, campaign and direction select what a query over the same rows selects; a cursor
walk in small pages with rows inserted between the pages returns every row once, in id order;
the CSV export (Accept: text/csv) is chunked and holds the same rows, with commas, quotes and
line breaks escaped; bad filters are 400. Rows are written into the table as the store writes
them (the API reads; how calls produce rows is covered by the call tests)."""

import csv
import http.client
import io
import json
import os
import sqlite3
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CAUSES = ["normal_clearing", "no_answer", "busy"]


class Rows:
    """Writes CDR rows and remembers them as the API should give them back."""

    def __init__(self, v):
        self.v, self.n, self.rows = v, 0, []

    def add(self, account, count, **fixed):
        conn = sqlite3.connect(self.v.db_path, timeout=10)
        with conn:
            for _ in range(count):
                i = self.n
                self.n += 1
                row = {
                    "call_id": "c%06d" % i, "account": account,
                    "direction": "inbound" if i % 4 else "outbound",
                    "from_number": "+86138%08d" % (i % 7), "to_number": "+8610%08d" % (i % 5),
                    "start_time": "2026-11-%02dT%02d:00:00.000Z" % (1 + i % 28, i % 24),
                    "end_time": "2026-11-%02dT%02d:00:30.000Z" % (1 + i % 28, i % 24),
                    "hangup_cause": CAUSES[i % 3], "campaign_id": "camp%d" % (i % 2) if i % 3 == 0
                    else None, "vars": json.dumps({"n": i}),
                }
                row.update(fixed)
                cur = conn.execute("INSERT INTO cdr(%s) VALUES (%s)" % (
                    ", ".join(row), ", ".join("?" * len(row))), list(row.values()))
                row["id"] = cur.lastrowid
                self.rows.append(row)
        conn.close()

    def select(self, account=None, **f):
        out = []
        for r in self.rows:
            if account and r["account"] != account:
                continue
            if "since" in f and r["start_time"] < f["since"]:
                continue
            if "until" in f and r["start_time"] >= f["until"]:
                continue
            if "number" in f and f["number"] not in (r["from_number"], r["to_number"]):
                continue
            if "cause" in f and r["hangup_cause"] != f["cause"]:
                continue
            if "campaign" in f and r["campaign_id"] != f["campaign"]:
                continue
            if "direction" in f and r["direction"] != f["direction"]:
                continue
            out.append(r["id"])
        return out


def ids(v, token, query):
    """Every id of a listing, following the cursor."""
    got, after = [], None
    for _ in range(1000):
        q = query + ("&after=" + after if after else "")
        status, page = v.api("GET", "/v1/cdrs?limit=1000" + q, token=token)
        T.check(status == 200, "GET /v1/cdrs?%s: %s %s" % (q, status, page))
        got += [r["id"] for r in page["items"]]
        after = page["next"]
        if not after:
            return got
    T.fail("the cursor never ended")


def get_csv(v, token, query=""):
    conn = http.client.HTTPConnection("127.0.0.1", v.http_port, timeout=30)
    conn.request("GET", "/v1/cdrs" + query, headers={"Authorization": "Bearer " + token,
                                                     "Accept": "text/csv"})
    r = conn.getresponse()
    body = r.read().decode("utf-8")
    conn.close()
    T.check_eq(r.status, 200, "CSV export status")
    T.check_eq(r.getheader("Transfer-Encoding"), "chunked", "CSV export is streamed in chunks")
    T.check(r.getheader("Content-Type", "").startswith("text/csv"), "CSV content type")
    return list(csv.DictReader(io.StringIO(body, newline="")))


def run(t):
    v = t.vcsd()
    op = v.token
    shop = v.api("POST", "/v1/accounts", {"name": "shop"})[1]["token"]
    rival = v.api("POST", "/v1/accounts", {"name": "rival"})[1]["token"]
    rows = Rows(v)
    rows.add("shop", 90)
    rows.add("rival", 20)
    rows.add("shop", 1, vars=json.dumps({"note": 'a, "quoted"\nline'}), from_number="+8613900000000")

    T.check_eq(ids(v, shop, ""), rows.select("shop"), "shop's CDRs")
    T.check_eq(ids(v, rival, ""), rows.select("rival"), "rival's CDRs")
    T.check_eq(ids(v, op, ""), rows.select(), "the operator sees every account")
    T.check_eq(ids(v, op, "&account=rival"), rows.select("rival"), "the operator names one")
    T.check_eq(v.api("GET", "/v1/cdrs?account=shop", token=rival)[0], 400,
               "?account= is the operator's")
    status, page = v.api("GET", "/v1/cdrs?limit=1", token=shop)
    T.check(status == 200 and page["items"][0]["vars"] == {"n": 0} and
            page["items"][0]["call_id"] == "c000000", "a row with vars as JSON: %s" % page)

    filters = [{"number": "+8613800000003"}, {"number": "+861000000002"},
               {"cause": "busy"}, {"campaign": "camp1"}, {"direction": "outbound"},
               {"since": "2026-11-10", "until": "2026-11-20T12:00:00Z"},
               {"since": "2026-11-27T05:00:00.000Z"}, {"cause": "no_answer", "direction":
                                                         "inbound", "until": "2026-11-15"},
               {"number": "+8613900000000"}]
    for n, f in enumerate(filters):
        # '+' encoded (%2B) as it should be, and unencoded as people type it in curl.
        q = "".join("&%s=%s" % (k, val.replace("+", "%2B") if n % 2 else val)
                    for k, val in f.items())
        want = rows.select("shop", **{k: (val[:-1] if val.endswith("Z") else val)
                                      for k, val in f.items()})
        T.check(want, "filter %s selects something" % f)
        T.check_eq(ids(v, shop, q), want, "shop's CDRs with %s" % f)

    # A cursor walk in pages of 7 while rows keep coming: each row once, in id order.
    seen, after, pages = [], None, 0
    while True:
        status, page = v.api("GET", "/v1/cdrs?limit=7" + ("&after=" + after if after else ""),
                             token=shop)
        T.check_eq(status, 200, "page %d" % pages)
        T.check(len(page["items"]) <= 7, "page size")
        seen += [r["id"] for r in page["items"]]
        pages += 1
        if pages in (3, 8):
            rows.add("shop", 2)
            rows.add("rival", 1)
        after = page["next"]
        if not after:
            break
    T.check_eq(seen, rows.select("shop"), "the walk with inserts between pages")

    # CSV: the same rows, every column, escaping intact.
    got = get_csv(v, shop)
    T.check_eq([int(r["id"]) for r in got], rows.select("shop"), "CSV rows")
    special = [r for r in got if r["from_number"] == "+8613900000000"]
    T.check_eq(json.loads(special[0]["vars"]), {"note": 'a, "quoted"\nline'},
               "CSV escaping of commas, quotes and line breaks")
    T.check_eq(len(got[0]), 24, "CSV columns")
    got = get_csv(v, shop, "?cause=busy&direction=inbound")
    T.check_eq([int(r["id"]) for r in got], rows.select("shop", cause="busy",
                                                      direction="inbound"), "filtered CSV")
    T.check_eq([int(r["id"]) for r in get_csv(v, op, "?account=rival")], rows.select("rival"),
               "the operator's CSV of one account")

    # A read-only sub-user lists; a user without policy is refused.
    v.api("POST", "/v1/users", {"name": "reader"}, token=shop)
    v.api("POST", "/v1/users/reader/policies", {"policy": "AI_VCSReadOnlyAccessPolicy"},
          token=shop)
    reader = v.api("POST", "/v1/users/reader/tokens", {}, token=shop)[1]["token"]
    T.check_eq(ids(v, reader, ""), rows.select("shop"), "a read-only sub-user's view")
    v.api("POST", "/v1/users", {"name": "nobody"}, token=shop)
    nobody = v.api("POST", "/v1/users/nobody/tokens", {}, token=shop)[1]["token"]
    T.check_eq(v.api("GET", "/v1/cdrs", token=nobody)[0], 403, "no policy, no CDRs")

    for q in ("since=yesterday", "since=2026-13", "until=2026-11-01T25", "number=abc",
              "cause=Busy!", "direction=up", "campaign=a%20b", "color=red", "after=xyz",
              "after=-1", "limit=0", "limit=1001", "since=2026-11-20&until=2026-11-10",
              "number=", "since=2026-11-01T00:00:00.0000Z"):
        status, answer = v.api("GET", "/v1/cdrs?" + q, token=shop)
        T.check(status == 400 and answer["error"]["code"] == "bad_request",
                "bad filter %s: want 400, got %s %s" % (q, status, answer))
        status, _ = v.api("GET", "/v1/cdrs?" + q, token=shop, headers={"Accept": "text/csv"})
        T.check_eq(status, 400, "bad filter %s on the CSV export" % q)
    # vcsctl: the table, the CSV on stdout, and exit codes scripts can trust.
    r = v.vcsctl("cdrs", "--account", "rival", "--cause", "busy")
    T.check_eq(r.returncode, 0, "vcsctl cdrs: %s" % r.stderr)
    lines = r.stdout.splitlines()
    T.check_eq(lines[0].split()[:3], ["ID", "CALL_ID", "ACCOUNT"], "vcsctl cdrs header")
    T.check_eq(sorted(int(x.split()[0]) for x in lines[1:]), rows.select("rival", cause="busy"),
               "vcsctl cdrs rows")
    r = v.vcsctl("cdrs", "--csv", "--account", "shop", "--direction", "outbound")
    T.check_eq(r.returncode, 0, "vcsctl cdrs --csv: %s" % r.stderr)
    T.check_eq([int(x["id"]) for x in csv.DictReader(io.StringIO(r.stdout, newline=""))],
               rows.select("shop", direction="outbound"), "vcsctl cdrs --csv")
    for args, rc in ((("cdrs", "--since", "yesterday"), 1),
                     (("cdrs", "--csv", "--since", "yesterday"), 1),
                     (("cdrs", "--csv", "--color", "red"), 2)):
        r = v.vcsctl(*args)
        T.check(r.returncode == rc and r.stdout == "" and r.stderr,
                "vcsctl %s: exit %d, wanted %d (%r)" % (" ".join(args), r.returncode, rc,
                                                         r.stderr))
    T.log("CDR API: %d rows, %d filters, a walk of %d pages" % (len(rows.rows), len(filters),
                                                                 pages))


if __name__ == "__main__":
    T.main(run, needs_sipp=False)
