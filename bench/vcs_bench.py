#!/usr/bin/env python3
"""vcs_bench: load tests of vcsd with SIPp over loopback (Python 3 standard library only).

Run through bench/run.sh, which raises `ulimit -n` and builds bench/rtpsink.c first.
Scenarios (see bench/README.md for what each measures):
  short     (a) short calls (answer, 1 s prompt, vcsd hangs up), stepped call rates
  play      (b)+(d) N concurrent calls, vcsd plays a looping prompt, caller silent
  play2way  (c)+(d) the same with the caller sending RTP too
  overload  (e) short calls at 3x the sustainable rate, shipped admission control (per-source
            limit off: SIPp is one source standing for many)
  leak      (d) repeated: one vcsd, several loads of N calls, RSS after each has drained
  smoke     tiny versions of all of the above, to check the scripts

Every run starts its own vcsd (free loopback ports, temporary data folder, bench dialplans,
a generated 1 s prompt), its own rtpsink (the media far end of every call) and one SIPp. SIPp
runs are bounded with -m and -timeout; every wait here is bounded too. A sampler reads vcsd's
CPU (utime+stime, whole process and per thread) and RSS from /proc once a second, plus the
CPU of SIPp, rtpsink and everything else on the machine (to spot disturbed runs).
Each run leaves its files in <workdir>/<stamp>-<name>/ and appends one JSON line to
<workdir>/results.jsonl; the figures are printed at the end.
"""

import argparse
import csv
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HZ = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


CHILDREN = []   # every process we start, so that an error never leaves one behind


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    CHILDREN.append(p)
    return p


def kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# ------------------------------------------------------------------------------------------
# Ports

def _bind_ok(port, kind, ip="127.0.0.1"):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# Single ports come from 30000-32699, RTP blocks from 10000-29999: they never overlap, and
# both lie below the kernel's ephemeral range (32768 up by default), which other programs get.
TAKEN = set()   # ports handed out in this process, so that two picks never collide


def free_port(tcp=False, span=1, ip="127.0.0.1"):
    """A free loopback UDP port (and TCP if asked) on ip with `span` free ports from it (SIPp's
    -mp takes mp and mp+2); the start is even when span > 1."""
    for _ in range(500):
        p = random.randrange(30000, 32700 - span)
        if span > 1:
            p &= ~1
        rng = range(p, p + span)
        if any(q in TAKEN for q in rng):
            continue
        if all(_bind_ok(q, socket.SOCK_DGRAM, ip) for q in rng) and \
                (not tcp or _bind_ok(p, socket.SOCK_STREAM, ip)):
            TAKEN.update(rng)
            return p
    raise RuntimeError("no free port")


def free_udp_block(n, taken):
    """n consecutive free UDP ports (even start), clear of `taken`."""
    lo, hi = 10000, 30000
    for _ in range(200):
        start = random.randrange(lo, hi - n) & ~1
        if any(start <= t < start + n for t in taken):
            continue
        if all(_bind_ok(p, socket.SOCK_DGRAM) for p in range(start, start + n)):
            return start
    raise RuntimeError("no block of %d free UDP ports" % n)


# ------------------------------------------------------------------------------------------
# /proc readers

def proc_ticks(pid):
    """utime+stime of a process (or task) in clock ticks, or None when it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def proc_comm(path):
    try:
        with open(path + "/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def proc_value(pid, name, key):
    """The number after `key` in /proc/<pid>/<name> (status, io), or None."""
    try:
        with open("/proc/%d/%s" % (pid, name)) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_rss_kb(pid):
    return proc_value(pid, "status", "VmRSS:")


def machine_ticks():
    """Jiffies of all CPUs: (busy, total, irq+softirq, steal). Interrupt time is not charged to
    any process; steal is time the hypervisor gave to other guests."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    total = sum(v[:8])
    return total - idle, total, v[5] + v[6], v[7]


def thread_ctxt(pid):
    """Involuntary context switches per thread (preemptions): {tid: count}."""
    out = {}
    base = "/proc/%d/task" % pid
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("%s/%s/status" % (base, tid)) as f:
                for line in f:
                    if line.startswith("nonvoluntary_ctxt_switches:"):
                        out[int(tid)] = int(line.split()[1])
        except OSError:
            pass
    return out


def thread_ticks(pid):
    out = {}
    base = "/proc/%d/task" % pid
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        t = proc_ticks("%d/task/%s" % (pid, tid))
        if t is not None:
            out[int(tid)] = t
    return out


def vmstat_idle():
    """Runs `vmstat 1 3`; returns (text, mean idle % of the last two samples)."""
    r = subprocess.run(["vmstat", "1", "3"], capture_output=True, text=True, timeout=20)
    lines = r.stdout.strip().splitlines()
    hdr = lines[1].split()
    idx = hdr.index("id")
    idles = [int(l.split()[idx]) for l in lines[3:]]
    return r.stdout, (sum(idles) / len(idles) if idles else 0)


def wait_idle(min_idle, max_wait):
    deadline = time.monotonic() + max_wait
    while True:
        text, idle = vmstat_idle()
        if idle >= min_idle or time.monotonic() >= deadline:
            if idle < min_idle:
                log("machine still busy (idle %.0f%%), running anyway; noted in the result" % idle)
            return text, idle
        log("machine busy (idle %.0f%% < %d%%), waiting" % (idle, min_idle))
        time.sleep(10)


# ------------------------------------------------------------------------------------------
# Processes

# SIPp's own socket buffers (its default is 64 KiB): at low priority it reads late, and past
# ~1000 calls/s a small buffer drops vcsd's answers; the calls then fail on the generator's side.
SIPP_BUFFER = str(4 << 20)


