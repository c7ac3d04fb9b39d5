#!/usr/bin/env python3
"""Measuring side of bench/soak/load. Talks to 127.0.0.1 only.

  soakmetrics.py scrape --port P --pid PID [--nginx-pid N] --out FILE
      GET /metrics once; writes JSON: the request's start/end/midpoint (Unix time), the
      phasewatch_scheduler_lag_seconds buckets/count/sum, phasewatch_probes_total by result,
      phasewatch_scheduler_skipped_runs_total, phasewatch_storage_write_seconds count/sum, the
      agent's (and nginx's) CPU seconds, per-CPU jiffies from /proc/stat, the response size.

  soakmetrics.py rss --pid PID --out FILE [--every 0.5]
      Appends "unix_time vmrss_kb" lines from /proc/PID/status until the process is gone.

  soakmetrics.py report --idle A B --load C D --expected-rate R --rss FILE --wrk-dir DIR
                        [--wrk-cpus LIST] [--max-ratio 2] [--abs-floor-ms 2] [--min-rate 0.95]
      Prints the figures and a PASS/FAIL line per check; exit 1 if any failed.
      Lag p99 of a phase = histogram_quantile(0.99, delta of the buckets over the phase), with
      Prometheus' rules: linear interpolation inside the bucket, 0 as the lower bound of the
      first bucket, the largest finite bound when the rank falls in +Inf.
"""
import argparse
import glob
import http.client
import json
import math
import os
import re
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_stat():
    """{cpuN: [busy_jiffies, total_jiffies]} and the aggregate as 'cpu'."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            parts = line.split()
            v = [int(x) for x in parts[1:]]
            idle = v[3] + (v[4] if len(v) > 4 else 0)
            out[parts[0]] = [sum(v[:8]) - idle, sum(v[:8])]
    return out


def scrape(a):
    t0 = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    body = r.read()
    t1 = time.time()
    conn.close()
    if r.status != 200:
        raise SystemExit(f"/metrics answered {r.status}")
    out = {"t_start": t0, "t_end": t1, "t": (t0 + t1) / 2, "bytes": len(body),
           "lag_buckets": {}, "lag_count": 0, "lag_sum": 0.0, "probes": {}, "skipped": 0,
           "write_count": 0, "write_sum": 0.0,
           "cpu_agent": cpu_seconds(a.pid), "cpu_nginx": cpu_seconds(a.nginx_pid) if a.nginx_pid else None,
           "stat": proc_stat()}
    for raw in body.decode("utf-8", "replace").splitlines():
        if not raw.startswith("phasewatch_"):
            continue
        m = LINE.match(raw)
        if not m:
            continue
        name, labels, value = m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))
        if name == "phasewatch_scheduler_lag_seconds_bucket":
            out["lag_buckets"][labels["le"]] = out["lag_buckets"].get(labels["le"], 0) + value
        elif name == "phasewatch_scheduler_lag_seconds_count":
            out["lag_count"] += value
        elif name == "phasewatch_scheduler_lag_seconds_sum":
            out["lag_sum"] += value
        elif name == "phasewatch_probes_total":
            out["probes"][labels.get("result", "?")] = out["probes"].get(labels.get("result", "?"), 0) + value
            # soakconfig.py makes target i fail on every probe when i mod 40 is 0, 2, 10, 20
            # or 30; a failure of any other target is a false one.
            m_index = re.match(r"[tr](\d+)$", labels.get("target", ""))
            if labels.get("result") == "failure" and m_index and int(m_index.group(1)) % 40 not in (0, 2, 10, 20, 30):
                out["false_failures"] = out.get("false_failures", 0) + value
        elif name == "phasewatch_probe_agent_errors_total":
            out["agent_errors"] = out.get("agent_errors", 0) + value
        elif name == "phasewatch_scheduler_skipped_runs_total":
            out["skipped"] += value
        elif name == "phasewatch_storage_write_seconds_count":
            out["write_count"] += value
        elif name == "phasewatch_storage_write_seconds_sum":
            out["write_sum"] += value
    if not out["lag_buckets"]:
        raise SystemExit("no phasewatch_scheduler_lag_seconds_bucket series in /metrics")
    with open(a.out, "w") as f:
        json.dump(out, f)


def rss(a):
    with open(a.out, "a") as out:
        while True:
            try:
                with open(f"/proc/{a.pid}/status") as f:
                    kb = next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), None)
            except OSError:
                return
            if kb is None:  # a zombie has no VmRSS
                return
            out.write(f"{time.time():.3f} {kb}\n")
            out.flush()
            time.sleep(a.every)


# ------------------------------------------------------------------------------ report
def le_value(le):
    return math.inf if le == "+Inf" else float(le)


def quantile(q, buckets):
    """histogram_quantile(q) of cumulative {le: count} (Prometheus' interpolation)."""
    items = sorted(((le_value(k), v) for k, v in buckets.items()), key=lambda x: x[0])
    if not items or items[-1][0] != math.inf:
        return None
    total = items[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for i, (bound, count) in enumerate(items):
        if count >= rank:
            if bound == math.inf:
                return items[-2][0] if len(items) > 1 else None
            if i == 0 and bound <= 0:
                return bound
            in_bucket = count - prev_count
            return prev_bound + (bound - prev_bound) * ((rank - prev_count) / in_bucket if in_bucket else 1)
        prev_bound, prev_count = bound, count
    return items[-2][0]


def delta(a, b):
    d = {"seconds": b["t"] - a["t"], "lag_count": b["lag_count"] - a["lag_count"],
         "lag_sum": b["lag_sum"] - a["lag_sum"],
         "buckets": {k: b["lag_buckets"][k] - a["lag_buckets"].get(k, 0) for k in b["lag_buckets"]},
         "probes": sum(b["probes"].values()) - sum(a["probes"].values()),
         "failures": b["probes"].get("failure", 0) - a["probes"].get("failure", 0),
         "false_failures": b.get("false_failures", 0) - a.get("false_failures", 0),
         "agent_errors": b.get("agent_errors", 0) - a.get("agent_errors", 0),
         "skipped": b["skipped"] - a["skipped"],
         "writes": b["write_count"] - a["write_count"], "write_s": b["write_sum"] - a["write_sum"],
         "cpu_agent": (b["cpu_agent"] - a["cpu_agent"]) if None not in (a["cpu_agent"], b["cpu_agent"]) else None,
         "cpu_nginx": (b["cpu_nginx"] - a["cpu_nginx"]) if None not in (a["cpu_nginx"], b["cpu_nginx"]) else None,
         "cpus": {}}
    for cpu, (busy, total) in b["stat"].items():
        b0, t0 = a["stat"].get(cpu, (0, 0))
        d["cpus"][cpu] = (busy - b0) / (total - t0) if total > t0 else 0.0
    d["p50"] = quantile(0.50, d["buckets"])
    d["p99"] = quantile(0.99, d["buckets"])
    d["p999"] = quantile(0.999, d["buckets"])
    d["le5ms"] = d["buckets"].get("0.005", 0) / d["lag_count"] if d["lag_count"] else None
    d["rate"] = d["probes"] / d["seconds"] if d["seconds"] > 0 else 0
    return d


def ms(x):
    return "n/a" if x is None else f"{x * 1000:.3f} ms"


def report(a):
    load = lambda p: json.load(open(p))
    idle = delta(load(a.idle[0]), load(a.idle[1]))
    busy = delta(load(a.load[0]), load(a.load[1]))
    abuse = delta(load(a.abuse[0]), load(a.abuse[1])) if a.abuse else None
    ncpu = os.cpu_count() or 1
    fails = 0

    def verdict(ok, text):
        nonlocal fails
        if not ok:
            fails += 1
        print(("PASS " if ok else "FAIL ") + text)

    # wrk results, one file per endpoint group
    groups = []
    for path in sorted(glob.glob(os.path.join(a.wrk_dir, "wrk-*.out"))):
        name = os.path.basename(path)[4:-4]
        text = open(path).read()
        m = re.search(r"^WRKJSON (\{.*\})$", text, re.M)
        paths = open(path[:-4] + ".paths").read().strip() if os.path.exists(path[:-4] + ".paths") else ""
        groups.append((name, json.loads(m.group(1)) if m else None, paths, text))

    print()
    print(f"{'':34} {'idle':>16} {'under wrk load':>16}" + (f" {'under abuse':>16}" if abuse else ""))
    rows = [
        ("phase length (s)", lambda d: f"{d['seconds']:.1f}"),
        ("probes/s (expected %.1f)" % a.expected_rate, lambda d: f"{d['rate']:.1f}"),
        ("probes started (lag samples)", lambda d: f"{d['lag_count']:.0f}"),
        ("scheduling lag p50", lambda d: ms(d["p50"])),
        ("scheduling lag p99", lambda d: ms(d["p99"])),
        ("scheduling lag p99.9", lambda d: ms(d["p999"])),
        ("scheduling lag mean", lambda d: ms(d["lag_sum"] / d["lag_count"] if d["lag_count"] else None)),
        ("probes with lag <= 5 ms", lambda d: "n/a" if d["le5ms"] is None else f"{100 * d['le5ms']:.2f} %"),
        ("skipped runs (overran interval)", lambda d: f"{d['skipped']:.0f}"),
        ("failed probes (~10 % by design)", lambda d: f"{d['failures']:.0f}"),
        ("false failures (targets that work)", lambda d: f"{d['false_failures']:.0f}"),
        ("agent errors (agent_error)", lambda d: f"{d['agent_errors']:.0f}"),
        ("storage writes, mean ms", lambda d: f"{1000 * d['write_s'] / d['writes']:.1f}" if d["writes"] else "n/a"),
        ("agent CPU (cores)", lambda d: "n/a" if d["cpu_agent"] is None else f"{d['cpu_agent'] / d['seconds']:.2f}"),
        ("nginx CPU (cores)", lambda d: "n/a" if d["cpu_nginx"] is None else f"{d['cpu_nginx'] / d['seconds']:.2f}"),
        ("whole machine busy (cores of %d)" % ncpu, lambda d: f"{d['cpus'].get('cpu', 0) * ncpu:.2f}"),
        ("everything else (cores)", lambda d: f"{d['cpus'].get('cpu', 0) * ncpu - (d['cpu_agent'] or 0) / d['seconds'] - (d['cpu_nginx'] or 0) / d['seconds']:.2f}"),
    ]
    for i in range(ncpu):
        rows.append((f"cpu{i} busy", lambda d, i=i: f"{100 * d['cpus'].get(f'cpu{i}', 0):.0f} %"))
    for label, f in rows:
        print(f"  {label:32} {f(idle):>16} {f(busy):>16}" + (f" {f(abuse):>16}" if abuse else ""))
    print("  (everything else = the machine minus agent and nginx: other users' builds, this script;"
          " under load also wrk)")

    # RSS
    samples = []
    if os.path.exists(a.rss):
        for line in open(a.rss):
            t, kb = line.split()
            samples.append((float(t), int(kb)))

    def peak(t0, t1):
        v = [kb for t, kb in samples if t0 <= t <= t1]
        return max(v) if v else None

    li = load(a.idle[0]); lb = load(a.load[1])
    rss_idle = peak(li["t_start"], load(a.idle[1])["t_end"])
    rss_load = peak(load(a.load[0])["t_start"], lb["t_end"])
    rss_end = samples[-1][1] if samples else None
    mib = lambda kb: "n/a" if kb is None else f"{kb / 1024:.0f} MiB"
    print(f"  {'agent RSS peak (VmRSS, 0.5 s)':32} {mib(rss_idle):>16} {mib(rss_load):>16}")
    print(f"  {'agent RSS at the end':32} {mib(rss_end):>16}")

    print()
    cpus = f" (pinned with taskset -c {a.wrk_cpus})" if a.wrk_cpus else " (not pinned)"
    print(f"wrk, one process per endpoint group{cpus}, keep-alive, for the load phase:")
    print(f"  {'group':12} {'req/s':>8} {'requests':>9} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'max ms':>9} {'MB/s':>7} {'non-2xx':>7} {'sock err':>8}  paths")
    total_non2xx = total_sock = total_req = 0
    for name, w, paths, text in groups:
        if w is None:
            print(f"  {name:12} no result (wrk output: {text.strip()[-200:]!r})")
            total_sock += 1
            continue
        secs = w["duration_us"] / 1e6 or 1
        sock = w["connect"] + w["read"] + w["write"] + w["timeout"]
        total_non2xx += w["status_errors"]
        total_sock += sock
        total_req += w["requests"]
        print(f"  {name:12} {w['requests'] / secs:8.1f} {w['requests']:9d} {w['p50_us'] / 1000:9.2f} "
              f"{w['p90_us'] / 1000:9.2f} {w['p99_us'] / 1000:9.2f} {w['max_us'] / 1000:9.2f} "
              f"{w['bytes'] / secs / 1e6:7.1f} {w['status_errors']:7d} {sock:8d}  {paths}")
    print("  (wrk counts a status >= 400 as non-2xx; sock err = connect + read + write errors + timeouts)")

    print()
    # Verdicts
    ip99, lp99 = idle["p99"], busy["p99"]
    if ip99 is None or lp99 is None:
        verdict(False, "scheduling lag p99: no probes started in a phase")
    else:
        limit = a.max_ratio * ip99
        rule = f"<= {a.max_ratio:g}x idle p99 = {ms(limit)}"
        if ip99 < 0.001:
            limit = max(limit, a.abs_floor_ms / 1000)
            rule = (f"idle p99 < 1 ms, so <= max({a.max_ratio:g}x idle p99, {a.abs_floor_ms:g} ms absolute)"
                    f" = {ms(limit)}")
        verdict(lp99 <= limit, f"scheduling lag p99 under load {ms(lp99)} vs idle {ms(ip99)} "
                               f"(ratio {lp99 / ip99 if ip99 else math.inf:.2f}x); rule: {rule}")
    phases = (("idle", idle), ("under load", busy)) + ((("under abuse", abuse),) if abuse else ())
    for label, d in phases:
        verdict(d["rate"] >= a.min_rate * a.expected_rate,
                f"probe rate {label} {d['rate']:.1f}/s >= {a.min_rate:.0%} of the expected {a.expected_rate:.1f}/s")
        verdict(d["false_failures"] == 0 and d["agent_errors"] == 0,
                f"{label}: {d['false_failures']:.0f} false failures, {d['agent_errors']:.0f} agent errors (none expected)")
    if abuse:
        ap99 = abuse["p99"]
        if ip99 is None or ap99 is None:
            verdict(False, "scheduling lag p99 under abuse: no probes started")
        else:
            limit = a.max_ratio * ip99
            if ip99 < 0.001:
                limit = max(limit, a.abs_floor_ms / 1000)
            verdict(ap99 <= limit, f"scheduling lag p99 under abuse {ms(ap99)} vs idle {ms(ip99)} "
                                   f"(ratio {ap99 / ip99 if ip99 else math.inf:.2f}x); limit {ms(limit)}")
        if a.abuse_stats and os.path.exists(a.abuse_stats):
            st = json.load(open(a.abuse_stats))
            print(f"INFO abusive clients: {st['opened']} connections opened, {st['closed_by_agent']} closed by the agent "
                  f"(idle timeout), {st['connect_errors']} connect errors, {st['open_at_end']} still open at the end")
    verdict(total_req > 0 and total_non2xx == 0,
            f"wrk: {total_req} responses, {total_non2xx} non-2xx (none expected)")
    verdict(total_sock == 0, f"wrk: {total_sock} socket errors/timeouts")
    print(f"INFO agent RSS: peak idle {mib(rss_idle)}, peak under load {mib(rss_load)}, end {mib(rss_end)}")
    return fails


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scrape")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--nginx-pid", type=int)
    s.add_argument("--out", required=True)
    r = sub.add_parser("rss")
    r.add_argument("--pid", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--every", type=float, default=0.5)
    p = sub.add_parser("report")
    p.add_argument("--idle", nargs=2, required=True)
    p.add_argument("--load", nargs=2, required=True)
    p.add_argument("--abuse", nargs=2)
    p.add_argument("--abuse-stats")
    p.add_argument("--expected-rate", type=float, required=True)
    p.add_argument("--rss", required=True)
    p.add_argument("--wrk-dir", required=True)
    p.add_argument("--wrk-cpus", default="")
    p.add_argument("--max-ratio", type=float, default=2.0)
    p.add_argument("--abs-floor-ms", type=float, default=2.0)
    p.add_argument("--min-rate", type=float, default=0.95)
    a = ap.parse_args()
    if a.cmd == "scrape":
        scrape(a)
    elif a.cmd == "rss":
        rss(a)
    else:
        return 1 if report(a) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
