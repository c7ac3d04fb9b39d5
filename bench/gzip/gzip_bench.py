#!/usr/bin/env python3
"""Measuring side of bench/gzip/run: what gzip costs the agent per scrape, and what it saves.

  gzip_bench.py --bin B --dir D --http-port P --targets N --scrapes K [--interval S] [--full]

Starts the agent with N targets (http://127.0.0.1:P/tI, an availability and a latency SLO each,
as bench/scale does), waits for its first SLO snapshot and one whole interval (every target
probed at least once: the exposition at its steady size), then scrapes /metrics K times plain and
K times with `Accept-Encoding: gzip`, alternating (plain first in even rounds, gzip first in odd
ones), one curl per scrape (a fresh connection; curl does not decode: the bytes are the wire's).
Per scrape: the agent's CPU (utime + stime from /proc/PID/stat, 10 ms ticks: summed over K
scrapes the rounding averages out) and curl's time to the last byte. The agent keeps probing
meanwhile; its CPU with no scrape is measured over a quiet window before and after, and that
rate times each scrape's duration is subtracted ("net"). Then Python's zlib on one plain body:
the size and time of levels 1 and 6 (the agent uses 6, zlib's default) and of gunzip, the
client's side. 127.0.0.1 only.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vs_blackbox"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scale"))
from measure import cpu_seconds, http_get  # noqa: E402  (bench/vs_blackbox's helpers)
from scale import free_port, parse_seconds as seconds, write_config  # noqa: E402  (bench/scale's config and helpers)


def wait_snapshot(proc, port, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"agent exited with {proc.returncode}")
        try:
            status, body = http_get(port, "/metrics", timeout=60)
            if status == 200 and b"\nphasewatch_slo_snapshot_timestamp_seconds" in body:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("no SLO snapshot in time")


def curl(port, gzip, out):
    """One scrape: (seconds to the last byte, bytes on the wire, Content-Encoding)."""
    args = ["curl", "-sS", "--max-time", "300", "-o", out, "-D", out + ".h",
            "-w", "%{time_total} %{size_download} %{http_code}"]
    if gzip:
        args += ["-H", "Accept-Encoding: gzip"]
    t, size, code = subprocess.run(args + [f"http://127.0.0.1:{port}/metrics"], check=True,
                                   capture_output=True, text=True).stdout.split()
    if code != "200":
        raise SystemExit(f"/metrics: HTTP {code}")
    with open(out + ".h") as f:
        coding = [line.split(":", 1)[1].strip() for line in f if line.lower().startswith("content-encoding:")]
    return float(t), int(size), (coding or ["identity"])[0]


def idle_rate(pid, seconds):
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def pct(values, q):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 1)) - 1))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--targets", type=int, default=1000)
    p.add_argument("--scrapes", type=int, default=20)
    p.add_argument("--interval", default="30s")
    p.add_argument("--quiet", type=float, default=10, help="seconds of the no-scrape windows")
    p.add_argument("--warmup", type=float, help="seconds from start before measuring (default: the interval + 5)")
    p.add_argument("--full", action="store_true", help="every optional family of /metrics (the default is lean)")
    a = p.parse_args()
    if not shutil.which("curl"):
        raise SystemExit("curl not found (apt-get install -y curl)")

    config = os.path.join(a.dir, "phasewatch.yml")
    write_config(config, a.http_port, a.targets, a.interval, os.path.join(a.dir, "phasewatch.db"), a.full)
    port = free_port()
    log = open(os.path.join(a.dir, "agent.log"), "w")
    proc = subprocess.Popen([a.bin, "run", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=a.dir)
    started = time.monotonic()
    warmup = a.warmup if a.warmup is not None else seconds(a.interval) + 5
    try:
        wait_snapshot(proc, port)
        time.sleep(max(0.0, warmup - (time.monotonic() - started)))
        pid = proc.pid
        for gzip in (False, True):  # warm both paths
            curl(port, gzip, os.path.join(a.dir, "warm"))
        idle_before = idle_rate(pid, a.quiet)
        rows = {False: [], True: []}
        sizes, codings = {}, {}
        for i in range(a.scrapes):
            for gzip in ((False, True) if i % 2 == 0 else (True, False)):
                out = os.path.join(a.dir, "gzip.body" if gzip else "plain.body")
                c0 = cpu_seconds(pid)
                t, size, coding = curl(port, gzip, out)
                rows[gzip].append((t, cpu_seconds(pid) - c0))
                sizes[gzip], codings[gzip] = size, coding
        idle_after = idle_rate(pid, a.quiet)
        idle = (idle_before + idle_after) / 2
        if codings != {False: "identity", True: "gzip"}:
            raise SystemExit(f"unexpected Content-Encoding: {codings}")

        with open(os.path.join(a.dir, "plain.body"), "rb") as f:
            plain = f.read()
        ref = {}
        for level in (1, 6):
            t0 = time.perf_counter()
            c = zlib.compressobj(level, zlib.DEFLATED, 31)
            z = c.compress(plain) + c.flush()
            ref[level] = (len(z), time.perf_counter() - t0)
        with open(os.path.join(a.dir, "gzip.body"), "rb") as f:
            gz = f.read()
        t0 = time.perf_counter()
        same = zlib.decompress(gz, 31)
        gunzip_s = time.perf_counter() - t0

        print(f"targets={a.targets} scrapes={a.scrapes}x2 interval={a.interval} full={a.full} "
              f"agent idle CPU (probing, no scrape): {idle * 1000:.1f} ms/s "
              f"(before {idle_before * 1000:.1f}, after {idle_after * 1000:.1f})")
        print(f"{'':22}{'plain':>14}{'gzip':>14}{'gzip - plain':>16}")

        def line(name, f, unit, digits=1):
            v = {g: f(g) for g in (False, True)}
            print(f"{name:22}{v[False]:>12.{digits}f}{unit:>2}{v[True]:>12.{digits}f}{unit:>2}"
                  f"{v[True] - v[False]:>+14.{digits}f}{unit:>2}")

        line("bytes on the wire", lambda g: sizes[g] / 1e6, "MB", 3)
        line("scrape p50", lambda g: pct([t for t, _ in rows[g]], 0.5) * 1000, "ms")
        line("scrape p99", lambda g: pct([t for t, _ in rows[g]], 0.99) * 1000, "ms")
        line("agent CPU/scrape", lambda g: statistics.mean(c for _, c in rows[g]) * 1000, "ms")
        line("  net of probing", lambda g: statistics.mean(c - idle * t for t, c in rows[g]) * 1000, "ms")
        ratio = len(plain) / sizes[True]
        print(f"gzip: {ratio:.1f}x smaller; the gzip body gunzips to {len(same)} bytes "
              f"(a plain one: {len(plain)}; the exposition moves between scrapes)")
        for link, bps in (("1 Gbit/s", 1e9), ("100 Mbit/s", 1e8)):
            tp, tg = sizes[False] * 8 / bps * 1000, sizes[True] * 8 / bps * 1000
            print(f"  on a {link} link the bytes alone take {tp:.1f} ms plain, {tg:.1f} ms gzip (arithmetic, not measured)")
        print(f"reference, Python's zlib on the plain body in one call: level 1 {ref[1][0] / 1e6:.3f} MB in "
              f"{ref[1][1] * 1000:.1f} ms, level 6 {ref[6][0] / 1e6:.3f} MB in {ref[6][1] * 1000:.1f} ms; "
              f"gunzip (the scraper's side) {gunzip_s * 1000:.1f} ms")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
