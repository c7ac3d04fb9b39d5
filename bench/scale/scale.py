#!/usr/bin/env python3
"""Measuring side of bench/scale/run. Starts the phasewatch agent itself; 127.0.0.1 only.

  scale.py load --bin B --dir D --http-port P --targets N --interval S --seconds T --warmup W
                [--metrics-requests K] [--label L]
      Runs the agent with N targets (every one http://127.0.0.1:P/tI, an availability and a
      latency SLO each) probing every S seconds. After W seconds (the first SLO snapshot has
      been published by then), measures for T seconds: probes/s, scheduling lag (p50/p99 of
      phasewatch_scheduler_lag_seconds over the window, interpolated in its buckets as
      Prometheus's histogram_quantile does, and the share of probes started within 5 ms), the
      agent's CPU per probe, RSS; then K GETs of /metrics and of /-/healthy (the HTTP floor of
      the same server) one after another, each timed to the last byte (by the curl CLI when it
      is installed, else by Python's http.client).

  scale.py table RESULTS
      The goals next to the figures and their references, from the lines the other modes printed.

  scale.py startup --bin B --dir D --http-port P --targets N --db PATH [--label L]
      Starts the agent on an existing database (targets t0 … tN-1, as bench/slo makes them) and
      times: process start → /-/ready answers, and → the first SLO snapshot is in /metrics.

Each prints one line of key=value figures, prefixed with its label.
"""
import argparse
import gzip
import http.client
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vs_blackbox"))
from measure import cpu_seconds, http_get as get  # noqa: E402  (bench/vs_blackbox's helpers)


