#!/usr/bin/env python3
"""Writes the phasewatch config of bench/soak/kill9 and bench/soak/load. 127.0.0.1 only.

  soakconfig.py --out FILE --targets N --intervals 1,2,3,4,5 --http-url URL --https-url URL
                --closed-url URL --ca-file PEM [--variant a|b] [--slo-every K] [--names-out FILE]

Target i (1-based, name t0001...) probes, by i mod 40:
  0, 20           the closed port            -> connect_refused (failure, connect phase)
  10              nginx, body_matches never  -> body_matches (failure, assert phase)
  30              nginx, expect status 404   -> status (failure, assert phase)
  2               HTTPS without ca_file      -> cert_untrusted (failure, tls phase; system store)
  3, 7 (mod 10)   HTTPS with the test CA     -> success
  anything else   plain HTTP                 -> success
so ~10 % of the targets fail on every probe. Intervals are spread over --intervals (a seeded
shuffle, so one N always gives the same config); every K-th target has an availability and a
latency SLO (threshold 2 ms: some probes succeed but are not "good", so good_latency varies).

Variant b (what kill9 reloads to): the last 20 targets removed, 20 new ones (r0001...) added,
and every 7th target's interval changed.
"""
import argparse
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--targets", type=int, required=True)
    ap.add_argument("--intervals", required=True, help="comma-separated seconds, e.g. 1,2,3,4,5")
    ap.add_argument("--http-url", required=True)
    ap.add_argument("--https-url", required=True)
    ap.add_argument("--closed-url", required=True)
    ap.add_argument("--ca-file", required=True)
    ap.add_argument("--variant", default="a", choices=["a", "b"])
    ap.add_argument("--slo-every", type=int, default=2)
    ap.add_argument("--names-out", help="write the target names here, one per line")
    a = ap.parse_args()
    for u in (a.http_url, a.https_url, a.closed_url):
        assert u.startswith(("http://127.0.0.1:", "https://127.0.0.1:")), f"not a 127.0.0.1 URL: {u}"

    intervals = [int(x) for x in a.intervals.split(",")]
    rng = random.Random(a.targets * 7919 + len(intervals))
    spread = [intervals[i % len(intervals)] for i in range(a.targets + 20)]
    rng.shuffle(spread)

    def target(name, i, interval):
        m = i % 40
        fields = [f"name: {name}", f"interval: {interval}s"]
        if m in (0, 20):
            fields.append(f'url: "{a.closed_url}"')
        elif m == 10:
            fields += [f'url: "{a.http_url}"', 'expect: {body_matches: "^never$"}']
        elif m == 30:
            fields += [f'url: "{a.http_url}"', "expect: {status: [404]}"]
        elif m == 2:
            fields.append(f'url: "{a.https_url}"')  # system CA store: cert_untrusted
        elif i % 10 in (3, 7):
            fields += [f'url: "{a.https_url}"', f'tls: {{ca_file: "{a.ca_file}"}}']
        else:
            fields.append(f'url: "{a.http_url}"')
        if a.slo_every > 0 and i % a.slo_every == 0:
            fields.append("slo: {window: 1d, availability: 99, latency: {threshold: 2ms, objective: 95}}")
        return "  - {" + ", ".join(fields) + "}"

    entries, names = [], []
    n = a.targets - 20 if a.variant == "b" else a.targets
    for i in range(1, n + 1):
        interval = spread[i - 1]
        if a.variant == "b" and i % 7 == 0:
            interval = intervals[(intervals.index(interval) + 1) % len(intervals)]
        name = f"t{i:04d}"
        entries.append(target(name, i, interval))
        names.append(name)
    if a.variant == "b":
        for j in range(1, 21):
            name = f"r{j:04d}"
            entries.append(target(name, j, spread[a.targets + j - 1]))
            names.append(name)

    with open(a.out, "w") as f:
        f.write("# bench/soak: generated, every URL on 127.0.0.1\n")
        f.write("global: {interval: 5s, timeout: 1s, location: soak}\n")
        f.write("targets:\n")
        f.write("\n".join(entries) + "\n")
    if a.names_out:
        with open(a.names_out, "w") as f:
            f.write("\n".join(names) + "\n")
    rate = sum(1.0 / int(e.split("interval: ")[1].split("s")[0]) for e in entries)
    print(f"{len(entries)} {rate:.1f}")  # targets, expected probes per second


if __name__ == "__main__":
    main()
