#!/usr/bin/env python3
"""Measuring side of bench/remote_write/run.

  rw_bench.py --bin B --dir D --http-port P --targets N [--interval S] [--window W] [--rounds R]

One receiver: Prometheus with --web.enable-remote-write-receiver and no scrape configs. One
agent with N targets (http://127.0.0.1:P/tI, an availability and a latency SLO each, as
bench/scale), probing all along. After its first SLO snapshot and one whole probe interval,
phases of W seconds each, CPU from /proc/PID/stat (utime + stime):

  A  the agent alone: neither pushing nor scraped (its probing, the baseline);
  B  the agent pushing to the receiver every 15 s (remote_write added by a SIGHUP reload, one
     send interval of settling before measuring): its CPU above the mean of the A phases
     before and after it, divided by the samples the receiver took
     (phasewatch_remote_write_samples_total{result="sent"}), is the agent's CPU per sample;
     bytes per sample from phasewatch_remote_write_sent_bytes_total. A B A B … A, R times B;
  C  Prometheus in agent mode (--enable-feature=agent: a scraper that only forwards, what a
     user would run to push an exporter's series) scraping the agent every 15 s and
     remote-writing to the same receiver: its whole CPU divided by the samples it sent
     (prometheus_remote_storage_samples_total), bytes per sample from
     prometheus_remote_storage_bytes_total. Being scraped also costs the agent the rendering of
     /metrics (bench/gzip measures it), which Prometheus's figure leaves out and phasewatch's
     includes (a push renders the same text): the comparison favours Prometheus.

Then the receiver is asked how many series of location "bench" it holds from each sender.
127.0.0.1 only.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vs_blackbox"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scale"))
from measure import cpu_seconds, http_get  # noqa: E402  (bench/vs_blackbox's helpers)
from scale import free_port, parse_seconds, write_config  # noqa: E402  (bench/scale's config and helpers)


def metric(port, pattern):
    """Sum of the samples on /metrics whose series (name and labels) match `pattern`."""
    status, body = http_get(port, "/metrics", timeout=120)
    if status != 200:
        raise SystemExit(f"/metrics on {port}: HTTP {status}")
    total = 0.0
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            if re.fullmatch(pattern, series):
                total += float(value)
    return total


def wait_for(what, check, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"timed out: {what}")


def query(port, promql):
    status, body = http_get(port, "/api/v1/query?query=" + urllib.parse.quote(promql), timeout=60)
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def start(args, log_path, cwd):
    log = open(log_path, "w")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--targets", type=int, default=10000)
    p.add_argument("--interval", default="60s")
    p.add_argument("--window", type=float, default=120)
    p.add_argument("--rounds", type=int, default=2, help="push phases, each between two baseline phases")
    a = p.parse_args()
    d = a.dir

    receiver_port, agent_port, scraper_port = free_port(), free_port(), free_port()
    with open(os.path.join(d, "receiver.yml"), "w") as f:
        f.write("global: {}\n")
    receiver = start(["prometheus", f"--config.file={d}/receiver.yml", f"--storage.tsdb.path={d}/receiver",
                      f"--web.listen-address=127.0.0.1:{receiver_port}", "--web.enable-remote-write-receiver"],
                     os.path.join(d, "receiver.log"), d)
    config = os.path.join(d, "phasewatch.yml")

    def agent_config(push):
        write_config(config, a.http_port, a.targets, a.interval, os.path.join(d, "phasewatch.db"))
        with open(config) as f:
            text = f.read().replace("global:\n", "global:\n  location: bench\n", 1)
        if push:
            # job tells the two senders' series apart at the receiver (their instance is the same).
            text += (f"remote_write:\n  - url: http://127.0.0.1:{receiver_port}/api/v1/write\n    send_interval: 15s\n"
                     "    external_labels: {job: pushed}\n")
        with open(config, "w") as f:
            f.write(text)

    agent_config(False)
    agent = start([a.bin, "run", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{agent_port}"],
                  os.path.join(d, "agent.log"), d)
    scraper = None
    started = time.monotonic()
    try:
        wait_for("the receiver", lambda: http_get(receiver_port, "/-/ready", timeout=2)[0] == 200)
        wait_for("the agent's first SLO snapshot",
                 lambda: metric(agent_port, r"phasewatch_slo_snapshot_timestamp_seconds\{.*") > 0)
        time.sleep(max(0.0, parse_seconds(a.interval) + 5 - (time.monotonic() - started)))

        def rate(pid):
            c0, t0 = cpu_seconds(pid), time.monotonic()
            time.sleep(a.window)
            return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)

        sent = r'phasewatch_remote_write_samples_total\{.*result="sent"\}'
        sent_bytes = r"phasewatch_remote_write_sent_bytes_total\{.*"

        def push_phase():
            """B: remote_write added by a reload; (CPU rate, samples, bytes, failed or dropped)."""
            agent_config(True)
            agent.send_signal(signal.SIGHUP)
            wait_for("the agent's first push", lambda: metric(agent_port, sent) > 0)
            time.sleep(15)
            s0, b0 = metric(agent_port, sent), metric(agent_port, sent_bytes)
            c0, t0 = cpu_seconds(agent.pid), time.monotonic()
            time.sleep(a.window)
            c1, t1 = cpu_seconds(agent.pid), time.monotonic()
            s1, b1 = metric(agent_port, sent), metric(agent_port, sent_bytes)
            lost = metric(agent_port, r'phasewatch_remote_write_samples_total\{.*result="(failed|dropped)"\}')
            return (c1 - c0) / (t1 - t0), s1 - s0, b1 - b0, lost

        def base_phase():
            """A: remote_write removed again by a reload; the CPU rate of probing alone."""
            agent_config(False)
            agent.send_signal(signal.SIGHUP)
            time.sleep(15)
            return rate(agent.pid)

        # A B A B … A: each push phase against the mean of the baselines either side of it, so
        # that the agent's drift (its history grows, the SLO refresh with it) cancels out.
        bases = [rate(agent.pid)]
        pushes = []
        for _ in range(a.rounds):
            pushes.append(push_phase())
            bases.append(base_phase())
        costs = [rate_b - (bases[i] + bases[i + 1]) / 2 for i, (rate_b, _, _, _) in enumerate(pushes)]
        pw_samples = sum(p[1] for p in pushes)
        pw_bytes = sum(p[2] for p in pushes)
        failed = sum(p[3] for p in pushes)
        per_round = [c * a.window / max(p[1], 1) * 1e6 for c, p in zip(costs, pushes)]

        # C: Prometheus in agent mode scrapes the agent and remote-writes what it scraped.
        agent_config(False)
        agent.send_signal(signal.SIGHUP)
        with open(os.path.join(d, "scraper.yml"), "w") as f:
            f.write("global: {scrape_interval: 15s, scrape_timeout: 14s}\n"
                    f"scrape_configs:\n  - job_name: scraped\n    static_configs: [{{targets: ['127.0.0.1:{agent_port}']}}]\n"
                    f"remote_write:\n  - url: http://127.0.0.1:{receiver_port}/api/v1/write\n")
        scraper = start(["prometheus", "--enable-feature=agent", f"--config.file={d}/scraper.yml",
                         f"--storage.agent.path={d}/scraper", f"--web.listen-address=127.0.0.1:{scraper_port}"],
                        os.path.join(d, "scraper.log"), d)
        prom_sent = r"prometheus_remote_storage_samples_total\{.*"
        wait_for("Prometheus's first push", lambda: metric(scraper_port, prom_sent) > 0)
        time.sleep(15)
        ps0, pb0 = metric(scraper_port, prom_sent), metric(scraper_port, r"prometheus_remote_storage_bytes_total\{.*")
        pc0, t0 = cpu_seconds(scraper.pid), time.monotonic()
        time.sleep(a.window)
        pc1, t1 = cpu_seconds(scraper.pid), time.monotonic()
        ps1, pb1 = metric(scraper_port, prom_sent), metric(scraper_port, r"prometheus_remote_storage_bytes_total\{.*")
        prom_rate = (pc1 - pc0) / (t1 - t0)
        prom_samples, prom_bytes = ps1 - ps0, pb1 - pb0

        series_pw = query(receiver_port, 'count({location="bench", job="pushed"})')
        series_prom = query(receiver_port, 'count({location="bench", job="scraped"})')

        pushed_seconds = a.window * a.rounds
        cost = sum(costs) / len(costs)
        per_target = pw_samples / (pushed_seconds / 15) / a.targets if pw_samples else 0
        print(f"targets={a.targets} probe interval={a.interval} window={a.window:.0f}s per phase, {a.rounds} push phases; "
              f"agent baseline (probing only) {', '.join(f'{b * 1000:.0f}' for b in bases)} ms CPU/s")
        print(f"{'':34}{'phasewatch push':>18}{'Prometheus agent':>18}")
        print(f"{'samples/s sent':34}{pw_samples / pushed_seconds:>18.0f}{prom_samples / a.window:>18.0f}")
        print(f"{'CPU per sample (µs)':34}{cost * pushed_seconds / max(pw_samples, 1) * 1e6:>18.2f}"
              f"{prom_rate * a.window / max(prom_samples, 1) * 1e6:>18.2f}")
        print(f"{'bytes on the wire per sample':34}{pw_bytes / max(pw_samples, 1):>18.2f}{prom_bytes / max(prom_samples, 1):>18.2f}")
        print(f"{'sender CPU (ms/s)':34}{cost * 1000:>18.1f}{prom_rate * 1000:>18.1f}")
        print(f"phasewatch CPU per sample in each push phase (µs): {', '.join(f'{x:.2f}' for x in per_round)}")
        print(f"phasewatch: {per_target:.1f} samples per target per push; failed or dropped samples: {failed:.0f}")
        print(f"receiver holds {series_pw:.0f} series pushed by phasewatch, {series_prom:.0f} scraped and pushed by Prometheus")
    finally:
        stop(scraper)
        stop(agent)
        stop(receiver)


if __name__ == "__main__":
    sys.exit(main())