def udp_rcvbuf_errors():
    """The kernel's count of UDP datagrams dropped on full receive buffers (every socket)."""
    with open("/proc/net/snmp") as f:
        rows = [ln.split() for ln in f if ln.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def udp_socket_drops(port):
    """Datagrams dropped at the UDP socket bound to 127.0.0.1:port (None when none is)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        for ln in f:
            cols = ln.split()
            if len(cols) > 12 and cols[1] == want:
                return int(cols[12])
    return None


def gen_sched(args, default):
    """The command put before a load generator (SIPp, rtpsink): `default` (a nice level), or
    with --gen-sched idle `chrt --idle 0` (it runs only on a core nothing else wants, so it can
    never preempt vcsd); --gen-cpus adds `taskset -c LIST` (pinned away from vcsd)."""
    how = getattr(args, "gen_sched", None)
    prefix = ["chrt", "--idle", "0"] if how == "idle" else list(default)
    cpus = getattr(args, "gen_cpus", None)
    return (["taskset", "-c", cpus] if cpus else []) + prefix


def render_scenario(run_dir, scenario, tmpl):
    """bench/scenarios/<scenario>.xml with its {{name}} template values filled, written to the
    run folder; returns that copy's path."""
    src = os.path.join(HERE, "scenarios", scenario + ".xml")
    with open(src) as f:
        text = f.read()
    for k, v in tmpl.items():
        text = text.replace("{{%s}}" % k, str(v))
    if "{{" in text:
        raise RuntimeError("unfilled template value in %s" % src)
    path = os.path.join(run_dir, scenario + ".xml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Vcsd:
    def __init__(self, run, config, rtp_ports):
        self.run = run
        self.root = run.dir
        self.data = os.path.join(self.root, "data")
        self.sounds = os.path.join(self.root, "sounds")
        os.makedirs(self.data)
        os.makedirs(self.sounds)
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16",
                        os.path.join(self.sounds, "bench1s.wav"), "synth", "1", "sine", "440",
                        "vol", "0.5"], check=True, timeout=30)
        self.conf = os.path.join(self.root, "vcsd.conf")
        with open(self.conf, "w") as f:
            f.write(config)
        self.sip_port = free_port(tcp=True)
        self.http_port = free_port(tcp=True)
        self.rtp_lo = free_udp_block(rtp_ports, [self.sip_port, self.http_port])
        self.rtp_hi = self.rtp_lo + rtp_ports - 1
        self.log_path = os.path.join(self.root, "vcsd.log")
        self.proc = None
        self.token = None
        self.exit_code = None

    def start(self):
        argv = self.run.args.vcsd_wrap.split() + [self.run.args.vcsd, "-c", self.conf,
                "--sip", "127.0.0.1:%d" % self.sip_port,
                "--http", "127.0.0.1:%d" % self.http_port,
                "--data", self.data, "--dialplans", os.path.join(HERE, "dialplans"),
                "--sounds", self.sounds, "--rtp-ports", "%d-%d" % (self.rtp_lo, self.rtp_hi),
                "--log-level", self.run.args.log_level]
        self.argv = argv
        self.logf = open(self.log_path, "wb")
        self.proc = spawn(argv, cwd=self.root, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vcsd exited with %s at start-up; log %s"
                                   % (self.proc.returncode, self.log_path))
            tok = os.path.join(self.data, "admin.token")
            if os.path.exists(tok):
                with open(tok) as f:
                    self.token = f.read().strip()
                if self.health() is not None:
                    return
            time.sleep(0.1)
        raise RuntimeError("vcsd not healthy after 20 s; log %s" % self.log_path)

    def health(self):
        """Calls up according to GET /v1/health, or None when it does not answer."""
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=2)
            c.request("GET", "/v1/health", headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            body = json.loads(r.read().decode())
            c.close()
            return body.get("calls")
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def api(self, method, path, body=None, token=None, headers=None, timeout=60):
        """One management API request (operator token unless `token`); body: a dict (sent as
        JSON) or text (sent as is, e.g. CSV with a Content-Type header). Returns (status,
        decoded JSON, or the text when it is not JSON)."""
        h = {"Authorization": "Bearer " + (token or self.token)}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            text = r.read().decode(errors="replace")
        finally:
            c.close()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text

    def api_ok(self, method, path, body=None, token=None, headers=None, want=(200, 201)):
        """api(), raising when the status is not one of `want`."""
        status, out = self.api(method, path, body, token, headers)
        if status not in want:
            raise RuntimeError("%s %s: %d %s" % (method, path, status, str(out)[:500]))
        return out

    def metrics(self):
        """{name{labels}: value} from GET /metrics, or {} when it does not answer."""
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
            c.request("GET", "/metrics", headers={"Authorization": "Bearer " + self.token})
            body = c.getresponse().read().decode()
            c.close()
        except (OSError, http.client.HTTPException):
            return {}
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=45):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log("vcsd did not exit %d s after SIGTERM: killing it" % timeout)
                self.proc.kill()
                self.proc.wait(10)
        self.exit_code = self.proc.returncode
        self.logf.close()
        return self.exit_code

    def count_lines(self, pattern):
        r = re.compile(pattern)
        try:
            with open(self.log_path, errors="replace") as f:
                return sum(1 for line in f if r.search(line))
        except OSError:
            return None

    def log_summary(self):
        counts = {"error": 0, "warn": 0}
        first = []
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    low = line.lower()
                    for k in counts:
                        if " %s" % k in low[:60] or low.startswith(k):
                            counts[k] += 1
                            if len(first) < 8:
                                first.append(line.rstrip()[:300])
        except OSError:
            pass
        return counts, first


