#!/usr/bin/env python3
"""A stand-in for vcsd used only by harness_selfcheck.py, so that the Vcsd class of vcstest.py
(start-up wait, token, API calls, signals, log tailing, CDR reading, sanitizer scan) can be
checked before the real engine exists. It takes vcsd's flags (SPEC 3) and mimics only the
process interface: no SIP, no media.

Behaviour: writes <data>/admin.token (0600) and <data>/vcs.db (WAL, table cdr with the SPEC 6
columns, one finished row); serves GET /v1/health and POST /v1/reload with the bearer token;
logs "reload ok" on SIGHUP; exits 0 on SIGTERM. FAKE_VCSD_REPORT=1 makes it print a
sanitizer-like report at exit and FAKE_VCSD_EXIT=N makes it exit N on SIGTERM (to check that
the harness catches both)."""

import argparse
import http.server
import json
import os
import secrets
import signal
import sqlite3
import sys
import threading
import time

CDR_COLUMNS = ("id INTEGER PRIMARY KEY, call_id TEXT, sip_call_id TEXT, parent_call_id TEXT, "
               "direction TEXT, account TEXT, from_number TEXT, to_number TEXT, script TEXT, "
               "gateway TEXT, start_time TEXT, answer_time TEXT, end_time TEXT, duration_ms INTEGER, "
               "billsec INTEGER, bill_minutes INTEGER, cost_fen INTEGER, sip_code INTEGER, "
               "hangup_cause TEXT, hangup_by TEXT, recording TEXT, vars TEXT")


def log(msg):
    sys.stderr.write("%s fake-vcsd: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sip")
    ap.add_argument("--http", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--dialplans", required=True)
    ap.add_argument("--sounds")
    ap.add_argument("--rtp-ports")
    ap.add_argument("--log-level")
    ap.add_argument("-c")
    a = ap.parse_args()

    os.makedirs(a.data, exist_ok=True)
    tok_path = os.path.join(a.data, "admin.token")
    if not os.path.exists(tok_path):
        fd = os.open(tok_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (secrets.token_hex(16) + "\n").encode())
        os.close(fd)
    with open(tok_path) as f:
        token = f.read().strip()

    db = sqlite3.connect(os.path.join(a.data, "vcs.db"), check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS cdr (%s)" % CDR_COLUMNS)
    db.execute("INSERT INTO cdr (call_id, sip_call_id, direction, from_number, to_number, script, "
               "start_time, answer_time, end_time, duration_ms, billsec, bill_minutes, cost_fen, "
               "sip_code, hangup_cause, hangup_by, vars) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               ("c-1", "fake-call@127.0.0.1", "inbound", "15550001111", "1000", "hello",
                "2026-11-24T06:15:13.000Z", "2026-11-24T06:15:13.100Z", "2026-11-24T06:15:15.101Z",
                2101, 3, 1, 20, 200, "normal_clearing", "caller", json.dumps({"k": "v"})))
    db.commit()

    state = {"version": 1, "started": time.time()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            log("http " + fmt % args)

        def reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def authorized(self):
            if self.headers.get("Authorization") != "Bearer " + token:
                self.reply(401, {"error": {"code": "unauthorized", "message": "bad token"}})
                return False
            return True

        def do_GET(self):
            if not self.authorized():
                return
            if self.path == "/v1/health":
                self.reply(200, {"status": "ok", "version": "fake", "calls": 0, "draining": False,
                                 "uptime_s": int(time.time() - state["started"])})
            else:
                self.reply(404, {"error": {"code": "not_found", "message": self.path}})

        def do_POST(self):
            if not self.authorized():
                return
            if self.path == "/v1/reload":
                state["version"] += 1
                scripts = sorted(f[:-4] for f in os.listdir(a.dialplans)
                                 if f.endswith(".lua") and f != "routes.lua")
                self.reply(200, {"version": state["version"], "scripts": scripts})
            else:
                self.reply(404, {"error": {"code": "not_found", "message": self.path}})

    host, port = a.http.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    done = threading.Event()
    signal.signal(signal.SIGHUP, lambda s, f: log("reload ok (version %d)" % state["version"]))
    signal.signal(signal.SIGTERM, lambda s, f: done.set())
    log("listening http %s, data %s" % (a.http, a.data))
    while not done.wait(0.2):
        pass
    log("draining, bye")
    srv.shutdown()
    db.close()
    if os.environ.get("FAKE_VCSD_REPORT") == "1":
        sys.stderr.write("==1==ERROR: LeakSanitizer: detected memory leaks (fake report)\n")
    return int(os.environ.get("FAKE_VCSD_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main())
