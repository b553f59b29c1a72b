"""GET /metrics (SPEC 7) gives the Prometheus text format with the same bearer token as /v1:
live calls while a call is up, TTS cache hits and misses after the same text is spoken twice,
the admission families (delay, 403s to unknown sources, rate-limited requests), the media
tick lag histograms per worker (well-formed: cumulative buckets, +Inf = count, ticks counted
while the call plays), the recorder's dropped-frames counter, and 401 without the token."""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

DIALPLANS = {
    "routes": 'return { { match = "^7000$", script = "talk" } }\n',
    "talk": """
return function(call)
  call:answer()
  call:say("Metrics test.")
  call:say("Metrics test.")
  call:sleep(20000)
end
""",
}


def metric(text, name):
    m = re.search(r"(?m)^%s (\d+)$" % re.escape(name), text)
    return int(m.group(1)) if m else None


def tick_histogram(text, name, worker):
    """{le: count} of one worker's histogram, with its _count and _sum."""
    lab = 'worker="%d"' % worker
    buckets = {m.group(1): int(m.group(2)) for m in
               re.finditer(r'(?m)^%s_bucket\{%s,le="([^"]+)"\} (\d+)$' % (name, lab), text)}
    count = metric(text, "%s_count{%s}" % (name, lab))
    m = re.search(r'(?m)^%s_sum\{%s\} ([0-9.]+)$' % (name, lab), text)
    return buckets, count, float(m.group(1)) if m else None


def check_tick_histograms(text):
    workers = sorted({int(w) for w in re.findall(r'vcs_media_tick_end_lag_seconds_count\{worker="(\d+)"\}', text)})
    T.check(workers, "no vcs_media_tick_end_lag_seconds per worker:\n" + text)
    for name in ("vcs_media_tick_start_lag_seconds", "vcs_media_tick_end_lag_seconds"):
        T.check("# TYPE %s histogram" % name in text, "%s TYPE line missing" % name)
        for w in workers:
            buckets, count, total = tick_histogram(text, name, w)
            bounds = sorted((float(le), n) for le, n in buckets.items() if le != "+Inf")
            T.check(len(bounds) >= 5 and buckets.get("+Inf") == count and total is not None,
                    "%s worker %d: buckets %s count %s sum %s" % (name, w, buckets, count, total))
            counts = [n for _, n in bounds]
            T.check(counts == sorted(counts) and counts[-1] <= count,
                    "%s worker %d: buckets not cumulative: %s" % (name, w, bounds))
    # The playing call's worker ticked (50 a second): some worker counted ticks.
    T.check(max(tick_histogram(text, "vcs_media_tick_end_lag_seconds", w)[1] for w in workers) > 0,
            "no media ticks counted during a call")


def run(t):
    v = t.vcsd(dialplans=DIALPLANS)
    status, _ = v.api("GET", "/metrics", token=False)
    T.check_eq(status, 401, "GET /metrics without a token")
    peer = t.rtp_peer()
    call = t.sipp("uac_call", v, "7000", keys={"rtp_port": peer.port},
                  tmpl={"duration_ms": 6000}).start()
    call.wait_log("^ANSWERED$", 10)
    T.wait_until(lambda: metric(v.api("GET", "/metrics")[1], 'vcs_tts_requests_total{result="hit"}') == 1,
                 15, "one TTS cache hit after the same text twice")
    status, text = v.api("GET", "/metrics")
    T.check_eq(status, 200, "GET /metrics")
    T.check_eq(metric(text, "vcs_calls_active"), 1, "vcs_calls_active during the call")
    T.check_eq(metric(text, 'vcs_tts_requests_total{result="miss"}'), 1, "TTS misses")
    T.check("# TYPE vcs_calls_active gauge" in text, "TYPE line missing:\n" + text)
    T.check("# TYPE vcs_recording_frames_dropped_total counter" in text,
            "the recorder's drops are a counter:\n" + text)
    for name in ("vcs_admission_delay_ms", "vcs_sip_forbidden_total", "vcs_sip_rate_limited_total",
                 "vcs_recording_frames_dropped_total"):
        T.check(metric(text, name) is not None, "%s missing:\n%s" % (name, text))
    T.check_eq(metric(text, "vcs_sip_forbidden_total"), 0, "403s to unknown sources")
    check_tick_histograms(text)
    call.wait_ok(what="call to 7000")
    T.wait_until(lambda: metric(v.api("GET", "/metrics")[1], "vcs_calls_active") == 0, 10,
                 "vcs_calls_active back to 0")


if __name__ == "__main__":
    T.main(run)
