#!/usr/bin/env python3
"""Measuring side of bench/vs_blackbox/run. Talks to 127.0.0.1 only.

  measure.py blackbox --port P --pid PID --target URL --module M --rate R --seconds T [--warmup W]
      Drives blackbox_exporter's /probe at a fixed rate of R requests/s (one probe each) from a
      few keep-alive connections: W seconds uncounted, then T seconds counted. CPU is the
      exporter process's utime+stime (/proc/PID/stat) from the start of the counted part until
      its last request has been answered; this driver's own CPU is not counted.

  measure.py phasewatch --port P --pid PID --seconds T [--warmup W]
      phasewatch probes on its own schedule. After W seconds, reads phasewatch_probes_total
      from /metrics, then the process's CPU, waits T seconds, reads the CPU again, then
      /metrics again. The two scrapes fall outside the CPU window; the probe count is scaled
      from the scrapes' midpoints to the CPU window (a scrape takes a few ms).

Both print one JSON object: probes, failures, cpu_s, wall_s, us_per_probe, rate, rss_kb, ...
"""
import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads, living and exited), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def http_get(port, path, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


# ------------------------------------------------------------------------------ blackbox
def drive_blackbox(a):
    path = "/probe?" + urllib.parse.urlencode({"target": a.target, "module": a.module})
    warm_n = int(round(a.warmup * a.rate))
    meas_n = int(round(a.seconds * a.rate))
    total = warm_n + meas_n
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "fail": 0, "errors": {}, "sample": None, "last_done": 0.0}
    t0 = time.monotonic() + 0.2

    def worker():
        conn = None
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= total:
                break
            delay = t0 + i / a.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ok, err, body = False, None, b""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                ok = r.status == 200 and b"\nprobe_success 1\n" in body
                if not ok:
                    err = f"HTTP {r.status}, probe_success != 1"
            except Exception as e:  # noqa: BLE001 - any failure is counted and named
                err = type(e).__name__ + ": " + str(e)[:80]
                if conn is not None:
                    conn.close()
                conn = None
            done = time.monotonic()
            if i >= warm_n:
                with lock:
                    state["ok" if ok else "fail"] += 1
                    if err:
                        state["errors"][err] = state["errors"].get(err, 0) + 1
                    if state["sample"] is None and ok:
                        state["sample"] = body
                    state["last_done"] = max(state["last_done"], done)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.workers)]
    for t in threads:
        t.start()
    tw = t0 + warm_n / a.rate
    delay = tw - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    c0, w0 = cpu_seconds(a.pid), time.monotonic()
    for t in threads:
        t.join()
    c1, w1 = cpu_seconds(a.pid), time.monotonic()
    probes = state["ok"] + state["fail"]
    cpu = c1 - c0
    wall = w1 - w0
    out = {
        "probes": probes, "failures": state["fail"], "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
        "us_per_probe": round(cpu / probes * 1e6, 1) if probes else None,
        "rate": round(probes / wall, 1) if wall > 0 else None,
        "rss_kb": rss_kb(a.pid), "errors": state["errors"],
    }
    if state["sample"]:
        s = state["sample"].decode(errors="replace")
        m = re.search(r"^probe_http_version ([0-9.]+)$", s, re.M)
        out["http_version"] = m.group(1) if m else None
        m = re.search(r'^probe_tls_version_info\{version="([^"]+)"\}', s, re.M)
        out["tls_version"] = m.group(1) if m else None
    print(json.dumps(out))


# ------------------------------------------------------------------------------ phasewatch
LINE = re.compile(r'^phasewatch_probes_total\{([^}]*)\} ([0-9.eE+-]+)$', re.M)


def scrape_counts(port):
    t_a = time.monotonic()
    status, body = http_get(port, "/metrics", timeout=60)
    t_b = time.monotonic()
    if status != 200:
        raise SystemExit(f"phasewatch /metrics: HTTP {status}")
    text = body.decode(errors="replace")
    total = fail = 0.0
    for labels, value in LINE.findall(text):
        v = float(value)
        total += v
        if 'result="failure"' in labels:
            fail += v
    skipped = sum(float(v) for v in re.findall(r"^phasewatch_scheduler_skipped_runs_total(?:\{[^}]*\})? ([0-9.eE+-]+)$", text, re.M))
    m = re.search(r'^phasewatch_build_info\{([^}]*)\}', text, re.M)
    build = m.group(1) if m else ""
    return {"total": total, "fail": fail, "skipped": skipped, "mid": (t_a + t_b) / 2,
            "scrape_s": t_b - t_a, "bytes": len(body), "build": build}


def watch_phasewatch(a):
    time.sleep(a.warmup)
    s0 = scrape_counts(a.port)
    c0, w0 = cpu_seconds(a.pid), time.monotonic()
    time.sleep(a.seconds)
    c1, w1 = cpu_seconds(a.pid), time.monotonic()
    s1 = scrape_counts(a.port)
    raw = s1["total"] - s0["total"]
    span = s1["mid"] - s0["mid"]
    probes = raw * (w1 - w0) / span if span > 0 else raw
    fails = (s1["fail"] - s0["fail"]) * (w1 - w0) / span if span > 0 else 0
    cpu = c1 - c0
    wall = w1 - w0
    print(json.dumps({
        "probes": round(probes, 1), "probes_raw": raw, "failures": round(fails, 1),
        "skipped_runs": s1["skipped"] - s0["skipped"],
        "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
        "us_per_probe": round(cpu / probes * 1e6, 1) if probes > 0 else None,
        "rate": round(probes / wall, 1) if wall > 0 else None,
        "rss_kb": rss_kb(a.pid), "scrape_ms": round(max(s0["scrape_s"], s1["scrape_s"]) * 1e3, 1),
        "metrics_bytes": s1["bytes"], "build": s1["build"],
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("blackbox")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--pid", type=int, required=True)
    b.add_argument("--target", required=True)
    b.add_argument("--module", required=True)
    b.add_argument("--rate", type=float, required=True)
    b.add_argument("--seconds", type=float, required=True)
    b.add_argument("--warmup", type=float, default=2.0)
    b.add_argument("--workers", type=int, default=8)
    w = sub.add_parser("phasewatch")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--pid", type=int, required=True)
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--warmup", type=float, default=5.0)
    a = p.parse_args()
    if a.cmd == "blackbox" and urllib.parse.urlsplit(a.target).hostname != "127.0.0.1":
        sys.exit(f"measure.py: target must be a 127.0.0.1 URL, got {a.target}")
    if a.cmd == "blackbox":
        drive_blackbox(a)
    else:
        watch_phasewatch(a)


if __name__ == "__main__":
    main()