def memory_mib(pid, field=None):
    """(VmRSS, VmHWM) of the process, MiB; or one other field of /proc/PID/status."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0]) / 1024
    if field:
        return values.get(field, 0)
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def timed_gets(port, path, count, headers=None):
    """`count` GETs on one kept-alive connection; seconds to the last byte of each, and bytes
    received (compressed ones, with `Accept-Encoding: gzip` in `headers`: curl does not decode
    them unless asked). With the curl CLI (a client in C, like Prometheus's in Go, reading at
    memory speed) when it is there: Python's http.client spends ~0.3 s of its own reading
    200 MB of chunked text."""
    headers = headers or {}
    if shutil.which("curl"):
        url = f"http://127.0.0.1:{port}{path}"
        flags = [arg for k, v in headers.items() for arg in ("-H", f"{k}: {v}")]
        out = subprocess.run(["curl", "-sS", "--max-time", "120", "-w", "%{time_total} %{size_download} %{http_code}\\n"] + flags
                             + ["-o", "/dev/null", url] * count, check=True, capture_output=True, text=True).stdout.splitlines()
        rows = [line.split() for line in out if line.strip()]
        if any(code != "200" for _, _, code in rows):
            raise SystemExit(f"GET {path}: HTTP {[code for _, _, code in rows]}")
        return [float(t) for t, _, _ in rows], int(rows[-1][1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times, size = [], 0
    for _ in range(count):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        times.append(time.perf_counter() - t0)
        if r.status != 200:
            raise SystemExit(f"GET {path}: HTTP {r.status}")
        size = len(body)
    conn.close()
    return times, size


def nearest_rank(values, q):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 1)) - 1))]


def scrape(port):
    """The agent's own series we read: lag buckets, probe counters."""
    status, body = get(port, "/metrics")
    if status != 200:
        raise SystemExit(f"/metrics: HTTP {status}")
    lag, probes, failures, snapshot = {}, 0.0, 0.0, None
    for line in body.decode().splitlines():
        if line.startswith("phasewatch_scheduler_lag_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            lag[float(le)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("phasewatch_probes_total{"):
            value = float(line.rsplit(" ", 1)[1])
            probes += value
            if 'result="failure"' in line:
                failures += value
        elif line.startswith("phasewatch_slo_snapshot_timestamp_seconds"):
            snapshot = float(line.rsplit(" ", 1)[1])
    return {"lag": lag, "probes": probes, "failures": failures, "snapshot": snapshot, "bytes": len(body)}


def histogram_quantile(q, before, after):
    """Prometheus's histogram_quantile over the increase between two scrapes of cumulative buckets."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return float("nan"), 0
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in zip(bounds, counts):
        if count >= rank:
            if bound == float("inf"):
                return prev_bound, total
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / max(count - prev_count, 1e-12), total
        prev_bound, prev_count = bound, count
    return bounds[-1], total


def write_config(path, port, targets, interval, db, full=False):
    with open(path, "w") as f:
        f.write(f"global:\n  interval: {interval}\n  timeout: 2s\n")
        f.write(f"storage:\n  path: {db}\n")
        if full:
            f.write("metrics:\n  phase_histograms: true\n  latency_quantiles: true\n  slo_windows: true\n  budget_detail: true\n")
        f.write("targets:\n")
        for i in range(targets):
            f.write(f"  - name: t{i}\n    url: http://127.0.0.1:{port}/t{i}\n"
                    "    slo: {availability: 99.9, latency: {threshold: 100ms, objective: 99}}\n")


class Agent:
    def __init__(self, binary, workdir, config, port):
        self.port = port
        self.log = open(os.path.join(workdir, f"agent-{port}.log"), "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "run", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"agent exited with {self.proc.returncode}; log: {self.log.name}")
            try:
                if get(self.port, "/-/ready", timeout=2)[0] == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.005)
        raise SystemExit("agent not ready in time")

    def wait_snapshot(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if scrape(self.port)["snapshot"] is not None:
                return time.monotonic() - self.started
            time.sleep(0.05)
        raise SystemExit("no SLO snapshot in time")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fmt(label, figures):
    print(label + " " + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


def load(a):
    run_dir = os.path.join(a.dir, a.label)
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    config = os.path.join(run_dir, "phasewatch.yml")
    write_config(config, a.http_port, a.targets, a.interval, os.path.join(run_dir, "phasewatch.db"), a.full)
    agent = Agent(a.bin, run_dir, config, free_port())
    try:
        ready = agent.wait_ready()
        time.sleep(a.warmup)
        pid = agent.proc.pid
        before, cpu0, t0 = scrape(agent.port), cpu_seconds(pid), time.monotonic()
        peak_rss = 0.0
        while time.monotonic() - t0 < a.seconds:
            time.sleep(1)
            peak_rss = max(peak_rss, memory_mib(pid)[0])
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        after = scrape(agent.port)
        rss, hwm = memory_mib(pid)
        anon = memory_mib(pid, "RssAnon")
        uptime = time.monotonic() - agent.started
        probes = after["probes"] - before["probes"]
        failures = after["failures"] - before["failures"]
        p50, n = histogram_quantile(0.50, before["lag"], after["lag"])
        p99, _ = histogram_quantile(0.99, before["lag"], after["lag"])
        within5 = (after["lag"].get(0.005, 0) - before["lag"].get(0.005, 0)) / n if n else float("nan")
        formats = measure_formats(agent.port, a.http_port, a.static_root, a.metrics_requests)
        metrics, size = formats["text_times"], formats["text_bytes"]
        healthy, _ = timed_gets(agent.port, "/-/healthy", a.metrics_requests)
        fmt(a.label, {
            "targets": a.targets, "interval": a.interval, "full": int(a.full), "ready_s": f"{ready:.2f}",
            "probes_per_s": f"{probes / (t1 - t0):.1f}", "expected_per_s": f"{a.targets / parse_seconds(a.interval):.1f}",
            "failures": int(failures), "lag_p50_ms": f"{p50 * 1000:.2f}", "lag_p99_ms": f"{p99 * 1000:.2f}",
            "lag_within_5ms": f"{within5 * 100:.2f}%", "cpu_us_per_probe": f"{(cpu1 - cpu0) / probes * 1e6:.0f}" if probes else "nan",
            "cpu_cores": f"{(cpu1 - cpu0) / (t1 - t0):.2f}",
            "rss_mib": f"{rss:.0f}", "rss_anon_mib": f"{anon:.0f}", "rss_peak_window_mib": f"{peak_rss:.0f}", "rss_hwm_mib": f"{hwm:.0f}",
            "uptime_s": f"{uptime:.0f}",
            "metrics_p50_ms": f"{nearest_rank(metrics, 0.5) * 1000:.1f}", "metrics_p99_ms": f"{nearest_rank(metrics, 0.99) * 1000:.1f}",
            "metrics_bytes": size, "healthy_p99_ms": f"{nearest_rank(healthy, 0.99) * 1000:.2f}",
            **{k: v for k, v in formats.items() if not k.endswith("_times")},
        })
    finally:
        agent.stop()


FORMATS = {
    "text": "text/plain;version=0.0.4",
    "openmetrics": "application/openmetrics-text;version=1.0.0",
    "protobuf": "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
}


def measure_formats(port, nginx_port, static_root, count):
    """/metrics in each format, plain and with `Accept-Encoding: gzip` as Prometheus sends it,
    next to the floor: the same bytes (the text format's, plain and gzipped) as static files
    from nginx on this machine. A format the agent does not serve (another Content-Type came
    back) is left out. Also the series per target, from the text: lines of target t0."""
    figures = {}
    status, body = get(port, "/metrics")
    figures["series_per_target"] = sum(1 for line in body.decode().splitlines()
                                       if not line.startswith("#") and 'target="t0"' in line)
    with open(os.path.join(static_root, "metrics.txt"), "wb") as f:
        f.write(body)
    with open(os.path.join(static_root, "metrics.txt.gz"), "wb") as f:
        f.write(gzip.compress(body, 6))
    for name, accept in FORMATS.items():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/metrics", headers={"Accept": accept})
        r = conn.getresponse()
        r.read()
        conn.close()
        served = (r.getheader("Content-Type") or "").split(";")[0].strip()
        if served != accept.split(";")[0]:
            continue
        for encoding in ("plain", "gzip"):
            headers = {"Accept": accept} | ({"Accept-Encoding": "gzip"} if encoding == "gzip" else {})
            times, size = timed_gets(port, "/metrics", count, headers)
            key = name if encoding == "plain" else f"{name}_gzip"
            figures[f"{key}_times"] = times
            figures[f"{key}_bytes"] = size
            figures[f"{key}_p50_ms"] = f"{nearest_rank(times, 0.5) * 1000:.1f}"
            figures[f"{key}_p99_ms"] = f"{nearest_rank(times, 0.99) * 1000:.1f}"
    for key, path in (("floor", "/static/metrics.txt"), ("floor_gzip", "/static/metrics.txt.gz")):
        times, size = timed_gets(nginx_port, path, count)
        figures[f"{key}_bytes"] = size
        figures[f"{key}_p50_ms"] = f"{nearest_rank(times, 0.5) * 1000:.1f}"
        figures[f"{key}_p99_ms"] = f"{nearest_rank(times, 0.99) * 1000:.1f}"
    return figures


def startup(a):
    run_dir = os.path.join(a.dir, f"startup-{a.label}")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    db = a.db
    if db is None:
        db = os.path.join(run_dir, "empty.db")
    config = os.path.join(run_dir, "phasewatch.yml")
    write_config(config, a.http_port, a.targets, a.interval, db)
    agent = Agent(a.bin, run_dir, config, free_port())
    try:
        ready = agent.wait_ready()
        snapshot = agent.wait_snapshot()
        rss, hwm = memory_mib(agent.proc.pid)
        size = os.path.getsize(db) if os.path.exists(db) else 0
        fmt(a.label, {"targets": a.targets, "db_mib": f"{size / 2**20:.0f}", "ready_s": f"{ready:.3f}",
                      "first_slo_snapshot_s": f"{snapshot:.3f}", "rss_mib": f"{rss:.0f}", "rss_hwm_mib": f"{hwm:.0f}"})
    finally:
        agent.stop()


def parse_seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    raise SystemExit(f"interval {text!r}: use ms, s, m or h")


def table(a):
    """The goals, side by side with the reference runs, from the lines of a results file."""
    rows = {}
    with open(a.results) as f:
        for line in f:
            label, *pairs = line.split()
            rows[label] = dict(pair.split("=", 1) for pair in pairs)
    loads = sorted((int(r["targets"]), r) for label, r in rows.items() if label.startswith("load-") and r.get("full") != "1")
    ref = next((r for n, r in loads if n == 1), None)
    # The goals are set at 1 000 and 10 000 targets; LOADS may leave either out.
    small = next((r for n, r in reversed(loads) if 1 < n <= 1000), None)
    large = next((r for n, r in reversed(loads) if n > 1000), None)
    full = next((r for label, r in sorted(rows.items()) if label.startswith("load-") and r.get("full") == "1"), None)

    def check(value, limit):
        try:
            return "ok" if float(value) <= limit else "MISSED"
        except (TypeError, ValueError):
            return "-"

    out = [("goal", "figure", "reference (same run)", "verdict")]
    if large:
        out.append((f"lag p99 < 5 ms at {large['expected_per_s']} probes/s ({large['targets']} targets)",
                    f"{large['lag_p99_ms']} ms (p50 {large['lag_p50_ms']}, {large['lag_within_5ms']} within 5 ms)",
                    f"1 target: p99 {ref['lag_p99_ms']} ms" if ref else "", check(large["lag_p99_ms"], 4.999)))
        out.append((f"sustained probe rate, {large['targets']} targets every {large['interval']}",
                    f"{large['probes_per_s']}/s of {large['expected_per_s']}/s, {large['failures']} failed, {large['cpu_cores']} cores",
                    f"{large['cpu_us_per_probe']} us CPU/probe (1 target: {ref['cpu_us_per_probe']})" if ref else "",
                    "ok" if float(large["probes_per_s"]) >= 0.99 * float(large["expected_per_s"]) and large["failures"] == "0" else "MISSED"))
    if full:
        out.append((f"lag p99 < 5 ms, full /metrics ({full['targets']} targets)",
                    f"{full['lag_p99_ms']} ms (p50 {full['lag_p50_ms']}, {full['lag_within_5ms']} within 5 ms)", "", check(full["lag_p99_ms"], 4.999)))
    # RSS goals are the 1-target agent's plus a budget: the Swift runtime's fixed cost is not it.
    for run, budget, note in ((small, 16, ""), (large, 128, ""), (full, 128, ", full /metrics")):
        if run and ref:
            out.append((f"RSS <= 1 target + {budget} MiB at {run['targets']} targets{note}",
                        f"{run['rss_mib']} MiB (peak {run['rss_hwm_mib']}; anonymous {run.get('rss_anon_mib', '?')}; "
                        f"{run.get('uptime_s', '?')} s after start)",
                        f"1 target: {ref['rss_mib']} MiB (anonymous {ref.get('rss_anon_mib', '?')})",
                        check(float(run["rss_mib"]) - float(ref["rss_mib"]), budget)))
    for run, note in ((small, ""), (large, ""), (full, ", full")):
        if not run:
            continue
        out.append((f"series per target{note} ({run['targets']} targets)", run.get("series_per_target", "?"), "",
                    check(run.get("series_per_target"), 50) if not note else ""))
        floor = run.get("floor_p99_ms")
        for key, label in (("text", "text"), ("openmetrics", "OpenMetrics"), ("protobuf", "protobuf"),
                           ("text_gzip", "text, gzip"), ("openmetrics_gzip", "OpenMetrics, gzip"), ("protobuf_gzip", "protobuf, gzip")):
            if f"{key}_p99_ms" not in run:
                continue
            floor_key = "floor_gzip" if key.endswith("_gzip") else "floor"
            floor = run.get(f"{floor_key}_p99_ms")
            goal = run is large and key in ("text", "openmetrics")
            out.append((f"/metrics {label} p99{' <= 2x floor' if goal else ''} at {run['targets']} targets{note}",
                        f"{run[key + '_p99_ms']} ms (p50 {run[key + '_p50_ms']}, {int(run[key + '_bytes']) / 2**20:.2f} MiB)",
                        f"nginx, same text{' gzipped' if key.endswith('_gzip') else ''} as a file: p99 {floor} ms "
                        f"(p50 {run.get(floor_key + '_p50_ms')}, {int(run.get(floor_key + '_bytes', 0)) / 2**20:.2f} MiB)",
                        check(float(run[key + "_p99_ms"]) / max(float(floor), 0.001), 2) if goal and floor else ""))
    full, empty = rows.get("startup-30d"), rows.get("startup-empty")
    if full:
        out.append((f"startup with 30 days of history <= 2 s ({full['targets']} targets, {full['db_mib']} MiB)",
                    f"{full['ready_s']} s to /-/ready; first SLO snapshot {full['first_slo_snapshot_s']} s",
                    f"empty database: {empty['ready_s']} s; snapshot {empty['first_slo_snapshot_s']} s" if empty else "",
                    check(full["ready_s"], 2)))
    widths = [max(len(r[i]) for r in out) for i in range(4)]
    for r in out:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["load", "startup", "table"])
    p.add_argument("results", nargs="?")
    p.add_argument("--bin")
    p.add_argument("--dir")
    p.add_argument("--http-port", type=int)
    p.add_argument("--targets", type=int)
    p.add_argument("--interval", default="5s")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--warmup", type=float, default=25)
    p.add_argument("--metrics-requests", type=int, default=30)
    p.add_argument("--db")
    p.add_argument("--label", default="run")
    p.add_argument("--static-root", help="directory nginx serves under /static/ (the /metrics floor)")
    p.add_argument("--full", action="store_true",
                   help="config metrics: every optional family on (the default is lean)")
    a = p.parse_args()
    {"load": load, "startup": startup, "table": table}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
