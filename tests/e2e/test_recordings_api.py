#!/usr/bin/env python3
"""Recordings through the API (SPEC 7): a real call of an account's number is recorded; its
owner downloads the WAV whole (the bytes of the file) and in byte ranges (206 with
Content-Range; an unsatisfiable range is 416 with "bytes */SIZE"); another account and an
unknown call id get 404; a CDR whose recording path leads outside the recordings folder
("..", an absolute path, a symlink) is 404 and nothing outside is sent; DELETE removes the
file (204), the CDR keeps a recording_deleted var, and the recording is 404 from then on;
while the call is up, DELETE is 409; while another connection holds the write lock, DELETE is
500 and leaves the file and the CDR as they were."""

import http.client
import os
import sqlite3
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

NUMBER = "+861012340001"
LONG = "+861012340002"
DIALPLANS = {
    "routes": T.routes_lua(),
    "rec": """return function(call)
  call:answer()
  call:play("heard")
end
""",
    "long": "return function(call) call:answer() call:sleep(60000) end\n",
}
SOUNDS = {"heard.wav": T.tone_prompt(1000, seconds=1.0, silence=0.0, lead=0.0)}


def get(v, path, token, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", v.http_port, timeout=30)
    h = {"Authorization": "Bearer " + token}
    h.update(headers or {})
    conn.request(method, path, headers=h)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r, body


def run(t):
    v = t.vcsd(dialplans=DIALPLANS, sounds=SOUNDS)
    op = v.token
    shop = v.api_ok("POST", "/v1/accounts", {"name": "shop"})["token"]
    rival = v.api_ok("POST", "/v1/accounts", {"name": "rival"})["token"]
    # the rent of its numbers is charged on approval: unpaid, a number is suspended (SPEC 8)
    v.api_ok("POST", "/v1/accounts/shop/recharges", {"amount_fen": 10000})
    v.own_number(shop, NUMBER, "rec")

    sip_call_id, row = T.call_until_hangup(t, v, NUMBER, 1.5)
    T.check_eq(row["account"], "shop", "the call's account")
    T.check(row["recording"], "the call was recorded: %s" % row)
    path = os.path.join(v.data, "recordings", row["recording"])
    T.wait_until(lambda: os.path.exists(path), 10, "the recording %s to be complete" % path)
    with open(path, "rb") as f:
        wav = f.read()
    size = len(wav)
    T.check(size > 1000, "a recording of some size (%d bytes)" % size)
    url = "/v1/recordings/" + row["call_id"]

    r, body = get(v, url, shop)
    T.check_eq((r.status, r.getheader("Content-Type"), r.getheader("Accept-Ranges")),
               (200, "audio/wav", "bytes"), "whole download")
    T.check(body == wav, "the download is the file (%d of %d bytes)" % (len(body), size))
    r, body = get(v, url, op)
    T.check(r.status == 200 and body == wav, "the operator downloads any account's")
    r, body = get(v, url, shop, method="HEAD")
    T.check_eq((r.status, r.getheader("Content-Length"), body), (200, str(size), b""), "HEAD")

    for rng, lo, hi in (("bytes=0-99", 0, 99), ("bytes=100-", 100, size - 1),
                        ("bytes=-50", size - 50, size - 1), ("bytes=10-%d" % (size * 2), 10,
                                                             size - 1),
                        ("bytes=-%d" % (size + 5), 0, size - 1)):
        r, body = get(v, url, shop, headers={"Range": rng})
        T.check_eq((r.status, r.getheader("Content-Range")),
                   (206, "bytes %d-%d/%d" % (lo, hi, size)), "Range %s" % rng)
        T.check(body == wav[lo:hi + 1], "Range %s: the bytes of the file" % rng)
    for rng in ("bytes=%d-" % size, "bytes=%d-%d" % (size + 10, size + 20), "bytes=-0"):
        r, body = get(v, url, shop, headers={"Range": rng})
        T.check_eq((r.status, r.getheader("Content-Range")), (416, "bytes */%d" % size),
                   "unsatisfiable Range %s" % rng)
    for rng in ("bytes=5-2", "items=0-1", "bytes=0-1,5-9", "bytes=x-"):
        r, body = get(v, url, shop, headers={"Range": rng})
        T.check(r.status == 200 and body == wav, "a Range to ignore (%s): the whole file" % rng)

    for token, what in ((rival, "another account's recording"), (shop, "an unknown call")):
        target = url if token == rival else "/v1/recordings/nosuchcall"
        r, body = get(v, target, token)
        T.check_eq(r.status, 404, what)
        T.check_eq(v.api("DELETE", target, token=token)[0], 404, "DELETE of " + what)

    # Paths in the CDR are not trusted: nothing outside the recordings folder is sent.
    outside = os.path.join(v.root, "secret.wav")
    with open(outside, "wb") as f:
        f.write(b"RIFF-secret")
    link = os.path.join(v.data, "recordings", "calls", "link.wav")
    os.symlink(outside, link)
    conn = sqlite3.connect(v.db_path, timeout=10)
    with conn:
        for i, rel in enumerate(("../../secret.wav", outside, "calls/link.wav", "../vcs.db")):
            conn.execute("INSERT INTO cdr(call_id, account, end_time, recording)"
                         " VALUES (?, 'shop', '2026-11-24T06:00:00.000Z', ?)", ("evil%d" % i, rel))
    conn.close()
    for i in range(4):
        r, body = get(v, "/v1/recordings/evil%d" % i, shop)
        T.check(r.status == 404 and b"secret" not in body and b"SQLite" not in body,
                "recording path evil%d outside the folder: %s %r" % (i, r.status, body[:80]))
        T.check_eq(v.api("DELETE", "/v1/recordings/evil%d" % i, token=shop)[0], 404,
                   "DELETE of evil%d" % i)
    T.check(os.path.exists(outside) and os.path.exists(v.db_path), "nothing outside deleted")

    # A recording still being written cannot be deleted.
    v.own_number(shop, LONG, "long")
    peer = t.rtp_peer()
    uac = t.uac(v, LONG, peer.port)
    uac.invite()
    up = T.wait_until(lambda: (v.cdr(uac.call_id) or {}).get("recording") and v.cdr(uac.call_id),
                      10, "the recording of the call that stays up")
    status, answer = v.api("DELETE", "/v1/recordings/" + up["call_id"], token=shop)
    T.check(status == 409 and "still up" in answer["error"]["message"],
            "DELETE while the call is up: %s %s" % (status, answer))
    uac.bye()
    v.wait_cdr(uac.call_id)
    T.wait_until(lambda: os.path.exists(os.path.join(v.data, "recordings", up["recording"])),
                 10, "the recording the refused DELETE left")

    # vcsctl (the operator's): the file whole, exit 1 and no file for an unknown call.
    out = os.path.join(v.root, "got.wav")
    r = v.vcsctl("recordings", "get", row["call_id"], "-o", out)
    T.check_eq(r.returncode, 0, "vcsctl recordings get: %s" % r.stderr)
    with open(out, "rb") as f:
        T.check(f.read() == wav, "vcsctl recordings get wrote the recording")
    os.unlink(out)
    r = v.vcsctl("recordings", "get", "nosuchcall", "-o", out)
    T.check(r.returncode == 1 and not os.path.exists(out) and "404" in r.stderr,
            "vcsctl recordings get of an unknown call: %d %r" % (r.returncode, r.stderr))

    # Another writer holds vcs.db past the API's busy timeout: the DELETE fails and changes
    # nothing, so that it can be repeated.
    lock = sqlite3.connect(v.db_path, timeout=10, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    status, answer = v.api("DELETE", url, token=shop, timeout=60)
    lock.execute("ROLLBACK")
    lock.close()
    T.check_eq(status, 500, "DELETE while the database is busy: %s" % answer)
    T.check(os.path.exists(path) and
            "recording_deleted" not in (v.cdr(sip_call_id)["vars"] or ""),
            "the refused DELETE left the file and the CDR as they were")
    v.api_ok("DELETE", url, None, shop, 204)
    T.check(not os.path.exists(path), "the file is gone")
    T.check("recording_deleted" in v.cdr(sip_call_id)["vars"],
            "the CDR keeps a recording_deleted var: %s" % v.cdr(sip_call_id)["vars"])
    T.check_eq(get(v, url, shop)[0].status, 404, "a deleted recording")
    T.check_eq(v.api("DELETE", url, token=shop)[0], 404, "deleting it again")
    r = v.vcsctl("recordings", "delete", row["call_id"])
    T.check_eq(r.returncode, 1, "vcsctl recordings delete of a deleted one")
    T.log("recording of %d bytes served whole, in ranges and deleted" % size)


if __name__ == "__main__":
    T.main(run)
