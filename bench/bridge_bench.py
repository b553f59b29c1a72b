#!/usr/bin/env python3
"""bridge_bench: the bridging benchmarks (issue 6 item 11) on top of vcs_bench.

  bridge-short  (a) bridged calls per second: SIPp caller -> vcsd (trunk allow-listed for
                127.0.0.1) -> call:dial of a bare number through one carrier gateway -> a SIPp
                UAS carrier on 127.0.0.2 (scenarios/uas_carrier.xml); the caller hangs up after
                --bridge-hold-ms; stepped rates, the highest clean one reported
  bridge-hold   (b) N bridged calls up together with audio both ways and the whole-call
                recording on: rtpsink plays the caller (sends a 1 kHz tone, measures what comes
                back), the carrier echoes RTP (bench/rtpecho.c), so the caller's audio crosses
                the bridge both ways; vcsd CPU and RSS per bridged call, late packets,
                recording disk rate, audio lost
  conference    (c) conference rooms: --rooms "1x100,10x10" (rooms x members), every member a
                SIPp caller with rtpsink audio both ways; vcsd CPU per member
  bridge-smoke  tiny versions of the three, to check the harness

The load generators (both SIPps, rtpsink and rtpecho) run under `chrt --idle 0` by default in these
scenarios (--gen-sched idle): they get a core only when vcsd's threads leave it, so they never
preempt a worker; --gen-sched nice uses nice 19/10 instead, --gen-cpus pins them.
Run through bench/run.sh (which builds rtpsink and raises ulimit -n); every other option of
vcs_bench applies.
"""

import argparse
import json
import os
import signal
import struct
import subprocess
import sys
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vcs_bench as vb  # noqa: E402

SCENARIOS = ("bridge-short", "bridge-hold", "conference", "bridge-smoke")
DOC = __doc__
CARRIER_IP = "127.0.0.2"
CALLEE = "13800000000"            # routed to dialplans/bridge.lua, dialled as a bare number
CALLER = "8610[call_number]"      # digits: the caller ID the b-leg presents
CODECS = {"PCMU": 0, "PCMA": 8}
BYTES_PER_S = 8000 * 2 * 2        # the whole-call recording: 8 kHz, 16 bit, stereo


def log(msg):
    vb.log(msg)


def add_args(ap):
    g = ap.add_argument_group("bridge-short, bridge-hold, conference")
    g.add_argument("--bridge-rates", default="100,200,300,400,600,800,1000",
                   help="bridge-short: bridged call rates to step through (calls/s)")
    g.add_argument("--bridge-hold-ms", type=int, default=1000,
                   help="bridge-short: ms the caller stays bridged before its BYE")
    g.add_argument("--bridge-n", default="500,1000,2000", help="bridge-hold: bridged calls up")
    g.add_argument("--ring-ms", type=int, default=0,
                   help="the carrier's 180 -> 200 delay in ms (default 0)")
    g.add_argument("--carrier-codec", choices=sorted(CODECS), default="PCMU",
                   help="the one codec the carrier answers: PCMU (as the caller: no\n"
                        "transcoding, as Asterisk was measured) or PCMA (vcsd transcodes)")
    g.add_argument("--record", choices=("auto", "on", "off"), default="auto",
                   help="whole-call recording: auto = on for bridge-hold, VCS_BENCH_RECORD\n"
                        "for the others (off by default, as Asterisk's plain Dial())")
    g.add_argument("--keep-recordings", action="store_true",
                   help="keep <run>/data/recordings (deleted after being measured: ~32 KB\n"
                        "per call-second)")
    g.add_argument("--rtpecho", default=None,
                   help="the carrier's RTP echo binary (bench/rtpecho.c; run.sh builds it)")
    g.add_argument("--rooms", default="1x100,10x10",
                   help="conference: runs of ROOMSxMEMBERS (at most 999 rooms), comma-separated")


TICK_LAGS = ("start", "end")


