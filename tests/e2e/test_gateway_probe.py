#!/usr/bin/env python3
"""Carrier-gateway health (SPEC 3): OPTIONS probes and REGISTER.

Gateway "gw1" is a SIPp UAS answering OPTIONS, probed every second: GET /v1/gateways shows it
up with a probe round-trip time, and /metrics vcs_gateway_up{gateway="gw1"} 1. SIPp stops: after
3 misses (no answer within 2 s, or an error) the gateway is down (warn line, gauge 0). A SIPp
UAS on the same port again: the first answer brings it back up. Then a socket that swallows
the probes: down again, by the 2 s timeout. Gateway "gw2" has a
DNS name (localhost, resolved off the SIP thread) and register = true: vcsd REGISTERs to a SIPp registrar that challenges with 401, answers the
challenge with the gateway's credentials (checked by SIPp's verifyauth), and GET /v1/gateways
shows registered; the registrar grants 6 s, and the refresh (challenged again) comes in time.
Gateway "gw3" never answers (REGISTER nor OPTIONS): it is down and not registered, and vcsd
still stops at once on SIGTERM (Sofia's shutdown would wait 30 s for it). vcsctl gateways prints the table."""

import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

CONFIG = """return {
  gateways = {
    { name = "gw1", address = "127.0.0.1:%d", options_interval_s = 1, inbound = false,
      max_channels = 10 },
    { name = "gw2", address = "localhost:%d", options_interval_s = 0, inbound = false,
      register = true, username = "vcs", password = "s3cret" },
    { name = "gw3", address = "127.0.0.1:%d", options_interval_s = 1, inbound = false,
      register = true, username = "vcs", password = "s3cret" },
  },
}
"""


def gateway(v, name):
    status, page = v.api("GET", "/v1/gateways")
    T.check_eq(status, 200, "GET /v1/gateways")
    return next(g for g in page["items"] if g["name"] == name)


def gauge(v, name):
    text = v.api("GET", "/metrics")[1]
    m = re.search(r'(?m)^vcs_gateway_up\{gateway="%s"\} (\d+)$' % name, text)
    return int(m.group(1)) if m else None


def carrier(t, port=None):
    s = t.sipp_uas("uas_options", calls=100000, timeout=120)
    if port:
        s.cmd[s.cmd.index("-p") + 1] = str(port)
        s.port = port
    s.start()
    return s


def run(t):
    uas = carrier(t)
    registrar = t.sipp_uas("uas_registrar", timeout=60,
                           tmpl={"user": "vcs", "password": "s3cret", "expires": 6})
    registrar.start()
    mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # gw3: a carrier that never answers
    mute.bind(("127.0.0.1", 0))
    v = t.vcsd(config=CONFIG % (uas.port, registrar.port, mute.getsockname()[1]))

    T.wait_until(lambda: gateway(v, "gw1")["last_probe_ms"] is not None, 10, "a probe answered")
    g = gateway(v, "gw1")
    T.check_eq((g["state"], g["address"], g["calls"], g["max_channels"]),
               ("up", "127.0.0.1:%d" % uas.port, 0, 10), "gw1 while it answers")
    T.check_eq(gauge(v, "gw1"), 1, "vcs_gateway_up while it answers")

    registrar.wait_log(r"AUTH true", 10, what="the registrar accepted vcsd's credentials")
    T.wait_until(lambda: gateway(v, "gw2")["registered"], 10, "gw2 registered")
    registrar.wait_log(r"REFRESH AUTH true", 15, what="the registration refreshed before it ends")
    T.check(gateway(v, "gw2")["registered"], "gw2 still registered after the refresh")

    uas.kill()
    mark = len(v.log_text(0))
    T.wait_until(lambda: gateway(v, "gw1")["state"] == "down", 15, "gw1 down after 3 misses")
    v.wait_log(r"gateway gw1 is down: 3 OPTIONS probes missed in a row", 5, since=mark)
    T.check_eq(gauge(v, "gw1"), 0, "vcs_gateway_up while it is down")

    again = carrier(t, uas.port)
    T.wait_until(lambda: gateway(v, "gw1")["state"] == "up", 10, "gw1 up after one answer")
    T.check(again.find_log("PROBED"), "the carrier was probed again")
    T.check_eq(gauge(v, "gw1"), 1, "vcs_gateway_up after it came back")

    # A carrier that swallows the probes: misses by the 2 s timeout.
    again.kill()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", uas.port))
    mark = len(v.log_text(0))
    T.wait_until(lambda: gateway(v, "gw1")["state"] == "down", 20, "gw1 down, probes unanswered")
    v.wait_log(r"gateway gw1 is down: 3 OPTIONS probes missed in a row "
               r"\(last: no answer within 2 s\)", 5, since=mark)
    T.check(silent.recv(65535).startswith(b"OPTIONS "), "the silent carrier got OPTIONS")
    silent.close()

    r = v.vcsctl("gateways")
    T.check(r.returncode == 0 and "gw1" in r.stdout and "gw2" in r.stdout,
            "vcsctl gateways: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    T.check("s3cret" not in v.log_text(0), "no gateway password in the log")

    # A silent carrier (REGISTER and probes unanswered) does not hold the shutdown.
    g3 = gateway(v, "gw3")
    T.check_eq((g3["state"], g3["registered"]), ("down", False), "gw3, which never answers")
    started = time.monotonic()
    T.check_eq(v.stop(), 0, "vcsd's exit status on SIGTERM")
    T.check(time.monotonic() - started < 10, "vcsd stopped in %.1f s with a silent carrier"
            % (time.monotonic() - started))
    mute.close()


if __name__ == "__main__":
    T.main(run)