class Sink:
    """rtpsink (bench/rtpsink.c) on one even port; with sample K > 1 also a "blackhole" port
    pair, bound here and never read (the kernel drops what does not fit the tiny buffer), for
    the K-1 of every K calls whose audio is not analysed."""

    def __init__(self, run, send, sample=1):
        self.port = free_port(span=2)
        self.sample = sample
        self.holes = []
        self.hole_port = None
        if sample > 1:
            self.hole_port = free_port(span=2)
            for p in (self.hole_port, self.hole_port + 1):
                h = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                h.bind(("127.0.0.1", p))
                self.holes.append(h)
        self.inf = os.path.join(run.dir, "media_ports.csv")
        with open(self.inf, "w") as f:
            f.write("SEQUENTIAL\n%d;\n" % self.port)
            for _ in range(sample - 1):
                f.write("%d;\n" % self.hole_port)
        self.summary = os.path.join(run.dir, "rtpsink.json")
        self.csv = os.path.join(run.dir, "rtpsink_streams.csv")
        self.out = open(os.path.join(run.dir, "rtpsink.log"), "wb")
        # Niced: when it competes with vcsd for a core, vcsd should win. Its own scheduling
        # delay does not matter (arrival times are kernel timestamps; drops are counted).
        argv = gen_sched(run.args, ["nice", "-n", "10"]) + [
                run.args.rtpsink, "-p", str(self.port), "-o", self.summary,
                "-c", self.csv, "-t", "900"]
        if send:
            argv.append("-s")
        if run.args.dump:
            argv += ["-d", os.path.join(run.dir, "rtp_packets.csv"), "-D", str(run.args.dump)]
        self.proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        time.sleep(0.2)
        if self.proc.poll() is not None:
            raise RuntimeError("rtpsink failed to start (see %s)" % self.out.name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.out.close()
        for h in self.holes:
            h.close()
        try:
            with open(self.summary) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


class Sipp:
    # The From user of the scenarios that take one (uac_hold); SIPp keywords work there too.
    TMPL_DEFAULTS = {"caller": "bench"}

    def __init__(self, run, vcsd, sink, scenario, service, rate, calls, limit, timeout_s,
                 tmpl):
        self.dir = run.dir
        self.scen = render_scenario(run.dir, scenario, dict(self.TMPL_DEFAULTS, **tmpl))
        self.name = scenario
        self.out_name = "sipp.out"
        sip_p = free_port()
        mp = free_port(span=4)
        cp = free_port()
        self.stat = os.path.join(run.dir, "sipp_stat.csv")
        # SIPp shares the cores: at the lowest priority it cannot preempt vcsd's threads.
        self.argv = gen_sched(run.args, ["nice", "-n", "19"]) + [
                     "sipp", "127.0.0.1:%d" % vcsd.sip_port, "-sf", self.scen, "-s", service,
                     "-i", "127.0.0.1", "-p", str(sip_p), "-mp", str(mp), "-cp", str(cp),
                     "-inf", sink.inf,
                     "-r", str(rate), "-m", str(calls), "-l", str(limit),
                     "-timeout", "%ds" % timeout_s, "-max_socket", "20000", "-nostdin",
                     "-buff_size", SIPP_BUFFER,
                     "-recv_timeout", "20000", "-trace_stat", "-stf", self.stat, "-fd", "1",
                     "-trace_counts", "-trace_rtt", "-rtt_freq", "100",
                     "-trace_err", "-max_log_size", "5000000"]
        self.timeout_s = timeout_s
        self.proc = None

    def start(self):
        self.out = open(os.path.join(self.dir, self.out_name), "wb")
        self.proc = spawn(self.argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.t0 = time.monotonic()

    def wait(self):
        try:
            self.proc.wait(self.timeout_s + 30)
        except subprocess.TimeoutExpired:
            log("SIPp did not stop by itself: killing it")
            self.proc.kill()
            self.proc.wait(10)
        self.t1 = time.monotonic()
        self.out.close()
        return self.proc.returncode

    def _file(self, suffix):
        for f in os.listdir(self.dir):
            if f.startswith(self.name + "_") and f.endswith(suffix):
                return os.path.join(self.dir, f)
        return None

    def stats(self):
        """The last row of the statistics CSV, as a dict (SIPp's own column names)."""
        try:
            with open(self.stat, errors="replace") as f:
                rows = list(csv.reader(f, delimiter=";"))
        except OSError:
            return {}
        if len(rows) < 2:
            return {}
        return dict(zip(rows[0], rows[-1]))

    def counts(self):
        """Per scenario message: {label: messages} from -trace_counts (last row)."""
        path = self._file("_counts.csv")
        if not path:
            return {}
        with open(path, errors="replace") as f:
            rows = list(csv.reader(f, delimiter=";"))
        if len(rows) < 2:
            return {}
        return dict(zip(rows[0], rows[-1]))

    def setup_times_ms(self):
        path = self._file("_rtt.csv")
        vals = []
        if not path:
            return vals
        with open(path, errors="replace") as f:
            for row in csv.reader(f, delimiter=";"):   # Date_ms;response_time_ms;rtd_no
                if len(row) >= 3:
                    try:
                        vals.append(float(row[1]))
                    except ValueError:
                        pass
        return vals


def sink_timeline(path):
    """rtpsink's per-second lines: [(mono_s, active, rx, late5)]."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                w = line.split()
                if w and w[0] == "T" and len(w) >= 10:
                    out.append((float(w[3]), int(w[5]), int(w[7]), int(w[9])))
    except OSError:
        pass
    return out


class Sampler(threading.Thread):
    """Once a second: vcsd CPU (process and threads), RSS, calls up; SIPp, rtpsink and the
    whole machine's CPU."""

    def __init__(self, run, vcsd):
        super().__init__(daemon=True)
        self.vcsd = vcsd
        self.others = {}   # name -> pid
        self.probes = {}   # name -> function read once a second into each row
        self.rows = []
        self.stop_ev = threading.Event()
        self.csv_path = os.path.join(run.dir, "samples.csv")

    def add(self, name, pid):
        self.others[name] = pid

    def add_probe(self, name, fn):
        self.probes[name] = fn

    def sample(self):
        busy, total, softirq, steal = machine_ticks()
        row = {"t": time.monotonic(), "vcsd": proc_ticks(self.vcsd.pid),
               "rss_kb": proc_rss_kb(self.vcsd.pid), "threads": thread_ticks(self.vcsd.pid),
               "preempt": thread_ctxt(self.vcsd.pid),
               "m_busy": busy, "m_total": total, "m_softirq": softirq, "m_steal": steal,
               "self": proc_ticks(os.getpid())}
        for name, pid in list(self.others.items()):
            row[name] = proc_ticks(pid)
        row["calls"] = self.vcsd.health()
        for name, fn in list(self.probes.items()):
            row[name] = fn()
        return row

    def run(self):
        nxt = time.monotonic()
        while not self.stop_ev.is_set():
            self.rows.append(self.sample())
            nxt += 1.0
            self.stop_ev.wait(max(0.0, nxt - time.monotonic()))

    def stop(self):
        self.stop_ev.set()
        self.join(10)
        self.write_csv()

    def write_csv(self):
        if not self.rows:
            return
        t0 = self.rows[0]["t"]
        with open(self.csv_path, "w") as f:
            f.write("t_s,calls,vcsd_cpu_pct,rss_kb,sipp_cpu_pct,sink_cpu_pct,machine_busy_pct,"
                    "other_cpu_pct\n")
            for a, b in zip(self.rows, self.rows[1:]):
                w = self.window(a, b)
                f.write("%.1f,%s,%.1f,%s,%.1f,%.1f,%.1f,%.1f\n" % (
                    b["t"] - t0, b["calls"], w["vcsd"], b["rss_kb"], w.get("sipp", 0),
                    w.get("sink", 0), w["machine"], w["other"]))

    @staticmethod
    def _delta(a, b, key):
        if a.get(key) is None or b.get(key) is None:
            return 0
        return b[key] - a[key]

    def window(self, a, b):
        """CPU in % of one core between two samples."""
        dt = b["t"] - a["t"]
        if dt <= 0:
            return {"vcsd": 0, "machine": 0, "other": 0}
        pct = lambda ticks: 100.0 * ticks / HZ / dt
        out = {"vcsd": pct(self._delta(a, b, "vcsd")), "self": pct(self._delta(a, b, "self"))}
        for name in self.others:
            out[name] = pct(self._delta(a, b, name))
        ncpu = os.cpu_count() or 1
        dtot = b["m_total"] - a["m_total"]
        busy_frac = (b["m_busy"] - a["m_busy"]) / dtot if dtot else 0
        out["machine"] = 100.0 * busy_frac * ncpu  # % of one core, like the others
        out["softirq"] = 100.0 * (b["m_softirq"] - a["m_softirq"]) / dtot * ncpu if dtot else 0
        out["steal"] = 100.0 * (b["m_steal"] - a["m_steal"]) / dtot * ncpu if dtot else 0
        # Others = busy time not charged to our processes, minus interrupt time (mostly our
        # own packets' softirq work on loopback).
        ours = out["vcsd"] + out["self"] + sum(out[n] for n in self.others)
        out["other"] = max(0.0, out["machine"] - ours - out["softirq"])
        th = {}
        for tid, t in b["threads"].items():
            if tid in a["threads"]:
                th[tid] = pct(t - a["threads"][tid])
        out["threads"] = th
        pre = {}
        for tid, n in b.get("preempt", {}).items():
            if tid in a.get("preempt", {}):
                pre[tid] = (n - a["preempt"][tid]) / dt
        out["preempt"] = pre
        return out

    def rows_between(self, t_lo, t_hi):
        return [r for r in self.rows if t_lo <= r["t"] <= t_hi]


# (start function, source file) -> label. Worker threads get a number.
THREAD_FUNCS = {("worker_main", "worker.c"): "worker", ("sip_thread", "sip_stack.c"): "sip",
                ("writer_main", "store.c"): "store", ("writer_main", "recorder.c"): "recorder",
                ("loader_main", "prompt_cache.c"): "prompts", ("tts_main", "tts.c"): "tts",
                ("main", "vcsd.c"): "main/http", ("dialer_main", "dialer.c"): "dialer",
                ("thread_main", "events.c"): "events",
                ("gate_main", "compliance_gate.c"): "compliance"}


def thread_labels(pid):
    """Names vcsd's threads by their start function, from one gdb backtrace taken before the
    load (vcsd names only some of its threads); a thread started by a library is named after
    the function below start_thread. Without gdb: comm-tid."""
    labels = {}
    for tid in sorted(int(t) for t in os.listdir("/proc/%d/task" % pid)):
        labels[tid] = "%s-%d" % (proc_comm("/proc/%d/task/%d" % (pid, tid)), tid)
    if not shutil.which("gdb"):
        return labels
    try:
        r = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex", "thread apply all bt"],
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return labels
    frames = {}
    tid = None
    for line in r.stdout.splitlines():
        if line.startswith("Thread ") and "(LWP " in line:
            tid = int(line.split("(LWP ")[1].split(")")[0].split()[0])  # gdb adds the name under valgrind
            frames[tid] = []
        elif tid is not None and line.startswith("#"):
            w = line.split()
            fn = w[3] if len(w) > 3 and w[2] == "in" else w[1]
            src = os.path.basename(line.rsplit(" at ", 1)[1].split(":")[0]) if " at " in line else ""
            frames[tid].append((fn, src))
    n_workers = 0
    for t in sorted(frames):
        label = None
        for fn, src in frames[t]:
            if (fn, src) in THREAD_FUNCS:
                label = THREAD_FUNCS[(fn, src)]
                break
        if label == "worker":
            label = "worker%d" % n_workers
            n_workers += 1
        if label is None:
            names = [fn for fn, _ in frames[t]]
            if "start_thread" in names and names.index("start_thread") > 0:
                label = "lib:%s" % names[names.index("start_thread") - 1]
        if label:
            labels[t] = label
    return labels


# ------------------------------------------------------------------------------------------
# One benchmark run

# The whole-call recording (on by default in vcsd) is off unless VCS_BENCH_RECORD=1, so that
# figures compare with the series measured before it existed.
RECORD_CALLS = os.environ.get("VCS_BENCH_RECORD") == "1"
REALTIME_PRIORITY = 0  # engine.realtime_priority of every run (--realtime-priority)
IO_URING = True  # media.io_uring of every run (--io-uring)


def bench_config(max_cps=100000, max_calls=100000, rate_limit=0, shipped=False,
                 record=RECORD_CALLS, extra=""):
    """vcsd's configuration file; `extra`: more top-level entries (trunks, gateways)."""
    recording = "  recording = { all_calls = %s },\n  media = { io_uring = %s },\n%s" % (
        "true" if record else "false", "true" if IO_URING else "false", extra)
    rt = "realtime_priority = %d" % REALTIME_PRIORITY
    if shipped:  # the shipped engine; SIPp is one source standing for many callers
        return ("return {\n  engine = { %s },\n  sip = { rate_limit = { per_second = 0 } },\n"
                "%s}\n" % (rt, recording))
    return ("return {\n"
            "  engine = { max_cps = %d, max_calls = %d, %s },\n"
            "  sip = { rate_limit = { per_second = %d } },\n"
            "%s}\n" % (max_cps, max_calls, rt, rate_limit, recording))


class Run:
    def __init__(self, args, name):
        self.args = args
        self.name = name
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.dir = os.path.join(args.workdir, "%s-%s" % (stamp, name))
        os.makedirs(self.dir)
        self.result = {"name": name, "dir": self.dir,
                       "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}

    def save(self):
        with open(os.path.join(self.dir, "result.json"), "w") as f:
            json.dump(self.result, f, indent=1, sort_keys=True)
        with open(os.path.join(self.args.workdir, "results.jsonl"), "a") as f:
            f.write(json.dumps(self.result, sort_keys=True) + "\n")


def quiet_lateness(sampler, timeline, win_rows, quiet_other):
    """Late packets (>5 ms) per packet received, over the seconds of the CPU window, for all
    of them and for the "quiet" ones only: seconds when processes other than vcsd, SIPp,
    rtpsink and this script used less than quiet_other % of a core (the box is shared)."""
    if len(win_rows) < 2 or not timeline:
        return None
    lo, hi = win_rows[0]["t"], win_rows[-1]["t"]
    pairs = list(zip(sampler.rows, sampler.rows[1:]))
    tot = [0, 0, 0]
    quiet = [0, 0, 0]
    for mono, active, rx, late in timeline:
        if not lo < mono <= hi:
            continue
        pair = min(pairs, key=lambda ab: abs(ab[1]["t"] - mono))
        other = sampler.window(*pair)["other"]
        tot = [tot[0] + 1, tot[1] + rx, tot[2] + late]
        if other < quiet_other:
            quiet = [quiet[0] + 1, quiet[1] + rx, quiet[2] + late]
    pct = lambda v: round(100.0 * v[2] / v[1], 3) if v[1] else None
    return {"seconds": tot[0], "late5_pct": pct(tot), "quiet_seconds": quiet[0],
            "quiet_late5_pct": pct(quiet), "quiet_other_below_pct": quiet_other}


def cpu_over(sampler, rows, labels):
    """Mean CPU figures over consecutive sample rows."""
    if len(rows) < 2:
        return None
    w = sampler.window(rows[0], rows[-1])
    th = {}
    for tid, v in w["threads"].items():
        th[labels.get(tid, str(tid))] = round(v, 1)
    pre = {}
    for tid, v in w["preempt"].items():
        if v >= 0.1:
            pre[labels.get(tid, str(tid))] = round(v, 1)
    return {"vcsd": round(w["vcsd"], 1), "sipp": round(w.get("sipp", 0), 1),
            "sink": round(w.get("sink", 0), 1), "machine": round(w["machine"], 1),
            "softirq": round(w["softirq"], 1), "other": round(w["other"], 1),
            "steal": round(w["steal"], 1),
            "bench_self": round(w["self"], 1), "threads": th, "preempted_per_s": pre,
            "seconds": round(rows[-1]["t"] - rows[0]["t"], 1)}


def percentile(vals, p):
    if not vals:
        return None
    s = sorted(vals)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def sipp_summary(sipp):
    st = sipp.stats()
    g = lambda k: int(float(st.get(k, "0") or 0))
    setup = sipp.setup_times_ms()
    out = {"created": g("TotalCallCreated"), "successful": g("SuccessfulCall(C)"),
           "failed": g("FailedCall(C)"), "retransmissions": g("Retransmissions(C)"),
           "failed_timeout_recv": g("FailedTimeoutOnRecv(C)"),
           "failed_unexpected": g("FailedUnexpectedMessage(C)"),
           "failed_max_udp_retrans": g("FailedMaxUDPRetrans(C)"),
           "dead_call_msgs": g("DeadCallMsgs(C)"), "out_of_call_msgs": g("OutOfCallMsgs(C)"),
           "call_rate": st.get("CallRate(C)"), "elapsed": st.get("ElapsedTime(C)"),
           "setup_ms_p50": percentile(setup, 50), "setup_ms_p99": percentile(setup, 99),
           "setup_ms_max": max(setup) if setup else None, "setup_samples": len(setup)}
    return out


def count_503(sipp):
    """503s received, from -trace_counts (columns '<index>_503_Recv' in SIPp 3.6)."""
    c = sipp.counts()
    n = 0
    for k, v in c.items():
        if k.endswith("_503_Recv"):
            try:
                n += int(v)
            except ValueError:
                pass
    return n, c


def wait_calls_zero(vcsd, timeout):
    deadline = time.monotonic() + timeout
    n = vcsd.health()
    while time.monotonic() < deadline:
        n = vcsd.health()
        if n == 0:
            return 0
        time.sleep(0.5)
    return n


def vcsd_identity(path):
    st = os.stat(path)
    r = subprocess.run(["sha256sum", path], capture_output=True, text=True, timeout=30)
    head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, timeout=30)
    return {"path": path, "mtime": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                 time.gmtime(st.st_mtime)),
            "sha256": r.stdout.split()[0][:16] if r.stdout else None,
            "repo_head": head.stdout.strip()}


def run_one(args, name, *, scenario, service, rate, calls, limit, timeout_s, tmpl, config,
            rtp_ports, sink_send=False, drain_wait=0, plateau_calls=None, window=None,
            perf_at=None, sample=1, hooks=None):
    """Starts vcsd + rtpsink + sampler, runs one SIPp, collects everything. window: (from, to)
    seconds after SIPp's start over which CPU is averaged (default: whole SIPp run).
    hooks (optional) adds to a run: hooks.start(run, vcsd, sampler) before the caller SIPp
    (a carrier, probes), hooks.stop(run, win_rows) once the load has drained, and
    hooks.after_vcsd(run, vcsd) once vcsd has exited; each writes its figures to run.result."""
    run, vcsd, labels, sink, sampler = start_run(args, name, config, rtp_ports, sink_send,
                                                 sample)
    if hooks:
        hooks.start(run, vcsd, sampler)
    sipp = Sipp(run, vcsd, sink, scenario, service, rate, calls, limit, timeout_s, tmpl)
    run.result.update({"scenario": scenario, "rate": rate, "calls": calls, "limit": limit,
                       "tmpl": tmpl, "config": config, "sink_sends": sink_send,
                       "vcsd_argv": vcsd.argv, "sipp_argv": sipp.argv})
    sipp.start()
    sampler.add("sipp", sipp.pid)
    perf_proc = None
    if perf_at is not None and shutil.which("perf"):
        time.sleep(perf_at)
        perf_proc = spawn(
            ["perf", "record", "-F", "499", "-g", "-p", str(vcsd.pid), "-o",
             os.path.join(run.dir, "perf.data"), "--", "sleep", "10"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rc = sipp.wait()
    if perf_proc:
        perf_proc.wait(30)
    run.result["sipp_exit"] = rc
    rows = sampler.rows
    t0 = sipp.t0
    # CPU window: given, or the plateau of plateau_calls calls up, or the whole SIPp run.
    win_rows = []
    if plateau_calls:
        up = [r for r in rows if r["calls"] is not None and r["calls"] >= plateau_calls]
        if len(up) >= 6:
            win_rows = sampler.rows_between(up[0]["t"] + 2, up[-1]["t"] - 2)
        run.result["plateau_seconds"] = (up[-1]["t"] - up[0]["t"]) if up else 0
    if len(win_rows) < 2 and window:
        win_rows = sampler.rows_between(t0 + window[0], t0 + window[1])
    if len(win_rows) < 2:
        win_rows = sampler.rows_between(t0, sipp.t1)
    run.result["cpu"] = cpu_over(sampler, win_rows, labels)
    run.result["calls_in_window"] = ([r["calls"] for r in win_rows][:1] +
                                     [r["calls"] for r in win_rows][-1:])
    rss_window = [r["rss_kb"] for r in win_rows if r["rss_kb"]]
    run.result["rss_window_kb"] = int(statistics.mean(rss_window)) if rss_window else None
    run.result["sipp"] = sipp_summary(sipp)
    n503, raw_counts = count_503(sipp)
    run.result["sipp_503"] = n503
    run.result["sipp_counts"] = raw_counts
    # After the load: are all calls gone (no stuck call)? Then the drain wait for memory.
    left = wait_calls_zero(vcsd, 20)
    run.result["calls_left_after"] = left
    if left:
        log("WARNING: %s calls still up 20 s after SIPp ended" % left)
    run.result["rss_peak_kb"] = max((r["rss_kb"] or 0) for r in rows)
    if drain_wait:
        # RSS at each checkpoint (seconds after SIPp ended): Sofia keeps finished transactions
        # ~32 s, and vcsd hands idle memory back every 30 s when no call is up.
        log("waiting up to %d s for the load to drain" % max(drain_wait))
        drained = {}
        for point in sorted(drain_wait):
            while time.monotonic() < sipp.t1 + point and vcsd.alive():
                time.sleep(0.5)
            drained[str(point)] = proc_rss_kb(vcsd.pid)
        run.result["rss_after_drain_kb"] = drained
    finish_run(args, run, vcsd, sink, sampler, win_rows, sample, hooks)
    return run.result


def start_run(args, name, config, rtp_ports, sink_send=False, sample=1):
    """The start of every run: waits for an idle machine, starts vcsd (threads named), rtpsink
    and the sampler, and 3 s later reads vcsd's RSS at rest (result "rss_before_kb").
    Returns (run, vcsd, thread labels, sink, sampler)."""
    run = Run(args, name)
    vm_text, idle = wait_idle(args.min_idle, args.idle_wait)
    run.result["vmstat_before"] = vm_text
    run.result["idle_before_pct"] = idle
    log("run %s: %s (machine idle %.0f%%)" % (name, run.dir, idle))
    run.result["vcsd_binary"] = dict(args.vcsd_source, copy=args.vcsd)
    run.result["vcsd_wrap"] = args.vcsd_wrap
    run.result["gen_sched"] = " ".join(gen_sched(args, ["nice -n 19 (SIPp), 10 (rtpsink)"]))
    run.result["realtime_priority"] = REALTIME_PRIORITY
    run.result["io_uring"] = IO_URING
    run.rcvbuf_errors_before = udp_rcvbuf_errors()
    vcsd = Vcsd(run, config, rtp_ports)
    vcsd.start()
    labels = thread_labels(vcsd.pid)
    sink = Sink(run, sink_send, sample)
    sampler = Sampler(run, vcsd)
    sampler.add("sink", sink.pid)
    sampler.start()
    time.sleep(3)
    run.result["rss_before_kb"] = proc_rss_kb(vcsd.pid)
    run.labels = labels
    return run, vcsd, labels, sink, sampler


def finish_run(args, run, vcsd, sink, sampler, win_rows, sample, hooks=None):
    """The end of every run, once the load is over: UDP drops, hooks.stop, rtpsink's figures
    (lateness over the window win_rows), vcsd stopped (exit code) and its log read,
    hooks.after_vcsd, the machine's disturbance over the window; saves the result."""
    run.result["vcsd_alive_at_end"] = vcsd.alive()
    # Whose socket lost datagrams: vcsd's SIP socket, or any (SIPp, rtpsink, RTP).
    run.result["udp_drops"] = {"vcsd_sip": udp_socket_drops(vcsd.sip_port),
                               "all_sockets": udp_rcvbuf_errors() - run.rcvbuf_errors_before}
    if hooks:
        hooks.stop(run, win_rows)
    sampler.stop()
    run.result["rtp"] = sink.stop()
    run.result["rtp_sample"] = sample
    run.result["rtp_quiet"] = quiet_lateness(sampler, sink_timeline(sink.out.name), win_rows,
                                             args.quiet_other)
    run.result["vcsd_exit"] = vcsd.stop()
    if hooks:
        hooks.after_vcsd(run, vcsd)
    run.result["vcsd_log_counts"], run.result["vcsd_log_first"] = vcsd.log_summary()
    # Admitted calls vcsd itself gave up on (its 200 never ACKed, or no final SIP event).
    run.result["vcsd_calls_lost"] = vcsd.count_lines(r"ACK Timeout|no final SIP event")
    # Machine disturbance: CPU used by processes other than vcsd/SIPp/rtpsink/us.
    others = [sampler.window(a, b)["other"] for a, b in zip(win_rows, win_rows[1:])]
    run.result["other_cpu_max_pct"] = round(max(others), 1) if others else None
    run.result["other_cpu_mean_pct"] = round(statistics.mean(others), 1) if others else None
    run.save()


# ------------------------------------------------------------------------------------------
# Scenarios

def fmt_rtp(r):
    if not r:
        return "rtp: no summary"
    rec = r["received"]
    return ("rtp: %d streams, %d pkts received / %d expected by seq (lost %d) / %d expected by "
            "time; late>5ms %d (%.3f%%) in %d streams, >20ms %d, max %.1f ms; first packet early "
            "in %d streams; silent %d; sink drops %d"
            % (r["streams"], rec, r["expected_seq"], r["lost_seq"], r["expected_time"],
               r["late5"], 100.0 * r["late5"] / rec if rec else 0, r["streams_with_late"],
               r["late20"], r["max_late_ms"], r.get("first_early", 0), r["silent"],
               r["sink_drops"]))


def print_result(res):
    s = res["sipp"]
    c = res["cpu"] or {}
    log("== %s: SIPp created %d ok %d failed %d (503 %d) retrans %d, set-up ms p50 %s p99 %s max %s"
        % (res["name"], s["created"], s["successful"], s["failed"], res["sipp_503"],
           s["retransmissions"], s["setup_ms_p50"], s["setup_ms_p99"], s["setup_ms_max"]))
    log("   CPU %% of one core over %ss: vcsd %s (threads %s), sipp %s, sink %s, other %s, "
        "irq+softirq %s, steal %s" % (c.get("seconds"), c.get("vcsd"), c.get("threads"),
                                      c.get("sipp"), c.get("sink"), c.get("other"),
                                      c.get("softirq"), c.get("steal")))
    log("   RSS KiB: before %s window %s peak %s after-drain %s; calls left %s; vcsd exit %s"
        % (res["rss_before_kb"], res["rss_window_kb"], res["rss_peak_kb"],
           res.get("rss_after_drain_kb"), res["calls_left_after"], res["vcsd_exit"]))
    log("   " + fmt_rtp(res["rtp"]) + " (1 call in %d analysed)" % res["rtp_sample"])
    q = res.get("rtp_quiet")
    if q:
        log("   late>5ms over the CPU window: %s%% of packets; in its %d quiet seconds (others < "
            "%d%% of a core): %s%%" % (q["late5_pct"], q["quiet_seconds"],
                                       q["quiet_other_below_pct"], q["quiet_late5_pct"]))
    log("   vcsd threads preempted (involuntary context switches) per second: %s"
        % c.get("preempted_per_s"))
    if res["vcsd_log_counts"]["error"]:
        log("   vcsd log: %s" % res["vcsd_log_counts"])


def scen_short(args, rates=None, seconds=None, tag="short"):
    rates = rates or args.rates
    seconds = seconds or args.step_seconds
    results = []
    for rate in rates:
        res = run_one(args, "%s-%dcps" % (tag, rate), scenario="uac_short", service="2000",
                      rate=rate, calls=rate * seconds, limit=max(200, rate * 10),
                      timeout_s=seconds + 60, tmpl={"bye_timeout_ms": 15000},
                      config=bench_config(), rtp_ports=min(16400, max(2000, rate * 12)),
                      window=(3, seconds - 1), sample=args.rtp_sample,
                      perf_at=5 if args.perf else None)
        print_result(res)
        ok = (res["sipp"]["failed"] == 0 and res["sipp_503"] == 0 and
              res["sipp"]["successful"] == rate * seconds and not res["calls_left_after"])
        res["clean"] = ok
        results.append(res)
        log("   => %d calls/s %s" % (rate, "CLEAN" if ok else "NOT CLEAN"))
        if not res["vcsd_alive_at_end"] or res["vcsd_exit"] not in (0,):
            log("vcsd died or exited badly (exit %s): stopping the steps" % res["vcsd_exit"])
            break
        if not ok and len(results) >= 2 and not results[-2]["clean"]:
            log("two failing steps in a row: stopping the steps")
            break
    best = max([r["rate"] for r in results if r["clean"]], default=0)
    log("short calls: highest clean rate %d calls/s" % best)
    return results


def scen_play(args, two_way, ns=None, hold_s=None, tag=None):
    ns = ns or args.n
    hold_s = hold_s or args.hold
    tag = tag or ("play2way" if two_way else "play")
    results = []
    for n in ns:
        setup_rate = args.setup_rate
        ramp_s = n / setup_rate
        hold_ms = int((hold_s + ramp_s + 2) * 1000)  # every call up together for hold_s
        res = run_one(args, "%s-%d" % (tag, n), scenario="uac_hold", service="2001",
                      rate=setup_rate, calls=n, limit=n, timeout_s=int(ramp_s + hold_ms / 1000 + 60),
                      tmpl={"hold_ms": hold_ms}, config=bench_config(),
                      rtp_ports=2 * n + 2000, sink_send=two_way,
                      drain_wait=args.drain_wait, plateau_calls=n,
                      perf_at=(ramp_s + 8) if args.perf else None,
                      sample=1 if two_way else args.rtp_sample)
        per_call_figures(res, n)
        print_result(res)
        c = res["cpu"] or {}
        log("   => N=%d: vcsd %.1f%% of a core, %.4f%% per call, %s KiB per call, failed %d"
            % (n, c.get("vcsd", 0), res.get("cpu_per_call_pct", 0), res.get("rss_per_call_kib"),
               res["sipp"]["failed"]))
        if not kept_alive(results, res):
            break
    return results


def per_call_figures(res, n):
    """vcsd CPU (% of a core) and RSS growth (KiB) per call of the n up over the window."""
    if res["cpu"]:
        res["cpu_per_call_pct"] = round(res["cpu"]["vcsd"] / n, 4)
    if res["rss_window_kb"] and res["rss_before_kb"]:
        res["rss_per_call_kib"] = round((res["rss_window_kb"] - res["rss_before_kb"]) / n, 1)


def kept_alive(results, res):
    """Appends a run's result; False (series over) when its vcsd died."""
    results.append(res)
    if not res["vcsd_alive_at_end"]:
        log("vcsd died: stopping")
    return res["vcsd_alive_at_end"]


def scen_overload(args, rate=None, seconds=None, tag="overload", shipped=True, max_cps=None):
    rate = rate or args.overload_rate
    if not rate:
        raise SystemExit("overload: give --overload-rate (3x the sustainable short-call rate)")
    seconds = seconds or args.overload_seconds
    cfg = bench_config(shipped=True) if shipped else bench_config(max_cps=max_cps,
                                                                  max_calls=8000,
                                                                  rate_limit=2000)
    res = run_one(args, "%s-%dcps" % (tag, rate), scenario="uac_short", service="2000",
                  rate=rate, calls=rate * seconds, limit=max(200, rate * 10),
                  timeout_s=seconds + 60, tmpl={"bye_timeout_ms": 15000}, config=cfg,
                  rtp_ports=min(16400, max(2000, rate * 12)), window=(3, seconds - 1),
                  sample=args.rtp_sample)
    s = res["sipp"]
    res["answered"] = s["successful"] - res["sipp_503"]
    # An admitted call is lost when SIPp counts it failed (a 503 is a success of uac_short).
    res["admitted_lost"] = s["failed"]
    print_result(res)
    log("   => offered %d calls/s for %d s: admitted and answered %d, fast 503 %d, admitted calls "
        "lost %d (vcsd gave up on %s), set-up p99 %s ms (target: 0 lost, p99 < 200 ms)"
        % (rate, seconds, res["answered"], res["sipp_503"], res["admitted_lost"],
           res["vcsd_calls_lost"], s["setup_ms_p99"]))
    return [res]


def scen_leak(args, n=None, cycles=None, hold_s=10, settle_s=75, tag="leak"):
    """(d) repeated: one vcsd, `cycles` loads of n looping-prompt calls, RSS read settle_s after
    each load ends. A leak grows from cycle to cycle; memory that glibc keeps for reuse does not."""
    n = n or args.leak_n
    cycles = cycles or args.leak_cycles
    run = Run(args, "%s-%dx%d" % (tag, cycles, n))
    vm_text, idle = wait_idle(args.min_idle, args.idle_wait)
    run.result.update({"vmstat_before": vm_text, "idle_before_pct": idle,
                       "vcsd_binary": dict(args.vcsd_source, copy=args.vcsd)})
    log("run %s: %s (machine idle %.0f%%)" % (run.name, run.dir, idle))
    vcsd = Vcsd(run, bench_config(), 2 * n + 2000)
    vcsd.start()
    sink = Sink(run, False, args.rtp_sample)
    sampler = Sampler(run, vcsd)
    sampler.add("sink", sink.pid)
    sampler.start()
    time.sleep(3)
    rss = [("start", proc_rss_kb(vcsd.pid))]
    failed = 0
    setup_rate = args.setup_rate
    try:
        for i in range(cycles):
            sub = os.path.join(run.dir, "cycle%d" % i)
            os.makedirs(sub)
            run.dir, top = sub, run.dir
            sipp = Sipp(run, vcsd, sink, "uac_hold", "2001", setup_rate, n, n,
                        int(n / setup_rate + hold_s + 60), {"hold_ms": hold_s * 1000})
            run.dir = top
            sipp.start()
            sampler.add("sipp", sipp.pid)
            sipp.wait()
            st = sipp_summary(sipp)
            failed += st["failed"] + (n - st["successful"])
            peak = max((r["rss_kb"] or 0) for r in sampler.rows)
            left = wait_calls_zero(vcsd, 20)
            while time.monotonic() < sipp.t1 + settle_s and vcsd.alive():
                time.sleep(0.5)
            rss.append(("cycle%d peak" % i, peak))
            rss.append(("cycle%d +%ds" % (i, settle_s), proc_rss_kb(vcsd.pid)))
            log("   cycle %d: ok %d failed %d, calls left %s, RSS peak %s KiB, %d s after: %s KiB"
                % (i, st["successful"], st["failed"], left, peak, settle_s, rss[-1][1]))
    finally:
        sampler.stop()
        run.result["rtp"] = sink.stop()
        run.result["vcsd_exit"] = vcsd.stop()
    run.result.update({"n": n, "cycles": cycles, "hold_s": hold_s, "settle_s": settle_s,
                       "rss_kb": rss, "failed": failed, "rtp_sample": args.rtp_sample})
    run.result["vcsd_log_counts"], run.result["vcsd_log_first"] = vcsd.log_summary()
    run.save()
    log("== %s: RSS KiB %s; failed %d; vcsd exit %s" % (run.name, rss, failed,
                                                         run.result["vcsd_exit"]))
    return [run.result]


def scen_smoke(args):
    out = []
    out += scen_short(args, rates=[20], seconds=5, tag="smoke-short")
    out += scen_play(args, False, ns=[20], hold_s=5, tag="smoke-play")
    out += scen_play(args, True, ns=[20], hold_s=5, tag="smoke-play2way")
    out += scen_overload(args, rate=60, seconds=5, tag="smoke-overload", shipped=False,
                         max_cps=30)
    out += scen_leak(args, n=20, cycles=2, hold_s=2, settle_s=5, tag="smoke-leak")
    return out


def main(*extras):
    """extras: modules adding scenarios, each with DOC (its part of --help), SCENARIOS (their
    names), add_args(parser) and scenarios(args) -> {name: function}."""
    names = ", ".join(["short, play, play2way, overload, leak, smoke"] +
                      [", ".join(x.SCENARIOS) for x in extras])
    ap = argparse.ArgumentParser(description=__doc__ + "".join(x.DOC for x in extras),
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("scenarios", nargs="*", default=["smoke"],
                    help="%s (default smoke)" % names)
    ap.add_argument("--vcsd", default=os.environ.get("VCSD", "/tmp/build/src/vcsd"))
    ap.add_argument("--rtpsink", required=True)
    ap.add_argument("--workdir", default=os.environ.get("BENCH_WORKDIR", "/tmp/vcs-bench"))
    ap.add_argument("--rates", default="100,300,500,800,1000,1500",
                    help="short-call rates to step through (calls/s)")
    ap.add_argument("--step-seconds", type=int, default=20)
    ap.add_argument("--n", default="500,1000,2000,4000", help="concurrent calls for play*")
    ap.add_argument("--hold", type=int, default=30,
                    help="seconds all N calls are up together (play*, bridge-hold, conference)")
    ap.add_argument("--setup-rate", type=int, default=200,
                    help="call set-up rate for play*, bridge-hold, conference")
    ap.add_argument("--drain-wait", default="40,75",
                    help="after play*: seconds after the load at which RSS is read")
    ap.add_argument("--overload-rate", type=int, default=0)
    ap.add_argument("--leak-n", type=int, default=1000, help="calls per cycle for leak")
    ap.add_argument("--leak-cycles", type=int, default=3)
    ap.add_argument("--overload-seconds", type=int, default=30)
    ap.add_argument("--overload-max-cps", type=int, default=0,
                    help="overload with engine.max_cps set to this (default: shipped config)")
    ap.add_argument("--min-idle", type=int, default=85, help="vmstat idle %% wanted before a run")
    ap.add_argument("--idle-wait", type=int, default=120, help="max seconds to wait for it")
    ap.add_argument("--log-level", default="warn")
    ap.add_argument("--vcsd-wrap", default="",
                    help="command put before vcsd, which must exec it (same PID), e.g.\n"
                         "'chrt -r 5' or 'nice -n -10': an experiment on scheduling")
    ap.add_argument("--rtp-sample", type=int, default=4,
                    help="analyse the audio of 1 call in K (one-way scenarios; the others go\n"
                         "to a socket nobody reads); play2way always takes every call")
    ap.add_argument("--dump", type=int, default=0, metavar="K",
                    help="rtpsink writes every packet of 1 analysed stream in K to rtp_packets.csv")
    ap.add_argument("--quiet-other", type=float, default=15.0,
                    help="a second is quiet when others use less than this %% of a core")
    ap.add_argument("--perf", action="store_true", help="perf record 10 s of each play* plateau")
    ap.add_argument("--gen-sched", choices=("nice", "idle"), default=None,
                    help="load generators (SIPp, rtpsink): 'nice' (SIPp nice 19, rtpsink nice 10;\n"
                         "the default of the scenarios above) or 'idle' (chrt --idle 0: they run\n"
                         "only on a core vcsd leaves free; the default of the bridge scenarios)")
    ap.add_argument("--gen-cpus", default=None, metavar="LIST",
                    help="pin the load generators with taskset -c LIST (e.g. 1)")
    ap.add_argument("--realtime-priority", type=int, default=0, metavar="P",
                    help="vcsd's engine.realtime_priority (its media workers SCHED_RR at P;\n"
                         "default 0: ordinary threads, as shipped)")
    ap.add_argument("--io-uring", choices=("on", "off"), default="on",
                    help="vcsd's media.io_uring (on, as shipped: the tick batches its socket I/O)")
    for x in extras:
        x.add_args(ap)
    args = ap.parse_args()
    global REALTIME_PRIORITY, IO_URING
    REALTIME_PRIORITY = args.realtime_priority
    IO_URING = args.io_uring == "on"
    args.rates = [int(x) for x in args.rates.split(",") if x]
    args.n = [int(x) for x in args.n.split(",") if x]
    args.drain_wait = [int(x) for x in args.drain_wait.split(",") if x]
    os.makedirs(args.workdir, exist_ok=True)
    for tool in ("sipp", "sox", "vmstat"):
        if not shutil.which(tool):
            raise SystemExit("%s is missing" % tool)
    if not os.access(args.vcsd, os.X_OK):
        raise SystemExit("no vcsd binary at %s (set VCSD=)" % args.vcsd)
    # The binary may be rebuilt while a series runs: every run of this invocation uses one copy.
    ident = vcsd_identity(args.vcsd)
    copy = os.path.join(args.workdir, "vcsd-%s" % ident["sha256"])
    if not os.path.exists(copy):
        shutil.copy2(args.vcsd, copy)
    log("vcsd: %s (built %s, repo HEAD %s), running the copy %s"
        % (args.vcsd, ident["mtime"], ident["repo_head"], copy))
    args.vcsd_source = ident
    args.vcsd = copy
    funcs = {"short": lambda: scen_short(args),
             "play": lambda: scen_play(args, False),
             "play2way": lambda: scen_play(args, True),
             "overload": lambda: scen_overload(
                 args, shipped=not args.overload_max_cps, max_cps=args.overload_max_cps,
                 tag="overload" if not args.overload_max_cps
                 else "overload-cap%d" % args.overload_max_cps),
             "leak": lambda: scen_leak(args),
             "smoke": lambda: scen_smoke(args)}
    for x in extras:
        funcs.update(x.scenarios(args))
    for s in args.scenarios:
        if s not in funcs:
            raise SystemExit("unknown scenario %r (have: %s)" % (s, ", ".join(funcs)))
    try:
        for s in args.scenarios:
            funcs[s]()
    finally:
        kill_children()


if __name__ == "__main__":
    main()