def tick_buckets(vcsd):
    """vcsd's media tick lag histograms summed over its workers: {"start"|"end": {le: count}}
    (le in ms, "inf" for the total), or None when /metrics does not answer."""
    m = vcsd.metrics()
    if not m:
        return None
    out = {k: {} for k in TICK_LAGS}
    for key, v in m.items():
        for k in TICK_LAGS:
            pre = "vcs_media_tick_%s_lag_seconds_bucket{" % k
            if key.startswith(pre):
                le = key.rsplit('le="', 1)[1].rstrip('"}')
                le = "inf" if le == "+Inf" else "%g" % (float(le) * 1000)
                out[k][le] = out[k].get(le, 0) + int(v)
    return out


def tick_lag_summary(first, last):
    """Per kind, over the window: ticks, and the % of them later than each bound."""
    out = {}
    for k in TICK_LAGS:
        a, b = first[k], last[k]
        ticks = b.get("inf", 0) - a.get("inf", 0)
        if ticks <= 0:
            continue
        over = {"over_%sms_pct" % le: round(100.0 * (ticks - (b[le] - a.get(le, 0))) / ticks, 3)
                for le in sorted((x for x in b if x != "inf"), key=float)}
        out[k] = dict(ticks=ticks, **over)
    return out


def recording_on(args, default):
    return {"on": True, "off": False}.get(args.record, default)


def dir_bytes(root):
    """Bytes of the files under root (the recordings grow in place)."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                total += os.stat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def frames_with_audio(path, sample_frames=None):
    """(20 ms frames, frames with sound on the left, on the right) of a stereo WAV: a frame
    has sound when its peak exceeds -40 dBFS."""
    with wave.open(path) as w:
        if w.getnchannels() != 2 or w.getsampwidth() != 2:
            return None
        data = w.readframes(w.getnframes() if sample_frames is None else sample_frames)
    n = len(data) // 4
    v = struct.unpack("<%dh" % (2 * n), data[:4 * n])
    frames = left = right = 0
    for i in range(0, 2 * n - 319, 320):
        frames += 1
        left += max(max(v[i:i + 320:2]), -min(v[i:i + 320:2])) > 328
        right += max(max(v[i + 1:i + 320:2]), -min(v[i + 1:i + 320:2])) > 328
    return frames, left, right


class CarrierSipp(vb.Sipp):
    """The carrier behind the gateway: a SIPp UAS (scenarios/uas_carrier.xml) on CARRIER_IP,
    answering `calls` calls (then it exits by itself); its SDP names rtpecho's port, and
    rtpecho sends every RTP packet back (SIPp's own -rtp_echo dropped packets on its socket
    from 500 calls on: see rtpecho.c). Its ports are chosen at construction, because vcsd's
    configuration names them."""

    def __init__(self, args, calls, timeout_s):
        self.args = args
        self.calls = calls
        self.timeout_s = timeout_s
        self.port = vb.free_port(ip=CARRIER_IP)
        self.mp = vb.free_port(span=4, ip=CARRIER_IP)
        self.cp = vb.free_port()
        self.echo_port = vb.free_port(ip=CARRIER_IP)
        self.echo = None
        self.name = "uas_carrier"
        self.out_name = "carrier.out"
        self.proc = None

    def prepare(self, run):
        self.dir = run.dir
        codec = self.args.carrier_codec
        self.scen = vb.render_scenario(run.dir, self.name, {"ring_ms": self.args.ring_ms,
                                                            "codec": codec,
                                                            "pt": CODECS[codec],
                                                            "echo_port": self.echo_port})
        self.echo_out = os.path.join(run.dir, "rtpecho.json")
        self.echo_argv = vb.gen_sched(self.args, ["nice", "-n", "10"]) + [
            self.args.rtpecho, "-a", CARRIER_IP, "-p", str(self.echo_port), "-o", self.echo_out]
        self.stat = os.path.join(run.dir, "carrier_stat.csv")
        self.argv = vb.gen_sched(self.args, ["nice", "-n", "19"]) + [
            "sipp", "-sf", self.scen, "-i", CARRIER_IP, "-mi", CARRIER_IP,
            "-p", str(self.port), "-mp", str(self.mp), "-cp", str(self.cp),
            "-m", str(self.calls), "-timeout", "%ds" % self.timeout_s, "-max_socket", "20000",
            "-buff_size", vb.SIPP_BUFFER,
            "-nostdin", "-trace_stat", "-stf", self.stat, "-fd", "1", "-trace_counts",
            "-trace_err", "-max_log_size", "5000000"]

    def start(self):
        if self.echo_argv:  # a subclass whose scenario sends its own media has none
            self.echo = vb.spawn(self.echo_argv, stdin=subprocess.DEVNULL)
        super().start()

    def finish(self, wait_s):
        """Waits up to wait_s for the carrier to end by itself (all its calls done), then asks
        it to stop (SIGUSR1: SIPp's soft quit), then kills it; returns its summary."""
        deadline = time.monotonic() + wait_s
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        if self.proc.poll() is None:
            log("the carrier SIPp is still running %d s after the load: stopping it" % wait_s)
            self.proc.send_signal(signal.SIGUSR1)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.timeout_s = 0
        rc = self.wait()
        echo = None
        if self.echo:
            self.echo.terminate()
            self.echo.wait(10)
            try:
                with open(self.echo_out) as f:
                    echo = json.load(f)
            except (OSError, ValueError):
                pass
        return dict(vb.sipp_summary(self), exit=rc, rtpecho=echo)


class BridgeHooks:
    """vcs_bench.run_one hooks of the bridge scenarios: the carrier SIPp, a trunk and the
    gateway in vcsd's configuration, and with recording on, the recordings' size sampled once
    a second and checked after the run."""

    def __init__(self, args, calls, timeout_s, record, rate=None):
        self.args = args
        self.record = record
        self.calls = calls
        self.rate = rate
        self.carrier = CarrierSipp(args, calls, timeout_s)

    def config(self):
        codec = self.args.carrier_codec
        extra = ("  trunks = { { name = \"bench\", account = \"admin\", "
                 "allow = { \"127.0.0.1/32\" } } },\n"
                 "  gateways = { { name = \"carrier\", address = \"%s:%d\", inbound = false,\n"
                 "                 options_interval_s = 0, max_channels = 0,"
                 " codecs = { \"%s\" } } },\n"
                 % (CARRIER_IP, self.carrier.port, codec))
        return vb.bench_config(record=self.record, extra=extra)

    def start(self, run, vcsd, sampler):
        self.recordings = os.path.join(vcsd.data, "recordings")
        self.carrier.prepare(run)
        self.carrier.start()
        sampler.add("carrier", self.carrier.pid)
        sampler.add("rtpecho", self.carrier.echo.pid)
        if self.record:
            sampler.add_probe("rec_bytes", lambda: dir_bytes(self.recordings))
        sampler.add_probe("tick_lag", lambda: tick_buckets(vcsd))
        self.metrics_before = vcsd.metrics()
        self.vcsd = vcsd
        run.result.update({"carrier_argv": self.carrier.argv,
                           "rtpecho_argv": self.carrier.echo_argv, "record": self.record,
                           "carrier_codec": self.args.carrier_codec})

    def stop(self, run, win_rows):
        """The carrier's side, and the figures derived from it (saved with the result)."""
        res = run.result
        res["carrier"] = self.carrier.finish(30)
        res["clean"] = bridge_clean(res, self.calls)
        if self.rate and res["cpu"]:
            res["cpu_ms_per_call"] = round(10.0 * res["cpu"]["vcsd"] / self.rate, 3)
        after = self.vcsd.metrics()
        run.result["rtp_dropped_by_vcsd"] = int(after.get("vcs_rtp_dropped_total", 0) -
                                                self.metrics_before.get("vcs_rtp_dropped_total", 0))
        ticks = [r["tick_lag"] for r in win_rows if r.get("tick_lag")]
        if len(ticks) >= 2:
            run.result["tick_lag"] = tick_lag_summary(ticks[0], ticks[-1])
        rows = [r for r in win_rows if r.get("rec_bytes") is not None]
        if len(rows) >= 2:
            dt = rows[-1]["t"] - rows[0]["t"]
            rate = (rows[-1]["rec_bytes"] - rows[0]["rec_bytes"]) / dt
            run.result["recording_write_kib_s"] = round(rate / 1024, 1)

    def after_vcsd(self, run, vcsd):
        if not self.record:
            return
        files = []
        for dirpath, _, names in os.walk(self.recordings):
            files += [os.path.join(dirpath, f) for f in names if f.endswith(".wav")]
        total = sum(os.path.getsize(f) for f in files)
        out = {"files": len(files), "bytes": total,
               "seconds": round((total - 44 * len(files)) / BYTES_PER_S, 1),
               "frames_dropped_log_lines": vcsd.count_lines(r"frames dropped, the writer")}
        # Audio check of a sample: every 20 ms frame of the bridge should carry the caller's
        # tone on the left and its echo (what the caller heard) on the right.
        sample = sorted(files)[::max(1, len(files) // 10)][:10]
        fr = [frames_with_audio(f) for f in sample]
        fr = [x for x in fr if x]
        if fr:
            frames = sum(x[0] for x in fr)
            out["sample_files"] = len(fr)
            out["sample_frames"] = frames
            out["sample_left_sound_pct"] = round(100.0 * sum(x[1] for x in fr) / frames, 2)
            out["sample_right_sound_pct"] = round(100.0 * sum(x[2] for x in fr) / frames, 2)
        run.result["recordings"] = out
        if not self.args.keep_recordings:
            subprocess.run(["rm", "-rf", self.recordings], check=False, timeout=300)


def bridge_clean(res, calls):
    """A clean step: every call set up and ended on both SIPp sides, no 503, no call left."""
    s, c = res["sipp"], res.get("carrier") or {}
    return (s["failed"] == 0 and res["sipp_503"] == 0 and s["successful"] == calls and
            c.get("failed") == 0 and c.get("successful") == calls and
            not res["calls_left_after"])


def print_bridge(res):
    vb.print_result(res)
    c = res.get("carrier") or {}
    log("   carrier SIPp: ok %s failed %s retrans %s (exit %s); RTP dropped by vcsd %s; "
        "carrier echo %s" % (c.get("successful"), c.get("failed"), c.get("retransmissions"),
                             c.get("exit"), res.get("rtp_dropped_by_vcsd"), c.get("rtpecho")))
    if res.get("tick_lag"):
        log("   media ticks over the CPU window (%% later than 1/2/5/10/20 ms...): %s"
            % res["tick_lag"])
    if res.get("record"):
        log("   recordings: written %s KiB/s over the CPU window; %s"
            % (res.get("recording_write_kib_s"), res.get("recordings")))


def scen_bridge_short(args, rates=None, seconds=None, tag="bridge-short"):
    rates = rates or args.bridge_rates
    seconds = seconds or args.step_seconds
    record = recording_on(args, vb.RECORD_CALLS)
    results = []
    for rate in rates:
        calls = rate * seconds
        timeout_s = seconds + 60
        hooks = BridgeHooks(args, calls, timeout_s + 30, record, rate)
        res = vb.run_one(args, "%s-%dcps" % (tag, rate), scenario="uac_hold", service=CALLEE,
                         rate=rate, calls=calls, limit=max(200, rate * 10), timeout_s=timeout_s,
                         tmpl={"hold_ms": args.bridge_hold_ms, "caller": CALLER},
                         config=hooks.config(), rtp_ports=min(16000, max(4000, rate * 16)),
                         window=(3, seconds - 1), sample=args.rtp_sample, hooks=hooks)
        print_bridge(res)
        log("   => %d bridged calls/s %s (vcsd %s ms CPU per bridged call)"
            % (rate, "CLEAN" if res["clean"] else "NOT CLEAN", res.get("cpu_ms_per_call")))
        results.append(res)
        if not res["vcsd_alive_at_end"] or res["vcsd_exit"] != 0:
            log("vcsd died or exited badly (exit %s): stopping the steps" % res["vcsd_exit"])
            break
        if not res["clean"] and len(results) >= 2 and not results[-2]["clean"]:
            log("two failing steps in a row: stopping the steps")
            break
    best = max([r["rate"] for r in results if r["clean"]], default=0)
    log("bridged short calls: highest clean rate %d calls/s" % best)
    return results


def held_calls(args, n, hold_s, tag, service, caller, hooks, config, ports_per_call, per):
    """n two-way calls up together for hold_s (set up at --setup-rate), the CPU window being
    the plateau of n calls up (the health count counts legs: `per` legs each)."""
    ramp_s = n / args.setup_rate
    hold_ms = int((hold_s + ramp_s + 2) * 1000)
    res = vb.run_one(args, "%s-%d" % (tag, n), scenario="uac_hold", service=service,
                     rate=args.setup_rate, calls=n, limit=n,
                     timeout_s=int(ramp_s + hold_ms / 1000 + 60),
                     tmpl={"hold_ms": hold_ms, "caller": caller}, config=config,
                     rtp_ports=ports_per_call * n + 2000, sink_send=True,
                     drain_wait=args.drain_wait, plateau_calls=n * per, sample=1,
                     perf_at=(ramp_s + 8) if args.perf else None, hooks=hooks)
    vb.per_call_figures(res, n)
    return res


def scen_bridge_hold(args, ns=None, hold_s=None, tag="bridge-hold"):
    record = recording_on(args, True)
    results = []
    for n in ns or args.bridge_n:
        hold = hold_s or args.hold
        timeout_s = int(n / args.setup_rate + hold + 2 + 90)
        hooks = BridgeHooks(args, n, timeout_s, record)
        res = held_calls(args, n, hold, tag, CALLEE, CALLER, hooks, hooks.config(), 4, 2)
        print_bridge(res)
        r = res.get("rtp") or {}
        log("   => N=%d bridged: vcsd %s%% of a core, %s%% per bridged call, %s KiB per call, "
            "caller audio back silent in %s of %s packets, failed %d/%s"
            % (n, (res["cpu"] or {}).get("vcsd"), res.get("cpu_per_call_pct"),
               res.get("rss_per_call_kib"), r.get("silent"), r.get("received"),
               res["sipp"]["failed"], (res.get("carrier") or {}).get("failed")))
        if not vb.kept_alive(results, res):
            break
    return results


def scen_conference(args, layouts=None, hold_s=None, tag="conference"):
    results = []
    for rooms, members in layouts or args.rooms:
        n = rooms * members
        res = held_calls(args, n, hold_s or args.hold, "%s-%dx%d" % (tag, rooms, members),
                         "4%03d%04d" % (rooms, members), "[call_number]", None,
                         vb.bench_config(record=recording_on(args, vb.RECORD_CALLS)), 2, 1)
        res["rooms"], res["members"] = rooms, members
        if res["cpu"]:
            res["cpu_per_member_pct"] = res["cpu_per_call_pct"]
        vb.print_result(res)
        log("   => %d room(s) of %d: vcsd %s%% of a core, %s%% per member, %s KiB per member, "
            "failed %d" % (rooms, members, (res["cpu"] or {}).get("vcsd"),
                           res.get("cpu_per_member_pct"), res.get("rss_per_call_kib"),
                           res["sipp"]["failed"]))
        if not vb.kept_alive(results, res):
            break
    return results


def scen_bridge_smoke(args):
    """Tiny versions of the three, to check the harness end to end (no figure to keep)."""
    args = argparse.Namespace(**dict(vars(args), drain_wait=[3]))
    out = scen_bridge_short(args, rates=[20], seconds=5, tag="smoke-bridge-short")
    out += scen_bridge_hold(args, ns=[30], hold_s=5, tag="smoke-bridge-hold")
    out += scen_conference(args, layouts=[(1, 12), (3, 4)], hold_s=5, tag="smoke-conference")
    return out


def parse_rooms(text):
    out = []
    for item in text.split(","):
        rooms, _, members = item.partition("x")
        if not (rooms.isdigit() and members.isdigit()) or not 1 <= int(rooms) <= 999 or \
                not 1 <= int(members) <= 9999:
            raise SystemExit("--rooms: ROOMSxMEMBERS, 1..999 rooms of 1..9999: %r" % item)
        out.append((int(rooms), int(members)))
    return out


def scenarios(args):
    args.bridge_rates = [int(x) for x in args.bridge_rates.split(",") if x]
    args.bridge_n = [int(x) for x in args.bridge_n.split(",") if x]
    args.rooms = parse_rooms(args.rooms)
    own = argparse.Namespace(**vars(args))  # the generators' default differs from vcs_bench's
    own.gen_sched = args.gen_sched or "idle"
    return {"bridge-short": lambda: scen_bridge_short(own),
            "bridge-hold": lambda: scen_bridge_hold(own),
            "conference": lambda: scen_conference(own),
            "bridge-smoke": lambda: scen_bridge_smoke(own)}


if __name__ == "__main__":
    vb.main(sys.modules[__name__])
